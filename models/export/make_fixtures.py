#!/usr/bin/env python3
"""Regenerate every test fixture of models/src/test/resources/fixtures (see README.md).

    python3 models/export/make_fixtures.py --bge-jar .devcarry/bge-small-zh.jar \
        --out models/src/test/resources/fixtures

The work is done by `tandem_export.fixtures`; this script sits beside the package, so Python finds
it without an install (the script's folder is on sys.path).
"""

import sys

from tandem_export.fixtures import main

if __name__ == "__main__":
    sys.exit(main())
