"""Grading throughput: plain nbgrader against ``make grade``, on one class, in one run.

    python bench/throughput.py                 # 40 a03 submissions, three ways, into bench/results.md
    python bench/throughput.py --students 12   # a smaller class (same mix, scaled)
    python bench/throughput.py --no-write      # print only

The class is a mix of what a real class hands in: correct (the reference solution), wrong (the
untouched release and mutants from a03's catalogue), hanging (a busy loop in an answer cell:
one cell time-out each), crashing (``os._exit`` and a segfault: the kernel dies) and mangled
(every nbgrader metadata stripped by an editor, a file that is not JSON, JSON that is not a
notebook). It is graded three ways, one after the other, with the same per-cell limit:

1. plain serial nbgrader, as an instructor would run it by hand in a fresh course directory:
   ``nbgrader generate_assignment``, the submissions copied to ``submitted/``, ONE
   ``nbgrader autograde`` for the whole class (no sandbox, no repair, no backstop), then
   ``nbgrader generate_feedback``;
2. ``make grade ... GRADE_ARGS="--jobs 1"`` (the command the Makefile runs, ``python -m
   autograder.grade``, timed whole: course set-up, sandbox check, repair, autograde in the
   grading worker, feedback, CSV, gradebook check);
3. the same with ``--jobs 2``.

It checks that the grades agree: ``--jobs 1`` and ``--jobs 2`` must give every student the same
status and the same points in every cell; plain nbgrader must give the same points to every
student it can grade as it was handed in (it cannot repair a mangled notebook or read an invalid
file: those differences are listed, not hidden). Then the sandbox's cost per student: the
correct submissions graded with ``--jobs 1`` with and without ``--no-sandbox``.

Timings are wall-clock on this machine; results.md says how loaded it was (the load average
before and after). Exit status 1 when ``--jobs 1`` and ``--jobs 2`` disagree.
"""
from __future__ import annotations

import argparse
import copy
import csv
import datetime as dt
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import assignment_utils as au  # noqa: E402  (the tests' helpers build submissions)
from autograder import grade, release  # noqa: E402
from autograder.mutants import load_catalogue  # noqa: E402

RESULTS = ROOT / "bench" / "results.md"
HEADING = "## Grading throughput: plain nbgrader against make grade"
ASSIGNMENT = "a03_gradients"
CELL_TIMEOUT = 10  # seconds; the hanging submissions each cost one such time-out
BUSY_LOOP = "\nwhile True:  # hangs\n    pass\n"
SEGFAULT = "\nimport ctypes\nctypes.string_at(0)  # segfault\n"
OS_EXIT = "\nimport os\nos._exit(1)\n"


def snapshot(tmp: Path) -> Path:
    """A copy of what grading reads (``autograder/``, ``seqlab/``, the assignment's source) taken
    once: every way grades against the same checks, even if the repository changes meanwhile
    (a run takes many minutes; the first measurement here was spoiled by an edit of a03's checks
    between two ways)."""
    snap = tmp / "repo"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("autograder", "seqlab"):
        shutil.copytree(ROOT / folder, snap / folder, ignore=skip)
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, snap / "solutions" / ASSIGNMENT, ignore=skip)
    return snap


def snapshot_env(snap: Path) -> dict[str, str]:
    """The grading environment with the snapshot first on PYTHONPATH (kernels import its checks)."""
    env = release.subprocess_env()
    env["PYTHONPATH"] = os.pathsep.join([str(snap)] + [p for p in env["PYTHONPATH"].split(os.pathsep)
                                                       if p and Path(p).resolve() != ROOT])
    return env


def _with_first_answer(nb, extra: str):
    nb = copy.deepcopy(nb)
    first = next(iter(au.solution_cells(nb)))
    au.cell_by_grade_id(nb, first).source += extra
    return nb


def _stripped(nb):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell["metadata"] = {}
    return nb


def make_class(n: int, tmp: Path, snap: Path) -> tuple[dict[str, object], dict[str, str]]:
    """``{student: notebook or raw text}`` and ``{student: kind}`` for ``n`` students (40: 14
    correct, 13 wrong, 4 hanging, 4 crashing, 5 mangled; scaled for other sizes)."""
    solutions = snap / "solutions"
    source = au.load_source(ASSIGNMENT, solutions)
    released = nbformat.read(release.generate(ASSIGNMENT, tmp / "exercises", solutions)
                             / au.source_path(ASSIGNMENT, solutions).name, as_version=4)
    good = au.filled_release(released, source)
    mutants = load_catalogue(ASSIGNMENT)
    counts = {k: max(1, round(v * n / 40)) for k, v in
              {"wrong": 13, "hanging": 4, "crashing": 4, "mangled": 5}.items()}
    counts["correct"] = max(1, n - sum(counts.values()))
    class_, kinds = {}, {}

    def add(kind, name, nb):
        class_[name], kinds[name] = nb, kind

    for i in range(counts["correct"]):
        add("correct", f"correct_{i:02d}", good)
    for i in range(counts["wrong"]):
        if i % 7 == 6:
            add("wrong", f"wrong_{i:02d}_untouched", released)
        else:
            m = mutants[i % len(mutants)]
            add("wrong", f"wrong_{i:02d}_{m.name}", au.filled_release(released, au.mutated_source(source, m)))
    for i in range(counts["hanging"]):
        add("hanging", f"hanging_{i:02d}", _with_first_answer(good, BUSY_LOOP))
    for i in range(counts["crashing"]):
        add("crashing", f"crashing_{i:02d}", _with_first_answer(good, SEGFAULT if i % 4 == 3 else OS_EXIT))
    broken = [_stripped(good), '{"cells": [{"cell_type": "code", "source": "x = 1"',
              '{"student": "me", "answers": [1, 2, 3]}', _stripped(au.filled_release(released, au.mutated_source(source, mutants[0]))),
              _stripped(good)]
    for i in range(counts["mangled"]):
        add("mangled", f"mangled_{i:02d}", broken[i % len(broken)])
    return class_, kinds


# ----------------------------------------------------------------------------- the three ways

def run_plain(subs: Path, out: Path, snap: Path) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Plain nbgrader by hand; returns timings and {student: {cell: points}} from its gradebook."""
    out.mkdir(parents=True)
    env = snapshot_env(snap)
    timings = {}
    start = time.perf_counter()
    # generate_assignment, as grade does
    grade.build_course(ASSIGNMENT, out, snap / "solutions", timeout_per_cell=CELL_TIMEOUT)
    timings["generate_assignment"] = time.perf_counter() - start
    notebook = au.source_path(ASSIGNMENT).name
    for path in sorted(subs.glob("*.ipynb")):
        dest = out / "submitted" / path.stem / ASSIGNMENT / notebook
        dest.parent.mkdir(parents=True)
        shutil.copyfile(path, dest)
    db = out / "gradebook.db"
    for step, extra in (("autograde", [f"--ExecutePreprocessor.timeout={CELL_TIMEOUT}",
                                       f"--ExecutePreprocessor.startup_timeout={grade.KERNEL_STARTUP_TIMEOUT}"]),
                        ("generate_feedback", [])):
        cmd = release.nbgrader_command(step, ASSIGNMENT, out, db, "--force", *extra)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=out, env=env, capture_output=True, text=True)
        timings[step] = time.perf_counter() - start
        (out / f"{step}.log").write_text(proc.stdout + proc.stderr)
    return timings, gradebook_points(db)


def gradebook_points(db: Path) -> dict[str, dict[str, float]]:
    query = """SELECT sa.student_id, bc.name, g.auto_score FROM grade g
               JOIN submitted_notebook sn ON g.notebook_id = sn.id
               JOIN submitted_assignment sa ON sn.assignment_id = sa.id
               JOIN base_cell bc ON g.cell_id = bc.id JOIN assignment a ON sa.assignment_id = a.id
               WHERE a.name = ?"""
    points: dict[str, dict[str, float]] = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        for student, cell, score in con.execute(query, (ASSIGNMENT,)):
            points.setdefault(student, {})[cell] = float(score or 0)
    return points


def run_make_grade(subs: Path, out: Path, snap: Path, *args: str, ready_kernels: bool = True
                   ) -> tuple[float, dict[str, dict[str, str]]]:
    """``python -m autograder.grade`` (what ``make grade`` runs), from the snapshot, timed whole;
    its grades.csv. ``ready_kernels=False`` sets ``SEQLAB_READY_KERNELS=0`` (no sandboxed kernel
    started one student ahead)."""
    cmd = [sys.executable, "-m", "autograder.grade", ASSIGNMENT, str(subs), "--out", str(out),
           "--solutions", str(snap / "solutions"), "--timeout-per-cell", str(CELL_TIMEOUT), *args]
    start = time.perf_counter()
    env = dict(snapshot_env(snap), **({} if ready_kernels else {"SEQLAB_READY_KERNELS": "0"}))
    proc = subprocess.run(cmd, cwd=snap, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 3):
        raise SystemExit(f"make grade {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        return seconds, {r["student_id"]: r for r in csv.DictReader(f)}


# ----------------------------------------------------------------------------- comparing

def compare(plain, one, two, cells, kinds) -> tuple[list[str], list[str]]:
    """(differences between --jobs 1 and --jobs 2, differences between plain nbgrader and
    make grade), one line per student."""
    jobs_diff, plain_diff = [], []
    for s in sorted(kinds):
        a, b = one.get(s), two.get(s)
        if a is None or b is None or a["status"] != b["status"] or any(a[c] != b[c] for c in cells):
            jobs_diff.append(f"{s}: --jobs 1 {a and a['status']} {a and a['score']}, "
                             f"--jobs 2 {b and b['status']} {b and b['score']}")
        mine = {c: float(a[c]) for c in cells} if a else {}
        theirs = {c: plain.get(s, {}).get(c, 0.0) for c in cells}
        if mine != theirs:
            plain_diff.append(f"{s} ({kinds[s]}): plain nbgrader {sum(theirs.values()):g}"
                              f"{'' if s in plain else ' (not graded)'}, make grade {a['score'] if a else '-'} "
                              f"({a['status'] if a else '-'})")
    return jobs_diff, plain_diff


def write_section(lines: list[str]) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.is_file() else "# Benchmark results\n"
    parts = text.split("\n## ")
    kept = [parts[0]] + ["## " + p for p in parts[1:] if not ("## " + p).startswith(HEADING)]
    RESULTS.write_text("\n\n".join(p.rstrip() for p in kept) + "\n\n" + "\n".join(lines).rstrip() + "\n",
                       encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--sandbox-students", type=int, default=6, metavar="N",
                        help="correct submissions graded with and without the sandbox (default 6)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results.md alone")
    parser.add_argument("--keep", type=Path, help="keep the grading folders here (default: a temporary folder)")
    args = parser.parse_args()
    os.environ.setdefault("SEQLAB_DEVICE", "cpu")
    stamp = f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
    load_before = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="seqlab-throughput-")) if args.keep is None else args.keep
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        snap = snapshot(tmp)
        class_, kinds = make_class(args.students, tmp, snap)
        subs = au.write_submissions(tmp / "submissions", class_)
        mix = {k: sum(v == k for v in kinds.values()) for k in ("correct", "wrong", "hanging", "crashing", "mangled")}
        print(f"{len(class_)} submissions of {ASSIGNMENT}: {mix}", flush=True)

        plain_t, plain_points = run_plain(subs, tmp / "plain", snap)
        plain_total = sum(plain_t.values())
        print(f"plain nbgrader: {plain_total:.1f} s ({', '.join(f'{k} {v:.1f}' for k, v in plain_t.items())})", flush=True)
        one_t, one = run_make_grade(subs, tmp / "jobs1", snap, "--jobs", "1")
        print(f"make grade --jobs 1: {one_t:.1f} s", flush=True)
        two_t, two = run_make_grade(subs, tmp / "jobs2", snap, "--jobs", "2")
        print(f"make grade --jobs 2: {two_t:.1f} s", flush=True)
        cells = list(grade.graded_test_cells(au.load_source(ASSIGNMENT, snap / "solutions")))
        jobs_diff, plain_diff = compare(plain_points, one, two, cells, kinds)

        few = [s for s in kinds if kinds[s] == "correct"][:args.sandbox_students]
        correct = au.write_submissions(tmp / "correct", {s: class_[s] for s in few})
        boxed_t, boxed = run_make_grade(correct, tmp / "sandboxed", snap, "--jobs", "1", "--no-feedback",
                                        ready_kernels=False)
        bare_t, bare = run_make_grade(correct, tmp / "unsandboxed", snap, "--jobs", "1", "--no-feedback", "--no-sandbox")
        n_correct = len(boxed)
        per_student = {k: sum(float(r["seconds"]) for r in rows.values()) / n_correct
                       for k, rows in (("sandboxed", boxed), ("unsandboxed", bare))}
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    load_after = os.getloadavg()

    statuses = {}
    for r in one.values():
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    lines = [
        HEADING, "",
        f"Written by `python bench/throughput.py` ({stamp}) on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, CPU only; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after (1 minute)." + (
            " The machine was busy (a load above its number of cores: other people's tests ran beside "
            "this one), so these times are noisy and the three ways did not run under the same load; "
            "re-run `python bench/throughput.py` on a quiet machine before relying on the ratios."
            if max(load_before[0], load_after[0]) > (os.cpu_count() or 1) else ""),
        "",
        f"One class of {len(kinds)} {ASSIGNMENT} submissions, graded three ways one after the other with "
        f"{CELL_TIMEOUT} s per cell: " + ", ".join(f"{v} {k}" for k, v in mix.items()) + " (see the script's "
        "docstring). make grade's statuses: " + ", ".join(f"{v} {k}" for k, v in sorted(statuses.items())) + ".",
        "",
        "| way | seconds | per student | speed-up over plain |",
        "|---|---:|---:|---:|",
        f"| plain serial nbgrader (generate_assignment {plain_t['generate_assignment']:.1f} + autograde "
        f"{plain_t['autograde']:.1f} + generate_feedback {plain_t['generate_feedback']:.1f}) | {plain_total:.1f} | "
        f"{plain_total / len(kinds):.1f} | 1.00x |",
        f"| `make grade` `--jobs 1` | {one_t:.1f} | {one_t / len(kinds):.1f} | {plain_total / one_t:.2f}x |",
        f"| `make grade` `--jobs 2` | {two_t:.1f} | {two_t / len(kinds):.1f} | {plain_total / two_t:.2f}x |",
        "",
        f"Targets: `--jobs 1` at least 1.00x, `--jobs 2` at least 1.6x: "
        f"{'met' if plain_total / one_t >= 1 else 'NOT met'} and {'met' if plain_total / two_t >= 1.6 else 'NOT met'} "
        f"in this run.",
        "",
        ("Grades: `--jobs 1` and `--jobs 2` agree on every student's status and on the points of every test cell."
         if not jobs_diff else "Grades: **`--jobs 1` and `--jobs 2` DISAGREE**:\n" + "\n".join(f"- {d}" for d in jobs_diff)),
        "",
        f"Plain nbgrader gives the same points in every cell to {len(kinds) - len(plain_diff)} of {len(kinds)} "
        f"students; it differs on {len(plain_diff)}, each a submission it cannot grade as handed in (make grade "
        f"repairs a mangled notebook; a file that is not a notebook gets no grade from nbgrader):",
        "", *(f"- {d}" for d in plain_diff), "",
        "`make grade` starts each sandboxed student's kernel while the previous student runs (a ready "
        "kernel, with numpy and torch imported: autograder/sandbox.py); with `--jobs 1` that start-up runs "
        "on the second core. `SEQLAB_READY_KERNELS=0` turns it off.",
        "",
        f"The sandbox's cost (ready kernels off, so both sides start each kernel when the student's turn "
        f"comes): the {n_correct} correct submissions graded with `--jobs 1 --no-feedback`, "
        f"{per_student['sandboxed']:.2f} s per student sandboxed, {per_student['unsandboxed']:.2f} s with "
        f"`--no-sandbox` (the `seconds` column of grades.csv: the autograde of one student), so "
        f"{per_student['sandboxed'] - per_student['unsandboxed']:+.2f} s per student; whole runs {boxed_t:.1f} s "
        f"and {bare_t:.1f} s.",
        "",
    ]
    print("\n".join(lines))
    if not args.no_write:
        write_section(lines)
        print(f"wrote {RESULTS}")
    return 1 if jobs_diff else 0


if __name__ == "__main__":
    sys.exit(main())
