"""`trueclout followers`: train, evaluate and cross-validate the follower-level model.

Data folders in any supported layout (cresci-2015 CSVs, InstaFake JSON, or a
TrueClout table folder with follower labels) are detected from their file
names; ``--format`` forces one.  Progress goes to stderr, results to stdout;
with ``--json`` stdout carries only one JSON object.  The work is done by
``training.fit.followers`` and ``training.evaluate.followers``; these commands
parse options, read the data, call them and print.
"""

from __future__ import annotations

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
    from trueclout.progress import StageProgress
    from trueclout.training.fit.followers import check_out, train_follower_folder

    check_out(out, overwrite)  # before reading: a wrong --out fails first
    labelled = _read(data, format)
    with StageProgress(transient=True) as progress:
        result = train_follower_folder(labelled, out, seed=seed, threads=threads, trees=trees,
                                       baselines=baselines, overwrite=overwrite,
                                       progress=progress)
    model = result.model
    _metrics_table(f"held-out folds of {data}", result.metrics)
    q = model.quantifier_
    typer.echo(f"threshold {model.threshold_:.3f}; held-out tpr {q.tpr:.3f}, fpr {q.fpr:.3f}")
    typer.echo(f"wrote {out} (model {model.model_id_}) and {result.report}")


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
    import orjson

    from trueclout.models.follower_model import FollowerModel
    from trueclout.training.evaluate.followers import PRIMARY, evaluate_follower_model

    fitted = FollowerModel.load(model, n_jobs=threads)  # before reading: a wrong MODEL fails first
    labelled = _read(data, format)
    figures = evaluate_follower_model(fitted, labelled, report=report, title=f"({data.name})")
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

    from trueclout.progress import StageProgress
    from trueclout.training.evaluate.followers import cross_validation_study

    labelled = _read(data, format)
    with StageProgress(transient=True) as progress:
        results = cross_validation_study(
            labelled, folds=folds, markets=markets, market_folds=market_folds,
            audiences=audiences, draws=draws, baselines=baselines, seed=seed, threads=threads,
            trees=trees, report=report, progress=progress)
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


def register(app: typer.Typer) -> None:
    app.add_typer(followers_app, name="followers")
