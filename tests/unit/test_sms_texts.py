"""Texts: segment counting, the templates' sizes, keywords and phone threading (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tiket.inbound.sms import BadWebhook, form_fields, text_form
from tiket.outbound.sms import render_text, segments, shorten
from tiket.rules.context import Context, Message, TicketRef
from tiket.rules.text_keywords import keyword_of, text_keywords
from tiket.rules.thread_phone import thread_phone

URL = "https://helpdesk.example.go.id/status/TKT-ABCD-EFGH"
VALUES = {
    "number": "TKT-ABCD-EFGH",
    "status_url": URL,
    "office": "Helpdesk TIK",
    "technician_name": "Wayan",
    "by_requester": True,
    "others": "TKT-WXYZ-2345, TKT-QRST-6789",
}
BODY = {"id": "Kamera sudah kami nyalakan ulang, silakan dicek.", "en": "We restarted it, check."}
STATUS = {"id": "sedang ditangani", "en": "in progress"}

# The documented size of every text template with a 51-character status link (the example
# values above): (language, template) → (characters, segments). All GSM-7.
TEMPLATE_SIZES = {
    ("id", "ack"): (129, 1),
    ("id", "reply"): (121, 1),  # 73 characters + the technician's answer
    ("id", "closed"): (121, 1),
    ("id", "update"): (84, 1),
    ("id", "others"): (107, 1),
    ("id", "help"): (117, 1),
    ("id", "stop"): (87, 1),
    ("id", "start"): (60, 1),
    ("en", "ack"): (122, 1),
    ("en", "reply"): (96, 1),
    ("en", "closed"): (103, 1),
    ("en", "update"): (79, 1),
    ("en", "others"): (103, 1),
    ("en", "help"): (105, 1),
    ("en", "stop"): (79, 1),
    ("en", "start"): (57, 1),
}


@pytest.mark.parametrize(("language", "name"), sorted(TEMPLATE_SIZES))
def test_every_text_template_fits_one_gsm7_segment(language: str, name: str) -> None:
    text = render_text(name, language, **VALUES, body=BODY[language], status=STATUS[language])
    assert text is not None
    counted = segments(text)
    assert counted.encoding == "GSM-7", text
    assert (len(text), counted.count) == TEMPLATE_SIZES[(language, name)], text


def test_segment_counting() -> None:
    assert segments("a" * 160).count == 1
    assert segments("a" * 161).count == 2
    assert segments("a" * 306).count == 2 and segments("a" * 307).count == 3
    assert segments("€" * 80).units == 160 and segments("€" * 81).count == 2  # two septets each
    assert segments("Terima kasih 🙏").encoding == "UCS-2"
    assert segments("é" * 70).count == 1  # é is in GSM-7
    assert segments("ā" * 70).count == 1 and segments("ā" * 71).count == 2  # UCS-2: 70, 67
    assert segments("🙏" * 35).count == 1  # a surrogate pair is two units


def test_shortened_answers_stay_gsm7() -> None:
    text = shorten("kata " * 100, 50)
    assert len(text) == 50 and text.endswith("...") and segments(text).encoding == "GSM-7"


def test_unknown_template_has_no_text() -> None:
    assert render_text("survey-we-do-not-have", "id", **VALUES) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", ("stop", "STOP")),
        (" berhenti. ", ("stop", "BERHENTI")),
        ("Start", ("start", "START")),
        ("HELP!", ("help", "HELP")),
        ("bantuan", ("help", "BANTUAN")),
        ("stop the printer from jamming", None),
        ("selesai", None),
        ("", None),
    ],
)
def test_keywords_only_when_alone(text: str, expected: tuple[str, str] | None) -> None:
    assert keyword_of(text) == expected


def text_message(sender: str, text: str, channel: str = "sms") -> Message:
    return Message(1, channel, sender, "", (), text[:40], text, text, "")


@dataclass
class Phones:
    """The Lookup answers thread_phone needs: one requester's tickets."""

    requester_id: int | None = 7
    open: tuple[TicketRef, ...] = ()
    known: dict[str, TicketRef] = field(default_factory=dict)

    def phone_requester_id(self, phone: str) -> int | None:
        return self.requester_id if phone == "+628111" else None

    def open_tickets_of_phone(self, phone: str) -> tuple[TicketRef, ...]:
        return self.open if phone == "+628111" else ()

    def ticket_by_number(self, number: str) -> TicketRef | None:
        return self.known.get(number)


def ref(number: str, requester_id: int = 7) -> TicketRef:
    return TicketRef(hash(number) % 1000, number, "open", requester_id, None)


def run(message: Message, phones: Phones) -> Context:
    return thread_phone(Context(message=message), phones)  # type: ignore[arg-type]


def test_thread_phone_prefers_a_number_of_this_phone() -> None:
    mine, theirs = ref("TKT-AAAA-AAAA"), ref("TKT-BBBB-BBBB", requester_id=9)
    phones = Phones(open=(ref("TKT-CCCC-CCCC"),), known={t.number: t for t in (mine, theirs)})
    ctx = run(text_message("+628111", "tkt-aaaa-aaaa masih mati"), phones)
    assert ctx.ticket == mine and ctx.thread_via == "phone-number"
    ctx = run(text_message("whatsapp:+628111", "TKT-BBBB-BBBB juga"), phones)
    assert ctx.ticket is not None and ctx.ticket.number == "TKT-CCCC-CCCC"
    assert [d.outcome for d in ctx.trace] == ["ignored", "hit"]


def test_thread_phone_newest_of_several_lists_the_others() -> None:
    phones = Phones(open=(ref("TKT-NNNN-NNNN"), ref("TKT-OOOO-0000"), ref("TKT-PPPP-PPPP")))
    ctx = run(text_message("+628111", "ada kabar?"), phones)
    assert ctx.ticket is not None and ctx.ticket.number == "TKT-NNNN-NNNN"
    assert ctx.extra["other_open"] == ["TKT-OOOO-0000", "TKT-PPPP-PPPP"]


def test_thread_phone_misses_and_leaves_mail_alone() -> None:
    assert run(text_message("+628999", "halo"), Phones()).ticket is None
    mail = text_message("budi@dinas.example", "TKT-AAAA-AAAA", channel="email")
    assert run(mail, Phones(known={"TKT-AAAA-AAAA": ref("TKT-AAAA-AAAA")})).trace == ()


def test_keyword_stage_marks_language() -> None:
    ctx = text_keywords(Context(message=text_message("+628111", "BERHENTI")), Phones())  # type: ignore[arg-type]
    assert ctx.extra == {"text_keyword": "stop", "keyword_language": "id"}


@pytest.mark.parametrize(
    "body",
    [b"", b"From=%2B628111", b"MessageSid=SM1", b"MessageSid=SM1&From=%2B62&NumMedia=x"],
)
def test_malformed_forms_are_refused_clearly(body: bytes) -> None:
    with pytest.raises(BadWebhook):
        text_form(form_fields(body))


def test_a_form_with_media() -> None:
    form = text_form(
        form_fields(
            b"MessageSid=SM1&From=whatsapp%3A%2B628111&To=x&Body=hi&NumMedia=2"
            b"&MediaUrl0=http%3A%2F%2Fa&MediaContentType0=image%2Fjpeg&MediaUrl1=http%3A%2F%2Fb"
        )
    )
    assert form.channel == "whatsapp" and form.media == (
        ("http://a", "image/jpeg"),
        ("http://b", ""),
    )
