"""Claims, their criteria declared before a run, and verdicts computed from measured numbers.

A criterion compares a measured :class:`~reprobook.stats.Estimate` with a threshold fixed in advance:

* ``met``       — the whole confidence interval is on the right side of the threshold;
* ``not met``   — the whole interval is on the wrong side;
* ``uncertain`` — the interval straddles the threshold.

A sub-claim is *reproduced* when all its criteria are met, *not reproduced* when none is met and none is
uncertain, *inconclusive* when nothing is met but something is uncertain or when one of its sanity
gates is not met, and *partially reproduced* otherwise. The claim's verdict combines its sub-claims'
verdicts the same way; a failed claim-level gate makes every verdict *inconclusive*.
"""

from __future__ import annotations

import json
import operator
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import provenance
from .stats import Estimate

VERDICTS = ("reproduced", "partially reproduced", "not reproduced", "inconclusive")
COMPARISONS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}


@dataclass
class Criterion:
    name: str
    description: str
    comparison: str
    threshold: float
    paper: str = ""
    measured: Estimate | None = None

    def __post_init__(self):
        if self.comparison not in COMPARISONS:
            raise ValueError(
                f"comparison must be one of {list(COMPARISONS)}, got {self.comparison!r}"
            )

    @property
    def status(self) -> str:
        if self.measured is None:
            raise ValueError(f"criterion {self.name!r} has no measurement yet")
        ok = COMPARISONS[self.comparison]
        low_ok, high_ok = (
            ok(self.measured.low, self.threshold),
            ok(self.measured.high, self.threshold),
        )
        return (
            "met"
            if low_ok and high_ok
            else "not met"
            if not (low_ok or high_ok)
            else "uncertain"
        )


@dataclass
class SubClaim:
    name: str
    statement: str
    criteria: list[Criterion]
    gates: list[Criterion] = field(default_factory=list)
    timed: bool = False  # measured in wall-clock time: its verdict can differ between two runs of the same code

    def verdict(self) -> str:
        if any(g.status != "met" for g in self.gates):
            return "inconclusive"
        return combine(
            [
                {
                    "met": "reproduced",
                    "not met": "not reproduced",
                    "uncertain": "inconclusive",
                }[c.status]
                for c in self.criteria
            ]
        )


def combine(verdicts: list[str]) -> str:
    """All reproduced → reproduced; nothing reproduced → not reproduced, unless something is
    inconclusive (then inconclusive); a mix → partially reproduced."""
    if all(v == "reproduced" for v in verdicts):
        return "reproduced"
    if not any(v in ("reproduced", "partially reproduced") for v in verdicts):
        return "inconclusive" if "inconclusive" in verdicts else "not reproduced"
    return "partially reproduced"


@dataclass
class Claim:
    notebook: str
    title: str
    statement: str
    paper: str
    subclaims: list[SubClaim]
    gates: list[Criterion] = field(default_factory=list)

    def __post_init__(self):
        self.started = time.time()
        self.section_seconds: dict[str, float] = {}

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
              subclaims:
                - name: trainability
                  statement: ...
                  timed: false          # optional: judged on wall-clock times
                  criteria:
                    - {name: ..., require: ">= {trains_accuracy}", description: ..., paper: ...}
                  gates: [...]          # optional, same form
              gates: [...]              # optional, claim-level
        """

        def fill(text: Any) -> str:
            return str(text).format(**values) if text is not None else ""

        def criterion(c: dict[str, Any]) -> Criterion:
            match = re.fullmatch(r"\s*(<=|>=|<|>)\s*(\S+)\s*", fill(c["require"]))
            if not match:
                raise ValueError(
                    f"{notebook}: criterion {c['name']!r}: require must read like '>= 0.9', "
                    f"got {c['require']!r}"
                )
            return Criterion(
                fill(c["name"]),
                fill(c.get("description")),
                match[1],
                float(match[2]),
                paper=fill(c.get("paper")),
            )

        subclaims = [
            SubClaim(
                fill(s["name"]),
                fill(s.get("statement")),
                [criterion(c) for c in s["criteria"]],
                [criterion(g) for g in s.get("gates", [])],
                timed=bool(s.get("timed", False)),
            )
            for s in spec["subclaims"]
        ]
        return cls(
            notebook,
            fill(spec["title"]),
            fill(spec["statement"]),
            spec.get("paper", ""),
            subclaims,
            [criterion(g) for g in spec.get("gates", [])],
        )

    # -- before the run ------------------------------------------------------------------------
    def declare(self) -> pd.DataFrame:
        """The criteria, fixed before any experiment runs: one row each."""
        rows = [
            dict(
                subclaim=s.name,
                criterion=c.name,
                requirement=f"{c.comparison} {c.threshold:g}",
                description=c.description,
                paper=c.paper,
            )
            for s in self.subclaims
            for c in s.criteria
        ]
        rows += [
            dict(
                subclaim=s.name,
                criterion=f"gate: {g.name}",
                requirement=f"{g.comparison} {g.threshold:g}",
                description=g.description,
                paper=g.paper,
            )
            for s in self.subclaims
            for g in s.gates
        ]
        rows += [
            dict(
                subclaim="(all)",
                criterion=f"gate: {g.name}",
                requirement=f"{g.comparison} {g.threshold:g}",
                description=g.description,
                paper=g.paper,
            )
            for g in self.gates
        ]
        return pd.DataFrame(rows)

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
        """Record the measurement of the criterion (or gate) called ``name``."""
        matches = [c for c in self._all_criteria() if c.name == name]
        if not matches:
            raise KeyError(
                f"no criterion or gate named {name!r} in claim {self.notebook!r}"
            )
        for c in matches:
            c.measured = estimate
        return estimate

    def _all_criteria(self) -> list[Criterion]:
        return [c for s in self.subclaims for c in s.criteria + s.gates] + self.gates

    # -- after the run -------------------------------------------------------------------------
    def subclaim_verdicts(self) -> dict[str, str]:
        if any(g.status != "met" for g in self.gates):
            return {s.name: "inconclusive" for s in self.subclaims}
        return {s.name: s.verdict() for s in self.subclaims}

    def verdict(self) -> str:
        return combine(list(self.subclaim_verdicts().values()))

    def report(self) -> pd.DataFrame:
        """Every criterion and gate with its measurement, threshold and status."""
        verdicts = self.subclaim_verdicts()
        rows = []
        for s in self.subclaims:
            for c in s.gates + s.criteria:
                kind = "gate" if c in s.gates else "criterion"
                rows.append(
                    dict(
                        subclaim=s.name,
                        kind=kind,
                        criterion=c.name,
                        paper=c.paper,
                        measured=f"{c.measured}",
                        requirement=f"{c.comparison} {c.threshold:g}",
                        status=c.status,
                        verdict=verdicts[s.name],
                    )
                )
        for g in self.gates:
            rows.append(
                dict(
                    subclaim="(all)",
                    kind="gate",
                    criterion=g.name,
                    paper=g.paper,
                    measured=f"{g.measured}",
                    requirement=f"{g.comparison} {g.threshold:g}",
                    status=g.status,
                    verdict="",
                )
            )
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
        timed = [s.name for s in self.subclaims if s.timed]
        if not timed:
            return f"VERDICT {self.notebook}: {self.verdict()} ({parts})"
        return f"VERDICT {self.notebook}: {parts}; timing-dependent, see the report: {', '.join(timed)}"

    def to_dict(self) -> dict[str, Any]:
        def crit(c: Criterion) -> dict:
            return dict(
                name=c.name,
                description=c.description,
                paper=c.paper,
                threshold=c.threshold,
                comparison=c.comparison,
                measured=c.measured.to_dict(),
                status=c.status,
            )

        verdicts = self.subclaim_verdicts()
        return dict(
            notebook=self.notebook,
            title=self.title,
            claim=self.statement,
            paper=self.paper,
            verdict=self.verdict(),
            subclaims=[
                dict(
                    name=s.name,
                    statement=s.statement,
                    verdict=verdicts[s.name],
                    criteria=[crit(c) for c in s.criteria],
                    gates=[crit(g) for g in s.gates],
                )
                for s in self.subclaims
            ],
            gates=[crit(g) for g in self.gates],
        )

    def save(
        self,
        parameters: dict[str, Any],
        numbers: dict[str, Any],
        results_dir: str | Path | None = None,
    ) -> Path:
        """Write ``results/<notebook>.json``: verdicts, criteria, numbers, parameters and provenance.
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
        out = Path(results_dir) if results_dir else provenance.results_dir()
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{self.notebook}.json"
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
