"""``python -m matcalc``: the command line, as the ``matcalc`` script runs it."""

import sys

from .cli import main

sys.exit(main())
