"""`python -m zhipu_connector.emulator`: serve the emulator in the foreground."""

import sys

from .cli import main

sys.exit(main())
