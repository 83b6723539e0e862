"""Authentication-Results (RFC 8601): did DKIM or SPF vouch for the sender's domain?"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum

_RESULT = re.compile(r"\b(dkim|spf|dmarc)\s*=\s*([a-z]+)([^;]*)", re.IGNORECASE)
_PROPERTY = re.compile(
    r"\b(header\.d|header\.i|smtp\.mailfrom|header\.from)\s*=\s*([^\s;()]+)", re.IGNORECASE
)


class Verdict(Enum):
    ABSENT = "absent"  # no header we trust: nothing to check
    PASS = "pass"
    FAIL = "fail"


def verdict(headers: Sequence[str], sender: str, trusted: Sequence[str]) -> tuple[Verdict, str]:
    """Judge the Authentication-Results our receiving server added, for this sender.

    With trusted authserv-ids configured only headers naming one of them count; otherwise only
    the topmost header, the one the last hop (ours) added, since anything below it came from
    outside and may be forged.
    """
    ours = (
        [h for h in headers if _authserv(h) in {t.lower() for t in trusted}]
        if trusted
        else (list(headers[:1]))
    )
    if not ours:
        return Verdict.ABSENT, "no Authentication-Results from our server"
    domain = sender.rpartition("@")[2].lower()
    seen = []
    for header in ours:
        for method, result, rest in _RESULT.findall(header):
            result = result.lower()
            props = {k.lower(): v.lower().lstrip("@") for k, v in _PROPERTY.findall(rest)}
            aligned = _aligned(method.lower(), props, domain)
            seen.append(f"{method.lower()}={result}")
            if result == "pass" and aligned:
                return Verdict.PASS, f"{method.lower()}=pass for {domain}"
    if not seen:
        return Verdict.ABSENT, "Authentication-Results without dkim or spf results"
    return Verdict.FAIL, f"neither DKIM nor SPF passed for {domain} ({', '.join(seen)})"


def _authserv(header: str) -> str:
    return header.split(";", 1)[0].strip().split()[0].lower() if header.strip() else ""


def _aligned(method: str, props: dict[str, str], domain: str) -> bool:
    if method == "dkim":
        signer = props.get("header.d") or props.get("header.i", "").rpartition("@")[2]
    elif method == "spf":
        signer = props.get("smtp.mailfrom", "").rpartition("@")[2]
    else:  # dmarc=pass is about the From domain itself
        signer = props.get("header.from", domain)
    return bool(signer) and (domain == signer or domain.endswith("." + signer))
