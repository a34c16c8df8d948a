"""Errors the engine raises for bad user input.

A `ConfigError` carries one line meant for a person (the CLI prints it without a traceback,
the API turns it into a 422); anything else escaping the engine is a bug.
"""


class ConfigError(ValueError):
    """The user asked for something impossible or malformed (names the problem and the fix)."""


class DataError(ValueError):
    """A dataset file is missing, unreadable or has malformed records."""
