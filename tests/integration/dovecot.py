"""A private Dovecot for the IMAP tests: a standalone config in a temp dir, on free loopback ports.

Use the `dovecot` fixture (imported by the tests that need it), or `Dovecot(...)` directly for
a server with other settings (no IDLE, no MOVE, a quota). Mail arrives over LMTP (`deliver`) or,
for big batches, as Maildir files written directly (`drop`), which is 20 times faster.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.conftest import free_port, need
from tests.support import make_mail
from tiket.config import ImapSettings

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
MAIL_USER = "vmail"
START_SECONDS = 10.0


def _mail_owner() -> tuple[str, int, int]:
    """The account that owns the mail files: vmail when we are root (created if missing)."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return entry.pw_name, entry.pw_uid, entry.pw_gid
    try:
        entry = pwd.getpwnam(MAIL_USER)
    except KeyError:
        subprocess.run(
            [
                *("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent"),
                *("--shell", "/usr/sbin/nologin", MAIL_USER),
            ],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(MAIL_USER)
    return entry.pw_name, entry.pw_uid, entry.pw_gid


def _private_root() -> Path:
    # Not pytest's tmp_path: its parents are 0700, and Dovecot's auth and mail processes run
    # as other users who must reach the passwd file and the Maildirs.
    root = Path(tempfile.mkdtemp(prefix="tiket-dovecot-"))
    root.chmod(0o755)
    return root


@dataclass
class Dovecot:
    """One Dovecot master with its own config, state, logs and Maildirs under `root`.

    Use as a context manager: started on entry; stopped and its directory removed on exit.
    """

    root: Path = field(default_factory=_private_root)
    user: str = "support"
    password: str = "secret"
    capability: str = ""  # replaces what Dovecot announces after login, e.g. without IDLE
    quota_messages: int = 0  # > 0: a message-count quota (LMTP then refuses mail over it)
    imap_port: int = field(default_factory=free_port)
    lmtp_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        if not os.access(DOVECOT, os.X_OK):
            need("Dovecot is not installed (apt-get install dovecot-imapd dovecot-lmtpd)")
        if not Path("/usr/lib/dovecot/lmtp").exists():
            need("Dovecot's LMTP server is not installed (apt-get install dovecot-lmtpd)")
        self.owner, self.uid, self.gid = _mail_owner()
        for name in ("base", "state", "mail"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        os.chown(self.root / "mail", self.uid, self.gid)
        self.users = {self.user: self.password}
        self.write_config()

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log(self) -> Path:
        return self.root / "dovecot.log"

    def write_config(self) -> None:
        root = self.root
        owner = self.owner
        run_as = (
            ""
            if os.geteuid() == 0
            else (f"default_internal_user = {owner}\ndefault_login_user = {owner}\n")
        )
        quota = ""
        if self.quota_messages:
            quota = (
                "mail_plugins = $mail_plugins quota\n"
                f"plugin {{\n  quota = count:User quota\n  quota_vsizes = yes\n"
                f"  quota_rule = *:messages={self.quota_messages}\n}}\n"
            )
        imap_plugins = "  mail_plugins = $mail_plugins imap_quota\n" if quota else ""
        capability = f"  imap_capability = {self.capability}\n" if self.capability else ""
        self.config.write_text(
            f"""\
base_dir = {root}/base
state_dir = {root}/state
log_path = {self.log}
{run_as}listen = 127.0.0.1
protocols = imap lmtp
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_uid = {owner}
mail_gid = {grp.getgrgid(self.gid).gr_name}
first_valid_uid = {min(self.uid, 500)}
first_valid_gid = {min(self.gid, 500)}
mail_location = maildir:{root}/mail/%n/Maildir
{quota}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {root}/passwd
}}
userdb {{
  driver = static
  args = uid={owner} gid={self.gid} home={root}/mail/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
  unix_listener lmtp {{
    mode = 0600
  }}
}}
# No growing delay after failed logins (the wrong-password test retries): Dovecot's
# documented way to turn the auth penalty off is to make its anvil socket unreachable.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service auth {{
  unix_listener auth-userdb {{
    mode = 0600
  }}
}}
protocol imap {{
{capability}{imap_plugins}}}
""",
            encoding="utf-8",
        )
        self._write_users()

    def _write_users(self) -> None:
        lines = "".join(f"{name}:{{PLAIN}}{secret}\n" for name, secret in self.users.items())
        (self.root / "passwd").write_text(lines, encoding="utf-8")

    def add_user(self, name: str, password: str) -> None:
        """Another account; passwd-file is read again on the next login."""
        self.users[name] = password
        self._write_users()

    # -- the master process ------------------------------------------------------------------

    def start(self) -> None:
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: stop() signals every process
        )
        deadline = time.monotonic() + START_SECONDS
        while not (_listening(self.imap_port) and _listening(self.lmtp_port)):
            if self.process.poll() is not None:
                stderr = self.process.stderr.read().decode() if self.process.stderr else ""
                pytest.fail(f"Dovecot did not start: {stderr}{self.log_text()}")
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"Dovecot did not listen within {START_SECONDS} s: {self.log_text()}")
            time.sleep(0.01)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        # As `systemctl stop` does: every process of the server at once. Signalling only the
        # master leaves the imap processes to say BYE ten seconds later.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGCONT)  # a frozen child (SIGSTOP) would hang on
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        if process.stderr:
            process.stderr.close()

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    def children(self) -> list[int]:
        """PIDs of the processes the master started (imap, imap-login, lmtp, auth, …)."""
        if self.process is None:
            return []
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.process.pid:
                    found.append(int(stat.parent.name))
        return found

    def imap_sessions(self) -> list[int]:
        """PIDs of the `imap` processes, one per logged-in connection."""
        return [pid for pid in self.children() if _comm(pid) == "imap"]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # -- mail in ---------------------------------------------------------------------------

    def deliver(self, messages: Iterable[bytes], user: str | None = None) -> None:
        """Deliver over LMTP on one connection, as an MTA would."""
        with smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=30) as lmtp:
            for raw in messages:
                lmtp.sendmail("sender@example.org", [user or self.user], raw)

    def drop(self, messages: Iterable[bytes], user: str | None = None) -> int:
        """Write messages straight into the Maildir's new/ (the `,S=` size must be exact)."""
        maildir = self.root / "mail" / (user or self.user) / "Maildir"
        for sub in ("", "new", "cur", "tmp"):
            path = maildir / sub
            path.mkdir(exist_ok=True, parents=True)
            os.chown(path, self.uid, self.gid)
            os.chown(path.parent, self.uid, self.gid)
        count = 0
        for raw in messages:
            data = raw.replace(b"\r\n", b"\n")
            name = f"{time.time_ns()}.M{count}P{os.getpid()}Q{uuid.uuid4().hex[:8]}.test"
            tmp = maildir / "tmp" / name
            tmp.write_bytes(data)
            os.chown(tmp, self.uid, self.gid)
            tmp.rename(maildir / "new" / f"{name},S={len(data)}")
            count += 1
        return count

    # -- looking inside ---------------------------------------------------------------------

    @contextlib.contextmanager
    def client(self, user: str | None = None) -> Iterator[IMAPClient]:
        client = IMAPClient("127.0.0.1", self.imap_port, ssl=False, timeout=10)
        client.login(user or self.user, self.users[user or self.user])
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def count(self, folder: str = "INBOX", user: str | None = None) -> int:
        with self.client(user) as client:
            if not client.folder_exists(folder):
                return 0
            status = client.folder_status(folder, [b"MESSAGES"])
            return int(status[b"MESSAGES"])

    def mailbox(self, **overrides: object) -> ImapSettings:
        """`[[imap]]` settings that point at this server."""
        values: dict[str, object] = {
            "name": "helpdesk",
            "host": "127.0.0.1",
            "port": self.imap_port,
            "tls": "none",
            "user": self.user,
            "password": self.users[self.user],
            "poll_seconds": 0.5,
        }
        values.update(overrides)
        return ImapSettings(**values)  # type: ignore[arg-type]


def mails(count: int, prefix: str = "m") -> list[bytes]:
    """Distinct new problem reports: each becomes its own ticket."""
    return [
        make_mail(
            sender=f"Pegawai {i} <pegawai{i % 40}@dinas.example>",
            subject=f"Printer lantai {i % 5} macet ({prefix}{i})",
            body=f"Printer di ruang {i} tidak bisa mencetak sejak pagi.\n",
            message_id=f"<{prefix}{i}.{time.time_ns()}@dinas.example>",
        )
        for i in range(count)
    ]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


@pytest.fixture(name="dovecot")
def dovecot_fixture() -> Iterator[Dovecot]:
    """A running Dovecot with one account (support/secret), stopped after the test."""
    with Dovecot() as server:
        yield server
