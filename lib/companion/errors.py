"""The error every layer raises for bad input: a parameter, a chapter name or a file the book does not know.

It sits below every layer of the package, so that any layer may raise it and `python -m companion` can
catch one type and print its message instead of a traceback.
"""


class ConfigError(ValueError):
    """A run parameter (profile, device, chapter, seed) has a value the book does not know."""
