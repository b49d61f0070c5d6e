"""The command line: its options (validated where they are parsed) and its commands, which drive the
same engine as the desktop app. ``main.py`` is the entry point."""
