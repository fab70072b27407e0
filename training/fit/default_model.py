"""Rebuild the shipped default model, ``models/default``, from the synthetic world (``make model``).

Reproducible by construction: fixed seeds, a world written byte-identically
for its seed (so the same data digest), deterministic folds and learners, and
no wall-clock time in anything saved; running it twice gives identical model
files, the same version and the same metrics.  The committed report is an
evaluation on a second world, generated with a seed the model never saw.

The follower component is trained on the labelled Twitter profiles of the
research data sets (``../shared/datasets`` or ``$TRUECLOUT_DATASETS``:
cresci-2015, cresci-2017, botrepo-2019), read by path and never copied: the
repository holds the fitted model and the digest of the files it was fitted
on, not the data.  InstaFake stays out of the shipped model (CC BY-NC terms,
and it lacks most of the signals the model reads); its figures are in the
follower model's held-out report.  Without the data sets the build stops
with a message saying where it looked.

    trueclout dev default-model [--accounts N] [--threads T] [--datasets DIR]
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trueclout.models.artifact import SHIPPED_DIR
from trueclout.progress import StageProgress

NAME = "trueclout-default"
TRAIN_SEED = 20260601
HOLDOUT_SEED = 20260602
# The world of held-out regimes (``sim.params.HELD_OUT_REGIMES``): tactics
# played only in ways the training world never plays them.
REGIMES_SEED = 20260603
TRAIN_ACCOUNTS = 6_000
HOLDOUT_ACCOUNTS = 4_000
FOLLOWER_SEED = 0
# The platform of the research data the shipped follower model learns from.
FOLLOWER_PLATFORM = "twitter"
# Audiences per (size, share) cell in the follower model's held-out report.
FOLLOWER_REPORT_DRAWS = 30
REPORT_DIR = "report"
# Share of training snapshots cut short (see labelled.Thinning): the world's
# snapshots are fuller than many a platform sends.
THIN_SHARE = 0.5
# Churners beside the training world, as many again as it holds (3% of its size,
# from a world of churners alone): in the default mix churn is 4.5% of accounts
# against 19% bought and 10% pods, and the growth learner, which also learns
# bought bursts, learned churn as a side case of them, marking a churner down
# for the bought-follower signs it lacks.  The training world itself keeps the
# default mix, as the holdouts do.
CHURN_SUPPLEMENT_SEED = 20260604
CHURN_SUPPLEMENT_SHARE = 0.03


def follower_training_data(datasets: Path) -> Any:
    """The labelled Twitter profiles under ``datasets`` that follow someone (``who_follow``)."""
    from trueclout.errors import UserError
    from trueclout.training.data.followers import DATASETS_ENV, read_labelled, who_follow

    if not Path(datasets).is_dir():
        raise UserError(
            f"the follower model is trained on the labelled research data sets, and there is "
            f"no folder at {datasets}; put them there (../shared/datasets beside the "
            f"repository), point {DATASETS_ENV} or --datasets at them, or keep the committed "
            f"model (`make run` never needs the data)")
    return who_follow(read_labelled([Path(datasets)]).select(platforms=[FOLLOWER_PLATFORM]))


def train_follower_model(data: Any, threads: int) -> Any:
    """Follower-level model on labelled profiles, groups weighted equally and held out whole."""
    from trueclout.models.follower_model import FollowerModel

    model = FollowerModel(random_state=FOLLOWER_SEED, n_jobs=threads)
    model.fit(data.signals(), data.labels, data.units)
    return _reproducible(model)


def follower_report(data: Any, threads: int, progress: Any) -> tuple[dict[str, bytes], Any]:
    """The follower model's own held-out figures: each data set left out in turn.

    Returns the report files (under ``report/follower_model/``) and the study.
    """
    import orjson

    from trueclout.training.evaluate.held_out import held_out_study

    with tempfile.TemporaryDirectory() as tmp:
        study = held_out_study(data, by="dataset", cross_platform=False,
                               draws=FOLLOWER_REPORT_DRAWS, seed=FOLLOWER_SEED, threads=threads,
                               report=Path(tmp), progress=progress)
        files = {f"{REPORT_DIR}/follower_model/{path.relative_to(tmp)}": path.read_bytes()
                 for path in sorted(Path(tmp).rglob("*.png"))}
    files[f"{REPORT_DIR}/follower_model/held_out.json"] = orjson.dumps(
        study, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_SORT_KEYS)
    return files, study


def _regimes_text(regimes: dict[str, tuple[float, float]]) -> str:
    """'pod_delay_seconds 3600-21600, ...': the held-out regions, for report settings."""
    return ", ".join(f"{name} {low:g}-{high:g}" for name, (low, high) in regimes.items())


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
    datasets: Path | None = None,
    report: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Simulate, train, evaluate on an unseen world, and write the artifact; returns its card.

    ``datasets`` holds the labelled research data the follower model learns
    from (default: ``default_datasets_dir()``); it is checked first, so a
    missing folder stops the build before any work.  ``report`` receives the
    summary lines (the command prints them).
    """
    from trueclout.features.registry import REGISTRY_VERSION
    from trueclout.models.artifact import attach_reference, attach_reports, load_artifact
    from trueclout.training.data.followers import default_datasets_dir, files_digest
    from trueclout.training.data.labelled import (
        Thinning,
        build_training_set,
        open_labelled,
        ring_table,
    )
    from trueclout.training.evaluate.metrics import evaluate_artifact
    from trueclout.training.evaluate.report import render_report
    from trueclout.training.fit.account import TrainingConfig, train_artifact
    from trueclout.training.sim.params import HELD_OUT_REGIMES, TacticRanges
    from trueclout.training.sim.world import write_world

    seen, unseen = TacticRanges().split(HELD_OUT_REGIMES)
    follower_data = follower_training_data(datasets or default_datasets_dir())
    timings: dict[str, float] = {}
    config = TrainingConfig(seed=0, threads=threads)
    thinning = {"train": Thinning(THIN_SHARE, seed=TRAIN_SEED),
                "train_churn": Thinning(THIN_SHARE, seed=CHURN_SUPPLEMENT_SEED),
                "holdout": None,
                "holdout_thinned": Thinning(THIN_SHARE, seed=HOLDOUT_SEED, hide_rings=0.0),
                "holdout_no_rings": None,
                "regimes": None}
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp, StageProgress(not quiet) as progress:
        worlds = {"train": (Path(tmp) / "train", accounts, TRAIN_SEED, seen),
                  "train_churn": (Path(tmp) / "train_churn", churn_supplement_size(accounts),
                                  CHURN_SUPPLEMENT_SEED, seen),
                  "holdout": (Path(tmp) / "holdout", holdout_accounts, HOLDOUT_SEED, seen),
                  "regimes": (Path(tmp) / "regimes", holdout_accounts, REGIMES_SEED, unseen)}
        started = time.perf_counter()
        for what, (folder, n, seed, tactics) in worlds.items():
            progress.start(f"simulating the {what} world ({n:,} accounts, seed {seed})", n)
            write_world(folder, n, seed, params=world_params_for(what, tactics),
                        on_chunk=progress.advance)
        timings["simulate"] = time.perf_counter() - started

        started = time.perf_counter()
        progress.start(f"training the follower model ({len(follower_data):,} labelled "
                       f"{FOLLOWER_PLATFORM} profiles)", None)
        follower = train_follower_model(follower_data, threads)
        follower_files, follower_study = follower_report(follower_data, threads, progress)
        timings["follower_model"] = time.perf_counter() - started

        sets = {}
        graphs = {}
        started = time.perf_counter()
        for what, thin in thinning.items():
            folder, n, seed, _ = worlds[what if what in worlds else "holdout"]
            labelled = open_labelled(folder)
            if what in worlds:  # the other holdouts reuse the holdout's rings
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
        main_digest = sets["train"].digest
        sets["train"] = with_supplement(sets["train"], sets.pop("train_churn"))
        timings["rings_and_features"] = time.perf_counter() - started

        started = time.perf_counter()
        trained = train_artifact(
            sets["train"], config, out, name=NAME, registry_version=REGISTRY_VERSION,
            follower_model=follower, progress=progress, created_at=None, overwrite=True,
            extra_training={"world": {"seed": TRAIN_SEED, "accounts": accounts,
                                      "tactics": seen.model_dump(mode="json"),
                                      "digest": main_digest,
                                      "churn_supplement": {
                                          "seed": CHURN_SUPPLEMENT_SEED,
                                          "accounts": churn_supplement_size(accounts),
                                          "kind_weights": world_params_for(
                                              "train_churn", seen).kind_weights},
                                      "held_out_regimes": HELD_OUT_REGIMES},
                            "thinning": thinning["train"].to_json(),
                            "follower_model": follower_source(follower_data,
                                                              files_digest(follower_data))},
        )
        # Drift is measured against the accounts as they are, not their thinned copies.
        attach_reference(out, training_reference(
            open_labelled(worlds["train"][0]), follower, graphs["train"], progress,
            f"synthetic world (seed {TRAIN_SEED}, {accounts:,} accounts), before thinning"
        ).to_bytes())
        timings["fit_and_save"] = time.perf_counter() - started

        started = time.perf_counter()
        progress.start("evaluating on the unseen holdout world", None)
        artifact = load_artifact(out)
        artifact.set_threads(threads)
        files: dict[str, bytes] = dict(follower_files)
        shown: dict[str, Any] = {}
        evaluations: dict[str, Any] = {"follower_model_held_out": {
            "setting": follower_study["design"], "worst": follower_study["worst"],
            "report": f"{REPORT_DIR}/follower_model/held_out.json"}}
        for what, variant in (("holdout", ""),
                              ("holdout_thinned", f", {THIN_SHARE:.0%} of its snapshots thinned"),
                              ("holdout_no_rings", ", scored without a ring table (rings "
                                                   "judged from each snapshot alone)"),
                              ("regimes", ", its tactics played only in regimes held out "
                                          f"of training ({_regimes_text(HELD_OUT_REGIMES)})")):
            seed = worlds[what if what in worlds else "holdout"][2]
            evaluation = evaluate_artifact(
                artifact, sets[what],
                setting=(f"{what.replace('_', ', ', 1).replace('_', ' ')}: a fresh synthetic "
                         f"world (seed {seed}, {holdout_accounts:,} accounts) the "
                         f"model never saw{variant}"))
            rendered = render_report(evaluation)
            folder = f"{REPORT_DIR}/{what}"
            files[f"{folder}/report.json"] = rendered["report.json"]
            if what in ("holdout", "regimes"):  # the thinned variants' plots add little
                files[f"{folder}/report.html"] = rendered["report.html"]
                shown[what] = evaluation
            evaluations[what] = _card_summary(evaluation, f"{folder}/report.json")
        card = attach_reports(out, files, evaluations=evaluations)
        timings["holdout_evaluation"] = time.perf_counter() - started
    from trueclout.training.evaluate.held_out import held_out_lines

    for line in held_out_lines(follower_study):
        report(f"follower model, {line.strip()}")
    for line in summary_lines(card, shown["holdout"].summary, trained.card["training"]["data"],
                              timings, regimes=shown["regimes"].summary):
        report(line)
    return card


def world_params_for(what: str, tactics: Any) -> Any:
    """The world ``make model`` simulates for ``what``: churners alone for the churn
    supplement, the default mix of kinds for the training world and the holdouts."""
    from trueclout.training.sim.world import WorldParams

    if what == "train_churn":
        return WorldParams(tactics=tactics, kind_weights={"churn": 1.0})
    return WorldParams(tactics=tactics)


def churn_supplement_size(accounts: int) -> int:
    """Churners simulated beside a training world of ``accounts``."""
    return max(1, round(CHURN_SUPPLEMENT_SHARE * accounts))


def with_supplement(train: Any, supplement: Any) -> Any:
    """The training set and the churn supplement as one (ids and groups kept apart)."""
    from trueclout.models.artifact import sha256_bytes
    from trueclout.training.feedback.retrain import combine, prefixed

    return combine([prefixed(train, "world:"), prefixed(supplement, "churn:")],
                   source=f"{train.source}; and {supplement.source} (churners alone)",
                   digest=sha256_bytes(f"{train.digest}+{supplement.digest}".encode()))


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
    from trueclout.training.sim.params import TacticRanges
    from trueclout.training.sim.world import WorldParams, write_world

    artifact = load_artifact(out)
    world = artifact.card["training"].get("world", {"seed": TRAIN_SEED,
                                                     "accounts": TRAIN_ACCOUNTS})
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp, StageProgress(not quiet) as progress:
        folder = Path(tmp) / "train"
        progress.start(f"simulating the training world ({world['accounts']:,} accounts, "
                       f"seed {world['seed']})", world["accounts"])
        tactics = TacticRanges.model_validate(world.get("tactics", {}))
        write_world(folder, world["accounts"], world["seed"],
                    params=WorldParams(tactics=tactics), on_chunk=progress.advance)
        labelled = open_labelled(folder)
        same = data_digest(labelled) == world.get(
            "digest", artifact.card["training"]["data"].get("digest"))
        progress.start("finding rings", None)
        graph = ring_table(labelled)
        source = (f"synthetic world (seed {world['seed']}, {world['accounts']:,} accounts), "
                  "before thinning" + ("" if same else "; regenerated by a newer simulator: "
                                       "not the exact training data, rebuild with `make model`"))
        reference = training_reference(labelled, artifact.follower_model, graph, progress,
                                       source)
    attach_reference(out, reference.to_bytes())
    return source


def follower_source(data: Any, digest: str) -> dict[str, Any]:
    """What the card says the follower model learned from (no data, only its description)."""
    from trueclout.training.evaluate.followers import data_summary

    summary = data_summary(data)
    return {
        "source": "labelled research profiles read by path (never copied into the "
                  "repository; research and evaluation terms, cite the papers in each data "
                  "set's README)",
        "platform": FOLLOWER_PLATFORM,
        "datasets": summary["datasets"],
        "n_fake": summary["n_fake"],
        "n_human": summary["n_human"],
        "files_sha256": digest,
    }


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
                  timings: dict[str, float], regimes: dict[str, Any] | None = None
                  ) -> list[str]:
    """What `make model` prints: the model, its holdout figures and where the time went.

    The held-out regimes come first: they, not the in-distribution holdout,
    say how the model meets a tactic played in a way it never saw.
    """
    out: list[str] = []
    out.append(f"model {card['name']} {card['version']}: trained on {data['accounts']:,} "
               f"accounts (data sha256 {data['digest'][:16]}...)")
    shown = [("held-out regimes", regimes)] if regimes is not None else []
    for title, summary in [*shown, ("holdout", holdout)]:
        out.append(f"{title} ({summary['data']['n_accounts']:,} accounts, unseen seed):")
        for row in summary["comparison"]:
            recall = row.get("recall_high")
            out.append(f"  {row['target']:<17} {row['learner']:<20} ROC-AUC "
                       f"{row['roc_auc']:.5f}  PR-AUC {row['pr_auc']:.5f}  recall at 'high' "
                       f"{'-' if recall is None else f'{recall:.3f}'}")
        for line in summary["hard_negatives"]:
            fpr = line["fpr_high"]
            out.append(f"  false-positive rate at 'high' on genuine {line['kind']} accounts "
                       f"(n={line['n']}): {'-' if fpr is None else f'{100 * fpr:.2f}%'}")
    out.append("seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items())
               + f" (total {sum(timings.values()):.0f})")
    return out
