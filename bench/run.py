"""Measure the course's time budgets and write them to bench/results.md.

Budgets (DESIGN.md): each chapter executes in at most 90 s on a 2-core CPU without a GPU; the
whole book builds in at most 10 minutes there; autograding one submission takes at most 30 s.

    python bench/run.py                  # everything (several minutes)
    python bench/run.py --only chapters  # or: grading, book
    python bench/run.py --only chapters --match 05   # only the chapters (or assignments) matching

A partial run rewrites only what it measured: the rows of the chapters or assignments it timed and
the sections it ran; every other row and section of results.md (e.g. a hand-written "Test suite"
section) is kept, with the date it was measured.

Timings are wall-clock on the machine that runs this; results.md records which machine that
was. Tests never assert these timings: they are measured here and read by people.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.md"
CHAPTER_BUDGET_S, BOOK_BUDGET_S, GRADE_BUDGET_S = 90, 600, 30


def time_chapter(path: Path) -> float:
    """Execute a chapter in a fresh kernel, as the book build does, and return seconds."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def time_book() -> float:
    """A full build from scratch (no execution cache) into a temporary folder."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT),
                        "--path-output", out], check=True, capture_output=True)
        return time.perf_counter() - start


def time_grading(assignment: str) -> tuple[float, str]:
    """Autograde the reference solution as a one-student class with `autograder.grade`."""
    source = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp) / "submissions"
        subs.mkdir()
        shutil.copy(source, subs / "reference.ipynb")
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "autograder.grade", assignment, str(subs),
                               "--out", str(Path(tmp) / "out")], capture_output=True, text=True, cwd=ROOT)
        seconds = time.perf_counter() - start
        status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
        csv = Path(tmp) / "out" / "grades.csv"
        if csv.is_file():
            status += ": " + csv.read_text().splitlines()[1]
        return seconds, status


def verdict(seconds: float, budget: float) -> str:
    return "within budget" if seconds <= budget else "**over budget**"


def _sections(text: str) -> dict[str, list[str]]:
    """results.md split at its '## ' headings: {heading: lines} (the preamble under '')."""
    sections: dict[str, list[str]] = {"": []}
    key = ""
    for line in text.splitlines():
        if line.startswith("## "):
            key = line
            sections[key] = []
        sections[key].append(line)
    return sections


def _merge_rows(old: list[str], new: list[str]) -> list[str]:
    """A table section in which each new row replaces the old row with the same first cell (new
    rows are added in order); the text above the table is the new run's."""
    def name(line):
        return line.split("|")[1].strip() if line.startswith("| ") and not line.startswith("|---") else None
    head = [l for l in new if not l.startswith("|")]
    header = [l for l in new if l.startswith("|")][:2]
    rows = {name(l): l for l in old[2:] if name(l) and l not in header}
    rows.update({name(l): l for l in new if name(l) and l not in header})
    return [*head[:-1], *header, *(rows[k] for k in sorted(rows)), ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["chapters", "grading", "book"], action="append")
    parser.add_argument("--match", help="only chapters / assignments whose name contains this")
    args = parser.parse_args()
    parts = args.only or ["chapters", "grading", "book"]
    os.environ.setdefault("SEQLAB_DEVICE", "cpu")  # the budgets are for a CPU without a GPU
    stamp = f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
    old = _sections(RESULTS.read_text()) if RESULTS.is_file() else {"": []}
    new: dict[str, list[str]] = {}

    if "chapters" in parts:
        key = "## Chapter execution (budget 90 s each)"
        rows = ["| chapter | seconds | | measured |", "|---|---:|---|---|"]
        for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
            if args.match and args.match not in path.stem:
                continue
            s = time_chapter(path)
            print(f"{path.name}: {s:.1f} s", flush=True)
            rows.append(f"| {path.stem} | {s:.1f} | {verdict(s, CHAPTER_BUDGET_S)} | {stamp} |")
        new[key] = [key, "", *rows, ""]
    if "grading" in parts:
        key = "## Autograding one submission (budget 30 s)"
        rows = ["| assignment | seconds | | result | measured |", "|---|---:|---|---|---|"]
        for src in sorted((ROOT / "solutions").glob("a[0-9][0-9]_*")):
            if args.match and args.match not in src.name:
                continue
            s, status = time_grading(src.name)
            print(f"{src.name}: {s:.1f} s ({status})", flush=True)
            rows.append(f"| {src.name} | {s:.1f} | {verdict(s, GRADE_BUDGET_S)} | {status} | {stamp} |")
        new[key] = [key, "", "The whole `python -m autograder.grade` command for a class of one (the reference "
                    "solution): course set-up, generate_assignment, autograde, feedback, CSV.", "", *rows, ""]
    if "book" in parts:
        key = "## Whole book, built from scratch (budget 600 s)"
        s = time_book()
        print(f"book: {s:.1f} s", flush=True)
        new[key] = [key, "", f"{s:.0f} s: {verdict(s, BOOK_BUDGET_S)} (measured {stamp}).", ""]

    merged = dict(old)
    merged[""] = ["# Benchmark results", "",
                  f"Written by `python bench/run.py` on {platform.machine()}, {os.cpu_count()} cores, "
                  f"Python {platform.python_version()}, CPU only; each row says when it was measured.", ""]
    for key, lines in new.items():
        partial = args.match and key in old and key.startswith(("## Chapter", "## Autograding"))
        merged[key] = _merge_rows(old[key], lines) if partial else lines
    RESULTS.write_text("\n".join(line for lines in merged.values() for line in lines).rstrip() + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
