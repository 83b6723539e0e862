"""The final dot and the journal's "sent" line leave in one step, with no thread run between."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tiket.outbound import handover
from tiket.outbound.handover import send_then_write
from tiket.outbound.journal import Journal


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    ours.settimeout(5)  # as smtplib's: non-blocking underneath
    theirs.settimeout(5)
    yield ours, theirs
    ours.close()
    theirs.close()


def _fill(sock: socket.socket) -> int:
    """Fill the socket's send buffer; return how much went in."""
    sock.setblocking(False)
    total = 0
    try:
        while True:
            total += sock.send(b"x" * 65536)
    except BlockingIOError:
        pass
    sock.settimeout(5)
    return total


def _drain(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        data += sock.recv(count - len(data))
    return data


def test_linux_has_the_calls_that_need_no_thread_switch() -> None:
    assert handover._CALLS is not None


@pytest.mark.parametrize("timeout", [5.0, None], ids=["non-blocking", "blocking"])
def test_the_dot_goes_and_the_line_is_written(
    pair: tuple[socket.socket, socket.socket], tmp_path: Path, timeout: float | None
) -> None:
    ours, theirs = pair
    ours.settimeout(timeout)  # blocking: the plain way, as a send must not hold the lock
    fd = os.open(tmp_path / "journal", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    assert send_then_write(ours, b".\r\n", fd, b"s 7\n") == (3, 4)
    os.close(fd)
    assert theirs.recv(10) == b".\r\n"
    assert (tmp_path / "journal").read_bytes() == b"s 7\n"


def test_a_full_socket_is_waited_for_before_anything_is_written(
    pair: tuple[socket.socket, socket.socket], tmp_path: Path
) -> None:
    ours, theirs = pair
    filled = _fill(ours)
    journal = tmp_path / "journal"
    fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    seen_before_room: list[bytes] = []

    def slow_reader() -> None:
        threading.Event().wait(0.3)
        seen_before_room.append(journal.read_bytes())
        _drain(theirs, filled)

    reader = threading.Thread(target=slow_reader)
    reader.start()
    assert send_then_write(ours, b".\r\n", fd, b"s 7\n") == (3, 4)
    reader.join()
    os.close(fd)
    assert seen_before_room == [b""]
    assert theirs.recv(10) == b".\r\n"
    assert journal.read_bytes() == b"s 7\n"


def test_a_socket_that_never_has_room_times_out_with_nothing_written(
    pair: tuple[socket.socket, socket.socket], tmp_path: Path
) -> None:
    ours, _ = pair
    _fill(ours)
    ours.settimeout(0.2)
    fd = os.open(tmp_path / "journal", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    with pytest.raises(TimeoutError):
        send_then_write(ours, b".\r\n", fd, b"s 7\n")
    os.close(fd)
    assert (tmp_path / "journal").read_bytes() == b""


def test_no_other_thread_sees_the_dot_sent_and_the_line_missing(
    pair: tuple[socket.socket, socket.socket], tmp_path: Path
) -> None:
    # A watcher thread, competing for the interpreter lock, looks for the instant a SIGKILL
    # must not find: the peer has the dot, the journal has no line for it. Two plain calls
    # (sendall, then os.write) let it in often: the sending thread drops the lock in sendall.
    ours, theirs = pair
    journal = tmp_path / "journal"
    fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    rounds = 300
    done = threading.Event()
    caught: list[int] = []
    watched = [0]
    arrived = 0

    def watch() -> None:
        nonlocal arrived
        while not done.is_set():
            with contextlib.suppress(BlockingIOError):
                arrived += len(theirs.recv(65536, socket.MSG_DONTWAIT))
            if arrived // 3 > os.fstat(fd).st_size // 4:
                caught.append(arrived)
            watched[0] += 1

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(rounds):
            assert send_then_write(ours, b".\r\n", fd, b"s 7\n") == (3, 4)
    finally:
        done.set()
        watcher.join()
    os.close(fd)
    assert watched[0] > 0
    assert caught == []
    assert len(journal.read_bytes()) == 4 * rounds


class _Partial:
    """A `send` that takes one byte, as a socket short of room might."""

    def __init__(self, real: handover.Call) -> None:
        self.real = real

    def __call__(self, fd: int, data: bytes, size: int, flags: int) -> int:
        return int(self.real(fd, data, 1, flags))


def test_a_partial_send_takes_the_line_back_and_writes_it_once_all_went(
    pair: tuple[socket.socket, socket.socket], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, theirs = pair
    assert handover._CALLS is not None
    send, write = handover._CALLS
    monkeypatch.setattr(handover, "_CALLS", (_Partial(send), write))
    journal = Journal(tmp_path / "journal")
    journal.sent_with(7, ours, b".\r\n")
    journal.close()
    assert _drain(theirs, 3) == b".\r\n"
    assert (tmp_path / "journal").read_text() == "s 7\nr 7\ns 7\n"
    assert journal.pending().sent == {7}


def test_a_broken_connection_leaves_no_sent_line(
    pair: tuple[socket.socket, socket.socket], tmp_path: Path
) -> None:
    ours, theirs = pair
    theirs.close()
    journal = Journal(tmp_path / "journal")
    with pytest.raises(OSError) as failure:
        journal.sent_with(7, ours, b".\r\n")
    journal.close()
    assert failure.value.errno in (errno.EPIPE, errno.ECONNRESET)
    assert journal.pending().sent == frozenset()
