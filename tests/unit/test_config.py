"""Settings: defaults, the TOML file, environment overrides and clear errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tiket.config import EXAMPLE, as_dict, load, mail_secret


def test_defaults_are_the_embedded_setup() -> None:
    settings = load(env={})
    assert settings.database_url == "sqlite:///var/tiket.db"
    assert settings.smtp.listen == "127.0.0.1:2525"
    assert settings.http.listen == "127.0.0.1:8080"
    assert settings.mail_domains == ("localhost",)
    assert "selesai" in settings.mail.close_keywords
    assert settings.outbound.smarthost == ""


def test_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        '[mail]\naddress = "helpdesk@kominfo.example"\ndomains = ["kominfo.example", "x.example"]\n'
        "[smtp]\nmax_message_bytes = 5000\n"
    )
    settings = load(
        path,
        env={"TIKET_SMTP_LISTEN": "127.0.0.1:2626", "TIKET_MAIL_CLOSE_KEYWORDS": "done, beres"},
    )
    assert settings.mail.address == "helpdesk@kominfo.example"
    assert settings.mail_domains == ("kominfo.example", "x.example")
    assert settings.smtp.max_message_bytes == 5000
    assert settings.smtp.listen == "127.0.0.1:2626"
    assert settings.mail.close_keywords == ("done", "beres")


def test_config_file_from_environment(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text('[outbound]\nsmarthost = "127.0.0.1:25"\n')
    assert load(env={"TIKET_CONFIG": str(path)}).outbound.smarthost == "127.0.0.1:25"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[smtp]\nlisten = 2525\n", {}, "smtp.listen must be of type str"),
        ('[smtp]\nlisten = "nohost"\n', {}, "smtp.listen must be host:port"),
        ('[smtp]\nmax_message_bytes = "big"\n', {}, "smtp.max_message_bytes must be of type int"),
        ('[smtp]\nlisen = "x"\n', {}, "unknown key smtp.lisen"),
        ("[smtpd]\n", {}, "unknown section [smtpd]"),
        ('[mail]\naddress = "nobody"\n', {}, "mail.address must be an email address"),
        ('[mail]\ndomains = "a.example"\n', {}, "mail.domains must be a list"),
        ("not toml at all [", {}, "is not valid TOML"),
        ("", {"TIKET_SMTP_MAX_MESSAGE_BYTES": "lots"}, "smtp.max_message_bytes must be a number"),
        ("", {"TIKET_WORKER_PROCESS": "maybe"}, "worker.process must be true or false"),
        ('[worker]\nprocess = "yes"\n', {}, "worker.process must be true or false"),
    ],
)
def test_bad_values_name_the_key(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    from tiket.errors import ConfigError

    path = tmp_path / "t.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load(path, env=env)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    from tiket.errors import ConfigError

    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "nope.toml", env={})


def test_example_is_valid_and_loads(tmp_path: Path) -> None:
    tomllib.loads(EXAMPLE)
    path = tmp_path / "example.toml"
    path.write_text(EXAMPLE)
    assert load(path, env={}).smtp.listen == "127.0.0.1:2525"


def test_secrets_are_masked(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(
        '[mail]\nsecret = "hunter2"\n[database]\nurl = "postgresql+psycopg://u:pw@db/tiket"\n'
    )
    shown = as_dict(load(path, env={}))
    assert shown["mail"]["secret"] == "********"
    assert "pw" not in shown["database"]["url"]
    assert shown["database"]["url"] == "postgresql+psycopg://u:********@db/tiket"


def test_secret_is_generated_once(tmp_path: Path) -> None:
    from dataclasses import replace

    settings = load(env={})
    settings = replace(settings, paths=replace(settings.paths, var=str(tmp_path / "var")))
    first = mail_secret(settings)
    assert len(first) == 64
    assert mail_secret(settings) == first
    assert (tmp_path / "var" / "secret").stat().st_mode & 0o777 == 0o600
