"""What the command lines of fibext (python -m fibext.memory, .parallel, .storage) share."""

import argparse


def int_in(name, low=1, high=None):
    """An argparse type: an int of at least low (and at most high), else a usage error that
    names the argument."""
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an int, got {text!r}") from None
        if value < low or (high is not None and value > high):
            limits = f"at least {low}" if high is None else f"in [{low}, {high}]"
            raise argparse.ArgumentTypeError(f"{name} must be {limits}, got {value}")
        return value
    return parse
