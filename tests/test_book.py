"""Tests for the summary page and for staging/building the Jupyter Book."""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

from reprobook import summary
from reprobook.book import BookError, build_book, stage_book, toc_files
from reprobook.summary import format_number, load_results, render_summary

REPO_ROOT = Path(__file__).resolve().parents[1]

RESULT = {
    "notebook": "residual_expansion",
    "title": "Residual networks expand into ensembles of paths",
    "claim": "A residual network is exactly a sum of 2^n paths.",
    "paper": "dherin2025residual",
    "preset": "cpu",
    "parameters": {"seeds": 3},
    "seeds": [0, 1, 2],
    "verdict": "partially reproduced",
    "subclaims": [
        {
            "name": "exact expansion",
            "verdict": "reproduced",
            "criteria": [
                {
                    "name": "relative error",
                    "description": "max relative error of the 2^n-term sum <= 1e-10",
                    "paper": "exact identity",
                    "measured": {"mean": 1e-15, "low": 5e-16, "high": 2e-15, "n": 3},
                    "threshold": 1e-10,
                    "comparison": "<=",
                    "status": "met",
                }
            ],
        },
        {
            "name": "short paths dominate",
            "verdict": "not reproduced",
            "criteria": [
                {
                    "name": "share",
                    "description": "share of the output from paths of length <= 2 | trained net",
                    "paper": 0.9,
                    "measured": {"mean": 0.61234, "low": 0.55, "high": 0.674, "n": 3},
                    "threshold": 0.8,
                    "comparison": ">=",
                    "status": "not met",
                }
            ],
        },
    ],
    "numbers": {"any": 1.0},
    "provenance": {
        "git_commit": "abc123def4567890",
        "git_dirty": False,
        "python": "3.11.7",
        "packages": {"torch": "2.14.1"},
        "hardware": {
            "device": "cpu",
            "cpu": "AMD EPYC",
            "cores": 2,
            "gpu": None,
            "memory_gb": 24,
        },
        "started_utc": "2026-11-21T21:00:00Z",
        "wall_time_s": 312.4,
        "hostname": "x",
    },
}


def write_result(results_dir: Path, result: dict) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"{result['notebook']}.json").write_text(json.dumps(result))


def fake_executed_notebook(path: Path) -> None:
    """A tiny 'executed' notebook: markdown, a code cell with a text output, a parameters cell."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    code = nbformat.v4.new_code_cell("x = 6 * 7\nprint(x)", execution_count=1)
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    params = nbformat.v4.new_code_cell("preset = 'smoke'", execution_count=2)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "# Residual networks expand into ensembles of paths\n\n"
            "A fake executed notebook {cite}`dherin2025residual` with math $2^n$."
        ),
        params,
        code,
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


# --- summary --------------------------------------------------------------------------------


def test_format_number():
    assert format_number(0.61234) == "0.612"
    assert format_number(1e-15) == "1.00e-15"
    assert format_number(123456.0) == "1.23e5"
    assert format_number(3) == "3"
    assert format_number(None) == "–"


def test_render_summary_shows_verdicts_and_numbers():
    page = render_summary([RESULT])
    assert page.startswith("# Claims summary")
    assert "**partially reproduced**" in page
    assert "**reproduced**" in page and "**not reproduced**" in page
    assert "Residual networks expand into ensembles of paths" in page
    assert "1e-15 [5e-16, 2e-15] (n=3)" in page  # as the card shows it
    assert "0.612 [0.55, 0.674]" in page
    accuracy = {
        "name": "BN-only test accuracy",
        "measured": {"mean": 0.61234, "low": 0.55, "high": 0.674, "n": 3},
    }
    assert summary._measured(accuracy) == "61.2% [55.0, 67.4] (n=3)"
    # each status says what the criterion required, in the card's units
    # (with no-break spaces, so that "≥" and its number never part in a narrow cell)
    assert "| met (≤\u00a01e-10) |" in page and "| not met (≥\u00a00.8) |" in page
    assert "| status (required) |" in page
    # and names the criterion as its card does, with what it measures
    assert "| relative error: max relative error of the 2^n-term sum <= 1e-10 |" in page
    assert "`cpu`" in page and "AMD EPYC, 2 cores" in page
    assert "5 min 12 s" in page and "abc123def4" in page
    assert "{cite}`dherin2025residual`" in page
    assert "\\|" in page  # a '|' in a description is escaped, not a column break
    # overall table comes before the per-notebook section
    assert page.index("| notebook | verdict |") < page.index("## Residual networks")
    statuses = [c["status"] for s in RESULT["subclaims"] for c in s["criteria"]]
    tally = ", ".join(
        f"{v}: {statuses.count(v)}"
        for v in ("met", "not met", "uncertain", "not tested")
    )
    assert f"Their criteria (not the checks and gates) — {tally}." in page


def test_a_run_that_used_a_model_of_record_names_it_on_the_summary():
    assert "Model of record" not in render_summary([RESULT])
    line = "ResNet-20 (width 16, 32 px), seed 0: test accuracy 88.71% | trained at commit 420aa72"
    used = {**RESULT, "numbers": {"model_of_record": line}}
    page = render_summary([used])
    assert (
        "- Model of record: ResNet-20 (width 16, 32 px), seed 0: test accuracy 88.71%"
        in page
    )
    assert "\\| trained at commit 420aa72" in page  # escaped like every other cell


def test_the_summary_names_the_data_a_run_read_and_which_copies_were_lossy():
    assert "- Data: –" in render_summary(
        [RESULT]
    )  # an older results file: not recorded
    datasets = {
        "mnist": {"source": "/d/MNIST/raw", "encoding": ""},
        "cifar10": {"source": "/d/cifar10", "encoding": "JPEG"},
    }
    read = {**RESULT, "provenance": {**RESULT["provenance"], "datasets": datasets}}
    assert (
        "- Data: MNIST; CIFAR-10 from JPEG files (lossy: not the original pixels)"
        in render_summary([read])
    )


def test_the_summary_says_which_run_times_were_measured_on_a_shared_machine():
    assert "other run" not in render_summary([RESULT])
    shared = {**RESULT, "provenance": {**RESULT["provenance"], "runs_alongside": 1}}
    page = render_summary([shared])
    assert "(beside up to 1 other run) |" in page  # the status table
    assert "- Run time: " in page and "(beside up to 1 other run)\n" in page


def test_the_run_table_names_one_shared_machine_once_and_different_ones_per_row():
    second = {**RESULT, "notebook": "wide_attention", "title": "Wide attention"}
    header = "| notebook | verdict | preset | run time | commit |"
    page = render_summary([RESULT, second])
    # the machine: once under the table, once in each claim's section
    assert header in page and page.count("AMD EPYC, 2 cores") == 3
    shared = "Every run above ran on AMD EPYC, 2 cores, 24 GB RAM."
    assert shared in page
    xeon = {**RESULT["provenance"]["hardware"], "cpu": "Intel Xeon"}
    other = {**second, "provenance": {**RESULT["provenance"], "hardware": xeon}}
    page = render_summary([RESULT, other])
    assert "| notebook | verdict | preset | hardware | run time | commit |" in page
    assert "Every run above" not in page
    # one run: its row names the machine
    assert "Every run above" not in render_summary([RESULT])


def test_the_summary_counts_cores_in_words():
    assert summary._hardware({"hardware": {"cpu": "X", "cores": 1}}) == "X, 1 core"
    assert summary._hardware({"hardware": {"cpu": "X", "cores": 2}}) == "X, 2 cores"


def test_the_summary_names_a_threshold_moved_away_from_its_preset():
    assert "Thresholds overridden" not in render_summary([RESULT])
    moved = {
        **RESULT,
        "preregistration": {
            "overridden_thresholds": {"tolerance": {"preset": 1e-10, "run": 0.001}}
        },
    }
    assert (
        f"**Thresholds overridden in {RESULT['notebook']}:** tolerance 1e-10 → 0.001 "
        "(not the pre-registered values)." in render_summary([moved])
    )


def test_the_summary_says_that_smoke_verdicts_are_plumbing_checks():
    assert "Plumbing checks" not in render_summary([RESULT])
    page = render_summary([RESULT, {**RESULT, "notebook": "zeroq", "preset": "smoke"}])
    assert "**Plumbing checks:** A `smoke` run is a plumbing check" in page
    # the cpu run's section says "reduced scale", the smoke run's (and the line above) "plumbing"
    assert page.count("run tests the claim at reduced scale") == 1
    assert page.count("A `smoke` run is a plumbing check") == 2


def test_render_summary_unknown_citation_key_is_not_cited():
    page = render_summary([RESULT], bib_keys={"other"})
    assert "{cite}" not in page and "dherin2025residual" in page


def test_empty_results_dir(tmp_path):
    assert load_results(tmp_path / "missing") == []
    assert load_results(tmp_path) == []
    page = render_summary(load_results(tmp_path))
    assert "No results" in page and "reprobook run" in page


def test_load_results_in_book_order_then_unknown_ones_by_name(tmp_path):
    for name in ["zz_extra", "batchnorm_only", "aa_extra"]:
        write_result(tmp_path, copy.deepcopy(RESULT) | {"notebook": name})
    write_result(tmp_path, RESULT)  # residual_expansion: first in _toc.yml
    assert [r["notebook"] for r in load_results(tmp_path)] == [
        "residual_expansion",
        "batchnorm_only",
        "aa_extra",
        "zz_extra",
    ]


def test_malformed_json_names_the_file(tmp_path):
    write_result(tmp_path, RESULT)
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match="broken.json"):
        load_results(tmp_path)


# --- staging and building -------------------------------------------------------------------


def test_toc_lists_residual_expansion():
    files = toc_files(REPO_ROOT / "_toc.yml")
    assert files[0] == "book/intro"
    assert "notebooks/residual_expansion" in files and "book/summary" in files


def fake_executed_book(build):
    """A fake executed copy of every notebook the table of contents lists."""
    for doc in toc_files(REPO_ROOT / "_toc.yml"):
        if doc.startswith("notebooks/"):
            fake_executed_notebook(build / f"{doc}.ipynb")


def test_stage_without_executed_notebook_fails_clearly(tmp_path):
    with pytest.raises(BookError, match=r"residual_expansion.*reprobook run"):
        stage_book(tmp_path / "build", REPO_ROOT)


def test_stage_book(tmp_path):
    build = tmp_path / "build"
    fake_executed_book(build)
    write_result(build / "results", RESULT)
    (build / "book-src" / "stale").mkdir(parents=True)
    src = stage_book(build, REPO_ROOT)
    assert src == build.resolve() / "book-src"
    assert not (src / "stale").exists()
    for name in (
        "_config.yml",
        "_toc.yml",
        "book/intro.md",
        "book/references.bib",
        "notebooks/residual_expansion.ipynb",
    ):
        assert (src / name).is_file(), name
    summary = (src / "book" / "summary.md").read_text()
    assert "**partially reproduced**" in summary
    assert "{doc}`/notebooks/residual_expansion`" in summary


def test_results_of_record_appear_on_the_summary_and_in_the_card(tmp_path):
    """A committed record of another preset (records/gpu/) is shown beside this build's cpu run:
    its own status grid and table on the summary, one line in the claim page's card."""
    build, records = tmp_path / "build", tmp_path / "records"
    fake_executed_book(build)
    write_result(build / "results", RESULT)
    gpu = json.loads(json.dumps(RESULT))
    gpu["preset"], gpu["verdict"] = "gpu", "reproduced"
    gpu["provenance"]["hardware"]["gpu"] = "NVIDIA H100 80GB HBM3"
    write_result(
        records / "gpu" / "results", gpu
    )  # a build folder: reprobook run --build
    src = stage_book(build, REPO_ROOT, records_dir=records)
    summary = (src / "book" / "summary.md").read_text()
    assert "## Results of record: `gpu`" in summary and "NVIDIA H100" in summary
    page = nbformat.read(src / "notebooks" / "residual_expansion.ipynb", as_version=4)
    card = next(c.source for c in page.cells if "rb-card" in c.source)
    assert "Results of record at other scales" in card and "<code>gpu</code>" in card
    assert "NVIDIA H100 80GB HBM3" in card


def test_a_book_without_records_shows_none(tmp_path):
    build = tmp_path / "build"
    fake_executed_book(build)
    write_result(build / "results", RESULT)
    src = stage_book(build, REPO_ROOT, records_dir=tmp_path / "no-records")
    assert "Results of record" not in (src / "book" / "summary.md").read_text()


needs_jupyter_book = pytest.mark.skipif(
    importlib.util.find_spec("jupyter_book") is None,
    reason="jupyter-book is not installed (pip install -e '.[book]')",
)


@needs_jupyter_book
def test_build_book(tmp_path):
    """A real Jupyter Book build (about 3 s), warnings as errors, offline."""
    build = tmp_path / "build"
    fake_executed_book(build)
    write_result(build / "results", RESULT)
    index = build_book(build, REPO_ROOT)
    html = index.parent
    assert index.is_file()
    summary = (html / "book" / "summary.html").read_text()
    assert "Claims summary" in summary and "partially reproduced" in summary
    notebook = (html / "notebooks" / "residual_expansion.html").read_text()
    assert (
        "https://colab.research.google.com/github/reprobook/reprobook/blob/main/"
        "notebooks/residual_expansion.ipynb"
    ) in notebook
    assert "42" in notebook


@needs_jupyter_book
def test_build_book_fails_on_warnings(tmp_path):
    """-W is in effect: a notebook that only produces a warning fails the build, with the log."""
    build = tmp_path / "build"
    fake_executed_book(build)
    path = build / "notebooks" / "residual_expansion.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("### A heading that skips a level"))
    nbformat.write(nb, path)
    with pytest.raises(BookError, match="Non-consecutive header level"):
        build_book(build, REPO_ROOT)
