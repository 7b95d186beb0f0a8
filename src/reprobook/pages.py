"""What a reader sees: an executed notebook turned into a book page.

:func:`reader_page` takes the executed copy and its results file and

* puts a **verdict card** under the title: the verdict, one coloured line per sub-claim (met ✓, not met
  ✗, uncertain ?, not tested –), the checks apart, ours beside the paper's for each criterion, the preset
  and what it can show, and a link to the detailed table — generated from the results, never typed;
* folds the plumbing: papermill's injected copy of the parameters goes, the ``parameters`` cell becomes
  one compact table of this run's parameters, the Colab install cell leaves the page, and the inputs of
  cells that only declare, plot or glue are hidden;
* numbers and captions every figure from its cell's ``# Figure: ...`` comment (also its alt text);
* removes machine paths from every output.
"""

from __future__ import annotations

import html
import re
from typing import Any

import nbformat

from . import params
from .summary import (  # one colour and symbol per verdict, for the card and the grid
    CSS,
    SYMBOL,
    criteria_changed,
    criteria_changed_text,
    lossy_data_text,
    overridden_text,
    scale_text,
    scope_text,
    shared_text,
)
from .units import measured_text, passed_text, requirement_text, unbroken, unit_of

STATUS_SYMBOL = {"met": "✓", "not met": "✗", "uncertain": "?", "not tested": "–"}
# Absolute paths of two or more parts (not a ratio such as 1/L or λ=1/√L): /home/me/x, /tmp/a/b.json
PATH = re.compile(r"(?<![\w)\]}])(/(?:[\w.+-]+/)+)([\w.+-]+)")
FOLDED = ("notebook.declare(", "notebook.finish(", "glue(")
# A figure cell's comment ``# Figure: ...`` (continued on ``#   ...`` lines): its caption and alt text.
CAPTION = re.compile(r"^# Figure: (.+(?:\n#   .+)*)", re.M)


def scrub_paths(text: str) -> str:
    """Keep only the last part of every absolute path: ``/work/x/build/results/a.json`` → ``…/a.json``."""
    return PATH.sub(lambda m: f"…/{m[2]}", text)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=False)


def _code(text: str) -> str:
    """Markdown's `code` spans as HTML: "A `cpu` run" → "A <code>cpu</code> run"."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def record_line(others: list[dict[str, Any]]) -> str:
    """One line under the card naming the results of record of other presets (``records/``)."""
    parts = []
    for r in others:
        prov = r.get("provenance", {})
        hw = prov.get("hardware", {})
        where = hw.get("gpu") or f"{hw.get('cores', '?')}-core CPU"
        commit = str(prov.get("git_commit") or "")[:7]
        parts.append(
            f"<code>{_e(r.get('preset', '?'))}</code> {SYMBOL.get(r.get('verdict'), '')} "
            f"<strong>{_e(r.get('verdict', '?'))}</strong> ({_e(where)}"
            + (f", commit {_e(commit)}" if commit else "")
            + (", criteria changed since" if criteria_changed(r) else "")
            + ")"
        )
    return (
        '<p class="rb-records">Results of record at other scales (see the summary): '
        + "; ".join(parts)
        + "</p>"
    )


def criterion_line(c: dict[str, Any]) -> str:
    """One criterion on the card: its status, our measurement, what it required, the paper's number:
    "✓ W8A8 distilled − full precision: ours −0.3 pp [−0.6, −0.1], required within ±1 pp, paper …"."""
    unit = unit_of(c["name"], c.get("description", ""))
    line = f"{STATUS_SYMBOL[c['status']]} {_e(c['name'])}: ours {measured_text(c['measured'], unit)}"
    if c.get("comparison") and c.get("threshold") is not None:
        line += f", required {_e(unbroken(requirement_text(c['comparison'], c['threshold'], unit)))}"
    if c.get("paper"):
        line += f", paper {_e(c['paper'])}"
    if c.get("not_tested"):
        line += " (not tested at this preset: not judged)"
    return line


def verdict_card(record: dict[str, Any], others: list[dict[str, Any]] = ()) -> str:
    """The card's HTML (one markdown cell): the run's verdict at a glance, and a line for each
    result of record at another preset (``others``)."""
    verdict = record["verdict"]
    prov = record.get("provenance", {})
    hw = prov.get("hardware", {})
    where = hw.get("gpu") or f"{hw.get('cores', '?')}-core CPU"
    minutes = (prov.get("wall_time_s") or 0) / 60
    shared = shared_text(prov)
    preset = record.get("preset", "?")
    lines = [
        f'<div class="rb-card {CSS.get(verdict, "")}">',
        f'<p class="rb-verdict">{SYMBOL.get(verdict, "")} <strong>{_e(verdict)}</strong>'
        f'<span class="rb-meta">preset <code>{_e(preset)}</code> · {_e(where)} · {minutes:.1f} min{" " + _e(shared) if shared else ""}</span></p>',
    ]
    if record.get("verdict_reason"):
        lines.append(f'<p class="rb-reason">{_e(record["verdict_reason"])}</p>')
    scope = scope_text(record)
    if scope:  # a verdict over part of the claim says so under its headline
        lines.append(
            f'<p class="rb-scope">The verdict covers {_e(scope)}; the others are marked – with '
            "the reason, declared before the run.</p>"
        )
    changed = criteria_changed_text(record)
    if changed:
        lines.append(f'<p class="rb-reason">{_e(changed)}</p>')
    overridden = overridden_text(record)
    if overridden:  # judged against thresholds other than the pre-registered ones
        lines.append(
            f'<p class="rb-reason">Not the pre-registered criteria: this run set {_e(overridden)} '
            "(preset value → this run's), and its verdict is judged against them.</p>"
        )
    lines.append('<ul class="rb-subclaims">')
    for sub in record["subclaims"]:
        v = sub["verdict"]
        if sub.get("not_tested"):
            detail = f"not tested at this preset: {_e(sub['not_tested'])}"
        else:
            detail = "; ".join(criterion_line(c) for c in sub["criteria"])
        lines.append(
            f'<li class="{CSS.get(v, "")}"><span class="rb-sym">{SYMBOL.get(v, "")}</span> '
            f"<strong>{_e(sub['name'])}</strong> — {_e(v)}<br><small>{detail}</small></li>"
        )
    lines.append("</ul>")
    checks = record.get("checks") or []
    if checks:
        failed = [c["name"] for c in checks if c["status"] != "met"]
        state = (
            f"FAILED: {_e(', '.join(failed))}" if failed else passed_text(len(checks))
        )
        lines.append(
            f'<p class="rb-checks">Implementation checks (they gate the verdict, they are not '
            f"evidence): {state}</p>"
        )
    if others:
        lines.append(record_line(list(others)))
    lossy = lossy_data_text(prov)
    if lossy:
        lines.append(f'<p class="rb-data">{_e(lossy)}</p>')
    scale = scale_text(preset)
    if scale:  # what a run at this preset can say about the claim
        lines.append(f'<p class="rb-scale">{_code(_e(scale))}</p>')
    lines.append(
        '<p class="rb-more"><a href="#verdict">The detailed table ↓</a></p></div>'
    )
    return "\n".join(lines)


def parameters_table(record: dict[str, Any]) -> str:
    """This run's parameters in one compact table: the preset, then only the values set away from it."""
    notebook, run = record["notebook"], record.get("parameters", {})
    preset = run.get("preset", record.get("preset", "cpu"))
    try:
        defaults = params.load_spec(notebook).preset(preset)
    except params.ParameterError:
        defaults = {}
    changed = {
        k: v for k, v in run.items() if k != "preset" and defaults.get(k, v) != v
    }
    rows = [f"| preset | `{preset}` |"] + [
        f"| {k} | `{v}` (preset: `{defaults[k]}`) |" for k, v in changed.items()
    ]
    note = (
        "every other parameter at its preset value"
        if changed
        else "every parameter at its preset value"
    )
    return "\n".join(
        [
            "**Parameters of this run** ("
            + note
            + "; `reprobook list "
            + notebook
            + "` lists them):",
            "",
            "| parameter | value |",
            "|---|---|",
            *rows,
        ]
    )


def _tags(cell) -> list[str]:
    return cell.setdefault("metadata", {}).setdefault("tags", [])


def reader_page(
    nb: nbformat.NotebookNode,
    record: dict[str, Any] | None,
    others: list[dict[str, Any]] = (),
) -> nbformat.NotebookNode:
    """The executed notebook ``nb`` as the book shows it (see the module docstring); ``others``:
    this notebook's results of record at other presets, named in its card."""
    cells = []
    title_done, figures = False, 0
    name = (record or {}).get("notebook", "page")
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        if "injected-parameters" in tags or (
            cell.cell_type == "code" and "google.colab" in source
        ):
            continue
        if "parameters" in tags and record:
            cells.append(nbformat.v4.new_markdown_cell(parameters_table(record)))
            continue
        if cell.cell_type == "code":
            shows_figure = any(
                "image/png" in o.get("data", {}) for o in cell.get("outputs", [])
            )
            if (
                shows_figure or any(f in source for f in FOLDED)
            ) and "hide-input" not in tags:
                _tags(cell).append("hide-input")
            caption = CAPTION.search(source)
            if shows_figure and caption:
                figures += 1
                text = " ".join(
                    line.lstrip("# ").strip() for line in caption[1].splitlines()
                )
                cell.metadata["mystnb"] = {
                    "figure": {"caption": text, "name": f"fig-{name}-{figures}"},
                    "image": {"alt": text},
                }
            for out in cell.get("outputs", []):
                if "text" in out:
                    text = (
                        out["text"]
                        if isinstance(out["text"], str)
                        else "".join(out["text"])
                    )
                    out["text"] = scrub_paths(text)
                for kind in ("text/plain", "text/html", "text/markdown"):
                    data = out.get("data", {})
                    if kind in data:
                        value = (
                            data[kind]
                            if isinstance(data[kind], str)
                            else "".join(data[kind])
                        )
                        data[kind] = scrub_paths(value)
        if (
            not title_done
            and cell.cell_type == "markdown"
            and source.lstrip().startswith("# ")
            and record
        ):
            title, _, rest = source.lstrip().partition(
                "\n"
            )  # the card goes right under the title
            cells.append(nbformat.v4.new_markdown_cell(title))
            cells.append(nbformat.v4.new_markdown_cell(verdict_card(record, others)))
            if rest.strip():
                cells.append(nbformat.v4.new_markdown_cell(rest.strip()))
            title_done = True
            continue
        cells.append(cell)
    nb.cells = cells
    return nb
