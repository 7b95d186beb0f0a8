"""What the lent GPU machine's copy needs (`.ci/gpu/`): it runs the package from ``PYTHONPATH=src``,
uninstalled, with the wheels `.ci/gpu/prep` carries, which leave out the book's build. Both were
found broken only by a rehearsal of `.ci/gpu/run` on Python 3.12 and the image's torch 2.11: every
`reprobook` command failed without the package's metadata, and myst-nb's ``glue`` needs docutils."""

import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import reprobook

REPO = Path(__file__).resolve().parents[1]

# Python run with the import system as on the GPU machine: ``hidden`` names the distributions that
# have no metadata there, ``blocked`` the top-level modules that are not installed there.
PRELUDE = """
import importlib.abc, importlib.metadata as metadata, sys
hidden, blocked = {hidden!r}, {blocked!r}
real_version = metadata.version
def version(name):
    if name in hidden:
        raise metadata.PackageNotFoundError(name)
    return real_version(name)
metadata.version = version
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Block())
"""


def python(code: str, hidden=(), blocked=()) -> subprocess.CompletedProcess:
    prelude = PRELUDE.format(hidden=set(hidden), blocked=set(blocked))
    return subprocess.run(
        [sys.executable, "-c", prelude + code],
        cwd=REPO,
        capture_output=True,
        text=True,
    )


def left_out_by_prep() -> set[str]:
    """The top-level modules of the packages `.ci/gpu/prep` does not carry (its ``not_needed``)."""
    text = (REPO / ".ci/gpu/prep").read_text()
    names = re.search(r'not_needed="([^"]*)"', text).group(1).split()
    return {
        name.split("-")[0]
        if name.startswith("sphinxcontrib")
        else name.replace("-", "_")
        for name in names
    }


def test_an_uninstalled_source_tree_knows_its_own_version():
    out = python(
        "import runpy; sys.argv = ['reprobook', '--version'];"
        " runpy.run_module('reprobook', run_name='__main__')",
        hidden={"reprobook"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"reprobook {reprobook.__version__}"
    out = python(
        "from reprobook import provenance; print(provenance.versions()['reprobook'])",
        hidden={"reprobook"},
    )
    assert out.returncode == 0 and out.stdout.strip() == reprobook.__version__, (
        out.stderr
    )


def test_the_prepared_wheels_hold_what_a_notebook_run_imports():
    blocked = left_out_by_prep()
    assert {"sphinx", "sqlalchemy"} <= blocked  # the parse found the list
    out = python(
        "import papermill, nbclient, ipykernel.kernelapp\n"
        "from reprobook import notebook\n"
        "notebook.glue('verdict', 'reproduced')\n"  # myst-nb's glue, as every notebook's last cell
        "print('ok')",
        blocked=blocked,
    )
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr
    assert python("import sphinx", blocked=blocked).returncode == 1  # the block works


def test_the_gpu_run_refuses_a_bad_option_before_it_unpacks_anything(tmp_path):
    for args, says in [
        (
            ["--jobs", "0"],
            "--jobs takes a whole number of jobs at once, at least 1, got '0'",
        ),
        (["--jobs", "many"], "got 'many'"),
        (["--parallel"], "unknown option --parallel; options: --no-tests, --jobs N"),
        (
            ["--no-tests", "--record", "--set epochs=auto"],
            "sizes the training from the benchmark, which --no-tests skips",
        ),
    ]:
        out = subprocess.run(
            [str(REPO / ".ci/gpu/run"), *args],
            capture_output=True,
            text=True,
            env={"PATH": "/usr/bin:/bin", "OUT": str(tmp_path)},
        )
        assert out.returncode == 2 and out.stderr.startswith("error: "), out
        assert says in out.stderr
    assert not list(tmp_path.iterdir())  # nothing unpacked, nothing written


def test_the_gpu_run_runs_its_jobs_side_by_side_and_says_so(mirror, tmp_path):
    """A rehearsal of `.ci/gpu/run --jobs` at `smoke` on this CPU, in a copy of the tree without
    .git as the lent machine gets it: the model of record's job and two notebooks at once, the
    CPU-timing notebook on a core of its own, every result recording the runs beside it, and what
    comes back in at most 8 files."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the rehearsal copies the tracked files")
    copy, out, home = tmp_path / "copy", tmp_path / "out", tmp_path / "home"
    copy.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True
    )
    for name in archive.stdout.decode().split("\0"):
        if name and (REPO / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            (copy / name).write_bytes((REPO / name).read_bytes())
            (copy / name).chmod((REPO / name).stat().st_mode)
    (copy / ".gpu/data").mkdir(parents=True)
    for dataset in (
        "cifar10",
        "MNIST",
    ):  # what .ci/gpu/setup unpacks there from prep's tarballs
        (copy / ".gpu/data" / dataset).symlink_to(mirror / dataset)
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(home),  # its own Jupyter kernel spec, for this Python
        "OUT": str(out),
        "PY": sys.executable,
        "PRESET": "smoke",
        "REPROBOOK_CACHE": os.environ.get(
            "REPROBOOK_CACHE", str(Path.home() / ".cache/reprobook")
        ),
    }
    notebooks = ["wide_attention", "random_pruning"]
    # fp32: the recipe's bf16 autocast is refused on a CPU without bf16 (train.slow_precision)
    retraining = "--set epochs=0.002 --set precision=fp32"
    done = subprocess.run(
        [".ci/gpu/run", "--no-tests", "--jobs", "3", "--record", retraining]
        + notebooks,
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    times = (out / "times.txt").read_text()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # wide_attention times the CPU (latency_threads 1 at smoke): core 0 is its own; the record
    # and random_pruning share the rest, their threads split between them
    cores = len(os.sched_getaffinity(0))
    rest, threads = f"1-{cores - 1}", max(1, (cores - 1) // 2)
    assert (
        "started wide_attention on cores 0-0 (threads: default), beside up to 2"
        in times
    )
    assert (
        f"started random_pruning on cores {rest} (threads: {threads}), beside up to 2 others"
        in times
    )
    assert f"started record on cores {rest} (threads: {threads})" in times
    assert re.search(
        r"^cpu: \d+ logical cores; the logical cores of core 0's physical", times, re.M
    )
    for job in notebooks:
        assert re.search(rf"^{job} : rc 0, \d+ s$", times, re.M), times
    # the short retraining is not more accurate than the committed model: kept aside, exit 1
    assert re.search(r"^record : rc 1, \d+ s$", times, re.M), times
    back = sorted(p.name for p in out.iterdir())
    assert back == [
        "log.txt",
        "logs.tgz",
        "record-log.txt",
        "record.tgz",
        "smoke-records.tgz",
        "times.txt",
    ]
    with tarfile.open(out / "record.tgz") as tar:
        names = tar.getnames()
    assert "./record.candidate/resnet20-cifar10.json" in names, names
    with tarfile.open(out / "logs.tgz") as tar:
        assert {"./record.txt", "./wide_attention.txt"} <= set(tar.getnames())
    with tarfile.open(out / "smoke-records.tgz") as tar:
        tar.extractall(tmp_path / "back", filter="data")
    for job in notebooks:
        results = json.loads(
            (tmp_path / "back/records/smoke/results" / f"{job}.json").read_text()
        )
        assert results["provenance"]["runs_alongside"] == 2
        assert (tmp_path / "back/records/smoke/notebooks" / f"{job}.ipynb").is_file()
