"""fibext.network: the loopback row of the memory-units table, on tiny counts.  Loopback only,
bounded in time, and clear errors where a port or a connection cannot be had.  Speed is not
tested here."""

import socket
import threading
import time

import pytest

from fibext import network, storage, units


def test_measure_stays_on_loopback():
    r = network.measure(pings=5, transfer_mib=1, timeout=5)
    assert r.client_peer[0].startswith("127.") and r.server_peer[0].startswith("127.")
    assert r.client_peer[0] == network.LOOPBACK
    assert len(r.round_trips) == 5 and all(t > 0 for t in r.round_trips)
    assert r.transfer_bytes == 1 << 20 and r.transfer_seconds > 0
    assert r.latency == sorted(r.round_trips)[2] and r.throughput > 0


def test_every_socket_binds_or_connects_to_127_only(monkeypatch):
    seen = []
    real_bind, real_connect = socket.socket.bind, socket.create_connection
    monkeypatch.setattr(socket.socket, "bind",
                        lambda self, addr: seen.append(("bind", addr)) or real_bind(self, addr))
    monkeypatch.setattr(socket, "create_connection",
                        lambda addr, **kw: seen.append(("connect", addr)) or
                        real_connect(addr, **kw))
    network.measure(pings=2, transfer_mib=1)
    assert [kind for kind, _ in seen] == ["bind", "connect"]
    assert seen[0][1] == ("127.0.0.1", 0)  # port 0: the kernel picks
    assert all(addr[0].startswith("127.") for _, addr in seen)


def test_the_row_says_loopback_and_what_it_leaves_out():
    row = network.measure_loopback(pings=3, transfer_mib=1)
    assert row.unit == "network" and "loopback" in row.where and "127.0.0.1" in row.where
    assert "no network card" in row.note and "median of 3" in row.note
    assert row.seq_bandwidth > 0 and row.seq_latency > 0
    assert row.random_bandwidth is None and row.random_latency is None
    text = storage.format_table([row])
    assert "| network | loopback TCP, 127.0.0.1 (no NIC, no wire) |" in text


def test_a_port_that_cannot_be_had_is_a_network_error(monkeypatch):
    def refuse(self, address):
        raise OSError(98, "Address already in use")
    monkeypatch.setattr(socket.socket, "bind", refuse)
    with pytest.raises(network.NetworkError, match="cannot get a port on 127.0.0.1: .*in use"):
        network.measure(pings=1, transfer_mib=1)


def test_a_failed_connection_is_a_network_error_at_once(monkeypatch):
    def refuse(address, timeout=None):
        raise ConnectionRefusedError(111, "Connection refused")
    monkeypatch.setattr(socket, "create_connection", refuse)
    start = time.monotonic()
    with pytest.raises(network.NetworkError, match=r"cannot connect to 127\.0\.0\.1:\d+"):
        network.measure(pings=1, transfer_mib=1, timeout=10)
    assert time.monotonic() - start < 5  # the waiting server was woken, not waited out
    assert not [t for t in threading.enumerate() if t.name == "fibext-loopback"]


def test_a_silent_peer_times_out(monkeypatch):
    def silent(self):
        conn, self.peer = self.listener.accept()
        time.sleep(1.5)  # never echoes
        conn.close()
    monkeypatch.setattr(network._Server, "run", silent)
    start = time.monotonic()
    with pytest.raises(network.NetworkError, match="the loopback connection failed: timed out"):
        network.measure(pings=1, transfer_mib=1, timeout=0.3)
    assert time.monotonic() - start < 3


@pytest.mark.parametrize("kwargs, exc, message", [
    ({"pings": 0}, ValueError, r"pings must be in \[1, 1000000\], got 0"),
    ({"pings": -3}, ValueError, "pings must be in"),
    ({"pings": 2.0}, TypeError, "pings must be an int, not float"),
    ({"pings": True}, TypeError, "pings must be an int, not bool"),
    ({"transfer_mib": 0}, ValueError, r"transfer_mib must be in \[1, 4096\], got 0"),
    ({"transfer_mib": "1"}, TypeError, "transfer_mib must be an int, not str"),
    ({"timeout": 0}, ValueError, r"timeout must be seconds in \(0, 600\]"),
    ({"message": 0}, ValueError, "message must be in"),
])
def test_bad_input_names_itself(kwargs, exc, message):
    with pytest.raises(exc, match=message):
        network.measure(**{"pings": 1, "transfer_mib": 1, **kwargs})


def test_units_table_puts_the_network_below_the_storage(tmp_path, monkeypatch):
    monkeypatch.setattr(units, "measure_memory", lambda caches=None: [])
    rows = units.table(tmp_path, 2, random_reads=10, pings=3, transfer_mib=1)
    assert [r.unit for r in rows] == ["storage", "network"]
    assert units.table(tmp_path, 2, random_reads=10, network_row=False)[-1].unit == "storage"


def test_units_table_says_why_the_network_was_not_measured(tmp_path, monkeypatch):
    monkeypatch.setattr(units, "measure_memory", lambda caches=None: [])

    def refuse(*args, **kwargs):
        raise network.NetworkError("cannot get a port on 127.0.0.1: no ports")
    monkeypatch.setattr(network, "measure_loopback", refuse)
    row = units.table(tmp_path, 2, random_reads=10)[-1]
    assert row.unit == "network" and row.seq_bandwidth is None and row.seq_latency is None
    assert row.note == "not measured: cannot get a port on 127.0.0.1: no ports"


def test_command_lines(tmp_path, capsys):
    assert network.main(["--pings", "3", "--transfer", "1"]) == 0
    assert "| network | loopback TCP" in capsys.readouterr().out
    assert units.main(["--dir", str(tmp_path), "--size", "2", "--storage-only",
                       "--random-reads", "10", "--pings", "3", "--transfer", "1"]) == 0
    out = capsys.readouterr().out
    assert out.index("| storage |") < out.index("| network |")
    assert units.main(["--dir", str(tmp_path), "--size", "2", "--storage-only",
                       "--random-reads", "10", "--no-network"]) == 0
    assert "| network |" not in capsys.readouterr().out
    for argv in (["--pings", "0"], ["--transfer", "5000"]):
        with pytest.raises(SystemExit) as info:
            network.main(argv)
        assert info.value.code == 2
    assert "--transfer must be in [1, 4096], got 5000" in capsys.readouterr().err
