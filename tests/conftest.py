"""Shared fixtures.

The book is built once per test session (``book_html``) into ``$BOOK_BUILD_DIR`` (default: the
repository, i.e. ``_build/``, the same place ``make book`` uses, so its execution cache is
reused), unless ``make test`` has just built it (``SEQLAB_BOOK_BUILT=1`` and a fresh stamp).
Chapter tests read the notebooks that build executed (``executed_chapter``) instead of running
them a second time. ``SEQLAB_EXECUTED_DIR`` points ``executed_chapter`` at a folder of
already-executed notebooks instead (useful while writing a chapter).

``make test`` runs on both cores (pytest-xdist, ``--dist loadgroup``). Tests that share an
expensive session or module fixture are kept on one worker by an ``xdist_group`` mark (see
:func:`pytest_collection_modifyitems`): every test that reads the built book is in group
``book`` (so the book is built once), each assignment's grading round trip is a group of its own
(one nbgrader run per assignment), and the remaining tests are grouped by module. The longest
groups are queued first (``GROUP_SECONDS``), so the two workers finish at about the same time.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def book_output_dir() -> Path:
    return Path(os.environ.get("BOOK_BUILD_DIR", ROOT)).resolve()


@pytest.fixture(scope="session")
def book_build() -> Path:
    """Build the book (warnings are errors) and return the ``_build`` folder. ``make test`` builds
    the book (warnings are errors) just before pytest, writes ``_build/.book-ok`` once that build
    has succeeded, and says so with ``SEQLAB_BOOK_BUILT=1``: then that build is used as it is, not
    rendered a second time, if the stamp is newer than every source of the book."""
    out = book_output_dir()
    if os.environ.get("SEQLAB_BOOK_BUILT") == "1" and _fresh_build_stamp(out):
        return out / "_build"
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = [str(BIN / "jupyter-book"), "build", str(ROOT), "--warningiserror", "--keep-going"]
    if out != ROOT:
        cmd += ["--path-output", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1500)
    if proc.returncode != 0:
        reports = sorted((out / "_build" / "html" / "reports").glob("**/*.log"))
        details = "\n".join(f"--- {p}\n{p.read_text()[-3000:]}" for p in reports)
        pytest.fail(f"jupyter-book build failed (exit {proc.returncode}):\n{proc.stdout[-6000:]}\n"
                    f"{proc.stderr[-3000:]}\n{details}")
    return out / "_build"


def _fresh_build_stamp(out: Path) -> bool:
    """``make test``'s stamp of a successful build in this repository, newer than the book's sources."""
    stamp = out / "_build" / ".book-ok"
    if out != ROOT or not stamp.is_file() or not (out / "_build" / "html" / "index.html").is_file():
        return False
    sources = [*ROOT.glob("*.md"), *ROOT.glob("*.yml"), *ROOT.glob("chapters/*.ipynb"),
               *ROOT.glob("exercises/*/*.ipynb"), *ROOT.glob("_ext/*.py")]
    return all(p.stat().st_mtime <= stamp.stat().st_mtime for p in sources)


@pytest.fixture(scope="session")
def book_html(book_build: Path) -> Path:
    return book_build / "html"


@pytest.fixture(scope="session")
def executed_chapter(request):
    """``executed_chapter("01_language_models")`` -> the executed notebook (nbformat node)."""
    override = os.environ.get("SEQLAB_EXECUTED_DIR")

    def load(slug: str) -> nbformat.NotebookNode:
        if override:
            path = Path(override) / f"{slug}.ipynb"
        else:
            build = request.getfixturevalue("book_build")
            path = build / "jupyter_execute" / "chapters" / f"{slug}.ipynb"
        if not path.is_file():
            pytest.fail(f"executed notebook not found: {path}")
        return nbformat.read(path, as_version=4)

    return load


def stdout_text(nb: nbformat.NotebookNode) -> str:
    """All printed (stream stdout) and plain-text results of an executed notebook, joined.
    Consecutive stdout outputs of a cell are one stream: the kernel flushes it on a timer, so on a
    busy machine one ``print`` can arrive in two outputs ("...k=0.5:" and " 0.9999..." was seen),
    which are joined back as they were printed."""
    parts = []
    for cell in nb.cells:
        stream = None   # the stdout text of the cell since its last other output
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                stream = (stream or "") + out.get("text", "")
                continue
            if stream is not None:
                parts.append(stream)
                stream = None
            if out.get("output_type") in ("execute_result", "display_data"):
                parts.append(out.get("data", {}).get("text/plain", ""))
        if stream is not None:
            parts.append(stream)
    return "\n".join(parts)


def count_images(nb: nbformat.NotebookNode) -> int:
    return sum(1 for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {}))


def number(pattern: str, text: str) -> float:
    """The first capture group of ``pattern`` in ``text``, as a float (fails if absent)."""
    match = re.search(pattern, text, flags=re.MULTILINE)
    assert match, f"the notebook did not print a line matching {pattern!r}"
    return float(match.group(1))


# ----------------------------------------------------------------------------- parallel runs

def _group(item) -> str:
    module = item.path.stem
    if module in ("test_book", "test_site", "test_glossary") or module.startswith("test_chapter_"):
        return "book"
    params = getattr(getattr(item, "callspec", None), "params", {})
    if module == "test_grading":
        return f"grading-{params['assignment']}" if "assignment" in params else "grading-toy"
    return module


# The order in which groups are queued: longest first, so that the two workers finish at about the
# same time (a free worker takes the next group in the queue). The seconds are what each group took
# in a fresh-clone ``make test`` on the 2-core machine (2026-12-07, each test timed, summed by group);
# they only order the queue. A group not listed (a new module) comes after these, in collection order.
GROUP_SECONDS = {
    "test_a04_checks": 198, "test_a05_checks": 157, "grading-a01_language_models": 149,
    "test_a02_checks": 148, "test_a06_checks": 144, "test_colab_path": 140, "test_tamper": 130,
    "grading-a05_embeddings": 119, "test_worker": 119, "grading-a04_lstm": 113, "grading-toy": 100,
    "grading-a02_rnn_from_scratch": 77, "grading-a06_attention": 75, "test_a07_checks": 69,
    "test_postgres": 65, "grading-a07_transformer": 64, "book": 63, "test_repair": 61,
    "test_release": 54, "grading-a03_gradients": 53, "test_a01_checks": 36, "test_sandbox": 30,
    "test_seqlab_embeddings": 14, "test_a03_checks": 13, "test_collect": 13,
    "test_execute_parallel": 10
}


def _rank(group: str) -> float:
    return -GROUP_SECONDS.get(group, 0)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks (it runs without tryfirst)
def pytest_collection_modifyitems(config, items):
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_group(item)))
    items.sort(key=lambda item: _rank(_group(item)))  # stable: keeps collection order within a group
