"""Scores the shared corpus once per session and prints the accuracy table in the summary."""

from __future__ import annotations

import pytest

from tests.corpus import Score, corpus_root, run

_SCORE: list[Score] = []


@pytest.fixture(scope="session")
def corpus_score() -> Score:
    root = corpus_root()
    if root is None:
        pytest.skip("shared corpus not found: set TIKET_SHARED or provide ../shared/corpus")
    if not _SCORE:
        _SCORE.append(run(root))
    return _SCORE[0]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _SCORE:
        terminalreporter.write_sep("=", "corpus accuracy per field")
        terminalreporter.write_line(_SCORE[0].table())
