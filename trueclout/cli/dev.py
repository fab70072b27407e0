"""`trueclout dev ...`: the maintainers' tools (hidden from `trueclout --help`).

They regenerate what the repository ships (the default model, samples,
schemas, the feature reference), measure the simulator against research data,
and write database revisions.  Each command only parses its options and calls
one library function; heavy modules are imported inside the command bodies.
Defaults repeat the library's constants (tests/core/test_cli_dev.py checks them).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from trueclout.cli.options import QuietOption
from trueclout.errors import UserError

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer(
    help="Maintainers' tools: regenerate shipped files, calibrate and measure the simulator.",
    no_args_is_help=True,
    hidden=True,
)
migrate_app = typer.Typer(help="Database revisions (alembic, configured in code).",
                          no_args_is_help=True)
app.add_typer(migrate_app, name="migrate")

DATASETS = Path("../shared/datasets")
T = TypeVar("T")


def register(root: typer.Typer) -> None:
    """Attach the hidden `dev` group to the root command."""
    root.add_typer(app, name="dev", hidden=True)


def _checkout_file(*parts: str) -> Path:
    """A file of the source checkout this package runs from (an editable install)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file():
        raise UserError(f"{root} is not a source checkout; pass the file to write")
    return root.joinpath(*parts)


def _listed(text: str, convert: Callable[[str], T], option: str) -> list[T]:
    """A comma-separated option as a list: ``"5,10"`` -> ``[5, 10]``."""
    try:
        return [convert(x.strip()) for x in text.split(",")]
    except ValueError as exc:
        raise UserError(f"{option}: expected comma-separated numbers, got {text!r}") from exc


@app.command("default-model")
def default_model(
    out: Annotated[Path | None, typer.Option(
        help="Model folder to write (default: the shipped models/default).")] = None,
    accounts: Annotated[int, typer.Option(min=1, help="Accounts of the training world.")] = 6_000,
    holdout_accounts: Annotated[int, typer.Option(
        min=1, help="Accounts of the unseen holdout world.")] = 4_000,
    threads: Annotated[int, typer.Option(min=1)] = 2,
    work_dir: Annotated[Path | None, typer.Option(
        help="Where the temporary worlds are written (default: the system's).")] = None,
    quiet: QuietOption = False,
    reference_only: Annotated[bool, typer.Option(
        "--reference-only",
        help="Only (re)compute the training reference of the model at --out.")] = False,
    datasets: Annotated[Path | None, typer.Option(
        help="The labelled research data sets the follower model learns from (default: "
             "$TRUECLOUT_DATASETS, else ../shared/datasets beside the repository).")] = None,
) -> None:
    """Rebuild the shipped default model from the synthetic world, reproducibly (`make model`)."""
    from trueclout.training.fit import default_model as dm

    target = dm.SHIPPED_DIR if out is None else out
    if reference_only:
        typer.echo(dm.attach_training_reference(target, work_dir=work_dir, quiet=quiet))
        return
    dm.build(target, accounts=accounts, holdout_accounts=holdout_accounts, threads=threads,
             work_dir=work_dir, quiet=quiet, datasets=datasets, report=typer.echo)


@app.command()
def samples(
    folder: Annotated[Path | None, typer.Argument(
        help="Where to write them (default: data/samples).")] = None,
) -> None:
    """Regenerate the small sample snapshots of data/samples (byte-identical for the code)."""
    from trueclout.data import SAMPLES_DIR
    from trueclout.training.sim.samples import write_samples

    for path in write_samples(SAMPLES_DIR if folder is None else folder):
        typer.echo(path)


@app.command("calibrate-sim")
def calibrate_sim(
    datasets: Annotated[Path, typer.Argument(
        help="The research data sets (retweet-timelines/, cresci-2015/, instafake/).")
    ] = DATASETS,
) -> None:
    """Fit the simulator's measured constants to the research data; print them beside the code's."""
    from trueclout.training.sim.calibration import calibration_report

    typer.echo(calibration_report(datasets))


@app.command("sim-to-real")
def sim_to_real(
    data: Annotated[Path, typer.Option(
        help="Folder holding cresci-2015/ and/or instafake/.")] = DATASETS,
    out: Annotated[Path, typer.Option(
        help="Folder for comparison.json, signals.png (and transfer.json).")
    ] = Path("sim-to-real"),
    accounts: Annotated[int, typer.Option(min=1)] = 3_000,
    seed: Annotated[int, typer.Option()] = 7,
    train: Annotated[bool, typer.Option(
        "--train", help="Also train on synthetic followers and score the real sets.")] = False,
    rows: Annotated[int, typer.Option(
        min=1, help="Synthetic followers the model is trained on (a seeded sample).")] = 60_000,
    unseen: Annotated[bool, typer.Option(
        "--unseen", help="Also train on worlds without the INT / FSF look-alike market and "
                         "score that market.")] = False,
    threads: Annotated[int, typer.Option(min=1)] = 1,
) -> None:
    """How closely the synthetic world's follower profiles match real labelled ones."""
    from trueclout.training.sim import realism

    realism.sim_to_real(data, out, accounts=accounts, seed=seed, train=train, rows=rows,
                        unseen=unseen, threads=threads, report=typer.echo)


class HostKind(StrEnum):
    synthetic = "synthetic"
    world = "world"
    retweet = "retweet"


@app.command("ring-injection")
def ring_injection(
    host: Annotated[HostKind, typer.Option(help="The graph the rings are planted into.")
                    ] = HostKind.synthetic,
    accounts: Annotated[int, typer.Option(
        min=1, help="Accounts of the synthetic host or simulated world.")] = 20_000,
    seed: Annotated[int, typer.Option()] = 0,
    sizes: Annotated[str, typer.Option(help="Ring sizes, comma-separated.")] = "5,10,20,50",
    densities: Annotated[str, typer.Option(help="Ring densities, comma-separated.")
                         ] = "0.5,0.9",
    camouflage: Annotated[str, typer.Option(
        help="Camouflage levels (none, some, heavy), comma-separated.")] = "none,some,heavy",
    members: Annotated[int, typer.Option(help="Planted ring members per scenario.")] = 200,
    datasets: Annotated[Path, typer.Option(
        help="Folder holding retweet-timelines/ (for --host retweet).")] = DATASETS,
    quiet: QuietOption = False,
) -> None:
    """Plant rings into an engagement graph, run the detectors, print precision and recall."""
    from rich.console import Console

    from trueclout.progress import StageProgress
    from trueclout.training.evaluate.ring_injection import injection_study, report_tables

    levels = [c.strip() for c in camouflage.split(",")]
    ring_sizes = _listed(sizes, int, "--sizes")
    ring_densities = _listed(densities, float, "--densities")
    try:
        with StageProgress(enabled=not quiet, transient=True) as progress:
            study = injection_study(host.value, accounts=accounts, seed=seed, sizes=ring_sizes,
                                    densities=ring_densities, camouflage=levels,
                                    members=members, datasets=datasets, progress=progress)
    except ValueError as exc:  # a degenerate host or option the detectors cannot use
        raise UserError(str(exc)) from exc
    console = Console(width=160)
    for renderable in report_tables(study):
        console.print(renderable)


@app.command("feature-docs")
def feature_docs(
    file: Annotated[Path | None, typer.Argument(
        help="Where the reference goes (default: docs/features.md; '-': stdout).")] = None,
    check: Annotated[bool, typer.Option(
        "--check", help="Only compare: exit 1 when the file is stale.")] = False,
) -> None:
    """Regenerate the feature reference (docs/features.md) from the feature registry."""
    from trueclout.features.registry import render_reference
    from trueclout.files import write_atomic

    text = render_reference()
    if file == Path("-"):
        if check:
            raise UserError("--check needs a file, not '-'")
        typer.echo(text, nl=False)
        return
    target = _checkout_file("docs", "features.md") if file is None else file
    if check:
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            typer.echo(f"{target} is stale: run `trueclout dev feature-docs`", err=True)
            raise typer.Exit(1)
        typer.echo(f"{target} is current")
        return
    write_atomic(target, text)
    typer.echo(target)


@app.command("evidence-floors")
def evidence_floors() -> None:
    """Re-measure the evidence floors below which a share never becomes a reason."""
    import json

    from trueclout.files import write_atomic
    from trueclout.service.scoring import evidence
    from trueclout.training.evaluate.evidence_floors import measure_floors

    doc = measure_floors(evidence.FLOORED, percentile=evidence.PERCENTILE,
                         n_accounts=evidence.WORLD_ACCOUNTS, seed=evidence.WORLD_SEED)
    write_atomic(evidence.FLOORS_PATH, json.dumps(doc, indent=2) + "\n")
    typer.echo(evidence.FLOORS_PATH)


@app.command()
def schema(
    check: Annotated[bool, typer.Option(
        "--check", help="Only compare: exit 1 when a published schema is stale.")] = False,
) -> None:
    """Regenerate the published JSON Schemas (data/schema/) from the pydantic models."""
    from trueclout.data import SCHEMA_DIR
    from trueclout.schema import stale, write

    if check:
        bad = stale(SCHEMA_DIR)
        for name in bad:
            typer.echo(f"{SCHEMA_DIR / name} is stale: run `trueclout dev schema`", err=True)
        if bad:
            raise typer.Exit(1)
        typer.echo(f"{SCHEMA_DIR} is current")
        return
    for path in write(SCHEMA_DIR):
        typer.echo(path)


def _engine() -> Engine:
    """The database of the current settings (TRUECLOUT_* variables)."""
    from trueclout.service.db.engine import build_engine
    from trueclout.settings import get_settings

    return build_engine(get_settings())


@migrate_app.command("revision")
def migrate_revision(
    message: Annotated[str, typer.Option("--message", "-m", help="What the revision changes.")],
) -> None:
    """Autogenerate a new revision against the configured database (review it, then commit it)."""
    from trueclout.service.db.migrate import autogenerate_revision

    autogenerate_revision(_engine(), message)


@migrate_app.command("upgrade")
def migrate_upgrade() -> None:
    """Upgrade the configured database to the newest revision."""
    from trueclout.service.db.migrate import upgrade

    upgrade(_engine())
