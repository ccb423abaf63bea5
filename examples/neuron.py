"""A neuron, as in Parr & Howard §8: activation(x) = max(0, w·x + b) and its gradients.

Run: python examples/neuron.py
"""

import numpy as np

import matcalc

ACTIVATION = "max(0, w·x + b)"


def main() -> None:
    dw, db = matcalc.diff(ACTIVATION, wrt=["w", "b"])
    print("shapes:", dw.shapes)
    print(dw.line)
    print(db.line)

    rng = np.random.default_rng(1)
    w, x = rng.normal(size=3), rng.normal(size=3)
    for b in (-5.0, 5.0):  # one inactive neuron, one active
        values = {"w": w, "x": x, "b": b}
        z = w @ x + b
        print(f"b = {b:+.0f}: z = {z:+.3f}, ∂/∂w = {dw.evaluate(values).round(3)}, "
              f"∂/∂b = {db.evaluate(values)}")
        expected_w = (x if z > 0 else np.zeros_like(x))[None, :]
        assert np.allclose(dw.evaluate(values), expected_w)
        assert np.isclose(db.evaluate(values), 1.0 if z > 0 else 0.0)
    assert dw.check() and db.check()
    print("both gradients", dw.checked.verified)


if __name__ == "__main__":
    main()
