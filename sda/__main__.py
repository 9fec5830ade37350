"""``python -m sda``: the command line."""

import sys

from sda.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
