"""Notebook parameters: typed specs, the presets ``smoke`` / ``cpu`` / ``full``, and validation.

Each notebook has a spec file ``presets/<notebook>.yml``::

    parameters:            # name -> type (int, float, str, bool, list[int], list[float], list[str]),
      seeds: {type: int, min: 1, max: 20, help: "..."}   # optional min/max (also per list item), choices
    presets:
      smoke: {seeds: 1, ...}   # every preset sets every parameter
      cpu:   {seeds: 3, ...}   # = the defaults in the notebook's `parameters` cell
      full:  {seeds: 5, ...}

A run resolves to: the preset's values, then every parameter given explicitly on top. Validation
happens before any compute and names the parameter at fault and the way to fix it.
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

PRESETS = ("smoke", "cpu", "full")
DEFAULT_PRESET = "cpu"
TYPES = {"int": int, "float": float, "str": str, "bool": bool}


class ParameterError(ValueError):
    """A parameter is unknown, of the wrong type, out of range, or names an unknown preset."""


@dataclass(frozen=True)
class Spec:
    notebook: str
    parameters: dict[str, dict]
    presets: dict[str, dict[str, Any]]

    def preset(self, name: str) -> dict[str, Any]:
        if name not in self.presets:
            raise ParameterError(f"{self.notebook}: unknown preset {name!r}; choose one of "
                                 f"{', '.join(self.presets)} (e.g. -p preset smoke)")
        return dict(self.presets[name])

    def describe(self) -> list[dict[str, Any]]:
        """One row per parameter: name, type, its value in each preset, help."""
        return [dict(name=name, type=p["type"], **{k: self.presets[k][name] for k in self.presets},
                     help=p.get("help", "")) for name, p in self.parameters.items()]


def notebooks() -> list[str]:
    """Names of the notebooks that have a parameter spec, in book order."""
    order = ["residual_expansion", "wide_attention", "batchnorm_only", "random_pruning", "zeroq"]
    found = [f.name[:-4] for f in resources.files("reprobook.presets").iterdir() if f.name.endswith(".yml")]
    return sorted(found, key=lambda n: (order.index(n) if n in order else len(order), n))


def load_spec(notebook: str) -> Spec:
    path = resources.files("reprobook.presets") / f"{notebook}.yml"
    if not path.is_file():
        raise ParameterError(f"unknown notebook {notebook!r}; known: {', '.join(notebooks())}")
    raw = yaml.safe_load(path.read_text())
    spec = Spec(notebook, raw["parameters"], raw["presets"])
    for preset, values in spec.presets.items():  # a broken spec file is a bug: say so plainly
        missing, extra = set(spec.parameters) - set(values), set(values) - set(spec.parameters)
        if missing or extra:
            raise ParameterError(f"{path}: preset {preset!r} is missing {sorted(missing)} / has unknown {sorted(extra)}")
        for name, value in values.items():
            check_value(spec, name, value)
    return spec


def check_value(spec: Spec, name: str, value: Any) -> Any:
    """Return ``value`` (ints widened to float where a float is expected) or raise ParameterError."""
    if name not in spec.parameters:
        close = difflib.get_close_matches(name, list(spec.parameters) + ["preset"], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ParameterError(f"{spec.notebook}: unknown parameter {name!r}{hint} "
                             f"Known parameters: preset, {', '.join(spec.parameters)}")
    p = spec.parameters[name]
    kind = p["type"]
    where = f"{spec.notebook}: parameter {name!r}"
    if kind.startswith("list["):
        if not isinstance(value, (list, tuple)) or not value:
            raise ParameterError(f"{where} must be a non-empty {kind}, got {value!r} ({type(value).__name__}); "
                                 f"e.g. -p {name} '[{_example(kind[5:-1], p)}]'")
        return [_check_scalar(f"{where}[{i}]", name, kind[5:-1], v, p) for i, v in enumerate(value)]
    return _check_scalar(where, name, kind, value, p)


def _check_scalar(where: str, name: str, kind: str, value: Any, p: dict) -> Any:
    expected = TYPES[kind]
    ok = isinstance(value, expected) and not (kind != "bool" and isinstance(value, bool))
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise ParameterError(f"{where} must be {kind}, got {value!r} ({type(value).__name__}); "
                             f"e.g. -p {name} {_example(kind, p)}")
    if "choices" in p and value not in p["choices"]:
        raise ParameterError(f"{where} must be one of {p['choices']}, got {value!r}")
    if "min" in p and value < p["min"]:
        raise ParameterError(f"{where} must be >= {p['min']}, got {value!r}")
    if "max" in p and value > p["max"]:
        raise ParameterError(f"{where} must be <= {p['max']}, got {value!r}")
    return value


def _example(kind: str, p: dict) -> str:
    if "choices" in p:
        return repr(p["choices"][0])
    return {"int": "3", "float": "0.1", "str": "'text'", "bool": "True"}[kind]


def resolve(notebook: str, preset: str = DEFAULT_PRESET, explicit: dict[str, Any] | None = None) -> dict[str, Any]:
    """The preset's values with ``explicit`` values on top, all validated; includes ``preset``."""
    spec = load_spec(notebook)
    if not isinstance(preset, str):
        raise ParameterError(f"{notebook}: parameter 'preset' must be a string, got {preset!r}")
    values = spec.preset(preset)
    for name, value in (explicit or {}).items():
        if name != "preset":
            values[name] = check_value(spec, name, value)
    return {"preset": preset, **values}


def injected_names(history: list[str]) -> set[str]:
    """Names assigned in papermill's injected-parameters cell, found in the kernel's input history
    (``In``); papermill starts that cell with the comment ``# Parameters``."""
    for source in reversed(history):
        if source.lstrip().startswith("# Parameters"):
            tree = ast.parse(source)
            return {t.id for node in tree.body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)}
    return set()


def from_namespace(notebook: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Resolve a notebook's parameters from its globals, after its ``parameters`` cell has run.

    A parameter counts as explicit when papermill injected it or when its value differs from the
    ``cpu`` preset (the notebook's defaults); every other parameter takes the chosen preset's value.
    Unknown injected names (a typo in ``-p``) raise.
    """
    spec = load_spec(notebook)
    cpu = spec.preset(DEFAULT_PRESET)
    injected = injected_names(namespace.get("In", []))
    for name in sorted(injected - set(spec.parameters) - {"preset"}):
        check_value(spec, name, None)  # raises "unknown parameter", with a suggestion
    explicit = {name: namespace[name] for name in spec.parameters
                if name in injected or namespace.get(name, cpu[name]) != cpu[name]}
    return resolve(notebook, namespace.get("preset", DEFAULT_PRESET), explicit)


def parse_cli_value(text: str) -> Any:
    """``-p name value`` on the command line: YAML scalars and lists (3, 0.1, true, [1, 2], abc)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text
