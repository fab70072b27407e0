"""Does each feature family, alone, separate its own tactic on the synthetic world?

    .venv/bin/python benchmarks/feature_families.py                   # 4,000 accounts
    .venv/bin/python benchmarks/feature_families.py --accounts 2000 --seed 7

For every family (audience, growth, engagement, profile; the global graph
columns are left out: they are NaN without the batch ring stage) and every
tactic, a plain logistic regression (median imputation with missing-value
indicators, standard scaling) is cross-validated with folds grouped by
``group_id`` (a ring or purchase lot never sits on both sides) and its
out-of-fold ROC-AUC printed.  A family below 0.8 on its own tactic is a design
problem.  The second table checks the hard negatives: the AUC of the family's
own-tactic model between manipulated accounts and the organic kinds most
likely to be confused with them (viral growth, tight communities,
celebrities); 0.5 would mean they look the same.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from trueclout.training.evaluate.metrics import HARD_NEGATIVE_KINDS as HARD_NEGATIVES

OWN_TACTIC = {"audience": "bought_followers", "growth": "growth_burst",
              "engagement": "engagement_ring"}
TACTICS = ("bought_followers", "growth_burst", "engagement_ring")


def family_scores(values: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int) -> np.ndarray:
    """Out-of-fold probabilities of a logistic regression on these columns."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(max_iter=5_000),
    )
    folds = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
    return cross_val_predict(model, values, y, groups=groups, cv=folds,
                             method="predict_proba")[:, 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=4_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    from sklearn.metrics import roc_auc_score

    from trueclout.features.pipeline import compute_features
    from trueclout.features.registry import FEATURES_BY_FAMILY, GRAPH_FEATURES
    from trueclout.training.sim.world import simulate_world

    started = time.perf_counter()
    world = simulate_world(args.accounts, seed=args.seed)
    simulated = time.perf_counter()
    frame = compute_features(world.tables)
    featured = time.perf_counter()
    labels = world.labels.to_pandas().set_index("account_id").loc[list(frame.account_ids)]
    groups = labels["group_id"].fillna(labels.index.to_series()).to_numpy()
    kind = labels["kind"].to_numpy()
    print(f"world: {args.accounts:,} accounts, seed {args.seed} "
          f"(simulated in {simulated - started:.1f} s, features in {featured - simulated:.1f} s)")
    print("positives: " + ", ".join(f"{t} {int(labels[t].sum()):,}" for t in TACTICS))

    columns = {family: [frame.names.index(n) for n in names if n not in GRAPH_FEATURES]
               for family, names in FEATURES_BY_FAMILY.items()}
    columns["all"] = [i for cols in columns.values() for i in cols]
    scores: dict[tuple[str, str], np.ndarray] = {}
    print("\nROC-AUC, one logistic regression per family (rows) and tactic (columns); "
          "* = the family's own tactic")
    print(f"{'family':12s}" + "".join(f"{t:>20s}" for t in TACTICS))
    shortfalls = []
    for family, cols in columns.items():
        cells = []
        for tactic in TACTICS:
            y = labels[tactic].to_numpy()
            p = family_scores(frame.values[:, cols], y, groups, args.seed)
            scores[family, tactic] = p
            auc = roc_auc_score(y, p)
            own = OWN_TACTIC.get(family) == tactic
            cells.append(f"{auc:>19.3f}{'*' if own else ' '}")
            if own and auc < 0.8:
                shortfalls.append(f"{family} on {tactic}: {auc:.3f}")
        print(f"{family:12s}" + "".join(cells))

    print("\nHard negatives: AUC of the family's own-tactic model, tactic accounts vs "
          "organic accounts of each kind (n in brackets)")
    print(f"{'family':12s}{'tactic':>18s}" + "".join(f"{k:>18s}" for k in HARD_NEGATIVES))
    for family, tactic in OWN_TACTIC.items():
        y = labels[tactic].to_numpy()
        p = scores[family, tactic]
        cells = []
        for k in HARD_NEGATIVES:
            negatives = (kind == k) & (y == 0)
            pick = (y == 1) | negatives
            cell = (f"{roc_auc_score(y[pick], p[pick]):.3f} ({negatives.sum()})"
                    if negatives.any() else "-")
            cells.append(f"{cell:>18s}")
        print(f"{family:12s}{tactic:>18s}" + "".join(cells))
    if shortfalls:
        print("\nBELOW 0.8 ON THEIR OWN TACTIC: " + "; ".join(shortfalls))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
