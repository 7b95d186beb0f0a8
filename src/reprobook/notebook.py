"""The first and the last code cell of every notebook.

``P = start(notebook, globals())`` validates the parameters, loads every dataset the run needs and says
where it runs, all before any compute; ``claim = declare(P)`` builds the claim from the criteria in
the notebook's ``preset.yml``; ``report = finish(claim, P, numbers, text)`` saves the results, glues the
numbers the prose quotes and returns the report; ``table(frame)`` shows the criteria and the report
whole.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any

import torch

from . import allocator, data, params, provenance
from .claims import Claim
from .stats import Estimate
from .units import count, measured_text, minus


def start(notebook: str, namespace: dict[str, Any]) -> params.Params:
    """Resolve and validate the parameters from the notebook's globals, make sure every dataset the
    spec's ``datasets:`` names can be loaded, and print the run's scale and hardware. Fails before any
    compute (``ParameterError``, ``MissingDataError``)."""
    resolved = params.from_namespace(notebook, namespace)
    allocator.keep_freed_memory()  # training steps stop faulting their pages back in
    if os.environ.get(
        "REPROBOOK_THREADS"
    ):  # e.g. 1 on an oversubscribed machine, where OpenMP spin-waits
        torch.set_num_threads(int(os.environ["REPROBOOK_THREADS"]))
    spec = params.load_spec(notebook)
    for name in spec.needed_datasets(resolved):
        data.load(
            name
        )  # raises MissingDataError naming every place looked at; warms the cache
    hw = provenance.hardware()
    where = (
        hw["gpu"]
        or f"{hw['cpu']} ({count(hw['cores'], 'core')}, "
        f"{count(hw['torch_threads'], 'torch thread')})"
    )
    print(
        f"{notebook}: preset {resolved['preset']!r} on {hw['device']} — {where}; torch {torch.__version__}"
    )
    preset = spec.preset(resolved["preset"])
    changed = {k: v for k, v in resolved.items() if k != "preset" and v != preset[k]}
    if changed:
        print(f"overrides of the {resolved['preset']!r} preset: {changed}")
    return resolved


def declare(P: params.Params, **context: Any) -> Claim:
    """The notebook's claim, its criteria read from ``preset.yml`` and filled in from ``P`` (and
    ``context``, for derived values such as the deepest net) — fixed before any experiment runs.

    The claim remembers the spec file's SHA-256 and every threshold that a parameter set away from
    its preset's value (``claim.preregistration``, written to the results file)."""
    notebook = _notebook_of(P)
    spec = params.load_spec(notebook)
    claim = Claim.from_spec(notebook, spec.raw["claim"], {**P, **context})
    preset = spec.preset(P.preset)
    overridden = sorted(
        {
            p
            for names in claim.threshold_parameters.values()
            for p in names
            if P[p] != preset[p]
        }
    )
    path = params.spec_path(notebook)
    claim.preregistration = {
        "spec": f"src/reprobook/papers/{notebook}/preset.yml",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "overridden_thresholds": {
            p: {"preset": preset[p], "run": P[p]} for p in overridden
        },
    }
    if overridden:
        print(
            f"note: thresholds set away from the {P.preset!r} preset: {', '.join(overridden)}"
        )
    return claim


def _notebook_of(P: params.Params) -> str:
    if not isinstance(P, params.Params):
        raise TypeError("pass the parameters that notebook.start() returned")
    return P.notebook


def slug(name: str) -> str:
    """A sub-claim's name as a glue key: ``"deep ≈ parallel"`` → ``"deep_vs_parallel"``."""
    text = name.replace("≈", " vs ").replace("≥", " ge ").replace("≤", " le ")
    return re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()


def formatted(value: Any, spec: str = ".3g") -> str:
    """How a glued number reads in the prose: Estimates as ``mean [low, high]``, floats to 3 digits,
    signs as the typographic minus (``units.minus``)."""
    if isinstance(value, Estimate) or isinstance(value, float):
        return minus(format(value, spec))
    return minus(str(value))


def in_units(value: Estimate | float, unit: str) -> str:
    """An accuracy (``"%"``) or a difference of accuracies (``"pp"``) as the prose quotes it, in the
    papers' units and as the verdict card shows it: ``93.4% [92.9, 94.0]``, ``+0.3 pp [−0.7, 1.3]``."""
    if not isinstance(value, Estimate):
        value = Estimate.point(float(value))
    text = measured_text(value.to_dict(), unit)
    return ("+" if unit == "pp" and value.mean > 0 else "") + text


def percent(value: Estimate | float) -> str:
    """An accuracy in percent: :func:`in_units` with ``"%"``."""
    return in_units(value, "%")


def points(value: Estimate | float) -> str:
    """A difference of accuracies in percentage points: :func:`in_units` with ``"pp"``."""
    return in_units(value, "pp")


def percent_table(frame, points=(), keep=()):
    """``frame`` as the page shows it: every accuracy (float or :class:`Estimate`) in percent, the
    columns named in ``points`` (differences of accuracies) in signed percentage points, those in
    ``keep`` (counts, seconds) and text unchanged, missing values as "–". For display only: compute
    from the numeric table."""
    import numbers

    import pandas as pd

    def cell(value, unit):
        if isinstance(value, Estimate) or (
            isinstance(value, numbers.Real) and not isinstance(value, bool)
        ):
            return (
                "–" if pd.isna(getattr(value, "mean", value)) else in_units(value, unit)
            )
        return value

    return frame.apply(
        lambda column: (
            column
            if column.name in keep
            else column.map(lambda v: cell(v, "pp" if column.name in points else "%"))
        )
    )


def signed_table(frame, digits: int = 2):
    """``frame`` as the page shows it: every float to ``digits`` decimals with the typographic minus
    (``−0.48``, as the prose and the card write it; pandas would print ``-0.48``), other cells
    unchanged. For display only: compute from the numeric table."""
    import numbers

    def cell(value):
        if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
            return formatted(value, f".{digits}f")
        return value

    return frame.apply(lambda column: column.map(cell))


class WholeTable:
    """A table shown whole, for rows that carry text (the criteria, the report): no row numbers and
    no cell cut short (pandas cuts cells at 50 characters, which hid the end of a criterion). The HTML
    carries the class ``rb-table`` (left-aligned text, book/_static/reprobook.css)."""

    # characters from which a cell gets a wider column: a few words (a criterion's name), a sentence
    WIDTHS = ((60, "rb-long"), (24, "rb-words"))

    def __init__(self, frame):
        self.frame = frame

    def _repr_html_(self) -> str:
        import html

        def cell(value) -> str:
            text = html.escape(str(value), quote=False)
            wide = next((c for n, c in self.WIDTHS if len(text) > n), None)
            return f'<span class="{wide}">{text}</span>' if wide else text

        cells = self.frame.astype(object).map(cell)
        return cells.to_html(
            index=False, border=0, classes="rb-table", justify="left", escape=False
        )

    def __repr__(self) -> str:
        return self.frame.to_string(index=False)


def table(frame) -> WholeTable:
    """``frame`` shown whole (:class:`WholeTable`): ``notebook.table(claim.declare())``."""
    return WholeTable(frame)


def finish(
    claim: Claim,
    P: params.Params,
    numbers: dict[str, Any] | None = None,
    text: dict[str, Any] | None = None,
):
    """Save the results file, glue ``preset``, ``verdict``, ``minutes``, ``verdict_<slug>`` for every
    sub-claim and every entry of ``text`` (formatted by :func:`formatted`), print a one-line summary,
    and return the report. ``numbers`` holds what no criterion already records."""
    path = claim.save(dict(P), numbers or {})
    minutes = claim.elapsed() / 60
    glued = {
        "preset": P.preset,
        "verdict": claim.verdict(),
        "minutes": f"{minutes:.1f}",
        **{f"verdict_{slug(k)}": v for k, v in claim.subclaim_verdicts().items()},
        **{k: formatted(v) for k, v in (text or {}).items()},
    }
    for key, value in glued.items():
        glue(key, value)
    print(
        f"{claim.notebook} at preset {P.preset!r}: {claim.verdict()} in {minutes:.1f} min "
        f"(results: {path.name})"
    )
    return claim.report()


def glue(name: str, value: Any, display: bool = False) -> Any:
    """``myst_nb.glue`` where myst-nb is installed (the book), a no-op elsewhere (e.g. Colab)."""
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return value
    myst_glue(name, value, display=display)
    return value
