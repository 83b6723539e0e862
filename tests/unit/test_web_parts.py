"""The public pages' pure parts: masking, the rate limiter, form checks, language choice."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from tiket.gateway.masking import first_name, mask_text
from tiket.gateway.ratelimit import RateLimiter
from tiket.gateway.webpage import language
from tiket.inbound.web import FormProblems, check_form, from_raw, normalise_phone, to_raw

CATEGORIES = {"network", "others"}


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("Budi Santoso", "Budi"),
        ('"Santoso, Budi"', "Santoso"),
        ("  Ni   Made Ayu ", "Ni"),
        ("budi@dinas.example", ""),
        ("", ""),
    ],
)
def test_first_name(name: str, first: str) -> None:
    assert first_name(name) == first


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("mail budi.s@dinas.example ya", "mail b•••@d•••.example ya"),
        ("hp 0812-3456-7890.", "hp •••890."),
        ("hp +62 812 3456 7890", "hp •••890"),
        ("WA 6281234567890", "WA •••890"),
        ("tiket TKT-1234-5678 dan TKT-0812-3456", "tiket TKT-1234-5678 dan TKT-0812-3456"),
        ("ruang 0123, lantai 2", "ruang 0123, lantai 2"),
        ("IP 10.0.12.5", "IP 10.0.12.5"),
    ],
)
def test_mask_text(text: str, shown: str) -> None:
    assert mask_text(text) == shown


def test_rate_limiter_refills_and_says_how_long_to_wait() -> None:
    now = [0.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [None, None, None]
    assert limiter.take("a") == 20  # one token a 20 s at 3 a minute
    assert limiter.take("b") is None  # another client has its own budget
    now[0] = 20.0
    assert limiter.take("a") is None
    assert limiter.take("a") == 20


def test_rate_limiter_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tiket.gateway.ratelimit.MAX_CLIENTS", 10)
    limiter = RateLimiter(5, clock=lambda: 0.0)
    for i in range(100):
        limiter.take(f"client-{i}")
    assert len(limiter._buckets) <= 10


@pytest.mark.parametrize(
    ("typed", "phone"),
    [
        ("0812 3456 7890", "+6281234567890"),
        ("+62 (812) 3456-7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("12", None),
        ("0812abc", None),
        ("+0812345678", None),
        ("", None),
    ],
)
def test_normalise_phone(typed: str, phone: str | None) -> None:
    assert normalise_phone(typed) == phone


def good(**changes: str) -> dict[str, str]:
    return {
        "name": "Budi",
        "email": "budi@dinas.example",
        "category": "network",
        "description": "Wifi mati",
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        ({"name": "  "}, {"name": "required"}),
        ({"name": "x" * 201}, {"name": "too_long"}),
        ({"email": "", "phone": ""}, {"contact": "contact_required"}),
        ({"email": "budi@"}, {"email": "bad_email"}),
        ({"email": "a b@c.d"}, {"email": "bad_email"}),
        ({"phone": "123"}, {"phone": "bad_phone"}),
        ({"category": "printer"}, {"category": "required"}),
        ({"description": ""}, {"description": "required"}),
        ({"description": "x" * 20_001}, {"description": "too_long"}),
    ],
)
def test_check_form_names_each_problem(changes: dict[str, str], problems: dict[str, str]) -> None:
    with pytest.raises(FormProblems) as caught:
        check_form(good(**changes), (), CATEGORIES)
    assert caught.value.problems == problems


def test_check_form_cleans_and_round_trips() -> None:
    form = check_form(
        good(
            name=" Budi   Santoso ",
            email="Budi@Dinas.Example",
            phone="0812-3456-7890",
            description="TKT-AAAA-BBBB lagi\r\nbaris 2",
        ),
        (),
        CATEGORIES,
    )
    assert (form.name, form.email, form.phone) == (
        "Budi Santoso",
        "budi@dinas.example",
        "+6281234567890",
    )
    assert form.subject == "lagi"  # no ticket number for the thread stage to trust
    assert from_raw(to_raw(form)) == form


@pytest.mark.parametrize(
    ("query", "cookie", "header", "chosen"),
    [
        ("lang=en", "id", "id", "en"),
        ("", "en", "id-ID", "en"),
        ("", "", "en-US,en;q=0.9", "en"),
        ("", "", "fr;q=0.9, id;q=0.8", "id"),
        ("", "", "de", "id"),
        ("lang=xx", "", "ms-MY", "id"),
    ],
)
def test_language_choice(query: str, cookie: str, header: str, chosen: str) -> None:
    headers = [(b"accept-language", header.encode())]
    if cookie:
        headers.append((b"cookie", f"tiket_lang={cookie}".encode()))
    scope = {"type": "http", "query_string": query.encode(), "headers": headers}
    assert language(Request(scope), "id") == chosen
