"""`trueclout simulate`: write a seeded synthetic world of labelled accounts to a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trueclout.cli.options import QuietOption


def simulate(
    accounts: Annotated[int, typer.Option("--accounts", "-n", help="Accounts to generate.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write (created).")],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same files.")]
    = 0,
    followers_sample: Annotated[int, typer.Option(
        help="Follower profiles sampled per account.")] = 200,
    format: Annotated[str, typer.Option(
        "--format", help="parquet (six tables), jsonl (snapshots.jsonl) or both.")] = "parquet",
    observed_at: Annotated[str, typer.Option(
        help="When the snapshots are taken (RFC 3339 with a timezone).")]
    = "2026-06-01T00:00:00Z",
    engagement_scale: Annotated[float, typer.Option(
        help="Multiplies the engagement rows kept per post (totals are unchanged).")] = 1.0,
    history_days: Annotated[int, typer.Option(help="Days of follower history.")] = 120,
    chunk_accounts: Annotated[int, typer.Option(
        help="Accounts generated and written at a time (bounds memory).")] = 2_000,
    regimes: Annotated[str, typer.Option(
        help="all (every tactic range in full), seen (the ranges `make model` trains on) or "
             "held-out (only the regions it holds out: slow pods, small churn waves, long "
             "drips).")] = "all",
    tactic: Annotated[list[str] | None, typer.Option(
        help="NAME=LOW,HIGH: the range one tactic parameter is drawn from (repeatable; "
             "names and defaults in data/README.md, e.g. pod_delay_seconds=3600,21600).")]
    = None,
    quiet: QuietOption = False,
) -> None:
    """Generate labelled accounts (genuine kinds, bought followers, rings, growth hacks).

    Writes the contract tables, labels.parquet, follower_labels.parquet and
    manifest.json (seed, parameters, sha256 of every file) to OUT.
    """
    from trueclout.progress import progress_stage
    from trueclout.training.sim.output import check_request, write_world

    params = check_request(accounts, seed, format, chunk_accounts,
                           followers_sample=followers_sample,
                           observed_at=observed_at, engagement_scale=engagement_scale,
                           history_days=history_days,
                           tactics=tactic_ranges(regimes, tactic or []))
    with progress_stage("simulating accounts", max(accounts, 0), enabled=not quiet,
                        rate_unit="accounts") as progress:
        manifest = write_world(
            out, accounts, seed, formats=format, chunk_accounts=chunk_accounts,
            on_chunk=progress.advance, params=params,
        )
    rows = ", ".join(f"{name} {count:,}" for name, count in manifest["rows"].items())
    typer.echo(f"wrote {accounts:,} accounts (seed {seed}) to {out}: {rows}")


REGIMES = ("all", "seen", "held-out")


def tactic_ranges(regimes: str, overrides: list[str]) -> dict:
    """The tactic ranges asked for on the command line; UserError naming what is wrong."""
    from trueclout.errors import UserError
    from trueclout.training.sim.params import HELD_OUT_REGIMES, TacticRanges

    if regimes not in REGIMES:
        raise UserError(f"regimes: must be one of {', '.join(REGIMES)} (got {regimes!r})")
    full = TacticRanges()
    seen, held_out = full.split(HELD_OUT_REGIMES)
    ranges = {"all": full, "seen": seen, "held-out": held_out}[regimes].model_dump()
    for item in overrides:
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in ranges or not isinstance(ranges[name], tuple):
            known = sorted(k for k, v in ranges.items() if isinstance(v, tuple))
            raise UserError(f"tactic: unknown range {name!r} in {item!r}; known: "
                            f"{', '.join(known)}")
        try:
            low, high = (float(v) for v in value.split(","))
        except ValueError:
            raise UserError(f"tactic: {item!r} must read NAME=LOW,HIGH with two numbers") \
                from None
        ranges[name] = (low, high)
    return ranges


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)
