"""``matcalc site DIR``: a static folder in which the browser runs matcalc itself.

The folder holds the page (``web/static``, with ``<meta name="matcalc-backend">`` set to
``pyodide`` and a Content-Security-Policy of its own), Pyodide's core runtime from the npm
``pyodide`` package (``pyodide/``) and the pure-Python wheels of matcalc, SymPy, mpmath and Lark
(``wheels/``, listed in ``wheels/manifest.json``).  At run time the page loads only these files:
no server, no network.  Any static host serves the folder (``python -m http.server`` will do).

Where things come from, at build time only:

* Pyodide: ``--pyodide PATH``, else ``$MATCALC_PYODIDE``, else ``./node_modules/pyodide`` (what
  ``npm install pyodide`` makes in the current folder);
* SymPy, mpmath, Lark: the versions installed here, as wheels found in ``--wheels DIR``, else
  in ``$XDG_CACHE_HOME/matcalc/wheels`` (default ``~/.cache/matcalc/wheels``), else downloaded
  there with ``pip download`` (from the package index);
* matcalc: a wheel written from the very files of the running package (its grammar included),
  so the site runs the code that built it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

from .. import __version__
from ..errors import MatcalcError
from ..parse import _grammar_path
from . import STATIC

PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                 "pyodide-lock.json", "package.json")
DEPENDENCIES = ("sympy", "mpmath", "lark")
CSP = ("default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
       "style-src 'self'; style-src-attr 'unsafe-inline'; font-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'")
BACKEND_META = '<meta name="matcalc-backend" content="server">'


class SiteError(MatcalcError):
    """The static site cannot be built as asked."""


def build(out: str | os.PathLike, pyodide: str | os.PathLike | None = None,
          wheels: str | os.PathLike | None = None) -> Path:
    """Write the static site into ``out`` (made if missing; files of an earlier build are
    replaced) and return its path."""
    out = Path(out)
    source = find_pyodide(pyodide)
    wheel_files = dependency_wheels(Path(wheels) if wheels else None)
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            target = out / path.relative_to(STATIC)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    index = (STATIC / "index.html").read_text(encoding="utf-8")
    if BACKEND_META not in index:
        raise SiteError("web/static/index.html lacks its back-end <meta>: the package is broken")
    index = index.replace(BACKEND_META, '<meta name="matcalc-backend" content="pyodide">\n'
                          f'<meta http-equiv="Content-Security-Policy" content="{CSP}">')
    (out / "index.html").write_text(index, encoding="utf-8")
    runtime = out / "pyodide"
    runtime.mkdir(exist_ok=True)
    for name in PYODIDE_FILES:
        shutil.copyfile(source / name, runtime / name)
    version = json.loads((source / "package.json").read_text(encoding="utf-8"))["version"]
    (runtime / "LICENSE.txt").write_text(
        f"Pyodide {version} (https://pyodide.org), Mozilla Public License 2.0: the core runtime "
        f"files of the npm package pyodide@{version}, copied unchanged.\n", encoding="utf-8")
    shelf = out / "wheels"
    if shelf.exists():
        shutil.rmtree(shelf)
    shelf.mkdir()
    names = [matcalc_wheel(shelf).name]
    for path in wheel_files:
        shutil.copyfile(path, shelf / path.name)
        names.append(path.name)
    (shelf / "manifest.json").write_text(json.dumps(
        {"wheels": names, "matcalc": __version__, "pyodide": version}, indent=2) + "\n",
        encoding="utf-8")
    return out


def find_pyodide(path: str | os.PathLike | None) -> Path:
    """The npm ``pyodide`` package's folder: ``path``, ``$MATCALC_PYODIDE`` or
    ``./node_modules/pyodide``."""
    given = path or os.environ.get("MATCALC_PYODIDE")
    folder = Path(given) if given else Path("node_modules") / "pyodide"
    missing = [n for n in PYODIDE_FILES if not (folder / n).is_file()]
    if missing:
        raise SiteError(f"no Pyodide runtime in {folder} (missing {', '.join(missing)})",
                        hint="npm install pyodide, then pass its folder with --pyodide "
                             "node_modules/pyodide (or set MATCALC_PYODIDE)")
    return folder


def dependency_wheels(folder: Path | None) -> list[Path]:
    """Wheels of SymPy, mpmath and Lark, at the versions installed here: found in ``folder``
    (default: the cache), the missing ones downloaded there with pip."""
    folder = folder or _cache()
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {name: metadata.version(name) for name in DEPENDENCIES}
    found = {name: _wheel_in(folder, name, version) for name, version in wanted.items()}
    missing = [f"{name}=={wanted[name]}" for name, path in found.items() if path is None]
    if missing:
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                               "--only-binary=:all:", "--quiet", "--dest", str(folder), *missing],
                              capture_output=True, text=True, check=False)
        if done.returncode:
            raise SiteError(f"could not download {', '.join(missing)}: "
                            f"{done.stderr.strip().splitlines()[-1:] or done.returncode}",
                            hint="put their wheels in a folder and pass it with --wheels DIR")
        found = {name: _wheel_in(folder, name, version) for name, version in wanted.items()}
    for name, path in found.items():
        if path is None or not path.name.endswith("-none-any.whl"):
            raise SiteError(f"no pure-Python wheel of {name}=={wanted[name]} in {folder}")
    return list(found.values())


def _cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "matcalc" / "wheels"


def _wheel_in(folder: Path, name: str, version: str) -> Path | None:
    for path in sorted(folder.glob("*.whl")):
        dist, _, rest = path.name.partition("-")
        if dist.lower().replace("_", "-") == name and rest.startswith(version + "-"):
            return path
    return None


def matcalc_wheel(folder: Path) -> Path:
    """A wheel of the running matcalc: its modules, the page's files and the grammar (as
    ``matcalc/matcalc.lark``, where a built wheel has it), with the dist-info a wheel needs."""
    package = Path(__file__).resolve().parent.parent
    files: dict[str, bytes] = {}
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package)
        if path.is_file() and "__pycache__" not in rel.parts and path.suffix != ".pyc":
            files[f"matcalc/{rel.as_posix()}"] = path.read_bytes()
    files["matcalc/matcalc.lark"] = _grammar_path().read_bytes()
    info = f"matcalc_diff-{__version__}.dist-info"
    requires = "".join(f"Requires-Dist: {n}\n" for n in DEPENDENCIES)
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: matcalc-diff\n"
                                 f"Version: {__version__}\n{requires}").encode()
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: matcalc site\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = folder / f"matcalc_diff-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            info_ = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info_.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info_, data)
    return path
