"""Where a number came from: the commit, also in a copy of the checkout without git."""

import re

import pytest

from reprobook import provenance


def test_a_checkout_gives_its_commit():
    root = provenance.repo_root()
    if root is None or not (root / ".git").exists():
        pytest.skip(
            "not a git checkout (e.g. the GPU machine's copy): the next tests cover that"
        )
    commit, dirty = provenance.git_state()
    assert re.fullmatch(r"[0-9a-f]{40}", commit) and isinstance(dirty, bool)


@pytest.mark.parametrize(
    "env, expected",
    [
        (
            {"REPROBOOK_COMMIT": "ab" * 20, "REPROBOOK_GIT_DIRTY": "0"},
            ("ab" * 20, False),
        ),
        (
            {"REPROBOOK_COMMIT": "ab" * 20, "REPROBOOK_GIT_DIRTY": "1"},
            ("ab" * 20, True),
        ),
        ({"REPROBOOK_COMMIT": "ab" * 20}, ("ab" * 20, None)),  # state not recorded
        ({}, (None, None)),  # nothing known: unknown, never a guess
    ],
)
def test_a_copy_without_git_gives_the_commit_it_was_made_at(
    tmp_path, monkeypatch, env, expected
):
    # as on the lent GPU machine: the tree's files, no .git (git fails there)
    monkeypatch.setattr(provenance, "repo_root", lambda: tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    for key in ("REPROBOOK_COMMIT", "REPROBOOK_GIT_DIRTY"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert provenance.git_state() == expected
    assert provenance.collect()["git_commit"] == expected[0]


@pytest.mark.parametrize(
    "value, expected", [("4", 4), ("1", 1), ("0", None), ("", None), ("x", None)]
)
def test_a_run_on_a_shared_machine_records_how_many_runs_were_beside_it(
    monkeypatch, value, expected
):
    # .ci/gpu/run --jobs N sets it: the wall times of runs side by side include each other's load
    monkeypatch.setenv("REPROBOOK_RUNS_ALONGSIDE", value)
    assert provenance.collect()["runs_alongside"] == expected


def test_the_hardware_names_the_cpus_vector_instructions():
    # two 'AMD EPYC' machines here differed tenfold in bf16: the name alone does not say which
    hw = provenance.hardware()
    assert hw["cpu_capability"] and isinstance(hw["cpu_capability"], str)


def test_the_summary_shows_the_cpus_vector_instructions_beside_its_name():
    from reprobook import summary

    cpu = dict(device="cpu", cpu="AMD EPYC", cpu_capability="AVX2", cores=2, gpu=None)
    assert summary._hardware(dict(hardware=cpu)).startswith("AMD EPYC (AVX2), 2 cores")
    older = {k: v for k, v in cpu.items() if k != "cpu_capability"}  # results before it
    assert summary._hardware(dict(hardware=older)).startswith("AMD EPYC, 2 cores")
    gpu = dict(cpu, device="cuda", gpu="NVIDIA H100 80GB HBM3")
    assert summary._hardware(dict(hardware=gpu)).startswith("NVIDIA H100 80GB HBM3, 2")
