"""What a reader sees: the verdict card, the compact parameters, folded plumbing, no machine paths."""

import hashlib

import nbformat

from reprobook import pages, params, summary

RECORD = {
    "notebook": "zeroq",
    "preset": "smoke",
    "verdict": "partially reproduced",
    "verdict_reason": "",
    "parameters": {"preset": "smoke", "seeds": 3},
    "provenance": {"wall_time_s": 90, "hardware": {"cores": 2, "gpu": None}},
    "checks": [{"name": "DP = brute force", "status": "met"}],
    "subclaims": [
        {
            "name": "calibration",
            "verdict": "reproduced",
            "criteria": [
                {
                    "name": "W8A8",
                    "description": "paired accuracy difference: equivalence",
                    "status": "met",
                    "comparison": "within",
                    "threshold": 0.01,
                    "paper": "+0.0 pp",
                    "measured": {"mean": 0.0, "low": -0.004, "high": 0.003, "n": 2},
                }
            ],
        },
        {
            "name": "depth trend",
            "verdict": "not tested",
            "not_tested": "needs 160 epochs",
        },
    ],
}


def executed():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import sys  # google.colab install", metadata={"tags": ["hide-input"]}
        ),
        nbformat.v4.new_markdown_cell("# ZeroQ\n\n**The claim.** ..."),
        nbformat.v4.new_code_cell("preset = 'cpu'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "preset = 'smoke'", metadata={"tags": ["injected-parameters"]}
        ),
        nbformat.v4.new_code_cell(
            "P = notebook.start('zeroq', globals())",
            outputs=[
                nbformat.v4.new_output(
                    "stream", text="data from /work/shared/data/cifar10 ok\n"
                )
            ],
        ),
        nbformat.v4.new_code_cell(
            "plt.plot(x)",
            outputs=[
                nbformat.v4.new_output("display_data", data={"image/png": "AAAA"})
            ],
        ),
        nbformat.v4.new_code_cell("claim = notebook.declare(P)"),
    ]
    return nb


def test_the_card_sits_under_the_title_and_says_the_verdict_with_every_subclaim():
    page = pages.reader_page(executed(), RECORD)
    assert page.cells[0].source == "# ZeroQ"
    card = page.cells[1].source
    assert (
        'class="rb-card rb-part"' in card
        and "<strong>partially reproduced</strong>" in card
    )
    assert (
        "calibration</strong> — reproduced" in card
        and "ours 0.0 pp [−0.4, 0.3], required within\u00a0±1\u00a0pp, paper +0.0 pp"
        in card
    )
    assert "not tested at this preset: needs 160 epochs" in card
    assert (
        "Implementation checks" in card
        and "Implementation checks" in card
        and ": 1 passed</p>" in card
        and "preset <code>smoke</code>" in card
    )
    assert page.cells[2].source.startswith("**The claim.**")


def test_a_failing_run_reads_as_failing_on_its_card():
    criterion = RECORD["subclaims"][0]["criteria"][0]
    failing = {
        **RECORD,
        "preset": "full",
        "verdict": "inconclusive",
        "verdict_reason": "implementation check failed: DP = brute force",
        "checks": [{"name": "DP = brute force", "status": "not met"}],
        "subclaims": [
            {
                "name": "calibration",
                "verdict": "not reproduced",
                "criteria": [
                    {
                        **criterion,
                        "status": "not met",
                        "measured": {"mean": 0.05, "low": 0.03, "high": 0.07, "n": 2},
                    }
                ],
            }
        ],
    }
    card = pages.verdict_card(failing)
    assert (
        "implementation check failed: DP = brute force" in card
    )  # why, under the verdict
    assert "FAILED: DP = brute force" in card
    assert (
        '<span class="rb-sym">✗</span> <strong>calibration</strong> — not reproduced'
        in card
    )
    assert "✗ W8A8: ours 5.0 pp [3.0, 7.0]" in card
    assert "rb-scale" not in card  # a full run follows the paper's protocol
    # without colour, every verdict and every status still has its own symbol
    assert len(set(summary.SYMBOL.values())) == len(summary.SYMBOL)
    assert len(set(pages.STATUS_SYMBOL.values())) == len(pages.STATUS_SYMBOL)


def test_the_card_says_what_its_preset_can_show():
    smoke = pages.verdict_card(RECORD)
    assert "A <code>smoke</code> run is a plumbing check" in smoke
    assert "reduced scale" not in smoke
    cpu = pages.verdict_card({**RECORD, "preset": "cpu"})
    assert "A <code>cpu</code> run tests the claim at reduced scale" in cpu
    assert "plumbing" not in cpu


def test_plumbing_is_folded_and_the_parameters_are_one_compact_table():
    page = pages.reader_page(executed(), RECORD)
    sources = [c.source for c in page.cells]
    assert not any(
        "google.colab" in s for s in sources
    )  # the Colab cell leaves the page
    assert not any(
        "preset = " in s for s in sources
    )  # both parameter cells are gone...
    table = next(s for s in sources if s.startswith("**Parameters of this run**"))
    assert (
        "| seeds | `3` (preset: `2`) |" in table and "| preset | `smoke` |" in table
    )  # ...for this
    tags = {
        c.source: c.metadata.get("tags", [])
        for c in page.cells
        if c.cell_type == "code"
    }
    assert (
        "hide-input" in tags["plt.plot(x)"]
        and "hide-input" in tags["claim = notebook.declare(P)"]
    )
    assert "hide-input" not in tags["P = notebook.start('zeroq', globals())"]


def test_no_output_keeps_a_machine_path():
    page = pages.reader_page(executed(), RECORD)
    text = "".join(o.get("text", "") for c in page.cells for o in c.get("outputs", []))
    assert "/work/" not in text and "…/cifar10" in text
    assert (
        pages.scrub_paths("λ=1/√L and 1/L and acc 3/4") == "λ=1/√L and 1/L and acc 3/4"
    )
    assert pages.scrub_paths("saved /tmp/a/b/c.json.") == "saved …/c.json."


def test_a_page_without_results_gets_no_card():
    page = pages.reader_page(executed(), None)
    assert page.cells[0].source.startswith("# ZeroQ")
    assert not any("rb-card" in c.source for c in page.cells)


def test_a_figure_gets_its_caption_and_alt_text_from_its_comment():
    nb = executed()
    nb.cells[
        5
    ].source = "# Figure: Accuracy against depth,\n#   per regime.\nplt.plot(x)"
    page = pages.reader_page(nb, RECORD)
    figure = next(c for c in page.cells if c.source.startswith("# Figure:"))
    assert (
        figure.metadata["mystnb"]["figure"]["caption"]
        == "Accuracy against depth, per regime."
    )
    assert (
        figure.metadata["mystnb"]["image"]["alt"]
        == "Accuracy against depth, per regime."
    )
    assert figure.metadata["mystnb"]["figure"]["name"] == "fig-zeroq-1"


def test_a_criterion_not_tested_at_the_preset_is_shown_with_its_number_and_not_judged():
    record = {
        **RECORD,
        "subclaims": [
            {
                "name": "gap shrinks",
                "verdict": "reproduced",
                "criteria": [
                    {
                        "name": "ERK slope",
                        "status": "met",
                        "measured": {"mean": -0.02, "low": -0.03, "high": -0.01},
                    },
                    {
                        "name": "uniform slope",
                        "status": "not tested",
                        "not_tested": "pilot: needs 14 seeds",
                        "measured": {"mean": -0.01, "low": -0.03, "high": 0.01},
                    },
                ],
            }
        ],
    }
    card = pages.verdict_card(record)
    assert "✓ ERK slope" in card
    assert (
        "– uniform slope: ours −0.01 [−0.03, 0.01] (not tested at this preset" in card
    )


def test_the_card_says_when_the_run_read_a_lossy_copy_of_the_data():
    assert "rb-data" not in pages.verdict_card(RECORD)
    exact = {"mnist": {"source": "/d/MNIST/raw", "encoding": ""}}
    prov = {**RECORD["provenance"], "datasets": exact}
    assert "rb-data" not in pages.verdict_card({**RECORD, "provenance": prov})
    lossy = {**exact, "cifar10": {"source": "/d/cifar10", "encoding": "JPEG"}}
    card = pages.verdict_card({**RECORD, "provenance": {**prov, "datasets": lossy}})
    assert (
        '<p class="rb-data">This run read CIFAR-10 from JPEG files: a lossy copy whose pixels '
        "differ from the original dataset's, on which the paper measured.</p>"
    ) in card


def test_the_card_says_when_its_run_shared_the_machine():
    assert "beside" not in pages.verdict_card(RECORD)
    prov = {**RECORD["provenance"], "runs_alongside": 4}
    card = pages.verdict_card({**RECORD, "provenance": prov})
    assert " min beside up to 4 other runs</span>" in card


def test_a_verdict_over_part_of_the_claim_says_how_much_it_covers():
    """RECORD tests one sub-claim of two: its card, the grid and the summary say so; a record whose
    sub-claims were all tested says nothing of it."""
    card = pages.verdict_card(RECORD)
    assert "The verdict covers 1 of 2 sub-claims tested at this preset" in card
    assert card.index("rb-scope") < card.index("rb-subclaims")  # under the headline
    grid = summary.status_grid([RECORD])
    assert '<small class="rb-scope">1 of 2 tested</small>' in grid
    assert "(1 of 2 sub-claims tested at this preset)" in summary.render_summary(
        [RECORD]
    )
    whole = {**RECORD, "subclaims": RECORD["subclaims"][:1]}
    assert summary.scope_text(whole) == "" and "rb-scope" not in pages.verdict_card(
        whole
    )


def test_the_grid_tallies_every_claim_and_shows_what_failed():
    failed_check = {
        **RECORD,
        "notebook": "other",
        "checks": [{"name": "DP = brute force", "status": "not met"}],
    }
    crashed = {"notebook": "broken", "failed": True, "error": "CUDA out of memory"}
    grid = summary.status_grid([RECORD, failed_check, crashed])
    assert "<td>✓ 1</td>" in grid and "<td>✗ 1 failed</td>" in grid
    assert '<td class="rb-no">! failed</td>' in grid and "CUDA out of memory" in grid
    # over both runs' sub-claims and criteria, not one run's
    assert "— ✓ reproduced: 2, – not tested: 2." in grid
    assert "— met: 2, not met: 0, uncertain: 0, not tested: 0." in grid


def test_the_card_says_when_a_run_moved_a_threshold_away_from_its_preset():
    assert "pre-registered" not in pages.verdict_card(RECORD)
    moved = {
        **RECORD,
        "preregistration": {
            "overridden_thresholds": {"w8a8_margin": {"preset": 0.01, "run": 0.05}}
        },
    }
    card = pages.verdict_card(moved)
    assert (
        "Not the pre-registered criteria: this run set w8a8_margin 0.01 → 0.05" in card
    )
    # above the sub-claims, where the verdict is read
    assert card.index("pre-registered") < card.index("rb-subclaims")


def test_the_card_says_when_the_criteria_changed_after_the_run():
    spec = params.spec_path("zeroq").read_bytes()
    same = {**RECORD, "preregistration": {"sha256": hashlib.sha256(spec).hexdigest()}}
    assert "changed since" not in pages.verdict_card(same)
    other = {
        **RECORD,
        "preregistration": {"sha256": hashlib.sha256(spec + b"#").hexdigest()},
        "provenance": {**RECORD["provenance"], "git_commit": "abcdef123456"},
    }
    assert (
        "The preset file that declares this claim's criteria has changed since this run: the "
        "run was judged against the file at commit abcdef1, not the one in this book."
        in pages.verdict_card(other)
    )
    line = pages.record_line([{**other, "preset": "gpu"}])
    assert "commit abcdef1, criteria changed since)" in line
    assert "changed since" not in pages.record_line([{**same, "preset": "gpu"}])
    assert (
        "**zeroq:** The preset file that declares this claim's criteria has changed"
        in summary.render_summary([other])
    )
