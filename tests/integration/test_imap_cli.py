"""`tiket mailboxes test` against a real Dovecot, and `tiket status` reading what watchers wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.conftest import free_port
from tests.integration.dovecot import Dovecot, dovecot_fixture  # noqa: F401 - the fixture
from tests.support import make_mail
from tiket.cli import main
from tiket.inbound.imap_state import MailboxStates
from tiket.inbound.store import Arrival, InboundStore, mail_key
from tiket.model.db import Database

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def config(path: Path, db_url: str, server: Dovecot, *, port: int = 0, **keys: str) -> Path:
    imap = {
        "name": "helpdesk",
        "host": "127.0.0.1",
        "port": port or server.imap_port,
        "tls": "none",
        "user": server.user,
        "password": server.users[server.user],
        **keys,
    }
    body = "\n".join(f"{key} = {json.dumps(value)}" for key, value in imap.items())
    file = path / "tiket.toml"
    file.write_text(
        f'[paths]\nvar = "{path / "var"}"\n[database]\nurl = "{db_url}"\n\n[[imap]]\n{body}\n'
    )
    return file


def tiket(file: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(file), *args])


@SQLITE_ONLY
def test_mailboxes_test_lists_folders_and_waiting_mail(
    dovecot: Dovecot,
    tmp_path: Path,
    db_url: str,
) -> None:
    dovecot.deliver([make_mail(), make_mail(), make_mail()])
    result = tiket(config(tmp_path, db_url, dovecot), "mailboxes", "test", "helpdesk")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"logged in to 127.0.0.1:{dovecot.imap_port} as support (tls none)" in out
    assert "IDLE: new mail is seen at once; MOVE: taken mail goes to tiket.processed" in out
    assert "folders: INBOX" in out
    assert "waiting in INBOX: 3 messages" in out
    assert "processed folder tiket.processed: will be created on the first run" in out
    assert dovecot.count("INBOX") == 3, "a test changes nothing"

    result = tiket(config(tmp_path, db_url, dovecot), "mailboxes", "test", "helpdesk", "--json")
    data = json.loads(result.stdout)
    assert data["waiting"] == 3 and data["idle"] and data["move"]


@SQLITE_ONLY
@pytest.mark.parametrize(
    ("keys", "port", "expected"),
    [
        ({"password": "wrong"}, 0, "refused the login of 'support'"),
        ({"folder": "Helpdesk"}, 0, "the folder 'Helpdesk' ('Helpdesk' on the server) does not"),
        ({}, -1, "refused the connection: is the IMAP server running, and the port right?"),
        ({"tls": "ssl"}, 0, "TLS with 127.0.0.1"),
        ({"password": "", "password_file": "/nonexistent/pw"}, 0, "cannot read password_file"),
        (
            {"password": "", "oauth2_token_command": "echo no token >&2; exit 3"},
            0,
            "oauth2_token_command exited with status 3: no token",
        ),
    ],
    ids=["password", "folder", "port", "tls", "password-file", "token-command"],
)
def test_mailboxes_test_says_what_is_wrong(
    dovecot: Dovecot,
    tmp_path: Path,
    db_url: str,
    keys: dict[str, str],
    port: int,
    expected: str,
) -> None:
    file = config(tmp_path, db_url, dovecot, port=free_port() if port < 0 else 0, **keys)
    result = tiket(file, "mailboxes", "test", "helpdesk")
    assert result.exit_code == 1
    assert result.stderr.startswith("tiket: mailbox helpdesk: ")
    assert expected in result.stderr


@SQLITE_ONLY
def test_mailboxes_test_names_the_configured_mailboxes(
    dovecot: Dovecot,
    tmp_path: Path,
    db_url: str,
) -> None:
    result = tiket(config(tmp_path, db_url, dovecot), "mailboxes", "test", "sales")
    assert result.exit_code == 2
    assert "no [[imap]] mailbox named 'sales' in the configuration (there: helpdesk)" in (
        result.stderr
    )


def test_status_shows_database_queues_and_mailboxes(
    dovecot: Dovecot,
    tmp_path: Path,
    db_url: str,
    db: Database,
) -> None:
    file = config(tmp_path, db_url, dovecot)
    result = tiket(file, "status")
    assert result.exit_code == 1, "a mailbox no daemon has started is not healthy"
    assert "database  ok" in result.stdout and "schema current" in result.stdout
    assert "mailbox   helpdesk  never started (is `tiket serve` running?)" in result.stdout

    states = MailboxStates(db, "helpdesk")
    states.register()
    states.connected(mode="idle", uidvalidity=7)
    states.succeeded()
    InboundStore(db).accept_many(
        [
            Arrival(raw=raw, channel="email", idempotency_key=mail_key(raw), source=source)
            for raw, source in [(make_mail(), "imap:helpdesk") for _ in range(5)]
            + [(make_mail(), "smtp"), (make_mail(), "imap:other")]
        ]
    )
    result = tiket(file, "status")
    assert result.exit_code == 0, result.output
    assert "mailbox   helpdesk  connected (idle)" in result.stdout
    assert "taken today 5" in result.stdout

    states.failed("127.0.0.1:143 refused the login of 'support'")
    result = tiket(file, "status", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    (mailbox,) = data["mailboxes"]
    assert mailbox["connected"] is False and mailbox["taken_today"] == 5
    assert "refused the login" in mailbox["last_error"]
    assert data["database"]["reachable"] and not data["healthy"]


def test_status_says_when_the_database_is_unreachable(tmp_path: Path) -> None:
    file = tmp_path / "tiket.toml"
    file.write_text(
        f'[paths]\nvar = "{tmp_path}"\n[database]\n'
        f'url = "postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"\n'
    )
    result = tiket(file, "status")
    assert result.exit_code == 75
    assert "database  UNREACHABLE" in result.stdout
