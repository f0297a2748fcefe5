#!/usr/bin/env python3
"""Compatibility entry point: `python3 models/export/tandem_export.py SUBCOMMAND ...` runs the same
CLI as `python -m tandem_export` (the package `tandem_export/` beside this file; error messages
of the Java server still name this path).

The package takes precedence over this file on import, so `import tandem_export` always gets the
package; this file is only ever run as a script.
"""

import sys

from tandem_export.cli import main

if __name__ == "__main__":
    sys.exit(main())
