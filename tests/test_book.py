"""The built book: every page of the table of contents, executed chapters, Colab links.

Builds the book once (``book_html`` fixture, warnings are errors) -- the slowest test in the
suite, since every chapter notebook is executed (cached between runs in _build/.jupyter_cache).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

pytestmark = pytest.mark.slow


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [entry["file"] for entry in part["chapters"]]
    return files


def notebook_pages() -> list[str]:
    return [f for f in toc_files() if (ROOT / f"{f}.ipynb").is_file()]


def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def test_every_toc_page_is_built(book_html: Path):
    for page in toc_files():
        html = book_html / f"{page}.html"
        assert html.is_file(), f"{page} is in _toc.yml but {html} was not built"
    assert (book_html / "index.html").is_file()


@pytest.mark.parametrize("page", [f for f in notebook_pages() if f.startswith("chapters/")])
def test_chapter_pages_show_executed_figures_and_results(book_html: Path, page: str):
    html = (book_html / f"{page}.html").read_text()
    figures = re.findall(r'<img[^>]+src="\.\./_images/[^"]+\.png"', html)
    assert figures, f"{page}: no executed figure in the page"
    outputs = re.findall(r'<div class="cell_output docutils container">\s*<div class="output (?:stream|text_plain)', html)
    assert len(outputs) >= 5, f"{page}: only {len(outputs)} printed results"
    assert "Traceback" not in html, f"{page}: an error traceback was rendered"


@pytest.mark.parametrize("page", [f for f in notebook_pages() if f.startswith("exercises/")])
def test_exercise_pages_show_the_release_unexecuted(book_html: Path, page: str):
    html = (book_html / f"{page}.html").read_text()
    assert "NotImplementedError" in html, f"{page}: the exercise stubs are missing"
    assert '<div class="cell_output' not in html, f"{page}: the exercise page was executed"
    assert "BEGIN SOLUTION" not in html and "HIDDEN TESTS" not in html


@pytest.mark.parametrize("page", notebook_pages())
def test_colab_button_points_at_this_notebook(book_html: Path, page: str):
    cfg = config()
    repo = cfg["repository"]["url"].removeprefix("https://github.com/").rstrip("/")
    colab = cfg["launch_buttons"]["colab_url"].rstrip("/")
    expected = f"{colab}/github/{repo}/blob/{cfg['repository']['branch']}/{page}.ipynb"
    html = (book_html / f"{page}.html").read_text()
    links = set(re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', html))
    assert links == {expected}, f"{page}: Colab links {links}, expected {expected}"
