"""fibext._pykernels: the numpy and pure-Python kernels give numpy's answer, with the compiled
kernels' signature and (value, ns) result."""

import numpy as np
import pytest

from fibext import _pykernels as py

LENGTHS = [1, 2, 3, 8, 9, 1001]


def small_ints(n, dtype=np.float64, seed=0):
    """Integer values, so float sums are exact in any order."""
    return np.random.default_rng(seed).integers(-1000, 1000, n).astype(dtype)


@pytest.mark.parametrize("n", LENGTHS)
def test_sums(n):
    a = small_ints(n)
    for value, ns in (py.np_sum(a, 2), py.py_sum(a.tolist(), 2)):
        assert value == 2 * a.sum() and isinstance(ns, int) and ns >= 0
    b = small_ints(n, np.int64)
    assert py.np_sum(b, 3)[0] == py.py_sum(b.tolist(), 3)[0] == 3 * int(b.sum())
    for stride in (1, 3, 8, n + 1):
        expected = 2 * a[::stride].sum()
        assert py.np_sum_strided(a, stride, 2)[0] == expected
        assert py.py_sum_strided(a.tolist(), stride, 2)[0] == expected


@pytest.mark.parametrize("n", LENGTHS)
def test_gather(n):
    a = small_ints(n)
    idx = np.random.default_rng(n).integers(0, n, 2 * n)
    assert py.np_gather(a, idx, 2)[0] == py.py_gather(a.tolist(), idx.tolist(), 2)[0] == \
        2 * a[idx].sum()


@pytest.mark.parametrize("n", LENGTHS)
def test_writes(n):
    a, lst = small_ints(n), small_ints(n).tolist()
    assert py.np_fill(a, -2.5, 2)[0] == py.py_fill(lst, -2.5, 2)[0] == -2.5
    assert (a == -2.5).all() and lst == [-2.5] * n
    src = small_ints(n, seed=1)
    dst, dst_list = np.zeros(n), [0.0] * n
    assert py.np_copy(dst, src, 2)[0] == py.py_copy(dst_list, src.tolist(), 2)[0] == src[-1]
    assert dst.tolist() == dst_list == src.tolist()


def test_chase_follows_the_list():
    nodes = [2, 0, 1]  # 0 -> 2 -> 1 -> 0
    assert [py.py_chase(nodes, 0, k)[0] for k in range(4)] == [0, 2, 1, 0]
