"""Answer texts: Jinja2 templates per language, whose first line is the subject."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined

LANGUAGES = ("id", "en")


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    return _environment(PackageLoader("tiket.outbound", "templates"))


@lru_cache(maxsize=4)
def local_environment(directory: str) -> Environment:
    """The office's own templates in `directory` first (e.g. var/templates), then ours."""
    return _environment(
        ChoiceLoader([FileSystemLoader(directory), PackageLoader("tiket.outbound", "templates")])
    )


def _environment(loader: ChoiceLoader | PackageLoader) -> Environment:
    return Environment(
        loader=loader,
        autoescape=False,  # plain text only: nothing we render is ever shown as HTML
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, language: str, *, directory: str | None = None, **values: Any) -> Rendered:
    language = language if language in LANGUAGES else LANGUAGES[0]
    env = local_environment(directory) if directory else environment()
    text = env.get_template(f"{language}/{name}.txt").render(**values)
    first, _, rest = text.partition("\n")
    if not first.startswith("Subject:"):
        raise ValueError(f"template {language}/{name}.txt must start with 'Subject:'")
    return Rendered(subject=first.removeprefix("Subject:").strip(), body=rest.lstrip("\n"))
