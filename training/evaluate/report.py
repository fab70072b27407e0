"""The evaluation report: one self-contained HTML page (inline CSS, PNG plots) and report.json.

The HTML is for people (an analyst deciding whether to promote); the JSON
holds every figure of the page, curves included, for scripts.  Plots are
drawn with matplotlib's Agg backend (no display needed) and embedded as
base64 PNGs, so the page can be mailed or archived as one file.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from trueclout.files import write_files
from trueclout.models.account_model import LEVELS, OVERALL, TARGETS
from trueclout.training.evaluate.metrics import Evaluation

CURVE_POINTS = 101
REPORT_HTML = "report.html"
REPORT_JSON = "report.json"
_DPI = 72
_COLORS = {"xgboost": "#1f5fa8", "logistic_regression": "#c97b12",
           "random_forest": "#3c8d3a"}
_AGAINST_COLOR = "#8a3ea8"


# ---------------------------------------------------------------------------------------------
# Curves (shared by the plots and the JSON)


def _downsample(xs: np.ndarray, ys: np.ndarray, points: int = CURVE_POINTS) -> dict[str, list]:
    if len(xs) > points:
        keep = np.unique(np.linspace(0, len(xs) - 1, points).round().astype(int))
        xs, ys = xs[keep], ys[keep]
    return {"x": [round(float(v), 5) for v in xs], "y": [round(float(v), 5) for v in ys]}


def curves(evaluation: Evaluation) -> dict[str, Any]:
    """ROC and PR curves per learner and target, thinned to a plot's worth of points."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    out: dict[str, Any] = {"roc": {}, "pr": {}}
    for learner, probs in evaluation.probabilities.items():
        out["roc"][learner], out["pr"][learner] = {}, {}
        for target in TARGETS:
            y, p = evaluation.labels[target], probs[target]
            if len(np.unique(y)) < 2:
                continue
            fpr, tpr, _ = roc_curve(y, p)
            precision, recall, _ = precision_recall_curve(y, p)
            out["roc"][learner][target] = _downsample(fpr, tpr)
            out["pr"][learner][target] = _downsample(recall[::-1], precision[::-1])
    return out


def report_document(evaluation: Evaluation) -> dict[str, Any]:
    return {**evaluation.summary, "curves": curves(evaluation)}


# ---------------------------------------------------------------------------------------------
# Plots


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, bbox_inches="tight",
                metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _figure(title: str) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(TARGETS), figsize=(3.2 * len(TARGETS), 3.0),
                             constrained_layout=True)
    fig.suptitle(title, fontsize=11)
    return fig, axes


def _color(learner: str) -> str:
    return _COLORS.get(learner, _AGAINST_COLOR)


def plot_curves(document: Mapping[str, Any], kind: str) -> str:
    """ROC (kind='roc') or precision-recall (kind='pr') curves, one panel per target."""
    title = "ROC curves" if kind == "roc" else "Precision-recall curves"
    fig, axes = _figure(title)
    for ax, target in zip(axes, TARGETS, strict=True):
        for learner, by_target in document["curves"][kind].items():
            curve = by_target.get(target)
            if curve:
                ax.plot(curve["x"], curve["y"], color=_color(learner), lw=1.4, label=learner)
        if kind == "roc":
            ax.plot([0, 1], [0, 1], color="#bbb", lw=0.8, ls="--")
            ax.set_xlabel("false-positive rate")
            ax.set_ylabel("true-positive rate")
        else:
            ax.set_xlabel("recall")
            ax.set_ylabel("precision")
        ax.set_title(target, fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
    axes[0].legend(fontsize=7, loc="lower right" if kind == "roc" else "lower left")
    return _png(fig)


def plot_calibration(evaluation: Evaluation) -> str:
    fig, axes = _figure("Calibration (quantile bins of predicted probability)")
    for ax, target in zip(axes, TARGETS, strict=True):
        for learner in evaluation.probabilities:
            table = _metrics_of(evaluation, learner, target)["calibration"]
            if table["predicted"]:
                ax.plot(table["predicted"], table["observed"], marker="o", ms=3, lw=1.2,
                        color=_color(learner), label=learner)
        ax.plot([0, 1], [0, 1], color="#bbb", lw=0.8, ls="--")
        ax.set_title(target, fontsize=9)
        ax.set_xlabel("predicted probability")
        ax.set_ylabel("observed share")
    axes[0].legend(fontsize=7, loc="upper left")
    return _png(fig)


def plot_distributions(evaluation: Evaluation) -> str:
    """Primary learner's probabilities for genuine vs manipulated accounts, thresholds marked."""
    primary = evaluation.summary["primary"]
    fig, axes = _figure(f"Score distributions per class ({primary})")
    bins = np.linspace(0, 1, 41)
    for ax, target in zip(axes, TARGETS, strict=True):
        y, p = evaluation.labels[target], evaluation.probabilities[primary][target]
        ax.hist(p[y == 0], bins=bins, color="#7aa6d6", alpha=0.75, label="negative")
        ax.hist(p[y == 1], bins=bins, color="#d6604d", alpha=0.75, label="positive")
        for level in LEVELS[1:]:
            th = evaluation.thresholds[primary].get(target, {}).get(level)
            if th is not None and th.threshold is not None:
                ax.axvline(th.threshold, color="#333", lw=0.9,
                           ls="--" if level == "elevated" else "-")
        ax.set_yscale("log")
        ax.set_title(target, fontsize=9)
        ax.set_xlabel("probability (dashed: elevated, solid: high)")
    axes[0].legend(fontsize=7)
    return _png(fig)


def plot_importance(importance: list[Mapping[str, Any]], top: int = 20) -> str | None:
    if not importance:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(importance[:top])[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.22 * len(rows) + 0.8), constrained_layout=True)
    ax.barh([r["feature"] for r in rows], [r["mean_abs_contribution"] for r in rows],
            color=_COLORS["xgboost"])
    ax.set_xlabel("mean |contribution| to overall log-odds (TreeSHAP)")
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title(f"Feature importance (top {len(rows)})", fontsize=11)
    return _png(fig)


def _metrics_of(evaluation: Evaluation, learner: str, target: str) -> Mapping[str, Any]:
    summary = evaluation.summary
    if learner in summary["learners"]:
        return summary["learners"][learner][target]
    return summary["against"]["metrics"][target]


# ---------------------------------------------------------------------------------------------
# HTML


_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>TrueClout evaluation: {{ s.model.name }} {{ s.model.version }}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1200px;
 color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}
h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f6f8}
td.l,th.l{text-align:left}.muted{color:#666}.warn{color:#a4161a;font-weight:600}
.hl{background:#fff8e1;padding:.6em 1em;border-left:4px solid #f0b400;margin:1em 0}
img{max-width:100%;display:block;margin:.5em 0}
</style></head><body>
<h1>Evaluation of {{ s.model.name }} <code>{{ s.model.version }}</code></h1>
<p class="muted">{{ s.setting }} &middot; data: {{ s.data.source }} &middot;
{{ s.data.n_accounts }} accounts &middot; data sha256 {{ s.data.digest[:16] }}&hellip;</p>

<div class="hl">
{% for line in s.hard_negatives %}
<div><b>False-positive rate on genuine {{ hard_names.get(line.kind, line.kind) }}</b>
(n={{ line.n }}): at "high" {{ pct(line.fpr_high) }},
at "elevated" {{ pct(line.fpr_elevated) }}</div>
{% else %}
<div class="muted">No account kinds in the labels: the false-positive rate on organic viral
accounts and genuine communities cannot be shown.</div>
{% endfor %}
</div>

<h2>Per tactic and overall ({{ s.primary }})</h2>
<table><tr><th class="l">target</th><th>positives</th><th>ROC-AUC</th><th>PR-AUC</th>
<th>Brier</th><th>ECE</th>
{% for lv in levels %}<th>{{ lv }}: threshold</th><th>precision</th><th>recall</th><th>FPR</th>
{% endfor %}
</tr>
{% for t in targets %}{% set m = s.learners[s.primary][t] %}
<tr><td class="l">{{ t }}</td><td>{{ m.positives }} / {{ m.n }}</td><td>{{ num(m.roc_auc) }}</td>
<td>{{ num(m.pr_auc) }}</td><td>{{ num(m.brier) }}</td><td>{{ num(m.calibration.ece) }}</td>
{% for lv in levels %}{% set th = m.thresholds.get(lv, {}) %}
{% if th.reachable %}<td>{{ num(th.threshold) }}</td><td>{{ pct(th.precision) }}</td>
<td>{{ pct(th.recall) }}</td><td>{{ pct(th.fpr) }}</td>
{% else %}<td colspan="4" class="warn">target precision {{ pct(th.target_precision) }}
not reachable</td>{% endif %}
{% endfor %}</tr>
{% endfor %}</table>
<p class="muted">Thresholds were chosen on held-out folds at the stated precision; precision
depends on how common manipulation is in the data (here {{ pct(s.data.prevalence.overall) }}
of accounts). The flag is set at "high" only.</p>

<h2>Against the baselines{% if s.against %} and {{ s.against.model.name }}
<code>{{ s.against.model.version }}</code>{% endif %}</h2>
<table><tr><th class="l">target</th><th class="l">learner</th><th>ROC-AUC</th><th>PR-AUC</th>
<th>Brier</th><th>precision at high</th><th>recall at high</th></tr>
{% for r in s.comparison %}
<tr><td class="l">{{ r.target }}</td><td class="l">{{ r.learner }}</td><td>{{ num(r.roc_auc) }}</td>
<td>{{ num(r.pr_auc) }}</td><td>{{ num(r.brier) }}</td><td>{{ pct(r.precision_high) }}</td>
<td>{{ pct(r.recall_high) }}</td></tr>
{% endfor %}</table>
{% if s.against %}
<h3>Against {{ s.against.model.version }}: differences (this model minus the other)</h3>
<table><tr><th class="l">target</th><th class="l">metric</th><th>this model</th><th>other</th>
<th>difference</th></tr>
{% for d in s.against.deltas %}<tr><td class="l">{{ d.target }}</td>
<td class="l">{{ d.metric }}</td>
<td>{{ num(d.this_model) }}</td><td>{{ num(d.other) }}</td><td>{{ signed(d.difference) }}</td></tr>
{% endfor %}</table>
{% set st = s.against.stability %}
<h3>Stability: risk level under the other model (rows) and this one (columns)</h3>
<table><tr><th></th>{% for lv in st.levels %}<th>{{ lv }}</th>{% endfor %}</tr>
{% for row in st.matrix %}<tr><th class="l">{{ st.levels[loop.index0] }}</th>
{% for c in row %}<td>{{ c }}</td>{% endfor %}</tr>{% endfor %}</table>
<p>{{ st.unchanged }} of {{ st.n }} accounts keep their level; {{ st.up }} move up,
{{ st.down }} move down; {{ st.flag_gained }} gain the flag, {{ st.flag_lost }} lose it.</p>
{% endif %}

<h2>Slices (overall risk)</h2>
{% for name, rows in s.slices.items() %}
<h3>{{ slice_names.get(name, name) }}</h3>
<table><tr><th class="l">{{ name }}</th><th>accounts</th><th>manipulated</th><th>ROC-AUC</th>
<th>PR-AUC</th>{% for lv in levels %}<th>precision {{ lv }}</th><th>recall {{ lv }}</th>
<th>FPR {{ lv }}</th>{% endfor %}</tr>
{% for r in rows %}<tr><td class="l">{{ r.value }}</td><td>{{ r.n }}</td><td>{{ r.positives }}</td>
<td>{{ num(r.roc_auc) }}</td><td>{{ num(r.pr_auc) }}</td>
{% for lv in levels %}<td>{{ pct(r['precision_' ~ lv]) }}</td><td>{{ pct(r['recall_' ~ lv]) }}</td>
<td>{{ pct(r['fpr_' ~ lv]) }}</td>{% endfor %}</tr>{% endfor %}</table>
{% endfor %}

<h2>Plots</h2>
{% for title, png in plots %}{% if png %}
<img alt="{{ title }}" src="data:image/png;base64,{{ png }}">
{% endif %}{% endfor %}

{% if s.feature_importance %}
<h2>Feature importance</h2>
<table><tr><th class="l">feature</th><th>mean |contribution|</th>
{% for t in targets %}<th>gain share: {{ t }}</th>{% endfor %}</tr>
{% for r in s.feature_importance[:25] %}<tr><td class="l">{{ r.feature }}</td>
<td>{{ num(r.mean_abs_contribution) }}</td>
{% for t in targets %}<td>{{ pct(r.gain_share[t]) }}</td>{% endfor %}</tr>{% endfor %}</table>
{% endif %}

{% if s.notes %}<h2>Notes</h2><ul>{% for n in s.notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
</body></html>
"""


def _num(v: float | None) -> str:
    return "&ndash;" if v is None else f"{v:.5f}"


def _pct(v: float | None) -> str:
    return "&ndash;" if v is None else f"{100 * v:.2f}%"


def _signed(v: float | None) -> str:
    return "&ndash;" if v is None else f"{v:+.4f}"


def render_html(evaluation: Evaluation, document: Mapping[str, Any] | None = None) -> str:
    import jinja2
    from markupsafe import Markup

    document = document or report_document(evaluation)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(_TEMPLATE)
    plots = [
        ("ROC curves", plot_curves(document, "roc")),
        ("Precision-recall curves", plot_curves(document, "pr")),
        ("Calibration", plot_calibration(evaluation)),
        ("Score distributions", plot_distributions(evaluation)),
        ("Feature importance", plot_importance(evaluation.summary.get("feature_importance", []))),
    ]
    return template.render(
        s=evaluation.summary,
        targets=TARGETS,
        levels=LEVELS[1:],
        plots=plots,
        overall=OVERALL,
        hard_names={"viral": "organic viral accounts", "community": "communities"},
        slice_names={"platform": "By platform", "followers_band": "By follower count",
                     "kind": "By account kind (from the labels)"},
        num=lambda v: Markup(_num(v)),
        pct=lambda v: Markup(_pct(v)),
        signed=lambda v: Markup(_signed(v)),
    )


def render_report(evaluation: Evaluation) -> dict[str, bytes]:
    """The two report files, as bytes (to store inside an artifact or write to a folder)."""
    document = report_document(evaluation)
    body = (json.dumps(document, indent=1, sort_keys=True, allow_nan=False) + "\n").encode()
    return {REPORT_HTML: render_html(evaluation, document).encode(), REPORT_JSON: body}


def write_report(evaluation: Evaluation, directory: Path) -> dict[str, Path]:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return write_files(directory, render_report(evaluation))
