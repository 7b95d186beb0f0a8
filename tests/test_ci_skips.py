"""In CI a test may skip only for want of a CUDA GPU: any other skip (jupyter-book, Chromium, the
dataset mirror or a git checkout missing) hid a test that could fail, and `tests/conftest.py` turns it
into a failure that says so. Run here on a tiny suite under the real conftest, in and out of CI."""

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = (Path(__file__).parent / "conftest.py").read_text()
SUITE = """
import pytest

def test_runs():
    pass

def test_skips_for_want_of_a_part():
    pytest.skip("jupyter-book is not installed")

@pytest.mark.cuda
def test_needs_a_gpu():
    pytest.skip("needs a CUDA GPU")

@pytest.mark.xfail(reason="a known limitation")
def test_expected_to_fail():
    assert False
"""


@pytest.fixture
def tiny_suite(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nmarkers =\n    cuda: needs a CUDA GPU\n")
    pytester.makepyfile(SUITE)
    return pytester


def test_in_ci_a_skip_fails_and_names_its_reason(tiny_suite, monkeypatch):
    monkeypatch.setenv("CI", "true")
    result = tiny_suite.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, skipped=1, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "*skipped in CI, where every test but the CUDA ones must run: *jupyter-book is not installed*"
        ]
    )


def test_outside_ci_a_skip_stays_a_skip(tiny_suite, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    result = tiny_suite.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=2, xfailed=1)
