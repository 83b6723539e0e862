"""Compacting after an erasure on SQLite and PostgreSQL, and what happens when it cannot run."""

from __future__ import annotations

import sqlite3

from click.testing import CliRunner
from sqlalchemy import create_engine, make_url, text

from tests.integration.test_privacy_erase import (
    ADDRESS,
    _mail_with_attachment,
    _process_and_deliver,
    _stored_traces,
    run,
)
from tests.integration.test_privacy_erase import cli as cli  # the fixture
from tiket.config import Settings
from tiket.model.db import Database


def _sqlite_path(settings: Settings) -> str:
    return str(make_url(settings.database_url).database)


def test_compact_after_erase(cli: CliRunner, settings: Settings) -> None:
    run(cli, "init")
    run(cli, "ingest", "-", input=_mail_with_attachment())
    db = Database(settings.database_url)
    try:
        _process_and_deliver(db, settings)
        said = run(cli, "people", "erase", ADDRESS, "--yes").output
        expected = "VACUUM) and WAL emptied" if db.is_sqlite else "compacted: VACUUM of 16 tables"
        assert expected in said
        assert _stored_traces(db) == []
        again = run(cli, "people", "compact").output
        assert again.startswith("compacted: ")
    finally:
        db.dispose()


def test_erase_while_another_connection_reads(cli: CliRunner, settings: Settings) -> None:
    """SQLite: a reader's open transaction pins the WAL; the data is erased all the same."""
    run(cli, "init")
    run(cli, "ingest", "-", input=_mail_with_attachment())
    db = Database(settings.database_url)
    try:
        _process_and_deliver(db, settings)
        if not db.is_sqlite:
            return  # PostgreSQL readers do not stop VACUUM (see the next test)
        reader = sqlite3.connect(_sqlite_path(settings), isolation_level=None)
        try:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM entries").fetchone()
            result = run(cli, "people", "erase", ADDRESS, "--yes", "--wait", "0.2")
        finally:
            reader.close()
        assert "erased: attachment 1," in result.output
        assert (
            "warning: the data is erased, but the database could not be compacted "
            "(the WAL is in use by another connection)" in result.stderr
        )
        assert "`tiket people compact`" in result.stderr
        assert _stored_traces(db) == []
        assert "WAL emptied" in run(cli, "people", "compact").output
    finally:
        db.dispose()


def test_compact_refused_while_another_connection_writes(
    cli: CliRunner, settings: Settings
) -> None:
    """A writer (SQLite) or a lock (PostgreSQL) held elsewhere: one clear line, exit 1."""
    run(cli, "init")
    db = Database(settings.database_url)
    try:
        if db.is_sqlite:
            holder = sqlite3.connect(_sqlite_path(settings), isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
            try:
                refused = run(cli, "people", "compact", "--wait", "0.2", code=1)
            finally:
                holder.close()
            assert "(SQLite refused VACUUM: database is locked)" in refused.stderr
        else:
            engine = create_engine(settings.database_url)
            try:
                with engine.connect() as holder:
                    holder.execute(text("LOCK TABLE job_sends IN ACCESS EXCLUSIVE MODE"))
                    refused = run(cli, "people", "compact", "--wait", "0.2", code=1)
                    holder.rollback()
            finally:
                engine.dispose()
            assert "(PostgreSQL refused VACUUM: canceling statement due to lock timeout" in (
                refused.stderr
            )
        assert len([ln for ln in refused.stderr.splitlines() if ln.startswith("warning:")]) == 1
        assert run(cli, "people", "compact").output.startswith("compacted: ")
    finally:
        db.dispose()
