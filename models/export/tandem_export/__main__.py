"""`python -m tandem_export ...`: the export CLI (see cli.py)."""

import sys

from .cli import main

sys.exit(main())
