"""Sim-to-real: how closely the synthetic world's follower profiles match real labelled ones.

    trueclout dev sim-to-real --data ../shared/datasets --out sim-to-real/
    trueclout dev sim-to-real --data ../shared/datasets --out sim-to-real/ \
        --train --unseen --threads 2

Each synthetic group is set beside the real group it imitates (``PAIRS``):
Twitter humans beside cresci-2015's verified humans (E13), the ``bulk_farm``
and ``drip`` markets beside the INT and FSF fakes they copy, Instagram humans
and ``bulk_crude`` fakes beside InstaFake's real and fake accounts.  Per
signal of ``FOLLOWER_SIGNALS`` and per group (every synthetic group, paired
or not): the missing rate, the mean (the share, for a flag) and quantiles;
per pair: the Kolmogorov-Smirnov distance of the known values, and how far
the rank correlations between count signals differ (the dependencies, not
only the marginals).  ``--train`` also fits a follower model on synthetic
followers only and scores the real sets with it: the figure that says how
far the synthetic world can be trusted; ``--unseen`` repeats it on worlds
that never sell the INT or FSF look-alike.

Writes ``comparison.json`` (every figure), ``signals.png`` (real and synthetic
distributions side by side) and, with ``--train``, ``transfer.json``.  The
research data is read by path and never copied; nothing of it is written
but the summary statistics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trueclout.errors import UserError
from trueclout.features.families.follower_signals import FOLLOWER_FLAGS, FOLLOWER_SIGNALS

QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)

# (real group, synthetic group): what each synthetic group is meant to look like.
PAIRS: tuple[tuple[str, str], ...] = (
    ("cresci:E13", "twitter:human"),
    ("cresci:INT", "twitter:bulk_farm"),
    ("cresci:FSF", "twitter:drip"),
    ("instafake:real", "instagram:human"),
    ("instafake:fake", "instagram:bulk_crude"),
)
BOUGHT = ("bulk_crude", "bulk_farm", "drip", "premium")

# Count-like signals whose rank correlations describe a profile's dependencies.
DEPENDENT_SIGNALS: tuple[str, ...] = (
    "log_posts", "log_followers", "log_following", "log_likes", "log_listed",
    "log_age_days", "bio_length", "username_length",
)

# The protocol of the headline transfer figure (data/README.md, "Sim-to-real").
TRANSFER_ACCOUNTS = 3_000
TRANSFER_SEED = 7
TRANSFER_ROWS = 60_000


@dataclass(frozen=True)
class Group:
    """The signal matrix of one group of profiles (``FOLLOWER_SIGNALS`` columns)."""

    name: str
    signals: np.ndarray

    @property
    def n(self) -> int:
        return len(self.signals)

    def column(self, signal: str) -> np.ndarray:
        return self.signals[:, FOLLOWER_SIGNALS.index(signal)]


# --- groups --------------------------------------------------------------------------


def real_groups(datasets: Path) -> dict[str, Group]:
    """cresci-2015 groups (``cresci:E13`` ...) and InstaFake's (``instafake:real``/``fake``)."""
    from trueclout.training.data.followers import read_followers

    out: dict[str, Group] = {}
    for folder, prefix in (("cresci-2015", "cresci"), ("instafake", "instafake")):
        path = Path(datasets) / folder
        if not path.is_dir():
            continue
        data = read_followers(path)
        X, groups = data.signals(), data.groups.astype(str)
        for g in sorted(set(groups)):
            out[f"{prefix}:{g}"] = Group(f"{prefix}:{g}", X[groups == g])
    if not out:
        raise UserError(f"{datasets}: neither cresci-2015/ nor instafake/ found")
    return out


def synthetic_groups(followers: pa.Table, labels: pa.Table, profiles: pa.Table) -> dict[str, Group]:
    """Sampled followers of a synthetic world by platform and market (``twitter:drip`` ...).

    Humans (real followers and viral newcomers) are ``<platform>:human``; all
    purchased markets together are also ``<platform>:bought``.
    """
    from trueclout.training.data.followers import labelled_from_tables

    data = labelled_from_tables(followers, labels, profiles, where="synthetic followers")
    # Every sampled follower has a label, so the join keeps the followers' row order.
    at = pc.index_in(followers.column("account_id"), profiles.column("account_id"))
    platform = profiles.column("platform").take(at).to_numpy(zero_copy_only=False).astype(str)
    X, market = data.signals(), data.groups.astype(str)
    out: dict[str, Group] = {}
    for p in sorted(set(platform)):
        on = platform == p
        for m in sorted(set(market[on])):
            out[f"{p}:{m}"] = Group(f"{p}:{m}", X[on & (market == m)])
        bought = on & np.isin(market, BOUGHT)
        if bought.any():
            out[f"{p}:bought"] = Group(f"{p}:bought", X[bought])
    return out


# --- statistics ----------------------------------------------------------------------


def describe(group: Group) -> dict[str, dict[str, float | None]]:
    """Per signal: missing rate, mean (a flag's share) and quantiles of the known values."""
    out: dict[str, dict[str, float | None]] = {}
    for j, name in enumerate(FOLLOWER_SIGNALS):
        v = group.signals[:, j]
        known = v[~np.isnan(v)]
        stats: dict[str, float | None] = {"missing": float(np.isnan(v).mean()) if len(v) else None,
                                          "mean": float(known.mean()) if len(known) else None}
        qs = np.quantile(known, QUANTILES) if len(known) else [None] * len(QUANTILES)
        stats |= {f"q{round(q * 100):02d}": (None if x is None else float(x))
                  for q, x in zip(QUANTILES, qs, strict=True)}
        out[name] = stats
    return out


def ks_distance(a: np.ndarray, b: np.ndarray) -> float | None:
    """Two-sample Kolmogorov-Smirnov distance of the known values (None if either is empty)."""
    a, b = np.sort(a[~np.isnan(a)]), np.sort(b[~np.isnan(b)])
    if not len(a) or not len(b):
        return None
    at = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, at, side="right") / len(a)
    cdf_b = np.searchsorted(b, at, side="right") / len(b)
    return float(np.abs(cdf_a - cdf_b).max())


def rank_correlations(group: Group, names: tuple[str, ...] = DEPENDENT_SIGNALS
                      ) -> dict[str, float]:
    """Spearman correlation of each pair of signals, over profiles where both are known."""
    from scipy.stats import spearmanr

    out = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            x, y = group.column(a), group.column(b)
            both = ~np.isnan(x) & ~np.isnan(y)
            if both.sum() >= 10 and np.ptp(x[both]) > 0 and np.ptp(y[both]) > 0:
                out[f"{a}~{b}"] = float(spearmanr(x[both], y[both]).statistic)
    return out


def compare_pair(real: Group, synthetic: Group) -> dict[str, Any]:
    """How far a synthetic group is from the real one it imitates, signal by signal."""
    per_signal = {}
    for name in FOLLOWER_SIGNALS:
        r, s = real.column(name), synthetic.column(name)
        per_signal[name] = {
            "ks": ks_distance(r, s),
            "missing_real": float(np.isnan(r).mean()),
            "missing_synthetic": float(np.isnan(s).mean()),
        }
    ks = [v["ks"] for v in per_signal.values() if v["ks"] is not None]
    rc_real, rc_syn = rank_correlations(real), rank_correlations(synthetic)
    common = sorted(set(rc_real) & set(rc_syn))
    corr = {k: {"real": rc_real[k], "synthetic": rc_syn[k]} for k in common}
    return {
        "real": real.name, "synthetic": synthetic.name,
        "n_real": real.n, "n_synthetic": synthetic.n,
        "signals": per_signal,
        "mean_ks": float(np.mean(ks)) if ks else None,
        "max_ks": float(np.max(ks)) if ks else None,
        "worst_signal": max((k for k in per_signal if per_signal[k]["ks"] is not None),
                            key=lambda k: per_signal[k]["ks"], default=None),
        "rank_correlations": corr,
        "mean_abs_correlation_gap": (float(np.mean([abs(v["real"] - v["synthetic"])
                                                    for v in corr.values()])) if corr else None),
    }


def compare(real: Mapping[str, Group], synthetic: Mapping[str, Group],
            pairs: tuple[tuple[str, str], ...] = PAIRS) -> dict[str, Any]:
    """Every pair present on both sides, plus the description of every group."""
    groups = {**real, **synthetic}
    present = [(r, s) for r, s in pairs if r in real and s in synthetic]
    return {
        "pairs": [compare_pair(real[r], synthetic[s]) for r, s in present],
        "groups": {name: {"n": g.n, "signals": describe(g)} for name, g in groups.items()},
    }


# --- the transfer figure -------------------------------------------------------------


def synthetic_training_set(followers: pa.Table, labels: pa.Table, profiles: pa.Table, *,
                           rows: int = TRANSFER_ROWS, seed: int = 0
                           ) -> tuple[np.ndarray, np.ndarray]:
    """Signals and labels of a seeded sample of ``rows`` synthetic followers (as ``make model``)."""
    from trueclout.training.data.followers import labelled_from_tables

    data = labelled_from_tables(followers, labels, profiles, where="synthetic followers")
    if len(data) > rows:
        pick = np.random.default_rng(seed).choice(len(data), rows, replace=False)
        data = data.take(np.sort(pick))
    return data.signals(), data.labels


def fit_synthetic(X: np.ndarray, y: np.ndarray, *, mask: np.ndarray | None = None,
                  seed: int = 0, n_jobs: int = 1, **params: Any) -> Any:
    """The follower model on synthetic signals, with the ``mask`` columns made unknown.

    ``params`` are ``FollowerModel`` options (the defaults are the shipped model's).
    """
    from trueclout.models.follower_model import FollowerModel

    if mask is not None:
        X = np.where(mask, np.nan, X)
    return FollowerModel(random_state=seed, n_jobs=n_jobs, **params).fit(X, y)


def transfer(followers: pa.Table, labels: pa.Table, profiles: pa.Table, datasets: Path, *,
             rows: int = TRANSFER_ROWS, seed: int = 0, n_jobs: int = 1,
             match_gaps: bool = True, **params: Any) -> dict[str, Any]:
    """Fit the follower model on (a seeded sample of) synthetic followers; score the real sets.

    The sample mirrors ``training/fit/default_model.py``, so ``all_signals`` is
    the figure the shipped default would show.  A real set that lacks signals
    (InstaFake has no ages or username strings) meets them as NaN, which a
    model that never saw them missing routes arbitrarily; with
    ``match_gaps``, ``own_signals`` is a second model trained on the same
    synthetic followers with the set's missing signals masked, as one would
    train for that source.  Per real set: the metrics at the model's own
    stored threshold; for cresci-2015 also per fake market.  ``params`` are
    ``FollowerModel`` options.
    """
    from trueclout.features.families.follower_signals import FOLLOWER_SIGNALS
    from trueclout.training.data.followers import read_followers

    X, y = synthetic_training_set(followers, labels, profiles, rows=rows, seed=seed)
    model = fit_synthetic(X, y, seed=seed, n_jobs=n_jobs, **params)
    out: dict[str, Any] = {"training": {"n_fake": int(y.sum()), "n_human": int(len(y) - y.sum()),
                                        "threshold": model.threshold_}}
    for folder in ("cresci-2015", "instafake"):
        path = Path(datasets) / folder
        if not path.is_dir():
            continue
        real = read_followers(path)
        R, groups = real.signals(), real.groups.astype(str)
        entry = {"all_signals": _score_real(model, R, real.labels, groups)}
        gaps = np.isnan(R).all(axis=0) & ~np.isnan(X).all(axis=0)
        if match_gaps and gaps.any():
            masked = fit_synthetic(X, y, mask=gaps, seed=seed, n_jobs=n_jobs, **params)
            entry["own_signals"] = _score_real(masked, R, real.labels, groups)
            entry["own_signals"]["masked"] = [n for n, g in zip(FOLLOWER_SIGNALS, gaps,
                                                                strict=True) if g]
        out[folder] = entry
    return out


# The world's kinds that buy from the market imitating each cresci-2015 group.
UNSEEN: dict[str, str] = {"FSF": "bought_drip", "INT": "bought_bulk"}


def unseen_markets(datasets: Path, *, accounts: int = TRANSFER_ACCOUNTS,
                   seed: int = TRANSFER_SEED, rows: int = TRANSFER_ROWS, n_jobs: int = 1
                   ) -> dict[str, Any]:
    """The transfer figure for a real market whose synthetic twin the world does not sell.

    For FSF, a world without drip-feed purchases; for INT, one without bulk
    purchases (so without ``bulk_farm``, and without ``bulk_crude`` too).
    The model trained on it scores cresci-2015's humans and that market: how
    well the world's other markets stand in for one it never saw.
    """
    from trueclout.training.data.followers import read_followers
    from trueclout.training.sim.params import DEFAULT_KIND_WEIGHTS
    from trueclout.training.sim.world import simulate_world

    real = read_followers(Path(datasets) / "cresci-2015")
    groups = real.groups.astype(str)
    out: dict[str, Any] = {}
    for market, kind in UNSEEN.items():
        weights = {k: w for k, w in DEFAULT_KIND_WEIGHTS.items() if kind not in k}
        world = simulate_world(accounts, seed=seed, kind_weights=weights)
        X, y = synthetic_training_set(world.tables.followers, world.follower_labels,
                                      world.tables.profiles, rows=rows)
        model = fit_synthetic(X, y, n_jobs=n_jobs)
        keep = (real.labels == 0) | (groups == market)
        out[market] = _score_real(model, real.signals()[keep], real.labels[keep], groups[keep])
    return out


def _score_real(model: Any, X: np.ndarray, y: np.ndarray, groups: np.ndarray) -> dict[str, Any]:
    """Metrics on all profiles, and on the humans with each fake group alone."""
    from trueclout.training.evaluate.followers import classification_metrics

    p = model.fake_probability(X)
    flagged = p >= model.threshold_
    out: dict[str, Any] = {"all": classification_metrics(y, p, flagged)}
    fakes = sorted(set(groups[y == 1]))
    if len(fakes) > 1:
        for g in fakes:
            rows = (y == 0) | (groups == g)
            out[f"humans+{g}"] = classification_metrics(y[rows], p[rows], flagged[rows])
    return out


# --- report --------------------------------------------------------------------------


def format_table(comparison: Mapping[str, Any]) -> str:
    """Per signal and pair: KS distance and real -> synthetic median (share for a flag)."""
    pairs = comparison["pairs"]
    groups = comparison["groups"]
    head = f"{'signal':26s}" + "".join(
        f"{p['real'] + ' / ' + p['synthetic'].split(':')[1]:>32s}" for p in pairs)
    lines = ["KS distance, and real -> synthetic median (mean for a flag); '-' = not measured",
             head]
    for name in FOLLOWER_SIGNALS:
        cells = []
        for p in pairs:
            ks = p["signals"][name]["ks"]
            key = "mean" if name in FOLLOWER_FLAGS else "q50"
            r = groups[p["real"]]["signals"][name][key]
            s = groups[p["synthetic"]]["signals"][name][key]
            if ks is None:
                cells.append(f"{'-':>32s}")
            else:
                cells.append(f"{ks:6.2f}  {r:9.2f} -> {s:9.2f}".rjust(32))
        lines.append(f"{name:26s}" + "".join(cells))
    lines.append(f"{'mean KS':26s}" + "".join(
        f"{p['mean_ks']:32.3f}" if p["mean_ks"] is not None else f"{'-':>32s}" for p in pairs))
    lines.append(f"{'rank-correlation gap':26s}" + "".join(
        f"{p['mean_abs_correlation_gap']:32.3f}" if p["mean_abs_correlation_gap"] is not None
        else f"{'-':>32s}" for p in pairs))
    return "\n".join(lines)


def format_transfer(result: Mapping[str, Any]) -> str:
    """The transfer figures, one line per real set (and part of it) and model."""
    t = result["training"]
    lines = [f"follower model trained on synthetic followers only ({t['n_fake']:,} fake, "
             f"{t['n_human']:,} human; threshold {t['threshold']:.3f}), at its own threshold:"]
    for folder in ("cresci-2015", "instafake"):
        for variant, parts in result.get(folder, {}).items():
            label = "all signals" if variant == "all_signals" else (
                "own signals (masked: " + ", ".join(parts["masked"]) + ")")
            lines.append(f"  {folder}, {label}")
            lines += [f"    {part:12s} " + _metrics_line(m)
                      for part, m in parts.items() if isinstance(m, dict)]
    for market, parts in result.get("unseen_markets", {}).items():
        lines.append(f"  cresci-2015, a world that never sells the {market} look-alike")
        lines += [f"    {part:12s} " + _metrics_line(m) for part, m in parts.items()]
    return "\n".join(lines)


def _metrics_line(m: Mapping[str, Any]) -> str:
    def num(x: float | None, digits: int = 3) -> str:
        return "-" if x is None else f"{x:.{digits}f}"

    return (f"ROC-AUC {num(m['roc_auc'], 4)}  MCC {num(m['mcc'])}  recall {num(m['recall'])}  "
            f"precision {num(m['precision'])}")


def write_plot(path: Path, real: Mapping[str, Group], synthetic: Mapping[str, Group],
               pairs: tuple[tuple[str, str], ...] = PAIRS) -> None:
    """One panel per signal: the empirical CDF of each real group and of its synthetic twin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = [(r, s) for r, s in pairs if r in real and s in synthetic]
    colors = plt.get_cmap("tab10").colors
    cols = 4
    rows = -(-len(FOLLOWER_SIGNALS) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows))
    for ax, name in zip(axes.ravel(), FOLLOWER_SIGNALS, strict=False):
        for i, (r, s) in enumerate(present):
            for group, style in ((real[r], "-"), (synthetic[s], "--")):
                v = np.sort(group.column(name)[~np.isnan(group.column(name))])
                if len(v):
                    ax.plot(v, np.arange(1, len(v) + 1) / len(v), style, color=colors[i],
                            label=f"{group.name}" if name == FOLLOWER_SIGNALS[0] else None,
                            linewidth=1)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(FOLLOWER_SIGNALS):]:
        ax.axis("off")
    fig.legend(loc="lower right", fontsize=7, ncol=2)
    fig.suptitle("Empirical CDFs: real (solid) and synthetic (dashed)")
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=70)
    plt.close(fig)


def sim_to_real(data: Path, out: Path, *, accounts: int = TRANSFER_ACCOUNTS,
                seed: int = TRANSFER_SEED, train: bool = False, rows: int = TRANSFER_ROWS,
                unseen: bool = False, threads: int = 1,
                report: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Compare a fresh world with the real sets in ``data`` and write the figures into ``out``.

    ``train`` adds the transfer figure (``unseen``: also on worlds without the
    look-alike markets).  Each table goes to ``report`` as soon as it is ready,
    since the transfer takes minutes.  Returns ``{"comparison": ..., "transfer": ...}``.
    """
    from trueclout.training.evaluate.followers import write_json
    from trueclout.training.sim.world import simulate_world

    real = real_groups(data)
    world = simulate_world(accounts, seed=seed)
    tables = world.tables
    synthetic = synthetic_groups(tables.followers, world.follower_labels, tables.profiles)
    result = compare(real, synthetic)
    result["world"] = {"accounts": accounts, "seed": seed}
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "comparison.json", result)
    write_plot(out / "signals.png", real, synthetic)
    if report is not None:
        report(format_table(result))
    moved = None
    if train:
        moved = transfer(tables.followers, world.follower_labels, tables.profiles, data,
                         rows=rows, n_jobs=threads)
        moved["world"] = result["world"]
        if unseen:
            moved["unseen_markets"] = unseen_markets(data, accounts=accounts, seed=seed,
                                                     rows=rows, n_jobs=threads)
        write_json(out / "transfer.json", moved)
        if report is not None:
            report(format_transfer(moved))
    return {"comparison": result, "transfer": moved}
