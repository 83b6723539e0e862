"""`tiket kb …`, `tiket learn …` and `tiket tickets solution`: the knowledge base at the CLI."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tiket.errors import NotFound
from tiket.learn import solutions
from tiket.model import Ticket
from tiket.model.learn import Solution, Suggestion

if TYPE_CHECKING:
    from tiket.cli import State


def _state() -> State:
    return click.get_current_context().find_root().obj  # type: ignore[no-any-return]


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _operator() -> str:
    import getpass

    try:
        return f"{getpass.getuser()} (cli)"
    except (KeyError, OSError):
        return "admin (cli)"


def _solution_dict(solution: Solution, number: str, helped: int = 0) -> dict[str, Any]:
    return {
        "id": solution.id,
        "ticket": number,
        "source": solution.source,
        "hidden": solution.hidden,
        "author": solution.author,
        "helped": helped,
        "updated_at": solution.updated_at.isoformat(timespec="seconds"),
        "problem": solution.problem,
        "solution": solution.body,
    }


def _audit(session: Session, action: str, numbers: list[str]) -> None:
    """Problems and solutions are the requesters' own words: each showing is audited."""
    from tiket.privacy import audit

    operator = audit.operator_name(_state().settings)
    audit.record_numbers(session, operator, action, numbers)


# -- tiket kb -----------------------------------------------------------------------------------


@click.group()
def kb() -> None:
    """The knowledge base: the solutions of solved tickets, offered to new similar ones."""


@kb.command("list")
@click.option("--hidden", "only_hidden", is_flag=True, help="Only hidden solutions.")
@click.option("--limit", default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def kb_list(only_hidden: bool, limit: int, as_json: bool) -> None:
    """Solutions, newest first, with how often each helped."""
    helped = (
        select(Suggestion.solution_id, func.count().label("n"))
        .where(Suggestion.outcome != "offered")
        .group_by(Suggestion.solution_id)
        .subquery()
    )
    query = (
        select(Solution, Ticket.number, func.coalesce(helped.c.n, 0))
        .join(Ticket, Ticket.id == Solution.ticket_id)
        .outerjoin(helped, helped.c.solution_id == Solution.id)
        .order_by(Solution.updated_at.desc(), Solution.id.desc())
        .limit(limit)
    )
    if only_hidden:
        query = query.where(Solution.hidden.is_(True))
    with _state().db.session() as session:
        rows = [_solution_dict(s, n, h) for s, n, h in session.execute(query)]
        _audit(session, "kb list", [row["ticket"] for row in rows])
    if as_json:
        _echo_json(rows)
        return
    if not rows:
        click.echo("no solutions yet: they come from resolved tickets and #solution lines")
        return
    click.echo(f"{'id':>6}  {'ticket':<16}{'source':<8}{'helped':>7}  solution")
    for row in rows:
        first = " ".join(row["solution"].split())[:60]
        mark = " (hidden)" if row["hidden"] else ""
        click.echo(
            f"{row['id']:>6}  {row['ticket']:<16}{row['source']:<8}{row['helped']:>7}  "
            f"{first}{mark}"
        )


@kb.command("show")
@click.argument("solution_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def kb_show(solution_id: int, as_json: bool) -> None:
    """One solution with the problem it solved."""
    with _state().db.session() as session:
        solution = solutions.get(session, solution_id)
        number = session.scalar(select(Ticket.number).where(Ticket.id == solution.ticket_id))
        row = _solution_dict(solution, number or "?")
        _audit(session, "kb show", [row["ticket"]])
    if as_json:
        _echo_json(row)
        return
    for key in ("id", "ticket", "source", "hidden", "author", "updated_at"):
        click.echo(f"{key:<11}: {row[key]}")
    click.echo(f"\nproblem:\n{row['problem']}\n\nsolution:\n{row['solution']}")


@kb.command("edit")
@click.argument("solution_id", type=int)
@click.argument("text", required=False)
@click.option("--file", "path", type=click.File("r", encoding="utf-8"), help="Read the text.")
def kb_edit(solution_id: int, text: str | None, path: TextIO | None) -> None:
    """Replace a solution's text (TEXT, or --file, or - for stdin)."""
    if path is not None:
        text = path.read()
    elif text == "-":
        text = sys.stdin.read()
    if text is None:
        raise click.UsageError("give the new text, --file FILE, or - to read stdin")
    with _state().db.session() as session:
        solutions.edit(session, solution_id, text, _operator())
    click.echo(f"solution {solution_id} updated")


@kb.command("hide")
@click.argument("solution_id", type=int)
def kb_hide(solution_id: int) -> None:
    """Never suggest this solution again (it stays in the knowledge base)."""
    with _state().db.session() as session:
        solutions.set_hidden(session, solution_id, True)
    click.echo(f"solution {solution_id} hidden: it is never suggested")


@kb.command("unhide")
@click.argument("solution_id", type=int)
def kb_unhide(solution_id: int) -> None:
    """Suggest a hidden solution again."""
    with _state().db.session() as session:
        solutions.set_hidden(session, solution_id, False)
    click.echo(f"solution {solution_id} visible again")


# -- tiket tickets solution --------------------------------------------------------------------


@click.command("solution")
@click.argument("number")
@click.argument("text")
def tickets_solution(number: str, text: str) -> None:
    """Mark TEXT as what solved ticket NUMBER (its knowledge-base entry)."""
    from tiket.desk import Actor
    from tiket.ids import normalise_number
    from tiket.teamwork import mark_solution

    state = _state()
    wanted = normalise_number(number) or number.upper()
    with state.desk() as desk:
        ticket = desk.session.scalar(select(Ticket).where(Ticket.number == wanted))
        if ticket is None:
            raise NotFound(f"no ticket {number}; `tiket tickets list` shows them")
        mark_solution(desk, ticket, text, Actor(_operator(), ""))
    click.echo(f"solution recorded for {wanted}")


# -- tiket learn -------------------------------------------------------------------------------


@click.group()
def learn() -> None:
    """The category classifier: train it on the history, measure it."""


@learn.command("train")
@click.option("--json", "as_json", is_flag=True)
def learn_train(as_json: bool) -> None:
    """Train on every categorised ticket and store the model (daemons pick it up)."""
    from tiket.learn.training import retrain

    state = _state()
    trained = retrain(state.db, state.settings)
    if as_json:
        _echo_json(trained.__dict__)
    else:
        click.echo(f"trained {trained.summary()}")


@learn.command("evaluate")
@click.option("--test-share", default=0.2, show_default=True, help="Share of history held out.")
@click.option("--seed", default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def learn_evaluate(test_share: float, seed: int, as_json: bool) -> None:
    """Accuracy, per-category precision/recall and confusion matrix on held-out history."""
    from tiket.learn.training import evaluate, render

    state = _state()
    result = evaluate(state.db, state.settings, test_share=test_share, seed=seed)
    click.echo(json.dumps(result.as_dict(), indent=2) if as_json else render(result))


LEARN_GROUPS = (kb, learn)
TICKET_VERBS = (tickets_solution,)
