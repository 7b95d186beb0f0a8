"""Claims, their criteria declared before a run, and verdicts computed from measured numbers.

A criterion compares a measured :class:`~reprobook.stats.Estimate` with a threshold fixed in advance:

* ``met``       — the whole confidence interval is on the right side of the threshold;
* ``not met``   — the whole interval is on the wrong side;
* ``uncertain`` — the interval straddles the threshold.

An equivalence criterion (``within ±m``, "A ≈ B") is met when the whole interval of the difference lies
inside [−m, m], not met when it lies wholly outside, and uncertain otherwise.

Three kinds of requirement, kept apart:

* **criteria** are the empirical evidence for a sub-claim;
* **gates** (per sub-claim or for the whole claim) say whether the experiment could show anything — a
  reference model that did not learn makes the sub-claim *inconclusive*;
* **checks** are identities and invariants (an exact expansion, frozen weights unchanged): they can fail
  only through a bug, so they never count as evidence; a failed check makes the whole claim
  *inconclusive: implementation check failed*.

A sub-claim is *reproduced* when all its criteria are met, *not reproduced* when none is met and none is
uncertain, *inconclusive* when nothing is met but something is uncertain, and *partially reproduced*
otherwise. A sub-claim — or one criterion of it — that a preset cannot test is declared *not tested*
before the run, with the reason (e.g. a pilot's interval showing that the preset's seeds cannot decide
it), and left out of the verdict: its number is still measured and shown, but not judged. The claim's
verdict combines the tested sub-claims' verdicts the same way.
"""

from __future__ import annotations

import json
import operator
import re
import string
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import provenance
from .stats import Estimate
from .units import count, measured_text, passed_text, requirement_text, unit_of

VERDICTS = ("reproduced", "partially reproduced", "not reproduced", "inconclusive")
NOT_TESTED = "not tested"
COMPARISONS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
WITHIN = "within"  # equivalence: |x| <= threshold over the whole interval
# the report's last column: the verdict of a row's sub-claim, not of the row
SUBCLAIM_VERDICT = "sub-claim verdict"


@dataclass
class Criterion:
    name: str
    description: str
    comparison: str
    threshold: float
    paper: str = ""
    measured: Estimate | None = None
    # why this preset cannot decide it (declared before the run); "" = judged
    not_tested: str = ""

    def __post_init__(self):
        if self.comparison not in (*COMPARISONS, WITHIN):
            raise ValueError(
                f"comparison must be one of {[*COMPARISONS, WITHIN]}, got {self.comparison!r}"
            )
        if self.comparison == WITHIN and not self.threshold > 0:
            raise ValueError(f"{self.name!r}: an equivalence margin must be > 0")

    @property
    def unit(self) -> str:
        """How the measurement and threshold read (see :mod:`reprobook.units`): e.g. "%", "pp"."""
        return unit_of(self.name, self.description)

    @property
    def requirement(self) -> str:
        """The threshold in the criterion's unit: "≥ 90%", "within ±2 pp", "< 30"."""
        return requirement_text(self.comparison, self.threshold, self.unit)

    def measured_text(self) -> str:
        """The measurement in the criterion's unit, as the card shows it; "–" before the run."""
        return measured_text(self.measured and self.measured.to_dict(), self.unit)

    @property
    def status(self) -> str:
        if self.not_tested:
            return NOT_TESTED
        if self.measured is None:
            raise ValueError(f"criterion {self.name!r} has no measurement yet")
        low, high = self.measured.low, self.measured.high
        if (
            self.comparison == WITHIN
        ):  # two one-sided tests: the interval inside ±margin
            m = self.threshold
            if -m <= low and high <= m:
                return "met"
            return "not met" if high < -m or low > m else "uncertain"
        ok = COMPARISONS[self.comparison]
        low_ok, high_ok = ok(low, self.threshold), ok(high, self.threshold)
        if low_ok and high_ok:
            return "met"
        return "not met" if not (low_ok or high_ok) else "uncertain"


STATUS_VERDICT = {
    "met": "reproduced",
    "not met": "not reproduced",
    "uncertain": "inconclusive",
}


@dataclass
class SubClaim:
    name: str
    statement: str
    criteria: list[Criterion]
    gates: list[Criterion] = field(default_factory=list)
    timed: bool = False  # judged on wall-clock times: can differ between two runs of the same code
    not_tested: str = (
        ""  # why this preset cannot test it (declared before the run); "" = tested
    )

    @property
    def judged(self) -> list[Criterion]:
        """The criteria this preset decides (not those declared not tested)."""
        return [c for c in self.criteria if not c.not_tested]

    @property
    def untested(self) -> bool:
        """Declared not tested as a whole, or every one of its criteria is."""
        return bool(self.not_tested) or not self.judged

    def verdict(self) -> str:
        if self.untested:
            return NOT_TESTED
        if any(g.status != "met" for g in self.gates):
            return "inconclusive"
        return combine([STATUS_VERDICT[c.status] for c in self.judged])


def combine(verdicts: list[str]) -> str:
    """All reproduced → reproduced; nothing reproduced → not reproduced, unless something is
    inconclusive (then inconclusive); a mix → partially reproduced. Not-tested ones are left out;
    with nothing tested the verdict is inconclusive."""
    tested = [v for v in verdicts if v != NOT_TESTED]
    if not tested:
        return "inconclusive"
    if all(v == "reproduced" for v in tested):
        return "reproduced"
    if not any(v in ("reproduced", "partially reproduced") for v in tested):
        return "inconclusive" if "inconclusive" in tested else "not reproduced"
    return "partially reproduced"


class _PresetFormatter(string.Formatter):
    """``str.format`` plus one spec for nouns in the right number: ``{epochs:count:epoch}`` →
    "1 epoch", "3 epochs" (``{n:count:index:indices}`` names an irregular plural)."""

    def format_field(self, value: Any, spec: str) -> str:
        if spec.startswith("count:"):
            return count(value, *spec.split(":")[1:3])
        return super().format_field(value, spec)


_PRESET_TEXT = _PresetFormatter()


def _fields(text: Any) -> set[str]:
    """The names a format string refers to: ``">= {bar}"`` → ``{"bar"}``."""
    names = {f for _, f, _, _ in string.Formatter().parse(str(text)) if f}
    return {re.split(r"[.\[]", f)[0] for f in names}


@dataclass
class Claim:
    notebook: str
    title: str
    statement: str
    paper: str
    subclaims: list[SubClaim]
    gates: list[Criterion] = field(default_factory=list)
    checks: list[Criterion] = field(default_factory=list)

    def __post_init__(self):
        self.started = time.time()
        self.section_seconds: dict[str, float] = {}
        self.preregistration: dict[str, Any] = {}

    @classmethod
    def from_spec(
        cls, notebook: str, spec: dict[str, Any], values: dict[str, Any]
    ) -> Claim:
        """A claim from its declaration in ``preset.yml``; every string is ``str.format``-ted with
        ``values`` (the run's parameters), so a threshold may name one: ``require: ">= {trains_accuracy}"``.

        .. code-block:: yaml

            claim:
              title: ...
              statement: ...
              paper: bibkey
              checks:                   # identities and invariants: gate the verdict, never evidence
                - {name: ..., require: "<= 1e-10", description: ...}
              subclaims:
                - name: deep ≈ parallel
                  statement: ...
                  timed: false          # optional: judged on wall-clock times
                  not_tested: {smoke: "why this preset cannot show it"}   # optional, per preset
                  criteria:
                    - {name: "val loss {dataset}", for_each: {dataset: grid_datasets},
                       require: "within ±{parity_margin}", description: ..., paper: ...,
                       not_tested: {cpu: "why cpu cannot decide it"}}   # optional, per preset
                  gates: [...]          # optional, same form
              gates: [...]              # optional, claim-level

        Under ``for_each``, a text written as a mapping takes the entry of the bound value, else its
        ``"*"`` entry: ``paper: {softmax: "+0.4%", "*": "≥ 0"}``. ``for_each`` may bind several
        variables to lists of the same length, taken in step (``{b: mp_budgets, a: mp_act_bits}``
        gives MP6/A6 and MP4/A8 from ``[6, 4]`` and ``[6, 8]``); a mapping text then takes the entry
        of the first variable's value.
        """
        referenced: dict[str, set[str]] = {}

        def fill(text: Any, extra: dict[str, Any] | None = None) -> str:
            # a text per for_each value: {softmax: "...", "*": "otherwise"}
            if isinstance(text, dict):
                first = next(iter((extra or {}).values()), None)
                text = text.get(first, text.get("*")) if extra else text.get("*")
            return (
                _PRESET_TEXT.format(str(text), **values, **(extra or {}))
                if text is not None
                else ""
            )

        def criteria(entries: list[dict[str, Any]]) -> list[Criterion]:
            out = []
            for c in entries:
                # {variable: the parameter it runs over}
                bound = c.get("for_each") or {}
                lists = {var: list(values[param]) for var, param in bound.items()}
                lengths = {param: len(lists[var]) for var, param in bound.items()}
                if len(set(lengths.values())) > 1:
                    raise ValueError(
                        f"{notebook}: criterion {c['name']!r} runs over {', '.join(lengths)} in "
                        f"step, which must be as long as each other; got lengths {lengths}"
                    )
                steps = zip(*lists.values()) if lists else [()]
                out.extend(criterion(c, dict(zip(lists, step))) for step in steps)
            return out

        preset = values.get("preset")

        def untested(entry: dict[str, Any], extra=None) -> str:
            reasons = entry.get("not_tested") or {}
            return fill(reasons.get(preset), extra) if preset else ""

        def criterion(c: dict[str, Any], extra: dict[str, Any]) -> Criterion:
            name = fill(c["name"], extra)
            require = fill(c["require"], extra)
            referenced[name] = _fields(c["require"]) & set(values)
            match = re.fullmatch(r"\s*(<=|>=|<|>|within)\s*±?\s*(\S+)\s*", require)
            if not match:
                raise ValueError(
                    f"{notebook}: criterion {c['name']!r}: require must read like '>= 0.9' "
                    f"or 'within ±0.1', got {c['require']!r}"
                )
            return Criterion(
                name,
                fill(c.get("description"), extra),
                match[1],
                float(match[2]),
                paper=fill(c.get("paper"), extra),
                not_tested=untested(c, extra),
            )

        subclaims = [
            SubClaim(
                fill(s["name"]),
                fill(s.get("statement")),
                criteria(s["criteria"]),
                criteria(s.get("gates", [])),
                timed=bool(s.get("timed", False)),
                not_tested=untested(s),
            )
            for s in spec["subclaims"]
        ]
        claim = cls(
            notebook,
            fill(spec["title"]),
            fill(spec["statement"]),
            spec.get("paper", ""),
            subclaims,
            criteria(spec.get("gates", [])),
            criteria(spec.get("checks", [])),
        )
        claim.threshold_parameters = {k: sorted(v) for k, v in referenced.items() if v}
        return claim

    # -- before the run ------------------------------------------------------------------------
    def declare(self) -> pd.DataFrame:
        """The requirements, fixed before any experiment runs: one row each."""
        rows = [
            dict(
                kind="not tested" if c.not_tested else kind,
                subclaim=sub,
                criterion=c.name,
                requirement=c.requirement,
                description=c.not_tested or c.description,
                paper=c.paper,
            )
            for kind, sub, c in self._rows()
        ]
        rows += [
            dict(
                kind="not tested",
                subclaim=s.name,
                criterion="",
                requirement="",
                description=s.not_tested,
                paper="",
            )
            for s in self.subclaims
            if s.not_tested
        ]
        return pd.DataFrame(rows)

    def _rows(self) -> list[tuple[str, str, Criterion]]:
        """(kind, sub-claim, requirement) for every check, gate and criterion, in reading order."""
        rows = [("check", "(all)", c) for c in self.checks]
        rows += [("gate", "(all)", g) for g in self.gates]
        for s in self.subclaims:
            if s.not_tested:
                continue
            rows += [("gate", s.name, g) for g in s.gates]
            rows += [("criterion", s.name, c) for c in s.criteria]
        return rows

    # -- during the run ------------------------------------------------------------------------
    @contextmanager
    def section(self, name: str):
        """Time one part of the notebook; the times go into the results file and the summary."""
        start = time.time()
        try:
            yield
        finally:
            self.section_seconds[name] = round(time.time() - start, 2)

    def measure(self, name: str, estimate: Estimate) -> Estimate:
        """Record the measurement of the criterion, gate or check called ``name``."""
        matches = [c for c in self._all() if c.name == name]
        if not matches:
            raise KeyError(
                f"no criterion, gate or check named {name!r} in claim {self.notebook!r}"
            )
        for c in matches:
            c.measured = estimate
        return estimate

    def _all(self) -> list[Criterion]:
        return (
            [c for s in self.subclaims for c in s.criteria + s.gates]
            + self.gates
            + self.checks
        )

    def tested(self, name: str) -> bool:
        """Whether the sub-claim ``name`` is tested at this preset (a notebook may skip its experiment)."""
        return not next(s for s in self.subclaims if s.name == name).not_tested

    # -- after the run -------------------------------------------------------------------------
    def failed_checks(self) -> list[str]:
        return [c.name for c in self.checks if c.status != "met"]

    def failed_gates(self) -> list[str]:
        """The claim-level sanity gates not met (e.g. a reference model that did not learn)."""
        return [g.name for g in self.gates if g.status != "met"]

    def subclaim_verdicts(self) -> dict[str, str]:
        blocked = self.failed_checks() or self.failed_gates()
        return {
            s.name: NOT_TESTED
            if s.untested
            else "inconclusive"
            if blocked
            else s.verdict()
            for s in self.subclaims
        }

    def verdict(self) -> str:
        return combine(list(self.subclaim_verdicts().values()))

    def verdict_reason(self) -> str:
        """Why the verdict is what it is, when that is not the sub-claims' own verdicts."""
        if self.failed_checks():
            return f"implementation check failed: {', '.join(self.failed_checks())}"
        if self.failed_gates():
            return f"sanity gate not met: {', '.join(self.failed_gates())}"
        if all(s.untested for s in self.subclaims):
            return "nothing is tested at this preset"
        return ""

    def report(self) -> pd.DataFrame:
        """Every check, gate and criterion with its measurement, requirement and status, and the
        verdict of the sub-claim it belongs to (a criterion not tested at this preset sits beside
        the verdict its sub-claim reached without it)."""
        verdicts = self.subclaim_verdicts()
        rows = [
            dict(
                kind=kind,
                subclaim=sub,
                criterion=c.name,
                paper=c.paper,
                measured=c.measured_text(),
                requirement=c.requirement,
                status=c.status,
                **{SUBCLAIM_VERDICT: verdicts.get(sub, "")},
            )
            for kind, sub, c in self._rows()
        ]
        rows += [
            dict(
                kind="not tested",
                subclaim=s.name,
                criterion=s.not_tested,
                paper="",
                measured="",
                requirement="",
                status=NOT_TESTED,
                **{SUBCLAIM_VERDICT: NOT_TESTED},
            )
            for s in self.subclaims
            if s.not_tested
        ]
        return pd.DataFrame(rows)

    def verdict_line(self) -> str:
        """One line that a rerun of the same code reproduces exactly, for the log and for nbval.

        Sub-claims judged on wall-clock times (``timed``) can flip between runs, so they and the overall
        verdict they feed into are left out of the line (the report and the results file have them).
        """
        verdicts = self.subclaim_verdicts()
        parts = "; ".join(
            f"{s.name}: {verdicts[s.name]}" for s in self.subclaims if not s.timed
        )
        checks = ""
        if self.checks:
            failed = self.failed_checks()
            passed = passed_text(len(self.checks))
            checks = f" [checks: {'FAILED ' + ', '.join(failed) if failed else passed}]"
        if self.failed_gates():  # why every sub-claim reads inconclusive
            checks += f" [sanity gate not met: {', '.join(self.failed_gates())}]"
        timed = [s.name for s in self.subclaims if s.timed and not s.untested]
        if not timed:
            return f"VERDICT {self.notebook}: {self.verdict()} ({parts}){checks}"
        return (
            f"VERDICT {self.notebook}: {parts}; timing-dependent, see the report: "
            f"{', '.join(timed)}{checks}"
        )

    def to_dict(self) -> dict[str, Any]:
        def crit(c: Criterion) -> dict:
            return dict(
                name=c.name,
                description=c.description,
                paper=c.paper,
                threshold=c.threshold,
                comparison=c.comparison,
                measured=c.measured.to_dict() if c.measured else None,
                status=c.status,
                not_tested=c.not_tested,
            )

        verdicts = self.subclaim_verdicts()
        return dict(
            notebook=self.notebook,
            title=self.title,
            claim=self.statement,
            paper=self.paper,
            verdict=self.verdict(),
            verdict_reason=self.verdict_reason(),
            checks=[crit(c) for c in self.checks],
            subclaims=[
                dict(
                    name=s.name,
                    statement=s.statement,
                    verdict=verdicts[s.name],
                    timed=s.timed,
                    not_tested=s.not_tested,
                    criteria=[] if s.not_tested else [crit(c) for c in s.criteria],
                    gates=[] if s.not_tested else [crit(g) for g in s.gates],
                )
                for s in self.subclaims
            ],
            gates=[crit(g) for g in self.gates],
            preregistration=self.preregistration,
        )

    def save(
        self,
        parameters: dict[str, Any],
        numbers: dict[str, Any],
        results_dir: str | Path | None = None,
    ) -> Path:
        """Write the results file (see :func:`reprobook.provenance.results_path`): verdicts, criteria,
        numbers, parameters and provenance.
        The seeds recorded are ``0 .. parameters["seeds"] - 1`` (every notebook seeds that way)."""
        record = self.to_dict()
        seeds = list(range(parameters["seeds"])) if "seeds" in parameters else []
        record.update(
            preset=parameters.get("preset"),
            parameters=parameters,
            seeds=seeds,
            numbers=numbers,
            section_seconds=self.section_seconds,
            provenance=provenance.collect(
                wall_time_s=round(time.time() - self.started, 2), started=self.started
            ),
        )
        if results_dir:
            path = Path(results_dir) / f"{self.notebook}.json"
        else:
            path = provenance.results_path(self.notebook, parameters.get("preset"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=2, default=_jsonable) + "\n")
        return path

    def elapsed(self) -> float:
        return time.time() - self.started


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Estimate):
        return value.to_dict()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
