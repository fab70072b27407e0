"""`trueclout train BASE --from-feedback EXPORT`: the command's side of ``feedback.retrain``.

Called from ``training.cli.train.train`` (which owns the options); runs
``retrain_from_feedback`` with progress bars on stderr and prints what
changed and whether promotion is proposed.
"""

from __future__ import annotations

from typing import Any

import typer

from trueclout.progress import StageProgress
from trueclout.training.feedback.retrain import FeedbackRetrain, RetrainResult


def train_from_feedback(job: FeedbackRetrain, *, follower_model: str | None,
                        quiet: bool) -> RetrainResult:
    from trueclout.training.cli.train import _print_promotion, _registry
    from trueclout.training.feedback.retrain import retrain_from_feedback
    from trueclout.training.fit.train import follower_component

    registry = _registry()
    follower = follower_component(follower_model, registry)
    if follower.warning:
        typer.echo(follower.warning, err=True)
    with StageProgress(enabled=not quiet) as progress:
        result = retrain_from_feedback(job, follower=follower.model,
                                       follower_note=follower.note, registry=registry,
                                       progress=progress)
    report(result, _print_promotion)
    return result


def report(result: RetrainResult, print_criteria: Any) -> None:
    """What changed, account by account, and the decision, on stdout."""
    comparison = result.comparison
    doc = comparison.to_json()
    held = doc["feedback_holdout"]
    typer.echo(f"candidate {result.version} registered at {result.path}")
    typer.echo(f"held-out feedback: {held['accounts']} account(s); misjudged by the active "
               f"model {comparison.active['version']}: {held['active_errors']}, by the "
               f"candidate: {held['candidate_errors']}")
    for row in comparison.fixed:
        typer.echo(f"  fixed      {row.account_id} ({row.label}): {row.active_level} "
                   f"{row.active_probability:.2f} -> {row.candidate_level} "
                   f"{row.candidate_probability:.2f}")
    for row in comparison.new_errors:
        typer.echo(f"  new error  {row.account_id} ({row.label}): {row.active_level} "
                   f"{row.active_probability:.2f} -> {row.candidate_level} "
                   f"{row.candidate_probability:.2f}")
    base = doc["base_holdout"]
    typer.echo(f"base holdout: {base['accounts']} account(s); {base['fixed']} fixed, "
               f"{base['new_errors']} new error(s)")
    print_criteria(comparison.base_criteria)
    typer.echo(f"comparison: {result.comparison_dir / 'comparison.html'}")
    verdict = "PROPOSED" if comparison.proposed else "not proposed"
    typer.echo(f"promotion {verdict}: " + "; ".join(comparison.reasons))
    if comparison.proposed:
        typer.echo(f"next: trueclout models promote {result.version} --data "
                   f"{result.comparison_dir / 'heldout_feedback'}")
