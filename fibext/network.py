"""fibext.network: the network as the last of the book's memory units, measured on loopback.

The book lists the network below the disk.  What can be measured on any machine without a
second one is the loopback: TCP between two sockets of this process on 127.0.0.1, the standard
library's sockets only.

- Latency: the round trip of a small message (64 bytes by default), sent and echoed back one
  at a time with TCP_NODELAY on both ends (no Nagle delay), the median of ``pings`` round trips.
- Throughput: one large transfer (64 MiB by default) streamed in 1 MiB sends, timed from the
  first send to the receiver's one-byte acknowledgement.

What loopback leaves out: no network card, no wire, no switch, no other host, no packet loss.
What remains is the kernel's TCP stack, two system calls and a memory copy per message: a
floor under any real network, which adds its wire's microseconds (a data-centre round trip
is tens of microseconds, an Internet one milliseconds) and its link's bandwidth cap.

Every address is on 127.0.0.0/8 (bound to 127.0.0.1, port 0: the kernel picks a free port);
every socket has a timeout and every count is bounded, so nothing waits forever; a port that
cannot be had, a connection that fails or a peer that falls silent raise :class:`NetworkError`
with a message saying which.

``python -m fibext.network [--pings N] [--transfer MiB]`` prints the row.
"""

import argparse
import socket
import statistics
import threading
import time
from dataclasses import dataclass

from fibext._cli import int_in
from fibext.storage import Row, format_table

#: The address every socket binds or connects to.
LOOPBACK = "127.0.0.1"
#: Bytes per ping (and per echo).
MESSAGE = 64
#: Round trips timed by default.
DEFAULT_PINGS = 2000
#: MiB streamed by default.
DEFAULT_TRANSFER_MIB = 64
#: Bytes per send of the transfer.
CHUNK = 1 << 20
#: Seconds any one socket operation may wait (a connect, a recv, a send).
DEFAULT_TIMEOUT = 5.0
#: Bounds on the counts, so that a typo cannot run for hours.
MAX_PINGS = 1_000_000
MAX_TRANSFER_MIB = 4096


class NetworkError(Exception):
    """The loopback could not be measured: no port, no connection, a silent or non-loopback
    peer, or bad input; the message says which."""


@dataclass(frozen=True)
class LoopbackResult:
    """What one measurement saw: round trips (seconds), the transfer's bytes and seconds, and
    the peers' addresses as each end saw them (both on 127.0.0.0/8)."""

    round_trips: tuple
    message: int
    transfer_bytes: int
    transfer_seconds: float
    client_peer: tuple  # the server's address, as the client saw it
    server_peer: tuple  # the client's address, as the server saw it

    @property
    def latency(self):
        """Median round trip, seconds."""
        return statistics.median(self.round_trips)

    @property
    def throughput(self):
        """Bytes per second of the transfer."""
        return self.transfer_bytes / self.transfer_seconds


def _is_loopback(address):
    return isinstance(address, tuple) and str(address[0]).startswith("127.")


def _recv_exactly(sock, n, view=None):
    """Receive exactly n bytes (into view if given); NetworkError if the peer closes first."""
    buf = view if view is not None else memoryview(bytearray(n))
    got = 0
    while got < n:
        count = sock.recv_into(buf[got:n])
        if count == 0:
            raise NetworkError(f"the loopback peer closed the connection after {got} of {n} "
                               "bytes")
        got += count
    return buf[:n]


def _check_count(value, name, high):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 1 <= value <= high:
        raise ValueError(f"{name} must be in [1, {high}], got {value}")
    return value


def measure(pings=DEFAULT_PINGS, transfer_mib=DEFAULT_TRANSFER_MIB, message=MESSAGE,
            timeout=DEFAULT_TIMEOUT):
    """Ping-pong `pings` messages of `message` bytes, then stream `transfer_mib` MiB, over one
    TCP connection on 127.0.0.1; a :class:`LoopbackResult`.  NetworkError on any failure."""
    pings = _check_count(pings, "pings", MAX_PINGS)
    transfer_mib = _check_count(transfer_mib, "transfer_mib", MAX_TRANSFER_MIB)
    message = _check_count(message, "message", CHUNK)
    if not (isinstance(timeout, (int, float)) and 0 < timeout <= 600):
        raise ValueError(f"timeout must be seconds in (0, 600], got {timeout!r}")
    total = transfer_mib << 20
    try:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError as exc:
        raise NetworkError(f"cannot create a TCP socket: {exc}") from exc
    with listener:
        listener.settimeout(timeout)
        try:
            listener.bind((LOOPBACK, 0))  # port 0: the kernel picks a free one
            listener.listen(1)
        except OSError as exc:
            raise NetworkError(f"cannot get a port on {LOOPBACK}: {exc}") from exc
        address = listener.getsockname()
        server = _Server(listener, pings, message, total)
        thread = threading.Thread(target=server.run, name="fibext-loopback", daemon=True)
        thread.start()
        try:
            result = _client(address, pings, message, total, timeout)
        except NetworkError:
            try:  # wake a server still waiting in accept() (Linux: EINVAL at once)
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            raise
        finally:
            thread.join(timeout)
        if thread.is_alive():
            raise NetworkError(f"the loopback server did not finish within {timeout} s")
        if server.error is not None:
            raise server.error
    if not (_is_loopback(result[1]) and _is_loopback(server.peer)):
        raise NetworkError(f"a peer was not on 127.0.0.0/8: {result[1]} and {server.peer}")
    rtts, peer, seconds = result
    return LoopbackResult(tuple(rtts), message, total, seconds, peer, server.peer)


class _Server:
    """The echo end: accepts one connection, echoes `pings` messages, then receives the
    transfer and acknowledges it with one byte.  Its failure is kept in .error."""

    def __init__(self, listener, pings, message, total):
        self.listener, self.pings, self.message, self.total = listener, pings, message, total
        self.error = None
        self.peer = None

    def run(self):
        try:
            try:
                conn, self.peer = self.listener.accept()
            except OSError as exc:  # socket.timeout is an OSError
                raise NetworkError(f"no connection reached the loopback server: {exc}") from exc
            with conn:
                conn.settimeout(self.listener.gettimeout())
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                buf = memoryview(bytearray(max(self.message, CHUNK)))
                for _ in range(self.pings):
                    conn.sendall(_recv_exactly(conn, self.message, buf))
                got = 0
                while got < self.total:
                    count = conn.recv_into(buf, min(CHUNK, self.total - got))
                    if count == 0:
                        raise NetworkError(f"the transfer stopped after {got} of {self.total} "
                                           "bytes")
                    got += count
                conn.sendall(b"!")
        except NetworkError as exc:
            self.error = exc
        except OSError as exc:
            self.error = NetworkError(f"the loopback server failed: {exc}")


def _client(address, pings, message, total, timeout):
    """(round trips in seconds, the server's address as seen, transfer seconds)."""
    try:
        sock = socket.create_connection(address, timeout=timeout)
    except OSError as exc:
        raise NetworkError(f"cannot connect to {address[0]}:{address[1]}: {exc}") from exc
    with sock:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            peer = sock.getpeername()
            ping = bytes(range(256)) * (message // 256 + 1)
            ping = ping[:message]
            reply = memoryview(bytearray(message))
            rtts = []
            for _ in range(pings):
                start = time.perf_counter_ns()
                sock.sendall(ping)
                _recv_exactly(sock, message, reply)
                rtts.append((time.perf_counter_ns() - start) * 1e-9)
            if bytes(reply) != ping:
                raise NetworkError("the echo differed from the message sent")
            chunk = memoryview(bytearray(CHUNK))
            start = time.perf_counter_ns()
            sent = 0
            while sent < total:
                step = min(CHUNK, total - sent)
                sock.sendall(chunk[:step])
                sent += step
            _recv_exactly(sock, 1)
            seconds = (time.perf_counter_ns() - start) * 1e-9
        except OSError as exc:
            raise NetworkError(f"the loopback connection failed: {exc}") from exc
    return rtts, peer, seconds


def measure_loopback(pings=DEFAULT_PINGS, transfer_mib=DEFAULT_TRANSFER_MIB,
                     timeout=DEFAULT_TIMEOUT):
    """The network row of the memory-units table (a :class:`fibext.storage.Row`): the
    transfer's throughput as its sequential read, the median round trip of a small message
    as its latency; the random columns are empty (a stream has no addresses to seek)."""
    r = measure(pings, transfer_mib, timeout=timeout)
    return Row(unit="network", where=f"loopback TCP, {LOOPBACK} (no NIC, no wire)",
               seq_bandwidth=r.throughput, random_bandwidth=None,
               seq_latency=r.latency, random_latency=None,
               note=(f"loopback only: kernel TCP stack and a memory copy, no network card, "
                     f"wire or switch; both ends threads of this Python process; "
                     f"{r.message}-byte round trip, TCP_NODELAY, median of "
                     f"{len(r.round_trips)}; {transfer_mib} MiB streamed in 1 MiB sends"))


def main(argv=None):
    """The network row of the memory-units table, measured on loopback TCP."""
    parser = argparse.ArgumentParser(prog="python -m fibext.network", description=main.__doc__)
    parser.add_argument("--pings", type=int_in("--pings", 1, MAX_PINGS), default=DEFAULT_PINGS,
                        metavar="N", help=f"round trips timed (default {DEFAULT_PINGS})")
    parser.add_argument("--transfer", type=int_in("--transfer", 1, MAX_TRANSFER_MIB),
                        default=DEFAULT_TRANSFER_MIB, metavar="MiB",
                        help=f"MiB streamed (default {DEFAULT_TRANSFER_MIB})")
    args = parser.parse_args(argv)
    try:
        row = measure_loopback(args.pings, args.transfer)
    except NetworkError as exc:
        parser.exit(1, f"{parser.prog}: {exc}\n")
    print(format_table([row]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
