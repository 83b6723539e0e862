"""split_reply(): English and Indonesian quote headers, quoted lines and signatures."""

from __future__ import annotations

import pytest

from tiket.inbound.quotes import MAX_SPLIT_LINES, split_reply

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


# --- Indonesian ------------------------------------------------------------------------------

INDONESIAN = [
    (
        "Printer sudah normal lagi.\n\n"
        "Pada Sen, 3 Mar 2025 pukul 10.00 Budi <b@x.id> menulis:\n> Printer rusak.",
        "Pada Sen",
    ),
    (
        "Printer sudah normal lagi.\n\n"
        "Pada Sen, 3 Mar 2025 pukul 10.00 Budi Santoso\n<budi.santoso@kominfo.go.id> menulis:\n"
        "> Printer rusak.",
        "Pada Sen",
    ),
    (
        "Printer sudah normal lagi.\n\n"
        "Pada tanggal Sen, 3 Mar 2025 10:00, Budi <b@x.id> menulis:\n\n> Printer rusak.",
        "Pada tanggal",
    ),
    (
        "Sudah saya coba.\n\n"
        "Dari: Budi Santoso <b@x.id>\nDikirim: Senin, 03 Maret 2025 10.00\n"
        "Kepada: Helpdesk <helpdesk@x.id>\nPerihal: RE: [TKT-12] VPN\n\nIsi lama.",
        "Dari:",
    ),
    (
        "Sudah saya coba.\n\n"
        "________________________________\nDari: Budi <b@x.id>\nTerkirim: 03 Maret 2025\n"
        "Kepada: helpdesk@x.id\nSubjek: VPN\n\nIsi lama.",
        "_____",
    ),
    ("Oke, terima kasih.\n\n-----Pesan Asli-----\nDari: Budi\nIsi lama.", "-----Pesan Asli"),
    ("Oke siap.\n\nDikirim dari Yahoo Mail di Android", "Dikirim dari Yahoo Mail"),
    ("Oke siap.\n\nDikirim dari ponsel Samsung Galaxy saya.", "Dikirim dari ponsel"),
    ("Laptop sudah diterima.\n\nSalam,\nBudi Santoso\nDinas Kominfo\n0812-3456-789", "Salam,"),
    ("Laptop sudah diterima.\n\nTerima kasih,\nBudi\nBagian Umum", "Terima kasih,"),
    ("Laptop sudah diterima.\n\nHormat saya,\nBudi Santoso\nKepala Seksi TI", "Hormat saya,"),
    ("Laptop sudah diterima.\n\n-Budi", "-Budi"),
]


@pytest.mark.parametrize(("text", "quoted_start"), INDONESIAN)
def test_indonesian_quotes_and_signatures(text: str, quoted_start: str) -> None:
    reply = split_reply(text)
    assert reply.visible == text.split("\n")[0]
    assert reply.quoted.startswith(quoted_start)


def test_closing_with_only_a_name_is_kept() -> None:
    # The corpora keep "Thanks,\nAlex" as part of the reply (measured in the module docstring).
    text = "Printer sudah normal.\n\nSalam,\nBudi"
    assert split_reply(text).visible == text


def test_closing_followed_by_long_text_is_not_a_signature() -> None:
    text = (
        "Terima kasih,\nprinter di lantai 3 sudah bisa dipakai lagi tetapi masih sering macet "
        "kalau mencetak bolak-balik.\nMohon dicek."
    )
    assert split_reply(text).visible == text


def test_indonesian_text_mentioning_menulis_is_kept() -> None:
    text = "Saya menulis ulang konfigurasi VPN:\n1. buka aplikasi\n2. masukkan token"
    assert split_reply(text).visible == text


# --- headers and signatures in other shapes ---------------------------------------------------

OTHER = [
    (
        "Before\n\n2016-03-03 17:21 GMT+01:00 Some One <some.one@foo.bar>:\n\n> old",
        "2016-03-03",
    ),
    ("Thanks!\n\n2016-10-24 15:36 GMT+02:00 Foo bar <\ninfo@foo.bar>:\n\n> old", "2016-10-24"),
    ("Ok.\n\n2013/7/20 sam via Discourse Meta <info@discourse.org>\n\n| old", "2013/7/20"),
    (
        "Done.\n\nMax Mustermann <m@x.de> schrieb am Fr., 28.\nApr. 2017 um 11:53 Uhr:\n\n> alt",
        "Max Mustermann",
    ),
    ("Done.\n\npe 20. lokakuuta 2017 klo 17.50 John Coe\n<j@test.com> kirjoitti:\n\nx", "pe 20."),
    ('Done.\n\n23 mar 2017 21:25 "Neil" <meta@x.com> napisał(a):\n\n> x', "23 mar"),
    ('Done.\n\n30.09.2017, 18.30, "John - Doe" <s.r@saas.com>:\n\nTest', "30.09.2017"),
    (
        "Done.\n\nDa: Company <q@company.com>\nInviato: martedì 3 gennaio 2017 10:35\n"
        "A: someone@hotmail.it\nOggetto: Domanda\n\nold",
        "Da:",
    ),
    (
        "Done.\n\nDate: Thu, 26 Jun 2014 13:53:45 +0400\nSubject: Test\nFrom: abc@example.com\n"
        "To: alex@example.com\n\nold",
        "Date:",
    ),
    ("Done.\n\n-------- Oprindelig besked --------\nFra: A <a@b.dk>\nold", "-------- Oprindelig"),
    ("Done.\n\nSent from TypeApp<http://www.typeapp.com/r?b=2621>", "Sent from TypeApp"),
    ("Done.\n\nRegards,\n\nJohn Doe\nCEO @ Acme !", "Regards,"),
    ("Done.\n\n-Abhishek Kona", "-Abhishek"),
]


@pytest.mark.parametrize(("text", "quoted_start"), OTHER)
def test_other_quote_headers_and_signatures(text: str, quoted_start: str) -> None:
    reply = split_reply(text)
    assert reply.visible == text.split("\n")[0]
    assert reply.quoted.startswith(quoted_start)


@pytest.mark.parametrize(
    "text",
    [
        "figured it out, I wrote one of my own:\n\nhttp://example.com/post",
        "On this day\n\nI wrote something\n\nwhich was very interesting.",
        "Here is another email\n\nSent from my desk, is much easier then my mobile phone.",
        "Service Expire Date\n------------------------------------\nRegistration Jun 27, 2018 x",
        "I'm writing you because of:\n-- first point\n-- second point",
        "Steps:\n- restart the router\n- call us back",
        "Name: Budi\nRoom: 301\nPhone: 1234\nProblem: printer jammed",
        "Selamat pagi,\n\nDari: Bagian Keuangan\nKepada: Bagian TI\nPerihal: Permintaan akses\n\n"
        "Mohon dibuatkan akun SIMPEG untuk pegawai baru.",
        "Salam,\nprinter di ruang rapat mati sejak pagi, sudah dicoba restart tetapi tetap mati.",
        "Sudah sampai.\n\nDikirim dari kantor cabang Bandung kemarin sore sekitar jam tiga.",
        "2024-03-01 10:00 the server crashed again\nplease check",
    ],
)
def test_ordinary_text_is_not_trimmed(text: str) -> None:
    assert split_reply(text).visible == text


def test_a_reply_below_the_bound_loses_its_quote_and_a_huge_paste_is_kept_whole() -> None:
    quote = "\n\nOn Mon, Jun 3, 2024 at 9:00 AM Budi <b@x.id> wrote:\n> old"
    log_lines = "\n".join(f"12:00:{n % 60:02d} kernel: eth0 link down" for n in range(100))
    reply = split_reply("Log terlampir:\n" + log_lines + quote)
    assert reply.quoted.startswith("On Mon") and "eth0" in reply.visible

    paste = "\n".join(f"12:00:{n % 60:02d} kernel: eth0 link down" for n in range(MAX_SPLIT_LINES))
    huge = split_reply("Log terlampir:\n" + paste + quote)
    assert huge.quoted == ""
    assert huge.visible.endswith("> old") and huge.visible.count("\n") == MAX_SPLIT_LINES + 3
