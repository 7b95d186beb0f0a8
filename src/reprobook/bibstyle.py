"""The bibliography's style (a Sphinx extension the book loads): author–year labels, as the citations
in the text read — "[Dherin and Munn 2025]", "[Cai et al. 2020]" — instead of alpha labels."""

from __future__ import annotations

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def author_year(entry) -> str:
    """``Last 2025``, ``Last and Other 2025`` or ``Last et al. 2025``."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [" ".join(p.last_names) for p in people]
    who = (
        names[0]
        if len(names) == 1
        else " and ".join(names)
        if len(names) == 2
        else f"{names[0]} et al."
    )
    return f"{who} {entry.fields.get('year', '')}".strip()


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        seen: dict[str, int] = {}
        for entry in sorted_entries:
            label = author_year(entry)
            seen[label] = seen.get(label, 0) + 1
            yield (
                label if seen[label] == 1 else f"{label}{'abcdefghij'[seen[label] - 1]}"
            )


class AuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabels
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.formatting", "reprobook_author_year", AuthorYearStyle)
    return {"parallel_read_safe": True}
