"""One rule for the unit a measured quantity reads in (card, criteria table, prose)."""

from reprobook import units
from reprobook.claims import Criterion
from reprobook.stats import Estimate


def test_a_quantity_reads_accuracies_in_percent_differences_in_points_ratios_as_times():
    est = {"mean": 0.912, "low": 0.9, "high": 0.92, "n": 3}
    cases = {
        "test accuracy": ("BN-only test accuracy", "91.2% [90.0, 92.0]"),
        "difference": ("BN-only − random accuracy", "91.2 pp [90.0, 92.0]"),
        "ratio": ("deep / wide CPU latency, batch 1", "0.912× [0.9, 0.92]"),
        "other": ("log GC(1/L) − log GC(1/√L)", "0.912 [0.9, 0.92]"),
        "slope": (
            "BN-only accuracy per doubling of width",
            "91.20 pp per doubling [90.00, 92.00]",
        ),
        "gap slope": (
            "ERK: gap slope at the highest sparsity",
            "91.20 pp per doubling [90.00, 92.00]",
        ),
        "not a ratio": ("worst model − majority class", "0.912 [0.9, 0.92]"),
        "relative": ("λ=1: measured / predicted log-growth − 1", "0.912 [0.9, 0.92]"),
        "relative difference": (
            "relative val-loss difference, mnist",
            "91.2% [90.0, 92.0]",
        ),
        "a check's relative error": ("max relative error", "0.912 [0.9, 0.92]"),
        "seconds": ("pipeline seconds", "0.912 s [0.9, 0.92]"),
    }
    for name, shown in cases.values():
        assert units.measured_text(est, units.unit_of(name)) == shown
    # a relative difference reads in percent but is not an accuracy (no share in [0, 1])
    assert units.unit_of("relative val-loss difference, mnist") == units.RELATIVE
    assert units.requirement_text("within", 0.1, units.RELATIVE) == "within ±10%"
    # "configuration" is not "ratio": a difference of accuracies described so stays in points
    described = {
        "name": "worst model − majority class",
        "description": "smallest mean test accuracy of any configuration",
    }
    assert units.unit_of(**described) == "pp"


def test_a_threshold_reads_in_its_criterion_s_unit_with_the_digits_it_was_written_with():
    assert units.threshold_text(0.9, "%") == "90%"
    assert units.threshold_text(0.015, "pp") == "1.5 pp"
    assert units.threshold_text(0.07, "%") == "7%"  # not 7.000000000000001%
    assert units.threshold_text(30, "") == "30"
    assert units.threshold_text(1, "×") == "1×"


def test_a_number_s_sign_reads_as_the_typographic_minus_and_a_word_s_hyphen_stays():
    diff = {"mean": -0.003, "low": -0.007, "high": 0.001, "n": 3}
    assert units.measured_text(diff, "pp") == "−0.3 pp [−0.7, 0.1]"
    assert units.threshold_text(-0.02, "pp") == "−2 pp"
    assert f"{Estimate(-0.5, -0.9, -0.1, 3):+.1f}" == "−0.5 [−0.9, −0.1]"
    for kept in (
        "ResNet-20",
        "lr 1e-05",
        "2026-12-02",
        "epochs 5-10",
        "(a)-1",
        "--set x=-1",
    ):
        assert units.minus(kept) == kept
    assert units.minus("-inf, (-3), [-.5]") == "−inf, (−3), [−.5]"


def test_the_criteria_table_shows_requirement_and_measurement_in_the_card_s_units():
    acc = Criterion("BN-only test accuracy", "mean test accuracy", ">=", 0.5)
    gap = Criterion(
        "all − BN-only accuracy", "difference of accuracies", "within", 0.02
    )
    secs = Criterion("pipeline seconds", "wall time of the pipeline", "<", 30)
    secs.measured = Estimate.point(53.24)
    assert (acc.requirement, gap.requirement, secs.requirement) == (
        "≥ 50%",
        "within ±2 pp",
        "< 30 s",
    )
    assert secs.measured_text() == "53.2 s"
    assert acc.measured_text() == "–"
    acc.measured = Estimate(0.6131, 0.6012, 0.6243)
    assert acc.measured_text() == "61.3% [60.1, 62.4]"


def test_requirement_text_reads_in_the_criterions_unit():
    assert units.requirement_text("within", 0.02, "pp") == "within ±2 pp"
    assert units.requirement_text(">=", 0.45, "%") == "≥ 45%"
    assert units.requirement_text("<", 0.0, "pp per doubling") == "< 0 pp per doubling"
    assert units.requirement_text("<=", -0.5, "") == "≤ −0.5"


def test_a_count_takes_its_noun_in_the_right_number():
    from reprobook.units import count

    assert count(1, "epoch") == "1 epoch" and count(3, "epoch") == "3 epochs"
    assert count(2.5, "epoch") == "2.5 epochs" and count(1.0, "epoch") == "1 epoch"
    assert (
        count(1, "pass", "passes") == "1 pass"
        and count(2, "pass", "passes") == "2 passes"
    )
    assert count("all", "CPU thread") == "all CPU threads"
