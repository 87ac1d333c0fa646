"""_ext/execute_parallel.py: the book's notebooks executed into jupyter-book's cache, in parallel.

On a small book made here (two notebooks that run, one that fails, an excluded exercise): the
pages of ``_toc.yml`` are found with the execute settings of ``_config.yml``; the ones that run
end up in the execution cache as myst-nb's own cache mode would put them there (a match by
``match_cache_notebook``, outputs included, executed in the notebook's own folder); the failing
one is named, not cached, and the exit status is 1; a second run executes nothing.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

import execute_parallel  # noqa: E402

CONFIG = """\
title: test
execute:
  execute_notebooks: cache
  timeout: 77
  exclude_patterns: ["exercises/*/*.ipynb"]
"""
TOC = """\
format: jb-book
root: intro
parts:
  - caption: Chapters
    chapters:
      - file: chapters/one
      - file: chapters/two
      - file: chapters/broken
  - caption: Exercises
    chapters:
      - file: exercises/a01/a01
"""


def _notebook(path: Path, *sources: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# page")] + [nbformat.v4.new_code_cell(s) for s in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


@pytest.fixture
def book(tmp_path: Path) -> Path:
    (tmp_path / "_config.yml").write_text(CONFIG)
    (tmp_path / "_toc.yml").write_text(TOC)
    (tmp_path / "intro.md").write_text("# intro\n")
    _notebook(tmp_path / "chapters" / "one.ipynb", "import os\nprint(os.getcwd())", "print(6 * 7)")
    _notebook(tmp_path / "chapters" / "two.ipynb", "print('two')")
    _notebook(tmp_path / "chapters" / "broken.ipynb", "raise ValueError('this page fails')")
    _notebook(tmp_path / "exercises" / "a01" / "a01.ipynb", "raise NotImplementedError")
    return tmp_path


def test_the_pages_of_the_toc_that_the_build_executes(book):
    pages, timeout = execute_parallel.book_notebooks(book)
    assert [p.relative_to(book.resolve()).as_posix() for p in pages] == \
        ["chapters/one.ipynb", "chapters/two.ipynb", "chapters/broken.ipynb"]
    assert timeout == 77


def test_the_real_book_executes_its_chapters_not_its_exercises():
    pages, timeout = execute_parallel.book_notebooks(ROOT)
    names = [p.relative_to(ROOT).as_posix() for p in pages]
    assert names == sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "chapters").glob("*.ipynb"))
    assert timeout == 300


def test_fills_the_cache_names_failures_and_skips_what_is_cached(book, capsys):
    from jupyter_cache import get_cache

    assert execute_parallel.main(["--book", str(book), "--jobs", "2"]) == 1
    out = capsys.readouterr()
    assert "chapters/broken.ipynb FAILED" in out.err and "this page fails" in out.err
    cache = get_cache(str(book / "_build" / ".jupyter_cache"))
    record = cache.match_cache_notebook(nbformat.read(book / "chapters" / "one.ipynb", as_version=4))
    _, merged = cache.merge_match_into_notebook(nbformat.read(book / "chapters" / "one.ipynb", as_version=4))
    printed = [o["text"] for c in merged.cells if c.cell_type == "code" for o in c.outputs]
    assert printed == [f"{(book / 'chapters').resolve()}\n", "42\n"]     # run in its own folder
    assert record.data["execution_seconds"] > 0
    cache.match_cache_notebook(nbformat.read(book / "chapters" / "two.ipynb", as_version=4))
    with pytest.raises(KeyError):
        cache.match_cache_notebook(nbformat.read(book / "chapters" / "broken.ipynb", as_version=4))

    (book / "chapters" / "broken.ipynb").unlink()
    (book / "_toc.yml").write_text(TOC.replace("      - file: chapters/broken\n", ""))
    assert execute_parallel.main(["--book", str(book)]) == 0
    assert "all 2 notebooks are in the execution cache" in capsys.readouterr().out


@pytest.mark.slow
def test_the_built_book_keeps_the_outputs_of_notebooks_taken_from_the_cache(book):
    """myst-nb writes ``_build/jupyter_execute/<page>.ipynb`` without outputs when it takes a page
    from its cache; _ext/book_fixes.py rewrites it with the cached outputs (the chapter tests read
    those files)."""
    import subprocess

    (book / "chapters" / "broken.ipynb").unlink()
    (book / "_toc.yml").write_text(TOC.replace("      - file: chapters/broken\n", ""))
    (book / "_config.yml").write_text(CONFIG + f"sphinx:\n  local_extensions:\n    book_fixes: {ROOT / '_ext'}\n")
    assert execute_parallel.main(["--book", str(book)]) == 0
    proc = subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(book)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Using cached notebook" in proc.stdout and "Executing notebook" not in proc.stdout
    executed = nbformat.read(book / "_build" / "jupyter_execute" / "chapters" / "one.ipynb", as_version=4)
    assert [o.get("text") for c in executed.cells if c.cell_type == "code" for o in c.outputs][-1] == "42\n"


def test_make_tests_build_stamp_is_used_only_when_fresh(tmp_path, monkeypatch):
    """tests/conftest.py reuses make test's book build only with its stamp, newer than every source."""
    import os
    import conftest

    monkeypatch.setattr(conftest, "ROOT", tmp_path)
    (tmp_path / "chapters").mkdir()
    chapter = tmp_path / "chapters" / "01_x.ipynb"
    chapter.write_text("{}")
    (tmp_path / "_build" / "html").mkdir(parents=True)
    (tmp_path / "_build" / "html" / "index.html").write_text("<html></html>")
    assert not conftest._fresh_build_stamp(tmp_path)               # no stamp: the build failed or is not make test's
    stamp = tmp_path / "_build" / ".book-ok"
    stamp.write_text("")
    os.utime(chapter, (1_000_000_000, 1_000_000_000))
    assert conftest._fresh_build_stamp(tmp_path)
    assert not conftest._fresh_build_stamp(tmp_path / "elsewhere")  # BOOK_BUILD_DIR pointing elsewhere
    os.utime(chapter, (4_000_000_000, 4_000_000_000))              # a chapter edited after the build
    assert not conftest._fresh_build_stamp(tmp_path)


def test_stdout_text_joins_a_print_split_across_two_outputs():
    """The kernel flushes stdout on a timer: one print can arrive as two outputs of one cell."""
    import nbformat
    from conftest import stdout_text

    out = nbformat.v4.new_output
    cell = nbformat.v4.new_code_cell("print('sum:', 1.0)")
    cell.outputs = [out("stream", name="stdout", text="sum:"), out("stream", name="stdout", text=" 1.0\n"),
                    out("execute_result", data={"text/plain": "42"}, execution_count=1),
                    out("stream", name="stdout", text="after\n")]
    text = stdout_text(nbformat.v4.new_notebook(cells=[cell]))
    assert text == "sum: 1.0\n\n42\nafter\n"
