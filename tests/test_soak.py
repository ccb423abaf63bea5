"""The soak script runs and reports in its stated format (a tiny run; the real one is long)."""

import re
import subprocess
import sys
from pathlib import Path

SOAK = Path(__file__).resolve().parent.parent / "benchmarks" / "soak.py"


def test_soak_script_reports_its_figures():
    done = subprocess.run([sys.executable, str(SOAK), "--samples", "8", "--fuzz", "200",
                           "--jobs", "1", "--first", "123"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    checked = re.search(r"^(\d+) checked, (\d+) wrong, (\d+) unsupported$", out, re.M)
    assert checked and int(checked.group(1)) >= 8 and checked.group(2) == "0"
    assert re.search(r"^200 fuzzed, 0 exceptions that are not MatcalcError", out, re.M)
    assert "slowest derivative:" in out
