"""The notebook cells that are generated, not typed: the Colab install cell (from ``_config.yml``'s
repository URL, the one place the book's home is set) and the ``parameters`` cell (from the spec).

``python -m reprobook.cells`` (``make format``) rewrites both in every ``notebooks/<name>.py``;
``tests/test_layout.py`` fails when a notebook's cells differ from what this module generates.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from . import params

HIDE, PARAMS = '# %% tags=["hide-input"]\n', '# %% tags=["parameters"]\n'


def repository_url(repo: Path) -> str:
    """``repository.url`` of the book's ``_config.yml``: the book's home, set once."""
    config = yaml.safe_load((repo / "_config.yml").read_text())
    return str(config["repository"]["url"]).rstrip("/")


def colab_cell(url: str) -> str:
    """Installs reprobook on Colab (Colab keeps its own torch and torchvision); a no-op elsewhere."""
    return (
        "import subprocess\n"
        "import sys\n\n"
        'if "google.colab" in sys.modules:  # Colab: install reprobook, keeping Colab\'s torch\n'
        f'    REPO = "git+{url}"\n'
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q", REPO], check=True)'
    )


def parameters_cell(notebook: str) -> str:
    """``preset`` and every parameter at ``None`` (take the preset's value), cpu values as comments."""
    spec = params.load_spec(notebook)
    cpu = spec.preset(params.DEFAULT_PRESET)
    lines = [
        "# None takes the preset's value (the cpu value is in the comment); a value typed",
        "# here, or passed with papermill -p, is used exactly as given.",
        f'preset = "{params.DEFAULT_PRESET}"  # {" | ".join(spec.presets)}',
    ]
    lines += [f"{name} = None  # cpu: {cpu[name]!r}" for name in spec.parameters]
    return "\n".join(lines)


def _replace(text: str, marker: str, body: str) -> str:
    """Replace the body of the first cell that starts with ``marker`` in a py:percent text."""
    start = text.index(marker) + len(marker)
    end = text.find("\n\n# %%", start)
    return text[:start] + body + text[end:]


def regenerate(repo: Path) -> list[Path]:
    """Rewrite the generated cells of every paired notebook; return the files that changed."""
    url, changed = repository_url(repo), []
    for name in params.notebooks():
        path = repo / "notebooks" / f"{name}.py"
        text = path.read_text()
        new = _replace(
            _replace(text, HIDE, colab_cell(url)), PARAMS, parameters_cell(name)
        )
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


if __name__ == "__main__":
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    for path in regenerate(root):
        print(f"regenerated cells in {path}")
