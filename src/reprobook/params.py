"""Notebook parameters: typed specs, the presets ``smoke`` / ``cpu`` / ``full``, and validation.

Each notebook has a spec file ``papers/<notebook>/preset.yml``::

    parameters:            # name -> type (int, float, str, bool, list[int], list[float], list[str]),
      seeds: {type: int, min: 1, max: 20, help: "..."}   # optional min/max (also per list item), choices
      depths: {type: "list[int]", form: 6n+2, distinct: 2}   # CIFAR ResNet depths; >= 2 distinct values
      regimes: {type: "list[str]", includes: [all, bn]}      # values the list must contain
      settings: {type: "list[str]", pattern: "W[0-9]+A[0-9]+"}
    datasets: [train_dataset, {name: cifar10, when: {tasks: image}}]   # loaded before any compute
    presets:
      smoke: {seeds: 1, ...}   # every preset sets every parameter
      cpu:   {seeds: 3, ...}   # = the defaults in the notebook's `parameters` cell
      full:  {seeds: 5, ...}

A run resolves to: the preset's values, then every parameter given explicitly on top, then the rules
that tie parameters together (``check_parameters`` in the paper's package). Validation happens before
any compute and names the parameter at fault and the way to fix it.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import math
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

PRESETS = ("smoke", "cpu", "gpu", "full")
CALLER = "papermill"  # "cli" under `reprobook`: hints then name its flags (--preset) instead of -p
DEFAULT_PRESET = "cpu"
TYPES = {"int": int, "float": float, "str": str, "bool": bool}


class ParameterError(ValueError):
    """A parameter is unknown, of the wrong type, out of range, or names an unknown preset."""


class Params(dict):
    """A run's resolved parameters: a read-only mapping that also reads as attributes (``P.seeds``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no parameter {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            "parameters are fixed once resolved; pass them with -p NAME VALUE"
        )

    def __setitem__(self, name: str, value: Any) -> None:
        self.__setattr__(name, value)

    def __delitem__(self, name: str) -> None:
        self.__setattr__(name, None)

    @classmethod
    def of(cls, notebook: str, values: dict[str, Any]) -> Params:
        """``values`` as the parameters of ``notebook`` (``P.notebook`` names it; it is not a parameter)."""
        made = cls(values)
        object.__setattr__(made, "notebook", notebook)
        return made


@dataclass(frozen=True)
class Spec:
    notebook: str
    parameters: dict[str, dict]
    presets: dict[str, dict[str, Any]]
    datasets: list = field(default_factory=list)
    raw: dict = field(
        default_factory=dict, repr=False
    )  # the whole file (criteria, declarations)

    def tests(self, subclaim: str, preset: str) -> bool:
        """Whether ``preset`` tests the sub-claim named ``subclaim`` (its ``not_tested:`` gives no
        reason for that preset), as the claim will say when it is declared."""
        [entry] = [s for s in self.raw["claim"]["subclaims"] if s["name"] == subclaim]
        return not (entry.get("not_tested") or {}).get(preset)

    def needed_datasets(self, values: dict[str, Any]) -> list[str]:
        """The datasets a run with ``values`` loads: ``datasets:`` entries are parameter names (their
        value or values), dataset names, or ``{name: ..., when: {parameter: value}}``."""
        needed = []
        for entry in self.datasets:
            if isinstance(entry, dict):
                if all(_holds(values[k], v) for k, v in entry.get("when", {}).items()):
                    needed.append(entry["name"])
            elif entry in self.parameters:
                value = values[entry]
                needed += value if isinstance(value, list) else [value]
            else:
                needed.append(entry)
        return sorted(set(needed))

    def preset(self, name: str) -> dict[str, Any]:
        if name not in self.presets:
            raise ParameterError(
                f"{self.notebook}: unknown preset {name!r}; choose one of "
                f"{', '.join(self.presets)} (e.g. {preset_flag()} smoke)"
            )
        return dict(self.presets[name])

    def describe(self) -> list[dict[str, Any]]:
        """One row per parameter: name, type, its value in each preset, help."""
        return [
            dict(
                name=name,
                type=p["type"],
                **{k: self.presets[k][name] for k in self.presets},
                help=p.get("help", ""),
            )
            for name, p in self.parameters.items()
        ]


def preset_flag() -> str:
    return "--preset" if CALLER == "cli" else "-p preset"


def _holds(value: Any, wanted: Any) -> bool:
    return wanted in value if isinstance(value, list) else value == wanted


def book_order() -> list[str]:
    """Notebook names in the order of the checkout's ``_toc.yml`` (empty outside a checkout)."""
    from .provenance import repo_root

    root = repo_root()
    toc = root / "_toc.yml" if root else None
    if not toc or not toc.is_file():
        return []
    files = re.findall(r"file:\s*notebooks/(\w+)", toc.read_text())
    return list(dict.fromkeys(files))


def notebooks() -> list[str]:
    """Names of the notebooks that have a parameter spec, in book order (``_toc.yml``)."""
    papers = resources.files("reprobook.papers")
    found = [d.name for d in papers.iterdir() if (d / "preset.yml").is_file()]
    order = book_order()
    return sorted(
        found, key=lambda n: (order.index(n) if n in order else len(order), n)
    )


def spec_path(notebook: str) -> Path:
    return Path(str(resources.files("reprobook.papers") / notebook / "preset.yml"))


def load_spec(notebook: str) -> Spec:
    path = spec_path(notebook)
    if (
        not isinstance(notebook, str)
        or not notebook.isidentifier()
        or not path.is_file()
    ):
        raise ParameterError(
            f"unknown notebook {notebook!r}; known: {', '.join(notebooks())}"
        )
    raw = yaml.safe_load(path.read_text())
    spec = Spec(
        notebook, raw["parameters"], raw["presets"], raw.get("datasets", []), raw
    )
    for (
        preset,
        values,
    ) in spec.presets.items():  # a broken spec file is a bug: say so plainly
        missing, extra = (
            set(spec.parameters) - set(values),
            set(values) - set(spec.parameters),
        )
        if missing or extra:
            raise ParameterError(
                f"{path}: preset {preset!r} is missing {sorted(missing)} / has unknown {sorted(extra)}"
            )
        for name, value in values.items():
            check_value(spec, name, value)
    return spec


def check_value(spec: Spec, name: str, value: Any) -> Any:
    """Return ``value`` (ints widened to float where a float is expected) or raise ParameterError."""
    if name not in spec.parameters:
        close = difflib.get_close_matches(name, list(spec.parameters) + ["preset"], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "."
        raise ParameterError(
            f"{spec.notebook}: unknown parameter {name!r}{hint} "
            f"Known parameters: preset, {', '.join(spec.parameters)}"
        )
    p = spec.parameters[name]
    kind = p["type"]
    where = f"{spec.notebook}: parameter {name!r}"

    def example() -> str:  # built only for an error message
        return f"e.g. -p {name} {_cli_example(spec, name)}"

    if kind.startswith("list["):
        if not isinstance(value, (list, tuple)) or not value:
            raise ParameterError(
                f"{where} must be a non-empty {kind}, got {value!r} ({type(value).__name__}); "
                f"{example()}"
            )
        items = [
            _check_scalar(f"{where}[{i}]", kind[5:-1], v, p, example)
            for i, v in enumerate(value)
        ]
        if len(set(items)) < p.get("distinct", 1):
            raise ParameterError(
                f"{where} needs at least {p['distinct']} different values to compare, "
                f"got {value!r}; {example()}"
            )
        missing = [v for v in p.get("includes", []) if v not in items]
        if missing:
            raise ParameterError(
                f"{where} must include {p['includes']} (the claims compare them); "
                f"missing {missing}"
            )
        return items
    return _check_scalar(where, kind, value, p, example)


def _check_scalar(
    where: str, kind: str, value: Any, p: dict, example: Callable[[], str]
) -> Any:
    expected = TYPES[kind]
    ok = isinstance(value, expected) and not (
        kind != "bool" and isinstance(value, bool)
    )
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise ParameterError(
            f"{where} must be {kind}, got {value!r} ({type(value).__name__}); {example()}"
        )
    if kind == "float" and not math.isfinite(value):  # NaN passes every min and max
        raise ParameterError(
            f"{where} must be a finite number, got {value!r}; {example()}"
        )
    if "choices" in p and value not in p["choices"]:
        raise ParameterError(f"{where} must be one of {p['choices']}, got {value!r}")
    if "min" in p and value < p["min"]:
        raise ParameterError(f"{where} must be >= {p['min']}, got {value!r}")
    if "max" in p and value > p["max"]:
        raise ParameterError(f"{where} must be <= {p['max']}, got {value!r}")
    if "form" in p and not _has_form(value, p["form"]):
        raise ParameterError(
            f"{where} must be of the form {p['form']}, got {value!r}; "
            f"e.g. {', '.join(str(v) for v in _form_examples(p['form']))}"
        )
    if "pattern" in p and not re.fullmatch(p["pattern"], value):
        raise ParameterError(
            f"{where} must match {p['pattern']!r}, got {value!r}; {example()}"
        )
    return value


def _form(form: str) -> tuple[int, int]:
    """``"6n+2"`` -> (6, 2): the values a·n + b for n >= 1."""
    match = re.fullmatch(r"(\d+)n(?:\+(\d+))?", form.replace(" ", ""))
    if not match:
        raise ValueError(f"a form is written like 6n+2 or 3n, got {form!r}")
    return int(match[1]), int(match[2] or 0)


def _has_form(value: int, form: str) -> bool:
    a, b = _form(form)
    return value >= a + b and (value - b) % a == 0


def _form_examples(form: str) -> list[int]:
    a, b = _form(form)
    return [a * n + b for n in (1, 2, 3, 5)]


def _cli_example(spec: Spec, name: str) -> str:
    """A value of parameter ``name`` that passes every rule, as ``-p`` reads it: the default
    preset's (``3``, ``W4A4``, ``'[W8A8, W4A4]'``)."""
    presets = [spec.presets[DEFAULT_PRESET]] if DEFAULT_PRESET in spec.presets else []
    presets += list(spec.presets.values())
    if presets:
        value = presets[0][name]
    else:  # a spec without presets (tests): a value of the right type
        p = spec.parameters[name]
        item = (
            p["choices"][0]
            if "choices" in p
            else {"int": 3, "float": 0.1}.get(
                p["type"].removeprefix("list[").removesuffix("]"), "text"
            )
        )
        value = [item] if p["type"].startswith("list[") else item
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000)
    return shlex.quote(text.strip().removesuffix("...").strip())


def resolve(
    notebook: str, preset: str = DEFAULT_PRESET, explicit: dict[str, Any] | None = None
) -> Params:
    """The preset's values with ``explicit`` values on top, all validated; includes ``preset``."""
    spec = load_spec(notebook)
    if not isinstance(preset, str):
        raise ParameterError(
            f"{notebook}: parameter 'preset' must be a string, got {preset!r}"
        )
    values = spec.preset(preset)
    for name, value in (explicit or {}).items():
        if name != "preset":
            values[name] = check_value(spec, name, value)
    resolved = Params.of(notebook, {"preset": preset, **values})
    check_together(resolved)
    return resolved


def check_together(P: Params) -> None:
    """The rules that tie a notebook's parameters to each other (e.g. depths and widths pair up), which
    no single parameter's type can state: ``check_parameters(P)`` of the notebook's paper package,
    where it has one. Raises ``ParameterError``, before any compute."""
    papers = importlib.import_module(f"reprobook.papers.{P.notebook}")
    check = getattr(papers, "check_parameters", None)
    if check is not None:
        check(P)


def injected_names(history: list[str]) -> set[str]:
    """Names assigned in papermill's injected-parameters cell, found in the kernel's input history
    (``In``); papermill starts that cell with the comment ``# Parameters``."""
    for source in reversed(history):
        if source.lstrip().startswith("# Parameters"):
            tree = ast.parse(source)
            return {
                t.id
                for node in tree.body
                if isinstance(node, ast.Assign)
                for t in node.targets
                if isinstance(t, ast.Name)
            }
    return set()


def from_namespace(notebook: str, namespace: dict[str, Any]) -> Params:
    """Resolve a notebook's parameters from its globals, after its ``parameters`` cell has run.

    A parameter counts as explicit when papermill injected it or when it is not ``None`` (the
    ``parameters`` cell sets every parameter to ``None``: a value typed there by hand is used exactly as
    typed); every other parameter takes the chosen preset's value. Unknown injected names (a typo in
    ``-p``) raise.
    """
    spec = load_spec(notebook)
    injected = injected_names(namespace.get("In", []))
    for name in sorted(injected - set(spec.parameters) - {"preset"}):
        check_value(spec, name, None)  # raises "unknown parameter", with a suggestion
    explicit = {
        name: _from_papermill(spec, name, namespace[name])
        for name in spec.parameters
        if name in injected or namespace.get(name) is not None
    }
    return resolve(notebook, namespace.get("preset", DEFAULT_PRESET), explicit)


def _from_papermill(spec: Spec, name: str, value: Any) -> Any:
    """papermill's ``-p NAME VALUE`` passes a list as its text (``'[8, 32]'``): read it as YAML."""
    if spec.parameters[name]["type"].startswith("list[") and isinstance(value, str):
        return parse_cli_value(value)
    return value


def parse_cli_value(text: str) -> Any:
    """``-p name value`` on the command line: YAML scalars and lists (3, 0.1, true, [1, 2], abc)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text
