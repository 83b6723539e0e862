"""What the messages of one processing batch may share: answers about configuration."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

T = TypeVar("T")


class Memo:
    """Rules, technicians, teams and categories, looked up once for a batch (one session).

    They change only through the CLI, in other transactions, so a batch may keep what it read.
    """

    def __init__(self) -> None:
        self._values: dict[Hashable, Any] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The remembered value for `key`, computed on first use (an exception remembers none)."""
        if key not in self._values:
            self._values[key] = compute()
        return cast(T, self._values[key])
