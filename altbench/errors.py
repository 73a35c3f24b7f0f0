"""User-facing errors. The CLI prints their message on one line and exits with status 2 (no traceback)."""


class AltbenchError(Exception):
    """A problem with the user's input or environment, not a bug: bad file, unknown name, missing data."""

    exit_code = 2


class DataError(AltbenchError):
    """A split, predictions file or image that cannot be read as expected."""


class MissingResourceError(AltbenchError):
    """A model's weights, NLTK data, Java or an API key that is needed but absent."""
