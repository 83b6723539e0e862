"""Schema migrations: upgrade any database to the head revision with Alembic."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from tiket.model.db import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # Alembic (with Mako, Pygments): ~7 MB, only to migrate

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(db: Database) -> None:
    from alembic import command

    config = alembic_config(db.url)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


def current_revisions(db: Database) -> set[str]:
    with db.engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return set()
        return set(connection.scalars(text(f"SELECT version_num FROM {VERSION_TABLE}")))


def head_revisions(db: Database | None = None) -> set[str]:
    """The revisions no other builds on, read from the migration files without Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        fields = _module_strings(path, ("revision", "down_revision"))
        revisions.update(fields.get("revision", ()))
        parents.update(fields.get("down_revision", ()))
    return revisions - parents


def _module_strings(path: Path, names: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Module-level `name = "x"` or `name = ("x", "y")` assignments (None gives no strings)."""
    found: dict[str, tuple[str, ...]] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            targets: list[ast.expr] = [node.target]
            value = node.value
        elif isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in names:
                literal = ast.literal_eval(value)
                items = literal if isinstance(literal, tuple | list) else (literal,)
                found[target.id] = tuple(str(item) for item in items if item is not None)
    return found


def is_current(db: Database) -> bool:
    return current_revisions(db) == head_revisions(db)
