"""Judge the follower model by what it never saw: whole groups or data sets held out.

``unit_splits(data, by)`` cuts labelled followers into (train, test) pairs
within each platform:

- ``by="dataset"``: each data set is tested by a model trained on the other
  data sets of its platform (cresci-2017 by a model of cresci-2015 and
  botrepo-2019, say).
- ``by="group"``: each group holding fakes (a market, a bot family) is
  tested, with the humans of its data set that stand alone as companions
  (E13's humans beside INT's fakes; RTB19 and STK18 bring their own
  humans); the test rows are out of training, so the model meets neither.

``cross_platform_splits`` trains on one platform and tests on each data set
of another (Twitter -> Instagram and back): poor figures are still figures.

A group never appears on both sides of a split (``UnitSplit`` checks).  Each
split fits the shipped recipe and a plain XGBoost on the raw profile
measurements (the baseline) on the same rows, and reports per held-out unit
ROC-AUC, PR-AUC and MCC at each learner's own threshold, and the fake-share
error and interval coverage on audiences mixed from the unit's held-out
profiles.  The headline is the *worst* unit, never the mean.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from trueclout.errors import UserError
from trueclout.features.families.follower_signals import (
    FOLLOWER_MEASUREMENTS,
    signals_from_measurements,
)
from trueclout.models.follower_model import FollowerModel
from trueclout.progress import Progress, SilentProgress, progress_steps
from trueclout.training.data.followers import LabelledFollowers
from trueclout.training.evaluate.audiences import (
    LARGE_SAMPLE,
    SIZES,
    counted_share,
    draw_audiences,
    model_estimate,
    share_errors,
)
from trueclout.training.evaluate.followers import (
    BASELINE_THRESHOLD,
    METRICS_FILE,
    PRIMARY,
    classification_metrics,
    data_summary,
    write_json,
    write_plots,
)

BASELINE = "xgboost_raw"
BY: tuple[str, ...] = ("dataset", "group")


@dataclass(frozen=True)
class UnitSplit:
    """One held-out unit: the rows it is tested on and the rows its model learns from."""

    unit: str
    platform: str
    train: np.ndarray
    test: np.ndarray
    trained_on: tuple[str, ...]
    tested_on: tuple[str, ...]

    def __post_init__(self) -> None:
        overlap = set(self.trained_on) & set(self.tested_on)
        if overlap or np.intersect1d(self.train, self.test).size:
            raise ValueError(f"split {self.unit}: {sorted(overlap) or 'rows'} on both sides")


def _split(data: LabelledFollowers, unit: str, platform: str, test: np.ndarray,
           train: np.ndarray) -> UnitSplit | str:
    """A split, or why it cannot be made (a side without both classes)."""
    y, units = data.labels, data.units
    for side, rows in (("test", test), ("training", train)):
        if not rows.any() or y[rows].min() == y[rows].max():
            return f"{unit}: the {side} side lacks fakes or humans"
    return UnitSplit(unit, platform, np.flatnonzero(train), np.flatnonzero(test),
                     tuple(sorted(set(units[train].tolist()))),
                     tuple(sorted(set(units[test].tolist()))))


def unit_splits(data: LabelledFollowers, by: str = "dataset") -> tuple[list[UnitSplit], list[str]]:
    """Held-out splits within each platform, and a line per unit that could not be held out."""
    if by not in BY:
        raise UserError(f"--by must be one of {', '.join(BY)}, not {by!r}")
    y, units, datasets, platforms = data.labels, data.units, data.datasets, data.platforms
    splits: list[UnitSplit] = []
    skipped: list[str] = []
    for platform in sorted(set(platforms.tolist())):
        mine = platforms == platform
        if by == "dataset":
            names = sorted(set(datasets[mine].tolist()))
            if len(names) < 2:
                elsewhere = ("see the cross-platform figures"
                             if len(set(platforms.tolist())) > 1 else
                             "give another data set of that platform, or use --by folds")
                skipped.append(f"{platform}: one data set ({names[0]}) cannot be held out "
                               f"within its platform; {elsewhere}")
                continue
            for name in names:
                test = mine & (datasets == name)
                made = _split(data, name, platform, test, mine & ~test)
                (splits if isinstance(made, UnitSplit) else skipped).append(made)
            continue
        with_fakes = sorted(set(units[mine & (y == 1)].tolist()))
        if len(with_fakes) < 2:
            skipped.append(f"{platform}: fewer than two groups of fakes to hold out in turn")
            continue
        human_only = set(units[mine & (y == 0)].tolist()) - set(with_fakes)
        for unit in with_fakes:
            dataset = datasets[units == unit][0]
            companions = [u for u in human_only if u.split("/", 1)[0] == dataset]
            test = mine & (np.isin(units, [unit, *companions]))
            made = _split(data, unit, platform, test, mine & ~test)
            (splits if isinstance(made, UnitSplit) else skipped).append(made)
    return splits, skipped


def cross_platform_splits(data: LabelledFollowers) -> list[UnitSplit]:
    """Train on all of one platform, test on each data set of another."""
    platforms, datasets = data.platforms, data.datasets
    names = sorted(set(platforms.tolist()))
    out = []
    for source in names:
        for target in names:
            if source == target:
                continue
            for dataset in sorted(set(datasets[platforms == target].tolist())):
                made = _split(data, f"{source} -> {dataset}", target,
                              (platforms == target) & (datasets == dataset), platforms == source)
                if isinstance(made, UnitSplit):
                    out.append(made)
    return out


# --- learners -------------------------------------------------------------------------


def raw_baseline(seed: int = 0, n_jobs: int = 1) -> Any:
    """The plain baseline: XGBoost with its defaults on the raw profile measurements."""
    from xgboost import XGBClassifier

    return XGBClassifier(random_state=seed, n_jobs=n_jobs, verbosity=0)


def raw_measurements(measured: dict[str, np.ndarray]) -> np.ndarray:
    """Counts, flags, lengths and age as the profile gives them (no logs, no ratios)."""
    return np.column_stack([measured[name] for name in FOLLOWER_MEASUREMENTS])


@dataclass
class UnitResult:
    """What one held-out unit showed, per learner."""

    split: UnitSplit
    metrics: dict[str, dict[str, Any]]
    threshold: float
    audiences: dict[str, Any] = field(default_factory=dict)
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    probability: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    baseline_probability: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    def to_dict(self) -> dict[str, Any]:
        s = self.split
        y_counts = self.metrics[PRIMARY]
        return {"unit": s.unit, "platform": s.platform, "trained_on": list(s.trained_on),
                "tested_on": list(s.tested_on), "n_fake": y_counts["n_fake"],
                "n_human": y_counts["n_human"], "threshold": self.threshold,
                "metrics": self.metrics, "audiences": self.audiences}


def evaluate_split(
    data: LabelledFollowers, split: UnitSplit, *, X: np.ndarray, raw: np.ndarray,
    created_s: np.ndarray, make_model: Callable[[], FollowerModel], baseline: bool = True,
    audiences: bool = True, draws: int = 100, seed: int = 0, n_jobs: int = 1,
) -> UnitResult:
    """Fit on the split's training rows, judge on its test rows (both learners, same rows)."""
    y, units = data.labels, data.units
    train, test = split.train, split.test
    model = make_model().fit(X[train], y[train], units[train])
    p = model.fake_probability(X[test])
    flagged = p >= model.threshold_
    metrics = {PRIMARY: classification_metrics(y[test], p, flagged)}
    result = UnitResult(split, metrics, float(model.threshold_), labels=y[test], probability=p)
    base_flagged = None
    if baseline:
        learner = raw_baseline(seed, n_jobs).fit(raw[train], y[train])
        bp = learner.predict_proba(raw[test])[:, 1]
        base_flagged = bp >= BASELINE_THRESHOLD
        metrics[BASELINE] = classification_metrics(y[test], bp, base_flagged)
        result.baseline_probability = bp
    if audiences:
        result.audiences = _audience_errors(y[test], flagged, base_flagged, created_s[test],
                                            model, draws, seed)
    return result


def _audience_errors(y: np.ndarray, flagged: np.ndarray, base_flagged: np.ndarray | None,
                     created_s: np.ndarray, model: FollowerModel, draws: int,
                     seed: int) -> dict[str, Any]:
    mixed = draw_audiences(np.flatnonzero(y == 1), np.flatnonzero(y == 0), draws=draws,
                           seed=seed)
    if mixed.n == 0:
        return {"note": "the held-out pools are too small for any audience size"}
    out: dict[str, Any] = {}
    alone = model_estimate(mixed, flagged, model.quantifier_)
    out["model"] = share_errors(mixed, alone.share, alone.low, alone.high).to_dict()
    if not np.isnan(created_s).all():
        joined = model_estimate(mixed, flagged, model.quantifier_, created_s)
        out["model_and_lots"] = share_errors(mixed, joined.share, joined.low,
                                             joined.high).to_dict()
    if base_flagged is not None:
        out[BASELINE] = share_errors(mixed, counted_share(mixed, base_flagged)).to_dict()
    return out


# --- the study ------------------------------------------------------------------------


def shipped_estimate(audiences: dict[str, Any]) -> dict[str, Any] | None:
    """The estimate the service gives: model and lots where dates exist, else the model."""
    return audiences.get("model_and_lots") or audiences.get("model")


def held_out_study(
    data: LabelledFollowers,
    *,
    by: str = "dataset",
    cross_platform: bool = True,
    baseline: bool = True,
    audiences: bool = True,
    draws: int = 100,
    seed: int = 0,
    threads: int = 1,
    trees: int = 200,
    report: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Every unit held out in turn (and across platforms): the table, worst unit first.

    Returns plain JSON-ready values; with ``report``, metrics.json and PNG
    plots (per-unit ROC-AUC beside the baseline, fake-share error and
    coverage by sample size, and the worst unit's curves) are written there.
    """
    splits, skipped = unit_splits(data, by)
    crossing = cross_platform_splits(data) if cross_platform else []
    if not splits and not crossing:
        raise UserError("nothing can be held out: " + "; ".join(skipped)
                        if skipped else "nothing can be held out")

    def make_model() -> FollowerModel:
        return FollowerModel(random_state=seed, n_jobs=threads, n_estimators=trees)

    measured = data.measurements()  # once: the model's signals and the baseline's columns
    X, raw = signals_from_measurements(measured), raw_measurements(measured)
    created_s = data.seconds("created_at")
    step = progress_steps(progress or SilentProgress(), len(splits) + len(crossing))
    results, crossed = [], []
    for bucket, todo in ((results, splits), (crossed, crossing)):
        for split in todo:
            step(f"holding out {split.unit}", 0)
            bucket.append(evaluate_split(
                data, split, X=X, raw=raw, created_s=created_s, make_model=make_model,
                baseline=baseline, audiences=audiences and bucket is results, draws=draws,
                seed=seed, n_jobs=threads))
            step(f"held out {split.unit}")
    units = [r.to_dict() for r in results]
    out: dict[str, Any] = {
        "by": by,
        "data": data_summary(data),
        "design": (f"each {by} held out in turn within its platform; trained on the rest of "
                   f"the platform with groups weighted equally; '{BASELINE}' is XGBoost with "
                   f"its defaults on the raw measurements at {BASELINE_THRESHOLD}; audiences "
                   f"of {', '.join(map(str, SIZES))} followers at fake shares 0-80% mixed "
                   f"from the unit's held-out profiles, {draws} per cell"),
        "units": units,
        "worst": worst_units(units),
        "skipped": skipped,
        "cross_platform": [r.to_dict() for r in crossed],
    }
    if report is not None:
        out["plots"] = write_unit_plots(report, results, out["worst"])
        write_json(report / METRICS_FILE, out)
    return out


def worst_units(units: list[dict[str, Any]]) -> dict[str, Any]:
    """Per platform: the unit with the lowest ROC-AUC, and the worst audience figures."""
    out: dict[str, Any] = {}
    for platform in sorted({u["platform"] for u in units}):
        mine = [u for u in units if u["platform"] == platform]
        ranked = [u for u in mine if u["metrics"][PRIMARY]["roc_auc"] is not None]
        if not ranked:
            continue
        worst = min(ranked, key=lambda u: u["metrics"][PRIMARY]["roc_auc"])
        entry: dict[str, Any] = {
            "unit": worst["unit"],
            "roc_auc": worst["metrics"][PRIMARY]["roc_auc"],
            "baseline_roc_auc": worst["metrics"].get(BASELINE, {}).get("roc_auc"),
            "baseline_worst_roc_auc": min(
                (u["metrics"][BASELINE]["roc_auc"] for u in ranked if BASELINE in u["metrics"]),
                default=None),
            "beats_baseline_on_every_unit": all(
                u["metrics"][PRIMARY]["roc_auc"] > u["metrics"][BASELINE]["roc_auc"]
                for u in ranked if BASELINE in u["metrics"]),
        }
        large = [(u["unit"], shipped_estimate(u["audiences"]))
                 for u in mine if u["audiences"] and shipped_estimate(u["audiences"])]
        large = [(name, a[f"at_{LARGE_SAMPLE}_plus"]) for name, a in large
                 if a[f"at_{LARGE_SAMPLE}_plus"]["mae"] is not None]
        if large:
            name, a = max(large, key=lambda item: item[1]["mae"])
            entry[f"worst_mae_at_{LARGE_SAMPLE}_plus"] = {"unit": name, "mae": a["mae"]}
            name, a = min(large, key=lambda item: item[1]["coverage"])
            entry[f"worst_coverage_at_{LARGE_SAMPLE}_plus"] = {"unit": name,
                                                              "coverage": a["coverage"]}
        out[platform] = entry
    return out


# --- plots ----------------------------------------------------------------------------

UNIT_PLOTS = {"units": "held_out_units.png", "audiences": "held_out_audiences.png"}


def write_unit_plots(directory: Path, results: list[UnitResult],
                     worst: dict[str, Any]) -> list[str]:
    """Per-unit ROC-AUC (model beside baseline), audience error by size, the worst unit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    if not results:
        return written
    names = [r.split.unit for r in results]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(names) + 1.5))
    pos = np.arange(len(names))
    model_auc = [r.metrics[PRIMARY]["roc_auc"] or 0.0 for r in results]
    ax.barh(pos + 0.2, model_auc, height=0.4, label=PRIMARY, color="#1f5fa8")
    if all(BASELINE in r.metrics for r in results):
        ax.barh(pos - 0.2, [r.metrics[BASELINE]["roc_auc"] or 0.0 for r in results], height=0.4,
                label=f"{BASELINE} (baseline)", color="#c97b12")
    ax.set_yticks(pos, names, fontsize=8)
    ax.axvline(0.5, color="grey", linestyle=":")
    ax.set(xlim=(0.4, 1.0), xlabel="ROC-AUC on the held-out unit",
           title="Held-out units (never seen in training)")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(directory / UNIT_PLOTS["units"], dpi=80)
    plt.close(fig)
    written.append(UNIT_PLOTS["units"])
    with_audiences = [(r.split.unit, shipped_estimate(r.audiences)) for r in results
                      if r.audiences and shipped_estimate(r.audiences)]
    if with_audiences:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
        for name, a in with_audiences:
            rows = [row for row in a["by_size"] if row["mae"] is not None]
            sizes = [row["size"] for row in rows]
            ax1.plot(sizes, [row["mae"] for row in rows], "o-", label=name)
            ax2.plot(sizes, [row["coverage"] for row in rows], "s-", label=name)
        ax1.set(xscale="log", xlabel="sampled followers", ylabel="mean absolute error",
                title="Fake-share error (fake share 0-80%)")
        ax2.axhline(0.95, color="grey", linestyle=":")
        ax2.set(xscale="log", xlabel="sampled followers", ylabel="coverage of the 95% interval",
                ylim=(0, 1.02), title="Interval coverage")
        ax2.legend(fontsize=7, loc="lower left")
        fig.tight_layout()
        fig.savefig(directory / UNIT_PLOTS["audiences"], dpi=80)
        plt.close(fig)
        written.append(UNIT_PLOTS["audiences"])
    for platform, entry in worst.items():
        result = next(r for r in results if r.split.unit == entry["unit"])
        probabilities = {PRIMARY: result.probability}
        if result.baseline_probability.size:
            probabilities[BASELINE] = result.baseline_probability
        written += [f"worst_{platform}/{name}" for name in write_plots(
            directory / f"worst_{platform}", result.labels, probabilities,
            threshold=result.threshold, title=f"({entry['unit']} held out)")]
    return written


def held_out_lines(study: dict[str, Any]) -> list[str]:
    """The table as text: one line per unit, worst unit per platform last."""
    lines = [f"held out by {study['by']}: ROC-AUC / PR-AUC / MCC at threshold "
             f"(baseline {BASELINE} ROC-AUC); fake share at {LARGE_SAMPLE}+ followers: "
             "MAE, interval coverage"]

    def line(u: dict[str, Any]) -> str:
        m = u["metrics"][PRIMARY]
        b = u["metrics"].get(BASELINE, {})
        text = (f"  {u['unit']:<32} {_f(m['roc_auc'])} / {_f(m['pr_auc'])} / {_f(m['mcc'])}"
                f"   (baseline {_f(b.get('roc_auc'))})")
        a = shipped_estimate(u.get("audiences") or {})
        if a and a[f"at_{LARGE_SAMPLE}_plus"]["mae"] is not None:
            large = a[f"at_{LARGE_SAMPLE}_plus"]
            text += f"   MAE {_f(large['mae'])}, coverage {_f(large['coverage'])}"
        return text

    lines += [line(u) for u in study["units"]]
    for platform, w in study["worst"].items():
        lines.append(f"worst {platform} unit: {w['unit']} ROC-AUC {_f(w['roc_auc'])} "
                     f"(baseline on it {_f(w['baseline_roc_auc'])}, baseline's worst "
                     f"{_f(w['baseline_worst_roc_auc'])})")
    if study["cross_platform"]:
        lines.append("across platforms:")
        lines += [line(u) for u in study["cross_platform"]]
    lines += [f"not held out: {s}" for s in study["skipped"]]
    return lines


def _f(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
