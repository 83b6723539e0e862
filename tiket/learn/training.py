"""Training and evaluating the category classifier on the history (CLI and the weekly job)."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tiket.config import Settings
from tiket.errors import Conflict
from tiket.learn import classifier
from tiket.model import utcnow
from tiket.model.db import Database


@dataclass(frozen=True)
class Trained:
    model_id: int
    examples: int
    categories: dict[str, int]
    seconds: float

    def summary(self) -> str:
        return (
            f"model {self.model_id}: {self.examples} tickets, {len(self.categories)} categories, "
            f"{self.seconds:.1f} s"
        )


def retrain(db: Database, settings: Settings) -> Trained:
    """Train on the history and store the model: every daemon uses it from its next message."""
    with db.session() as session:
        examples = classifier.history(session)
    _check(examples, settings.learn.min_training_tickets)
    started = time.perf_counter()
    model = classifier.train(examples)
    seconds = time.perf_counter() - started
    counts = dict(Counter(e.category for e in examples))
    with db.session() as session:
        row = classifier.store(
            session,
            model,
            {"examples": len(examples), "categories": counts, "trained_at": utcnow().isoformat()},
        )
        model_id = row.id
    return Trained(model_id, len(examples), counts, seconds)


def _check(examples: Sequence[classifier.Example], minimum: int) -> None:
    if len(examples) < minimum:
        raise Conflict(
            f"only {len(examples)} categorised tickets in the history; training needs "
            f"{minimum} ([learn] min_training_tickets)"
        )
    if len({e.category for e in examples}) < 2:
        raise Conflict("the history has tickets of one category only: nothing to tell apart")


@dataclass(frozen=True)
class Evaluation:
    trained_on: int
    tested_on: int
    accuracy: float
    labels: list[str]
    precision: dict[str, float]
    recall: dict[str, float]
    support: dict[str, int]
    confusion: list[list[int]]  # rows: true category, columns: predicted, in `labels` order

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def evaluate(db: Database, settings: Settings, *, test_share: float, seed: int) -> Evaluation:
    """Train on part of the history, measure on the held-out rest (stratified by category)."""
    if not 0.05 <= test_share <= 0.5:
        raise Conflict("the held-out share must be between 0.05 and 0.5")
    with db.session() as session:
        examples = classifier.history(session)
    _check(examples, settings.learn.min_training_tickets)
    train, test = split(examples, test_share, seed)
    model = classifier.train(train)
    predicted = [classifier.predict(model, e.text).category for e in test]
    return score([e.category for e in test], predicted, len(train))


def split(
    examples: Sequence[classifier.Example], test_share: float, seed: int
) -> tuple[list[classifier.Example], list[classifier.Example]]:
    """Per category, a share held out (at least one when the category has two or more)."""
    rng = random.Random(seed)
    by_category: dict[str, list[classifier.Example]] = {}
    for example in examples:
        by_category.setdefault(example.category, []).append(example)
    train: list[classifier.Example] = []
    test: list[classifier.Example] = []
    for items in by_category.values():
        rng.shuffle(items)
        held = round(len(items) * test_share) if len(items) > 1 else 0
        held = max(held, 1) if len(items) > 1 else 0
        test += items[:held]
        train += items[held:]
    return train, test


def score(truth: list[str], predicted: list[str], trained_on: int) -> Evaluation:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = sorted(set(truth) | set(predicted))
    precision, recall, _, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    matrix = confusion_matrix(truth, predicted, labels=labels)
    right = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p)
    return Evaluation(
        trained_on=trained_on,
        tested_on=len(truth),
        accuracy=right / len(truth) if truth else 0.0,
        labels=labels,
        precision={label: float(v) for label, v in zip(labels, precision, strict=True)},
        recall={label: float(v) for label, v in zip(labels, recall, strict=True)},
        support={label: int(v) for label, v in zip(labels, support, strict=True)},
        confusion=[[int(v) for v in row] for row in matrix],
    )


def render(evaluation: Evaluation) -> str:
    lines = [
        f"trained on {evaluation.trained_on} tickets, tested on {evaluation.tested_on} held out",
        f"accuracy: {evaluation.accuracy:.1%}",
        "",
        f"{'category':<14}{'precision':>10}{'recall':>8}{'tickets':>9}",
    ]
    for label in evaluation.labels:
        lines.append(
            f"{label:<14}{evaluation.precision[label]:>10.1%}{evaluation.recall[label]:>8.1%}"
            f"{evaluation.support[label]:>9}"
        )
    width = max(5, *(len(label[:8]) + 1 for label in evaluation.labels))
    lines += ["", "confusion (rows: true, columns: predicted)"]
    lines.append(" " * 14 + "".join(f"{label[:8]:>{width}}" for label in evaluation.labels))
    for label, row in zip(evaluation.labels, evaluation.confusion, strict=True):
        lines.append(f"{label:<14}" + "".join(f"{v:>{width}}" for v in row))
    return "\n".join(lines)
