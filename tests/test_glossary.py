"""Korean for the source's readers: a glossary page and a Korean summary in every chapter.

- Every chapter notebook has a markdown cell headed ``## 요약 (Korean summary)`` with a paragraph
  of Korean under it.
- The glossary (``glossary.md``, in the book's table of contents) gives each term in English and
  Korean with a link to the chapter that introduces it; every chapter is linked, and in the built
  book every link resolves to a page that exists.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT

HANGUL = re.compile(r"[\uac00-\ud7a3]")
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def glossary_rows() -> list[tuple[str, str, str]]:
    rows = []
    for line in (ROOT / "glossary.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and "{doc}" in cells[2]:
            rows.append(tuple(cells))
    return rows


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_ends_with_a_korean_summary(path):
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "markdown" and "## 요약 (Korean summary)" in c.source]
    assert cells, f"{path.name} has no '## 요약 (Korean summary)' section"
    body = cells[-1].source.split("## 요약 (Korean summary)", 1)[1]
    assert len(HANGUL.findall(body)) >= 100, f"{path.name}: the Korean summary is too short"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "## Summary" in text and text.rindex("## 요약 (Korean summary)") > text.rindex("## Summary"), \
        f"{path.name}: the Korean summary must follow the summary"


def test_glossary_gives_english_and_korean_and_covers_every_chapter():
    rows = glossary_rows()
    assert len(rows) >= 40, f"only {len(rows)} glossary entries"
    for english, korean, link in rows:
        assert english and not HANGUL.search(english), f"English column: {english!r}"
        assert HANGUL.search(korean), f"{english}: no Korean term ({korean!r})"
    linked = {m for _, _, link in rows for m in re.findall(r"\{doc\}`chapters/([^`]+)`", link)}
    missing = [p.stem for p in CHAPTERS if p.stem not in linked]
    assert not missing, f"chapters with no glossary entry: {missing}"
    assert linked <= {p.stem for p in CHAPTERS}, f"links to chapters that do not exist: {linked}"


@pytest.mark.slow
def test_glossary_links_resolve_in_the_built_book(book_html: Path):
    page = book_html / "glossary.html"
    assert page.is_file(), "glossary.html was not built (is glossary in _toc.yml?)"
    hrefs = re.findall(r'<a class="reference internal" href="([^"#]+)', page.read_text(encoding="utf-8"))
    assert len(hrefs) >= len(glossary_rows()), f"only {len(hrefs)} links on the glossary page"
    broken = sorted({h for h in hrefs if not (page.parent / h).is_file()})
    assert not broken, f"glossary links to pages that do not exist: {broken}"
