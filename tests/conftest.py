import importlib.util
import os
import tempfile
from pathlib import Path

import pytest

from reprobook import allocator

REPO = Path(__file__).resolve().parents[1]
MIRROR = Path(os.environ.get("REPROBOOK_DATA") or REPO.parent / "shared" / "data")

os.environ.setdefault("REPROBOOK_PROGRESS", "0")
allocator.keep_freed_memory()  # as a notebook does: the tests train faster
# Results written by tests never land in the checkout's build/results (the book's).
os.environ["REPROBOOK_RESULTS"] = tempfile.mkdtemp(prefix="reprobook-test-results-")
if MIRROR.is_dir():
    os.environ.setdefault("REPROBOOK_DATA", str(MIRROR))


def fail_a_skip_in_ci(report, item, in_ci: bool) -> None:
    """In CI (``$CI`` set, as `.ci/run` sets it) every test runs but the CUDA ones: a skip there
    means a missing part (jupyter-book, Chromium, the mirror, a git checkout) hid a test that could
    fail, so it becomes a failure that names it. Elsewhere a skip stays a skip."""
    expected = item.get_closest_marker("cuda") is not None or hasattr(
        report, "wasxfail"
    )
    if in_ci and report.skipped and not expected:
        reason = (
            report.longrepr[-1]
            if isinstance(report.longrepr, tuple)
            else report.longrepr
        )
        report.outcome = "failed"
        report.longrepr = (
            f"skipped in CI, where every test but the CUDA ones must run: {reason}"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    fail_a_skip_in_ci(outcome.get_result(), item, bool(os.environ.get("CI")))


@pytest.fixture
def mirror() -> Path:
    """The offline dataset mirror (CI has it at ../shared/data); tests that need it skip without it."""
    if not (MIRROR / "MNIST").is_dir():
        pytest.skip(
            f"no dataset mirror at {MIRROR}; set REPROBOOK_DATA to run the real-data tests"
        )
    return MIRROR


@pytest.fixture
def isolated_data(tmp_path, monkeypatch):
    """An empty data root and cache, with downloads switched off: only what a test writes exists."""
    root, cache = tmp_path / "data", tmp_path / "cache"
    root.mkdir()
    monkeypatch.setenv("REPROBOOK_DATA", str(root))
    monkeypatch.setenv("REPROBOOK_CACHE", str(cache))
    monkeypatch.setenv("REPROBOOK_DOWNLOAD", "0")
    return root


@pytest.fixture(scope="session")
def smoke_build(tmp_path_factory):
    """Every notebook executed at the smoke preset into one build folder (once per test session)."""
    from reprobook import params
    from reprobook.runner import run_notebooks

    build = tmp_path_factory.mktemp("build")
    outcomes = run_notebooks(REPO, params.notebooks(), "smoke", {}, build)
    failures = {o.notebook: o.error for o in outcomes if not o.ok}
    assert not failures, failures
    return build


@pytest.fixture(scope="session")
def smoke_book(smoke_build):
    """The HTML book built (warnings as errors) from the smoke outputs: its index.html."""
    from reprobook.book import build_book

    if importlib.util.find_spec("jupyter_book") is None:
        pytest.skip("jupyter-book is not installed (pip install -e '.[book]')")
    return build_book(smoke_build, REPO)
