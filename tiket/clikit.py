"""What the command modules share: the state of the root command, a desk, the operator."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from tiket.desk import Actor, Desk

if TYPE_CHECKING:
    from tiket.cli import State


def state() -> State:
    return click.get_current_context().find_root().obj  # type: ignore[no-any-return]


@contextmanager
def desk() -> Iterator[Desk]:
    with state().desk() as opened:
        yield opened


def operator() -> Actor:
    """Who acts at the CLI: the operating-system user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "admin"
    return Actor(f"{user} (cli)", "")


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))
