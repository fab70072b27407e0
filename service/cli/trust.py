"""`trueclout trust-check`: a recruiter's check of a claimed score, from a terminal.

The same check as ``POST /v1/trust-check`` (``service/trust/check.py``): the
active model scores the snapshot, the report is stored for
``TRUECLOUT_TRUST_REPORT_TTL_DAYS`` and its page can be shared from a server
running with the same settings.  Platform and handle come from the snapshot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def trust_check(
    snapshot: Annotated[Path | None, typer.Argument(
        help="The account's snapshot: a JSON file with one AccountSnapshot.")] = None,
    claimed_score: Annotated[float, typer.Option(
        "--claimed-score", min=0, max=100, help="The influence score you were shown (0-100).")]
    = ...,  # type: ignore[assignment]
    assessment_id: Annotated[str | None, typer.Option(
        "--assessment-id", help="Instead of SNAPSHOT: a stored assessment, scored again "
        "with the active model (needs --platform and --handle).")] = None,
    platform: Annotated[str | None, typer.Option(
        help="With --assessment-id: the account's platform.")] = None,
    handle: Annotated[str | None, typer.Option(
        help="With --assessment-id: the account's handle.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check a claimed influence score: the verdict, the adjusted score, why; stores the report."""
    import asyncio

    from trueclout.errors import UserError
    from trueclout.service.cli.common import open_database, service_errors
    from trueclout.service.scoring import scorer as scoring
    from trueclout.service.trust.check import run_trust_check
    from trueclout.settings import get_settings

    request = _request(snapshot, claimed_score, assessment_id, platform, handle)
    settings = get_settings()
    try:
        model = scoring.require_ready(scoring.load_scorer(settings))
    except scoring.ModelNotLoaded as exc:
        raise UserError(str(exc)) from exc
    database = open_database()
    try:
        with service_errors():
            report, body = asyncio.run(run_trust_check(
                request, scorer=model, database=database, settings=settings, api_key_id=None))
    finally:
        database.dispose()
    if as_json:
        typer.echo(body)
        return
    _print(report)


def _request(snapshot: Path | None, claimed_score: float, assessment_id: str | None,
             platform: str | None, handle: str | None) -> Any:
    """The request the API would get, refused the way the CLI refuses: one line naming why."""
    from pydantic import ValidationError

    from trueclout.contract import describe_errors
    from trueclout.errors import UserError
    from trueclout.io import iter_records
    from trueclout.service.trust.request import TrustCheckRequest

    if (snapshot is None) == (assessment_id is None):
        raise UserError("give a SNAPSHOT file or --assessment-id, one of the two")
    fields: dict[str, Any] = {"claimed_score": claimed_score, "platform": platform,
                              "handle": handle, "assessment_id": assessment_id}
    if snapshot is not None:
        records = iter_records(snapshot)
        first = next(records, None)
        if first is None or next(records, None) is not None:
            raise UserError(f"{snapshot}: a trust check reads exactly one snapshot")
        if first.error is not None:
            raise UserError(f"{snapshot}: " + "; ".join(first.error.lines()))
        found = first.snapshot
        fields |= {"snapshot": found, "platform": platform or found.platform,
                   "handle": handle or found.profile.username}
    elif platform is None or handle is None:
        raise UserError("--assessment-id needs --platform and --handle")
    try:
        return TrustCheckRequest.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{d['field']}: {d['reason']}" for d in describe_errors(exc))
        raise UserError(f"trust check refused: {problems}") from None


def _print(report: Any) -> None:
    scores = report.scores
    adjusted = "-" if scores.adjusted is None else f"{scores.adjusted:.1f}"
    typer.echo(f"{report.subject.platform} @{report.subject.handle.lstrip('@')}: "
               f"{report.verdict.headline}")
    typer.echo(f"  verdict: {report.verdict.level}; {report.verdict.summary}")
    typer.echo(f"  claimed score {scores.claimed:.1f}, adjusted {adjusted}")
    for reason in report.reasons:
        typer.echo(f"  - {reason.message}")
    typer.echo(f"  report {report.report_id} (until {report.expires_at:%Y-%m-%d}); "
               f"page: {report.links.page}")


def register(app: typer.Typer) -> None:
    app.command("trust-check")(trust_check)
