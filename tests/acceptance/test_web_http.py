"""Public pages over real HTTP against `tiket serve`: enumeration, XSS, CSRF, uploads, survey."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from tests.acceptance.web_support import (
    TECH,
    Helpdesk,
    form_fields,
    report,
    running_helpdesk,
    ticket_number,
)
from tests.support import body_text, make_mail, send, wait_for

LIMIT = 12  # status lookups a minute per client address in this daemon
MAX_BYTES = 20_000


@pytest.fixture(scope="module")
def helpdesk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Helpdesk]:
    web = (
        f"status_lookups_per_minute = {LIMIT}\nmax_attachments = 2\n"
        f"max_attachment_bytes = {MAX_BYTES}"
    )
    with running_helpdesk(tmp_path_factory.mktemp("web-http"), web) as running:
        yield running


ADDRESSES = itertools.count(10)


@pytest.fixture
def client(helpdesk: Helpdesk) -> Iterator[httpx.Client]:
    """A browser of its own: its own loopback address, so its own rate-limit budget."""
    transport = httpx.HTTPTransport(local_address=f"127.0.1.{next(ADDRESSES)}")
    with httpx.Client(
        base_url=helpdesk.url, transport=transport, follow_redirects=True, timeout=20
    ) as http:
        yield http


def inbound_count(helpdesk: Helpdesk) -> int:
    from tiket.model import InboundMessage

    db = helpdesk.database()
    with db.session() as session:
        count = session.scalar(select(func.count()).select_from(InboundMessage)) or 0
    db.dispose()
    return int(count)


def test_the_form_opens_a_ticket_shown_on_the_answer_page(
    helpdesk: Helpdesk, client: httpx.Client
) -> None:
    answer = report(client, files=[("attachments", ("layar.txt", b"error 651", "text/plain"))])
    assert answer.status_code == 200
    number = ticket_number(answer)
    ack = wait_for(lambda: helpdesk.sink.to("budi@dinas.example"), what="acknowledgement")[0]
    assert number in str(ack["Subject"])
    status = client.get(f"/status/{number}")
    assert status.status_code == 200
    assert "Jaringan komputer dan Wi-Fi" in status.text  # the category the requester chose
    assert "1 lampiran" in status.text


def test_a_second_post_of_the_same_form_is_the_same_ticket(
    helpdesk: Helpdesk, client: httpx.Client
) -> None:
    fields = form_fields(client)
    values = {
        "name": "Sari",
        "email": "sari@dinas.example",
        "category": "others",
        "description": "Printer macet",
        **fields,
    }
    first = client.post("/report", data=values)
    second = client.post("/report", data=values)
    assert ticket_number(first) == ticket_number(second)
    assert len(wait_for(lambda: helpdesk.sink.to("sari@dinas.example"), what="ack")) == 1


def test_unknown_and_malformed_numbers_get_the_same_neutral_page(client: httpx.Client) -> None:
    pages = [
        client.get("/status/TKT-0000-0000"),
        client.get("/status/not-a-number"),
        client.get("/status", params={"number": "<script>alert(1)</script>"}),
        client.get("/status", params={"number": "TKT-ZZZZ-ZZZZ"}),
    ]
    assert {page.status_code for page in pages} == {404}
    # The same words for all: only the language switch's link repeats the path asked for.
    assert len({page.text.split("<main", 1)[1] for page in pages}) == 1
    assert "<script>alert" not in pages[2].text


def test_the_rate_limit_answers_429_with_retry_after_per_client(
    helpdesk: Helpdesk, client: httpx.Client
) -> None:
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=helpdesk.url, transport=transport, timeout=20) as guesser:
        codes = [guesser.get(f"/status/TKT-0000-{i:04d}").status_code for i in range(LIMIT + 3)]
        assert codes[:LIMIT] == [404] * LIMIT
        limited = guesser.get("/status/TKT-0000-9999")
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert 429 in codes
    # Another client is not held back by the guesser.
    assert client.get("/status/TKT-0000-0001").status_code == 404


def test_script_in_name_subject_and_body_is_shown_as_text(
    helpdesk: Helpdesk, client: httpx.Client
) -> None:
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    answer = report(
        client,
        name=f"Evil {attack}",
        email="evil@dinas.example",
        description=f"{attack}\nlagi {attack}",
    )
    number = ticket_number(answer)
    # And an HTML-only mail with the attack in subject and body, by SMTP.
    mail = make_mail(
        sender="Mallory <mallory@dinas.example>",
        subject=f"Tolong {attack}",
        body="placeholder",
    ).replace(b"Content-Type: text/plain", b"Content-Type: text/html")
    mail = mail.replace(b"placeholder", f"<p>isi</p>{attack}".encode())
    send(helpdesk.smtp_port, mail, sender="mallory@dinas.example")
    html_ack = wait_for(lambda: helpdesk.sink.to("mallory@dinas.example"), what="ack")[0]
    mailed = re.search(r"TKT-[0-9A-Z]{4}-[0-9A-Z]{4}", str(html_ack["Subject"]))
    assert mailed is not None
    for shown in (client.get(f"/status/{number}"), client.get(f"/status/{mailed.group(0)}")):
        assert shown.status_code == 200
        assert "<script>alert" not in shown.text
        assert "<img src=x" not in shown.text
        assert "&lt;script&gt;" in shown.text or "&lt;img" in shown.text
        assert "script-src" not in shown.headers["content-security-policy"]
        assert "default-src 'none'" in shown.headers["content-security-policy"]


def test_the_status_page_hides_notes_and_masks_people(
    helpdesk: Helpdesk, client: httpx.Client
) -> None:
    answer = report(
        client,
        name="Made Wirawan Putra",
        email="made@dinas.example",
        description="Telepon saya 0812-3456-7890, email made.w@dinas.example",
    )
    number = ticket_number(answer)
    from tiket.config import load, mail_secret
    from tiket.desk import Actor, Desk

    settings = load(helpdesk.daemon.config, env={})
    db = helpdesk.database()
    with db.session() as session:
        desk = Desk(session, settings, mail_secret(settings))
        ticket = desk.ticket(number)
        desk.note(ticket, Actor("Wayan Sudarma", TECH), "RAHASIA: password router admin123")
        desk.reply(ticket, Actor("Wayan Sudarma", TECH), "Sudah kami cek, mohon dicoba lagi.")
    db.dispose()
    shown = client.get(f"/status/{number}").text
    assert "RAHASIA" not in shown and "admin123" not in shown
    assert "Sudah kami cek" in shown
    assert "Made" in shown and "Wirawan" not in shown
    assert "Wayan" in shown and "Sudarma" not in shown
    assert "0812-3456-7890" not in shown and "•••890" in shown
    assert "made.w@dinas.example" not in shown and "dinas.example" not in shown


def test_posts_without_the_csrf_pair_are_refused_and_store_nothing(
    helpdesk: Helpdesk, client: httpx.Client
) -> None:
    before = inbound_count(helpdesk)
    fields = form_fields(client)
    values = {"name": "A", "email": "a@dinas.example", "category": "others", "description": "x"}
    with httpx.Client(base_url=helpdesk.url) as stranger:  # no cookie, as from another site
        assert stranger.post("/report", data={**values, **fields}).status_code == 403
    forged = {**fields, "csrf": "0" * 64}
    assert client.post("/report", data={**values, **forged}).status_code == 403
    missing = {"form_token": fields["form_token"]}
    assert client.post("/report", data={**values, **missing}).status_code == 403
    assert inbound_count(helpdesk) == before


def test_oversize_and_too_many_uploads_are_refused_and_store_nothing(
    helpdesk: Helpdesk, client: httpx.Client
) -> None:
    before = inbound_count(helpdesk)
    big = [("attachments", ("big.bin", b"x" * (MAX_BYTES + 1), "application/octet-stream"))]
    answer = report(client, files=big)
    assert answer.status_code == 413
    assert "big.bin" in answer.text
    three = [("attachments", (f"f{i}.txt", b"ok", "text/plain")) for i in range(3)]
    assert report(client, files=three).status_code == 413
    huge = [("attachments", ("huge.bin", b"x" * 400_000, "application/octet-stream"))]
    assert report(client, files=huge).status_code == 413  # over the whole request's limit
    assert inbound_count(helpdesk) == before


def test_invalid_fields_are_named_and_kept_and_the_honeypot_stores_nothing(
    helpdesk: Helpdesk, client: httpx.Client
) -> None:
    before = inbound_count(helpdesk)
    answer = report(client, email="", phone="", description="<b>tetap</b>")
    assert answer.status_code == 400
    assert "isi email atau nomor telepon" in answer.text
    assert "&lt;b&gt;tetap&lt;/b&gt;" in answer.text
    assert report(client, email="bukan-email", phone="12").status_code == 400
    assert report(client, category="no-such-category").status_code == 400
    bot = report(client, website="http://spam.example")
    assert bot.status_code == 200 and "TKT-" not in bot.text
    assert inbound_count(helpdesk) == before


def test_survey_get_never_records_and_post_records_once(
    helpdesk: Helpdesk, client: httpx.Client
) -> None:
    from tiket import teamwork
    from tiket.config import load, mail_secret
    from tiket.desk import Actor, Desk
    from tiket.model import Survey, Ticket, utcnow

    number = ticket_number(report(client, email="survey@dinas.example"))
    settings = load(helpdesk.daemon.config, env={})
    db = helpdesk.database()
    with db.session() as session:
        desk = Desk(session, settings, mail_secret(settings))
        teamwork.resolve(desk, desk.ticket(number), Actor("Wayan", TECH))
    invitation = wait_for(
        lambda: [m for m in helpdesk.sink.to("survey@dinas.example") if "/survey/" in body_text(m)],
        what="survey invitation",
    )[0]
    found = re.search(r"/survey/([A-Za-z0-9_-]+)", body_text(invitation))
    assert found is not None
    token = found.group(1)

    def rating() -> int | None:
        with db.session() as session:
            return session.scalar(select(Survey.rating).join(Ticket).where(Ticket.number == number))

    for path in (f"/survey/{token}", f"/survey/{token}?rating=1", f"/survey/{token}?rating=5"):
        assert client.get(path).status_code == 200
    assert client.head(f"/survey/{token}").status_code in (200, 405)
    assert rating() is None
    with httpx.Client(base_url=helpdesk.url) as scanner:  # a POST without the form's cookie
        assert scanner.post(f"/survey/{token}", data={"rating": "1"}).status_code == 403
    assert rating() is None
    fields = form_fields(client, f"/survey/{token}")
    assert client.post(f"/survey/{token}", data={**fields, "rating": "9"}).status_code == 400
    done = client.post(f"/survey/{token}", data={**fields, "rating": "4", "comment": "cepat"})
    assert done.status_code == 200 and "4" in done.text
    assert rating() == 4
    again = client.post(f"/survey/{token}", data={**fields, "rating": "1"})
    assert again.status_code == 409
    assert rating() == 4
    assert client.get("/survey/no-such-token").status_code == 404
    with db.session() as session:  # one survey per ticket: closing later sends no second one
        desk = Desk(session, settings, mail_secret(settings))
        desk.close(desk.ticket(number), Actor("Wayan", TECH), by_requester=False)
        session.execute(update(Survey).values(expires_at=utcnow() - timedelta(days=1)))
    db.dispose()
    assert client.get(f"/survey/{token}").status_code == 409  # used wins over expired
