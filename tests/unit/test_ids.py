"""Ticket numbers and signed reply addresses."""

from __future__ import annotations

import re

from tiket.ids import (
    find_numbers,
    new_ticket_number,
    normalise_number,
    reply_address,
    verify_reply_address,
)

SECRET = b"k" * 32


def test_ticket_numbers_are_readable_and_carry_40_random_bits() -> None:
    numbers = {new_ticket_number() for _ in range(2000)}
    assert len(numbers) == 2000
    for number in numbers:
        assert re.fullmatch(r"TKT-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", number)
    # 8 base32 characters = 40 bits; every character position takes many values.
    for position in (4, 5, 6, 7, 9, 10, 11, 12):
        assert len({n[position] for n in numbers}) > 25


def test_numbers_typed_by_people_are_understood() -> None:
    assert normalise_number("tkt-7qf3-kx9m") == "TKT-7QF3-KX9M"
    assert normalise_number("TKT7QF3KX9M") == "TKT-7QF3-KX9M"
    assert normalise_number("tiket saya TKT-7QF3-KX9M ya") == "TKT-7QF3-KX9M"
    assert normalise_number("TKT-7QF3-KX9O") == "TKT-7QF3-KX90"  # O read as zero
    assert normalise_number("no number here") is None
    assert normalise_number("") is None
    assert find_numbers("Re: [TKT-AAAA-BBBB] and tkt-cccc-dddd, TKT-AAAA-BBBB") == [
        "TKT-AAAA-BBBB",
        "TKT-CCCC-DDDD",
    ]


def test_signed_reply_address_round_trips_and_resists_forgery() -> None:
    address = reply_address("helpdesk@tiket.test", "TKT-7QF3-KX9M", SECRET)
    assert address.startswith("helpdesk+tkt-7qf3-kx9m.")
    assert address.endswith("@tiket.test")
    assert verify_reply_address(address, SECRET) == ("TKT-7QF3-KX9M", "")
    assert verify_reply_address(address.upper(), SECRET) == ("TKT-7QF3-KX9M", "")  # MTAs
    assert verify_reply_address(address, b"other secret") is None
    forged = address.replace("tkt-7qf3-kx9m", "tkt-7qf3-kx9n")
    assert verify_reply_address(forged, SECRET) is None
    assert verify_reply_address("helpdesk@tiket.test", SECRET) is None
    assert verify_reply_address("helpdesk+nonsense@tiket.test", SECRET) is None


def test_reply_addresses_are_signed_for_their_audience() -> None:
    team = reply_address("helpdesk@tiket.test", "TKT-7QF3-KX9M", SECRET, "t3")
    assert team.startswith("helpdesk+tkt-7qf3-kx9m.t3.")
    assert verify_reply_address(team, SECRET) == ("TKT-7QF3-KX9M", "t3")
    requester = reply_address("helpdesk@tiket.test", "TKT-7QF3-KX9M", SECRET)
    # The requester's own signature does not make a team's address.
    forged = requester.replace("tkt-7qf3-kx9m.", "tkt-7qf3-kx9m.t3.")
    assert verify_reply_address(forged, SECRET) is None
