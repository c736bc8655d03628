"""Allow ``python -m kmodgui``."""

import sys

from kmodgui.cli import main

sys.exit(main())
