"""The DATA command, collecting the message into one buffer instead of a list of line objects.

aiosmtpd 1.4.6 keeps every line of DATA as its own bytearray and joins them at the end: for a
25 MB attachment (450,000 base64 lines, 34 MB on the wire) about 65 MB of line objects, then the
joined copy beside them. Here the lines go into one BytesIO, whose buffer becomes the message
without a copy. Everything else is aiosmtpd's `smtp_DATA` as it stands: the data ends only at
CRLF "." CRLF, a leading dot is removed from each line, a line over `line_length_limit` answers
500 and more than `data_size_limit` bytes 552, both only once the data has ended.
"""

from __future__ import annotations

import asyncio
import enum
import io
import logging

from aiosmtpd.smtp import MISSING, SMTP

log = logging.getLogger(__name__)


class _State(enum.Enum):
    NOMINAL = enum.auto()
    TOO_LONG = enum.auto()
    TOO_MUCH = enum.auto()


_REFUSALS = {
    _State.TOO_LONG: "500 Line too long (see RFC5321 4.5.3.1.6)",
    _State.TOO_MUCH: "552 Error: Too much mail data",
}


class OneBufferData(SMTP):
    """An aiosmtpd server whose DATA holds the message once, as the bytes it hands the handler."""

    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        content = await self._read_data()
        if isinstance(content, _State):
            await self.push(_REFUSALS[content])
            self._set_post_data_state()  # type: ignore[no-untyped-call]
            return
        # This server never decodes DATA (decode_data=False): content is the original bytes.
        self.envelope.content = self.envelope.original_content = content
        del content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()  # type: ignore[no-untyped-call]
        await self.push("250 OK" if status is MISSING else status)

    async def _read_data(self) -> bytes | _State:
        """The unstuffed message up to CRLF "." CRLF, or why it is refused."""
        buffer = io.BytesIO()
        size = 0
        limit = self.data_size_limit
        fragments: list[bytes] = []
        state = _State.NOMINAL
        while self.transport is not None:  # eof_received cancels this coroutine
            try:
                line = await self._reader.readuntil(b"\r\n")
            except asyncio.CancelledError:
                log.info("action=data_connection_lost")
                self._writer.close()
                raise
            except asyncio.LimitOverrunError as exc:
                # Longer than the reader's limit (line_length_limit): drain it, answer later.
                if state is _State.NOMINAL:
                    state = _State.TOO_LONG
                buffer = io.BytesIO()
                line = await self._reader.read(exc.consumed)
            if not fragments and line == b".\r\n":
                break
            size += len(line)
            if state is _State.NOMINAL and limit and size > limit:
                state = _State.TOO_MUCH
                buffer = io.BytesIO()
            fragments.append(line)
            if not line.endswith(b"\r\n"):
                continue
            if state is _State.NOMINAL:
                whole = fragments[0] if len(fragments) == 1 else b"".join(fragments)
                if len(whole) > self.line_length_limit:
                    state = _State.TOO_LONG
                    buffer = io.BytesIO()
                elif whole.startswith(b"."):  # RFC 5321 4.5.2: undo the sender's dot-stuffing
                    buffer.write(memoryview(whole)[1:])
                else:
                    buffer.write(whole)
            fragments.clear()
        if state is not _State.NOMINAL:
            return state
        return buffer.getvalue()  # hands over the BytesIO's own buffer: no second copy
