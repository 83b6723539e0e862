"""The similar-solved-tickets index: TF-IDF over solved problems, kept current in the daemon.

A document is the problem (subject and first message) with its solution: the solution's words
("access point", "MTU", "printer driver") often are the words the next requester uses. Word
unigrams of tiket's tokeniser: bigrams and character n-grams were measured (bench/learn.py) and
bought less hit rate than they cost in index size and search time.

Every daemon holds its own index in memory. Before each search it reads the solutions changed
since its last look (a small indexed query), so a solution recorded, edited or hidden by any
process counts from the next message on, without a restart. New problems are vectorised with
the vocabulary of the last fit and kept in a small side matrix; the whole index is refitted
when the added rows reach a quarter of the fitted ones (new words count from then on).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tiket.learn.text import tokens
from tiket.model import Status, Ticket, utcnow
from tiket.model.learn import Solution

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer

log = logging.getLogger(__name__)

# A row committed by another daemon can carry an `updated_at` a little older than our last look
# (its transaction started first, or its clock is behind): each look reads this far back before
# the previous one, and skips rows already held as they are.
LOOKBACK = timedelta(minutes=2)
REFIT_SHARE = 0.25
MERGE_RECENT = 500
# Between messages an index reads the changes at most this often, unless this process changed a
# solution itself: another daemon's change counts within this many seconds.
REFRESH_SECONDS = 1.0
SOLVED = (Status.RESOLVED, Status.CLOSED)


@dataclass(frozen=True)
class Doc:
    solution_id: int
    ticket_id: int
    text: str
    visible: bool
    updated_at: datetime
    number: str = ""  # the solved ticket's number and its solution, to show without a query
    solution: str = ""


@dataclass(frozen=True)
class Found:
    solution_id: int
    ticket_id: int
    score: float
    number: str = ""
    solution: str = ""


def make_vectorizer() -> TfidfVectorizer:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        tokenizer=tokens,
        lowercase=False,
        token_pattern=None,
        sublinear_tf=True,
        dtype=_float32(),
    )


def _float32() -> Any:
    import numpy as np

    return np.float32


class SimilarityIndex:
    """Solved problems as TF-IDF rows; search returns the most similar visible ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._vectorizer: TfidfVectorizer | None = None
        self._main_t: csr_matrix | None = None  # terms × rows: the postings a query reads
        self._main = 0  # rows in _main_t; the rest are in _recent
        self._fit_size = 0  # rows the vocabulary was fitted on
        self._recent: list[csr_matrix] = []  # rows added since the fit, one per document
        self._recent_t: csr_matrix | None = None
        self._rows: list[Doc] = []  # row number → document (fitted rows first, then recent)
        self._alive: list[bool] = []
        self._alive_cache: Any = None  # the same as a numpy array, rebuilt after a change
        self._row_of: dict[int, int] = {}  # solution id → its current row
        self._looked_at: datetime | None = None  # our clock when we last read the changes
        self._next_look = 0.0  # monotonic time after which refresh_due reads again
        self._generation = -1  # this process's changes (note_change) already read

    def __len__(self) -> int:
        return len(self._row_of)

    def refresh_due(self, session: Session) -> int:
        """Refresh when this process changed a solution, or when REFRESH_SECONDS passed."""
        now = time.monotonic()
        generation = _GENERATION[0]
        if now < self._next_look and generation == self._generation:
            return 0
        changed = self.refresh(session)
        self._next_look, self._generation = now + REFRESH_SECONDS, generation
        return changed

    def refresh(self, session: Session) -> int:
        """Read the solutions changed since the last look; returns how many changed here."""
        query = (
            select(
                Solution.id,
                Solution.ticket_id,
                Solution.problem,
                Solution.body,
                Solution.updated_at,
                Ticket.number,
                (~Solution.hidden & Ticket.status.in_(SOLVED) & (Solution.body != "")).label(
                    "visible"
                ),
            )
            .join(Ticket, Ticket.id == Solution.ticket_id)
            .order_by(Solution.updated_at, Solution.id)
        )
        started = utcnow()
        with self._lock:
            since = self._looked_at
        if since is not None:
            query = query.where(Solution.updated_at > since - LOOKBACK)
        docs = [
            Doc(
                row.id,
                row.ticket_id,
                f"{row.problem}\n{row.body}",
                bool(row.visible),
                row.updated_at,
                row.number,
                row.body,
            )
            for row in session.execute(query)
        ]
        changed = self.apply(docs)
        with self._lock:
            self._looked_at = started
        return changed

    def apply(self, docs: Sequence[Doc]) -> int:
        with self._lock:
            changed = [d for d in docs if self._is_new(d)]
            if not changed:
                return 0
            for doc in changed:
                self._forget(doc.solution_id)
            fresh = [d for d in changed if d.visible]
            if self._vectorizer is None or len(self._rows) - self._fit_size + len(fresh) > max(
                50, REFIT_SHARE * self._fit_size
            ):
                self._refit([*(d for d in self._visible_docs()), *fresh])
            else:
                self._append(fresh)
            log.debug("action=index_refresh changed=%d size=%d", len(changed), len(self._row_of))
            return len(changed)

    def search(self, text: str, limit: int) -> list[Found]:
        """The `limit` most similar visible problems, best first, with their cosine score."""
        with self._lock:
            if self._vectorizer is None or not self._row_of or limit < 1:
                return []  # before importing numpy: ~12 MB that an empty index never needs
            import numpy as np

            query = self._vectorizer.transform([text])
            if query.nnz == 0:
                return []
            # Only the rows that share a term with the query come back from the product: rank
            # those (a few thousand at most), never a dense vector over the whole index.
            rows, scores = [], []
            if self._main_t is not None and self._main:
                hits = (query @ self._main_t).tocsr()
                rows.append(hits.indices)
                scores.append(hits.data)
            if self._recent_t is not None:
                hits = (query @ self._recent_t).tocsr()
                rows.append(hits.indices + self._main)
                scores.append(hits.data)
            if not rows:
                return []
            row = np.concatenate(rows)
            score = np.concatenate(scores)
            keep = self._alive_array()[row] & (score > 0)
            row, score = row[keep], score[keep]
            if not len(row):
                return []
            limit = min(limit, len(row))
            top = np.argpartition(-score, limit - 1)[:limit]
            ordered = top[np.argsort(-score[top], kind="stable")]
            return [
                Found(doc.solution_id, doc.ticket_id, float(s), doc.number, doc.solution)
                for doc, s in zip(
                    (self._rows[r] for r in row[ordered]), score[ordered], strict=True
                )
            ]

    def _alive_array(self) -> Any:
        import numpy as np

        if self._alive_cache is None:
            self._alive_cache = np.fromiter(self._alive, dtype=bool, count=len(self._alive))
        return self._alive_cache

    def forget(self, solution_ids: Sequence[int]) -> None:
        """Drop solutions whose rows are gone or no longer suggestible (found at search time)."""
        if not solution_ids:
            return
        with self._lock:
            for solution_id in solution_ids:
                self._forget(solution_id)

    # -- inside the lock ------------------------------------------------------------------

    def _is_new(self, doc: Doc) -> bool:
        row = self._row_of.get(doc.solution_id)
        if row is None:
            return doc.visible
        known = self._rows[row]
        return known != doc

    def _forget(self, solution_id: int) -> None:
        row = self._row_of.pop(solution_id, None)
        if row is not None:
            self._alive[row] = False
            self._alive_cache = None

    def _visible_docs(self) -> Iterable[Doc]:
        return (self._rows[row] for row in self._row_of.values())

    def _refit(self, docs: list[Doc]) -> None:
        self._vectorizer = make_vectorizer()
        self._rows, self._alive, self._row_of = [], [], {}
        self._alive_cache = None
        self._recent, self._recent_t = [], None
        if not docs:
            self._vectorizer = None
            self._main_t, self._main, self._fit_size = None, 0, 0
            return
        matrix = self._vectorizer.fit_transform([d.text for d in docs])
        self._main_t = matrix.T.tocsr()
        self._main = self._fit_size = len(docs)
        for doc in docs:
            self._add_row(doc)

    def _append(self, docs: list[Doc]) -> None:
        from scipy.sparse import hstack, vstack

        if not docs or self._vectorizer is None:
            return
        matrix = self._vectorizer.transform([d.text for d in docs])
        self._recent.extend(matrix[i] for i in range(matrix.shape[0]))
        self._recent_t = vstack(self._recent).T.tocsr()
        for doc in docs:
            self._add_row(doc)
        if len(self._recent) >= MERGE_RECENT and self._main_t is not None:
            # Keep the side matrix small: rebuilding it is what each append costs.
            self._main_t = hstack([self._main_t, self._recent_t]).tocsr()
            self._main += len(self._recent)
            self._recent, self._recent_t = [], None

    def _add_row(self, doc: Doc) -> None:
        self._row_of[doc.solution_id] = len(self._rows)
        self._rows.append(doc)
        self._alive.append(True)
        self._alive_cache = None


_GENERATION = [0]  # solutions changed by this process: a search after one reads at once


def note_change() -> None:
    """A solution was written here: the next search of every index reads the changes."""
    _GENERATION[0] += 1


_INDEXES: dict[str, SimilarityIndex] = {}
_INDEXES_LOCK = threading.Lock()


def index_for(database_url: str) -> SimilarityIndex:
    """The process's index of one database (the daemon's processing threads share it)."""
    with _INDEXES_LOCK:
        found = _INDEXES.get(database_url)
        if found is None:
            found = _INDEXES[database_url] = SimilarityIndex()
        return found
