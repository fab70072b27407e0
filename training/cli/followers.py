"""`trueclout followers`: train, evaluate and cross-validate the follower-level model.

Data folders in any supported layout (cresci-2015 CSVs, InstaFake JSON, or a
TrueClout table folder with follower labels) are detected from their file
names; ``--format`` forces one for every folder.  ``--data`` may be given
several times and may name a root of data-set folders (``../shared/datasets``):
subfolders in no known layout are skipped with a one-line note on stderr, and
``--platform`` keeps only the profiles of some platforms.  ``evaluate`` takes a
follower model folder, an account-model artifact that carries one, or the word
``default`` (the shipped model).  Progress goes to stderr, results to stdout;
with ``--json`` stdout carries only one JSON object.  The work is done by
``training.fit.followers`` and ``training.evaluate.followers``; these commands
parse options, read the data, call them and print.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from trueclout.cli.options import QuietOption

if TYPE_CHECKING:
    from trueclout.models.follower_model import FollowerModel
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


class Platform(StrEnum):
    twitter = "twitter"
    instagram = "instagram"
    synthetic = "synthetic"


DataOption = Annotated[list[Path], typer.Option(
    "--data", help="Folder of labelled followers: humans_*.csv/fakes_*.csv (cresci), "
                   "realAccountData.json/fakeAccountData.json (instafake), or followers.parquet "
                   "+ follower_labels.parquet (tables); or a folder of such folders. Repeatable.")]
FormatOption = Annotated[DataFormat, typer.Option(
    "--format", help="Layout of every --data folder (auto: detect from file names).")]
PlatformOption = Annotated[list[Platform] | None, typer.Option(
    "--platform", help="Keep only profiles from this platform (repeatable; default: all).")]
SeedOption = Annotated[int, typer.Option(help="Random seed for folds, noise and trees.")]
ThreadsOption = Annotated[int, typer.Option("--threads", min=1, help="XGBoost threads.")]
TreesOption = Annotated[int, typer.Option("--trees", min=1, help="Boosting rounds of XGBoost.")]
DEFAULT_TREES = 200


def _read(data: list[Path], fmt: DataFormat,
          platforms: list[Platform] | None = None) -> LabelledFollowers:
    """Every --data folder as one set (skipped folders noted on stderr), then --platform."""
    from trueclout.training.data.followers import read_labelled, who_follow

    labelled = read_labelled(data, None if fmt is DataFormat.auto else fmt.value)
    skipped = labelled.folders.skipped
    if skipped:
        typer.echo(f"skipped {len(skipped)} folder(s) with no labelled followers: "
                   f"{', '.join(str(p) for p in skipped)}", err=True)
    if platforms:
        labelled = labelled.select(platforms=[p.value for p in platforms])
    followers = who_follow(labelled)
    if len(followers) < len(labelled):
        typer.echo(f"kept {len(followers):,} of {len(labelled):,} profiles: those that follow "
                   "nobody never appear in a follower sample", err=True)
    return followers


def _describe(data: list[Path]) -> str:
    return ", ".join(str(p) for p in data)


def _load_follower_model(model: Path, threads: int) -> FollowerModel:
    """A follower model folder, an account-model artifact's follower part, or ``default``."""
    from trueclout.errors import UserError
    from trueclout.models.artifact import CARD_FILE, SHIPPED_DIR, load_artifact
    from trueclout.models.follower_model import MANIFEST_FILE, FollowerModel

    folder = SHIPPED_DIR if str(model) == "default" else model
    if (folder / CARD_FILE).is_file():
        artifact = load_artifact(folder, nthread=threads)
        fitted = artifact.follower_model
        if fitted is None:
            raise UserError(f"{model}: this model artifact has no follower model; give a "
                            "folder from `trueclout followers train`, or `default`")
        fitted.n_jobs = threads
        fitted.booster_.set_param({"nthread": threads})
        return fitted
    if folder.is_dir() and not (folder / MANIFEST_FILE).is_file():
        raise UserError(f"{model}: not a follower model (no {MANIFEST_FILE}) nor a model "
                        f"artifact (no {CARD_FILE}); give a folder from `trueclout followers "
                        "train`, a model artifact, or `default`")
    return FollowerModel.load(folder, n_jobs=threads)


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
    platform: PlatformOption = None,
    seed: SeedOption = 0,
    threads: ThreadsOption = 1,
    trees: TreesOption = DEFAULT_TREES,
    baselines: Annotated[bool, typer.Option(
        help="Also cross-validate the logistic-regression and random-forest baselines.")] = True,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing model folder.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Train the follower model on DATA and write it, with its evaluation report, to OUT.

    The report (OUT/report: metrics.json and PNG plots) is measured on the
    held-out folds the model chose its calibration and threshold on.
    """
    from trueclout.progress import StageProgress
    from trueclout.training.fit.followers import check_out, train_follower_folder

    check_out(out, overwrite)  # before reading: a wrong --out fails first
    labelled = _read(data, format, platform)
    with StageProgress(enabled=not quiet, transient=True) as progress:
        result = train_follower_folder(labelled, out, seed=seed, threads=threads, trees=trees,
                                       baselines=baselines, overwrite=overwrite,
                                       progress=progress)
    model = result.model
    _metrics_table(f"held-out folds of {_describe(data)}", result.metrics)
    q = model.quantifier_
    typer.echo(f"threshold {model.threshold_:.3f}; held-out tpr {q.tpr:.3f}, fpr {q.fpr:.3f}")
    typer.echo(f"wrote {out} (model {model.model_id_}) and {result.report}")


# --- evaluate ------------------------------------------------------------------------------


@followers_app.command()
def evaluate(
    model: Annotated[Path, typer.Argument(
        help="A follower model folder (from train), a model artifact folder with a follower "
             "model, or 'default' (the shipped model).")],
    data: DataOption,
    format: FormatOption = DataFormat.auto,
    platform: PlatformOption = None,
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

    from trueclout.training.evaluate.followers import PRIMARY, evaluate_follower_model

    fitted = _load_follower_model(model, threads)  # before reading: a wrong MODEL fails first
    labelled = _read(data, format, platform)
    figures = evaluate_follower_model(fitted, labelled, report=report,
                                      title=f"({', '.join(p.name for p in data)})")
    if as_json:
        typer.echo(orjson.dumps(figures, option=orjson.OPT_SERIALIZE_NUMPY).decode())
        return
    _metrics_table(f"{model.name} on {_describe(data)}", {PRIMARY: figures})
    share = figures["fake_share"]
    typer.echo(f"fake share of the whole set: true {share['true']:.3f}, estimated "
               f"{share['estimated']:.3f} (95% interval {share['low']:.3f}-{share['high']:.3f})")
    lacks = figures["data"]["lacks"]
    if lacks:
        typer.echo(f"this data has no {', '.join(lacks)} (unknown to the model, not zero)")
    if report is not None:
        typer.echo(f"wrote {report}")


# --- cross-validate ------------------------------------------------------------------------


class HoldOut(StrEnum):
    dataset = "dataset"
    group = "group"
    folds = "folds"


@followers_app.command("cross-validate")
def cross_validate_command(
    data: DataOption,
    format: FormatOption = DataFormat.auto,
    platform: PlatformOption = None,
    by: Annotated[HoldOut, typer.Option(
        "--by", help="What the model never sees: a whole data set, a whole group (market, "
                     "bot family) with its data set's humans, or stratified folds (every "
                     "group seen: flattering).")] = HoldOut.dataset,
    cross_platform: Annotated[bool, typer.Option(
        help="Also train on one platform and test on each data set of another.")] = True,
    folds: Annotated[int, typer.Option(min=2, help="Stratified folds (--by folds).")] = 10,
    audiences: Annotated[bool, typer.Option(
        help="Also quantify audiences mixed from held-out profiles.")] = True,
    draws: Annotated[int, typer.Option(min=10, help="Audiences per (size, share) cell.")]
    = 100,
    baselines: Annotated[bool, typer.Option(help="Also run the baselines.")] = True,
    seed: SeedOption = 0,
    threads: ThreadsOption = 1,
    trees: TreesOption = DEFAULT_TREES,
    report: Annotated[Path | None, typer.Option(
        help="Write metrics.json and PNG plots to this folder.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON to stdout.")] = False,
    quiet: QuietOption = False,
) -> None:
    """Judge the follower model by what it never saw: one unit held out at a time.

    Per held-out unit: ROC-AUC, PR-AUC, MCC at the model's threshold, the
    plain XGBoost-on-raw-columns baseline beside it, and the fake-share error
    and interval coverage on audiences mixed from the unit's profiles.  The
    last lines name the worst unit per platform.
    """
    import orjson

    from trueclout.progress import StageProgress

    labelled = _read(data, format, platform)
    with StageProgress(enabled=not quiet, transient=True) as progress:
        if by is HoldOut.folds:
            from trueclout.training.evaluate.followers import cross_validation_study

            results = cross_validation_study(
                labelled, folds=folds, audiences=audiences, draws=draws, baselines=baselines,
                seed=seed, threads=threads, trees=trees, report=report, progress=progress)
        else:
            from trueclout.training.evaluate.held_out import held_out_study

            results = held_out_study(
                labelled, by=by.value, cross_platform=cross_platform, baseline=baselines,
                audiences=audiences, draws=draws, seed=seed, threads=threads, trees=trees,
                report=report, progress=progress)
    if as_json:
        typer.echo(orjson.dumps(results, option=orjson.OPT_SERIALIZE_NUMPY).decode())
        return
    if by is HoldOut.folds:
        _metrics_table(f"{folds}-fold stratified CV on {_describe(data)} (every group seen)",
                       results["cross_validation"]["metrics"])
        for i, half in enumerate(results.get("audiences", {}).get("halves", []), start=1):
            _audience_lines(f"audiences mixed from held-out half {i}", half["by_size"])
    else:
        from trueclout.training.evaluate.held_out import held_out_lines

        for line in held_out_lines(results):
            typer.echo(line)
    if report is not None:
        typer.echo(f"wrote {report}")


def _audience_lines(title: str, rows: list[dict[str, Any]]) -> None:
    typer.echo(f"{title} (fake share 0-80%): followers sampled, MAE, interval coverage")
    for row in rows:
        if row["mae"] is None:
            continue
        typer.echo(f"  {row['size']:>5}  MAE {row['mae']:.4f}  coverage {row['coverage']:.3f}"
                   f"  (worst share {row['worst_share_coverage']:.3f}, bias {row['bias']:+.3f})")


def register(app: typer.Typer) -> None:
    app.add_typer(followers_app, name="followers")
