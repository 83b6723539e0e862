"""Texts out through Twilio: rendering the short templates, counting segments, delivering."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twilio.base.exceptions import TwilioException, TwilioRestException

from tiket.config import Settings
from tiket.errors import PermanentError, TemporaryError
from tiket.model import OutboxMessage
from tiket.outbound.templates import LANGUAGES, environment

if TYPE_CHECKING:
    from twilio.rest import Client

log = logging.getLogger(__name__)

OPTED_OUT = 21610  # Twilio: the recipient replied STOP to this sender
OUTSIDE_WINDOW = 63016  # Twilio: free-form WhatsApp text outside the 24-hour window
MAX_BODY = 1500  # Twilio's limit is 1600 characters

# GSM 03.38: the basic set, and the extension set whose characters take two septets.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class Segments:
    encoding: str  # GSM-7 or UCS-2
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int


def segments(text: str) -> Segments:
    """How many SMS segments a text takes: 160/153 septets in GSM-7, 70/67 units in UCS-2."""
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in text):
        units = sum(2 if c in GSM_EXTENDED else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    count = 1 if units <= single else -(-units // multi)
    return Segments(encoding, units, count)


def render_text(name: str, language: str, **values: Any) -> str | None:
    """The text template `sms_<name>` in this language, or None when there is none."""
    language = language if language in LANGUAGES else LANGUAGES[0]
    path = f"{language}/sms_{name}.txt"
    if path not in environment().list_templates():
        return None
    text = environment().get_template(path).render(**values)
    return " ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    # Three dots, not "…": one character outside GSM-7 makes the whole text UCS-2 (70 a segment).
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


class TwilioSender:
    """Sends outbox rows of channel sms/whatsapp with the real twilio client."""

    def __init__(self, settings: Settings) -> None:
        # twilio.rest brings requests and urllib3 (~5 MB): only a daemon that sends texts needs it.
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        twilio = settings.twilio
        self.settings = settings
        self.client: Client = Client(
            twilio.account_sid,
            twilio.auth_token,
            http_client=TwilioHttpClient(timeout=settings.outbound.timeout_seconds),
        )
        self.client.api.base_url = twilio.api_base.rstrip("/")
        self.status_callback = f"{settings.http.public_url.rstrip('/')}/twilio/status"

    def send(self, row: OutboxMessage) -> tuple[str, str]:
        """Hand one text to Twilio: its MessageSid and first status; raises by error kind."""
        sender = (
            self.settings.twilio.whatsapp_from
            if row.channel == "whatsapp"
            else self.settings.twilio.sms_from
        )
        if not sender:
            raise PermanentError(f"no [twilio] {row.channel} sender configured")
        options: dict[str, Any] = {
            "to": row.recipient,
            "from_": sender,
            "status_callback": self.status_callback,
            # Twilio swaps typographic quotes and dashes for GSM-7 ones: fewer segments.
            "smart_encoded": True,
        }
        if row.payload:
            template = json.loads(row.payload)
            options["content_sid"] = template["content_sid"]
            options["content_variables"] = json.dumps(template["variables"])
        else:
            options["body"] = row.body[:MAX_BODY]
        try:
            message = self.client.messages.create(**options)
        except TwilioRestException as exc:
            raise classify_error(exc) from exc
        except (TwilioException, OSError) as exc:
            raise TemporaryError(f"twilio unreachable: {exc}") from exc
        return str(message.sid), str(message.status or "queued")


class RecipientOptedOut(PermanentError):
    """The recipient opted out of texts from us (Twilio error 21610)."""


def classify_error(exc: TwilioRestException) -> TemporaryError | PermanentError:
    code = exc.code or 0
    text = f"twilio {exc.status} error {code}: {exc.msg}"
    if code == OPTED_OUT:
        return RecipientOptedOut(text)
    if exc.status == 429 or exc.status >= 500:
        return TemporaryError(text)
    return PermanentError(text)
