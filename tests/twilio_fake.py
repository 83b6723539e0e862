"""A local HTTP server that plays Twilio's REST API (Messages, media) and records every request."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token"


@dataclass
class Sent:
    """One Messages.json request as Twilio would have received it."""

    sid: str
    fields: dict[str, str]
    authorised: bool

    @property
    def to(self) -> str:
        return self.fields.get("To", "")

    @property
    def body(self) -> str:
        return self.fields.get("Body", "")


@dataclass
class FakeTwilio:
    sent: list[Sent] = field(default_factory=list)
    refused: int = 0  # requests answered with an error
    down: bool = False  # answer 503 to every API request
    errors: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # To → status, code
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # path → type, data
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _authorised(self) -> bool:
                expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
                return self.headers.get("Authorization", "") == f"Basic {expected}"

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                fields = dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))
                if not self.path.endswith("/Messages.json"):
                    self._json(404, {"code": 20404, "message": "not found", "status": 404})
                    return
                with fake.lock:
                    if fake.down:
                        fake.refused += 1
                        self._json(503, {"code": 20503, "message": "unavailable", "status": 503})
                        return
                    error = fake.errors.get(fields.get("To", ""))
                    if error is not None:
                        fake.refused += 1
                        status, code, message = error
                        self._json(status, {"code": code, "message": message, "status": status})
                        return
                    sid = "SM" + secrets.token_hex(16)
                    fake.sent.append(Sent(sid, fields, self._authorised()))
                self._json(
                    201,
                    {
                        "sid": sid,
                        "status": "queued",
                        "to": fields.get("To"),
                        "from": fields.get("From"),
                        "body": fields.get("Body"),
                        "account_sid": ACCOUNT_SID,
                    },
                )

            def do_GET(self) -> None:
                item = fake.media.get(self.path)
                if item is None or not self._authorised():
                    self._json(404 if item is None else 401, {"status": 404})
                    return
                kind, data = item
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def to(self, address: str) -> list[Sent]:
        with self.lock:
            return [item for item in self.sent if item.to == address]


def signed(url: str, fields: dict[str, str], token: str = AUTH_TOKEN) -> dict[str, str]:
    """The X-Twilio-Signature header Twilio would send with this form to this URL."""
    return {"X-Twilio-Signature": RequestValidator(token).compute_signature(url, fields)}


def sms_form(
    sender: str, body: str, *, sid: str | None = None, to: str = "+15550001111", **extra: str
) -> dict[str, str]:
    return {
        "MessageSid": sid or "SM" + secrets.token_hex(16),
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        **extra,
    }
