"""The check every count-like argument of fibext's Python-facing functions gets: an int
(anything with __index__), at least low (and at most high), else TypeError or ValueError with
a message that names the argument.  Written once for fibext.memory, fibext.parallel and
fibext._smt."""

import operator


def index_in(value, name, low=1, high=None):
    """value as an int in [low, high]; TypeError or ValueError naming `name` otherwise."""
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}") from None
    if value < low:
        bound = "non-negative" if low == 0 else f"at least {low}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be at most {high}, got {value}")
    return value
