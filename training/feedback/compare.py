"""Candidate against active model, account by account: what feedback retraining changed.

A misjudgement is a disagreement at the flag (risk level ``high``, the one a
platform acts on): a confirmed manipulation below it, or a genuine account
(false positive, confirmed genuine) at it.  For each held-out account the
comparison says whether the candidate **fixed** the active model's error,
made a **new** one, or neither; ``comparison.html`` shows it as a plot and a
table, ``comparison.json`` holds every figure.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from trueclout.models.account_model import FLAG_LEVEL, OVERALL
from trueclout.training.data.labelled import TrainingSet

COMPARISON_HTML = "comparison.html"
COMPARISON_JSON = "comparison.json"


# ---------------------------------------------------------------------------------------------
# Judging accounts and comparing the models


@dataclass(frozen=True)
class Judgement:
    """One held-out account under both models."""

    account_id: str
    label: str
    manipulated: bool
    active_probability: float
    active_level: str
    candidate_probability: float
    candidate_level: str

    @property
    def active_error(self) -> bool:
        return (self.active_level == FLAG_LEVEL) != self.manipulated

    @property
    def candidate_error(self) -> bool:
        return (self.candidate_level == FLAG_LEVEL) != self.manipulated

    @property
    def change(self) -> str:
        if self.active_error and not self.candidate_error:
            return "fixed"
        if self.candidate_error and not self.active_error:
            return "new error"
        return "still wrong" if self.active_error else "right under both"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "active_error": self.active_error,
                "candidate_error": self.candidate_error, "change": self.change}


def judgements(data: TrainingSet, active: Any, candidate: Any) -> list[Judgement]:
    """Each account of ``data`` under the active and candidate ``Evaluation``s (same rows)."""
    from trueclout.models.account_model import assign_levels

    def scored(evaluation: Any) -> tuple[np.ndarray, np.ndarray]:
        primary = evaluation.summary["primary"]
        p = np.asarray(evaluation.probabilities[primary][OVERALL])
        return p, assign_levels(p, evaluation.thresholds[primary][OVERALL])

    pa_, la = scored(active)
    pc_, lc = scored(candidate)
    truth = data.target(OVERALL).astype(bool)
    kinds = data.context.get("kind", np.full(len(data), "unknown", dtype=object))
    return [Judgement(str(data.account_ids[i]), str(kinds[i]), bool(truth[i]), float(pa_[i]),
                      str(la[i]), float(pc_[i]), str(lc[i])) for i in range(len(data))]


@dataclass
class Comparison:
    """Candidate against the active model: on held-out feedback, and on held-out base data."""

    active: dict[str, str]
    candidate: dict[str, str]
    feedback: list[Judgement]
    base: list[Judgement]
    base_criteria: list[dict[str, Any]]
    base_worse: list[str]
    settings: dict[str, Any]
    reasons: list[str] = field(default_factory=list)

    @staticmethod
    def errors(rows: list[Judgement], model: str) -> int:
        return sum(getattr(r, f"{model}_error") for r in rows)

    @property
    def fixed(self) -> list[Judgement]:
        return [r for r in self.feedback if r.change == "fixed"]

    @property
    def new_errors(self) -> list[Judgement]:
        return [r for r in self.feedback if r.change == "new error"]

    @property
    def proposed(self) -> bool:
        return (self.errors(self.feedback, "candidate") < self.errors(self.feedback, "active")
                and not self.base_worse)

    def decide(self) -> None:
        """Say why promotion is or is not proposed, in the analyst's terms."""
        active_errors = self.errors(self.feedback, "active")
        candidate_errors = self.errors(self.feedback, "candidate")
        n = len(self.feedback)
        if candidate_errors < active_errors:
            self.reasons.append(f"on the {n} held-out feedback accounts the candidate misjudges "
                                f"{candidate_errors}, the active model {active_errors}")
        elif active_errors == 0:
            self.reasons.append(f"the active model already judges all {n} held-out feedback "
                                "accounts as the analysts did: nothing to improve there")
        else:
            self.reasons.append(f"on the {n} held-out feedback accounts the candidate misjudges "
                                f"{candidate_errors}, not fewer than the active model's "
                                f"{active_errors}")
        if self.base_worse:
            self.reasons.append("on the base holdout it does worse on "
                                + ", ".join(self.base_worse)
                                + f" (tolerance {self.settings['base_tolerance']})")
        else:
            self.reasons.append("on the base holdout no criterion gets worse beyond the "
                                f"tolerance {self.settings['base_tolerance']}")

    def to_json(self) -> dict[str, Any]:
        def summary(rows: list[Judgement]) -> dict[str, Any]:
            return {"accounts": len(rows), "active_errors": self.errors(rows, "active"),
                    "candidate_errors": self.errors(rows, "candidate"),
                    "fixed": sum(r.change == "fixed" for r in rows),
                    "new_errors": sum(r.change == "new error" for r in rows)}

        return {
            "format": "trueclout-feedback-comparison",
            "active": self.active, "candidate": self.candidate,
            "error_rule": f"a confirmed manipulation below '{FLAG_LEVEL}', or a genuine account "
                          f"(false_positive, confirmed_genuine) at '{FLAG_LEVEL}'",
            "promotion_proposed": self.proposed, "reasons": list(self.reasons),
            "settings": self.settings,
            "feedback_holdout": {**summary(self.feedback),
                                 "accounts_detail": [r.to_json() for r in self.feedback]},
            "base_holdout": {**summary(self.base), "criteria": self.base_criteria,
                             "worse": self.base_worse,
                             "fixed_accounts": [r.account_id for r in self.base
                                                if r.change == "fixed"],
                             "new_error_accounts": [r.account_id for r in self.base
                                                    if r.change == "new error"]},
        }


# ---------------------------------------------------------------------------------------------
# The comparison page


def plot_judgements(rows: list[Judgement], thresholds: dict[str, float | None], title: str
                    ) -> str:
    """Each held-out account's risk under the active model (x) and the candidate (y)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 5.0), constrained_layout=True)
    styles = {"fixed": ("#2e7d32", "o"), "new error": ("#c62828", "X"),
              "still wrong": ("#ef6c00", "s"), "right under both": ("#90a4ae", ".")}
    for change, (color, marker) in styles.items():
        members = [r for r in rows if r.change == change]
        if members:
            ax.scatter([r.active_probability for r in members],
                       [r.candidate_probability for r in members], c=color, marker=marker,
                       s=36 if marker != "." else 60, label=f"{change} ({len(members)})")
    for axis, key in ((ax.axvline, "active"), (ax.axhline, "candidate")):
        if thresholds.get(key) is not None:
            axis(thresholds[key], color="#333", lw=0.8, ls="--")
    ax.plot([0, 1], [0, 1], color="#bbb", lw=0.8)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("risk under the active model (dashed: its flag threshold)")
    ax.set_ylabel("risk under the candidate (dashed: its flag threshold)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="best")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72, metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Feedback retraining: {{ c.candidate.version }} against {{ c.active.version }}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;
 color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f6f8}
td.l,th.l{text-align:left}.yes{color:#1b5e20;font-weight:600}.no{color:#a4161a;font-weight:600}
.fixed{background:#e8f5e9}.new{background:#ffebee}img{max-width:100%}
</style></head><body>
<h1>Retraining on feedback: candidate <code>{{ c.candidate.version }}</code> against active
<code>{{ c.active.version }}</code></h1>
<p class="{{ 'yes' if c.proposed else 'no' }}">Promotion {{ 'proposed' if c.proposed else
'not proposed' }}.</p>
<ul>{% for r in c.reasons %}<li>{{ r }}</li>{% endfor %}</ul>
<p>Misjudged: {{ j.error_rule }}. Feedback weight {{ c.settings.feedback_weight }};
{{ c.settings.feedback_train_accounts }} feedback accounts trained on,
{{ j.feedback_holdout.accounts }} held out; base holdout {{ j.base_holdout.accounts }} accounts.</p>

<h2>Held-out feedback: what changed</h2>
<table><tr><th class="l"></th><th>accounts</th><th>misjudged by the active model</th>
<th>by the candidate</th><th>fixed</th><th>new errors</th></tr>
{% for name, s in (('held-out feedback', j.feedback_holdout), ('base holdout', j.base_holdout)) %}
<tr><td class="l">{{ name }}</td><td>{{ s.accounts }}</td><td>{{ s.active_errors }}</td>
<td>{{ s.candidate_errors }}</td><td>{{ s.fixed }}</td><td>{{ s.new_errors }}</td></tr>
{% endfor %}</table>
<img alt="Risk of each held-out feedback account under both models"
 src="data:image/png;base64,{{ plot }}">
<table><tr><th class="l">account</th><th class="l">label</th><th>active risk</th>
<th class="l">active level</th><th>candidate risk</th><th class="l">candidate level</th>
<th class="l">change</th></tr>
{% for r in rows %}<tr class="{{ row_class.get(r.change, '') }}">
<td class="l">{{ r.account_id }}</td><td class="l">{{ r.label }}</td>
<td>{{ '%.3f' % r.active_probability }}</td><td class="l">{{ r.active_level }}</td>
<td>{{ '%.3f' % r.candidate_probability }}</td><td class="l">{{ r.candidate_level }}</td>
<td class="l">{{ r.change }}</td></tr>{% endfor %}</table>

<h2>Base holdout: does the candidate get worse where the active model was right?</h2>
<table><tr><th class="l">criterion</th><th>active</th><th>candidate</th><th>change</th>
<th></th></tr>
{% for r in j.base_holdout.criteria %}<tr><td class="l">{{ r.criterion }}</td>
<td>{{ num(r.active) }}</td><td>{{ num(r.candidate) }}</td><td>{{ signed(r.change) }}</td>
<td class="{{ 'no' if r.worse else '' }}">{{ r.note or ('worse' if r.worse else '') }}</td>
</tr>{% endfor %}
</table>
<p>Accounts the candidate judges right and the active model did not:
{{ j.base_holdout.fixed_accounts | length }}; the other way round:
{{ j.base_holdout.new_error_accounts | length }}
{%- if j.base_holdout.new_error_accounts %}
 ({{ j.base_holdout.new_error_accounts[:20] | join(', ') }}){% endif %}.</p>
<p>Full evaluation reports: <a href="feedback_holdout/report.html">held-out feedback</a>,
<a href="base_holdout/report.html">base holdout</a> (each candidate against active).</p>
</body></html>
"""


def render_comparison(comparison: Comparison) -> dict[str, bytes]:
    """``comparison.html`` (with the plot) and ``comparison.json``."""
    import jinja2

    doc = comparison.to_json()
    thresholds = comparison.settings.get("flag_thresholds", {})
    plot = plot_judgements(comparison.feedback, thresholds,
                           f"{len(comparison.feedback)} held-out feedback accounts")
    order = {"fixed": 0, "new error": 1, "still wrong": 2, "right under both": 3}
    rows = sorted(comparison.feedback, key=lambda r: (order[r.change], r.account_id))
    html = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        _PAGE).render(c=comparison, j=doc, plot=plot, rows=rows,
                      row_class={"fixed": "fixed", "new error": "new"},
                      num=lambda v: "–" if v is None else f"{v:.5f}",
                      signed=lambda v: "–" if v is None else f"{v:+.4f}")
    body = json.dumps(doc, indent=1, sort_keys=True, allow_nan=False) + "\n"
    return {COMPARISON_HTML: html.encode(), COMPARISON_JSON: body.encode()}
