"""`python -m zhipu_connector.emulator`: serve the emulator in the foreground."""

from .server import main

main()
