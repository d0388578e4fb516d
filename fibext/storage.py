"""fibext.storage: the storage row of the book's memory units, and the table's rows and format.

The book's "Memory Units" (spinning disk, SSD, RAM, L1/L2 cache, each better at sequential
than at random access) as one table of :class:`Row`: sequential and random read bandwidth and
latency.  This module measures the storage under a directory; fibext.units adds the caches and
RAM (fibext.memory's kernels) and prints the whole table.

Storage: a temporary file of ``size`` MiB is written in the directory, then read with
O_DIRECT (no page cache: every read goes to the device), in order in 1 MiB blocks
(bandwidth) and 4 KiB blocks (latency), and at random 4 KiB-aligned offsets, one read at a time
(queue depth 1: the latency a program that waits for each read sees).  Where the filesystem
refuses O_DIRECT, the file's pages are dropped from the page cache before each pass
(posix_fadvise DONTNEED after an fsync) and readahead is turned off for the random pass.  The
file is always removed, also on error.  The table says which device and filesystem the file
sat on (/proc/self/mountinfo and /sys/dev/block); on tmpfs the "storage" is memory.

Not a benchmark of the code: storage does not change from commit to commit, so nothing here
runs in the per-commit asv suite.

``python -m fibext.storage [--dir DIR] [--size MiB]`` prints the storage row.
"""

import argparse
import errno
import mmap
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import Optional

from fibext._cli import int_in

#: Bytes per block: the random reads and the sequential latency reads (a page, and the
#: logical block of most devices, which O_DIRECT requires offsets and sizes to be a
#: multiple of).
BLOCK = 4096
#: Bytes per sequential bandwidth read.
CHUNK = 1 << 20
#: Default file size (MiB): larger than most device caches' read buffers, small enough to
#: write in seconds.
DEFAULT_SIZE_MIB = 256
#: Room left free beside the file.
MARGIN = 16 << 20
SEED = 20260415


class StorageError(Exception):
    """Bad input or a filesystem that cannot be measured; the message says which and why."""


@dataclass
class Row:
    """One line of the table: what was measured, how, and its four figures (None: not
    measured).  Bandwidths in bytes per second, latencies in seconds."""

    unit: str
    where: str
    seq_bandwidth: Optional[float]
    random_bandwidth: Optional[float]
    seq_latency: Optional[float]
    random_latency: Optional[float]
    note: str = ""


# ---------------------------------------------------------------------------------------------
# Which device a path lives on


def _mount_of(path, mountinfo="/proc/self/mountinfo"):
    """(mount point, fs type, source, 'major:minor') of the mount holding path, or None."""
    path = os.path.realpath(path)
    best = None
    try:
        with open(mountinfo) as f:
            lines = f.readlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        try:
            sep = fields.index("-")
        except ValueError:
            continue
        point = fields[4].replace("\\040", " ")
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[0])):
            best = (point, fields[sep + 1], fields[sep + 2], fields[2])
    return best


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def device_of(path):
    """{'mount', 'fstype', 'source', 'device', 'model', 'rotational'} for the filesystem that
    holds path (values '' where the system does not say).  device is the block device's kernel
    name (vda, nvme0n1p2), model its model string, rotational '1' for a spinning disk."""
    st = os.stat(path)
    out = {"mount": "", "fstype": "", "source": "", "device": "", "model": "", "rotational": ""}
    mount = _mount_of(path)
    if mount:
        out["mount"], out["fstype"], out["source"], _ = mount
    block = f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
    if os.path.exists(block):
        real = os.path.realpath(block)
        out["device"] = os.path.basename(real)
        # a partition's queue and model are its disk's (the parent directory)
        for candidate in (real, os.path.dirname(real)):
            if not out["rotational"]:
                out["rotational"] = _read(os.path.join(candidate, "queue", "rotational"))
            if not out["model"]:
                out["model"] = _read(os.path.join(candidate, "device", "model"))
    return out


def describe_device(info):
    """One line: 'vda (ext4 on /dev/vda, mounted at /, not rotational)'."""
    kind = {"0": "not rotational (sysfs)",
            "1": "rotational (sysfs)"}.get(info.get("rotational"), "")
    what = info.get("device") or info.get("source") or "?"
    if info.get("fstype") in ("tmpfs", "ramfs"):
        return f"{info['fstype']} at {info.get('mount')}: memory, no device"
    details = ", ".join(x for x in (
        f"{info.get('fstype')} on {info.get('source')}" if info.get("fstype") else "",
        f"mounted at {info.get('mount')}" if info.get("mount") else "",
        info.get("model", ""), kind) if x)
    return f"{what} ({details})" if details else what


# ---------------------------------------------------------------------------------------------
# Storage


def _check_dir(directory, size):
    if not isinstance(directory, (str, os.PathLike)):
        raise StorageError(f"directory must be a path, not {type(directory).__name__}")
    directory = os.fspath(directory)
    if not os.path.exists(directory):
        raise StorageError(f"directory {directory!r} does not exist")
    if not os.path.isdir(directory):
        raise StorageError(f"{directory!r} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StorageError(f"cannot write in {directory!r} (permission denied)")
    fs = os.statvfs(directory)
    free = fs.f_bavail * fs.f_frsize
    if size + MARGIN > free:
        raise StorageError(f"not enough space in {directory!r}: a {size >> 20} MiB test file "
                           f"and {MARGIN >> 20} MiB to spare need {(size + MARGIN) >> 20} MiB, "
                           f"{free >> 20} MiB are free (use --size)")
    return directory


def _size_bytes(size_mib):
    if isinstance(size_mib, bool) or not isinstance(size_mib, int):
        raise StorageError(f"size must be a whole number of MiB, not {size_mib!r}")
    if size_mib < 1:
        raise StorageError(f"size must be at least 1 MiB, got {size_mib}")
    return size_mib << 20


def check_dir(directory, size_mib):
    """Refuse (StorageError) a directory or size that measure_storage() could not use, before
    anything else is measured."""
    return _check_dir(directory, _size_bytes(size_mib))


def _write(fd, size):
    """Fill the file with incompressible bytes and put them on the device."""
    block = os.urandom(CHUNK)
    written = 0
    while written < size:
        written += os.write(fd, block[:min(CHUNK, size - written)])
    os.fsync(fd)


def _open_direct(path):
    """(fd, True) opened with O_DIRECT, or (fd, False) without it where it is refused."""
    flag = getattr(os, "O_DIRECT", 0)
    if flag:
        try:
            return os.open(path, os.O_RDONLY | flag), True
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
                raise
    return os.open(path, os.O_RDONLY), False


def _drop(fd, size, direct):
    """Without O_DIRECT: evict the file's pages so that the next pass reads the device."""
    if not direct:
        os.posix_fadvise(fd, 0, size, os.POSIX_FADV_DONTNEED)


def _read_at(fd, buf, offset):
    n = os.preadv(fd, [buf], offset)
    if n != len(buf):
        raise StorageError(f"short read: {n} of {len(buf)} bytes at offset {offset}")


def _passes(fd, size, direct, random_reads, seed):
    """(sequential bandwidth, [in-order 4 KiB read seconds], [random 4 KiB read seconds]) of
    the file open as fd, its pages dropped before each pass."""
    # mmap'd buffers are page-aligned, as O_DIRECT requires
    chunk, block = mmap.mmap(-1, CHUNK), mmap.mmap(-1, BLOCK)
    _drop(fd, size, direct)
    os.posix_fadvise(fd, 0, size, os.POSIX_FADV_SEQUENTIAL)
    t0 = time.perf_counter()
    for offset in range(0, size, CHUNK):
        _read_at(fd, chunk, offset)
    seq_bandwidth = size / (time.perf_counter() - t0)

    # In order, a block at a time, each read waited for: at most random_reads of them.
    _drop(fd, size, direct)
    blocks = size // BLOCK
    seq = []
    for k in range(min(blocks, random_reads)):
        t = time.perf_counter()
        _read_at(fd, block, k * BLOCK)
        seq.append(time.perf_counter() - t)

    _drop(fd, size, direct)
    os.posix_fadvise(fd, 0, size, os.POSIX_FADV_RANDOM)  # no readahead
    offsets = random.Random(seed).choices(range(blocks), k=random_reads)
    rnd = []
    for k in offsets:
        t = time.perf_counter()
        _read_at(fd, block, k * BLOCK)
        rnd.append(time.perf_counter() - t)
    return seq_bandwidth, seq, rnd


def measure_storage(directory=".", size_mib=DEFAULT_SIZE_MIB, random_reads=2000, direct=True,
                    seed=SEED):
    """Read bandwidth and latency of the storage under directory: a :class:`Row`.

    Writes a temporary file of size_mib MiB in directory (removed whatever happens), then
    reads it in order (1 MiB reads for bandwidth, then 4 KiB reads for latency) and at
    random_reads random 4 KiB offsets.  direct=False skips O_DIRECT (the page-cache fallback,
    used anyway where the filesystem refuses O_DIRECT).  StorageError for a missing directory,
    too little space or a failed write, with nothing left behind.
    """
    size = _size_bytes(size_mib)
    directory = _check_dir(directory, size)
    if isinstance(random_reads, bool) or not isinstance(random_reads, int) or random_reads < 1:
        raise StorageError(f"random_reads must be an int of at least 1, got {random_reads!r}")
    info = device_of(directory)
    fd = read_fd = None
    path = None
    try:
        fd, path = tempfile.mkstemp(prefix=".fibext-storage-", dir=directory)
        try:
            _write(fd, size)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageError(f"no space left in {directory!r} while writing the "
                                   f"{size_mib} MiB test file (use --size)") from None
            raise StorageError(f"cannot write the test file in {directory!r}: {exc}") from None
        os.close(fd)
        fd = None
        if direct:
            read_fd, direct = _open_direct(path)
        else:
            read_fd = os.open(path, os.O_RDONLY)
        seq_bandwidth, seq, rnd = _passes(read_fd, size, direct, random_reads, seed)
    finally:
        for handle in (fd, read_fd):
            if handle is not None:
                os.close(handle)
        if path is not None:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
    how = "O_DIRECT" if direct else "page cache dropped (O_DIRECT refused or off)"
    return Row(
        unit="storage", where=describe_device(info),
        seq_bandwidth=seq_bandwidth, random_bandwidth=BLOCK * len(rnd) / sum(rnd),
        seq_latency=statistics.median(seq), random_latency=statistics.median(rnd),
        note=f"{size_mib} MiB file, {how}; 1 MiB reads, 4 KiB reads one at a time (median)")


def format_bytes(n):
    """n bytes in the largest binary unit that divides it ("4 KiB")."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"{n} B"


def _bandwidth(value):
    if value is None:
        return "-"
    for unit, scale in (("GB/s", 1e9), ("MB/s", 1e6), ("kB/s", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g} B/s"


def _latency(value):
    if value is None:
        return "-"
    for unit, scale in (("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.2g} ns"


def format_table(rows):
    """A Markdown table of the rows."""
    header = ["unit", "where", "sequential read", "random read", "latency in order",
              "latency at random"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 2 + "---:|" * 4]
    for r in rows:
        lines.append(f"| {r.unit} | {r.where} | {_bandwidth(r.seq_bandwidth)} | "
                     f"{_bandwidth(r.random_bandwidth)} | {_latency(r.seq_latency)} | "
                     f"{_latency(r.random_latency)} |")
    notes = [f"- {r.unit}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + [""] + notes)


def main(argv=None):
    """The storage under DIR, measured as one row of the memory-units table (python -m
    fibext.units prints the whole table: caches, RAM, the network and this row)."""
    parser = argparse.ArgumentParser(prog="python -m fibext.storage", description=main.__doc__)
    parser.add_argument("--dir", default=".",
                        help="directory whose storage is measured (default: the current one); "
                             "a temporary file is written there and removed")
    parser.add_argument("--size", type=int_in("--size"), default=DEFAULT_SIZE_MIB, metavar="MiB",
                        help=f"size of the test file (default {DEFAULT_SIZE_MIB})")
    parser.add_argument("--random-reads", type=int_in("--random-reads"), default=2000, metavar="N",
                        help="random 4 KiB reads (default 2000)")
    args = parser.parse_args(argv)
    try:
        row = measure_storage(args.dir, args.size, random_reads=args.random_reads)
    except StorageError as exc:
        parser.error(str(exc))
    print(format_table([row]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
