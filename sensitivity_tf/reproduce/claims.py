"""Claims C1–C13 of docs/method.md §6: their verdict rules, fixed before any run, and the report.

Every verdict follows from the numbers by the rule written in `RULES` (and copied into the
report): nothing is hard-coded. The three verdicts:

* ``holds``: the rule's condition is met;
* ``not enough data``: fewer observations than the claim needs: ``MIN_N`` of that kind
  (networks, pairs, ellipses, anchors, models), and for claims on a survey's networks at 100%
  or on fair pairs at least the size the preset's survey grows toward (``growth.min_converged``
  networks, ``growth.min_fair`` fair pairs per factor: 30 and 20 at the small preset, as issue 9
  asks); a survey that reached its cap short of that gets no verdict;
* ``does not hold``: otherwise (including intervals that straddle the claimed side: absence of
  evidence for a claim is not a confirmation).

Rules changed by issue 9 (committed before the runs they judge): C7 must now be able to
fail (transitions must correlate positively somewhere); C8-C11 and C13 rest on fair pairs
(both partners at 100% training accuracy) and leave ties out instead of counting them
against. Issue 21 (committed before its rerun): a gap difference counts for C9-C11 and C13
only where it is more than test-set noise, i.e. the gap's share (C13: the same-sign share)
is taken among the fair pairs whose exact McNemar test on the shared test points gives
p < 0.05 (`gap_tests.ALPHA`). `OLD_RULES`
keeps the wording each change replaced, and each such claim row carries the old rule's
verdict (``old_verdict``) so the report shows both.

Rules changed by issue 20 (committed before the rerun they judge), so that a rule tests the
whole claim: C4 also needs the transition-density dip at the anchors of different-class
ellipses; C5 also needs denser boundaries after training than before; C12 rests on what
‖J(x)‖ adds beyond the softmax confidence (the partial rank correlation with the loss given
p_max), not on the raw correlation that restates confidence; C13's verdict leaves the
random-label pairs out (they agree by construction), the pooled share shown beside it. C1,
C2 and C6 are also judged on true-label networks alone (extra rows).

**Borderline** [ours]: a verdict (``holds`` or ``does not hold``) is also marked borderline
when it could flip under a small change of its numbers, and the report says why:

* an interval end that the rule compares with a line lies within `MARGIN` of it, on the
  statistic's own scale (correlations, shares, ratios and decades as they are; a difference
  of counts in units of its ``scale``, e.g. the mean count), and flipping such close ends
  could change the verdict: a ``holds`` with any close comparison; a ``does not hold`` whose
  failing comparisons are all close (`Lines`); for C7, which counts intervals over datasets,
  any close end of an interval it counts;
* or the verdict differs under a second seed, where one was run (`mark_second_seed`).

Borderline qualifies a verdict and never replaces it: the verdict stays what the rule says
(so ``holds`` counts as holds wherever verdicts are combined, e.g. C6 over datasets), and
``not enough data`` is never borderline.

All intervals are 95%: percentile bootstrap (1,000 resamples, seeded) for correlations and
means, Wilson score intervals for shares of pairs.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
from typing import Dict, Iterable, List

from sensitivity_tf.store import atomic

HOLDS, FAILS, NO_DATA = "holds", "does not hold", "not enough data"

MIN_N = dict(networks=10, pairs=10, ellipses=4, anchors=3, models=5)

# How close an interval end may come to its line before the verdict is borderline [ours]:
# 0.05 on the statistic's scale (a correlation of 0.24 against a line at 0.25; a Wilson
# lower end of 0.503 against 1/2; a ratio of 0.97 against 1; 0.05 decades).
MARGIN = 0.05

STATEMENTS = {
    "C1": "larger FC nets do not generalize worse",
    "C2": "final train loss does not predict the generalization gap",
    "C3": "sensitivity is far lower at training points than in random regions",
    "C4": "between different-class points the function is more sensitive than within a class",
    "C5": "training makes regions anisotropic, with training points in low-density zones",
    "C6": "the Jacobian norm at test points correlates with the generalization gap",
    "C7": "transitions correlate with the gap less consistently than the Jacobian norm",
    "C8": "random labels raise the Jacobian norm",
    "C9": "augmentation lowers the gap, the Jacobian norm and transitions",
    "C10": "full-batch training raises the Jacobian norm and the gap",
    "C11": "ReLU gives a lower Jacobian norm and gap than other nonlinearities",
    "C12": "per-point Jacobian norm predicts per-point generalization",
    "C13": "factors that hurt generalization raise sensitivity",
}

RULES = {
    "C1": "among networks at 100% training accuracy, the 95% interval of Spearman "
          "ρ(number of weights, gap) lies entirely below +0.25 (any positive association is "
          "at most weak) [ours]",
    "C2": "among networks at 100% training accuracy, the 95% interval of Spearman "
          "ρ(log final train loss, gap) lies within (−0.5, 0.5) [ours]",
    "C3": "the 95% interval (bootstrap over ellipses) of log10(mean ‖J‖ along random "
          "ellipses / mean ‖J‖ at the training-point anchors) lies above 1: more than an order "
          "of magnitude [ours]",
    "C4": "the 95% intervals of the differences different-class − same-class of the mean "
          "transitions per loop and of the mean log10 ‖J‖ along the ellipse both lie above 0, "
          "and the transition density dips at the anchors of different-class ellipses: the "
          "ratio of the mean density in the bins whose centre lies within one bin width of an "
          "anchor to the mean density in the other bins (ratio of means over ellipses, paired "
          "bootstrap over ellipses) has its 95% interval below 1 [ours: the dip measure]",
    "C5": "after training, the Wilson 95% interval of the share of anchors whose code-change "
          "density within 0.1 R is below the density over the disc of radius R lies above "
          "1/2, and before training the mean of those density ratios is at least 0.9, and "
          "training makes the boundaries denser: the ratio after / before training of the "
          "code-change density over the disc (ratio of means over slices, paired bootstrap "
          "over slices) has its 95% interval above 1 [ours]",
    "C6": "among networks at 100% training accuracy, the 95% intervals of Pearson "
          "(log10 ‖J‖, gap), Spearman and Kendall all lie above 0 (per dataset; the "
          "all-datasets row holds iff every dataset's does)",
    "C7": "among networks at 100% training accuracy, the 95% interval of Spearman "
          "ρ(transitions, gap) lies above 0 on at least one dataset, and ‖J‖ is the more "
          "consistent: its ρ(log10 ‖J‖, gap) interval lies above 0 on at least as many "
          "datasets, and its ρ is the larger on most (more than half of the) datasets; judged "
          "separately for transitions per test point and per hidden unit",
    "C8": "over fair pairs (both partners at 100% training accuracy), the Wilson 95% "
          "interval of the share of pairs with ‖J‖(random labels) > ‖J‖(true labels) lies "
          "above 1/2; ties are left out of the share",
    "C9": "over fair pairs, the Wilson 95% intervals of the shares of pairs where the "
          "network without augmentation has the larger ‖J‖ and the more transitions lie "
          "above 1/2, and so does the share with the larger gap among the fair pairs whose "
          "gap difference is significant (exact McNemar on the shared test points, "
          "two-sided, p < 0.05); ties are left out of each share; fewer than 4 significant "
          "pairs (too few for that share's interval to lie on either side of 1/2), the rest "
          "holding, give not enough data",
    "C10": "over fair pairs, the Wilson 95% interval of the share of pairs where full "
           "batch has the larger ‖J‖ lies above 1/2, and so does the share with the larger "
           "gap among the fair pairs whose gap difference is significant (exact McNemar, "
           "p < 0.05); ties left out; fewer than 4 significant pairs (too few for that "
           "share's interval to lie on either side of 1/2), the ‖J‖ share holding, give not "
           "enough data",
    "C11": "over fair pairs, the Wilson 95% interval of the share of pairs where the "
           "non-ReLU network has the larger ‖J‖ lies above 1/2, and so does the share with "
           "the larger gap among the fair pairs whose gap difference is significant (exact "
           "McNemar, p < 0.05); ties left out; fewer than 4 significant pairs (too few for "
           "that share's interval to lie on either side of 1/2), the ‖J‖ share holding, give "
           "not enough data",
    "C12": "over trained models, the 95% interval of the mean per-model partial Spearman "
           "ρ(‖J(x)‖, loss(x) | p_max), what ‖J(x)‖ says about the loss beyond the softmax "
           "confidence, lies above 0 (the raw ρ(‖J(x)‖, loss(x)) and the ROC-AUCs of ‖J(x)‖ "
           "and of 1 − p_max for misclassification are reported beside it)",
    "C13": "over the fair pairs of the factors run other than random labels (random-label "
           "pairs agree by construction: random labels raise the gap to about 1 − 1/K) whose "
           "gap difference is significant (exact McNemar on the shared test points, "
           "p < 0.05), the Wilson 95% interval of the share whose Δgap and Δ‖J‖ (bad − good "
           "variant) have the same sign lies above 1/2; pairs with Δ = 0 (ties) are left "
           "out; the verdict needs the preset's target of fair pairs in the pool, and at "
           "least 4 of them significant (fewer cannot place the interval on either side of "
           "1/2: not enough data). This row is "
           "C13's verdict; the same share over all fair pairs, random labels included and "
           "significant or not, is judged on its own row, for reference",
}

# The rules before their last change (issue 9, 20 or 21, in parentheses), for the report's
# old-beside-new column; C9-C11's rows (issue 21's noise-aware gap) also keep the verdict before
# issue 9 in their ``values``.
OLD_RULES = {
    "C4": "(before issue 20) as now, without the density dip at the anchors",
    "C5": "(before issue 20) as now, without the denser boundaries after training",
    "C12": "(before issue 20) the 95% intervals of the mean per-model Spearman ρ(‖J(x)‖, "
           "loss(x)) above 0 and of the mean per-model ROC-AUC of ‖J(x)‖ for "
           "misclassification above 1/2",
    "C7": "(before issue 9) on every dataset the Spearman ρ of per-test-point transitions "
          "with the gap is below that of the Jacobian norm, or on some dataset its 95% "
          "interval includes 0",
    "C8": "(before issue 9) as now, but over all complete pairs, partners at 100% or not, "
          "ties counted against",
    "C9": "(issue 9's, before issue 21) as now, but the gap's share over all fair pairs, "
          "significant or not",
    "C10": "(issue 9's, before issue 21) as now, but the gap's share over all fair pairs, "
           "significant or not",
    "C11": "(issue 9's, before issue 21) as now, but the gap's share over all fair pairs, "
           "significant or not",
    "C13": "(issue 20's, before issue 21) as now, but over all those fair pairs, "
           "significant or not (before issue 20, random labels included: kept in the row's "
           "values); on the row with random-label pairs: (before issue 9) over all complete "
           "pairs, partners at 100% or not",
}


@dataclasses.dataclass
class ClaimResult:
  claim: str
  dataset: str
  statistic: str          # what was measured, in words, with its value and interval
  values: Dict            # the numbers (JSON-ready)
  n: int
  unit: str               # what n counts
  verdict: str
  figure: str
  paper: str = ""         # what the paper reports, where it gives a number
  old_verdict: str = ""   # the verdict under OLD_RULES, for claims whose rule changed
  needed: int = 0         # the n a verdict needs (`needs`); 0 means MIN_N[unit]
  borderline: List[str] = dataclasses.field(default_factory=list)  # why, if it is (`Lines`)

  def __post_init__(self):
    self.needed = needs(self.unit, self.needed) if self.unit in MIN_N else self.needed

  @property
  def statement(self) -> str:
    return STATEMENTS[self.claim]

  @property
  def rule(self) -> str:
    return RULES[self.claim]

  def as_dict(self) -> dict:
    return dict(dataclasses.asdict(self), statement=self.statement, rule=self.rule)


def withheld(result: ClaimResult, reason: str) -> ClaimResult:
  """``result`` with no verdict drawn from it (``not enough data``), saying why; used
  when the one network a claim rests on did not reach 100% training accuracy."""
  return dataclasses.replace(result, verdict=NO_DATA,
                             statistic=f"no verdict: {reason}; {result.statistic}")


def needs(unit: str, needed: int = 0) -> int:
  """How many observations of ``unit`` a verdict needs: ``MIN_N[unit]``, or ``needed`` (the
  preset's survey target) when that is larger."""
  return max(MIN_N[unit], int(needed))


def verdict(condition: bool, n: int, unit: str, needed: int = 0) -> str:
  """``not enough data`` below `needs`; otherwise whether ``condition`` holds."""
  if n < needs(unit, needed):
    return NO_DATA
  return HOLDS if condition else FAILS


def judged(claim: str, dataset: str, statistic: str, values: Dict, n: int, unit: str,
           condition: bool, figure: str, paper: str = "", old_verdict: str = "",
           needed: int = 0, lines: "Lines" = None) -> ClaimResult:
  """A `ClaimResult` whose verdict is `verdict` of ``condition`` on ``n`` ``unit``s, with
  ``needed`` (the preset's target) given once for both the verdict and the report; with
  ``lines`` (the comparisons the condition made), marked borderline where they say so."""
  decided = verdict(condition, n, unit, needed)
  return ClaimResult(claim, dataset, statistic, values, n, unit, decided, figure, paper,
                     old_verdict, needed, lines.borderline(decided) if lines else [])


def above(estimate, threshold: float) -> bool:
  return math.isfinite(estimate.low) and estimate.low > threshold


def below(estimate, threshold: float) -> bool:
  return math.isfinite(estimate.high) and estimate.high < threshold


class Lines:
  """The comparisons of interval ends with lines that one rule makes, each remembered with
  whether it passed and whether its end lies within ``MARGIN × scale`` of the line, so the
  verdict can say whether it is borderline (module docstring). ``above``/``below`` return
  what `above`/`below` return; combine them with ``all([...])``, never ``and``, so every
  comparison is made and recorded."""

  def __init__(self, any_close: bool = False):
    self.made: List[tuple] = []  # (passed, close, text)
    self.any_close = any_close   # rules that count intervals (C7): any close end is enough

  def _record(self, passed: bool, end: float, line: float, what: str, which: str,
              scale: float) -> bool:
    margin = MARGIN * abs(scale)
    close = math.isfinite(end) and abs(end - line) <= margin
    self.made.append((passed, close, f"{what}: {which} end {end:.3g} within {margin:.2g} "
                                     f"of {line:g}"))
    return passed

  def above(self, estimate, line: float, what: str, scale: float = 1.0) -> bool:
    return self._record(above(estimate, line), estimate.low, line, what, "lower", scale)

  def below(self, estimate, line: float, what: str, scale: float = 1.0) -> bool:
    return self._record(below(estimate, line), estimate.high, line, what, "upper", scale)

  def borderline(self, decided: str) -> List[str]:
    """Why ``decided`` is borderline: the close comparisons, when flipping them could change
    it (any for ``holds``; for ``does not hold``, only if every failing one is close)."""
    close = [text for _, is_close, text in self.made if is_close]
    if decided == HOLDS or (self.any_close and decided == FAILS):
      return close
    failing = [(is_close, text) for passed, is_close, text in self.made if not passed]
    if decided == FAILS and failing and all(c for c, _ in failing):
      return [text for _, text in failing]
    return []


def mark_second_seed(results: List[dict], other: List[dict], label: str) -> List[dict]:
  """``results`` (claim rows as dicts) with every row whose verdict differs from the row of
  the same claim and dataset in ``other`` (the claims of a run under a second seed, named
  ``label``) marked borderline; rows without a verdict on either side are left alone."""
  theirs = {(r["claim"], r["dataset"]): r["verdict"] for r in other}
  out = []
  for r in results:
    seen = theirs.get((r["claim"], r["dataset"]))
    if seen and NO_DATA not in (seen, r["verdict"]) and seen != r["verdict"]:
      r = dict(r, borderline=list(r.get("borderline") or [])
               + [f"under a second seed ({label}) the verdict is {seen}"])
    out.append(r)
  return out


def verdict_text(row: dict) -> str:
  """'**holds**', or '**holds** (borderline)' for a borderline row."""
  return f"**{row['verdict']}**" + (" (borderline)" if row.get("borderline") else "")


def write_results(path, results: Iterable[ClaimResult]) -> None:
  atomic.write_json(path, [r.as_dict() for r in results])


def read_results(paths: Iterable[pathlib.Path]) -> List[dict]:
  out = []
  for p in paths:
    out.extend(atomic.read_json(p))
  order = {c: i for i, c in enumerate(STATEMENTS)}
  return sorted(out, key=lambda r: (order[r["claim"]], r["dataset"]))


def _count(row: dict) -> str:
  """'19 pairs (20 needed)': n, and what a verdict needs (rows written before `needed`
  existed show n alone)."""
  needed = row.get("needed")
  return f"{row['n']} {row['unit']}" + (f" ({needed} needed)" if needed else "")


def markdown(results: List[dict], preset: str, notes: List[str] = ()) -> str:
  """The claims report: a summary table, then each claim's rule and numbers."""
  lines = [f"# Claims report ({preset} preset)", "",
           "Each verdict follows from the numbers by the rule shown, fixed before any run "
           "(`sensitivity_tf/reproduce/claims.py`). 95% intervals: bootstrap for correlations "
           "and means, Wilson for shares of pairs. *not enough data* means fewer than the row "
           "needs (its n column): at least "
           + ", ".join(f"{n} {unit}" for unit, n in MIN_N.items())
           + ", whichever kind the claim rests on, and for a survey's networks at 100% or a "
           "factor's fair pairs at least the size the preset's survey grows toward. "
           f"*(borderline)*: an interval end the rule compares lies within {MARGIN} of its "
           "line (on the statistic's scale) where flipping it could change the verdict, or "
           "the verdict differs under a second seed; the verdict itself is the rule's.", ""]
  lines += [f"- {n}" for n in notes]
  lines += ["", "| claim | dataset | verdict | old rule's verdict | statistic | n | figure |",
            "|---|---|---|---|---|---|---|"]
  for r in results:
    old = r.get("old_verdict") or "(rule unchanged)"
    lines.append(f"| {r['claim']} | {r['dataset']} | {verdict_text(r)} | {old} | "
                 f"{r['statistic']} | {_count(r)} | {r['figure']} |")
  lines.append("")
  for claim in STATEMENTS:
    rows = [r for r in results if r["claim"] == claim]
    if not rows:
      continue
    lines += [f"## {claim}: {STATEMENTS[claim]}", "", f"Rule: {RULES[claim]}.", ""]
    if claim in OLD_RULES:
      lines += [f"Old rule {OLD_RULES[claim]}.", ""]
    for r in rows:
      lines.append(f"- {r['dataset']}: {verdict_text(r)}"
                   + (f" (old rule: {r['old_verdict']})" if r.get("old_verdict") else "")
                   + f"; {r['statistic']} ({_count(r)}; figure {r['figure']})"
                   + (f"; paper: {r['paper']}" if r.get("paper") else "")
                   + (f"; borderline: {'; '.join(r['borderline'])}"
                      if r.get("borderline") else ""))
    lines.append("")
  return "\n".join(lines)

