"""Rebuild the shipped default model, ``models/default``, from the synthetic world (``make model``).

Reproducible by construction: fixed seeds, a world written byte-identically
for its seed (so the same data digest), deterministic folds and learners, and
no wall-clock time in anything saved; running it twice gives identical model
files, the same version and the same metrics.  The committed report is an
evaluation on a second world, generated with a seed the model never saw.

The follower component is trained on the synthetic world's followers only:
the research data sets' terms forbid shipping a model of them.

    trueclout dev default-model [--accounts N] [--threads T]
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from trueclout.models.artifact import SHIPPED_DIR
from trueclout.progress import StageProgress

NAME = "trueclout-default"
TRAIN_SEED = 20260601
HOLDOUT_SEED = 20260602
TRAIN_ACCOUNTS = 6_000
HOLDOUT_ACCOUNTS = 4_000
# Follower profiles the follower model is fitted on (those of a seeded sample of the
# world's accounts): enough for stable error rates, few enough for `make model` to take minutes.
FOLLOWER_ROWS = 60_000
FOLLOWER_SEED = 0
REPORT_DIR = "report"
# Share of training snapshots cut short (see labelled.Thinning): the world's
# snapshots are fuller than many a platform sends.
THIN_SHARE = 0.5


def train_follower_model(world: Path, rows: int, threads: int) -> Any:
    """Follower-level model on the labelled followers of a seeded sample of the world's accounts."""
    from trueclout.models.follower_model import FollowerModel

    followers = follower_sample(world, rows)
    model = FollowerModel(random_state=FOLLOWER_SEED, n_jobs=threads)
    model.fit(followers.signals(), followers.labels)
    return _reproducible(model)


def follower_sample(world: Path, rows: int) -> Any:
    """The followers of randomly chosen accounts, about ``rows`` of them.

    Only the chosen accounts' rows are read, so a world of any size fits in
    memory; sampling whole accounts keeps each audience's followers together.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from trueclout.tables import conform
    from trueclout.training.data.followers import labelled_from_tables

    profiles = pq.read_table(world / "profiles.parquet", columns=["account_id", "observed_at"])
    total = pq.ParquetFile(world / "followers.parquet").metadata.num_rows
    if total > rows:
        accounts = max(1, round(profiles.num_rows * rows / total))
        pick = np.sort(np.random.default_rng(FOLLOWER_SEED).choice(profiles.num_rows, accounts,
                                                                   replace=False))
        profiles = profiles.take(pick)
    wanted = profiles.column("account_id").combine_chunks()

    def rows_of(file: str) -> pa.Table:
        """The chosen accounts' rows, read a batch at a time (memory bounded by the batch)."""
        reader = pq.ParquetFile(world / file)
        parts = [batch.filter(pc.is_in(batch.column("account_id"), value_set=wanted))
                 for batch in reader.iter_batches(batch_size=65_536)]
        return pa.Table.from_batches(parts, schema=reader.schema_arrow)

    followers = conform(rows_of("followers.parquet"), "followers")
    return labelled_from_tables(followers, rows_of("follower_labels.parquet"), profiles,
                                where=str(world))


def _reproducible(model: Any) -> Any:
    """Strip what differs between identical fits (random id, clock, thread count)."""
    from trueclout.models.artifact import sha256_bytes

    model.set_params(n_jobs=1)
    model.model_id_ = sha256_bytes(bytes(model.booster_.save_raw(raw_format="ubj")))[:32]
    model.created_at_ = None
    return model


def build(
    out: Path = SHIPPED_DIR,
    *,
    accounts: int = TRAIN_ACCOUNTS,
    holdout_accounts: int = HOLDOUT_ACCOUNTS,
    threads: int = 2,
    work_dir: Path | None = None,
    quiet: bool = False,
    report: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Simulate, train, evaluate on an unseen world, and write the artifact; returns its card.

    ``report`` receives the summary lines (the command prints them).
    """
    from trueclout.features.registry import REGISTRY_VERSION
    from trueclout.models.artifact import attach_reference, attach_reports, load_artifact
    from trueclout.training.data.labelled import (
        Thinning,
        build_training_set,
        open_labelled,
        ring_table,
    )
    from trueclout.training.evaluate.metrics import evaluate_artifact
    from trueclout.training.evaluate.report import render_report
    from trueclout.training.fit.account import TrainingConfig, train_artifact
    from trueclout.training.sim.world import write_world

    timings: dict[str, float] = {}
    config = TrainingConfig(seed=0, threads=threads)
    thinning = {"train": Thinning(THIN_SHARE, seed=TRAIN_SEED),
                "holdout": None,
                "holdout_thinned": Thinning(THIN_SHARE, seed=HOLDOUT_SEED, hide_rings=0.0),
                "holdout_no_rings": None}
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp, StageProgress(not quiet) as progress:
        worlds = {"train": (Path(tmp) / "train", accounts, TRAIN_SEED),
                  "holdout": (Path(tmp) / "holdout", holdout_accounts, HOLDOUT_SEED)}
        started = time.perf_counter()
        for what, (folder, n, seed) in worlds.items():
            progress.start(f"simulating the {what} world ({n:,} accounts, seed {seed})", n)
            write_world(folder, n, seed, on_chunk=progress.advance)
        timings["simulate"] = time.perf_counter() - started

        started = time.perf_counter()
        progress.start(f"training the follower model ({FOLLOWER_ROWS:,} profiles)", None)
        follower = train_follower_model(worlds["train"][0], FOLLOWER_ROWS, threads)
        timings["follower_model"] = time.perf_counter() - started

        sets = {}
        graphs = {}
        started = time.perf_counter()
        for what, thin in thinning.items():
            folder, n, seed = worlds["train" if what == "train" else "holdout"]
            labelled = open_labelled(folder)
            if what in ("train", "holdout"):  # the other holdouts reuse the holdout's rings
                progress.start(f"finding rings in the {what} world", None)
                graph = graphs[what] = ring_table(labelled)
            # As the service scores without a ring table: rings from each snapshot alone.
            graph = None if what == "holdout_no_rings" else graph
            progress.start(f"computing features ({what})", n)
            sets[what] = build_training_set(labelled, follower_model=follower, graph=graph,
                                            on_progress=progress.advance, thinning=thin)
            sets[what].source = f"synthetic world (seed {seed}, {n:,} accounts)" + (
                f", {thin.share:.0%} of snapshots thinned" if thin else "") + (
                ", no ring table" if what == "holdout_no_rings" else "")
        timings["rings_and_features"] = time.perf_counter() - started

        started = time.perf_counter()
        trained = train_artifact(
            sets["train"], config, out, name=NAME, registry_version=REGISTRY_VERSION,
            follower_model=follower, progress=progress, created_at=None, overwrite=True,
            extra_training={"world": {"seed": TRAIN_SEED, "accounts": accounts},
                            "thinning": thinning["train"].to_json(),
                            "follower_model": {"source": "synthetic followers of the training "
                                               f"world, {FOLLOWER_ROWS:,}-profile sample"}},
        )
        # Drift is measured against the accounts as they are, not their thinned copies.
        attach_reference(out, training_reference(
            open_labelled(worlds["train"][0]), follower, graphs["train"], progress,
            f"synthetic world (seed {TRAIN_SEED}, {accounts:,} accounts), before thinning"
        ).to_bytes())
        timings["fit_and_save"] = time.perf_counter() - started

        started = time.perf_counter()
        progress.start("evaluating on the unseen holdout world", None)
        artifact = load_artifact(out, trusted_dir=out)
        artifact.set_threads(threads)
        files: dict[str, bytes] = {}
        evaluations: dict[str, Any] = {}
        for what, variant in (("holdout", ""),
                              ("holdout_thinned", f", {THIN_SHARE:.0%} of its snapshots thinned"),
                              ("holdout_no_rings", ", scored without a ring table (rings "
                                                   "judged from each snapshot alone)")):
            evaluation = evaluate_artifact(
                artifact, sets[what],
                setting=(f"{what.replace('_', ', ', 1).replace('_', ' ')}: a fresh synthetic "
                         f"world (seed {HOLDOUT_SEED}, {holdout_accounts:,} accounts) the "
                         f"model never saw{variant}"))
            rendered = render_report(evaluation)
            folder = f"{REPORT_DIR}/{what}"
            files[f"{folder}/report.json"] = rendered["report.json"]
            if what == "holdout":  # one page of plots is enough to ship
                files[f"{folder}/report.html"] = rendered["report.html"]
                holdout = evaluation
            evaluations[what] = _card_summary(evaluation, f"{folder}/report.json")
        card = attach_reports(out, files, evaluations=evaluations)
        timings["holdout_evaluation"] = time.perf_counter() - started
    for line in summary_lines(card, holdout.summary, trained.card["training"]["data"], timings):
        report(line)
    return card


def training_reference(labelled: Any, follower: Any, graph: Any, progress: Any,
                       source: str) -> Any:
    """The reference of a training world's accounts as they are (no thinning): thinning
    teaches the model that thin data is not evidence; it is not the population served."""
    from trueclout.models.reference import reference_of
    from trueclout.training.data.labelled import build_training_set

    progress.start("computing the training reference (features before thinning)",
                   labelled.n_accounts)
    data = build_training_set(labelled, follower_model=follower, graph=graph,
                              on_progress=progress.advance)
    return reference_of(data.x, data.feature_names, source=source)


def attach_training_reference(out: Path = SHIPPED_DIR, *, work_dir: Path | None = None,
                              quiet: bool = False) -> str:
    """Give a default model built before models carried a training reference its reference.

    Regenerates the training world (same seed and size), checks that its files
    are the bytes the model was trained on (the card's data digest), and
    attaches the reference of its accounts as ``build`` computes it; the model
    and its version are unchanged.  Returns the reference's source note.
    """
    from trueclout.models.artifact import attach_reference, load_artifact
    from trueclout.training.data.labelled import data_digest, open_labelled, ring_table
    from trueclout.training.sim.world import write_world

    artifact = load_artifact(out, trusted_dir=out)
    world = artifact.card["training"].get("world", {"seed": TRAIN_SEED,
                                                     "accounts": TRAIN_ACCOUNTS})
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp, StageProgress(not quiet) as progress:
        folder = Path(tmp) / "train"
        progress.start(f"simulating the training world ({world['accounts']:,} accounts, "
                       f"seed {world['seed']})", world["accounts"])
        write_world(folder, world["accounts"], world["seed"], on_chunk=progress.advance)
        labelled = open_labelled(folder)
        same = data_digest(labelled) == artifact.card["training"]["data"].get("digest")
        progress.start("finding rings", None)
        graph = ring_table(labelled)
        source = (f"synthetic world (seed {world['seed']}, {world['accounts']:,} accounts), "
                  "before thinning" + ("" if same else "; regenerated by a newer simulator: "
                                       "not the exact training data, rebuild with `make model`"))
        reference = training_reference(labelled, artifact.follower_model, graph, progress,
                                       source)
    attach_reference(out, reference.to_bytes())
    return source


def _card_summary(evaluation: Any, report: str) -> dict[str, Any]:
    s = evaluation.summary
    return {
        "setting": s["setting"],
        "data_digest": s["data"]["digest"],
        "tactics": {t: {k: m[k] for k in ("roc_auc", "pr_auc", "brier")}
                    for t, m in s["tactics"].items()},
        "overall": {k: s["overall"][k] for k in ("roc_auc", "pr_auc", "brier")},
        "hard_negatives": s["hard_negatives"],
        "report": report,
    }


def summary_lines(card: dict[str, Any], holdout: dict[str, Any], data: dict[str, Any],
                  timings: dict[str, float]) -> list[str]:
    """What `make model` prints: the model, its holdout figures and where the time went."""
    out: list[str] = []
    out.append(f"model {card['name']} {card['version']}: trained on {data['accounts']:,} "
               f"accounts (data sha256 {data['digest'][:16]}...)")
    out.append(f"holdout ({holdout['data']['n_accounts']:,} accounts, unseen seed):")
    for row in holdout["comparison"]:
        out.append(f"  {row['target']:<17} {row['learner']:<20} ROC-AUC {row['roc_auc']:.5f}  "
                   f"PR-AUC {row['pr_auc']:.5f}  Brier {row['brier']:.5f}")
    for line in holdout["hard_negatives"]:
        fpr = line["fpr_high"]
        out.append(f"  false-positive rate at 'high' on genuine {line['kind']} accounts "
                   f"(n={line['n']}): {'-' if fpr is None else f'{100 * fpr:.2f}%'}")
    out.append("seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items())
               + f" (total {sum(timings.values()):.0f})")
    return out
