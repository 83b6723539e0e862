"""The category classifier: logistic regression over word and character n-grams of history.

Character n-grams (within words) carry typos ("jaringn", "pasword") to the right category;
word n-grams carry the phrases. The model is stored in the database (`learned_models`), so every
daemon uses the newest one: each looks for a newer model id before classifying.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tiket.learn.text import normalise, tokens
from tiket.model import Category, Entry, EntryKind, Ticket, utcnow
from tiket.model.learn import ClassifiedTicket, LearnedModel
from tiket.model.seed import FALLBACK_CATEGORY

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)

KIND = "classifier"
# How often a daemon asks for a newer model (at once after this process stored one).
LOOK_SECONDS = 1.0
_STORED = [0]


@dataclass(frozen=True)
class Example:
    text: str
    category: str


@dataclass(frozen=True)
class Prediction:
    category: str
    confidence: float


def build() -> Pipeline:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    words = TfidfVectorizer(
        tokenizer=tokens, lowercase=False, token_pattern=None, ngram_range=(1, 2), sublinear_tf=True
    )
    chars = TfidfVectorizer(
        preprocessor=normalise, analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2
    )
    return Pipeline(
        [
            ("features", FeatureUnion([("words", words), ("chars", chars)])),
            ("model", LogisticRegression(C=10.0, max_iter=2000)),
        ]
    )


def train(examples: Sequence[Example]) -> Pipeline:
    labels = {e.category for e in examples}
    if len(labels) < 2:
        raise ValueError("training needs tickets of at least two categories")
    model = build()
    model.fit([e.text for e in examples], [e.category for e in examples])
    return model


def predict(model: Pipeline, text: str) -> Prediction:
    probabilities = model.predict_proba([text])[0]
    best = int(probabilities.argmax())
    return Prediction(str(model.classes_[best]), float(probabilities[best]))


def history(session: Session, *, limit: int = 200_000) -> list[Example]:
    """Tickets with a real category (not "others", not merged, not the model's own), as text."""
    first = (
        select(Entry.ticket_id, func.min(Entry.id).label("entry_id"))
        .where(Entry.kind == EntryKind.MESSAGE)
        .group_by(Entry.ticket_id)
        .subquery()
    )
    rows = session.execute(
        select(Ticket.subject, Entry.body, Category.slug)
        .join(Category, Category.id == Ticket.category_id)
        .join(first, first.c.ticket_id == Ticket.id)
        .join(Entry, Entry.id == first.c.entry_id)
        .outerjoin(ClassifiedTicket, ClassifiedTicket.ticket_id == Ticket.id)
        .where(Category.slug != FALLBACK_CATEGORY, Ticket.merged_into_id.is_(None))
        # The model's own guesses, still standing, would only teach it what it already thinks.
        .where(
            (ClassifiedTicket.ticket_id.is_(None)) | (ClassifiedTicket.category != Category.slug)
        )
        .order_by(Ticket.id.desc())
        .limit(limit)
    )
    return [Example(f"{row.subject}\n{row.body}"[:4000], row.slug) for row in rows]


def dumps(model: Pipeline) -> bytes:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


def loads(payload: bytes) -> Pipeline:
    import joblib

    # Our own table, written by `tiket learn train`: as trusted as the database itself.
    model: Pipeline = joblib.load(io.BytesIO(payload))
    return model


def store(session: Session, model: Pipeline, meta: dict[str, Any]) -> LearnedModel:
    row = LearnedModel(kind=KIND, payload=dumps(model), meta=meta, created_at=utcnow())
    session.add(row)
    session.flush()
    _STORED[0] += 1
    return row


class Current:
    """The newest stored classifier, loaded once per process and swapped when a newer appears."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._id: tuple[int, datetime] | None = None  # id and time: ids restart after a restore
        self._model: Pipeline | None = None
        self._next_look = 0.0
        self._generation = -1

    def predict(self, session: Session, text: str) -> Prediction | None:
        now = time.monotonic()
        with self._lock:
            fresh = now < self._next_look and self._generation == _STORED[0]
            model = self._model
        if fresh:
            return predict(model, text) if model is not None else None
        generation = _STORED[0]
        row = session.execute(
            select(LearnedModel.id, LearnedModel.created_at)
            .where(LearnedModel.kind == KIND)
            .order_by(LearnedModel.id.desc())
            .limit(1)
        ).first()
        newest = (row.id, row.created_at) if row is not None else None
        with self._lock:
            self._next_look, self._generation = now + LOOK_SECONDS, generation
            if newest is None:
                self._id, self._model = None, None
                return None
            if newest != self._id:
                payload = session.scalar(
                    select(LearnedModel.payload).where(LearnedModel.id == newest[0])
                )
                self._model = loads(payload) if payload is not None else None
                self._id = newest
                log.info("action=classifier_loaded model=%d", newest[0])
            model = self._model
        return predict(model, text) if model is not None else None


_CURRENT: dict[str, Current] = {}
_CURRENT_LOCK = threading.Lock()


def current_for(database_url: str) -> Current:
    with _CURRENT_LOCK:
        found = _CURRENT.get(database_url)
        if found is None:
            found = _CURRENT[database_url] = Current()
        return found
