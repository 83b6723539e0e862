"""The last bytes of a message to the kernel and a line to a journal, with no thread run between.

A daemon killed after the smarthost's socket has taken the final dot but before the deliverer's
journal says "sent" sends that answer again after its restart: the kernel still delivers what
the dead process had written, and the smarthost commits on the dot. With two `os` calls the
gap between them is as long as the sending thread waits to get the interpreter lock back from
a busy processor thread, up to a switch interval (5 ms). Here both system calls run from C,
through `ctypes.PyDLL` (which keeps the lock held during a call), one after the other inside
one call of `tuple`: no Python code, so no thread switch, runs between them. What remains is
the few microseconds between two system calls.

The socket must be non-blocking (Python sockets with a timeout are), so that `send` never
waits with the lock held; we wait for room first, as `sendall` would. A TLS socket's bytes
must go through OpenSSL, and a blocking socket must not hold the lock: both take the plain way.
"""

from __future__ import annotations

import ctypes
import itertools
import operator
import os
import select
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

Call = Callable[..., int]


def _libc_calls() -> tuple[Call, Call] | None:
    try:
        libc = ctypes.PyDLL(None, use_errno=True)
        send, write = libc.send, libc.write
    except (OSError, AttributeError):
        return None
    send.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int)
    write.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t)
    send.restype = write.restype = ctypes.c_ssize_t
    return send, write


_CALLS = _libc_calls()
_NOSIGNAL = getattr(socket, "MSG_NOSIGNAL", 0)


def send_then_write(sock: socket.socket, data: bytes, fd: int, line: bytes) -> tuple[int, int]:
    """Send `data` on `sock`, then write `line` to `fd`; return what each call took (-1: error,
    then `ctypes.get_errno()` tells which).

    `data` is small (an SMTP final dot). When the socket took less than all of it, the caller
    sends the rest and must treat `line` as not yet true.
    """
    if _CALLS is None or isinstance(sock, ssl.SSLSocket) or os.get_blocking(sock.fileno()):
        sock.sendall(data)
        try:
            return len(data), os.write(fd, line)
        except OSError as exc:
            ctypes.set_errno(exc.errno or 0)  # where the caller reads it, as after `write`
            return len(data), -1
    _wait_for_room(sock)
    send, write = _CALLS
    calls: list[tuple[Any, ...]] = [
        (send, sock.fileno(), data, len(data), _NOSIGNAL),
        (write, fd, line, len(line)),
    ]
    sent, written = tuple(itertools.starmap(operator.call, calls))
    return sent, written


def _wait_for_room(sock: socket.socket) -> None:
    timeout = sock.gettimeout()
    deadline = None if timeout is None else time.monotonic() + timeout
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLOUT)
    while True:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if poller.poll(None if left is None else left * 1000):
            return
        if left == 0.0:
            raise TimeoutError("timed out waiting to send to the smarthost")
