"""Reply trimming: what the person wrote in this message, apart from quotes and signatures.

The rules are line-based, like Discourse's email_reply_trimmer: the first quote header ("On …
wrote:", "Pada … menulis:", an Outlook "From:/Sent:" or "Dari:/Dikirim:" block, "-----Original
Message-----"), quoted ("> ") block, signature delimiter ("-- ") or mobile signature ("Sent from
my iPhone", "Dikirim dari iPhone saya") ends the visible part.

mail-parser-reply 1.36 (the library RECIPES.md suggests) is not used yet: it has no Indonesian
rules, and read in its source it cuts at any line starting with "- " (lists) and at "Thanks," /
"Best," closings, which the corpora keep. A side-by-side accuracy figure on the corpus was not
measured yet; these rules score visible 0.719 (128/178) on it (bench/corpus.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Reply", "split_reply"]


@dataclass(frozen=True)
class Reply:
    """The visible part of a reply and what was removed from it."""

    visible: str
    quoted: str


_VERBS = (
    r"(?:wrote|schrieb|a écrit|schreef|escribió|escreveu|scritto|scrisse|menulis|skrev|"
    r"napsal\(a\)|napisał\(a\)|kirjoitti|пише|написал|пользователь|írta|yazdı)"
)
_WROTE = re.compile(
    r"^\s*(?:>\s*)*(?:On|Am|Le|Op|El|Em|Il|Pada|Den|Dne|W dniu|På|Le)\b.{0,400}?"
    + _VERBS
    + r".{0,200}:?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_WROTE_TAIL = re.compile(
    r"^.{0,300}(?:\b"
    + _VERBS
    + r"\b.{0,200}|<[^>]+@[^>]+>\s*|写道|編寫|작성)(?::|：)\s*$"
    + r"|^-{2,} ?On .{0,200} wrote ?-{2,}\s*$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^\s*[-_=*]{2,}\s*(?:Original Message|Pesan Asli|Pesan Asal|Ursprüngliche Nachricht|"
    r"Message d'origine|Mensaje original|Forwarded message|Pesan yang diteruskan|"
    r"Original Email|Reply above this line)\s*[-_=*]{2,}\s*$"
    r"|^\s*[-_=*]{2,}\s*(?:Original Message|Pesan Asli|Forwarded message)\s*$"
    r"|^\s*_{20,}\s*$|^\s*-{20,}\s*$"
    r"|^\s*##-? ?Please type your reply above this line ?-?##",
    re.IGNORECASE,
)
_FROM_LINE = re.compile(
    r"^\s*[*>]*\s*(?:From|Dari|Von|De|Van|Fra|Od|Från)\s*:\s*\*?\s*\S", re.IGNORECASE
)
_HEADER_LINE = re.compile(
    r"^\s*[*>]*\s*(?:Sent|Date|To|Subject|Cc|Dikirim|Tanggal|Kepada|Perihal|Subjek|Gesendet|"
    r"Datum|An|Betreff|Envoyé|Date|À|Objet|Verzonden|Aan|Onderwerp|Enviado|Para|Asunto)"
    r"\s*:",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^(?:--|—|__) ?$")
_MOBILE = re.compile(
    r"^\s*(?:Sent from (?:my|Mail|Yahoo|Outlook)|Sent with|Sent via|Get Outlook for|"
    r"Dikirim dari|Terkirim dari|Dikirimkan dari|Diketik dari|Envoyé de mon|Envoyé depuis mon|"
    r"Sendt fra min|Enviado desde mi|"
    r"Von meinem .{0,40} gesendet|Gesendet von (?:meinem|iPhone|iPad))\b.{0,80}$",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"^\s*>")


def _is_wrote_header(lines: list[str], index: int) -> int:
    """How many lines the "On … wrote:" header starting at index spans (0 when none)."""
    line = lines[index]
    if _WROTE_TAIL.match(line) and not _QUOTED.match(line):
        return 1
    for span in (1, 2, 3):
        chunk = " ".join(lines[index : index + span])
        if index + span <= len(lines) and _WROTE.match(chunk):
            return span
    return 0


def _is_outlook_block(lines: list[str], index: int) -> bool:
    if not _FROM_LINE.match(lines[index]):
        return False
    following = [line for line in lines[index + 1 : index + 6] if line.strip()]
    return sum(1 for line in following[:4] if _HEADER_LINE.match(line)) >= 2


def _cut(lines: list[str]) -> int | None:
    """Index of the first line of the quoted or signature part, None when there is none."""
    for index, line in enumerate(lines):
        if _SEPARATOR.match(line) or _SIGNATURE.match(line) or _MOBILE.match(line):
            return index
        if _is_wrote_header(lines, index) or _is_outlook_block(lines, index):
            return index
        if _QUOTED.match(line) and any(
            text.strip() and not _QUOTED.match(text) for text in lines[:index]
        ):
            return index
    return None


def _unquoted_rest(lines: list[str]) -> list[str]:
    """For a bottom-posted reply: the lines that are not quoted, nor the quote header."""
    keep: list[str] = []
    index = 0
    while index < len(lines):
        span = _is_wrote_header(lines, index)
        if span:
            index += span
            continue
        if not _QUOTED.match(lines[index]):
            keep.append(lines[index])
        index += 1
    return keep


def split_reply(text: str) -> Reply:
    """Split a plain-text body into the new text and the removed quotes and signatures."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _cut(lines)
    if cut is None:
        return Reply(visible=text.strip(), quoted="")
    visible = "\n".join(lines[:cut]).strip()
    quoted = "\n".join(lines[cut:]).strip()
    if not visible:
        rest = _unquoted_rest(lines)
        inner = split_reply("\n".join(rest)) if len(rest) < len(lines) else None
        if inner is not None and inner.visible:
            return Reply(visible=inner.visible, quoted=quoted)
        return Reply(visible=text.strip(), quoted="")
    return Reply(visible=visible, quoted=quoted)
