"""The command line: its options (validated where they are parsed) and its commands, which drive the
same engine as the desktop app. ``main.py`` is the entry point."""

LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
"""How the command line writes log lines to stderr (in its own process and in a search service's answers)."""
