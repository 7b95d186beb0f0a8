import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from reprobook import cli, runner

REPO = Path(__file__).resolve().parents[1]


def reprobook(*args, cwd=REPO):
    return subprocess.run(
        [sys.executable, "-m", "reprobook", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
    )


def test_list_shows_every_notebook_and_its_presets():
    out = reprobook("list")
    assert out.returncode == 0
    assert (
        "residual_expansion" in out.stdout
        and "train_blocks" in out.stdout
        and "smoke=" in out.stdout
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["-p", "sedes", "2"], "unknown parameter 'sedes'; did you mean 'seeds'?"),
        (["-p", "seeds", "two"], "parameter 'seeds' must be int, got 'two'"),
        (["--preset", "huge"], "unknown preset 'huge'"),
    ],
)
def test_bad_input_fails_before_any_notebook_runs(tmp_path, args, message):
    out = reprobook("run", "residual_expansion", "--build", str(tmp_path), *args)
    assert out.returncode == 2
    assert message in out.stderr
    assert not (tmp_path / "notebooks").exists()  # nothing was executed or written


def tiny_notebook(path: Path, body: str):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell(body),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def test_runner_continues_past_a_failure_and_reports_all(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    tiny_notebook(repo / "notebooks" / "bad.ipynb", "raise RuntimeError('boom in bad')")
    tiny_notebook(repo / "notebooks" / "good.ipynb", "print('fine', x)")
    tiny_notebook(repo / "notebooks" / "worse.ipynb", "1 / 0")
    monkeypatch.setattr(
        runner,
        "validate",
        lambda names, preset, overrides: {n: {"x": 2} for n in names},
    )
    outcomes = runner.run_notebooks(
        repo, ["bad", "good", "worse"], "smoke", {}, tmp_path / "build"
    )
    assert [o.ok for o in outcomes] == [False, True, False]
    assert (
        "boom in bad" in outcomes[0].error and "ZeroDivisionError" in outcomes[2].error
    )
    executed = nbformat.read(
        tmp_path / "build" / "notebooks" / "good.ipynb", as_version=4
    )
    assert "fine 2" in executed.cells[-1].outputs[0]["text"]
    assert sorted(p.name for p in (repo / "notebooks").iterdir()) == [
        "bad.ipynb",
        "good.ipynb",
        "worse.ipynb",
    ]
    assert all(
        "outputs" not in c or not c.outputs
        for c in nbformat.read(repo / "notebooks" / "good.ipynb", 4).cells
    )


def test_cli_exit_code_is_non_zero_when_a_notebook_fails(tmp_path, monkeypatch, capsys):
    failing = [
        runner.RunOutcome("a", tmp_path / "a.ipynb", 1.0),
        runner.RunOutcome("b", tmp_path / "b.ipynb", 2.0, "Boom"),
    ]
    monkeypatch.setattr(runner, "run_notebooks", lambda *a, **k: failing)
    assert cli.main(["run", "all", "--build", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert (
        "FAILED b" in captured.err
        and "Boom" in captured.err
        and "total" in captured.out
    )


def test_papermill_typo_fails_in_the_first_cell(tmp_path):
    import papermill as pm

    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(
            str(REPO / "notebooks" / "residual_expansion.ipynb"),
            str(tmp_path / "out.ipynb"),
            parameters={"preset": "smoke", "sedes": 2},
            kernel_name="python3",
            progress_bar=False,
        )
    assert "unknown parameter 'sedes'" in str(err.value)
    executed = json.loads((tmp_path / "out.ipynb").read_text())
    ran = [
        c
        for c in executed["cells"]
        if c["cell_type"] == "code" and c.get("execution_count")
    ]
    assert (
        len(ran) <= 4
    )  # the Colab cell, the parameters, the injected parameters, the start cell: no compute
