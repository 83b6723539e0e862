"""The one exception hierarchy of tiket: the type says whether to retry, quarantine or drop."""

from __future__ import annotations


class TiketError(Exception):
    """Something went wrong in tiket."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or self.__class__.__name__).strip())


class TemporaryError(TiketError):
    """A temporary failure: try again later (an SMTP listener answers 4xx)."""


class PermanentError(TiketError):
    """A permanent failure: the message is quarantined with this reason."""


class Discarded(TiketError):
    """Dropped on purpose and recorded (a duplicate, for example)."""


class ConfigError(TiketError):
    """The configuration is invalid."""


class NotAMail(PermanentError):
    """The input is not an Internet mail message."""


class DatabaseUnavailable(TemporaryError):
    """The database cannot be reached."""


class NotFound(TiketError):
    """No such object."""


class Conflict(TiketError):
    """The request conflicts with what is stored."""
