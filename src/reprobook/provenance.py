"""Where a number came from: code version, packages, hardware, time."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import torch

from . import __version__, allocator, data

# the versions each run records, beside reprobook's own
PACKAGES = (
    "torch",
    "torchvision",
    "numpy",
    "pandas",
    "scipy",
    "matplotlib",
    "papermill",
)


def repo_root() -> Path | None:
    """The checkout this package is installed from (editable install), if any."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "notebooks").is_dir():
            return parent
    return None


def results_path(notebook: str, preset: str | None = None) -> Path:
    """Where a run's results file goes. Under ``reprobook run`` (``$REPROBOOK_RESULTS`` set to the build's
    ``results/``) it is ``<notebook>.json`` there, replacing only that build's previous run of the same
    notebook. Anywhere else — plain papermill, Jupyter, Colab — it is a new file in ``./reprobook-results/``
    named by notebook, preset and time, so that no run ever overwrites another run's results (nor a
    checkout's ``build/``)."""
    if os.environ.get("REPROBOOK_RESULTS"):
        return Path(os.environ["REPROBOOK_RESULTS"]).expanduser() / f"{notebook}.json"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    folder = Path.cwd() / "reprobook-results"
    path = folder / f"{notebook}-{preset or 'run'}-{stamp}.json"
    n = 1
    while path.exists():  # two runs in the same second
        n += 1
        path = folder / f"{notebook}-{preset or 'run'}-{stamp}-{n}.json"
    return path


def git_state() -> tuple[str | None, bool | None]:
    """The checkout's commit and whether tracked files differ from it. Where git cannot tell (no
    checkout, or a copy of one without ``.git``, as on the lent GPU machine), the commit and state
    the copy was made at: ``$REPROBOOK_COMMIT`` and ``$REPROBOOK_GIT_DIRTY`` ("0" or "1"), which
    ``.ci/gpu/setup`` sets from what ``.ci/gpu/prep`` recorded; else unknown (None)."""
    root = repo_root()
    if root is not None:
        try:
            commit = _git(root, "rev-parse", "HEAD")
            dirty = bool(_git(root, "status", "--porcelain", "--untracked-files=no"))
            return commit, dirty
        except (OSError, subprocess.CalledProcessError):
            pass
    dirty = {"0": False, "1": True}.get(os.environ.get("REPROBOOK_GIT_DIRTY", ""))
    return os.environ.get("REPROBOOK_COMMIT") or None, dirty


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> dict:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    try:
        memory_gb = round(
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
        )
    except (ValueError, OSError, AttributeError):
        memory_gb = None
    return dict(
        device="cuda" if gpu else "cpu",
        cpu=cpu_name(),
        # the vector instructions torch uses here, e.g. AVX2 or AVX512: two CPUs of one name can
        # differ tenfold in bf16 (train.slow_precision)
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        cores=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        gpu=gpu,
        cuda=torch.version.cuda if gpu else None,
        gpu_driver=gpu_driver() if gpu else None,
        memory_gb=memory_gb,
    )


def gpu_driver() -> str | None:
    """The NVIDIA driver version (``nvidia-smi``), or None where it cannot be read."""
    import subprocess

    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (
        out.stdout.strip().splitlines()[0]
        if out.returncode == 0 and out.stdout.strip()
        else None
    )


def versions() -> dict:
    # reprobook's own from its source, which the GPU machine runs from PYTHONPATH, uninstalled
    found = {"reprobook": __version__}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def collect(wall_time_s: float | None = None, started: float | None = None) -> dict:
    commit, dirty = git_state()
    when = (
        datetime.fromtimestamp(started, timezone.utc)
        if started
        else datetime.now(timezone.utc)
    )
    return dict(
        git_commit=commit,
        git_dirty=dirty,
        python=platform.python_version(),
        platform=platform.platform(),
        packages=versions(),
        hardware=hardware(),
        started_utc=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        wall_time_s=wall_time_s,
        hostname=socket.gethostname(),
        datasets=data.read_so_far(),  # where each dataset came from; "JPEG": lossy copies
        freed_memory_kept=allocator.kept(),  # glibc mallopt (allocator.py): faster CPU steps
        runs_alongside=runs_alongside(),  # wall times measured on a shared machine
    )


def runs_alongside() -> int | None:
    """How many other runs shared the machine with this one, at most: ``$REPROBOOK_RUNS_ALONGSIDE``,
    which ``.ci/gpu/run --jobs N`` sets where it runs notebooks side by side on one GPU (their wall
    times, and any time they measure, include the others' load). None where unset: the run had the
    machine to itself as far as the package knows."""
    value = os.environ.get("REPROBOOK_RUNS_ALONGSIDE", "")
    return int(value) if value.isdigit() and int(value) > 0 else None
