"""``python -m tinygan <command>``: see tinygan/cli.py."""

import sys

from .cli import main

sys.exit(main())
