"""The loss of Parr & Howard §9, C(w, b) = mean((y − max(0, X w + b))²): its gradient from
matcalc, checked by finite differences and then used for a few steps of gradient descent.

Run: python examples/mse_loss.py
"""

import numpy as np

import matcalc

LOSS = "mean((y - max(0, X@w + b))^2)"


def main(steps: int = 25, rate: float = 0.1) -> list[float]:
    shapes = {"X": "N,n", "w": "n", "b": "scalar", "y": "N"}
    dw, db = matcalc.diff(LOSS, wrt=["w", "b"], shapes=shapes)
    print(dw.line)
    print(db.line)

    rng = np.random.default_rng(0)
    N, n = 40, 3
    X = rng.normal(size=(N, n))
    true_w, true_b = np.array([1.5, -2.0, 0.5]), 0.3
    y = np.maximum(0, X @ true_w + true_b)
    w, b = rng.normal(size=n) * 0.1 + 0.5, 0.5

    def loss(w, b):
        return float(np.mean((y - np.maximum(0, X @ w + b)) ** 2))

    # the gradient agrees with central finite differences before we trust it
    values = {"X": X, "y": y, "w": w, "b": b}
    g = dw.evaluate(values)[0]
    eps = 1e-6
    fd = np.array([(loss(w + eps * e, b) - loss(w - eps * e, b)) / (2 * eps) for e in np.eye(n)])
    assert np.allclose(g, fd, atol=1e-6), (g, fd)
    print("gradient agrees with finite differences:", np.round(g, 4))

    history = [loss(w, b)]
    for _ in range(steps):  # w ← w − η ∂C/∂w (denominator: the gradient as a column)
        values = {"X": X, "y": y, "w": w, "b": b}
        w = w - rate * dw.evaluate(values)[0]
        b = b - rate * float(db.evaluate(values))
        history.append(loss(w, b))
    print(f"loss: {history[0]:.4f} → {history[-1]:.4f} after {steps} steps")
    assert history[-1] < 0.5 * history[0]
    return history


if __name__ == "__main__":
    main()
