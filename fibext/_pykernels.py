"""The numpy and pure-Python memory kernels: what a Python user reaches for.

Each has the signature of its compiled counterpart in fibext._memory (buffers first, then
reps) and returns (value, ns), timed around the Python code with perf_counter_ns
(CLOCK_MONOTONIC, the clock the compiled kernels read).  The call overhead is part of what a
Python user pays, so it stays inside the timing.  The Python kernels take lists, the numpy
ones arrays.  numpy has no pointer chase: a chain of dependent loads cannot be vectorised.
"""

import time

import numpy as np

_now = time.perf_counter_ns


def np_sum(a, reps=1):
    total = a.dtype.type(0)
    t0 = _now()
    for _ in range(reps):
        total += a.sum()
    return total.item(), _now() - t0


def np_sum_strided(a, stride, reps=1):
    total = 0.0
    t0 = _now()
    for _ in range(reps):
        total += a[::stride].sum()
    return float(total), _now() - t0


def np_gather(a, idx, reps=1):
    total = 0.0
    t0 = _now()
    for _ in range(reps):
        total += a[idx].sum()  # fancy indexing: a temporary array, then its sum
    return float(total), _now() - t0


def np_fill(a, value, reps=1):
    t0 = _now()
    for _ in range(reps):
        a.fill(value)
    return float(a[-1]), _now() - t0


def np_copy(dst, src, reps=1):
    t0 = _now()
    for _ in range(reps):
        np.copyto(dst, src)
    return float(dst[-1]), _now() - t0


def py_sum(lst, reps=1):
    total = 0
    t0 = _now()
    for _ in range(reps):
        s = 0
        for x in lst:
            s += x
        total += s
    return total, _now() - t0


def py_sum_strided(lst, stride, reps=1):
    total = 0
    n = len(lst)
    t0 = _now()
    for _ in range(reps):
        s = 0
        for i in range(0, n, stride):
            s += lst[i]
        total += s
    return float(total), _now() - t0


def py_gather(lst, idx, reps=1):
    total = 0
    t0 = _now()
    for _ in range(reps):
        s = 0
        for i in idx:
            s += lst[i]
        total += s
    return float(total), _now() - t0


def py_chase(nodes, start, steps):
    p = start
    t0 = _now()
    for _ in range(steps):
        p = nodes[p]
    return p, _now() - t0


def py_fill(lst, value, reps=1):
    n = len(lst)
    t0 = _now()
    for _ in range(reps):
        for i in range(n):
            lst[i] = value
    return float(lst[-1]), _now() - t0


def py_copy(dst, src, reps=1):
    n = len(src)
    t0 = _now()
    for _ in range(reps):
        for i in range(n):
            dst[i] = src[i]
    return float(dst[-1]), _now() - t0
