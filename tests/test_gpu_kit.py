"""What the lent GPU machine's copy needs (`.ci/gpu/`): it runs the package from ``PYTHONPATH=src``,
uninstalled, with the wheels `.ci/gpu/prep` carries, which leave out the book's build. Both were
found broken only by a rehearsal of `.ci/gpu/run` on Python 3.12 and the image's torch 2.11: every
`reprobook` command failed without the package's metadata, and myst-nb's ``glue`` needs docutils."""

import re
import subprocess
import sys
from pathlib import Path

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
