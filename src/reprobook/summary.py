"""Render the "Claims summary" page of the book from the notebooks' results files.

Each executed notebook writes ``<build_dir>/results/<name>.json`` (claim, verdicts, criteria,
provenance). :func:`load_results` reads them and :func:`render_summary` turns them into a MyST
markdown page with an overall table and one section per notebook.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from . import params
from .units import count, measured_text, requirement_text, unbroken, unit_of

NO_RESULTS = """\
No results yet: no `results/*.json` files were found in the build directory.
Run the notebooks first, for example `reprobook run all --preset cpu` followed by
`reprobook book`, or simply `make book`.
"""


def load_results(results_dir: Path | str) -> list[dict]:
    """Read every ``*.json`` file in ``results_dir``, in book order (``_toc.yml``), others after by name.

    A missing directory yields an empty list. A file that is not valid JSON, or whose top level
    is not an object, raises :class:`ValueError` naming the file.
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return []
    results = []
    for path in sorted(results_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"malformed results file {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError(f"malformed results file {path}: expected a JSON object")
        data.setdefault(
            "notebook", path.name.removesuffix(".json").removesuffix(".failed")
        )
        results.append(data)
    order = params.book_order()
    return sorted(
        results,
        key=lambda r: (
            order.index(r["notebook"]) if r["notebook"] in order else len(order),
            str(r["notebook"]),
        ),
    )


def load_records(records_dir: Path | str) -> dict[str, list[dict]]:
    """The results of record, by preset in the order of :data:`params.PRESETS`: committed runs that
    matter (e.g. on a GPU). ``records/<preset>/`` is a build folder — ``notebooks/`` and
    ``results/`` — as ``reprobook run all --preset gpu --build records/gpu`` writes it."""
    records_dir = Path(records_dir)
    if not records_dir.is_dir():
        return {}
    found = {
        p.name: load_results(p / "results")
        for p in sorted(records_dir.iterdir())
        if p.is_dir()
    }
    order = [p for p in params.PRESETS if p in found] + sorted(
        p for p in found if p not in params.PRESETS
    )
    return {p: found[p] for p in order if found[p]}


# --- formatting helpers ---------------------------------------------------------------------


def format_number(x: Any) -> str:
    """Three significant digits; scientific notation for tiny or huge magnitudes."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x) if abs(x) < 100_000 else format_number(float(x))
    if not isinstance(x, float):
        return str(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e5:
        return f"{x:.3g}"
    mantissa, exponent = f"{x:.2e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _cell(value: Any) -> str:
    """Make ``value`` safe for a markdown table cell."""
    text = value if isinstance(value, str) else format_number(value)
    # ASCII whitespace only: a no-break space (units.unbroken) must stay
    return re.sub(r"[ \t\r\n]+", " ", text).strip().replace("|", "\\|") or "–"


def _criterion(c: dict) -> str:
    """A criterion's name, as its card names it, and what it measures: "λ=1/L test accuracy: trains"."""
    name, description = c.get("name") or "", c.get("description") or ""
    if name and description and description != name:
        return f"{name}: {description}"
    return name or description or "–"


def _status(c: dict) -> str:
    """A criterion's status with what it required, in the card's units: "met (≥ 45%)"."""
    status = c.get("status") or "–"
    if c.get("comparison") is None or c.get("threshold") is None:
        return status
    unit = unit_of(c.get("name", ""), c.get("description", ""))
    return f"{status} ({unbroken(requirement_text(c['comparison'], c['threshold'], unit))})"


def _measured(c: dict) -> str:
    """A criterion's measurement as its card shows it (:mod:`reprobook.units`), with ``(n=…)``."""
    m = c.get("measured")
    if not isinstance(m, dict):
        return format_number(m)
    text = measured_text(m, unit_of(c.get("name", ""), c.get("description", "")))
    return text + (f" (n={m['n']})" if m.get("n") is not None else "")


SYMBOL = {
    "reproduced": "✓",
    "partially reproduced": "◐",
    "not reproduced": "✗",
    "inconclusive": "?",
    "not tested": "–",
    "failed": "!",
}
CSS = {
    "reproduced": "rb-yes",
    "partially reproduced": "rb-part",
    "not reproduced": "rb-no",
    "inconclusive": "rb-unsure",
    "not tested": "rb-untested",
    "failed": "rb-no",
}


def overridden_text(r: dict) -> str:
    """The thresholds a run set away from its preset's pre-registered values (``-p real_margin
    0.05``): "real_margin 0.02 → 0.05"; "" where every threshold is the preset's."""
    changes = (r.get("preregistration") or {}).get("overridden_thresholds") or {}
    return ", ".join(f"{k} {v['preset']} → {v['run']}" for k, v in changes.items())


def criteria_changed(r: dict) -> bool:
    """Whether the claim's preset file (its criteria) differs from the one this run declared: the
    SHA-256 it recorded against the file as it is now. False where the run recorded none."""
    recorded = (r.get("preregistration") or {}).get("sha256")
    try:
        now = hashlib.sha256(params.spec_path(r["notebook"]).read_bytes()).hexdigest()
    except (OSError, KeyError):
        return False
    return bool(recorded) and recorded != now


def criteria_changed_text(r: dict) -> str:
    """A sentence for a run whose criteria file has changed since, naming the run's commit; ""."""
    if not criteria_changed(r):
        return ""
    commit = str((r.get("provenance") or {}).get("git_commit") or "")[:7]
    at = f" at commit {commit}" if commit else ""
    return (
        f"The preset file that declares this claim's criteria has changed since this run: the run "
        f"was judged against the file{at}, not the one in this book."
    )


def scale_text(preset: str) -> str:
    """What a run at ``preset`` can say about the claim, in markdown (the preset in backticks): a
    `smoke` run only that the notebook runs, a `cpu` or `gpu` run directions at reduced scale; ""
    for `full` (the protocol)."""
    if preset == "smoke":
        return (
            "A `smoke` run is a plumbing check (tiny models, a few steps, seconds): its verdict "
            "shows that the notebook runs end to end, not whether the claim holds."
        )
    if preset == "full":
        return ""
    return (
        f"A `{preset}` run tests the claim at reduced scale: compare directions and orderings "
        "with the paper, not absolute numbers."
    )


def scope_text(r: dict) -> str:
    """How much of the claim a verdict covers where the preset left sub-claims untested: "3 of 5
    sub-claims tested at this preset"; "" where all or none were tested (none: the verdict is
    inconclusive and says so)."""
    tested, total = tested_subclaims(r)
    return (
        f"{tested} of {total} sub-claims tested at this preset"
        if tested < total
        else ""
    )


def tested_subclaims(r: dict) -> tuple[int, int]:
    """(sub-claims tested, all sub-claims); where none were tested, (0, 0): the verdict is inconclusive
    and says why."""
    subs = r.get("subclaims") or []
    tested = sum(1 for s in subs if s.get("verdict") != "not tested")
    return (tested, len(subs)) if tested else (0, 0)


def status_grid(
    results: list[dict], notebook_docs: Collection[str] = (), link_prefix: str = ""
) -> str:
    """An HTML grid, one row per claim in book order: the claim's verdict, then every sub-claim as a
    coloured cell (✓ reproduced, ◐ partially, ✗ not reproduced, ? inconclusive, – not tested), the
    checks, and the preset; below it the tallies over every sub-claim."""
    rows, tally = [], {v: 0 for v in SYMBOL if v != "failed"}
    statuses = {"met": 0, "not met": 0, "uncertain": 0, "not tested": 0}
    for r in results:
        name = str(r["notebook"])
        title = _cell(r.get("title") or name)
        link = (
            f'<a href="{link_prefix}notebooks/{name}.html">{title}</a>'
            if name in notebook_docs
            else title
        )
        if r.get("failed"):
            rows.append(
                f'<tr><th>{link}</th><td class="rb-no">! failed</td><td colspan="2">'
                f"{_cell(r.get('error', ''))}</td></tr>"
            )
            continue
        cells = []
        for sub in r.get("subclaims", []):
            v = sub["verdict"]
            tally[v] = tally.get(v, 0) + 1
            for c in sub.get("criteria") or []:
                statuses[c["status"]] = statuses.get(c["status"], 0) + 1
            cells.append(
                f'<span class="rb-chip {CSS.get(v, "")}" title="{_cell(v)}">'
                f"{SYMBOL.get(v, '')} {_cell(sub['name'])}</span>"
            )
        checks = r.get("checks") or []
        failed = [c["name"] for c in checks if c["status"] != "met"]
        check_text = (
            "–"
            if not checks
            else f"✗ {len(failed)} failed"
            if failed
            else f"✓ {len(checks)}"
        )
        v = r.get("verdict", "")
        tested, total = tested_subclaims(r)
        scope = (
            f'<br><small class="rb-scope">{tested} of {total} tested</small>'
            if tested < total
            else ""
        )
        rows.append(
            f'<tr><th>{link}</th><td class="{CSS.get(v, "")}">{SYMBOL.get(v, "")} {_cell(v)}{scope}</td>'
            f"<td>{' '.join(cells)}</td><td>{check_text}</td><td><code>{_cell(r.get('preset', '?'))}</code></td></tr>"
        )
    counts = ", ".join(f"{SYMBOL[v]} {v}: {n}" for v, n in tally.items() if n)
    criteria = ", ".join(f"{v}: {n}" for v, n in statuses.items())
    return "\n".join(
        [
            '<table class="rb-grid"><thead><tr><th>claim</th><th>verdict</th><th>sub-claims</th>'
            "<th>checks</th><th>preset</th></tr></thead><tbody>",
            *rows,
            "</tbody></table>",
            f'<p class="rb-tally">Sub-claims over the whole book — {counts}. Their criteria'
            f" (not the checks and gates) — {criteria}.</p>",
        ]
    )


def _parameters(r: dict) -> str:
    """Only the parameters set away from the run's preset (the preset file holds the rest)."""
    try:
        preset = params.load_spec(r["notebook"]).preset(r.get("preset", "cpu"))
    except params.ParameterError:
        return "–"
    changed = {
        k: v
        for k, v in r.get("parameters", {}).items()
        if k != "preset" and preset.get(k, v) != v
    }
    if not changed:
        return f"the `{r.get('preset')}` preset, unchanged"
    return f"the `{r.get('preset')}` preset with " + ", ".join(
        f"`{k}={v}`" for k, v in changed.items()
    )


def _badge(verdict: Any) -> str:
    return f"**{verdict}**" if verdict else "**no verdict**"


def _hardware(prov: dict) -> str:
    hw = prov["hardware"]
    if not isinstance(hw, dict):
        return str(hw)
    parts = [hw.get("gpu") or hw.get("cpu") or hw.get("device") or "unknown"]
    if not hw.get("gpu") and hw.get("cpu_capability"):  # e.g. 'AMD EPYC (AVX2)'
        parts[0] += f" ({hw['cpu_capability']})"
    if hw.get("cores"):
        parts.append(count(hw["cores"], "core"))
    if hw.get("memory_gb"):
        parts.append(f"{format_number(hw['memory_gb'])} GB RAM")
    return ", ".join(str(p) for p in parts)


DATASET_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}


def lossy_data_text(prov: dict) -> str:
    """A sentence naming the datasets a run read from lossy files (``data.ImageData.encoding``), or
    ``""``: the paper's numbers are on the original pixels, ours on a re-encoded copy."""
    lossy = {
        DATASET_NAMES.get(name, name): where["encoding"]
        for name, where in (prov.get("datasets") or {}).items()
        if where.get("encoding")
    }
    if not lossy:
        return ""
    read = " and ".join(f"{name} from {enc} files" for name, enc in lossy.items())
    return (
        f"This run read {read}: a lossy copy whose pixels differ from the original dataset's, "
        "on which the paper measured."
    )


def _data(prov: dict) -> str:
    parts = []
    for name, where in (prov.get("datasets") or {}).items():
        lossy = f" from {where['encoding']} files (lossy: not the original pixels)"
        parts.append(
            DATASET_NAMES.get(name, name) + (lossy if where.get("encoding") else "")
        )
    return "; ".join(parts) or "–"


def _duration(seconds: Any) -> str:
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def shared_text(prov: dict) -> str:
    """``"beside up to 4 other runs"`` where the run shared its machine (``runs_alongside`` in the
    provenance: ``.ci/gpu/run --jobs``), else ``""``; every place that shows a run time adds it."""
    n = prov.get("runs_alongside")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        return ""
    return f"beside up to {n} other run{'s' if n > 1 else ''}"


def _run_time(prov: dict) -> str:
    shared = shared_text(prov)
    return _duration(prov.get("wall_time_s")) + (f" ({shared})" if shared else "")


def _commit(prov: dict) -> str:
    commit = prov.get("git_commit")
    if not commit:
        return "–"
    return f"`{str(commit)[:10]}`" + (" (dirty)" if prov.get("git_dirty") else "")


def _label(result: dict) -> str:
    return "summary-" + str(result["notebook"]).replace("_", "-").lower()


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _runs_table(
    header: list[str], rows: list[list[str]], hardware: list[str]
) -> list[str]:
    """:func:`_table` of runs whose ``"hardware"`` column holds ``hardware`` (one per row). Where
    two runs or more all ran on one kind of machine, the column goes and one sentence under the
    table names it: five copies of a CPU's name squeezed the table into six-line rows."""
    if len(rows) < 2 or len(set(hardware)) != 1:
        return _table(header, rows)
    drop = header.index("hardware")
    keep = [i for i in range(len(header)) if i != drop]
    table = _table([header[i] for i in keep], [[row[i] for i in keep] for row in rows])
    return table + ["", f"Every run above ran on {hardware[0]}."]


# --- the page -------------------------------------------------------------------------------


def render_summary(
    results: list[dict],
    *,
    bib_keys: Collection[str] | None = None,
    notebook_docs: Collection[str] = (),
    records: dict[str, list[dict]] | None = None,
) -> str:
    """Return the MyST markdown of the "Claims summary" page.

    ``records``: the results of record by preset (:func:`load_records`), each preset's status grid
    and table shown after this build's, labelled by scale and hardware.

    ``bib_keys``: the citation keys known to the book; a result's ``paper`` is cited with
    ``{cite}`` only if it is one of them (``None``: always cite). ``notebook_docs``: names of
    notebooks that are pages of the book, which the summary then links to.
    """
    lines = ["# Claims summary", ""]
    if not results:
        return "\n".join(lines) + "\n" + NO_RESULTS

    presets = sorted({str(r.get("preset")) for r in results})
    lines += [
        "Generated from the results files of the runs this book was built from, in book order.",
        "Only runs with preset `full` follow the paper's protocol; numbers from `smoke`, `cpu` or",
        "`gpu` runs test the claim at a reduced scale and are not directly comparable with the",
        "paper's.",
        "",
        "```{raw} html",
        status_grid(results, notebook_docs, link_prefix="../"),
        "```",
        "",
    ]
    if len(presets) > 1:
        lines += [
            f"**Mixed presets:** these results come from runs at {', '.join(presets)}.",
            "",
        ]
    if "smoke" in presets:
        lines += [f"**Plumbing checks:** {scale_text('smoke')}", ""]
    for r in results:
        if overridden := overridden_text(r):
            lines += [
                f"**Thresholds overridden in {r['notebook']}:** {overridden} "
                "(not the pre-registered values).",
                "",
            ]
        if changed := criteria_changed_text(r):
            lines += [f"**{r['notebook']}:** {changed}", ""]
    rows, hardware = [], []
    for r in results:
        if r.get("failed"):
            hardware.append("")  # the column shows the error: never one shared machine
            rows.append(
                [
                    _cell(r["notebook"]),
                    "**failed**",
                    f"`{r.get('preset', '?')}`",
                    _cell(r.get("error", "")),
                    "–",
                    "–",
                ]
            )
            continue
        prov = r["provenance"]
        hardware.append(_cell(_hardware(prov)))
        rows.append(
            [
                f"{{ref}}`{_cell(r['notebook'])} <{_label(r)}>`",
                _badge(r.get("verdict")),
                f"`{r.get('preset', '?')}`",
                hardware[-1],
                _run_time(prov),
                _commit(prov),
            ]
        )
    lines += _runs_table(
        ["notebook", "verdict", "preset", "hardware", "run time", "commit"],
        rows,
        hardware,
    )

    for preset, recorded in (records or {}).items():
        lines += ["", f"## Results of record: `{preset}`", ""]
        lines += [
            f"Committed under `records/{preset}/` (written by `reprobook run all --preset {preset}",
            f"--build records/{preset}`) with their executed notebooks; not rebuilt by `make book`.",
            "",
            "```{raw} html",
            status_grid(recorded),
            "```",
            "",
        ]
        shown = [r for r in recorded if not r.get("failed")]
        hardware = [_cell(_hardware(r.get("provenance", {}))) for r in shown]
        lines += _runs_table(
            ["notebook", "verdict", "hardware", "run time", "commit"],
            [
                [
                    _cell(r["notebook"]),
                    _badge(r.get("verdict")),
                    machine,
                    _run_time(r.get("provenance", {})),
                    _commit(r.get("provenance", {})),
                ]
                for r, machine in zip(shown, hardware)
            ],
            hardware,
        )
    for r in results:
        if not r.get("failed"):
            lines += [""] + _section(r, bib_keys, notebook_docs)
    return "\n".join(lines) + "\n"


def _section(
    r: dict, bib_keys: Collection[str] | None, notebook_docs: Collection[str]
) -> list[str]:
    """The section of one notebook: facts, claim, and the table of sub-claims."""
    name = str(r["notebook"])
    prov = r["provenance"]
    lines = [f"({_label(r)})=", f"## {r.get('title') or name}", ""]
    if r.get("claim"):
        lines += [" ".join(str(r["claim"]).split()), ""]

    paper = r.get("paper")
    if paper and (bib_keys is None or paper in bib_keys):
        paper = f"{{cite}}`{paper}`"
    notebook = f"{{doc}}`/notebooks/{name}`" if name in notebook_docs else f"`{name}`"
    scope = scope_text(r)
    facts = [
        ("Verdict", _badge(r.get("verdict")) + (f" ({scope})" if scope else "")),
        ("Notebook", notebook),
        ("Paper", paper or "–"),
        ("Preset", f"`{r.get('preset', '?')}`"),
        ("Parameters", _parameters(r)),
        ("Seeds", ", ".join(str(s) for s in r.get("seeds") or []) or "–"),
        ("Hardware", _hardware(prov)),
        ("Data", _data(prov)),
        ("Run time", _run_time(prov)),
        ("Started", prov.get("started_utc") or "–"),
        ("Commit", _commit(prov)),
    ]
    # a committed trained model the run used (ZeroQ's): its accuracy, recipe, hardware and commit
    if (r.get("numbers") or {}).get("model_of_record"):
        facts.append(("Model of record", _cell(r["numbers"]["model_of_record"])))
    lines += [f"- {key}: {value}" for key, value in facts] + [""]
    if scale := scale_text(str(r.get("preset", "?"))):
        lines += [scale, ""]

    rows = []
    for sub in r.get("subclaims") or []:
        first = True
        for c in sub.get("criteria") or [{}]:
            label = (
                f"{_cell(sub.get('name', '?'))} ({_badge(sub.get('verdict'))})"
                if first
                else ""
            )
            first = False
            rows.append(
                [
                    label,
                    _cell(_criterion(c)),
                    _cell(c.get("paper")),
                    _cell(_measured(c)),
                    _cell(_status(c)),
                ]
            )
    if rows:
        lines += _table(
            [
                "sub-claim",
                "criterion",
                "paper",
                "ours (mean [low, high])",
                "status (required)",
            ],
            rows,
        )
    else:
        lines.append("No sub-claims were recorded for this run.")
    return lines
