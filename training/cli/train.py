"""`trueclout train`, `trueclout evaluate` and `trueclout models list|show|promote|rollback`.

The analyst's path: train on a labelled snapshot set (the artifact lands in
the models directory as a candidate), read its report, evaluate it on other
labelled data (optionally against another model), and promote it, which
compares it with the active model on the same accounts and shows how many
change risk level.  Heavy libraries are imported inside the commands so
``trueclout --help`` stays fast; progress goes to stderr, results to stdout.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from trueclout.files import write_files
from trueclout.progress import StageProgress

if TYPE_CHECKING:
    import pyarrow as pa

    from trueclout.models.artifact import Artifact
    from trueclout.training.data.labelled import LabelledSet, TrainingSet

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
    models = typer.Typer(help="The model registry: list, show, promote and roll back models.",
                         no_args_is_help=True)
    models.command("list")(list_models)
    models.command("show")(show_model)
    models.command("promote")(promote_model)
    models.command("rollback")(rollback_model)
    app.add_typer(models, name="models")


# ---------------------------------------------------------------------------------------------
# Shared helpers


# Stages with a bar each, on stderr (``TrainingProgress`` of fit.py).
RichProgress = StageProgress


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


def _load(ref: str, *, threads: int = 1) -> Artifact:
    from trueclout.models.artifact import load_artifact

    artifact = load_artifact(_registry().resolve(ref))
    artifact.set_threads(threads)
    return artifact


def _ring_table(labelled: LabelledSet, ring_table: Path | None, no_rings: bool,
                progress: RichProgress) -> pa.Table | None:
    if no_rings:
        return None
    if ring_table is not None:
        from trueclout.features.graph.table import load_ring_table

        return load_ring_table(ring_table)
    from trueclout.training.data.labelled import ring_table as compute_rings

    progress.start("finding rings in the engagement graph", None)
    return compute_rings(labelled)


def _features(labelled: LabelledSet, follower_model: Any, graph: pa.Table | None,
              progress: RichProgress, what: str, digest: str,
              thinning: Any = None) -> TrainingSet:
    from trueclout.training.data.labelled import build_training_set

    progress.start(f"computing features{what}", labelled.n_accounts)
    return build_training_set(labelled, follower_model=follower_model, graph=graph,
                              on_progress=progress.advance, digest=digest, thinning=thinning)


def _follower_components_equal(a: Artifact, b: Artifact) -> bool:
    def files(artifact: Artifact) -> dict[str, str]:
        return {k: v for k, v in artifact.card["files"].items()
                if k.startswith("follower_model/")}

    return files(a) == files(b)


def _features_for(artifacts: list[Artifact], labelled: LabelledSet, graph: pa.Table | None,
                  progress: RichProgress) -> list[TrainingSet]:
    """Features per artifact, computed with its own follower component (shared when equal)."""
    from trueclout.training.data.labelled import data_digest

    digest = data_digest(labelled)
    sets: list[TrainingSet] = []
    for i, artifact in enumerate(artifacts):
        same = next((sets[j] for j in range(i)
                     if _follower_components_equal(artifacts[j], artifact)), None)
        if same is not None:
            sets.append(same)
            continue
        what = f" for {artifact.version}" if len(artifacts) > 1 else ""
        sets.append(_features(labelled, artifact.follower_model, graph, progress, what, digest))
    return sets


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
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
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
    from trueclout.files import utc_now
    from trueclout.models.artifact import running_features
    from trueclout.training.data.labelled import Thinning, open_labelled
    from trueclout.training.fit.account import TrainingConfig, check_device, train_artifact

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
    labelled = open_labelled(data, labels)
    component, component_note = _follower_component(follower_model)
    names, registry_version = running_features()
    registry = _registry()
    target = out or registry.models_dir / f".training-{os.getpid()}"
    with RichProgress(enabled=not quiet) as progress:
        from trueclout.training.data.labelled import data_digest

        thinning = Thinning(thin_share, seed=seed, hide_rings=hide_rings)
        extra = {"follower_model": component_note,
                 "rings": "none" if no_rings else (
                     str(ring_table) if ring_table else "computed over the data"),
                 "labels": str(labelled.labels_path), "notes": labelled.notes,
                 "thinning": thinning.to_json()}
        if dask or scheduler:  # distributed: training/fit/on_dask.py
            from trueclout.training.fit.on_dask import train_with_cluster

            trained = train_with_cluster(
                labelled, config, target, scheduler=scheduler, name=name,
                registry_version=registry_version, follower_model=component,
                ring_table=ring_table, no_rings=no_rings, thinning=thinning,
                write_report=not no_report, progress=progress,
                created_at=utc_now(whole_seconds=True), extra_training=extra)
        else:
            graph = _ring_table(labelled, ring_table, no_rings, progress)
            training_set = _features(labelled, component, graph, progress, "",
                                     data_digest(labelled), thinning)
            if tuple(training_set.feature_names) != tuple(names):
                raise UserError("the feature pipeline returned another feature list than its "
                                "registry; reinstall TrueClout")
            trained = train_artifact(
                training_set, config, target, name=name, registry_version=registry_version,
                follower_model=component, write_report=not no_report, progress=progress,
                created_at=utc_now(whole_seconds=True), overwrite=False, extra_training=extra)
    path = trained.path
    if out is None:
        version = trained.card["version"]
        final = registry.models_dir / version
        if final.exists():
            shutil.rmtree(target)
            typer.echo(f"identical to the existing model {version}; kept that one", err=True)
        else:
            os.replace(target, final)
        path = final
    _print_comparison(trained.evaluation.summary)
    typer.echo(f"model {trained.card['version']} written to {path}")
    if not no_report:
        typer.echo(f"report: {path / 'report' / 'report.html'}")
    typer.echo(f"next: trueclout evaluate {trained.card['version'] if out is None else path} "
               "DATA, then trueclout models promote ... --data DATA")


def _follower_component(choice: str | None) -> tuple[Any, dict[str, Any]]:
    """The follower model to build audience features with, and how it was chosen."""
    from trueclout.errors import UserError

    if choice == "none":
        return None, {"source": "none: audience model columns are unknown (NaN)"}
    if choice is None or choice in ("active", "default"):
        from trueclout.models.artifact import load_artifact

        try:
            artifact = load_artifact(_registry().resolve(choice or "active"))
        except UserError as exc:
            if choice is not None:
                raise
            typer.echo(f"warning: no follower model (the active model is not usable: {exc}); "
                       "audience model features will be unknown. Pass --follower-model.",
                       err=True)
            return None, {"source": f"none (no usable active model: {exc})"}
        return artifact.follower_model, {"source": f"component of model {artifact.version}"}
    from trueclout.models.follower_model import FollowerModel

    return FollowerModel.load(Path(choice)), {"source": f"folder {choice}"}


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
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Evaluate a model on labelled snapshots: metrics, baselines, slices and plots."""
    quiet_openmp()
    from trueclout.training.data.labelled import open_labelled
    from trueclout.training.evaluate.metrics import evaluate_artifact
    from trueclout.training.evaluate.report import render_report

    n_threads = _default_threads(threads)
    artifact = _load(model, threads=n_threads)
    other = _load(against, threads=n_threads) if against else None
    labelled = open_labelled(data, labels)
    with RichProgress(enabled=not quiet) as progress:
        graph = _ring_table(labelled, ring_table, no_rings, progress)
        artifacts = [artifact] + ([other] if other is not None else [])
        sets = _features_for(artifacts, labelled, graph, progress)
        progress.start("scoring and measuring", None)
        evaluation = evaluate_artifact(
            artifact, sets[0], against=(other, sets[1]) if other is not None else None,
            setting=f"evaluation on {data}")
        evaluation.summary["notes"].extend(labelled.notes)
        files = render_report(evaluation)
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
    """Print a model's card (JSON) after checking its digests."""
    from trueclout.models.artifact import verify_files

    card = verify_files(_registry().resolve(model))
    typer.echo(json.dumps(card, indent=2, sort_keys=True))


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
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Make a model active, if it does at least as well as the active one on the same data."""
    quiet_openmp()
    from trueclout.errors import UserError
    from trueclout.models.artifact import load_artifact
    from trueclout.models.registry import RegistryError
    from trueclout.training.data.labelled import open_labelled
    from trueclout.training.evaluate.metrics import evaluate_artifact, promotion_check

    registry = _registry()
    n_threads = _default_threads(threads)
    version = registry.add(registry.resolve(model))
    candidate = load_artifact(registry.models_dir / version)
    candidate.set_threads(n_threads)
    if registry.active_version() == version:
        raise UserError(f"{version} is already the active model")
    try:
        active_path = registry.active()
    except RegistryError:  # nothing promoted and nothing shipped: nothing to compare with
        registry.promote(version, note=note, evidence={"comparison": "no model was active"})
        typer.echo(f"promoted {version} (no model was active, so there was nothing to "
                   "compare with)")
        return
    try:
        active = load_artifact(active_path)
        active.set_threads(n_threads)
    except UserError as exc:
        if not force:
            raise UserError(f"the active model ({active_path}) cannot be evaluated: {exc}; "
                            "promote with --force to replace it without a comparison") from None
        typer.echo(f"warning: active model not comparable ({exc}); promoting by force", err=True)
        event = registry.promote(version, forced=True, note=note,
                                 evidence={"comparison": "active model could not be loaded"})
        typer.echo(f"promoted {version} (forced; previous: {event['previous'] or 'default'})")
        return
    labelled = open_labelled(data, labels)
    with RichProgress(enabled=not quiet) as progress:
        graph = _ring_table(labelled, ring_table, no_rings, progress)
        active_set, candidate_set = _features_for([active, candidate], labelled, graph, progress)
        progress.start("scoring both models", None)
        setting = f"promotion check on {data}"
        active_eval = evaluate_artifact(active, active_set, setting=setting, baselines=False)
        candidate_eval = evaluate_artifact(candidate, candidate_set, setting=setting,
                                           baselines=False)
    check = promotion_check(active_eval, candidate_eval, tolerance)
    _print_promotion(check.rows)
    _print_stability(check.stability, f"active {active.version}", f"candidate {version}")
    if not check.acceptable and not force:
        raise UserError(f"promotion refused: {version} does worse than the active model "
                        f"{active.version} on {', '.join(check.worse)} (tolerance {tolerance}); "
                        "use --force to promote anyway")
    evidence = {"data": str(data), "data_digest": active_set.digest,
                "criteria": check.rows, "stability": check.stability}
    event = registry.promote(version, forced=not check.acceptable, note=note, evidence=evidence)
    forced = " (forced despite: " + ", ".join(check.worse) + ")" if not check.acceptable else ""
    typer.echo(f"promoted {version}{forced}; previous: {event['previous'] or 'shipped default'}")


def _print_promotion(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(title="candidate vs active, same accounts")
    for col in ("criterion", "active", "candidate", "change", ""):
        table.add_column(col, justify="left" if col == "criterion" else "right")
    for row in rows:
        pct = "false-positive" in row["criterion"]
        table.add_row(row["criterion"], _fmt(row["active"], pct), _fmt(row["candidate"], pct),
                      "-" if row["change"] is None else f"{row['change']:+.4f}",
                      "worse" if row["worse"] else "")
    _console().print(table)


def rollback_model(
    note: Annotated[str, typer.Option(help="Why: kept in the registry's history.")] = "",
) -> None:
    """Return to the model that was active before the last promotion."""
    event = _registry().rollback(note=note)
    typer.echo(f"rolled back from {event['previous']} to {event['version'] or 'shipped default'}")
