"""Errors a user can fix: the CLI prints them as one message and exits 2, the API as a 4xx."""


class UserError(Exception):
    """Bad input, a missing file, a refused operation: the message says which and why."""
