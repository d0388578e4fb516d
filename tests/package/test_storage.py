"""fibext.storage: every memory unit in one table; the storage row reads a temporary file with
O_DIRECT (or with its pages dropped), says which device it sat on, and leaves nothing behind,
also when the input is bad or the disk fills up."""

import errno
import os

import pytest

from fibext import memory, storage, units


def leftovers(directory):
    return [name for name in os.listdir(directory) if name.startswith(".fibext-storage-")]


def test_storage_row(tmp_path):
    row = storage.measure_storage(tmp_path, size_mib=4, random_reads=200)
    assert row.unit == "storage"
    for value in (row.seq_bandwidth, row.random_bandwidth, row.seq_latency,
                  row.random_latency):
        assert value > 0
    assert "O_DIRECT" in row.note or "page cache dropped" in row.note
    assert row.where  # the device, or at least the filesystem
    assert leftovers(tmp_path) == []


def test_falls_back_where_o_direct_is_refused(tmp_path, monkeypatch):
    real_open = os.open

    def refuse_direct(path, flags, *args, **kwargs):
        if flags & getattr(os, "O_DIRECT", 0):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(storage.os, "open", refuse_direct)
    row = storage.measure_storage(tmp_path, size_mib=2, random_reads=50)
    assert "page cache dropped" in row.note
    assert row.random_latency > 0
    assert leftovers(tmp_path) == []


def test_missing_directory(tmp_path):
    with pytest.raises(storage.StorageError, match="does not exist"):
        storage.measure_storage(tmp_path / "nowhere", size_mib=1)
    (tmp_path / "file").write_text("x")
    with pytest.raises(storage.StorageError, match="is not a directory"):
        storage.measure_storage(tmp_path / "file", size_mib=1)


def test_not_enough_space_is_refused_before_writing(tmp_path, monkeypatch):
    real = os.statvfs(tmp_path)

    class Full:
        f_bavail, f_frsize = 10, real.f_frsize

    monkeypatch.setattr(storage.os, "statvfs", lambda path: Full)
    with pytest.raises(storage.StorageError, match="not enough space.*MiB are free"):
        storage.measure_storage(tmp_path, size_mib=1)
    assert leftovers(tmp_path) == []


def test_disk_full_while_writing_leaves_no_file(tmp_path, monkeypatch):
    real_write = os.write
    calls = []

    def fill_up(fd, data):
        calls.append(leftovers(tmp_path))  # the file being written, as leftovers() names it
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(storage.os, "write", fill_up)
    with pytest.raises(storage.StorageError, match="no space left"):
        storage.measure_storage(tmp_path, size_mib=3)
    # leftovers() sees storage's file while it is there: its "none left" checks can fail
    assert calls and all(calls), calls
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("size", [0, -1, 1.5, "8", True])
def test_bad_size(tmp_path, size):
    with pytest.raises(storage.StorageError, match="size"):
        storage.measure_storage(tmp_path, size_mib=size)


def test_device_of(tmp_path):
    info = storage.device_of(tmp_path)
    assert info["fstype"] and info["mount"]
    assert os.path.realpath(tmp_path).startswith(info["mount"].rstrip("/"))
    assert storage.describe_device(info)
    assert storage.describe_device({"fstype": "tmpfs", "mount": "/dev/shm"}) == (
        "tmpfs at /dev/shm: memory, no device")


def test_mount_of_picks_the_longest_prefix(tmp_path):
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "22 1 254:0 / / rw - ext4 /dev/vda rw\n"
        "23 22 0:30 / /work rw shared:1 - xfs /dev/sdb1 rw\n"
        "24 22 0:31 / /workspace rw - tmpfs tmpfs rw\n")
    assert storage._mount_of("/work/main", str(mountinfo)) == (
        "/work", "xfs", "/dev/sdb1", "0:30")
    assert storage._mount_of("/usr", str(mountinfo))[1] == "ext4"


def test_level_sizes():
    caches = {1: 48 << 10, 2: 1 << 20, 3: 32 << 20}
    assert units.level_sizes(caches) == [
        ("L1", 24 << 10), ("L2", 512 << 10), ("L3", 16 << 20), ("RAM", 128 << 20)]
    # a level no larger than twice the one below gets no point of its own
    assert [u for u, _ in units.level_sizes({1: 32 << 10, 2: 48 << 10})] == ["L1", "RAM"]
    # a guest reporting its host's whole L3: its share taken at most MAX_LLC, as memory.sizes()
    xeon = {1: 48 << 10, 2: 2 << 20, 3: 480 << 20}
    assert units.level_sizes(xeon)[-2:] == [
        ("L3", memory.MAX_LLC // 2), ("RAM", memory.LLC_FACTOR * memory.MAX_LLC)]
    assert units.level_sizes(xeon)[-1][1] == memory.sizes(1, xeon)[-1]


def test_memory_rows_and_table(tmp_path):
    rows = units.measure_memory(caches={1: 32 << 10}, repeat=1)
    assert [r.unit for r in rows] == ["L1", "RAM"]
    for r in rows:
        assert r.seq_bandwidth > 0 and r.random_latency > 0
    text = storage.format_table(rows)
    assert text.splitlines()[0].startswith("| unit | where | sequential read")
    assert "| L1 | 16 KiB working set |" in text


@pytest.mark.parametrize("main, only", [(storage.main, []), (units.main, ["--storage-only"])])
def test_cli(tmp_path, capsys, main, only):
    assert main(["--dir", str(tmp_path), "--size", "2", *only, "--random-reads", "50"]) == 0
    out = capsys.readouterr().out
    assert "| storage |" in out and "2 MiB file" in out
    assert "| L1 |" not in out
    with pytest.raises(SystemExit) as exit_info:
        main(["--dir", str(tmp_path / "nowhere"), *only])
    assert exit_info.value.code == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--size", "0", *only])
    assert "at least 1" in capsys.readouterr().err
    assert leftovers(tmp_path) == []
