"""Errors that the CLI turns into a one-line message and exit code 2 (usage, input or configuration)."""


class ReportxError(Exception):
    """A problem the user can fix: a missing file, a bad schema path, an invalid option value."""
