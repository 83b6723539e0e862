"""Learning benchmark: classifier vs keyword rules, similar-ticket hit rate, latency at scale.

    .venv/bin/python bench/learn.py                       # 2,500 tickets, 100,000 for latency
    .venv/bin/python bench/learn.py --tickets 4000 --scale 20000 --backend postgres
    .venv/bin/python bench/learn.py --scale 0 --history-db sqlite:////tmp/h.db  # then:
    TIKET_DATABASE_URL=sqlite:////tmp/h.db .venv/bin/tiket learn evaluate

The corpus (bench/learn_corpus.py) spreads tickets evenly over 40 problems in the nine
categories, in Indonesian (60 %) and English, with paraphrases, slang and typos. 80 % is the
history (training data and solved tickets), 20 % is held out. Keyword rules are the seeded rule
book, run by the real rule engine; "with fallback" is what the pipeline does (rules first, the
classifier only on a miss, "others" below the threshold). The latency part fills a database with
`--scale` solved tickets and times the two pipeline questions per message, as the daemon asks
them (index refresh query + search + row check; newest-model query + prediction).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from learn_corpus import Generated, corpus, is_last_phrasing
from sqlalchemy import insert, select

from tiket.config import Settings, load
from tiket.learn import classifier, suggestions
from tiket.learn.index import Doc, SimilarityIndex
from tiket.learn.text import tokens
from tiket.model import Category, Entry, Requester, Ticket, utcnow
from tiket.model.db import Database
from tiket.model.learn import Solution
from tiket.model.migrate import upgrade
from tiket.model.seed import FALLBACK_CATEGORY, seed
from tiket.rules import book
from tiket.rules.matching import Facts
from tiket.rules.ruleset import RuleSpec, evaluate_rules


def split_unseen(tickets: list[Generated]) -> tuple[list[Generated], list[Generated]]:
    """Hold out each problem's last phrasing in each language: test wording never trained on."""
    return [g for g in tickets if not is_last_phrasing(g)], [
        g for g in tickets if is_last_phrasing(g)
    ]


def split(tickets: list[Generated], seed: int) -> tuple[list[Generated], list[Generated]]:
    shuffled = tickets[:]
    random.Random(seed).shuffle(shuffled)
    cut = int(len(shuffled) * 0.8)
    return shuffled[:cut], shuffled[cut:]


def keyword_category(rules: Sequence[RuleSpec], item: Generated) -> str | None:
    facts = Facts(subject=item.subject.lower(), body=item.body.lower(), channel="email")
    value = evaluate_rules(rules, facts).values.get("category")
    return str(value) if value is not None else None


def accuracy(pairs: Sequence[tuple[str, str]]) -> float:
    return sum(1 for want, got in pairs if want == got) / len(pairs)


def classification(
    rules: Sequence[RuleSpec], history: list[Generated], held: list[Generated], threshold: float
) -> None:
    started = time.perf_counter()
    # As `tiket learn train` does: "others" tickets are not evidence of any category.
    examples = [
        classifier.Example(g.text, g.category) for g in history if g.category != FALLBACK_CATEGORY
    ]
    model = classifier.train(examples)
    trained = time.perf_counter() - started
    keywords, alone, combined, fallback_used = [], [], [], 0
    for item in held:
        by_rule = keyword_category(rules, item)
        guess = classifier.predict(model, item.text)
        keywords.append((item.category, by_rule or FALLBACK_CATEGORY))
        confident = guess.category if guess.confidence >= threshold else FALLBACK_CATEGORY
        alone.append((item.category, confident))
        if by_rule is None:
            fallback_used += 1
            final = guess.category if guess.confidence >= threshold else FALLBACK_CATEGORY
        else:
            final = by_rule
        combined.append((item.category, final))
    missed = sum(1 for _, got in keywords if got == FALLBACK_CATEGORY)
    print(
        f"classifier: trained on {len(examples)} tickets (not 'others') in {trained:.1f} s; "
        f"{len(held)} held out"
    )
    print(
        f"  keyword rules alone          : {accuracy(keywords):6.1%}  (no rule matched: {missed})"
    )
    print(f"  classifier alone (threshold) : {accuracy(alone):6.1%}")
    print(
        f"  rules + classifier fallback  : {accuracy(combined):6.1%}  "
        f"(fallback asked {fallback_used} times, threshold {threshold})"
    )
    wrong = Counter((w, g) for w, g in keywords if w != g and g != FALLBACK_CATEGORY)
    if wrong:
        print("  keyword rules' wrong categories (want → got):", dict(wrong.most_common(5)))


def similarity(
    history: list[Generated],
    held: list[Generated],
    threshold: float,
    name: str,
    make: Callable[[], SimilarityIndex],
) -> None:
    index = make()
    docs = [Doc(i, i, f"{g.text}\n{g.solution}", True, utcnow()) for i, g in enumerate(history)]
    index.apply(docs)
    hits1 = hits3 = shown = shown_right = 0
    for item in held:
        found = index.search(item.text, 3)
        keys = [history[f.solution_id].problem for f in found]
        hits1 += bool(keys[:1]) and keys[0] == item.problem
        hits3 += item.problem in keys
        above = [f for f in found if f.score >= threshold]
        if above:
            shown += 1
            shown_right += any(history[f.solution_id].problem == item.problem for f in above)
    n = len(held)
    if name.startswith("tiket"):
        sweep = []
        for cut in (0.25, 0.35, 0.45, 0.55):
            shown_at = right_at = 0
            for item in held:
                above = [f for f in index.search(item.text, 3) if f.score >= cut]
                shown_at += bool(above)
                right_at += any(history[f.solution_id].problem == item.problem for f in above)
            sweep.append(f"{cut}: shown {shown_at / n:.0%} right {right_at / max(1, shown_at):.0%}")
        print("  threshold sweep            : " + "; ".join(sweep))
    print(
        f"  {name:<28}: top-3 {hits3 / n:6.1%}  top-1 {hits1 / n:6.1%}  "
        f"shown (score ≥ {threshold}) {shown / n:6.1%}, "
        f"of which right {shown_right / max(1, shown):6.1%}"
    )


class _Bound(SimilarityIndex):
    """An index whose fit uses sklearn's default analyser (for the comparison only)."""

    def __init__(self, *_: object) -> None:
        super().__init__()

    def _refit(self, docs: list[Doc]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        import tiket.learn.index as module

        original = module.make_vectorizer
        module.make_vectorizer = lambda: TfidfVectorizer(sublinear_tf=True)  # type: ignore[assignment]
        try:
            super()._refit(docs)
        finally:
            module.make_vectorizer = original


def fill(db: Database, scale: int, seed_value: int) -> None:
    """`scale` solved tickets with solutions, written in batches, dated in the past."""
    rng = random.Random(seed_value)
    generated = corpus(min(scale, 20_000), seed=seed_value + 1)
    past = utcnow() - timedelta(days=30)
    with db.session() as session:
        categories = dict(session.execute(select(Category.slug, Category.id)).all())
        requester = Requester(email="bench@dinas.example", name="Bench", created_at=past)
        session.add(requester)
        session.flush()
        requester_id = requester.id
    batch = 5000
    for start in range(0, scale, batch):
        with db.session() as session:
            rows = []
            for n in range(start, min(scale, start + batch)):
                g = generated[rng.randrange(len(generated))]
                rows.append(
                    {
                        "number": f"B{n:09d}",
                        "subject": g.subject,
                        "status": "closed",
                        "language": g.language,
                        "category_id": categories[g.category],
                        "requester_id": requester_id,
                        "created_at": past,
                        "updated_at": past,
                        "resolved_at": past,
                        "closed_at": past,
                    }
                )
            session.execute(insert(Ticket), rows)
            ids = session.execute(
                select(Ticket.id, Ticket.subject).where(
                    Ticket.number.between(f"B{start:09d}", f"B{start + batch - 1:09d}")
                )
            ).all()
            session.execute(
                insert(Solution),
                [
                    {
                        "ticket_id": tid,
                        "problem": f"{subject}\n{generated[(tid * 7919) % len(generated)].body}",
                        "body": generated[(tid * 7919) % len(generated)].solution,
                        "source": "reply",
                        "hidden": False,
                        "author": "tech@dinas.example",
                        "created_at": past,
                        "updated_at": past,
                    }
                    for tid, subject in ids
                ],
            )


def write_history(url: str, tickets: list[Generated]) -> None:
    """The corpus as categorised tickets with their first message, for `tiket learn …`."""
    db = Database(url)
    upgrade(db)
    past = utcnow() - timedelta(days=60)
    with db.session() as session:
        seed(session, team_mailbox="bench@dinas.example")
        categories = dict(session.execute(select(Category.slug, Category.id)).all())
        requester = Requester(email="bench@dinas.example", name="Bench", created_at=past)
        session.add(requester)
        session.flush()
        for n, g in enumerate(tickets):
            ticket = Ticket(
                number=f"H{n:09d}",
                subject=g.subject,
                status="closed",
                language=g.language,
                category_id=categories[g.category],
                requester_id=requester.id,
                created_at=past,
                updated_at=past,
            )
            session.add(ticket)
            session.flush()
            session.add(
                Entry(
                    ticket_id=ticket.id,
                    kind="message",
                    channel="email",
                    direction="in",
                    body=g.body,
                    created_at=past,
                )
            )
    db.dispose()
    print(f"wrote {len(tickets)} categorised tickets to {url}")


def latency(
    settings: Settings, held: list[Generated], history: list[Generated], scale: int
) -> None:
    db = Database(settings.database_url)
    upgrade(db)
    with db.session() as session:
        seed(session, team_mailbox="bench@dinas.example")
    started = time.perf_counter()
    fill(db, scale, 11)
    print(f"latency: filled {scale} solved tickets in {time.perf_counter() - started:.0f} s")
    model = classifier.train([classifier.Example(g.text, g.category) for g in history])
    with db.session() as session:
        classifier.store(session, model, {"bench": True})
    with db.session() as session:
        started = time.perf_counter()
        suggestions.similar_solved(session, settings, "warm up", 3)
        suggestions.predict_category(session, settings, "warm up")
        print(f"  first look (index fit + model load): {time.perf_counter() - started:.1f} s")
    suggest_ms, classify_ms = [], []
    texts = [g.text for g in held] * max(1, 1000 // max(1, len(held)))
    with db.session() as session:
        for text in texts[:1000]:
            t0 = time.perf_counter()
            suggestions.similar_solved(session, settings, text, 9)
            t1 = time.perf_counter()
            suggestions.predict_category(session, settings, text)
            t2 = time.perf_counter()
            suggest_ms.append((t1 - t0) * 1000)
            classify_ms.append((t2 - t1) * 1000)
    total = [a + b for a, b in zip(suggest_ms, classify_ms, strict=True)]
    for name, values in (("suggest", suggest_ms), ("classify", classify_ms), ("both", total)):
        ordered = sorted(values)
        print(
            f"  {name:<9} per message: median {statistics.median(values):5.2f} ms  "
            f"p95 {ordered[int(len(ordered) * 0.95)]:5.2f} ms  "
            f"mean {statistics.fmean(values):5.2f} ms"
        )
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=2500)
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--history-db", help="also write the corpus as tickets here (for `tiket learn evaluate`)"
    )
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    base = load(env={})
    learn = base.learn
    tickets = corpus(args.tickets, seed=args.seed)
    print(f"corpus: {len(tickets)} tickets, {Counter(g.category for g in tickets)}")
    if args.history_db:
        write_history(args.history_db, tickets)
    with tempfile.TemporaryDirectory() as tmp:
        rules_db = Database(f"sqlite:///{tmp}/rules.db")
        upgrade(rules_db)
        with rules_db.session() as session:
            seed(session, team_mailbox="bench@dinas.example")
            rules = book.specs(session)
        rules_db.dispose()
        for title, (history, held) in (
            (
                "random 80/20 split (held-out tickets reuse trained phrasings)",
                split(tickets, args.seed),
            ),
            ("unseen phrasings (each problem's last wording held out)", split_unseen(tickets)),
        ):
            print(f"== {title}")
            classification(rules, history, held, learn.classify_threshold)
            print("similar solved tickets (right = same problem), on the held-out tickets:")
            similarity(
                history,
                held,
                learn.suggest_threshold,
                "tiket tokens (id+en stops)",
                SimilarityIndex,
            )
            similarity(history, held, learn.suggest_threshold, "sklearn default analyser", _Bound)
        if args.scale:
            if args.backend == "sqlite":
                url = f"sqlite:///{tmp}/scale.db"
            else:
                url = _fresh_postgres(args.postgres_url)
            settings = replace(base, database=replace(base.database, url=url))
            try:
                latency(settings, held, history, args.scale)
            finally:
                if args.backend == "postgres":
                    _drop_postgres(args.postgres_url, url)
    print("tokens example:", tokens(held[0].text))


def _fresh_postgres(admin_url: str) -> str:
    from sqlalchemy import create_engine, make_url, text

    name = f"tiket_bench_learn_{random.randrange(1 << 30)}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_postgres(admin_url: str, url: str) -> None:
    from sqlalchemy import create_engine, make_url, text

    name = make_url(url).database
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


if __name__ == "__main__":
    main()
