"""Settings: a TOML file, overridden key by key by TIKET_<SECTION>_<KEY> environment variables."""

from __future__ import annotations

import dataclasses
import os
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from tiket.errors import ConfigError

ENV_PREFIX = "TIKET_"
SECRET_KEYS = frozenset({"secret", "password", "auth_token"})


@dataclass(frozen=True)
class PathsSettings:
    var: str = "var"


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""


@dataclass(frozen=True)
class MailSettings:
    address: str = "helpdesk@localhost"
    domains: tuple[str, ...] = ()
    secret: str = ""
    close_keywords: tuple[str, ...] = (
        "close",
        "closed",
        "solved",
        "selesai",
        "tutup",
        "sudah beres",
    )
    language: str = "id"
    office_name: str = "Helpdesk TIK"
    # A reply to a closed ticket within this many days reopens it; later, it opens a new one.
    reopen_days: int = 14
    # authserv-ids of our own receiving servers whose Authentication-Results headers we trust;
    # empty: only the topmost Authentication-Results header counts.
    trusted_authserv_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SmtpSettings:
    listen: str = "127.0.0.1:2525"
    lmtp_listen: str = ""
    max_message_bytes: int = 33_554_432
    hostname: str = "tiket.localhost"


@dataclass(frozen=True)
class OutboundSettings:
    smarthost: str = ""
    from_address: str = ""
    max_attempts: int = 12
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class HttpSettings:
    listen: str = "127.0.0.1:8080"
    public_url: str = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class TwilioSettings:
    """SMS and WhatsApp through Twilio; texts are off while account_sid is empty."""

    account_sid: str = ""
    auth_token: str = ""
    sms_from: str = ""  # E.164, e.g. +6281100000000
    whatsapp_from: str = ""  # whatsapp:+62..., empty: no WhatsApp answers
    api_base: str = "https://api.twilio.com"  # only tests and regional edges change it
    max_media_bytes: int = 5_242_880  # per media item of an MMS/WhatsApp message
    # Approved WhatsApp templates for answers outside the 24-hour window: "kind=HX...".
    whatsapp_templates: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkerSettings:
    poll_seconds: float = 1.0
    max_attempts: int = 5
    # A daemon may only listen (and leave processing and delivery to others sharing its database).
    process: bool = True
    deliver: bool = True


@dataclass(frozen=True)
class LogSettings:
    format: str = "text"  # or "json": one JSON object a line, for a log collector
    level: str = "info"


@dataclass(frozen=True)
class LimitsSettings:
    """Caps on automatic mail, so that an autoresponder cannot start a mail storm."""

    per_recipient_window: int = 10  # automatic mails to one address ...
    window_minutes: int = 10  # ... within this many minutes
    per_recipient_day: int = 50
    per_ticket_day: int = 30
    bounce_suppress_days: int = 7  # a hard-bouncing address gets no mail for this long
    admin_address: str = ""  # told once a day per address when a cap holds mail back


@dataclass(frozen=True)
class ImapSettings:
    """One mailbox the daemon watches (`[[imap]]`, any number)."""

    name: str = ""
    host: str = ""
    port: int = 0  # 0: 993 for tls = "ssl", else 143
    tls: str = "ssl"  # ssl, starttls or none
    user: str = ""
    password: str = ""
    password_file: str = ""
    oauth2_token_command: str = ""
    folder: str = "INBOX"
    processed_folder: str = "tiket/processed"
    team: str = ""
    poll_seconds: float = 60.0
    idle_seconds: float = 1500.0  # re-issue IDLE before servers drop it (RFC 2177: 29 min)


@dataclass(frozen=True)
class CalendarSettings:
    """Business hours: SLAs and report times count only these."""

    timezone: str = "Asia/Makassar"
    hours: tuple[str, ...] = ("mon-thu 08:00-16:00", "fri 08:00-16:30")


@dataclass(frozen=True)
class SlaSettings:
    """Default targets in business hours; `tiket sla set` stores per category and priority."""

    first_response_hours: float = 4.0
    resolution_hours: float = 24.0
    approaching_share: float = 0.8


@dataclass(frozen=True)
class LifecycleSettings:
    autoclose_days: int = 7
    remind_waiting_days: int = 3


@dataclass(frozen=True)
class SchedulerSettings:
    enabled: bool = True
    # PostgreSQL advisory lock key: only its holder among the daemons runs jobs.
    lock_key: int = 7_311_946_842
    sla_every_minutes: int = 5
    lifecycle_every_minutes: int = 60
    digest_time: str = "07:00"
    weekly_day: str = "mon"
    weekly_time: str = "07:30"
    report_time: str = "06:00"


@dataclass(frozen=True)
class ReportsSettings:
    top_problems: int = 10
    trend_weeks: int = 4
    trend_min_tickets: int = 5
    # Queries of one report run side by side on this many connections.
    workers: int = 4


@dataclass(frozen=True)
class LearnSettings:
    """Similar solved tickets and the category classifier (tiket/learn)."""

    enabled: bool = True
    # Cosine similarity a solved ticket needs before its solution is offered to the requester
    # (bench/learn.py: at 0.45 about three in four shown are right even for unseen wordings).
    suggest_threshold: float = 0.45
    suggestions: int = 3
    # Probability the classifier needs before its category replaces "others".
    classify_threshold: float = 0.6
    # Fewest labelled tickets `tiket learn train` accepts.
    min_training_tickets: int = 30


@dataclass(frozen=True)
class WebSettings:
    """The public pages: status lookup, the problem report form, the satisfaction survey."""

    enabled: bool = True
    logo: str = ""  # path of a PNG/SVG/JPEG shown in the header; empty: the built-in mark
    status_lookups_per_minute: int = 20  # per client address, status pages and the form
    max_attachments: int = 3
    max_attachment_bytes: int = 5_242_880
    survey_days: int = 14  # a survey link expires after this many days


@dataclass(frozen=True)
class RetentionSettings:
    """How long personal data is kept after a ticket closed (UU No. 27 of 2022)."""

    raw_days: int = 90
    attachment_days: int = 365
    anonymise_years: int = 5
    run_time: str = "02:30"  # the daily job, local to [calendar] timezone


@dataclass(frozen=True)
class PrivacySettings:
    """Who the access audit names: this operator, or the operating-system user when empty."""

    operator: str = ""


@dataclass(frozen=True)
class Settings:
    paths: PathsSettings = field(default_factory=PathsSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    outbound: OutboundSettings = field(default_factory=OutboundSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    twilio: TwilioSettings = field(default_factory=TwilioSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    limits: LimitsSettings = field(default_factory=LimitsSettings)
    log: LogSettings = field(default_factory=LogSettings)
    calendar: CalendarSettings = field(default_factory=CalendarSettings)
    sla: SlaSettings = field(default_factory=SlaSettings)
    lifecycle: LifecycleSettings = field(default_factory=LifecycleSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    reports: ReportsSettings = field(default_factory=ReportsSettings)
    learn: LearnSettings = field(default_factory=LearnSettings)
    web: WebSettings = field(default_factory=WebSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    imap: tuple[ImapSettings, ...] = ()

    @property
    def var_dir(self) -> Path:
        return Path(self.paths.var)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.var_dir / 'tiket.db'}"

    @property
    def mail_domains(self) -> tuple[str, ...]:
        if self.mail.domains:
            return tuple(d.lower() for d in self.mail.domains)
        return (self.mail.address.rpartition("@")[2].lower(),)

    @property
    def from_address(self) -> str:
        return self.outbound.from_address or self.mail.address

    @property
    def outbox_dir(self) -> Path:
        return self.var_dir / "outbox"


def load(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Read the file (or TIKET_CONFIG), apply the environment, check every value."""
    env = os.environ if env is None else env
    path = path or env.get(f"{ENV_PREFIX}CONFIG") or None
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    sections = {f.name: f for f in fields(Settings) if f.name != "imap"}
    for name in data:
        if name not in sections and name != "imap":
            raise ConfigError(f"unknown section [{name}] in {path}")
    built: dict[str, Any] = {"imap": _build_mailboxes(data.get("imap", []), env)}
    hints = get_type_hints(Settings)
    for name in sections:
        raw = data.get(name, {})
        if not isinstance(raw, dict):
            raise ConfigError(f"[{name}] must be a table")
        built[name] = _build_section(name, hints[name], raw, env)
    settings = Settings(**built)
    _check(settings)
    return settings


def _build_section(
    section: str, cls: type[Any], raw: Mapping[str, Any], env: Mapping[str, str]
) -> Any:
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    for key in raw:
        if key not in known:
            raise ConfigError(f"unknown key {section}.{key}")
    values: dict[str, Any] = {}
    for key in known:
        env_name = f"{ENV_PREFIX}{section}_{key}".upper()
        if env_name in env:
            values[key] = _from_env(f"{section}.{key}", hints[key], env[env_name])
        elif key in raw:
            values[key] = _coerce(f"{section}.{key}", hints[key], raw[key])
    return cls(**values)


def _build_mailboxes(raw: Any, env: Mapping[str, str]) -> tuple[ImapSettings, ...]:
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ConfigError("imap must be an array of tables: [[imap]]")
    mailboxes = []
    for index, item in enumerate(raw):
        name = item.get("name") or f"imap{index + 1}"
        # Environment overrides for a mailbox: TIKET_IMAP_<NAME>_<KEY>.
        prefix = f"imap_{name}".replace("-", "_")
        mailbox = _build_section(prefix, ImapSettings, {**item, "name": name}, env)
        mailbox = dataclasses.replace(mailbox, name=name)
        if not mailbox.host or not mailbox.user:
            raise ConfigError(f"imap.{name}: host and user are required")
        if mailbox.tls not in {"ssl", "starttls", "none"}:
            raise ConfigError(f"imap.{name}.tls must be ssl, starttls or none")
        if not (mailbox.password or mailbox.password_file or mailbox.oauth2_token_command):
            raise ConfigError(
                f"imap.{name}: one of password, password_file, oauth2_token_command is required"
            )
        mailboxes.append(mailbox)
    names = [m.name for m in mailboxes]
    if len(set(names)) != len(names):
        raise ConfigError("imap: mailbox names must be unique")
    return tuple(mailboxes)


def _from_env(name: str, hint: Any, text: str) -> Any:
    if get_origin(hint) is tuple:
        return tuple(item.strip() for item in text.split(",") if item.strip())
    if hint is int or hint is float:
        try:
            return hint(text)
        except ValueError:
            raise ConfigError(f"{name} must be a number, got {text!r}") from None
    if hint is bool:
        if text.lower() in {"1", "true", "yes", "on"}:
            return True
        if text.lower() in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{name} must be true or false, got {text!r}")
    return text


def _coerce(name: str, hint: Any, value: Any) -> Any:
    if get_origin(hint) is tuple:
        (item_type, _) = (*get_args(hint), None)[:2]
        if not isinstance(value, list) or not all(isinstance(v, item_type) for v in value):
            raise ConfigError(f"{name} must be a list of strings")
        return tuple(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise ConfigError(f"{name} must be of type {hint.__name__}, got {value!r}")
    return value


def _check(settings: Settings) -> None:
    for key in ("mail.address",):
        address = settings.mail.address
        if "@" not in address or address.startswith("@") or address.endswith("@"):
            raise ConfigError(f"{key} must be an email address, got {address!r}")
    for key, value in (
        ("smtp.listen", settings.smtp.listen),
        ("http.listen", settings.http.listen),
        ("smtp.lmtp_listen", settings.smtp.lmtp_listen),
        ("outbound.smarthost", settings.outbound.smarthost),
    ):
        if value:
            parse_hostport(key, value)
    if settings.smtp.max_message_bytes < 1024:
        raise ConfigError("smtp.max_message_bytes must be at least 1024")
    if settings.log.format not in {"text", "json"}:
        raise ConfigError("log.format must be 'text' or 'json'")
    if settings.log.level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError("log.level must be debug, info, warning or error")
    if settings.mail.language not in {"id", "en"}:
        raise ConfigError("mail.language must be 'id' or 'en'")
    _check_twilio(settings.twilio)
    _check_web(settings.web)
    _check_retention(settings.retention)


def _check_retention(retention: RetentionSettings) -> None:
    for key in ("raw_days", "attachment_days", "anonymise_years"):
        if getattr(retention, key) < 1:
            raise ConfigError(f"retention.{key} must be at least 1")


def _check_web(web: WebSettings) -> None:
    for key in ("status_lookups_per_minute", "survey_days"):
        if getattr(web, key) < 1:
            raise ConfigError(f"web.{key} must be at least 1")
    if web.max_attachments < 0 or web.max_attachment_bytes < 1024:
        raise ConfigError("web.max_attachments must be >= 0 and web.max_attachment_bytes >= 1024")


def _check_twilio(twilio: TwilioSettings) -> None:
    if twilio.account_sid and not twilio.auth_token:
        raise ConfigError("twilio.auth_token is required with twilio.account_sid")
    if twilio.sms_from and not twilio.sms_from.startswith("+"):
        raise ConfigError(f"twilio.sms_from must be E.164 (+62...), got {twilio.sms_from!r}")
    if twilio.whatsapp_from and not twilio.whatsapp_from.startswith("whatsapp:+"):
        raise ConfigError(
            f"twilio.whatsapp_from must look like whatsapp:+62..., got {twilio.whatsapp_from!r}"
        )
    for item in twilio.whatsapp_templates:
        kind, sep, sid = item.partition("=")
        if not sep or not kind.strip() or not sid.strip().startswith("HX"):
            raise ConfigError(f"twilio.whatsapp_templates entries are kind=HX..., got {item!r}")


def parse_hostport(key: str, value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{key} must be host:port, got {value!r}")
    return host.strip("[]"), int(port)


def mail_secret(settings: Settings) -> bytes:
    """The HMAC key for signed reply addresses: configured, or generated once into var/."""
    if settings.mail.secret:
        return settings.mail.secret.encode()
    path = settings.var_dir / "secret"
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    try:
        with open(path, "xb") as out:
            os.fchmod(out.fileno(), 0o600)
            out.write(key)
    except FileExistsError:
        return path.read_bytes().strip()
    return key


def as_dict(settings: Settings, *, masked: bool = True) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for section in fields(settings):
        if section.name == "imap":
            result["imap"] = [_section_dict(m, masked) for m in settings.imap]
        else:
            result[section.name] = _section_dict(getattr(settings, section.name), masked)
    if masked:
        result["database"]["url"] = _mask_url(settings.database_url)
    else:
        result["database"]["url"] = settings.database_url
    return result


def _section_dict(section: Any, masked: bool) -> dict[str, Any]:
    values: dict[str, Any] = dataclasses.asdict(section)
    for key, value in values.items():
        if masked and key in SECRET_KEYS and value:
            values[key] = "********"
        elif isinstance(value, tuple):
            values[key] = list(value)
    return values


def _mask_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not at or ":" not in creds:
        return url
    user = creds.split(":", 1)[0]
    return f"{scheme}{sep}{user}:********@{host}"


EXAMPLE = """\
# tiket configuration. Every key can also be set as TIKET_<SECTION>_<KEY>,
# e.g. TIKET_DATABASE_URL or TIKET_SMTP_LISTEN (lists: comma separated).

[paths]
# Where the SQLite database, the generated secret and var/outbox live.
var = "var"

[database]
# Empty: an SQLite file under [paths] var. For several daemons use PostgreSQL:
# url = "postgresql+psycopg://tiket:secret@127.0.0.1:5432/tiket"
url = ""

[mail]
# The helpdesk's public address; replies come back to helpdesk+<ticket>.<mac>@domain.
address = "helpdesk@localhost"
# Recipient domains the listener accepts (empty: the domain of address). Never a relay.
domains = []
# HMAC key for signed reply addresses; generated into var/secret when empty.
secret = ""
# A requester's reply whose first line is one of these closes the ticket.
close_keywords = ["close", "closed", "solved", "selesai", "tutup", "sudah beres"]
# Language of answers when the requester's cannot be told: "id" or "en".
language = "id"
office_name = "Helpdesk TIK"
# A reply to a closed ticket within this many days reopens it; later it opens a new, linked one.
reopen_days = 14
# authserv-ids of our receiving servers whose Authentication-Results we trust (DKIM/SPF of
# technicians' commands); empty: only the topmost Authentication-Results header counts.
trusted_authserv_ids = []

[smtp]
listen = "127.0.0.1:2525"
# An LMTP listener too (for Postfix/Dovecot style delivery); empty: none.
lmtp_listen = ""
max_message_bytes = 33554432
hostname = "tiket.localhost"

[outbound]
# host:port of the relay that sends our mail. Empty: mails are written to var/outbox/*.eml.
smarthost = ""
from_address = ""
max_attempts = 12
retry_base_seconds = 30.0
retry_max_seconds = 3600.0

[http]
# Webhooks, /healthz and /metrics; empty: no HTTP listener.
listen = "127.0.0.1:8080"
# The URL people (and Twilio) reach us at; used in status links and to check Twilio's
# signatures (behind a TLS proxy: the public https URL).
public_url = "http://127.0.0.1:8080"

[twilio]
# SMS and WhatsApp. Webhooks: POST {public_url}/twilio/sms (incoming messages) and
# Twilio calls {public_url}/twilio/status with delivery reports. Empty account_sid: no texts.
account_sid = ""
auth_token = ""
sms_from = ""        # +6281100000000
whatsapp_from = ""   # whatsapp:+6281100000000
max_media_bytes = 5242880
# WhatsApp answers more than 24 hours after the requester's last message need approved
# templates (ContentSid); variables {"1": ticket number, "2": status, "3": status link}.
# Kinds: ack, reply, closed, update. Without one: SMS, else email.
# whatsapp_templates = ["reply=HX0000000000000000000000000000000", "closed=HX..."]
whatsapp_templates = []

[worker]
poll_seconds = 1.0
max_attempts = 5
# Set false to run a listener-only daemon; others sharing the database process and deliver.
process = true
deliver = true

[calendar]
# Business hours: SLA clocks and report times count only these, minus holidays
# (`tiket calendar holidays add|list|import FILE.ics`). "fri 22:00-06:00" runs over midnight.
timezone = "Asia/Makassar"
hours = ["mon-thu 08:00-16:00", "fri 08:00-16:30"]

[sla]
# Default targets in business hours; per category and priority: `tiket sla set`.
first_response_hours = 4.0
resolution_hours = 24.0
# The team is warned when this share of a target has passed; past it, the managers too.
approaching_share = 0.8

[lifecycle]
# Resolved tickets close after this many days without a reply.
autoclose_days = 7
# Tickets waiting on the requester get a reminder after this many days of silence.
remind_waiting_days = 3

[scheduler]
# Scheduled jobs run in `tiket serve`; with several daemons on PostgreSQL only the holder
# of this advisory lock runs them. Times are local to [calendar] timezone.
enabled = true
lock_key = 7311946842
sla_every_minutes = 5
lifecycle_every_minutes = 60
digest_time = "07:00"
weekly_day = "mon"
weekly_time = "07:30"
# Monthly reports on the 1st, annual reports on 1 January, at this time.
report_time = "06:00"

[reports]
top_problems = 10
# Trends compare the last weeks week over week; a problem needs this many tickets.
trend_weeks = 4
trend_min_tickets = 5
# A report's queries run side by side on this many database connections.
workers = 4

[log]
# "text", or "json" (one object a line: time, level, logger, message and the action=… fields)
format = "text"
level = "info"

[limits]
# Automatic mail (acknowledgements, confirmations) to one address is capped, so that a naive
# autoresponder cannot start a storm; what a cap holds back is recorded, never sent later.
per_recipient_window = 10
window_minutes = 10
per_recipient_day = 50
per_ticket_day = 30
# An address that bounced hard gets no mail for this many days.
bounce_suppress_days = 7
# Told once a day per address when a cap holds mail back (empty: only logged and recorded).
admin_address = ""

[web]
# Public pages on [http] listen: / (report a problem), /status, /survey/TOKEN.
enabled = true
# The office's logo in the page header (PNG, SVG or JPEG); empty: a plain mark.
logo = ""
# Per client address: status lookups and form posts a minute (then 429 with Retry-After).
status_lookups_per_minute = 20
max_attachments = 3
max_attachment_bytes = 5242880
# The satisfaction survey link sent after resolution expires after this many days.
survey_days = 14

[retention]
# Days after a ticket closed: raw inbound originals go (the parsed history stays), then
# attachments; after anonymise_years the requester becomes a pseudonym.
raw_days = 90
attachment_days = 365
anonymise_years = 5
# The daily job runs at this time (local to [calendar] timezone); `tiket retention run` any time.
run_time = "02:30"

[privacy]
# The name the access audit records for CLI commands; empty: the operating-system user.
operator = ""

# Mailboxes to watch with IMAP IDLE (any number of [[imap]] tables).
# [[imap]]
# name = "helpdesk"
# host = "mail.example.go.id"
# port = 993
# tls = "ssl"                 # ssl, starttls or none
# user = "helpdesk@example.go.id"
# password_file = "/etc/tiket/imap-password"
# oauth2_token_command = ""   # prints an XOAUTH2 access token (Microsoft 365, Google)
# folder = "INBOX"
# processed_folder = "tiket/processed"
# team = ""   # mail from this mailbox goes to this team unless a rule says otherwise
"""
