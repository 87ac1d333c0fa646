"""Execute the book's notebooks on several cores before ``jupyter-book build`` reads them.

``jupyter-book build`` (myst-nb, ``execute_notebooks: cache``) executes the notebooks that are
not in its execution cache one after the other, on one core. This script fills that cache first,
``--jobs`` notebooks at a time, doing for each exactly what myst-nb's cache mode does (the same
``jupyter_cache`` calls, the notebook's own folder as the working directory, the timeout of
``_config.yml``, errors not allowed): the build that follows finds every notebook cached
("Using cached notebook") and only renders. Notebooks already cached are skipped, so a second
run costs nothing. A notebook that fails is not cached and is named, with its error, and the
script exits with status 1; ``jupyter-book build`` would then run it again and report it in
``_build/html/reports``.

Usage: ``python _ext/execute_parallel.py [--book .] [--build-dir _build] [--jobs 2]``
(``make book`` and ``make test`` run it). The printed results are the same as with a serial
build: every result in the book is seeded, none depends on timing (the one exception, training
times printed in Chapter 5, is said there to vary from run to run).
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
import yaml


def book_notebooks(book: Path) -> tuple[list[Path], int]:
    """The ``.ipynb`` pages of ``_toc.yml`` that the build executes, and the per-cell timeout."""
    config = yaml.safe_load((book / "_config.yml").read_text(encoding="utf-8"))
    execute = config.get("execute", {})
    if execute.get("execute_notebooks") != "cache":
        raise SystemExit("execute_parallel: _config.yml's execute_notebooks is not 'cache'; nothing to fill")
    excluded = execute.get("exclude_patterns", [])
    toc = yaml.safe_load((book / "_toc.yml").read_text(encoding="utf-8"))

    def files(node):
        if isinstance(node, dict):
            if "file" in node:
                yield node["file"]
            for value in node.values():
                yield from files(value)
        elif isinstance(node, list):
            for value in node:
                yield from files(value)

    pages = []
    for name in files(toc):
        path = book / f"{name}.ipynb"
        if path.is_file() and not any(fnmatch.fnmatch(str(path), f"*{pattern}") for pattern in excluded):
            pages.append(path.resolve())
    return pages, int(execute.get("timeout", 30))


def _execute(path: str, timeout: int) -> tuple[str, str | None, float]:
    """Run one notebook as myst-nb does; (executed notebook as JSON, error text or None, seconds)."""
    from jupyter_cache.executors.utils import single_nb_execution

    nb = nbformat.read(path, as_version=4)
    result = single_nb_execution(nb, cwd=str(Path(path).parent), timeout=timeout, allow_errors=False,
                                 meta_override=True)
    return nbformat.writes(result.nb), result.exc_string if result.err is not None else None, result.time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--book", type=Path, default=Path("."), help="the book's folder (default: .)")
    parser.add_argument("--build-dir", type=Path, default=None,
                        help="the build folder, as jupyter-book's --path-output/_build (default: BOOK/_build)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="notebooks at a time")
    args = parser.parse_args(argv)

    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    book = args.book.resolve()
    build = (args.build_dir or book / "_build").resolve()
    cache = get_cache(str(build / ".jupyter_cache"))
    pages, timeout = book_notebooks(book)
    todo = []
    for path in pages:
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            todo.append(path)
    if not todo:
        print(f"execute_parallel: all {len(pages)} notebooks are in the execution cache")
        return 0
    print(f"execute_parallel: executing {len(todo)} of {len(pages)} notebooks, {args.jobs} at a time", flush=True)
    failed, start = [], time.monotonic()
    with ProcessPoolExecutor(max_workers=max(1, min(args.jobs, len(todo)))) as pool:
        futures = {pool.submit(_execute, str(path), timeout): path for path in todo}
        for future in as_completed(futures):
            path = futures[future]
            rel = path.relative_to(book)
            try:
                text, error, seconds = future.result()
            except Exception as exc:  # the kernel could not start, the notebook could not be read, ...
                text, error, seconds = None, f"{type(exc).__name__}: {exc}", 0.0
            if error is not None:
                failed.append(rel)
                print(f"execute_parallel: {rel} FAILED:\n{error[-3000:]}", file=sys.stderr, flush=True)
                continue
            record = cache.add_nb_to_project(str(path))
            cache.cache_notebook_bundle(CacheBundleIn(nbformat.reads(text, as_version=4), record.uri,
                                                      data={"execution_seconds": seconds}),
                                        check_validity=False, overwrite=True)
            print(f"execute_parallel: {rel} executed in {seconds:.1f} s", flush=True)
    print(f"execute_parallel: done in {time.monotonic() - start:.1f} s" + (f"; failed: {', '.join(map(str, failed))}"
                                                                          if failed else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
