"""Pure pipeline helpers: command lines, close keywords, keyword classification, language."""

from __future__ import annotations

import pytest

from tiket.model.seed import CATEGORIES
from tiket.outbound.compose import clean_header, compose_email
from tiket.rules.classify import RULE_TEXT_LIMIT, classify, rule_text
from tiket.rules.commands import is_close_request, split_commands
from tiket.rules.context import Context, Message
from tiket.rules.language import guess_language
from tiket.rules.matching import Facts, evaluate
from tiket.rules.ruleset import RuleSpec, category_rule

CLOSE = ("close", "closed", "solved", "selesai", "tutup", "sudah beres")


def test_split_commands() -> None:
    found, rest = split_commands("Sudah diganti.\n#close\n#priority high\n#unknownthing x")
    assert [(c.name, c.argument) for c in found] == [("close", ""), ("priority", "high")]
    assert rest == "Sudah diganti.\n#unknownthing x"
    assert split_commands("No commands here, not even # this")[0] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("selesai", True),
        ("Selesai, terima kasih!", True),
        ("Sudah beres. Terima kasih banyak", True),
        ("solved\n\nthanks for the help", True),
        ("Closed", True),
        ("tutup saja", True),
        ("belum selesai", False),
        ("Masalah tidak selesai juga", False),
        ("not solved yet", False),
        ("The printer is still broken and the issue is not closed, please check again", False),
        ("Wifi kantor masih mati sejak tadi pagi, sudah dicoba restart tapi belum beres", False),
        ("", False),
    ],
)
def test_close_keywords(text: str, expected: bool) -> None:
    assert is_close_request(text, CLOSE) is expected


@pytest.mark.parametrize(
    ("subject", "body", "slug"),
    [
        ("Wifi mati", "jaringan di kantor putus", "network"),
        ("Internet lambat", "", "network"),
        ("Lupa password email dinas", "", "email"),
        ("Server penuh", "penyimpanan penuh di server hosting", "server"),
        ("Domain kedaluwarsa", "nama domain dinas sudah expired", "domain"),
        ("CCTV", "kamera di lobby tidak ada rekaman", "cctv"),
        ("Email phishing", "ada email phishing minta password, apakah malware?", "security"),
        ("Aplikasi error", "aplikasi SIMPEG crash saat dibuka", "application"),
        ("Unggah berita", "mohon bantu unggah berita ke website dinas", "content"),
    ],
)
def test_keywords_pick_the_category(subject: str, body: str, slug: str) -> None:
    results = []
    facts = Facts(subject=subject.lower(), body=body.lower())
    for item in CATEGORIES:
        if item.keywords:
            results.append(
                (evaluate({"field": "text", "keywords": list(item.keywords)}, facts), item.slug)
            )
    best = max(results)
    assert best[0] > 0 and best[1] == slug


def test_keywords_match_whole_words_only() -> None:
    def score(keyword: str, body: str, subject: str = "") -> int:
        facts = Facts(subject=subject, body=body)
        return evaluate({"field": "text", "keywords": [keyword]}, facts)

    assert score("lan", "planning the calendar") == 0
    assert score("lan", "kabel lan putus") == 1
    assert score("internet lambat", "internet   lambat sekali") == 1
    assert score("wifi", "", subject="wifi mati") == 3  # the subject says more


class RuleBook:
    """The one question the classify stage asks: the seeded category rules plus a spam rule."""

    def rules(self) -> list[RuleSpec]:
        seeded = [category_rule(c.slug, c.keywords, 10 * i) for i, c in enumerate(CATEGORIES)]
        spam = RuleSpec("spam", {"field": "text", "keywords": ["viagra"]}, {"spam": True}, 999)
        return [*seeded, spam]


def test_rules_read_a_huge_body_from_its_beginning_only() -> None:
    top = "Wifi kantor mati, jaringan putus sejak pagi.\n"
    filler = "lorem ipsum dolor sit amet consectetur\n" * (5 * 1024 * 1024 // 39)
    # Beyond the bound: more category words than the top has, and a spam word.
    tail = "aplikasi error crash bug hang viagra\n" * 50
    body = top + filler + tail
    assert len(body) > 5 * 1024 * 1024
    message = Message(1, "email", "budi@dinas.example", "", (), "tolong", body, body, "")
    ctx = classify(Context(message=message), RuleBook())  # type: ignore[arg-type]
    assert ctx.category == "network"
    assert ctx.spam is False
    assert not any("application" in d.detail for d in ctx.trace if d.outcome == "hit")


def test_the_rule_text_bound_never_cuts_a_word_in_two() -> None:
    short = "kabel lan putus"
    assert rule_text(short) is short
    text = "x" * (RULE_TEXT_LIMIT - 3) + " lanjutkan"  # a keyword "la" would match "la|njutkan"
    head = rule_text(text)
    assert head == "x" * (RULE_TEXT_LIMIT - 3) + " "
    assert evaluate({"field": "body", "keywords": ["la"]}, Facts(body=head)) == 0
    assert rule_text("a " * RULE_TEXT_LIMIT) == "a " * (RULE_TEXT_LIMIT // 2)


def test_language_guess() -> None:
    assert guess_language("Mohon bantuan, wifi di kantor kami mati sejak pagi", "en") == "id"
    assert guess_language("Please help, the wifi in our office has been down since", "id") == "en"
    assert guess_language("CCTV", "id") == "id"


def test_outgoing_headers_cannot_be_injected() -> None:
    assert clean_header("Hello\r\nBcc: victim@example.net") == "Hello Bcc: victim@example.net"
    raw = compose_email(
        sender="helpdesk@tiket.test",
        sender_name="Helpdesk\nBcc: x@example.net",
        to="budi@dinas.example",
        subject="[TKT-AAAA-BBBB] Wifi\r\nBcc: victim@example.net",
        body="halo",
        message_id="<a@tiket.test>",
    )
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in head and b"\rBcc:" not in head


def test_seeded_category_descriptions_speak_indonesian() -> None:
    from tiket.model.seed import describe

    network = next(c for c in CATEGORIES if c.slug == "network")
    assert describe("network", network.description, "en") == network.description
    assert describe("network", network.description, "id").startswith("Masalah konektivitas")
    assert describe("network", "Tulisan admin sendiri", "id") == "Tulisan admin sendiri"


def test_outgoing_mail_round_trips_non_ascii_names_subjects_and_bodies() -> None:
    from email import message_from_bytes, policy

    raw = compose_email(
        sender="helpdesk@tiket.test",
        sender_name="Dinas Komunikasi dan Informatika — Kota Dénpasar",
        to="Ñoño Pérez <nono@dinas.example>",
        subject="[TKT-AAAA-BBBB] Re: Lupa kata sandi 日本語 " + "panjang " * 30,
        body="Tiket Anda “selesai” ✓\n" + "ä" * 300,
        message_id="<c@tiket.test>",
        references=[f"<r{i}@example.org>" for i in range(25)],
    )
    assert raw.isascii() and b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    msg = message_from_bytes(raw, policy=policy.default)
    assert (
        str(msg["From"]) == "Dinas Komunikasi dan Informatika — Kota Dénpasar <helpdesk@tiket.test>"
    )
    assert str(msg["To"]) == "Ñoño Pérez <nono@dinas.example>"
    assert (
        str(msg["Subject"])
        == ("[TKT-AAAA-BBBB] Re: Lupa kata sandi 日本語 " + "panjang " * 30).strip()
    )
    assert str(msg["References"]).split() == [f"<r{i}@example.org>" for i in range(5, 25)]
    assert msg.get_content().replace("\r\n", "\n") == "Tiket Anda “selesai” ✓\n" + "ä" * 300 + "\n"
