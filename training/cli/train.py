"""`trueclout train`, `trueclout evaluate` and `trueclout models list|show|promote|rollback`.

The analyst's path: train on a labelled snapshot set (the artifact lands in
the models directory as a candidate), read its report, evaluate it on other
labelled data (optionally against another model), and promote it, which
compares it with the active model on the same accounts and shows how many
change risk level.  The work is done by ``training.fit.train`` and
``training.evaluate.run``; these commands parse options, call them and print.
Heavy libraries are imported inside the commands so ``trueclout --help``
stays fast; progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from trueclout.cli.options import QuietOption
from trueclout.files import write_files
from trueclout.progress import StageProgress

LabelsOption = Annotated[Path | None, typer.Option(
    "--labels", help="Labels table (Parquet, CSV or JSON Lines keyed by account_id); "
    "default: labels.parquet in the data folder or beside the file.")]
RingTableOption = Annotated[Path | None, typer.Option(
    "--ring-table", help="A precomputed ring table (Parquet) instead of computing rings over "
    "the data.")]
NoRingsOption = Annotated[bool, typer.Option(
    "--no-rings", help="Skip the global ring stage: graph features stay unknown (NaN).")]
ThreadsOption = Annotated[int | None, typer.Option(
    "--threads", min=1, help="Threads for XGBoost and the forest (default: all cores).")]


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("evaluate")(evaluate)
    models = typer.Typer(help="The model registry: list, show, sign, promote and roll back "
                              "models.", no_args_is_help=True)
    models.command("list")(list_models)
    models.command("show")(show_model)
    models.command("sign")(sign_model)
    models.command("promote")(promote_model)
    models.command("rollback")(rollback_model)
    app.add_typer(models, name="models")


# ---------------------------------------------------------------------------------------------
# Shared helpers


def quiet_openmp() -> None:
    """Let idle OpenMP threads sleep instead of spinning; call before XGBoost is imported.

    On a machine whose cores are shared, XGBoost's spinning threads wait on
    descheduled ones: one fit measured 0.4 s with passive waiting and 2-24 s
    without, on 2 busy cores.  Has no effect once OpenMP has started.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _settings() -> Any:
    from trueclout.settings import get_settings

    return get_settings()


def _registry() -> Any:
    from trueclout.models.registry import ModelRegistry

    return ModelRegistry(_settings().resolved_models_dir)


def _default_threads(threads: int | None) -> int:
    return threads or max(1, os.cpu_count() or 1)


def _console() -> Any:
    """stdout console; wide when piped, so tables in logs and scripts are never cut."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=160)


def _fmt(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.2f}%" if pct else f"{value:.5f}"


def _print_comparison(summary: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="per target: model and baselines")
    for col in ("target", "learner", "ROC-AUC", "PR-AUC", "Brier", "precision@high",
                "recall@high"):
        table.add_column(col, justify="left" if col in ("target", "learner") else "right")
    for row in summary["comparison"]:
        table.add_row(row["target"], row["learner"], _fmt(row["roc_auc"]), _fmt(row["pr_auc"]),
                      _fmt(row["brier"]), _fmt(row["precision_high"], True),
                      _fmt(row["recall_high"], True))
    console = _console()
    console.print(table)
    for line in summary["hard_negatives"]:
        console.print(f"false-positive rate on genuine '{line['kind']}' accounts "
                      f"(n={line['n']}): high {_fmt(line['fpr_high'], True)}, "
                      f"elevated {_fmt(line['fpr_elevated'], True)}")


def _print_stability(stability: dict[str, Any], before: str, after: str) -> None:
    from rich.table import Table

    console = _console()
    console.print(f"stability: risk level under {before} (rows) and {after} (columns)")
    table = Table()
    table.add_column("")
    for level in stability["levels"]:
        table.add_column(level, justify="right")
    for level, row in zip(stability["levels"], stability["matrix"], strict=True):
        table.add_row(level, *(str(c) for c in row))
    console.print(table)
    console.print(
        f"{stability['unchanged']} of {stability['n']} accounts keep their level; "
        f"{stability['up']} move up, {stability['down']} move down; "
        f"{stability['flag_gained']} gain the flag, {stability['flag_lost']} lose it.")


# ---------------------------------------------------------------------------------------------
# train


def train(
    data: Annotated[Path, typer.Argument(help="Labelled snapshots: a Parquet table folder or a "
                                               "JSON Lines file.")],
    labels: LabelsOption = None,
    out: Annotated[Path | None, typer.Option(
        help="Write the model here instead of into the models directory.")] = None,
    name: Annotated[str, typer.Option(help="Model name shown in assessments.")] = "trueclout",
    folds: Annotated[int, typer.Option(min=2, help="Grouped cross-validation folds.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed for folds and learners.")] = 0,
    threads: ThreadsOption = None,
    device: Annotated[str, typer.Option(help="XGBoost device: cpu or cuda.")] = "cpu",
    trees: Annotated[int, typer.Option(min=1, help="Boosting rounds per target.")] = 300,
    max_depth: Annotated[int, typer.Option(min=1, help="Tree depth.")] = 4,
    learning_rate: Annotated[float, typer.Option(min=0.0001, max=1.0)] = 0.1,
    forest_trees: Annotated[int, typer.Option(min=1, help="Random-forest baseline trees.")] = 50,
    calibration: Annotated[str, typer.Option(
        help="sigmoid (Platt; keeps the learner's ranking) or isotonic.")] = "sigmoid",
    elevated_precision: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Precision at which 'elevated' starts.")] = 0.80,
    high_precision: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Precision at which 'high' (the flag) starts.")] = 0.95,
    follower_model: Annotated[str | None, typer.Option(
        "--follower-model", help="A follower-model folder, 'active' or 'default' (that model's "
        "follower component), or 'none'. Default: the active model's.")] = None,
    ring_table: RingTableOption = None,
    no_rings: NoRingsOption = False,
    thin_share: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Share of accounts whose snapshots are cut short at random "
        "(fewer followers, a shorter window) so the model learns that thin data is not "
        "evidence; use when these snapshots are fuller than those the service scores.")] = 0.0,
    hide_rings: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Share of accounts whose ring-table features are hidden at "
        "random, so the model also judges rings from the snapshot alone (as the service does "
        "for accounts its ring table does not cover).")] = 0.5,
    no_report: Annotated[bool, typer.Option("--no-report", help="Skip the HTML report.")] = False,
    quiet: QuietOption = False,
    from_feedback: Annotated[Path | None, typer.Option(
        "--from-feedback", help="A `trueclout feedback export` folder: train on DATA plus these "
        "labels and compare with the active model on held-out feedback (docs/ANALYSTS.md).")]
    = None,
    feedback_weight: Annotated[int, typer.Option(
        min=1, max=100, help="With --from-feedback: base accounts one label counts as.")] = 5,
    holdout_share: Annotated[float, typer.Option(
        min=0.05, max=0.9, help="With --from-feedback: share of it held out to compare.")] = 0.3,
    dask: Annotated[bool, typer.Option(
        "--dask", help="Train on a new local Dask cluster with xgboost.dask "
        "(docs/SCALE.md).")] = False,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Train on the Dask cluster at ADDRESS (implies --dask); DATA must "
        "be a table folder its workers can read.")] = None,
) -> None:
    """Train the account-level model on labelled snapshots; the result is a candidate model."""
    quiet_openmp()
    from trueclout.errors import UserError
    from trueclout.training.fit.account import TrainingConfig, check_device
    from trueclout.training.fit.train import TrainJob, TrainRequest

    if calibration not in ("isotonic", "sigmoid"):
        raise UserError(f"--calibration must be 'isotonic' or 'sigmoid', not {calibration!r}")
    if elevated_precision > high_precision:
        raise UserError("--elevated-precision must not exceed --high-precision")
    check_device(device)  # before any long work
    config = TrainingConfig(
        folds=folds, seed=seed, threads=_default_threads(threads), device=device, trees=trees,
        max_depth=max_depth, learning_rate=learning_rate, forest_trees=forest_trees,
        calibration=calibration,
        precision_targets={"elevated": elevated_precision, "high": high_precision},
    )
    if from_feedback is not None and (dask or scheduler):
        raise UserError("--from-feedback trains in-process; drop --dask/--scheduler")
    if from_feedback is not None:  # the analysts' loop: training/feedback/retrain.py
        from trueclout.training.cli.feedback_retrain import FeedbackRetrain, train_from_feedback

        if out is not None:
            raise UserError("--out does not combine with --from-feedback (the candidate goes "
                            "into the models directory, to be compared and promoted)")
        train_from_feedback(FeedbackRetrain(
            data, from_feedback, labels, config, name, weight=feedback_weight,
            holdout_share=holdout_share, thin_share=thin_share, hide_rings=hide_rings,
            ring_table=ring_table,
            no_rings=no_rings, write_report=not no_report), follower_model=follower_model,
            quiet=quiet)
        return
    job = TrainJob.open(TrainRequest(
        data, labels, config, name, out=out, follower_model=follower_model,
        ring_table=ring_table, no_rings=no_rings, thin_share=thin_share, hide_rings=hide_rings,
        write_report=not no_report, dask=dask, scheduler=scheduler), _registry())
    for warning in job.warnings:
        typer.echo(warning, err=True)
    with StageProgress(enabled=not quiet) as progress:
        outcome = job.run(progress)
    if outcome.existed:
        typer.echo(f"identical to the existing model {outcome.version}; kept that one", err=True)
    _print_comparison(outcome.trained.evaluation.summary)
    typer.echo(f"model {outcome.version} written to {outcome.path}")
    if not no_report:
        typer.echo(f"report: {outcome.path / 'report' / 'report.html'}")
    typer.echo(f"next: trueclout evaluate {outcome.version if out is None else outcome.path} "
               "DATA, then trueclout models promote ... --data DATA")


# ---------------------------------------------------------------------------------------------
# evaluate


def evaluate(
    model: Annotated[str, typer.Argument(help="A model folder, a version in the registry, "
                                              "'active' or 'default'.")],
    data: Annotated[Path, typer.Argument(help="Labelled snapshots (table folder or JSON Lines).")],
    labels: LabelsOption = None,
    against: Annotated[str | None, typer.Option(
        help="Another model to compare with on the same accounts.")] = None,
    out: Annotated[Path | None, typer.Option(
        help="Folder for report.html and report.json (default: ./evaluation-VERSION; "
             "with --json, none unless given).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print only the report's JSON to stdout.")] = False,
    threads: ThreadsOption = None,
    ring_table: RingTableOption = None,
    no_rings: NoRingsOption = False,
    quiet: QuietOption = False,
) -> None:
    """Evaluate a model on labelled snapshots: metrics, baselines, slices and plots."""
    quiet_openmp()
    from trueclout.training.evaluate.run import EvaluateRequest, EvaluationJob

    job = EvaluationJob.open(EvaluateRequest(
        model, data, labels, against=against, threads=_default_threads(threads),
        ring_table=ring_table, no_rings=no_rings), _registry())
    with StageProgress(enabled=not quiet) as progress:
        outcome = job.run(progress)
    artifact, evaluation, files = outcome.artifact, outcome.evaluation, outcome.files
    folder = out if out is not None or as_json else Path(f"evaluation-{artifact.version}")
    if folder is not None:
        write_files(folder, files)
    if as_json:
        typer.echo(files["report.json"].decode(), nl=False)
        return
    _print_comparison(evaluation.summary)
    if evaluation.summary.get("against"):
        _print_stability(evaluation.summary["against"]["stability"], str(against),
                         artifact.version)
    typer.echo(f"report: {folder / 'report.html'}")


# ---------------------------------------------------------------------------------------------
# models list | show | promote | rollback


def list_models() -> None:
    """Models in the models directory and the shipped default; '*' marks the active one."""
    from rich.table import Table

    registry = _registry()
    table = Table(title=f"models in {registry.models_dir}")
    for col in ("", "version", "name", "created", "overall ROC-AUC (CV)", "overall PR-AUC (CV)",
                "path"):
        table.add_column(col)
    for entry in registry.list():
        overall = entry.metrics.get("overall", {})
        table.add_row("*" if entry.active else "", entry.version,
                      entry.name + (" (shipped)" if entry.shipped else ""),
                      entry.created_at or "-", _fmt(overall.get("roc_auc")),
                      _fmt(overall.get("pr_auc")), str(entry.path))
    _console().print(table)


def show_model(
    model: Annotated[str, typer.Argument(help="A model folder, a version, 'active' or "
                                              "'default'.")] = "active",
) -> None:
    """Print a model's card (JSON) after checking its digests; stderr says if it is signed."""
    from trueclout.models import signing
    from trueclout.models.artifact import CARD_FILE, verify_files

    path = _registry().resolve(model)
    card = verify_files(path)
    typer.echo(json.dumps(card, indent=2, sort_keys=True))
    status = signing.check(card, path / CARD_FILE, signing.signing_key())
    typer.echo(f"signature: {signing.STATUS_NOTES[status]}", err=True)


def sign_model(
    model: Annotated[str, typer.Argument(help="A model folder, a version, 'active' or "
                                              "'default'.")],
) -> None:
    """Sign a model with TRUECLOUT_MODEL_SIGNING_KEY, after checking every file's digest.

    With the key set only signed models load: sign the models you trust that
    were built before the key existed (the shipped default among them).
    """
    from trueclout.models.artifact import sign_artifact

    path = _registry().resolve(model)
    card = sign_artifact(path)
    typer.echo(f"signed model {card['version']} in {path}")


def promote_model(
    model: Annotated[str, typer.Argument(help="A model folder or a version in the registry.")],
    data: Annotated[Path, typer.Option(
        help="Labelled snapshots both models are evaluated on (the same accounts).")],
    labels: LabelsOption = None,
    force: Annotated[bool, typer.Option(
        help="Promote even if the candidate does worse than the active model.")] = False,
    tolerance: Annotated[float, typer.Option(
        min=0.0, help="How much worse a criterion may get before promotion is refused.")] = 0.005,
    note: Annotated[str, typer.Option(help="Why: kept in the registry's history.")] = "",
    threads: ThreadsOption = None,
    ring_table: RingTableOption = None,
    no_rings: NoRingsOption = False,
    quiet: QuietOption = False,
) -> None:
    """Make a model active, if it does at least as well as the active one on the same data."""
    quiet_openmp()
    from trueclout.training.evaluate.run import (
        ACTIVE_NOT_LOADABLE,
        NO_ACTIVE_MODEL,
        PromoteRequest,
        PromotionJob,
    )

    job = PromotionJob.open(PromoteRequest(
        model, data, labels, force=force, tolerance=tolerance, note=note,
        threads=_default_threads(threads), ring_table=ring_table, no_rings=no_rings), _registry())
    if job.active is not None:
        with StageProgress(enabled=not quiet) as progress:
            check = job.compare(progress)
        _print_promotion(check.rows)
        _print_stability(check.stability, f"active {job.active.version}",
                         f"candidate {job.version}")
    for warning in job.warnings:
        typer.echo(warning, err=True)
    outcome = job.promote()
    previous = outcome.event["previous"]
    if outcome.without_comparison == NO_ACTIVE_MODEL:
        typer.echo(f"promoted {outcome.version} (no model was active, so there was nothing to "
                   "compare with)")
    elif outcome.without_comparison == ACTIVE_NOT_LOADABLE:
        typer.echo(f"promoted {outcome.version} (forced; previous: {previous or 'default'})")
    else:
        worse = outcome.check.worse if outcome.check is not None else []
        forced = " (forced despite: " + ", ".join(worse) + ")" if outcome.forced else ""
        typer.echo(f"promoted {outcome.version}{forced}; previous: "
                   f"{previous or 'shipped default'}")


def _print_promotion(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title="candidate vs active, same accounts")
    for col in ("criterion", "active", "candidate", "change", "95% interval of change",
                "verdict"):
        table.add_column(col, justify="left" if col in ("criterion", "verdict") else "right")
    for row in rows:
        pct = "rate" in row["criterion"] or "recall" in row["criterion"]
        interval = row.get("change_interval")
        table.add_row(row["criterion"], _fmt(row["active"], pct), _fmt(row["candidate"], pct),
                      "-" if row["change"] is None else f"{row['change']:+.4f}",
                      "" if interval is None else f"{interval[0]:+.4f} to {interval[1]:+.4f}",
                      row.get("note", "worse" if row["worse"] else ""))
    _console().print(table)


def rollback_model(
    note: Annotated[str, typer.Option(help="Why: kept in the registry's history.")] = "",
) -> None:
    """Return to the model that was active before the last promotion."""
    event = _registry().rollback(note=note)
    typer.echo(f"rolled back from {event['previous']} to {event['version'] or 'shipped default'}")
