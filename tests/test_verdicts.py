"""Every notebook's verdict can take every value — reproduced, partially reproduced, not reproduced,
inconclusive — from its own declared criteria (preset.yml), at every preset: synthetic measurements
on each side of each threshold, fed through the claim exactly as a run would."""

import pytest

from reprobook import notebook, params
from reprobook.stats import Estimate
from test_notebook import _context


def passing(c, holds: bool) -> Estimate:
    """An interval wholly on the required side of ``c``'s threshold (``holds``) or wholly on the other."""
    t, m = c.threshold, max(abs(c.threshold), 1.0) * 0.1
    if c.comparison == "within":
        centre = 0.0 if holds else 3 * t
        return Estimate(centre, centre - t / 2, centre + t / 2, 3)
    above = c.comparison in (">=", ">")
    centre = t + 2 * m if above == holds else t - 2 * m
    return Estimate(centre, centre - m, centre + m, 3)


def claims() -> list:
    return [
        pytest.param(name, preset, id=f"{name}-{preset}")
        for name in params.notebooks()
        for preset in params.PRESETS
    ]


def declared(name, preset):
    P = params.resolve(name, preset)
    return notebook.declare(P, **_context(name, preset))


def measure_all(claim, evidence, gates=True, checks=True):
    """``evidence(subclaim_index) -> bool``: whether that sub-claim's criteria hold."""
    tested = [s for s in claim.subclaims if not s.untested]
    for i, s in enumerate(tested):
        for c in s.criteria:
            c.measured = passing(c, evidence(i))
        for g in s.gates:
            g.measured = passing(g, gates)
    for g in claim.gates:
        g.measured = passing(g, gates)
    for c in claim.checks:
        c.measured = passing(c, checks)
    for s in claim.subclaims:
        if s.untested:
            for c in s.criteria + s.gates:
                c.measured = passing(c, True)
    return tested


@pytest.mark.parametrize("name, preset", claims())
def test_all_evidence_for_the_claim_reads_reproduced(name, preset):
    claim = declared(name, preset)
    measure_all(claim, lambda i: True)
    assert claim.verdict() == "reproduced"


@pytest.mark.parametrize("name, preset", claims())
def test_all_evidence_against_the_claim_reads_not_reproduced(name, preset):
    claim = declared(name, preset)
    measure_all(claim, lambda i: False)
    assert claim.verdict() == "not reproduced"


@pytest.mark.parametrize("name, preset", claims())
def test_mixed_evidence_reads_partially_reproduced(name, preset):
    claim = declared(name, preset)
    tested = measure_all(claim, lambda i: i == 0)
    assert len(tested) >= 2, (
        "a claim with one tested sub-claim cannot be partially reproduced"
    )
    assert claim.verdict() == "partially reproduced"


@pytest.mark.parametrize("name, preset", claims())
def test_a_failed_check_or_gate_reads_inconclusive_whatever_the_evidence(name, preset):
    claim = declared(name, preset)
    assert claim.checks or claim.gates, "a claim needs a check or a claim-level gate"
    measure_all(claim, lambda i: True, gates=bool(claim.checks), checks=False)
    assert claim.verdict() == "inconclusive"
    assert claim.verdict_reason()


@pytest.mark.parametrize("name, preset", claims())
def test_checks_alone_never_carry_the_verdict(name, preset):
    """Identities hold, every empirical criterion fails: not reproduced, never 'partially'."""
    claim = declared(name, preset)
    measure_all(claim, lambda i: False, checks=True)
    assert claim.verdict() == "not reproduced"
