import json
import math

import numpy as np
import pytest

from reprobook import claims
from reprobook.claims import Claim, Criterion, SubClaim
from reprobook.stats import Estimate, bootstrap_ci, mean_ci, paired_difference


def crit(name, comparison=">=", threshold=0.9):
    return Criterion(name, f"{name} description", comparison, threshold, paper="p")


def make_claim():
    return Claim(
        "toy",
        "Toy claim",
        "A toy statement.",
        "veit2016ensembles",
        subclaims=[
            SubClaim(
                "accuracy",
                "trains",
                [crit("acc"), crit("loss", "<=", 0.5)],
                gates=[crit("baseline", ">=", 0.8)],
            ),
            SubClaim("speed", "is fast", [crit("speedup", ">", 1.0)]),
        ],
    )


def measure(claim, acc, loss, baseline, speedup):
    for name, value in dict(
        acc=acc, loss=loss, baseline=baseline, speedup=speedup
    ).items():
        claim.measure(name, value)


def test_statuses_use_the_whole_interval():
    c = crit("acc")
    c.measured = Estimate(0.95, 0.92, 0.97)
    assert c.status == "met"
    c.measured = Estimate(0.85, 0.80, 0.89)
    assert c.status == "not met"
    c.measured = Estimate(0.90, 0.85, 0.95)
    assert c.status == "uncertain"
    c.measured = Estimate.point(float("nan"))  # a diverged run is never 'met'
    assert c.status == "not met"


def test_numbers_that_must_pass_are_reproduced():
    claim = make_claim()
    measure(
        claim,
        Estimate(0.95, 0.93, 0.97),
        Estimate(0.2, 0.1, 0.3),
        Estimate.point(0.9),
        Estimate(3.0, 2.0, 4.0),
    )
    assert claim.verdict() == "reproduced"
    assert (
        claim.verdict_line()
        == "VERDICT toy: reproduced (accuracy: reproduced; speed: reproduced)"
    )


def test_numbers_that_must_fail_are_not_reproduced():
    claim = make_claim()
    measure(
        claim,
        Estimate(0.5, 0.4, 0.6),
        Estimate(1.0, 0.9, 1.1),
        Estimate.point(0.9),
        Estimate(0.5, 0.4, 0.6),
    )
    assert claim.subclaim_verdicts() == {
        "accuracy": "not reproduced",
        "speed": "not reproduced",
    }
    assert claim.verdict() == "not reproduced"


def test_a_mix_is_partial_and_a_failed_gate_is_inconclusive():
    claim = make_claim()
    measure(
        claim,
        Estimate(0.95, 0.93, 0.97),
        Estimate(1.0, 0.9, 1.1),
        Estimate.point(0.9),
        Estimate(3.0, 2.0, 4.0),
    )
    assert claim.subclaim_verdicts()["accuracy"] == "partially reproduced"
    assert claim.verdict() == "partially reproduced"
    claim.measure("baseline", Estimate.point(0.5))
    assert claim.subclaim_verdicts() == {
        "accuracy": "inconclusive",
        "speed": "reproduced",
    }
    assert claim.verdict() == "partially reproduced"


def test_uncertain_only_is_inconclusive_and_claim_gates_override_everything():
    claim = make_claim()
    measure(
        claim,
        Estimate(0.9, 0.8, 1.0),
        Estimate(0.5, 0.4, 0.6),
        Estimate.point(0.9),
        Estimate(1.0, 0.5, 1.5),
    )
    assert claim.verdict() == "inconclusive"
    gated = make_claim()
    gated.gates = [crit("sanity", ">=", 1.0)]
    measure(
        gated,
        Estimate(0.95, 0.93, 0.97),
        Estimate(0.2, 0.1, 0.3),
        Estimate.point(0.9),
        Estimate(3.0, 2.0, 4.0),
    )
    gated.measure("sanity", Estimate.point(0.0))
    assert gated.verdict() == "inconclusive"
    assert gated.verdict_reason() == "sanity gate not met: sanity"
    assert gated.verdict_line().endswith("[sanity gate not met: sanity]")


def test_combine():
    assert claims.combine(["reproduced", "reproduced"]) == "reproduced"
    assert claims.combine(["not reproduced", "inconclusive"]) == "inconclusive"
    assert claims.combine(["reproduced", "inconclusive"]) == "partially reproduced"
    # nothing tested is nothing shown: never "reproduced"
    assert claims.combine([claims.NOT_TESTED] * 2) == "inconclusive"
    assert claims.combine([]) == "inconclusive"


def test_unmeasured_and_unknown_criteria_are_errors():
    claim = make_claim()
    with pytest.raises(KeyError, match="no criterion"):
        claim.measure("nope", Estimate.point(1))
    with pytest.raises(ValueError, match="no measurement"):
        claim.verdict()
    with pytest.raises(ValueError, match="comparison"):
        Criterion("x", "y", "==", 1)


def test_declare_lists_criteria_and_gates_before_any_measurement():
    table = make_claim().declare()
    assert list(table.criterion) == ["baseline", "acc", "loss", "speedup"]
    assert list(table.kind) == ["gate", "criterion", "criterion", "criterion"]
    assert list(table.requirement) == ["≥ 0.8", "≥ 0.9", "≤ 0.5", "> 1"]


def test_save_writes_numbers_criteria_verdict_and_provenance(tmp_path):
    claim = make_claim()
    with claim.section("part one"):
        measure(
            claim,
            Estimate(0.95, 0.93, 0.97, 3),
            Estimate(0.2, 0.1, 0.3),
            Estimate.point(0.9),
            Estimate(3.0, 2.0, 4.0),
        )
    path = claim.save(
        {"preset": "smoke", "seeds": 3}, {"acc": np.float64(0.95)}, tmp_path
    )
    record = json.loads(path.read_text())
    assert (
        path.name == "toy.json"
        and record["verdict"] == "reproduced"
        and record["preset"] == "smoke"
    )
    assert record["subclaims"][0]["criteria"][0]["measured"] == {
        "mean": 0.95,
        "low": 0.93,
        "high": 0.97,
        "n": 3,
    }
    assert record["numbers"]["acc"] == 0.95 and record["seeds"] == [0, 1, 2]
    assert "part one" in record["section_seconds"]
    prov = record["provenance"]
    assert {"git_commit", "packages", "hardware", "wall_time_s", "started_utc"} <= set(
        prov
    )
    assert prov["packages"]["torch"] and prov["hardware"]["cores"] >= 1


# --- stats ------------------------------------------------------------------------------------


def test_mean_ci_is_a_student_t_interval():
    est = mean_ci([1.0, 2.0, 3.0])
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t_{0.975, 2} · s / √n
    assert (
        est.mean == 2.0
        and est.low == pytest.approx(2 - half)
        and est.high == pytest.approx(2 + half)
    )
    assert mean_ci([5.0]) == Estimate(
        5.0, -math.inf, math.inf, 1
    )  # one seed: no interval
    assert math.isnan(mean_ci([1.0, float("nan")]).mean)


def test_bootstrap_and_paired_difference():
    rng = np.random.default_rng(0)
    a = rng.normal(1.0, 0.1, 50)
    est = paired_difference(a, a - 0.5)
    assert est.low == pytest.approx(0.5) and est.high == pytest.approx(0.5)
    wide = bootstrap_ci(rng.normal(0, 1, 40))
    assert wide.low < wide.mean < wide.high
    with pytest.raises(ValueError, match="same shape"):
        paired_difference([1, 2], [1])
    assert (
        f"{Estimate(1.0, 0.5, 1.5):.2f}" == "1.00 [0.50, 1.50]"
        and f"{Estimate.point(2.0):.1f}" == "2.0"
    )


def test_timed_subclaims_stay_out_of_the_verdict_line():
    claim = make_claim()
    claim.subclaims[1].timed = True
    measure(
        claim,
        Estimate(0.95, 0.93, 0.97),
        Estimate(0.2, 0.1, 0.3),
        Estimate.point(0.9),
        Estimate(3.0, 2.0, 4.0),
    )
    line = claim.verdict_line()
    assert (
        line
        == "VERDICT toy: accuracy: reproduced; timing-dependent, see the report: speed"
    )
    claim.measure(
        "speedup", Estimate(0.5, 0.4, 0.6)
    )  # a slower rerun changes the verdict, not the line
    assert claim.verdict_line() == line and claim.verdict() == "partially reproduced"


def test_an_accuracy_interval_resamples_both_seeds_and_test_examples():
    """Either source of spread alone gives a real interval: seeds that agree on every example
    (the test sample's spread) and seeds each wholly right or wrong (the seeds' spread)."""
    from reprobook.stats import accuracy

    rng = np.random.default_rng(0)
    seeds_agree = np.tile(rng.random(400) < 0.6, (3, 1)).astype(
        float
    )  # [seed, example]
    seeds_differ = np.repeat([[1.0], [0.0], [1.0]], 400, axis=1)
    assert (
        accuracy(seeds_agree).high - accuracy(seeds_agree).low > 0.05
    )  # 2 × 1.96 × 0.024
    assert accuracy(seeds_differ).high - accuracy(seeds_differ).low > 0.5


def test_from_draws_is_the_percentile_interval():
    draws = np.arange(1001, dtype=float)
    est = Estimate.from_draws(500.0, draws, n=4, level=0.9)
    assert np.allclose([est.low, est.high], [50.0, 950.0]) and est.n == 4
    assert np.isclose(est.scaled(2).high, 1900.0) and np.allclose(
        est.yerr, [450.0, 450.0]
    )


@pytest.mark.parametrize("point", [-5.0, 2_000.0])
def test_an_interval_from_draws_holds_its_point(point):
    """Draws that resampling biased to one side of the point: the interval reaches the point
    (it read e.g. 0.92 [0.825, 0.912]), and keeps the draws' other end."""
    est = Estimate.from_draws(point, np.arange(1001, dtype=float), n=4, level=0.9)
    assert est.low <= point <= est.high
    assert np.allclose([est.low, est.high], (point, 950) if point < 50 else (50, point))


def test_slope_is_the_least_squares_slope():
    from reprobook.stats import slope

    assert abs(slope([0, 1, 2, 3], [1, 3, 5, 7]) - 2.0) < 1e-12
    assert abs(slope([1, 2, 3], [1, 0, 2]) - 0.5) < 1e-12


# --- equivalence, checks, not tested ------------------------------------------------------------


@pytest.mark.parametrize(
    "interval, status",
    [
        ((-0.05, 0.08), "met"),
        ((0.11, 0.3), "not met"),
        ((-0.4, -0.2), "not met"),
        ((0.05, 0.2), "uncertain"),
        ((-0.2, 0.2), "uncertain"),
    ],
)
def test_equivalence_needs_the_whole_interval_inside_the_margin(interval, status):
    c = Criterion("a ≈ b", "", "within", 0.1)
    c.measured = Estimate(sum(interval) / 2, *interval, 3)
    assert c.status == status
    assert c.requirement == "within ±0.1"


def test_opposite_differences_cannot_cancel_when_judged_per_dataset():
    """The paper's own Table 2: +11% on MNIST, −9.6% on CIFAR-10; pooled signed mean +0.7%."""
    per_dataset = {
        "mnist": Estimate(0.11, 0.09, 0.13, 3),
        "cifar10": Estimate(-0.096, -0.11, -0.08, 3),
    }
    statuses = []
    for name, est in per_dataset.items():
        c = Criterion(f"val {name}", "", "within", 0.05)
        c.measured = est
        statuses.append(c.status)
    assert statuses == ["not met", "not met"]


def declared(values=None, spec=None):
    spec = spec or {
        "title": "T",
        "statement": "S",
        "checks": [{"name": "identity", "require": "<= 1e-10"}],
        "subclaims": [
            {"name": "a", "criteria": [{"name": "x", "require": ">= {bar}"}]},
            {
                "name": "b",
                "not_tested": {"cpu": "needs {epochs} epochs"},
                "criteria": [{"name": "y", "require": "> 0"}],
            },
            {
                "name": "c",
                "criteria": [
                    {
                        "name": "d {ds}",
                        "for_each": {"ds": "datasets"},
                        "require": "within ±{margin}",
                    }
                ],
            },
        ],
    }
    values = values or {
        "preset": "cpu",
        "bar": 0.9,
        "epochs": 160,
        "datasets": ["m", "c"],
        "margin": 0.1,
    }
    return Claim.from_spec("nb", spec, values)


def test_for_each_makes_one_criterion_per_dataset_and_thresholds_remember_their_parameters():
    claim = declared()
    assert [c.name for c in claim.subclaims[2].criteria] == ["d m", "d c"]
    assert claim.subclaims[2].criteria[0].comparison == "within"
    assert claim.threshold_parameters == {
        "x": ["bar"],
        "d m": ["margin"],
        "d c": ["margin"],
    }


def test_a_subclaim_not_tested_at_a_preset_is_declared_and_left_out():
    claim = declared()
    assert claim.subclaims[1].not_tested == "needs 160 epochs" and not claim.tested("b")
    claim.measure("identity", Estimate.point(0.0))
    claim.measure("x", Estimate(0.95, 0.93, 0.97, 3))
    for name in ("d m", "d c"):
        claim.measure(name, Estimate(0.0, -0.05, 0.05, 3))
    assert claim.subclaim_verdicts() == {
        "a": "reproduced",
        "b": "not tested",
        "c": "reproduced",
    }
    assert (
        claim.verdict() == "reproduced"
    )  # the untested sub-claim neither helps nor hurts
    assert (
        "not tested" in set(claim.declare().kind)
        and "b" in claim.report().subclaim.tolist()
    )
    # the verdict column is the sub-claim's
    report = claim.report().set_index("subclaim")
    assert report.loc["b", "sub-claim verdict"] == "not tested"
    assert "verdict" not in report.columns
    assert claim.verdict_line() == (
        "VERDICT nb: reproduced (a: reproduced; b: not tested; c: reproduced) [checks: 1 passed]"
    )
    other = declared(
        {"preset": "full", "bar": 0.9, "epochs": 160, "datasets": ["m"], "margin": 0.1}
    )
    assert other.tested("b")


def test_for_each_over_several_parameters_takes_them_in_step():
    criterion = {
        "name": "MP{b}/A{a} − W{b}A{a}",
        "for_each": {"b": "budgets", "a": "act_bits"},
        "require": ">= 0",
        # a mapping text takes the first variable's entry: a = 6 must not pick b = 6's text
        "paper": {6: "six-bit budget", "*": "MP > uniform"},
        "not_tested": {"cpu": {4: "needs {b}x more images", "*": None}},
    }
    spec = {
        "title": "T",
        "statement": "S",
        "subclaims": [{"name": "mp", "criteria": [criterion]}],
    }
    values = {"preset": "cpu", "budgets": [6, 4, 3], "act_bits": [6, 8, 6]}
    criteria = declared(values, spec).subclaims[0].criteria
    assert [c.name for c in criteria] == [
        "MP6/A6 − W6A6",
        "MP4/A8 − W4A8",
        "MP3/A6 − W3A6",
    ]
    assert [c.paper for c in criteria] == ["six-bit budget"] + ["MP > uniform"] * 2
    assert [c.not_tested for c in criteria] == ["", "needs 4x more images", ""]
    with pytest.raises(ValueError, match="budgets, act_bits in step.*lengths"):
        declared({**values, "act_bits": [6, 8]}, spec)


@pytest.mark.parametrize(
    "text, n, reads",
    [
        ("{n:count:epoch}", 1, "1 epoch"),
        ("{n:count:epoch}", 3, "3 epochs"),
        ("{n:count:epoch}", 0.5, "0.5 epochs"),
        ("{n:count:index:indices}", 2, "2 indices"),
        ("{n:g} and {n:.0%}", 0.5, "0.5 and 50%"),
    ],
)
def test_preset_texts_put_nouns_in_the_right_number(text, n, reads):
    spec = {
        "title": "T",
        "statement": "S",
        "subclaims": [
            {
                "name": "a",
                "not_tested": {"cpu": text},
                "criteria": [{"name": "x", "require": "> 0"}],
            }
        ],
    }
    claim = declared({"preset": "cpu", "n": n}, spec)
    assert claim.subclaims[0].not_tested == reads


def test_a_criterion_not_tested_at_a_preset_is_measured_shown_and_not_judged():
    spec = {
        "title": "T",
        "statement": "S",
        "subclaims": [
            {
                "name": "a",
                "criteria": [
                    {"name": "x", "require": ">= 0.9"},
                    {
                        "name": "slope {ds}",
                        "for_each": {"ds": "datasets"},
                        "require": "> 0",
                        "not_tested": {"cpu": "pilot: {ds} needs 40 seeds"},
                    },
                ],
            },
            {
                "name": "b",
                "criteria": [
                    {"name": "z", "require": "> 0", "not_tested": {"cpu": "too few"}}
                ],
            },
        ],
    }
    claim = declared({"preset": "cpu", "datasets": ["m"]}, spec)
    slope = claim.subclaims[0].criteria[1]
    assert (
        slope.not_tested == "pilot: m needs 40 seeds" and slope.status == "not tested"
    )
    claim.measure("x", Estimate(0.95, 0.93, 0.97, 3))
    claim.measure("slope m", Estimate(-0.5, -0.9, -0.1, 3))  # would be "not met"
    claim.measure("z", Estimate(-0.5, -0.9, -0.1, 3))
    # judged on x alone; b has nothing judged, so b is not tested as a whole
    assert claim.subclaim_verdicts() == {"a": "reproduced", "b": "not tested"}
    assert claim.verdict() == "reproduced"
    record = claim.to_dict()["subclaims"][0]["criteria"][1]
    assert record["status"] == "not tested" and record["measured"]["mean"] == -0.5
    assert record["not_tested"] == "pilot: m needs 40 seeds"
    declared_rows = claim.declare().set_index("criterion")
    assert declared_rows.loc["slope m", "kind"] == "not tested"
    assert declared_rows.loc["slope m", "description"] == "pilot: m needs 40 seeds"
    # the same spec at another preset judges it
    other = declared({"preset": "gpu", "datasets": ["m"]}, spec)
    other.measure("x", Estimate(0.95, 0.93, 0.97, 3))
    other.measure("slope m", Estimate(-0.5, -0.9, -0.1, 3))
    other.measure("z", Estimate(0.5, 0.1, 0.9, 3))
    assert other.subclaim_verdicts() == {"a": "partially reproduced", "b": "reproduced"}


def test_a_claim_with_nothing_tested_at_its_preset_is_inconclusive_and_says_why():
    spec = {
        "title": "T",
        "statement": "S",
        "subclaims": [
            {
                "name": "a",
                "not_tested": {"cpu": "too short"},
                "criteria": [{"name": "x", "require": "> 0"}],
            }
        ],
    }
    claim = declared({"preset": "cpu"}, spec)
    claim.measure("x", Estimate(0.5, 0.4, 0.6, 3))  # measured and shown, not judged
    assert claim.subclaim_verdicts() == {"a": "not tested"}
    assert claim.verdict() == "inconclusive"
    assert claim.verdict_reason() == "nothing is tested at this preset"
    assert "inconclusive" in claim.verdict_line()


def test_a_failed_check_makes_the_claim_inconclusive_whatever_the_evidence():
    claim = declared()
    claim.measure("identity", Estimate.point(1e-3))  # the expansion is not exact: a bug
    claim.measure("x", Estimate(0.95, 0.93, 0.97, 3))
    for name in ("d m", "d c"):
        claim.measure(name, Estimate(0.0, -0.05, 0.05, 3))
    assert claim.verdict() == "inconclusive"
    assert claim.verdict_reason() == "implementation check failed: identity"
    assert "[checks: FAILED identity]" in claim.verdict_line()


def test_checks_never_count_as_evidence():
    """Every check passes, every empirical criterion fails: not reproduced, not 'partially'."""
    claim = declared()
    claim.measure("identity", Estimate.point(0.0))
    claim.measure("x", Estimate(0.5, 0.4, 0.6, 3))
    for name in ("d m", "d c"):
        claim.measure(name, Estimate(0.5, 0.4, 0.6, 3))
    assert claim.verdict() == "not reproduced"


def test_clopper_pearson_is_exact_and_stays_inside_zero_one():
    from reprobook.stats import k_of_n, proportion_ci

    est = proportion_ci(3, 3)
    assert (
        est.mean == 1.0 and est.high == 1.0 and abs(est.low - 0.2924) < 1e-3
    )  # (α/2)^(1/3)
    assert (
        proportion_ci(0, 5).low == 0.0 and abs(proportion_ci(0, 5).high - 0.5218) < 1e-3
    )
    two = k_of_n([True, False, True])
    assert two.mean == 2 / 3 and 0 < two.low < two.mean < two.high < 1 and two.n == 3
    with pytest.raises(ValueError):
        proportion_ci(4, 3)


def test_bounded_mean_ci_stays_inside_the_values_an_accuracy_can_take():
    """Issue 10's example: three bimodal seeds gave 0.666 [−0.551, 1.88]."""
    est = mean_ci([0.1, 0.95, 0.95], bounds=(0, 1))
    assert est.low == 0.0 and est.high == 1.0 and abs(est.mean - 2 / 3) < 1e-12


def test_one_seed_never_gives_a_decisive_status():
    one_accuracy = mean_ci([0.99], bounds=(0, 1))  # -p seeds 1: all an accuracy can be
    assert (one_accuracy.low, one_accuracy.high) == (0.0, 1.0)
    for est in (
        mean_ci([0.99]),
        one_accuracy,
        bootstrap_ci([0.99]),
        paired_difference([0.9], [0.1]),
    ):
        for comparison in (">=", "<="):
            c = Criterion("x", "", comparison, 0.5)
            c.measured = est
            assert c.status == "uncertain"
        c = Criterion("x", "", "within", 0.5)
        c.measured = est
        assert c.status == "uncertain"
