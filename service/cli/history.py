"""`trueclout history PLATFORM:ID`: an account's stored assessments, newest first.

The same rows as ``GET /v1/accounts/{platform}/{account_id}/history`` with an
analyst key (``service/db/assessments.account_history``), from the database of
the current settings.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer


def history(
    account: Annotated[str, typer.Argument(
        help="The account, as PLATFORM:ID (for example twitter:12345).")],
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many points.")]
    = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines on stdout.")] = False,
) -> None:
    """An account's score trajectory: every stored assessment, newest first."""
    from trueclout.service.analysts.retention import parse_account
    from trueclout.service.cli.common import call
    from trueclout.service.db.assessments import account_history

    platform, account_id = parse_account(account)

    def points(*, session: Any) -> tuple[list[dict[str, Any]], bool]:
        rows, more = account_history(session=session, platform=platform,
                                     account_id=account_id, limit=limit)
        return [_point(row) for row in rows], more is not None

    rows, more = call(points)
    if as_json:
        import json

        for row in rows:
            typer.echo(json.dumps(row, default=str))
    else:
        _print(rows)
    tail = "; older ones exist (raise --limit)" if more else ""
    typer.echo(f"{len(rows)} assessment(s) of {platform}:{account_id}{tail}", err=True)


def _point(row: Any) -> dict[str, Any]:
    """The fields the API's history point shows, read inside the transaction."""
    return {"assessment_id": row.assessment_id, "scored_at": row.scored_at,
            "raw_score": row.raw_score, "adjusted_score": row.adjusted_score,
            "risk_level": row.risk_level, "risk_probability": row.risk_probability,
            "flag": row.risk_flag, "confidence_level": row.confidence_level,
            "model": f"{row.model_name} {row.model_version}"}


def _print(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    def score(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    table = Table("scored at", "raw", "adjusted", "risk", "P(manipulated)", "confidence",
                  "model", "assessment")
    for row in rows:
        table.add_row(row["scored_at"].strftime("%Y-%m-%d %H:%M"), score(row["raw_score"]),
                      score(row["adjusted_score"]), row["risk_level"] + (" (flag)" if row["flag"]
                                                                         else ""),
                      f"{row['risk_probability']:.4f}", row["confidence_level"], row["model"],
                      row["assessment_id"])
    Console(width=160).print(table)


def register(app: typer.Typer) -> None:
    app.command("history")(history)
