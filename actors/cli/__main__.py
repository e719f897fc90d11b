"""``python -m threadlog.actors.cli.main``."""

import sys

from threadlog.actors.cli.main import main

sys.exit(main())
