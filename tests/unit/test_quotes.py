"""split_reply(): English and Indonesian quote headers, quoted lines and signatures."""

from __future__ import annotations

import pytest

from tiket.inbound.quotes import split_reply

CASES = [
    ("Thanks!\n\nOn Mon, Jun 3, 2024 at 9:00 AM Budi <b@x.id> wrote:\n> old", "On Mon"),
    ("Thanks!\n\nOn Mon, Jun 3, 2024 at 9:00 AM Budi\n<b@x.id> wrote:\n> old", "On Mon"),
    ("Sudah beres.\n\nPada Sen, 3 Jun 2024 09.00, Budi <b@x.id> menulis:\n> lama", "Pada"),
    (
        "Sudah beres.\n\nDari: Budi <b@x.id>\nDikirim: Senin, 3 Juni 2024 09.00\n"
        "Kepada: helpdesk@x.id\nPerihal: WiFi\n\nlama",
        "Dari:",
    ),
    (
        "Done.\n\nFrom: Budi <b@x.id>\nSent: Monday, June 3, 2024 9:00 AM\n"
        "To: helpdesk@x.id\nSubject: WiFi\n\nold",
        "From:",
    ),
    ("Done.\n\n-----Original Message-----\nFrom: a\nold", "-----Original"),
    ("Oke.\n\n-----Pesan Asli-----\nDari: a\nlama", "-----Pesan Asli"),
    ("Done.\n> old line\n> more", "> old"),
    ("Done.\n\n-- \nBudi\nDinas Kominfo", "-- "),
    ("Done.\n\nSent from my iPhone", "Sent from my iPhone"),
    ("Oke siap.\n\nDikirim dari iPhone saya", "Dikirim dari"),
    ("Oke siap.\n\nTerkirim dari Samsung Galaxy", "Terkirim dari"),
]


@pytest.mark.parametrize(("text", "quoted_start"), CASES)
def test_quote_is_removed(text: str, quoted_start: str) -> None:
    reply = split_reply(text)
    assert reply.visible == text.split("\n")[0]
    assert reply.quoted.startswith(quoted_start)


def test_no_quote_keeps_everything() -> None:
    reply = split_reply("  Printer di ruang 3 rusak.\nTolong dicek.  ")
    assert reply.visible == "Printer di ruang 3 rusak.\nTolong dicek."
    assert reply.quoted == ""


def test_all_quote_falls_back_to_the_text() -> None:
    text = "> only quoted\n> text"
    assert split_reply(text).visible == text


def test_bottom_posted_reply_keeps_the_new_text() -> None:
    text = "On Mon, Budi <b@x.id> wrote:\n> old question\n\nnew answer"
    assert split_reply(text).visible == "new answer"


def test_empty_text() -> None:
    assert split_reply("").visible == ""
