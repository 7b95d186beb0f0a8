"""How a measured quantity reads on a page: in the papers' units, one rule for the card, the criteria
table and the prose. Accuracies and relative differences ((b − a)/a) read in percent, differences
of accuracies in percentage points, slopes of accuracies against log2(size) in points per
doubling, ratios as ×, wall times in s; anything else as measured.
The unit follows from a criterion's name and description (its words), so a preset file needs no unit
field and a criterion cannot be shown in one unit on the card and another in its table."""

from __future__ import annotations

import re

PER_DOUBLING = "pp per doubling"
RELATIVE = "relative %"  # (b − a)/a: shown in percent like an accuracy, but not a share in [0, 1]
SCALED = ("%", "pp", PER_DOUBLING, RELATIVE)  # stored as fractions, shown ×100
# a hyphen that is a number's sign: not in a word, a date, a range, an exponent or an option's value
SIGN = re.compile(r"(?<![\w.)\]=])-(?=\.?\d|inf)")


def minus(text: str) -> str:
    """Numbers' signs as the typographic minus the prose writes: ``"-0.3 [-0.7, 0.1]"`` →
    ``"−0.3 [−0.7, 0.1]"``; ``"ResNet-20"``, ``"1e-05"``, ``"2026-12-02"`` and ``"lr=-1"`` stay."""
    return SIGN.sub("−", text)


def unit_of(name: str, description: str = "") -> str:
    """``"%"`` (an accuracy, a share in [0, 1]), ``RELATIVE`` (a criterion named "relative ...
    difference"), ``"pp"``, ``PER_DOUBLING``, ``"×"`` (a criterion named "a / b", not "a / b − 1"),
    ``"s"`` (named "... seconds") or ``""``."""
    text = f"{name} {description}".lower()
    words = set(re.findall(r"[\w−]+", text))
    if " / " in name:
        return "" if "−" in name else "×"
    if "seconds" in name.lower().split():
        return "s"
    # (b − a)/a, a relative change: in percent, as the prose writes it
    if name.lower().startswith("relative") and "difference" in words:
        return RELATIVE
    accuracy = "accuracy" in words or "gap" in words
    if accuracy and ("slope" in words or "per doubling" in text):
        return PER_DOUBLING
    if "accuracy" not in words or "ratio" in words:
        return ""
    return "pp" if ("−" in name or "gap" in words or "difference" in words) else "%"


def _digits(unit: str) -> str:
    return {"%": ".1f", RELATIVE: ".1f", "pp": ".1f", PER_DOUBLING: ".2f"}.get(
        unit, ".3g"
    )


def _suffix(unit: str) -> str:
    if unit == RELATIVE:
        return "%"
    return f" {unit}" if unit in ("pp", PER_DOUBLING, "s") else unit


def measured_text(m: dict | None, unit: str = "") -> str:
    """``mean [low, high]`` of a measurement (a dict with those keys) in ``unit``; "–" for none."""
    if not m:
        return "–"
    scale = 100 if unit in SCALED else 1
    mean, low, high = (
        m[k] * scale if abs(m[k]) != float("inf") else m[k]
        for k in ("mean", "low", "high")
    )
    digits, suffix = _digits(unit), _suffix(unit)
    if low == high:
        return minus(f"{mean:{digits}}{suffix}")
    return minus(f"{mean:{digits}}{suffix} [{low:{digits}}, {high:{digits}}]")


def threshold_text(threshold: float, unit: str = "") -> str:
    """A threshold in ``unit`` with as many digits as it was written with: 0.9 → ``90%``,
    0.015 → ``1.5 pp``, 30 → ``30``."""
    value = threshold * 100 if unit in SCALED else threshold
    return minus(f"{round(value, 10):g}{_suffix(unit)}")


COMPARISON_SYMBOLS = {"<=": "≤", ">=": "≥", "<": "<", ">": ">"}


def requirement_text(comparison: str, threshold: float, unit: str = "") -> str:
    """What a criterion requires, in its unit: ``("within", 0.02, "pp")`` → "within ±2 pp",
    ``(">=", 0.45, "%")`` → "≥ 45%"."""
    limit = threshold_text(threshold, unit)
    if comparison == "within":
        return f"within ±{limit}"
    return f"{COMPARISON_SYMBOLS[comparison]} {limit}"


NO_BREAK = "\u00a0"


def count(n: float | str, noun: str, plural: str | None = None) -> str:
    """``n`` with its noun in the right number: "1 epoch", "3 epochs", "2.5 epochs", and for a
    word such as "all", "all CPU threads"."""
    many = plural or f"{noun}s"
    if isinstance(n, str):
        return f"{n} {many}"
    return f"{n:g} {noun if n == 1 else many}"


def passed_text(n: int) -> str:
    """How ``n`` passed checks read: "1 passed", "all 3 passed"."""
    return f"all {n} passed" if n > 1 else "1 passed"


def unbroken(text: str) -> str:
    """``text`` with no-break spaces, so that a short phrase ("≥ 45%", "within ±1 pp") never wraps
    between a symbol and its number in a narrow table cell."""
    return text.replace(" ", NO_BREAK)
