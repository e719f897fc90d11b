"""``python -m threadlog``: the command line."""

import sys

from threadlog.actors.cli import main

sys.exit(main())
