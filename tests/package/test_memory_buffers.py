"""fibext._buffers: sizes refused before allocation; buffers aligned, touched and seeded;
the shuffles draw uniformly and Sattolo's is one cycle; the chase buffer's layout."""

import numpy as np
import pytest

from fibext import _buffers, memory


def cycle_length(perm):
    p, steps = perm[0], 1
    while p != 0:
        p, steps = perm[p], steps + 1
    return steps


def test_buffers_are_aligned_and_touched():
    a = memory.aligned_empty(1001, np.float64)
    assert a.ctypes.data % 64 == 0 and a.size == 1001
    d = memory.data(3000)
    assert d.ctypes.data % 64 == 0 and d[1025] == 1.0


@pytest.mark.parametrize("n", [1, 2, 1000])
def test_shuffled_is_a_permutation(n):
    perm = memory.shuffled(n, np.random.default_rng(n))
    assert sorted(perm.tolist()) == list(range(n))


def test_shuffles_draw_every_permutation():
    """n = 4 has 4! = 24 permutations, 3! = 6 of them one cycle: each shuffle draws all its own."""
    rng = np.random.default_rng(1)
    every = {tuple(memory.shuffled(4, rng).tolist()) for _ in range(1000)}
    cycles = {tuple(memory.sattolo(4, rng).tolist()) for _ in range(300)}
    assert len(every) == 24 and len(cycles) == 6 and cycles < every


@pytest.mark.parametrize("n", list(range(1, 40)) + [1000, 4096])
def test_sattolo_is_one_cycle(n):
    perm = memory.sattolo(n, np.random.default_rng(n))
    assert sorted(perm.tolist()) == list(range(n))
    assert cycle_length(perm.tolist()) == n


def test_shuffle_in_chunks_is_one_shuffle(monkeypatch):
    """_shuffle's chunks of draws give the permutation one call would."""
    whole = memory.shuffled(1000, np.random.default_rng(3))
    monkeypatch.setattr(_buffers, "_SWAP_CHUNK", 7)
    assert (memory.shuffled(1000, np.random.default_rng(3)) == whole).all()


@pytest.mark.parametrize("n_nodes", [1, 2, 5, 64, 1000])
def test_chase_nodes_layout(n_nodes):
    nodes = memory.chase_nodes(n_nodes, np.random.default_rng(0))
    assert nodes.size == n_nodes * memory.NODE_STRIDE
    assert nodes.ctypes.data % memory.LINE == 0  # one node per cache line
    assert not nodes.flags.writeable
    heads = nodes[::memory.NODE_STRIDE]
    assert (heads % memory.NODE_STRIDE == 0).all()
    assert sorted((heads // memory.NODE_STRIDE).tolist()) == list(range(n_nodes))
    pad = nodes.reshape(n_nodes, memory.NODE_STRIDE)[:, 1:]
    assert not pad.any()


def test_available_memory_is_plausible():
    available = memory.available_memory()
    assert available is None or available > 1 << 20


@pytest.mark.parametrize("size, error, message", [
    (0, ValueError, "size must be a positive number of bytes, got 0"),
    (100, ValueError, "whole number of 64-byte cache lines, got 100"),
    (4096.0, TypeError, r"size must be an int number of bytes, not float \(4096.0\)"),
    (2**64, OverflowError, f"size must be at most {2**63 - 1} bytes, got 18446744073709551616"),
    (10**400, OverflowError, "size must be at most .* bytes, got an int of 1329 bits"),
    (-(10**400), ValueError, "positive number of bytes, got an int of 1329 bits"),
])
def test_check_bytes_names_the_size(size, error, message):
    with pytest.raises(error, match=message):
        _buffers.check_bytes(size)


def test_check_bytes_counts_the_footprint(monkeypatch):
    monkeypatch.setattr(_buffers, "available_memory", lambda: 1000 * 64)
    assert _buffers.check_bytes(1000 * 64) == 64000
    with pytest.raises(MemoryError, match="needs about 128000 bytes for two buffers"):
        _buffers.check_bytes(1000 * 64, footprint=2.0, what="two buffers")
