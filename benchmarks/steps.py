"""Steps in a benchmark line across commits, found as asv publish finds them.

A leaf: it imports no other tool.  Shared by the drill (which asserts them), the report's
history figure and the markers on the site's graphs.
"""


def time_steps(values, weights, threshold):
    """[(index, before, after)] of the steps asv's step fit finds in one line that pass asv's
    own test: |after - before| > max(error of either level, threshold x the better level)
    (asv.step_detect.detect_regressions applies the same test to upward steps)."""
    from asv import step_detect

    points = [i for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return []
    fitted = step_detect.detect_steps(values, weights)
    found = []
    for (_, _, v0, _, e0), (left, _, v1, _, e1) in zip(fitted, fitted[1:]):
        if abs(v1 - v0) > max(e0, e1, threshold * min(v0, v1)):
            found.append((left, v0, v1))
    return found


def count_steps(values, threshold):
    """[(index, before, after)] where an exact count changed by more than threshold from the
    previous commit that has one."""
    found, previous = [], None
    for i, value in enumerate(values):
        if value is None:
            continue
        if previous is not None and abs(value - previous) > threshold * previous:
            found.append((i, previous, value))
        previous = value
    return found
