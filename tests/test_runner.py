import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from reprobook import cli, params, runner

REPO = Path(__file__).resolve().parents[1]


def reprobook(*args, cwd=REPO, env=None):
    return subprocess.run(
        [sys.executable, "-m", "reprobook", *args],
        cwd=cwd,
        env=env,
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
    monkeypatch.setattr(runner, "load_datasets", lambda n, r: None)  # tiny notebooks
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

    def fake_run(*a, on_done=None, **k):
        for o in failing:
            on_done(o)
        return failing

    monkeypatch.setattr(runner, "run_notebooks", fake_run)
    assert cli.main(["run", "all", "--build", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "error: b failed: Boom" in captured.err and "total" in captured.out
    assert "✗ b failed" in captured.out and "FAILED: Boom" in captured.out


def test_cli_run_compares_its_time_with_the_planned_one(tmp_path, monkeypatch, capsys):
    """After the total, a run whose notebooks all succeeded prints the wall time the presets'
    recorded times plan for it and the ratio (how much slower this machine or day is); not after a
    failure, nor where -p changes what runs."""
    names = cli.params.notebooks()

    def fake_run(*a, on_done=None, **k):
        outcomes = [
            runner.RunOutcome(
                n, tmp_path / f"{n}.ipynb", 1.0, fail if n == names[-1] else None
            )
            for n in names
        ]
        for o in outcomes:
            on_done(o)
        return outcomes

    monkeypatch.setattr(runner, "run_notebooks", fake_run)
    monkeypatch.setattr(runner, "expected_seconds", lambda name, preset: 1000.0)
    monkeypatch.setattr(runner, "preflight", lambda *a: None)
    fail = None
    assert cli.main(["run", "all", "--preset", "smoke", "--build", str(tmp_path)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "as planned" in x)
    planned = float(line.split()[2])
    assert planned == 1000.0 * len(names)  # one at a time: the sum
    assert "this run took 0.00× that" in line  # the fake run took no time
    fail = "Boom"
    cli.main(["run", "all", "--preset", "smoke", "--build", str(tmp_path)])
    assert "as planned" not in capsys.readouterr().out
    cli.main(
        [
            "run",
            "zeroq",
            "--preset",
            "smoke",
            "-p",
            "seeds",
            "3",
            "--build",
            str(tmp_path),
        ]
    )
    assert "as planned" not in capsys.readouterr().out


def test_cli_run_checks_the_data_once(tmp_path, monkeypatch, capsys):
    """The CLI's preflight (before the plan prints) is the run's: datasets are not loaded twice."""
    loads = []
    monkeypatch.setattr(runner, "load_datasets", lambda names, r: loads.append(names))
    monkeypatch.setattr(
        runner,
        "execute",
        lambda job: runner.RunOutcome(job.name, job.output, 0.0, "not run here"),
    )
    cli.main(
        ["run", "residual_expansion", "--preset", "smoke", "--build", str(tmp_path)]
    )
    assert loads == [["residual_expansion"]]
    assert "not run here" in capsys.readouterr().err


def test_the_run_says_what_earlier_holds(tmp_path, monkeypatch, capsys):
    assert runner.earlier_note(tmp_path) is None  # nothing kept: nothing to say
    for stamp in ("20261206T100000Z-a", "20261206T110000Z-a"):
        (tmp_path / "earlier" / stamp).mkdir(parents=True)
        (tmp_path / "earlier" / stamp / "a.json").write_bytes(b"x" * 300_000)
    note = runner.earlier_note(tmp_path)
    assert "keeps 2 earlier runs, 0.6 MB" in note and "delete" in note
    monkeypatch.setattr(runner, "load_datasets", lambda names, r: None)
    monkeypatch.setattr(
        runner, "execute", lambda job: runner.RunOutcome(job.name, job.output, 0.0)
    )
    cli.main(
        ["run", "residual_expansion", "--preset", "smoke", "--build", str(tmp_path)]
    )
    assert "keeps 2 earlier runs" in capsys.readouterr().out


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


@pytest.fixture
def asyncio_log_level():
    """An interrupted run silences asyncio's logger for the rest of its process: restore it."""
    logger = logging.getLogger("asyncio")
    level = logger.level
    yield
    logger.setLevel(level)


def test_an_interrupted_run_is_marked_failed_and_the_interrupt_goes_on(
    tmp_path, monkeypatch, capsys, asyncio_log_level
):
    """Ctrl-C in the middle of a notebook: its results are marked failed (the summary shows it as
    such, not as a run that never happened), its earlier run stays kept, and the run stops."""
    import papermill

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    tiny_notebook(repo / "notebooks" / "a.ipynb", "print('never')")
    results = tmp_path / "build" / "results"
    results.mkdir(parents=True)
    (results / "a.json").write_text('{"notebook": "a", "verdict": "reproduced"}')
    monkeypatch.setattr(runner, "validate", lambda n, p, o: {k: {"x": 2} for k in n})
    monkeypatch.setattr(runner, "load_datasets", lambda n, r: None)
    monkeypatch.setattr(papermill, "execute_notebook", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runner.run_notebooks(repo, ["a"], "smoke", {}, tmp_path / "build")
    marker = json.loads((results / "a.failed.json").read_text())
    assert marker["failed"] and marker["error"].startswith(
        "interrupted (Ctrl-C) after "
    )
    assert "a: interrupted (Ctrl-C) after " in capsys.readouterr().out
    [kept] = (tmp_path / "build" / "earlier").iterdir()
    assert json.loads((kept / "a.json").read_text())["verdict"] == "reproduced"


def test_an_interrupted_run_leaves_no_asyncio_traceback_behind(
    tmp_path, monkeypatch, caplog, asyncio_log_level
):
    """After Ctrl-C, the cell nbclient was awaiting fails later (DeadKernelError) and nobody
    retrieves it: asyncio must not print it, traceback and all, as the process exits."""
    import asyncio
    import gc

    import papermill

    def interrupted_while_a_cell_fails(*args, **kwargs):
        async def cell():
            raise RuntimeError("Kernel died")

        loop = asyncio.new_event_loop()
        pending.append(loop.create_task(cell()))  # its exception is never retrieved
        loop.run_until_complete(asyncio.sleep(0.01))
        loop.close()
        raise KeyboardInterrupt

    pending = []  # nbclient's frames hold the task until the process winds down

    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    tiny_notebook(repo / "notebooks" / "a.ipynb", "print('never')")
    monkeypatch.setattr(runner, "validate", lambda n, p, o: {k: {"x": 2} for k in n})
    monkeypatch.setattr(runner, "load_datasets", lambda n, r: None)
    monkeypatch.setattr(papermill, "execute_notebook", interrupted_while_a_cell_fails)
    with pytest.raises(KeyboardInterrupt):
        runner.run_notebooks(repo, ["a"], "smoke", {}, tmp_path / "build")
    pending.clear()
    gc.collect()  # where asyncio reports a task's unretrieved exception
    reported = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert not reported, reported


def test_ctrl_c_in_a_running_notebook_stops_the_run_with_one_line_and_no_kernel_traceback(
    tmp_path, mirror
):
    """A real Ctrl-C (SIGINT to the terminal's process group) while a kernel computes: the run says
    so in one line and exits 130; the kernel's shutdown adds nothing (it used to add a zmq
    traceback, "Socket operation on non-socket", from a reply sent on a closed socket)."""
    import signal
    import time

    build = tmp_path / "build"
    run = subprocess.Popen(
        [sys.executable, "-m", "reprobook", "run", "residual_expansion"]
        + ["--preset", "smoke", "-p", "train_epochs", "400", "--build", str(build)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # its own process group with Ctrl-C's default action, as a terminal gives a command (a
        # test run in the background, as CI's may be, inherits SIGINT ignored)
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    executed = build / "notebooks" / "residual_expansion.ipynb"
    deadline = time.time() + 120
    while not executed.exists() and run.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(5)  # into the cells: 400 epochs of trainability keep it busy for minutes
    assert run.poll() is None, run.communicate()[0]
    os.killpg(run.pid, signal.SIGINT)
    out, _ = run.communicate(timeout=120)
    assert run.returncode == 130, out
    assert "residual_expansion: interrupted (Ctrl-C) after " in out
    assert "Traceback" not in out and "ERROR" not in out, out
    marker = json.loads(
        (build / "results" / "residual_expansion.failed.json").read_text()
    )
    assert marker["error"].startswith("interrupted (Ctrl-C) after ")


def test_a_failed_run_leaves_no_stale_verdict_and_is_marked_failed(
    tmp_path, monkeypatch
):
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    tiny_notebook(repo / "notebooks" / "bad.ipynb", "raise RuntimeError('boom in bad')")
    results = tmp_path / "build" / "results"
    results.mkdir(parents=True)
    (results / "bad.json").write_text(
        '{"notebook": "bad", "verdict": "reproduced"}'
    )  # an old run
    monkeypatch.setattr(
        runner,
        "validate",
        lambda names, preset, overrides: {n: {"x": 2} for n in names},
    )
    monkeypatch.setattr(runner, "load_datasets", lambda n, r: None)  # tiny notebooks
    [outcome] = runner.run_notebooks(repo, ["bad"], "smoke", {}, tmp_path / "build")
    assert not outcome.ok and outcome.error == "RuntimeError: boom in bad"
    assert not (results / "bad.json").exists()
    marker = json.loads((results / "bad.failed.json").read_text())
    assert marker["failed"] and "boom in bad" in marker["error"]
    [kept] = (tmp_path / "build" / "earlier").iterdir()  # the old verdict, not lost
    assert json.loads((kept / "bad.json").read_text())["verdict"] == "reproduced"
    from reprobook.summary import load_results, render_summary

    page = render_summary(load_results(results))
    assert "**failed**" in page and "boom in bad" in page


def test_a_new_run_moves_the_earlier_runs_files_aside_and_loses_none(
    tmp_path, monkeypatch, capsys
):
    """Three runs of one notebook into one build folder: the build shows the newest, and the two
    earlier runs' notebooks and results are each kept whole in earlier/<time>-<name>[-n]/."""
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    tiny_notebook(
        repo / "notebooks" / "a.ipynb",
        "import json, os\n"
        "json.dump({'run': x}, open(os.path.join(os.environ['REPROBOOK_RESULTS'], 'a.json'), 'w'))",
    )
    monkeypatch.setattr(runner, "load_datasets", lambda n, r: None)
    build = tmp_path / "build"
    for run in (1, 2, 3):
        monkeypatch.setattr(runner, "validate", lambda n, p, o, r=run: {"a": {"x": r}})
        [outcome] = runner.run_notebooks(repo, ["a"], "smoke", {}, build)
        assert outcome.ok and outcome.record() == {"run": run}
    earlier = sorted((build / "earlier").iterdir(), key=lambda f: f.stat().st_mtime)
    assert [json.loads((f / "a.json").read_text()) for f in earlier] == [
        {"run": 1},
        {"run": 2},
    ]
    for run, folder in enumerate(earlier, start=1):
        assert re.fullmatch(r"\d{8}T\d{6}Z-a(-\d+)?", folder.name)
        executed = nbformat.read(folder / "a.ipynb", 4)  # that run's notebook
        [injected] = [
            c
            for c in executed.cells
            if "injected-parameters" in c.metadata.get("tags", [])
        ]
        assert f"x = {run}" in injected.source
    assert "the previous run's files are kept in" in capsys.readouterr().out
    assert sorted(p.name for p in (build / "results").iterdir()) == ["a.json"]


def test_relative_data_and_cache_folders_reach_the_kernel_as_checked(
    tmp_path, monkeypatch
):
    """``REPROBOOK_DATA=../shared/data reprobook run …``: the checks read the data from the caller's
    folder, and so must the kernel, which starts in notebooks/ (it failed there: "dataset not found")."""
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    tiny_notebook(
        repo / "notebooks" / "a.ipynb",
        "import json, os\n"
        "seen = {k: [os.environ.get(k), os.path.isdir(os.environ.get(k, ''))]\n"
        "        for k in ('REPROBOOK_DATA', 'REPROBOOK_CACHE', 'REPROBOOK_IMAGENET')}\n"
        "json.dump(seen, open(os.path.join(os.environ['REPROBOOK_RESULTS'], 'a.json'), 'w'))",
    )
    caller = tmp_path / "caller"
    for folder in ("data", "cache"):
        (caller / folder).mkdir(parents=True)
    monkeypatch.chdir(caller)
    monkeypatch.setenv("REPROBOOK_DATA", "data")
    monkeypatch.setenv("REPROBOOK_CACHE", "./cache/../cache")
    monkeypatch.delenv("REPROBOOK_IMAGENET", raising=False)
    monkeypatch.setattr(runner, "load_datasets", lambda n, r: None)
    monkeypatch.setattr(runner, "validate", lambda n, p, o: {"a": {"x": 1}})
    [outcome] = runner.run_notebooks(repo, ["a"], "smoke", {}, tmp_path / "build")
    assert outcome.ok and outcome.record() == {
        "REPROBOOK_DATA": [str(caller / "data"), True],
        "REPROBOOK_CACHE": [str(caller / "cache"), True],
        "REPROBOOK_IMAGENET": [None, False],
    }
    # this process's own is left as it was
    assert os.environ["REPROBOOK_DATA"] == "data"


def test_set_aside_keeps_a_failure_marker_and_two_runs_ended_in_one_second(tmp_path):
    """A failed run's marker moves with its notebook (a stale one would show a failure the new run
    did not have), and two earlier runs with the same end time get two folders."""
    job = runner.Job(
        tmp_path, "a", {}, tmp_path / "notebooks", tmp_path / "results", "smoke"
    )
    job.notebooks.mkdir()
    job.results.mkdir()
    kept = []
    for run in (1, 2):
        job.output.write_text(f"notebook {run}")
        marker = job.results / "a.failed.json"
        marker.write_text(f"failure {run}")
        for path in (job.output, marker):
            os.utime(path, (1_700_000_000, 1_700_000_000))  # the same second
        kept.append(runner.set_aside(job))
    assert kept[0] != kept[1] and kept[1].name == f"{kept[0].name}-2"
    for run, folder in enumerate(kept, start=1):
        assert (folder / "a.failed.json").read_text() == f"failure {run}"
        assert (folder / "a.ipynb").read_text() == f"notebook {run}"
    assert list(job.results.iterdir()) == [] and runner.set_aside(job) is None


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["run", "zeroq", "-p", "preset", "smoke"],
            "error: choose the preset with --preset smoke, not -p preset",
        ),
        (["run", "zeroq", "--preset", "huge"], "(e.g. --preset smoke)"),
        (
            ["run", "nosuch"],
            "error: unknown notebook 'nosuch'; known: residual_expansion",
        ),
        (
            ["run", "zeroq", "-p", "seeds", "0"],
            "error: zeroq: parameter 'seeds' must be >=",
        ),
        (
            ["run", "random_pruning", "-p", "depths", "[8]"],
            "error: random_pruning: depths and widths pair up into a family",
        ),
        (
            ["run", "zeroq", "--jobs", "0"],
            "1 or more, got '0' (see reprobook run --help)",
        ),
        (["run"], "required: notebooks (see reprobook run --help)"),
    ],
)
def test_cli_errors_are_one_line_that_matches_the_cli(tmp_path, args, message):
    out = reprobook(*args, "--build", str(tmp_path / "b"))
    assert out.returncode == 2 and message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--steps", "0"],
            "--steps: takes a whole number of timed steps, 1 or more, got '0'",
        ),
        (["--steps", "-5"], "got '-5'"),
        (["--batch-size", "0"], "--batch-size: takes a whole number of images a step"),
    ],
)
def test_bench_rejects_a_count_below_one_before_timing(args, message):
    out = reprobook("bench", *args)
    assert out.returncode == 2 and message in out.stderr and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_a_dry_run_checks_everything_prints_the_plan_and_runs_nothing(tmp_path):
    out = reprobook(
        "run", "all", "--jobs", "2", "--dry-run", "--build", str(tmp_path / "b")
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("would run residual_expansion, wide_attention")
    assert "then wide_attention, zeroq: one at a time" in out.stdout
    assert "  zeroq: ~" in out.stdout and lines[-1].startswith("dry run:")
    assert "  in all: ~" in lines[-2] and "min of wall clock" in lines[-2]
    # and says where the times it plans from were measured (each preset file's measured_on)
    assert lines[-2].endswith(f"measured on {runner.measured_on(['zeroq'])})")
    assert not any((tmp_path / "b" / "notebooks").iterdir())
    assert not any((tmp_path / "b" / "results").iterdir())
    bad = reprobook("run", "zeroq", "--dry-run", "-p", "low_setting", "W2A2")
    assert bad.returncode == 2 and "low_setting 'W2A2'" in bad.stderr


def test_a_build_folder_that_is_a_file_or_read_only_fails_before_any_compute(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = reprobook("run", "zeroq", "--preset", "smoke", "--build", str(blocker))
    assert (
        out.returncode == 2
        and "is a file" in out.stderr
        and "Traceback" not in out.stderr
    )
    with pytest.raises(runner.BuildFolderError, match="not writable"):
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            if os.access(
                locked, os.W_OK
            ):  # root ignores permissions: make it a read-only mount's error
                raise runner.BuildFolderError(
                    f"build folder {locked} is not writable (simulated)"
                )
            runner.prepare_build(locked)
        finally:
            locked.chmod(0o700)


def test_book_with_nothing_executed_is_one_error_line(tmp_path):
    out = reprobook("book", "--build", str(tmp_path / "empty"))
    assert out.returncode == 2 and out.stderr.startswith("error: no executed notebook")
    assert "Traceback" not in out.stderr


def test_list_one_notebook_shows_its_run_times_and_version_prints(tmp_path):
    out = reprobook("list", "zeroq")
    assert (
        out.returncode == 0
        and "zeroq  (run time:" in out.stdout
        and "residual_expansion" not in out.stdout
    )
    version = reprobook("--version")
    assert version.returncode == 0 and version.stdout.startswith("reprobook ")


def test_list_into_a_closed_pipe_is_not_an_error():
    out = subprocess.run(
        f"{sys.executable} -m reprobook list | head -1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert (
        out.returncode == 0
        and "Traceback" not in out.stderr
        and "BrokenPipe" not in out.stderr
    )


def test_results_outside_reprobook_run_go_beside_the_run_and_never_overwrite(
    tmp_path, monkeypatch
):
    from reprobook import provenance

    monkeypatch.delenv("REPROBOOK_RESULTS", raising=False)
    monkeypatch.chdir(tmp_path)
    first = provenance.results_path("zeroq", "smoke")
    first.parent.mkdir()
    first.write_text("{}")
    second = provenance.results_path("zeroq", "smoke")
    assert first.parent == tmp_path / "reprobook-results" and second != first
    assert REPO not in first.parents
    monkeypatch.setenv("REPROBOOK_RESULTS", str(tmp_path / "build" / "results"))
    assert (
        provenance.results_path("zeroq", "smoke")
        == tmp_path / "build" / "results" / "zeroq.json"
    )


def test_the_readme_papermill_example_runs_as_written(tmp_path):
    readme = (REPO / "README.md").read_text()
    [line] = [s for s in readme.splitlines() if s.startswith("papermill notebooks/")]
    command = line.replace("out.ipynb", str(tmp_path / "out.ipynb"))
    env = {
        **os.environ,
        "REPROBOOK_RESULTS": str(tmp_path / "results"),
        "REPROBOOK_PROGRESS": "0",
    }
    papermill = Path(sys.executable).parent / "papermill"
    if not papermill.is_file():
        pytest.skip(
            f"no papermill command beside {sys.executable} (papermill on PYTHONPATH only)"
        )
    out = subprocess.run(
        command.replace("papermill", str(papermill), 1),
        shell=True,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    record = json.loads((tmp_path / "results" / "residual_expansion.json").read_text())
    assert (
        record["parameters"]["train_blocks"] == [8, 32] and record["preset"] == "smoke"
    )


def test_a_notebook_error_is_one_line_that_keeps_the_fix():
    class Executed(Exception):
        ename = "MissingDataError"
        evalue = (
            "dataset 'cifar10' was not found. Looked at:\n  - /x (missing)\n  - /y (incomplete)\n"
            "Fix: set REPROBOOK_DATA"
        )

    assert runner.notebook_error(Executed()) == (
        "MissingDataError: dataset 'cifar10' was not found. Looked at: /x (missing); /y (incomplete). "
        "Fix: set REPROBOOK_DATA"
    )
    assert runner.notebook_error(ValueError("bad")) == "ValueError: bad"


def test_missing_data_fails_before_any_notebook_with_one_error_line(tmp_path):
    """reprobook run checks the datasets of every notebook before the first starts: one error line with
    the notebooks that need it and the fix, no kernel, and the build's earlier results untouched."""
    env = {
        **os.environ,
        "REPROBOOK_DATA": str(tmp_path / "empty"),
        "REPROBOOK_DOWNLOAD": "0",
        "REPROBOOK_CACHE": str(tmp_path / "cache"),
    }
    build = tmp_path / "b"
    (build / "results").mkdir(parents=True)
    (build / "results" / "zeroq.json").write_text('{"verdict": "an earlier run"}')
    out = subprocess.run(
        [sys.executable, "-m", "reprobook", "run", "zeroq", "random_pruning"]
        + ["--preset", "smoke", "--build", str(build)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 2 and out.stdout == ""
    [line] = out.stderr.strip().splitlines()
    assert line.startswith(
        "error: zeroq, random_pruning: dataset 'cifar10' was not found. Looked at: "
        f"{tmp_path / 'empty'}/cifar-10-batches-py (not found or incomplete); "
    )
    assert "Fix: set REPROBOOK_DATA" in line
    assert not (build / "notebooks" / "zeroq.ipynb").exists()
    assert (
        build / "results" / "zeroq.json"
    ).read_text() == '{"verdict": "an earlier run"}'


def test_a_notebook_run_without_its_data_fails_in_its_first_cell(tmp_path):
    """The notebook itself (plain papermill, Jupyter, Colab) also checks its data before any compute."""
    import papermill as pm

    env = {
        "REPROBOOK_DATA": str(tmp_path / "empty"),
        "REPROBOOK_DOWNLOAD": "0",
        "REPROBOOK_CACHE": str(tmp_path / "cache"),
        "REPROBOOK_RESULTS": str(tmp_path / "results"),
    }
    with runner.environment(env), pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(
            str(REPO / "notebooks" / "zeroq.ipynb"),
            str(tmp_path / "zeroq.ipynb"),
            parameters={"preset": "smoke"},
            cwd=str(REPO / "notebooks"),
            progress_bar=False,
            kernel_name="python3",
        )
    assert err.value.ename == "MissingDataError"
    assert "Fix: set REPROBOOK_DATA" in runner.notebook_error(err.value)
    executed = json.loads((tmp_path / "zeroq.ipynb").read_text())
    ran = [
        c
        for c in executed["cells"]
        if c["cell_type"] == "code" and c.get("execution_count")
    ]
    assert (
        len(ran) <= 4
    )  # Colab, parameters, injected parameters, start: nothing computed


def test_a_full_run_on_a_machine_without_a_gpu_is_warned_about_first(tmp_path):
    no_gpu = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # hides one, where there is one
    args = "run zeroq --preset full -p seeds 0 --build".split()
    out = reprobook(*args, str(tmp_path), env=no_gpu)
    warning, error = out.stderr.strip().splitlines()
    assert warning.startswith(
        "warning: preset 'full' is sized for a GPU and none is available here"
    )
    assert "zeroq not measured" in warning or "zeroq ~" in warning
    assert (
        error.startswith("error: zeroq: parameter 'seeds' must be >= 2")
        and out.returncode == 2
    )


def test_jobs_run_what_times_itself_alone_after_the_rest_longest_first():
    from reprobook import params

    names = params.notebooks()
    assert runner.phases(names, "cpu", 1) == [(names, 1)]  # the default: as listed
    (shared, at_once), (alone, one) = runner.phases(names, "cpu", 2)
    assert at_once == 2 and one == 1 and sorted(shared + alone) == sorted(names)
    assert alone and all(runner.times_itself(n) for n in alone)  # e.g. a latency
    assert shared and not any(runner.times_itself(n) for n in shared)
    expected = [runner.expected_seconds(n, "cpu") for n in shared]
    assert expected == sorted(expected, reverse=True) and expected[-1] > 0
    [(only, n)] = runner.phases(["random_pruning", "zeroq"][:1], "cpu", 4)
    assert only == ["random_pruning"] and n == 1  # one notebook: every core to itself


def test_expected_wall_time_follows_the_plan_lane_by_lane():
    seconds = {"a": 25.0, "b": 13.0, "c": 12.0, "d": 4.0, "e": 7.0}
    plan = [(["a", "b", "c"], 2), (["d", "e"], 1)]
    # lanes a | b then c: max(25, 25), then d and e one at a time
    assert runner.expected_wall_seconds(plan, seconds) == 25.0 + 4.0 + 7.0
    assert runner.expected_wall_seconds([(["a", "b", "c"], 1)], seconds) == 50.0
    assert runner.expected_wall_seconds([(["b", "c", "a"], 2)], seconds) == 37.0


def test_notebooks_side_by_side_split_the_cores_and_say_they_shared(monkeypatch):
    monkeypatch.setattr(runner, "cores", lambda: 5)
    monkeypatch.delenv("REPROBOOK_THREADS", raising=False)
    assert runner.side_by_side_env(2) == {
        "REPROBOOK_THREADS": "2",
        "OMP_NUM_THREADS": "2",
        "REPROBOOK_RUNS_ALONGSIDE": "1",
    }
    assert runner.side_by_side_env(8)["REPROBOOK_THREADS"] == "1"
    assert runner.side_by_side_env(1) == {}  # alone: the environment as it is
    monkeypatch.setenv("REPROBOOK_THREADS", "3")  # the user's choice is kept
    assert runner.side_by_side_env(2)["REPROBOOK_THREADS"] == "3"


def test_a_group_runs_at_most_n_at_once_in_order_and_reports_each_as_it_ends():
    import threading
    import time

    lock, running, peak, started = threading.Lock(), [0], [0], []

    def run(name):
        with lock:
            started.append(name)
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.3 if name == "long" else 0.05)
        with lock:
            running[0] -= 1
        return runner.RunOutcome(name, Path(name), 0.0)

    names = ["long", "a", "b", "c", "d"]
    ended = [o.notebook for o in runner.run_group(names, 2, run)]
    assert peak[0] == 2 and started == names and sorted(ended) == sorted(names)
    assert ended[-1] == "long"  # reported when it ended, not when it started
    assert [o.notebook for o in runner.run_group(names, 1, run)] == names


def test_an_error_in_a_side_by_side_run_reaches_the_caller():
    def run(name):
        raise OSError(f"disk full while {name} ran")

    with pytest.raises(OSError, match="disk full while"):
        list(runner.run_group(["a", "b"], 2, run))


def test_jobs_2_runs_notebooks_side_by_side_on_a_core_each_and_timers_alone(tmp_path):
    """A real run at smoke: the two notebooks that do not time themselves overlap in time, each with
    its share of the cores and ``runs_alongside`` 1; the one judged on wall-clock times starts after
    both ended, with every core, and says it ran alone."""
    from datetime import datetime, timedelta

    build = (
        tmp_path / "build"
    )  # passed relative: papermill changes the working folder as it runs
    names = ["residual_expansion", "random_pruning", "wide_attention"]
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("REPROBOOK_THREADS", "OMP_NUM_THREADS")
    }
    out = subprocess.run(
        [sys.executable, "-m", "reprobook", "run", *names, "--preset", "smoke"]
        + ["--jobs", "2", "--build", "build"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert (
        "2 at a time, " in out.stdout
        and "then wide_attention: one at a time" in out.stdout
    )
    provenance = {
        n: json.loads((build / "results" / f"{n}.json").read_text())["provenance"]
        for n in names
    }

    def span(n):
        start = datetime.fromisoformat(
            provenance[n]["started_utc"].replace("Z", "+00:00")
        )
        return start, start + timedelta(seconds=provenance[n]["wall_time_s"])

    (a0, a1), (b0, b1), (t0, _) = (span(n) for n in names)
    assert a0 < b1 and b0 < a1  # side by side
    assert t0 >= max(a1, b1) - timedelta(
        seconds=1
    )  # started after both (the clock's second)
    share = max(1, runner.cores() // 2)
    for n in names[:2]:
        assert provenance[n]["runs_alongside"] == 1
        assert provenance[n]["hardware"]["torch_threads"] == share
    assert provenance["wide_attention"]["runs_alongside"] is None
    alone = provenance["wide_attention"]["hardware"]["torch_threads"]
    assert alone >= share  # torch's default: every (physical) core


def test_side_by_side_runs_are_processes_of_their_own_and_a_dead_one_is_a_failure(
    tmp_path, monkeypatch
):
    """papermill changes the process's working folder while it runs a notebook: two side by side in
    one process would write into each other's. Each runs in its own process; a relative build
    folder stays where it was asked for, and a process that dies without an outcome is a failure."""
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    for name in ("a", "b", "c"):
        tiny_notebook(repo / "notebooks" / f"{name}.ipynb", f"print('{name} ran', x)")
    tiny_notebook(repo / "notebooks" / "bad.ipynb", "1 / 0")
    names = ["a", "b", "bad", "c"]
    monkeypatch.setattr(runner, "validate", lambda n, p, o: {k: {"x": 2} for k in n})
    monkeypatch.setattr(runner, "phases", lambda n, p, jobs: [(list(n), jobs)])
    monkeypatch.setattr(runner, "load_datasets", lambda n, r: None)
    monkeypatch.chdir(tmp_path)
    outcomes = runner.run_notebooks(repo, names, "smoke", {}, Path("build"), jobs=2)
    assert [o.ok for o in outcomes] == [True, True, False, True]
    assert "ZeroDivisionError" in outcomes[2].error and Path.cwd() == tmp_path
    for name in ("a", "b", "c"):
        executed = nbformat.read(tmp_path / "build" / "notebooks" / f"{name}.ipynb", 4)
        assert f"{name} ran 2" in executed.cells[-1].outputs[0]["text"]
    monkeypatch.setattr(
        runner.sys, "executable", "/bin/false"
    )  # the child dies at once
    [dead, _] = runner.run_notebooks(
        repo, ["a", "b"], "smoke", {}, Path("build"), jobs=2
    )
    assert not dead.ok and "exit status 1 and no outcome" in dead.error
    marker = json.loads((tmp_path / "build" / "results" / "a.failed.json").read_text())
    assert marker["failed"] and "no outcome" in marker["error"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_log_output_streams_each_notebooks_lines_under_its_name(
    tmp_path, monkeypatch, capfd, jobs
):
    """--log-output shows what the cells print while they run, each line under its notebook's name
    (side by side, in the children's output too); without it the terminal gets none of it."""
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    for name in ("a", "b"):
        tiny_notebook(
            repo / "notebooks" / f"{name}.ipynb",
            f"print('{name} ran', x)\nprint('two')",
        )
    monkeypatch.setattr(runner, "validate", lambda n, p, o: {k: {"x": 2} for k in n})
    monkeypatch.setattr(runner, "phases", lambda n, p, j: [(list(n), j)])
    monkeypatch.setattr(runner, "load_datasets", lambda n, r: None)
    quiet = runner.run_notebooks(
        repo, ["a", "b"], "smoke", {}, tmp_path / "q", jobs=jobs
    )
    assert all(o.ok for o in quiet) and "ran" not in capfd.readouterr().out
    loud = runner.run_notebooks(
        repo, ["a", "b"], "smoke", {}, tmp_path / "l", log_output=True, jobs=jobs
    )
    lines = capfd.readouterr().out.splitlines()
    assert all(o.ok for o in loud)
    for name in ("a", "b"):
        assert f"[{name}] {name} ran 2" in lines and f"[{name}] two" in lines
        assert any(line.startswith(f"[{name}] Executing Cell 2") for line in lines)
    assert not logging.getLogger("papermill").handlers  # nothing left behind


def test_a_second_run_of_a_notebook_into_the_same_build_fails_before_any_compute(
    tmp_path,
):
    """While one process runs zeroq into a build folder, ``reprobook run zeroq`` into it fails with one
    error line naming that run and leaves that run's results where they are; another notebook into
    the same folder (the GPU kit's side-by-side runs) passes; ``reprobook book`` from that folder
    fails and names it; the lock goes with its process."""
    build = tmp_path / "b"
    (build / "results").mkdir(parents=True)
    (build / "results" / "zeroq.json").write_text('{"verdict": "the running run"}')
    hold = (
        "import sys, time; from pathlib import Path; from reprobook import runner; "
        "runner.claim_notebooks(Path(sys.argv[1]), ['zeroq']); print('held', flush=True); time.sleep(120)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(build)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )

    def run(name: str, *extra: str) -> subprocess.CompletedProcess:
        return reprobook(
            "run", name, "--preset", "smoke", "--build", str(build), *extra
        )

    try:
        assert holder.stdout.readline().strip() == "held"
        second = run("zeroq")
        assert second.returncode == 2 and second.stdout == ""
        [line] = second.stderr.strip().splitlines()
        assert line.startswith(
            f"error: zeroq is already running into build folder {build} "
            f"(reprobook run, pid {holder.pid}, since "
        ), line
        assert line.endswith("wait for that run to end, or pass another --build folder")
        assert (
            build / "results" / "zeroq.json"
        ).read_text() == '{"verdict": "the running run"}'
        assert not (build / "earlier").exists()
        other = run("random_pruning", "--dry-run")
        assert other.returncode == 0, other.stderr
        # a page of zeroq now would show a half-executed notebook
        book = reprobook("book", "--build", str(build))
        assert book.returncode == 2 and book.stdout == ""
        [line] = book.stderr.strip().splitlines()
        assert line.startswith(
            f"error: zeroq is still running into {build.resolve()} (reprobook run, pid {holder.pid}"
        ), line
        assert line.endswith("build the book when the run has ended")
    finally:
        holder.kill()
        holder.wait()
    after = run("zeroq", "--dry-run")
    assert after.returncode == 0, after.stderr


def test_the_recorded_run_times_say_where_they_were_measured():
    places = [runner.measured_on([name]) for name in params.notebooks()]
    assert all(places), "every preset file says where its run times were measured"
    assert runner.measured_on(params.notebooks()) == "; ".join(dict.fromkeys(places))
    assert runner.measured_on([]) == ""
