"""`trueclout followers`: train, evaluate and cross-validate the follower-level model.

Data folders in any supported layout (cresci-2015 CSVs, InstaFake JSON, or a
TrueClout table folder with follower labels) are detected from their file
names; ``--format`` forces one.  Progress goes to stderr, results to stdout;
with ``--json`` stdout carries only one JSON object.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from trueclout.training.data.followers import LabelledFollowers

followers_app = typer.Typer(
    name="followers",
    help="The follower-level model: is a follower profile bought? Train, evaluate, validate.",
    no_args_is_help=True,
)

REPORT_DIR = "report"
METRICS_FILE = "metrics.json"


class DataFormat(StrEnum):
    auto = "auto"
    cresci = "cresci"
    instafake = "instafake"
    tables = "tables"


DataOption = Annotated[Path, typer.Option(
    "--data", help="Folder of labelled followers: humans_*.csv/fakes_*.csv (cresci), "
                   "realAccountData.json/fakeAccountData.json (instafake), or followers.parquet "
                   "+ follower_labels.parquet (tables).")]
FormatOption = Annotated[DataFormat, typer.Option(
    "--format", help="Layout of --data (auto: detect from file names).")]
SeedOption = Annotated[int, typer.Option(help="Random seed for folds, noise and trees.")]
ThreadsOption = Annotated[int, typer.Option("--threads", min=1, help="XGBoost threads.")]
TreesOption = Annotated[int, typer.Option("--trees", min=1, help="Boosting rounds of XGBoost.")]
DEFAULT_TREES = 200


def _read(data: Path, fmt: DataFormat) -> LabelledFollowers:
    from trueclout.training.data.followers import read_followers

    return read_followers(data, None if fmt is DataFormat.auto else fmt.value)


@contextmanager
def _progress(total: int | None, quiet: bool = False) -> Iterator[Any]:
    """One bar on stderr, cleared when done; yields ``step(description, advance=1)``."""
    from trueclout.progress import StageProgress

    with StageProgress(not quiet, transient=True) as progress:
        progress.start("starting", total)

        def step(description: str, advance: int = 1) -> None:
            progress.describe(description)
            progress.advance(advance)

        yield step


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _metrics_table(title: str, rows: dict[str, dict[str, Any]]) -> None:
    """One column per learner, one row per figure (fits a terminal however many learners)."""
    from rich.console import Console
    from rich.table import Table

    from trueclout.training.evaluate.followers import METRIC_KEYS

    table = Table(title=title)
    table.add_column("figure")
    for name in rows:
        table.add_column(name, justify="right")
    for key in METRIC_KEYS:
        table.add_row(key, *(_fmt(metrics.get(key)) for metrics in rows.values()))
    Console().print(table)


# --- train ---------------------------------------------------------------------------------


@followers_app.command()
def train(
    data: DataOption,
    out: Annotated[Path, typer.Option("--out", help="Model folder to write.")],
    format: FormatOption = DataFormat.auto,
    seed: SeedOption = 0,
    threads: ThreadsOption = 1,
    trees: TreesOption = DEFAULT_TREES,
    baselines: Annotated[bool, typer.Option(
        help="Also cross-validate the logistic-regression and random-forest baselines.")] = True,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing model folder.")] = False,
) -> None:
    """Train the follower model on DATA and write it, with its evaluation report, to OUT.

    The report (OUT/report: metrics.json and PNG plots) is measured on the
    held-out folds the model chose its calibration and threshold on.
    """
    from trueclout.errors import UserError
    from trueclout.models.follower_model import FollowerModel, follower_baselines
    from trueclout.training.evaluate.followers import (
        BASELINE_THRESHOLD,
        PRIMARY,
        classification_metrics,
        data_summary,
        write_json,
        write_plots,
    )

    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UserError(f"{out}: exists and is not empty; choose another --out or add --overwrite")
    labelled = _read(data, format)
    X, y = labelled.signals(), labelled.labels
    model = FollowerModel(random_state=seed, n_jobs=threads, n_estimators=trees)
    with _progress(2 + (2 if baselines else 0)) as step:
        step("reading profiles")
        step(f"training xgboost ({model.folds} held-out folds, then all {len(y):,} profiles)", 0)
        model.fit(X, y)
        probabilities = {PRIMARY: model.oof_probability_}
        flagged = {PRIMARY: model.oof_probability_ >= model.threshold_}
        step("trained xgboost")
        if baselines:
            from sklearn.model_selection import StratifiedKFold, cross_val_predict

            folds = StratifiedKFold(model.folds, shuffle=True, random_state=seed)
            for name, estimator in follower_baselines(seed, threads).items():
                step(f"cross-validating {name}", 0)
                p = cross_val_predict(estimator, X, y, cv=folds, method="predict_proba")[:, 1]
                probabilities[name] = p
                flagged[name] = p >= BASELINE_THRESHOLD
                step(f"cross-validated {name}")
    metrics = {name: classification_metrics(y, p, flagged[name])
               for name, p in probabilities.items()}
    model.save(out, extra={"data": data_summary(labelled)})
    report = out / REPORT_DIR
    plots = write_plots(report, y, probabilities, threshold=model.threshold_,
                        importance=model.feature_importance(), title="(held-out folds)")
    write_json(report / METRICS_FILE, {
        "model_id": model.model_id_,
        "data": data_summary(labelled),
        "held_out": f"{model.folds}-fold stratified, seed {seed}; xgboost at its stored "
                    f"threshold, baselines at {BASELINE_THRESHOLD}",
        "threshold": model.threshold_,
        "quantifier": model.quantifier_.to_dict(),
        "metrics": metrics,
        "feature_importance": model.feature_importance(),
        "plots": plots,
    })
    _metrics_table(f"held-out folds of {data}", metrics)
    q = model.quantifier_
    typer.echo(f"threshold {model.threshold_:.3f}; held-out tpr {q.tpr:.3f}, fpr {q.fpr:.3f}")
    typer.echo(f"wrote {out} (model {model.model_id_}) and {report}")


# --- evaluate ------------------------------------------------------------------------------


@followers_app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(help="A follower model folder (from train).")],
    data: DataOption,
    format: FormatOption = DataFormat.auto,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print only a JSON object of the figures to stdout.")] = False,
    report: Annotated[Path | None, typer.Option(
        help="Also write metrics.json and PNG plots to this folder.")] = None,
    threads: ThreadsOption = 1,
) -> None:
    """Score DATA with MODEL at its stored threshold: metrics, and the fake share of DATA.

    Works with one class only (a folder of humans, say): figures that need
    both classes (MCC, ROC-AUC, PR-AUC) are then null.
    """
    import numpy as np
    import orjson

    from trueclout.models.follower_model import FollowerModel
    from trueclout.training.evaluate.followers import (
        PRIMARY,
        classification_metrics,
        data_summary,
        write_json,
        write_plots,
    )

    fitted = FollowerModel.load(model, n_jobs=threads)
    labelled = _read(data, format)
    y = labelled.labels
    p = fitted.fake_probability(labelled.signals())
    flagged = p >= fitted.threshold_
    estimate = fitted.quantifier_.estimate(np.array([flagged.sum()], float),
                                           np.array([len(flagged)], float))
    figures: dict[str, Any] = classification_metrics(y, p, flagged)
    figures |= {
        "threshold": fitted.threshold_,
        "model_id": fitted.model_id_,
        "fake_share": {
            "true": float(y.mean()),
            "estimated": float(estimate.share[0]),
            "low": float(estimate.low[0]),
            "high": float(estimate.high[0]),
            "flagged": float(flagged.mean()),
        },
        "data": data_summary(labelled),
    }
    if report is not None:
        figures["plots"] = write_plots(report, y, {PRIMARY: p}, threshold=fitted.threshold_,
                                       importance=fitted.feature_importance(),
                                       title=f"({data.name})")
        write_json(report / METRICS_FILE, figures)
    if as_json:
        typer.echo(orjson.dumps(figures, option=orjson.OPT_SERIALIZE_NUMPY).decode())
        return
    _metrics_table(f"{model.name} on {data}", {PRIMARY: figures})
    share = figures["fake_share"]
    typer.echo(f"fake share of the whole set: true {share['true']:.3f}, estimated "
               f"{share['estimated']:.3f} (95% interval {share['low']:.3f}-{share['high']:.3f})")
    lacks = figures["data"]["lacks"]
    if lacks:
        typer.echo(f"this data has no {', '.join(lacks)} (unknown to the model, not zero)")
    if report is not None:
        typer.echo(f"wrote {report}")


# --- cross-validate ------------------------------------------------------------------------


@followers_app.command("cross-validate")
def cross_validate_command(
    data: DataOption,
    format: FormatOption = DataFormat.auto,
    folds: Annotated[int, typer.Option(min=2, help="Stratified folds.")] = 10,
    markets: Annotated[bool, typer.Option(
        help="Also leave each fake market (group) out in turn, where there are two or more."
    )] = True,
    market_folds: Annotated[int, typer.Option(
        min=2, help="Folds the humans rotate through when a market is left out.")] = 5,
    audiences: Annotated[bool, typer.Option(
        help="Also quantify semi-real audiences mixed from held-out profiles.")] = True,
    draws: Annotated[int, typer.Option(min=10, help="Audiences per (size, share) and fold.")]
    = 200,
    baselines: Annotated[bool, typer.Option(help="Also run the baselines.")] = True,
    seed: SeedOption = 0,
    threads: ThreadsOption = 1,
    trees: TreesOption = DEFAULT_TREES,
    report: Annotated[Path | None, typer.Option(
        help="Write metrics.json and PNG plots to this folder.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON to stdout.")] = False,
) -> None:
    """The honest evaluation: k-fold CV, leave-one-market-out, and semi-real audiences."""
    import orjson

    from trueclout.models.follower_model import FollowerModel, follower_baselines
    from trueclout.training.evaluate import followers as fe

    labelled = _read(data, format)

    def make_model() -> FollowerModel:
        return FollowerModel(random_state=seed, n_jobs=threads, n_estimators=trees)

    learners = 1 + (len(follower_baselines()) if baselines else 0)
    market_names = fe.fake_markets(labelled) if markets else []
    do_markets = len(market_names) >= 2
    total = folds * learners + (len(market_names) * market_folds * learners if do_markets else 0)
    total += 2 if audiences else 0
    results: dict[str, Any] = {"data": fe.data_summary(labelled)}
    with _progress(total, quiet=False) as step:
        cv = fe.cross_validate(labelled, folds=folds, seed=seed, baselines=baselines,
                               make_model=make_model, n_jobs=threads, progress=step)
        results["cross_validation"] = {
            "folds": folds,
            "metrics": {name: h.metrics() for name, h in cv.items()},
            "mcc_per_fold": {name: h.per_fold("mcc") for name, h in cv.items()},
        }
        if do_markets:
            lomo = fe.leave_one_market_out(labelled, human_folds=market_folds, seed=seed,
                                           make_model=make_model, baselines=baselines,
                                           n_jobs=threads, progress=step)
            results["leave_one_market_out"] = {
                market: {
                    "trained_on": [m for m in market_names if m != market],
                    "metrics": {name: h.metrics() for name, h in by_learner.items()},
                    "audiences": (fe.summarise_audiences(fe.semi_real_audiences(
                        by_learner[fe.PRIMARY], draws=draws, seed=seed)) if audiences else None),
                }
                for market, by_learner in lomo.items()
            }
        elif markets:
            results["leave_one_market_out"] = (
                f"skipped: needs fakes from two or more groups, found {market_names or 'none'}")
        if audiences:
            step("semi-real audiences: 2-fold models", 0)
            halves = fe.cross_validate(labelled, folds=2, seed=seed, baselines=False,
                                       make_model=make_model, n_jobs=threads)
            step("semi-real audiences: mixing")
            cells = fe.semi_real_audiences(halves[fe.PRIMARY], draws=draws, seed=seed)
            results["audiences"] = {
                "design": "2 stratified halves; each half's model quantifies audiences mixed "
                          f"from the other half, {draws} draws per (size, share) and half",
                "by_size": fe.summarise_audiences(cells),
                "cells": [vars(c) for c in cells],
            }
            step("semi-real audiences: done")
    if report is not None:
        primary = cv[fe.PRIMARY]
        probabilities = {name: _in_row_order(h) for name, h in cv.items()}
        results["plots"] = fe.write_plots(
            report, labelled.labels, probabilities,
            threshold=float(sum(r.threshold for r in primary.runs) / len(primary.runs)),
            audiences=results.get("audiences", {}).get("by_size"),
            title=f"({folds}-fold CV)",
        )
        fe.write_json(report / METRICS_FILE, results)
    if as_json:
        typer.echo(orjson.dumps(results, option=orjson.OPT_SERIALIZE_NUMPY).decode())
        return
    _metrics_table(f"{folds}-fold stratified CV on {data}",
                   results["cross_validation"]["metrics"])
    lomo_results = results.get("leave_one_market_out")
    if isinstance(lomo_results, dict):
        for market, r in lomo_results.items():
            _metrics_table(f"market {market} held out (trained on humans + "
                           f"{', '.join(r['trained_on'])})", r["metrics"])
            if r["audiences"]:
                _audience_lines(f"audiences with market {market} unseen", r["audiences"])
    elif lomo_results:
        typer.echo(lomo_results)
    if audiences:
        _audience_lines("semi-real audiences", results["audiences"]["by_size"])
    if report is not None:
        typer.echo(f"wrote {report}")


def _audience_lines(title: str, rows: list[dict[str, Any]]) -> None:
    typer.echo(f"{title} (fake share 0-90%): followers sampled, MAE, interval coverage")
    for row in rows:
        typer.echo(f"  {row['size']:>5}  MAE {row['mae']:.4f}  coverage {row['coverage']:.3f}"
                   f"  (worst share {row['worst_coverage']:.3f}, "
                   f"largest bias {row['max_abs_bias']:.3f})")


def _in_row_order(held_out: Any) -> Any:
    """Pooled held-out probabilities put back in the data's row order."""
    import numpy as np

    out = np.empty(len(held_out.y))
    out[held_out.rows] = held_out.probability
    return out


def register(app: typer.Typer) -> None:
    app.add_typer(followers_app, name="followers")
