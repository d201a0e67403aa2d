"""The error of an input that cannot be made: shared by inputs.py and media.py (which inputs.py calls)."""


class InputError(ValueError):
    """An input that cannot be made or does not fit its spec; the message names the input."""
