"""Pure parts of tiket/learn: tokens, the similarity index, the learned and suggest stages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from tiket.config import LearnSettings
from tiket.learn.classifier import Example
from tiket.learn.index import Doc, SimilarityIndex
from tiket.learn.text import tokens
from tiket.learn.training import render, score, split
from tiket.rules.context import Context, Message, Similar, TicketRef
from tiket.rules.learned import learned
from tiket.rules.suggest import suggest

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def test_tokens_drop_stop_words_clitics_and_reduplication() -> None:
    text = "Yth. Bapak, WiFi di ruangan kami tidak bisa konek. Emailnya komputer-komputer error!"
    assert tokens(text) == ["wifi", "ruangan", "konek", "email", "komputer", "error"]
    assert tokens("Please help, the VPN keeps dropping since Monday") == [
        "vpn",
        "keeps",
        "dropping",
        "monday",
    ]
    assert tokens("") == []


def doc(n: int, text: str, *, visible: bool = True, minutes: int = 0) -> Doc:
    return Doc(n, 100 + n, text, visible, T0 + timedelta(minutes=minutes))


PROBLEMS = [
    "wifi lantai dua mati access point merah",
    "printer sekretariat macet kertas tersangkut",
    "vpn putus terus dari rumah",
    "kamera cctv gerbang tidak merekam nvr penuh",
    "lupa kata sandi email dinas webmail",
]


def test_index_ranks_hides_and_edits() -> None:
    index = SimilarityIndex()
    assert index.search("wifi", 3) == []
    assert index.apply([doc(n, text) for n, text in enumerate(PROBLEMS)]) == 5
    best = index.search("access point wifi mati", 3)
    assert best[0].solution_id == 0 and best[0].ticket_id == 100 and best[0].score > 0.3
    assert all(a.score >= b.score for a, b in pairwise(best))
    assert index.search("zzzz qqqq", 3) == []
    # The same rows again change nothing; a hidden one disappears; an edit is searched anew.
    assert index.apply([doc(n, text) for n, text in enumerate(PROBLEMS)]) == 0
    assert index.apply([doc(0, PROBLEMS[0], visible=False, minutes=1)]) == 1
    assert all(f.solution_id != 0 for f in index.search("access point wifi mati", 3))
    assert index.apply([doc(2, "printer lantai dua wifi", minutes=2)]) == 1
    assert index.search("vpn putus rumah", 3) == []
    assert index.search("printer lantai", 1)[0].solution_id in (1, 2)
    assert len(index) == 4


def test_index_appends_without_refit_then_refits() -> None:
    index = SimilarityIndex()
    base = [doc(n, f"{PROBLEMS[n % 5]} unit{n}") for n in range(200)]
    index.apply(base)
    index.apply([doc(500, "kamera cctv gerbang nvr penuh rekaman", minutes=1)])
    assert 500 in {f.solution_id for f in index.search("cctv nvr rekaman", 5)}
    # New words count only after a refit (a quarter more rows): then they are found.
    index.apply([doc(600, "proyektor aula rusak", minutes=2)])
    assert index.search("proyektor", 3) == []
    index.apply([doc(700 + n, f"proyektor aula rusak {n}", minutes=3) for n in range(60)])
    assert index.search("proyektor aula", 3)[0].score > 0.5


class FakeLookup:
    """The two questions the learned stages ask, answered from fixed values."""

    def __init__(self, guess: tuple[str, float] | None, similar: tuple[Similar, ...] = ()) -> None:
        self.guess = guess
        self.similar = similar
        self.settings = LearnSettings()
        self.asked = 0

    def learn_settings(self) -> LearnSettings:
        return self.settings

    def predict_category(self, text: str) -> tuple[str, float] | None:
        self.asked += 1
        return self.guess

    def similar_solved(self, text: str, limit: int) -> tuple[Similar, ...]:
        return self.similar[:limit]

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the stage asked {name}")


def message() -> Message:
    return Message(1, "email", "a@b.example", "", (), "kamera gelap", "kamera gelap", "", "")


def missed() -> Context:
    ctx = Context(message=message())
    return ctx.decide("classify", "miss", "no rule set a category", category="others")


@pytest.mark.parametrize(
    ("guess", "category", "outcome"),
    [
        (("cctv", 0.91), "cctv", "hit"),
        (("cctv", 0.41), "others", "low"),
        (("others", 0.99), "others", "low"),
        (None, "others", "none"),
    ],
)
def test_learned_stage_decides_only_after_a_rule_miss(
    guess: tuple[str, float] | None, category: str, outcome: str
) -> None:
    lookup = FakeLookup(guess)
    ctx = learned(missed(), lookup)  # type: ignore[arg-type]
    assert ctx.category == category
    assert (ctx.trace[-1].stage, ctx.trace[-1].outcome) == ("learned", outcome)
    hit = Context(message=message()).decide("classify", "hit", "cctv by rule", category="cctv")
    assert learned(hit, lookup) is hit  # type: ignore[arg-type]
    ref = TicketRef(1, "TKT-1", "open", 1, None)
    follow_up = replace(missed(), ticket=ref)
    assert learned(follow_up, lookup) is follow_up  # type: ignore[arg-type]
    assert lookup.asked == 1


def test_suggest_stage_keeps_what_passes_the_threshold() -> None:
    similar = (
        Similar(1, "TKT-A", 0.8, "restart"),
        Similar(2, "TKT-B", 0.5, "cable"),
        Similar(3, "TKT-C", 0.46, "adapter"),
        Similar(4, "TKT-D", 0.1, "other"),
    )
    lookup = FakeLookup(None, similar)
    ctx = suggest(Context(message=message()), lookup)  # type: ignore[arg-type]
    assert [s.number for s in ctx.suggestions] == ["TKT-A", "TKT-B", "TKT-C"]
    lookup.settings = replace(lookup.settings, suggest_threshold=0.9)
    ctx = suggest(Context(message=message()), lookup)  # type: ignore[arg-type]
    assert ctx.suggestions == () and ctx.trace[-1].outcome == "low"
    technician = replace(Context(message=message()), technician_id=3)
    assert suggest(technician, lookup) is technician  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reply", "rank"),
    [
        ("selesai 2", 2),
        ("Solved #3, thanks", 3),
        ("selesai, nomor 1 berhasil", 1),
        ("selesai", None),
        ("selesai terima kasih", None),
        ("selesai 7", None),
    ],
)
def test_which_suggestion_the_requester_named(reply: str, rank: int | None) -> None:
    from tiket.learn.solutions import _named
    from tiket.model.learn import Suggestion

    offered = [Suggestion(rank=n, solution_id=n, ticket_id=1, score=0.5) for n in (1, 2, 3)]
    chosen = _named(offered, reply)
    assert (chosen.rank if chosen else None) == rank


def test_evaluation_split_and_scores() -> None:
    examples = [Example(f"t{n}", "cctv" if n % 3 else "network") for n in range(30)]
    train, test = split(examples, 0.2, seed=1)
    assert len(train) + len(test) == 30 and {e.category for e in test} == {"cctv", "network"}
    result = score(
        ["cctv", "cctv", "network", "network"], ["cctv", "network", "network", "network"], 8
    )
    assert result.accuracy == 0.75
    assert result.precision == {"cctv": 1.0, "network": 2 / 3}
    assert result.recall == {"cctv": 0.5, "network": 1.0}
    assert result.confusion == [[1, 1], [0, 2]]
    text = render(result)
    assert "accuracy: 75.0%" in text and "confusion" in text
