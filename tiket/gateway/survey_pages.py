"""`/survey/TOKEN`: the satisfaction survey page; a GET only shows it, only a POST records."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tiket import survey
from tiket.gateway import csrf
from tiket.gateway.public_status import limited
from tiket.gateway.ratelimit import RateLimiter
from tiket.gateway.webpage import client_key, page, render
from tiket.model import Ticket, utcnow
from tiket.model.db import Database
from tiket.reports.lifecycle import ResolutionHook, register_resolution_hook

if TYPE_CHECKING:
    from tiket.gateway.http import Services

log = logging.getLogger(__name__)

PURPOSE = "survey"
MAX_BODY = 16_384

# The lifecycle job's once-per-resolution hook: a backstop for resolutions that did not pass
# through Desk.close or teamwork.resolve. `invite` sends at most one survey per ticket.
register_resolution_hook(ResolutionHook("survey", survey.send))


@dataclass(frozen=True)
class SurveyView:
    state: str  # open, used, expired, unknown
    number: str
    rating: int | None


def routes(services: Services) -> list[BaseRoute]:
    if not services.settings.web.enabled:
        return []
    limiter = RateLimiter(services.settings.web.status_lookups_per_minute)
    return [
        Route("/survey/{token}", partial(show, services), methods=["GET"]),
        Route("/survey/{token}", partial(answer, services, limiter), methods=["POST"]),
    ]


def survey_view(db: Database, token: str) -> SurveyView:
    with db.session() as session:
        found = survey.by_token(session, token)
        if found is None:
            return SurveyView("unknown", "", None)
        ticket = session.get(Ticket, found.ticket_id)
        number = ticket.number if ticket else ""
        if found.rating is not None:
            return SurveyView("used", number, found.rating)
        if found.expires_at <= utcnow():
            return SurveyView("expired", number, None)
        return SurveyView("open", number, None)


async def show(services: Services, request: Request) -> Response:
    """Never records anything, whatever the query says: mail scanners follow links."""
    view = page(request, services)
    token = request.path_params["token"]
    state = await run_in_threadpool(survey_view, services.db, token)
    if state.state != "open":
        return render(view, "survey_closed.html", status=_closed_status(state.state), state=state)
    return render(view, "survey.html", csrf_purpose=PURPOSE, state=state, token=token, error="")


async def answer(services: Services, limiter: RateLimiter, request: Request) -> Response:
    view = page(request, services)
    wait = limiter.take(client_key(request))
    if wait is not None:
        return limited(view, wait)
    token = request.path_params["token"]
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > MAX_BODY:
        return render(view, "csrf.html", status=413)
    form = await request.form(max_files=0, max_fields=10, max_part_size=MAX_BODY)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    if not csrf.is_valid(request, services.secret, PURPOSE, values.get(csrf.FIELD, "")):
        log.info("action=csrf_refused path=/survey client=%s", client_key(request))
        return render(view, "csrf.html", status=403)
    state = await run_in_threadpool(survey_view, services.db, token)
    rating = values.get("rating", "")
    if state.state == "open" and (not rating.isdigit() or int(rating) not in survey.RATINGS):
        return render(
            view,
            "survey.html",
            status=400,
            csrf_purpose=PURPOSE,
            state=state,
            token=token,
            error=view.t("survey_choose"),
        )
    if state.state != "open":
        return render(view, "survey_closed.html", status=_closed_status(state.state), state=state)
    outcome = await run_in_threadpool(
        _record, services.db, token, int(rating), values.get("comment", "")
    )
    if outcome != "recorded":
        state = await run_in_threadpool(survey_view, services.db, token)
        return render(view, "survey_closed.html", status=_closed_status(state.state), state=state)
    return render(view, "survey_thanks.html", rating=int(rating), number=state.number)


def _record(db: Database, token: str, rating: int, comment: str) -> str:
    with db.session() as session:
        return survey.record(session, token, rating, comment.strip(), via="web")


def _closed_status(state: str) -> int:
    return {"unknown": 404, "expired": 410, "used": 409}.get(state, 400)
