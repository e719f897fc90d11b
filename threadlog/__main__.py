"""``python -m threadlog``: the command line."""

import sys

from threadlog.actors.cli.main import main

sys.exit(main())
