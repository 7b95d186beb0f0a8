"""The first and last cells' machinery: start(), declare() from preset.yml, finish(), slug()."""

import json
import sys

import pandas as pd
import pytest

from reprobook import notebook, params
from reprobook.claims import Claim
from reprobook.papers.random_pruning import sweep
from reprobook.papers.wide_attention import experiment
from reprobook.stats import Estimate


def test_slug_is_one_rule_for_every_subclaim_name():
    assert notebook.slug("deep ≈ parallel") == "deep_vs_parallel"
    assert notebook.slug("faster on CPU") == "faster_on_cpu"
    assert (
        notebook.slug("W4A4: distilled ≈ real, 8-bit") == "w4a4_distilled_vs_real_8_bit"
    )
    assert notebook.slug("exact expansion") == "exact_expansion"


def test_glue_is_harmless_without_myst_nb(monkeypatch):
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # makes `import myst_nb` fail
    assert notebook.glue("x", 3) == 3


def test_formatted_reads_estimates_and_floats_as_the_prose_quotes_them():
    assert notebook.formatted(Estimate(0.5, 0.25, 0.75, 3)) == "0.5 [0.25, 0.75]"
    assert notebook.formatted(0.123456) == "0.123"
    assert notebook.formatted(7) == "7" and notebook.formatted("λ=1") == "λ=1"


SPEC = {
    "title": "T",
    "statement": "S at {seeds} seeds",
    "paper": "key",
    "subclaims": [
        {
            "name": "one",
            "statement": "first",
            "criteria": [
                {"name": "a", "require": ">= {bar}", "description": "a ≥ {bar}"}
            ],
            "gates": [{"name": "g", "require": "> 0.5"}],
        },
        {
            "name": "two",
            "timed": True,
            "criteria": [{"name": "b", "require": "<=1e-10"}],
        },
    ],
}


def test_a_claim_is_built_from_its_declaration_with_parameters_filled_in():
    claim = Claim.from_spec("nb", SPEC, {"seeds": 3, "bar": 0.9})
    assert claim.statement == "S at 3 seeds"
    one, two = claim.subclaims
    assert (one.criteria[0].comparison, one.criteria[0].threshold) == (">=", 0.9)
    assert one.criteria[0].description == "a ≥ 0.9" and one.gates[0].threshold == 0.5
    assert two.timed and two.criteria[0].threshold == 1e-10


def test_a_malformed_requirement_is_named():
    bad = {
        **SPEC,
        "subclaims": [{"name": "x", "criteria": [{"name": "c", "require": "about 3"}]}],
    }
    with pytest.raises(ValueError, match="'c'.*require"):
        Claim.from_spec("nb", bad, {})


@pytest.mark.parametrize("name", params.notebooks())
def test_every_notebook_declares_its_claim_in_its_preset_file(name):
    for preset in params.PRESETS:
        claim = notebook.declare(params.resolve(name, preset), **_context(name, preset))
        assert claim.subclaims and all(s.criteria for s in claim.subclaims)


def _context(name, preset):
    """Derived values a notebook passes to declare() (the same expressions as in the notebook)."""
    P = params.resolve(name, preset)
    return {
        "residual_expansion": lambda: {"deepest": max(P.train_blocks)},
        # len(sweep.Nets.of(P).all): the depth and width sweeps' networks, each once
        "batchnorm_only": lambda: {
            "networks": len(
                {(d, P.base_width) for d in P.depths}
                | {(P.width_depth, w) for w in P.widths}
            )
        },
        "random_pruning": lambda: {
            "moderate": min(P.sparsities),
            "high": max(P.sparsities),
            "largest": "ResNet-{}, width {}".format(
                *sweep.family(P.depths, P.widths)[-1]
            ),
        },
        "wide_attention": lambda: {
            "wide": experiment.shapes(P)[experiment.wide_and_deep(P)[0]],
            "deep": experiment.shapes(P)[experiment.wide_and_deep(P)[1]],
            "tasks_run": P.tasks,  # the notebook passes the tasks whose data is here
        },
    }.get(name, dict)()


def test_finish_saves_glues_and_reports(tmp_path, monkeypatch, capsys):
    glued = {}
    monkeypatch.setattr(
        notebook, "glue", lambda k, v, display=False: glued.setdefault(k, v)
    )
    monkeypatch.setenv("REPROBOOK_RESULTS", str(tmp_path))
    P = params.Params.of("nb", {"preset": "smoke", "seeds": 2, "bar": 0.9})
    claim = Claim.from_spec("nb", SPEC, P)
    claim.measure("a", Estimate(0.95, 0.92, 0.97, 2))
    claim.measure("g", Estimate.point(0.8))
    claim.measure("b", Estimate.point(0.0))
    report = notebook.finish(
        claim, P, {"extra": 1.5}, text={"acc": Estimate(0.95, 0.92, 0.97, 2)}
    )
    assert glued["verdict"] == "reproduced" and glued["verdict_one"] == "reproduced"
    assert glued["preset"] == "smoke" and glued["acc"] == "0.95 [0.92, 0.97]"
    record = json.loads((tmp_path / "nb.json").read_text())
    assert record["numbers"] == {"extra": 1.5} and record["seeds"] == [0, 1]
    assert len(report) == 3
    out = capsys.readouterr().out
    assert "nb at preset 'smoke': reproduced" in out and str(tmp_path) not in out


def test_table_shows_every_row_whole_without_row_numbers():
    long = "every mask keeps its target count d_l·n_l per layer and d·N in all, within one weight"
    frame = pd.DataFrame(
        dict(
            criterion=["a", "the name of a criterion in words"],
            description=[long, "short"],
        )
    )
    shown = notebook.table(frame)
    html = shown._repr_html_()
    # pandas' own display cuts a cell at 50 characters
    assert f'<span class="rb-long">{long}</span>' in html and long in repr(shown)
    assert "<td>a</td>" in html and 'class="dataframe rb-table"' in html
    assert '<span class="rb-words">the name of a criterion in words</span>' in html
    assert "<th>0</th>" not in html and "<tbody>\n    <tr>\n      <th>" not in html
    assert (
        not repr(shown).splitlines()[1].startswith("0")
    )  # no row numbers in plain text
    hostile = notebook.table(pd.DataFrame(dict(a=["<b>x</b> & y"])))._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in hostile  # text, never markup


def test_params_read_as_attributes_and_cannot_be_changed():
    P = params.resolve("zeroq", "smoke")
    assert P.seeds == P["seeds"] and P.notebook == "zeroq"
    with pytest.raises(AttributeError, match="no parameter"):
        _ = P.nonexistent
    with pytest.raises(AttributeError):
        P.seeds = 4
    with pytest.raises(AttributeError):
        P["seeds"] = 4


def test_declare_records_the_spec_hash_and_flags_overridden_thresholds(capsys):
    name = params.notebooks()[0]
    claim = notebook.declare(params.resolve(name, "smoke"), **_context(name, "smoke"))
    assert len(claim.preregistration["sha256"]) == 64
    assert claim.preregistration["overridden_thresholds"] == {}
    used = sorted({p for ps in claim.threshold_parameters.values() for p in ps})
    if used:  # a threshold that comes from a parameter: set it away from the preset
        spec = params.load_spec(name)
        value = spec.preset("smoke")[used[0]]
        changed = params.resolve(name, "smoke", {used[0]: value / 2 if value else 0.5})
        claim = notebook.declare(changed, **_context(name, "smoke"))
        assert used[0] in claim.preregistration["overridden_thresholds"]
        assert "thresholds set away" in capsys.readouterr().out


def test_percent_table_shows_accuracies_in_percent_and_differences_in_points():
    frame = pd.DataFrame(
        {
            "acc": [0.5, float("nan")],
            "ci": [Estimate(0.61, 0.6, 0.62), Estimate.point(0.1)],
            "a − b": [0.012, -0.03],
            "name": ["x", "y"],
            "seconds": [1.5, 2.0],
        }
    )
    shown = notebook.percent_table(frame, points=["a − b"], keep=["seconds"])
    assert shown["seconds"].tolist() == [1.5, 2.0]
    assert shown["acc"].tolist() == ["50.0%", "–"]
    assert shown["ci"].tolist() == ["61.0% [60.0, 62.0]", "10.0%"]
    assert shown["a − b"].tolist() == ["+1.2 pp", "−3.0 pp"]
    assert shown["name"].tolist() == ["x", "y"]
    assert frame["acc"].iloc[0] == 0.5  # the numeric table is left as it was


def test_signed_table_writes_the_typographic_minus_and_keeps_other_cells():
    import pandas as pd

    frame = pd.DataFrame(
        {"mean": [-0.4812, 1.5], "runs": [3, 4], "name": ["ResNet-8", "erk"]}
    )
    shown = notebook.signed_table(frame)
    assert list(shown["mean"]) == ["−0.48", "1.50"]  # U+2212, as the prose writes it
    assert list(shown["runs"]) == [3, 4] and list(shown["name"]) == ["ResNet-8", "erk"]
    assert notebook.signed_table(frame, 1)["mean"][0] == "−0.5"
    assert frame["mean"][0] == -0.4812  # display only: the numbers are untouched


def test_start_prints_the_scale_and_the_hardware_in_words(monkeypatch, capsys):
    monkeypatch.setattr(notebook.data, "load", lambda name: None)  # no data needed here
    hardware = {"gpu": None, "cpu": "Some CPU", "cores": 2, "torch_threads": 1}
    monkeypatch.setattr(
        notebook.provenance, "hardware", lambda: {**hardware, "device": "cpu"}
    )
    notebook.start("zeroq", {"preset": "smoke", "seeds": 3})
    out = capsys.readouterr().out
    assert (
        "zeroq: preset 'smoke' on cpu — Some CPU (2 cores, 1 torch thread); torch"
        in out
    )
    assert "overrides of the 'smoke' preset: {'seeds': 3}" in out
