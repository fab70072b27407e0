"""The cost to evade: how much camouflage it takes for cheaters flagged `high` to drop below it.

    .venv/bin/python benchmarks/evasion.py                     # 4,000 accounts (4-5 minutes)
    .venv/bin/python benchmarks/evasion.py --accounts 1000     # a quick run (under a minute)
    .venv/bin/python benchmarks/evasion.py --no-ring-table     # snapshots alone only (faster)
    .venv/bin/python benchmarks/evasion.py --model DIR --json evasion.json

A synthetic world (``simulate_world``, a seed the shipped model never saw) is
scored with the model (default: the shipped one) exactly as the service
scores it (``service.scoring.assess.judge``).  Its single-tactic cheaters
flagged `high` form three cohorts: bought followers, rings / pods, and
follow/unfollow churn (accounts combining tactics are left out: hiding one
tactic would not hide the other).  Each cohort's snapshots are then rewritten
with the camouflage of ``training/evaluate/camouflage.py`` at increasing
grades and scored again.

Two settings, each with its own baseline cohort: **snapshot alone** (no ring
table, as the service scores by default) and **with a ring table** (rings
found over the whole world; for the pod transforms every pod member adopts
the camouflage and the rings are found again, so the global detectors see it
too; the follower and history transforms leave the engagement graph as it is).

Printed per setting, tactic, transform and grade: the cohort's size, the
share still `high`, the share `high` or `elevated`, the mean adjusted score
over the raw score (the raw score is left as the platform gave it), the mean
calibrated probability of the cohort's own tactic (bought_followers,
engagement_ring, growth_burst for churn) and what the grade costs per account
(median), in the cheater's units.  Then the **cost to evade** per transform:
the cheapest grade at which at least half the cohort is below `high`; and the
checks of issue 14, item 4 (figures, not assertions).  The bought-followers
cohort mixes kinds of purchase (bulk, drip, premium, ...), so it is also split
by kind, each with its own cost to evade: a cohort-wide figure can hide a kind
that evades cheaply.  ``--json`` writes every figure, per kind too.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before XGBoost loads OpenMP

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

import numpy as np  # noqa: E402

if TYPE_CHECKING:
    import pyarrow as pa

    from trueclout.models.artifact import Artifact
    from trueclout.tables import SnapshotTables
    from trueclout.training.evaluate.camouflage import Transform

# The training and holdout worlds of the shipped model are 20260601 and 20260602.
DEFAULT_SEED = 14
TRANSFORM_SEED = 4
COHORTS: dict[str, str] = {"bought_followers": "bought followers",
                           "engagement_ring": "rings / pods",
                           "churn": "follow/unfollow churn"}
# The calibrated tactic probability each cohort is judged by.
COHORT_TACTIC = {"bought_followers": "bought_followers", "engagement_ring": "engagement_ring",
                 "churn": "growth_burst"}
# Kinds of cheater with fewer accounts than this in a cohort are not singled out.
MIN_KIND = 10
SETTINGS: dict[str, str] = {"snapshot": "snapshot alone (no ring table)",
                            "ring_table": "with a ring table found over the world"}


@dataclass
class Row:
    """One grade of one transform on one cohort: what the model said afterwards."""

    cohort: str
    transform: str
    grade: float
    label: str
    n: int
    high: float
    high_or_elevated: float
    adjusted_over_raw: float
    tactic_probability: float
    paid_median: float | None
    paid_unit: str
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)


def cohort_masks(labels: pa.Table) -> dict[str, np.ndarray]:
    """Single-tactic cheaters by the world's labels (churners are the growth_burst accounts
    that bought nothing: bulk and premium buyers are growth_burst too)."""
    bought = np.asarray(labels.column("bought_followers").to_numpy()) == 1
    ring = np.asarray(labels.column("engagement_ring").to_numpy()) == 1
    burst = np.asarray(labels.column("growth_burst").to_numpy()) == 1
    kind = np.asarray(labels.column("kind").to_pylist(), dtype=object)
    churn = np.char.find(kind.astype(str), "churn") >= 0
    return {"bought_followers": bought & ~ring & ~churn,
            "engagement_ring": ring & ~bought & ~burst,
            "churn": churn & ~bought & ~ring}


def judge_tables(tables: SnapshotTables, artifact: Artifact, graph: pa.Table | None
                 ) -> dict[str, np.ndarray]:
    """The service's judgement of each account (no reasons: they do not move the level)."""
    from trueclout.service.scoring.assess import judge
    from trueclout.service.scoring.reasons import ReasonPolicy

    if tables.num_accounts == 0:
        empty = np.zeros(0)
        return {"account_id": np.zeros(0, dtype=object), "level": np.zeros(0, dtype=object),
                "ratio": empty, **{f"p_{t}": empty for t in set(COHORT_TACTIC.values())}}
    j = judge(tables, artifact, graph=graph, policy=ReasonPolicy(max_reasons=0))
    return {"account_id": np.asarray(j.frame.account_ids, dtype=object),
            "level": np.asarray(j.level, dtype=object),
            "ratio": j.adjusted_score / np.where(j.raw_score > 0, j.raw_score, np.nan),
            **{f"p_{t}": np.asarray(p) for t, p in j.prediction.tactics.items()}}


def summarise(cohort: str, transform: str, grade: float, label: str, judged: dict,
              kinds: dict[str, str], paid: np.ndarray | None, paid_unit: str) -> Row:
    """The cohort's figures after one grade, overall and per kind of cheater."""
    level = judged["level"]
    high = level == "high"
    flagged = high | (level == "elevated")
    by_kind: dict[str, dict[str, float]] = {}
    account_kinds = np.array([kinds[a] for a in judged["account_id"]], dtype=object)
    for kind in sorted(set(account_kinds)):
        m = account_kinds == kind
        by_kind[kind] = {"n": int(m.sum()), "high": float(high[m].mean()),
                         "high_or_elevated": float(flagged[m].mean())}
    return Row(
        cohort=cohort, transform=transform, grade=grade, label=label, n=len(level),
        high=float(high.mean()) if len(level) else float("nan"),
        high_or_elevated=float(flagged.mean()) if len(level) else float("nan"),
        adjusted_over_raw=float(np.nanmean(judged["ratio"])) if len(level) else float("nan"),
        tactic_probability=float(np.mean(judged[f"p_{COHORT_TACTIC[cohort]}"]))
        if len(level) else float("nan"),
        paid_median=None if paid is None or len(paid) == 0 else float(np.median(paid)),
        paid_unit=paid_unit, by_kind=by_kind)


def cost_to_evade(rows: list[Row], transform: Transform) -> dict[str, Any]:
    """The cheapest grade at which at least half the cohort is below `high` (and the same
    per kind of cheater, where the cohort mixes kinds)."""
    out: dict[str, Any] = {"reached": False,
                           "tried_up_to": transform.label(transform.grades[-1])}
    for row in rows:
        if row.grade != transform.identity and row.n and row.high <= 0.5:
            out = {"reached": True, "grade": row.grade, "label": row.label,
                   "paid_median": row.paid_median, "paid_unit": row.paid_unit}
            break
    kinds = rows[0].by_kind if rows else {}
    if len(kinds) > 1:
        out["by_kind"] = {}
        for kind, v in kinds.items():
            if v["n"] < MIN_KIND:
                continue
            out["by_kind"][kind] = next(
                (r.label for r in rows if r.grade != transform.identity and kind in r.by_kind
                 and r.by_kind[kind]["high"] <= 0.5), None)
    return out


def criteria(rows: dict[str, list[Row]], costs: dict[str, dict]) -> list[dict[str, Any]]:
    """Issue 14, item 4: no free evasion (each a figure and whether it holds)."""
    def worst(name: str, upto: Callable[[float], bool]) -> tuple[float, str, str]:
        picked = [r for r in rows.get(name, []) if upto(r.grade) and r.n]
        if not picked:
            return float("nan"), "-", ""
        r = min(picked, key=lambda r: r.high_or_elevated)
        # The cohort mixes kinds of cheater; say which kind fares worst (where it is not small).
        kinds = [(k, v, row.label) for row in picked for k, v in row.by_kind.items()
                 if v["n"] >= MIN_KIND and len(row.by_kind) > 1]
        weakest = ""
        if kinds:
            k, v, label = min(kinds, key=lambda x: x[1]["high_or_elevated"])
            weakest = f"; weakest kind {k} {v['high_or_elevated']:.0%} at {label} (n={v['n']})"
        return r.high_or_elevated, r.label, weakest

    out = []
    for name, upto, what in (
            ("pod_delay", lambda g: 0 < g <= 3, "pod delay up to 3 h"),
            ("drip", lambda g: 0 < g <= 30, "follower curve smoothed over up to 30 days"),
            ("premium", lambda g: g > 0, "premium fakes with genuine-looking counts")):
        share, at, weakest = worst(name, upto)
        out.append({"check": f"{what}: at least half stay `high` or `elevated`",
                    "figure": f"worst {share:.0%} at {at}{weakest}" if share == share
                    else "no cohort",
                    "met": bool(share >= 0.5) if share == share else None})
    mix = costs.get("mix_in", {})
    below_three = [r for r in rows.get("mix_in", []) if 0 < r.grade < 3 and r.n]
    met = bool(below_three) and all(r.high > 0.5 for r in below_three)
    figure = (f"half below `high` at {mix['label']}" if mix.get("reached")
              else f"not reached up to {mix.get('tried_up_to', '-')}")
    cheap = [f"{k} at {v}" for k, v in mix.get("by_kind", {}).items()
             if v is not None and any(r.label == v and 0 < r.grade < 3 for r in below_three)]
    if cheap:
        figure += "; kinds evading below 3x: " + ", ".join(cheap)
    out.append({"check": "mixing in real-looking followers costs at least 3x the bought amount",
                "figure": figure, "met": met if below_three else None})
    return out


def print_setting(title: str, cohorts: dict[str, int], rows: dict[str, list[Row]],
                  costs: dict[str, dict], checks: list[dict],
                  transforms: tuple[Transform, ...]) -> None:
    print(f"\n== {title}")
    print("cohorts flagged `high` before camouflage: " + ", ".join(
        f"{COHORTS[c]} {n:,}" for c, n in cohorts.items()))
    header = (f"{'tactic':<22}{'transform':<44}{'grade':>13}{'n':>6}{'high':>7}"
              f"{'high|elev':>10}{'adj/raw':>9}{'p(tactic)':>10}  paid per account (median)")
    print(header)
    print("-" * len(header))
    for t in transforms:
        for i, r in enumerate(rows[t.name]):
            paid = "" if r.paid_median is None or r.grade == t.identity else (
                f"{r.paid_median:,.0f} {r.paid_unit}" if r.paid_median >= 10 or
                r.paid_median == int(r.paid_median) else f"{r.paid_median:,.2f} {r.paid_unit}")
            print(f"{COHORTS[t.cohort] if i == 0 else '':<22}"
                  f"{t.description if i == 0 else '':<44}{r.label:>13}{r.n:>6}"
                  f"{r.high:>7.0%}{r.high_or_elevated:>10.0%}{r.adjusted_over_raw:>9.3f}"
                  f"{r.tactic_probability:>10.3f}  {paid}")
    for cohort in COHORTS:
        print_by_kind(cohort, rows, [t for t in transforms if t.cohort == cohort])
    print("\ncost to evade (cheapest grade at which half the cohort drops below `high`):")
    for t in transforms:
        c = costs[t.name]
        if c["reached"]:
            paid = (f" (median {c['paid_median']:,.0f} {c['paid_unit']} per account)"
                    if c["paid_median"] is not None and t.paid_unit not in
                    ("days of delivery", "hours of delay", "days of smoothing") else "")
            print(f"  {t.name:<12} {c['label']}{paid}")
        else:
            print(f"  {t.name:<12} not reached within the grades tried (up to {c['tried_up_to']})")
        if c.get("by_kind"):
            print(" " * 15 + "by kind: " + ", ".join(
                f"{k} {v or 'not reached'}" for k, v in c["by_kind"].items()))
    print("\nissue 14, item 4 (no free evasion):")
    for check in checks:
        verdict = {True: "met", False: "NOT met", None: "not measured"}[check["met"]]
        print(f"  {verdict:<13}{check['check']}: {check['figure']}")


def print_by_kind(cohort: str, rows: dict[str, list[Row]], transforms: list[Transform]
                  ) -> None:
    """The cohort split by kind of cheater: a mixed cohort can hide a kind that evades cheaply."""
    if not transforms or not rows[transforms[0].name]:
        return
    counts = rows[transforms[0].name][0].by_kind
    kinds = [k for k, v in counts.items() if v["n"] >= MIN_KIND]
    if len(counts) < 2 or not kinds:
        return
    print(f"\n{COHORTS[cohort]} by kind (share still `high` / `high` or `elevated`; kinds of "
          f"at least {MIN_KIND} accounts):")
    heads = [f"{k} ({counts[k]['n']})" for k in kinds]
    width = max(14, *(len(h) + 2 for h in heads))
    print(f"{'transform':<14}{'grade':>14}" + "".join(f"{h:>{width}}" for h in heads))
    baseline_shown = False
    for t in transforms:
        for i, r in enumerate(rows[t.name]):
            if i == 0:
                if baseline_shown:
                    continue
                baseline_shown = True
            cells = []
            for k in kinds:
                v = r.by_kind.get(k)
                cells.append("-" if v is None else
                             f"{v['high']:.0%} / {v['high_or_elevated']:.0%}")
            name = "(baseline)" if i == 0 else (t.name if i == 1 else "")
            print(f"{name:<14}{r.label:>14}" + "".join(f"{c:>{width}}" for c in cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=4_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help="world seed (not 20260601-20260603: used by the shipped build)")
    parser.add_argument("--model", type=Path, default=None,
                        help="an artifact folder to judge (default: the shipped model)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-ring-table", action="store_true",
                        help="score snapshots alone only (skips finding rings per grade)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    import pyarrow.compute as pc

    from trueclout.features.graph.table import detect_rings
    from trueclout.models.artifact import SHIPPED_DIR, load_artifact
    from trueclout.progress import StageProgress, progress_steps
    from trueclout.tables import SCHEMAS, SnapshotTables, concat_tables
    from trueclout.training.evaluate.camouflage import TRANSFORMS, truth_from_world
    from trueclout.training.sim.world import simulate_world

    if args.seed in (20260601, 20260602):
        print("warning: the shipped model was trained / judged on this seed", file=sys.stderr)
    settings = ["snapshot"] if args.no_ring_table else ["snapshot", "ring_table"]
    model_dir = args.model or SHIPPED_DIR
    started = time.perf_counter()
    timings: dict[str, float] = {}
    # Load (and check) the model first: a model the running pipeline cannot feed stops here.
    artifact = load_artifact(model_dir, nthread=args.threads)
    with StageProgress(not args.quiet, rate_unit=None) as progress:
        t0 = time.perf_counter()
        progress.start(f"simulating {args.accounts:,} accounts (seed {args.seed})", args.accounts)
        world = simulate_world(args.accounts, args.seed, on_chunk=progress.advance)
        tables = world.tables
        truth = truth_from_world(tables, world.labels, world.follower_labels)
        timings["simulate"] = time.perf_counter() - t0

        labels = world.labels
        ids = np.asarray(labels.column("account_id").to_pylist(), dtype=object)
        kinds = dict(zip(ids, labels.column("kind").to_pylist(), strict=True))
        masks = cohort_masks(labels)
        candidates = np.flatnonzero(np.logical_or.reduce(list(masks.values())))
        candidate_tables = tables.select_accounts(ids[candidates])

        t0 = time.perf_counter()
        graphs: dict[str, Any] = {"snapshot": None}
        if "ring_table" in settings:
            progress.start("finding rings over the world (baseline)", None)
            graphs["ring_table"] = detect_rings(tables)
        timings["rings_baseline"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        progress.start("scoring the baseline", None)
        cohorts: dict[str, dict[str, np.ndarray]] = {}
        baseline: dict[str, dict] = {}
        for setting in settings:
            judged = judge_tables(candidate_tables, artifact, graphs[setting])
            high = set(judged["account_id"][judged["level"] == "high"])
            baseline[setting] = judged
            cohorts[setting] = {c: np.array([a for a in ids[m] if a in high], dtype=object)
                                for c, m in masks.items()}
        timings["baseline"] = time.perf_counter() - t0

        # The engagement graph of the accounts outside any pod, for finding rings again.
        pod_ids = truth.pods.column("account_id").combine_chunks()
        outside = None
        if "ring_table" in settings:
            keep = pc.invert(pc.is_in(tables.profiles.column("account_id"), value_set=pod_ids))
            others = ids[np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)]
            outside = tables.select_accounts(others)
            outside = SnapshotTables(**{name: (t if name in ("profiles", "posts", "engagements",
                                                             "reposts_made")
                                               else SCHEMAS[name].empty_table())
                                        for name, t in outside.items()})
        pod_tables = tables.select_accounts(pod_ids.to_pylist())

        t0 = time.perf_counter()
        rows: dict[str, dict[str, list[Row]]] = {s: {} for s in settings}
        step = progress_steps(progress, sum(len(t.grades) for t in TRANSFORMS))
        for t in TRANSFORMS:
            members = {s: cohorts[s][t.cohort] for s in settings}
            if t.graph:
                scope = pod_tables
            else:
                scope = tables.select_accounts(sorted(set().union(*members.values())))
            original = {s: scope.select_accounts(members[s]) for s in settings}
            for s in settings:
                judged = {k: v[np.isin(baseline[s]["account_id"], members[s])]
                          for k, v in baseline[s].items()}
                rows[s][t.name] = [summarise(t.cohort, t.name, t.identity, "none", judged,
                                             kinds, None, t.paid_unit)]
            for grade in t.grades:
                step(f"{t.name} at {t.label(grade)}", 0)
                changed = t.apply(scope, grade, truth, TRANSFORM_SEED)
                for s in settings:
                    graph = graphs[s]
                    if s == "ring_table" and t.graph:
                        step(f"{t.name} at {t.label(grade)}: finding rings again", 0)
                        graph = detect_rings(concat_tables([outside, changed]))
                    judged = judge_tables(changed.select_accounts(members[s]), artifact, graph)
                    paid = t.paid(original[s], grade, truth)
                    rows[s][t.name].append(summarise(t.cohort, t.name, grade, t.label(grade),
                                                     judged, kinds, paid, t.paid_unit))
                step(f"{t.name} at {t.label(grade)}", 1)
        timings["camouflage"] = time.perf_counter() - t0
    wall = time.perf_counter() - started

    print(f"evasion benchmark: model {artifact.name} {artifact.version} ({model_dir}); world of "
          f"{args.accounts:,} accounts, seed {args.seed}; {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}")
    print("cohorts: single-tactic cheaters the model flags `high` before camouflage; "
          "adj/raw = mean adjusted score / raw score; p(tactic) = mean calibrated probability "
          "of the cohort's tactic (churn: growth_burst)")
    report: dict[str, Any] = {
        "model": {"name": artifact.name, "version": artifact.version, "path": str(model_dir)},
        "world": {"accounts": args.accounts, "seed": args.seed,
                  "labelled": {c: int(m.sum()) for c, m in masks.items()}},
        "transform_seed": TRANSFORM_SEED, "settings": {},
    }
    for s in settings:
        costs = {t.name: cost_to_evade(rows[s][t.name], t) for t in TRANSFORMS}
        checks = criteria(rows[s], costs)
        sizes = {c: len(v) for c, v in cohorts[s].items()}
        print_setting(SETTINGS[s], sizes, rows[s], costs, checks, TRANSFORMS)
        report["settings"][s] = {
            "title": SETTINGS[s], "cohorts": sizes,
            "rows": {name: [r.__dict__ for r in rs] for name, rs in rows[s].items()},
            "cost_to_evade": costs, "criteria": checks}
    print("\nseconds: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items())
          + f" (total {wall:.0f})")
    report["seconds"] = {**timings, "total": wall}
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2, default=float) + "\n")
        print(f"figures written to {args.json}")
    return 0


def cli(argv: list[str] | None = None) -> int:
    """``main`` with bad input (a missing model, a size out of range) as one line, exit 2."""
    from trueclout.errors import UserError

    try:
        return main(argv)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(cli())
