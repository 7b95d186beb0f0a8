"""Every notebook at the `smoke` preset through papermill, its verdict cell under nbval, and the book
built from those outputs with warnings as errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reprobook import params

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = params.notebooks()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_at_smoke_and_records_its_verdict(smoke_build, name):
    executed = json.loads((smoke_build / "notebooks" / f"{name}.ipynb").read_text())
    text = "".join(
        "".join(o.get("text", ""))
        for c in executed["cells"]
        for o in c.get("outputs", [])
    )
    assert f"VERDICT {name}: " in text
    assert not any(
        o.get("output_type") == "error"
        for c in executed["cells"]
        for o in c.get("outputs", [])
    )
    record = json.loads((smoke_build / "results" / f"{name}.json").read_text())
    assert record["preset"] == "smoke"
    assert record["verdict"] in (
        "reproduced",
        "partially reproduced",
        "not reproduced",
        "inconclusive",
    )
    assert (
        record["provenance"]["wall_time_s"] > 0
        and record["parameters"]["preset"] == "smoke"
    )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_verdict_cell_is_reproducible_under_nbval(smoke_build, name):
    executed = smoke_build / "notebooks" / f"{name}.ipynb"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-lax",
            "--nbval-current-env",
            str(executed),
        ],
        cwd=smoke_build,
        capture_output=True,
        text=True,
        env={**os.environ, "REPROBOOK_RESULTS": str(smoke_build / "results")},
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "passed" in out.stdout


def test_book_builds_from_the_smoke_outputs(smoke_build, smoke_book):
    index = smoke_book
    html = index.parent
    for name in NOTEBOOKS:
        page = (html / "notebooks" / f"{name}.html").read_text()
        assert (
            "VERDICT" in page and "<img" in page
        )  # the verdict and the figures made it
        assert (
            f"colab.research.google.com/github/reprobook/reprobook/blob/main/notebooks/{name}.ipynb"
            in page
        )
    summary = (html / "book" / "summary.html").read_text()
    assert all(name in summary for name in NOTEBOOKS) and "smoke" in summary


def judged_numbers(build: Path, name: str) -> list[dict]:
    record = json.loads((build / "results" / f"{name}.json").read_text())
    return [
        c for s in record["subclaims"] for c in s["criteria"] + s["gates"]
    ] + record["gates"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_no_accuracy_interval_leaves_zero_one(smoke_build, name):
    from reprobook.units import unit_of

    for c in judged_numbers(smoke_build, name):
        if unit_of(c["name"], c.get("description", "")) == "%":
            m = c["measured"]
            assert 0 <= m["low"] <= m["mean"] <= m["high"] <= 1, (c["name"], m)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_interval_holds_its_number(smoke_build, name):
    """A number outside its own interval (a rank agreement read 0.92 [0.825, 0.912]) would be
    judged by one and shown by the other."""
    for c in judged_numbers(smoke_build, name):
        m = c["measured"]
        assert m["low"] <= m["mean"] <= m["high"], (c["name"], m)


# The `gpu` preset's choices of protocol (schedules, optimizers, precision, tasks, regimes: every
# str, bool and list[str] parameter, and these) on the `smoke` preset's shapes, so that every code
# path a gpu run takes runs here on the CPU in seconds.
GPU_PROTOCOL = {"betas", "eps", "lr_drops", "weight_decay"}
GPU_SHAPE_FIXES = {
    "residual_expansion": {"train_blocks": [3]},  # a CIFAR ResNet: 3 stages
    "zeroq": {"depth": 20, "width": 16, "resolution": 32},  # the model of record
}


def gpu_at_smoke_shapes(name: str) -> dict:
    spec = params.load_spec(name)
    smoke = spec.preset("smoke")
    protocol = {
        k
        for k, p in spec.parameters.items()
        if p["type"] in ("str", "bool", "list[str]") or k in GPU_PROTOCOL
    }
    shapes = {k: v for k, v in smoke.items() if k not in protocol}
    return {**shapes, **GPU_SHAPE_FIXES.get(name, {})}


@pytest.fixture(scope="session")
def gpu_smoke_build(tmp_path_factory):
    """Every notebook at `gpu` on its smoke shapes, two at a time as `make book` runs them (each
    notebook's shapes differ: each is checked alone, then all run in one go). Measured 2026-12-07:
    137 s, against 158 one at a time."""
    from reprobook.runner import preflight, run_notebooks

    build = tmp_path_factory.mktemp("gpu-build")
    resolved = {}
    for name in NOTEBOOKS:
        one, notebooks, results = preflight(
            [name], "gpu", gpu_at_smoke_shapes(name), build
        )
        resolved.update(one)
    outcomes = run_notebooks(
        REPO,
        NOTEBOOKS,
        "gpu",
        {},
        build,
        jobs=2,
        checked=(resolved, notebooks, results),
    )
    return build, {outcome.notebook: outcome for outcome in outcomes}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_gpu_preset_runs_on_the_cpu_at_smoke_shapes(gpu_smoke_build, name):
    build, outcomes = gpu_smoke_build
    assert outcomes[name].ok, outcomes[name].error
    record = json.loads((build / "results" / f"{name}.json").read_text())
    assert record["preset"] == "gpu"
    gpu = params.load_spec(name).preset("gpu")
    ran = record["parameters"]
    assert all(ran[k] == gpu[k] for k in gpu if k not in gpu_at_smoke_shapes(name))


def test_a_preset_that_tests_the_depth_trend_refuses_one_depth(tmp_path):
    """batchnorm_only at `cpu` trains one depth (its depth trend is declared not tested there);
    at `gpu`, which tests it, one depth fails when the parameters are resolved, before the notebook
    starts, naming the parameter and the fix."""
    from reprobook.runner import run_notebooks

    shapes = {**gpu_at_smoke_shapes("batchnorm_only"), "depths": [14]}
    with pytest.raises(params.ParameterError) as err:
        run_notebooks(REPO, ["batchnorm_only"], "gpu", shapes, tmp_path)
    assert str(err.value).startswith(
        "batchnorm_only: depths [14]: the gpu preset tests"
    )
    assert "-p depths" in str(err.value)
    assert not (tmp_path / "notebooks").exists()  # nothing ran, nothing was written
    assert params.resolve("batchnorm_only", "cpu", {})["depths"] == [8]


def test_one_depth_where_the_depth_trend_is_not_tested(tmp_path):
    """The `cpu` design (one depth) at `smoke` sizes: the notebook runs, measures no depth slope
    and reports the sub-claim as not tested, with the width trend still judged."""
    from reprobook.runner import run_notebooks

    (outcome,) = run_notebooks(
        REPO, ["batchnorm_only"], "smoke", {"depths": [8]}, tmp_path
    )
    assert outcome.ok, outcome.error
    record = outcome.record()
    subclaims = {s["name"]: s for s in record["subclaims"]}
    assert subclaims["rises with depth"]["verdict"] == "not tested"
    assert subclaims["rises with width"]["criteria"][0]["measured"] is not None
    assert (
        record["numbers"]["not tested"]["BN-only accuracy per doubling of depth"]
        is None
    )


def test_pruning_with_uniform_only_at_the_highest_sparsity(tmp_path):
    """The `cpu` design (others_at: highest_sparsity) at `smoke` sizes: no uniform run at the
    moderate sparsity, and every criterion is still measured."""
    from reprobook.runner import run_notebooks

    overrides = {"others_at": "highest_sparsity"}
    (outcome,) = run_notebooks(REPO, ["random_pruning"], "smoke", overrides, tmp_path)
    assert outcome.ok, outcome.error
    record = outcome.record()
    accuracy = record["numbers"]["accuracy"]
    assert not any(k.endswith("uniform 0.5") for k in accuracy)
    assert any(k.endswith("uniform 0.9") for k in accuracy)
    assert any(k.endswith("ERK 0.5") for k in accuracy)
    criteria = [c for s in record["subclaims"] for c in s["criteria"]]
    assert criteria and all(c["measured"] is not None for c in criteria)
