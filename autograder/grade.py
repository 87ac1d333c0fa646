"""``make grade``: autograde a folder of student submissions with nbgrader.

    python -m autograder.grade a01 submissions/ --out grades/ [--timeout-per-cell 60]
                               [--timeout-per-student 300] [--jobs 1] [--no-feedback]
                               [--memory-limit 4096] [--max-processes 256] [--no-sandbox]

``ASSIGNMENT`` is a folder name in ``solutions/`` or its prefix (``a01`` = ``a01_language_models``).
``SUBMISSIONS`` holds one entry per student, in either layout (they can be mixed):

    submissions/jane_doe.ipynb                 # a notebook file: the student id is the file name
    submissions/jane_doe/anything.ipynb        # a folder: the student id is the folder name; it
                                               # holds one notebook (or one named like the
                                               # assignment's notebook), at any depth

Student ids are sanitised to letters, digits, ``_`` and ``-`` (``Jane Doe (2).ipynb`` ->
``Jane_Doe_2``; clashes get ``_2``, ``_3``...). Other files are ignored, with a warning.
``SUBMISSIONS`` may also be a learning platform's export as downloaded (a ``.zip`` from Canvas,
Moodle or Blackboard; ``--platform``, ``--id-pattern``), and ``--roster CSV`` names the class
(:mod:`autograder.collect`: latest resubmission, hostile archives, ``OUT/collection.json``).
``--db postgresql://...`` grades into a shared PostgreSQL gradebook instead of ``OUT/gradebook.db``,
and ``--shard i/n`` grades every n-th student only (:mod:`autograder.gradebook_db`, which merges
the shards).

``OUT`` becomes a fresh nbgrader course directory (``nbgrader_config.py``, ``gradebook.db``,
``source/``, ``release/``, ``submitted/``, ``autograded/``, ``feedback/``) plus:

- ``grades.csv``: one row per submission, also those that could not be graded (score 0):
  ``student_id, status, score, max_score``, the points of every test cell (by grade_id),
  ``details`` (why points were lost), ``seconds`` (grading time), ``submission`` (the file) and
  ``name`` (from the platform's file names or ``--roster``; else empty);
- ``logs/<student>.log``: nbgrader's log for that student;
- ``feedback/<student>/<assignment>/<notebook>.html``: nbgrader's feedback page, made by the
  student's grading worker right after their autograde (``nbgrader generate_feedback --student``;
  its log is ``logs/_generate_feedback.log``);
- ``report.html``: the class report (:mod:`autograder.report`): score distribution, each test
  cell's failure rate, the most common recognised mistakes, statuses, grading time per student;
- ``GRADEBOOK_CHECK_FAILED.txt``: only when the gradebook check below failed.

When a student's failing test cells and the checks' messages match a typical mistake of the
assignment's mutant catalogue (:mod:`autograder.diagnose`), ``details`` and the top of the
feedback page name it in words ("likely mistake: ...").

Student code is hostile input. Each notebook's kernel runs in a bubblewrap sandbox
(:mod:`autograder.sandbox`): read-only system, its own scratch folder, no view of the output
folder (gradebook, other students), the submissions or the solutions, no network, memory, CPU
and process limits, and every process it started dies with it. The run starts by checking that
the sandbox works and refuses to go on without it unless ``--no-sandbox`` is given. nbgrader
itself (which writes the gradebook) runs outside the sandbox.

Before grading, each notebook is realigned with the release (:mod:`autograder.repair`): cells
whose nbgrader metadata an editor dropped, copied ``grade_id``s, changed cell types and deleted
test cells are repaired instead of costing the points.

After grading, the gradebook is checked against ``grades.csv`` (:func:`verify_gradebook`): every
student's total, no manual score, extra credit or late penalty that nobody entered, no trigger,
view or other object the run did not create. Any difference is printed loudly with the students
affected and makes the exit status 3.

Each student is autograded by ``nbgrader autograde --student`` in a long-lived grading worker
(:mod:`autograder.worker`: one nbgrader process per job, ``--jobs N`` of them, each grading one
student after the other, every notebook in a fresh kernel of its own), so nbgrader's start-up is
paid once per job, not once per student. A student whose code hangs or kills the kernel cannot
stop the others: the kernel's death ends only that notebook, and a student still running after
``--timeout-per-student`` has its worker killed (kernel and sandbox with it) and replaced. Statuses:

``graded``
    nbgrader ran the whole notebook; the score is the sum of the test cells' points.
``graded (repaired: ...)``
    the same, for a notebook that had to be realigned with the release first (``metadata``,
    ``deleted cells``, ``cell types``, ``duplicate ids``, ``stray ids``); ``details`` lists each
    repair.
``timed out``
    a cell ran longer than ``--timeout-per-cell`` seconds (nbgrader interrupts it, records a
    ``CellTimeoutError`` in that cell and goes on, so the other cells are still scored), or the
    whole student took longer than ``--timeout-per-student`` (the process tree is killed; score 0).
``kernel died``
    the Python kernel exited while running the notebook (``os._exit``, a segfault, running out of
    memory or CPU time): nbgrader stops that notebook (``DeadKernelError``) and records no score (0).
``invalid notebook``
    the file is not JSON, or is JSON but not a version-4 notebook; it is never run (score 0).
``error``
    anything else (no notebook in a student's folder, nbgrader failed): the reason is in
    ``details`` and ``logs/<student>.log`` (score 0).
``missing``
    on the ``--roster``, but nothing was submitted (score 0).

A run that fails for a reason of the grading machine rather than of the submission (the kernel
did not start, or not within ``KERNEL_STARTUP_TIMEOUT`` seconds, or the gradebook was locked by a
parallel job) is run once more for that student, alone, after the others; only a second failure
is reported, as ``error``.

A test cell earns its points when it runs without an error *and writes nothing to stderr*:
nbgrader scores a test cell 0 as soon as the cell has any stderr output, even if every assert
passed. The hidden checks are silent, but a student's function called from a test cell may not be
(``print(..., file=sys.stderr)``, ``warnings.warn``, a tqdm progress bar). Such cells are listed in
``details`` as ``<grade_id>: output on stderr``, and the feedback page shows the text, so an
instructor can spot them and regrade by hand. Output on stderr in the student's own (solution)
cells costs nothing.

The exit status is 0 when the run completed, whatever the students' statuses; 2 for usage
errors (unknown assignment, missing submissions folder, an output folder that holds something
else); 1 when the assignment itself could not be prepared; 3 when the run completed but the
gradebook check failed; 4 when the sandbox does not work here (and ``--no-sandbox`` was not given).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import repair, sandbox
from autograder import collect, gradebook_db
from autograder import diagnose, report
from autograder.release import (COURSE_ID, SOLUTIONS, ReleaseError, copy_assignment_source,
                                generate_assignment, nbgrader_command,
                                resolve_assignment, source_notebook_path, subprocess_env,
                                write_notebook)
from autograder.worker import WorkerPool

GRADED = "graded"
TIMED_OUT = "timed out"
KERNEL_DIED = "kernel died"
FEEDBACK_TIMEOUT = 300  # seconds for one student's feedback page (nbgrader generate_feedback --student)
INVALID = "invalid notebook"
ERROR = "error"
MISSING = "missing"  # on the roster (--roster), nothing submitted
STATUSES = (GRADED, TIMED_OUT, KERNEL_DIED, INVALID, ERROR, MISSING)

MARKER = ".seqlab-grading"  # marks an output folder made by this command (safe to replace)
TIMEOUT_ENAME = "CellTimeoutError"  # what nbgrader's Execute records in a cell that timed out
# Failures of the grading machine, not of the student: the kernel did not start in time (a
# loaded machine) or died before its first reply, so no student code had run; or another nbgrader
# process held the SQLite gradebook. Such a student is graded once more, alone, after the others.
INFRASTRUCTURE_FAILURES = ("database is locked", "Kernel didn't respond in",
                           "Kernel died before replying to kernel_info")
KERNEL_STARTUP_TIMEOUT = 180  # s; nbclient's default of 60 s is too short on a busy 2-core machine


class UsageError(Exception):
    """Bad arguments: reported with exit status 2."""


class SandboxError(Exception):
    """The sandbox does not work on this machine (and ``--no-sandbox`` was not given): exit 4."""


@dataclass
class Submission:
    student_id: str
    path: Path | None          # the notebook to grade (None when none was found)
    origin: Path               # what the student handed in (file or folder)
    problem: str = ""          # why it cannot be graded (filled by collect/validate)
    problem_status: str = ""   # INVALID or ERROR when problem is set


@dataclass
class StudentResult:
    student_id: str
    status: str
    score: float
    max_score: float
    cell_scores: dict[str, float]       # test cell grade_id -> points earned
    cell_errors: dict[str, str] = field(default_factory=dict)  # grade_id -> why it lost points
    details: str = ""
    seconds: float = 0.0
    submission: str = ""
    name: str = ""                      # from the platform export or the roster (--roster)


@dataclass
class GradingRun:
    assignment: str
    out_dir: Path
    test_cells: dict[str, float]        # grade_id -> max points, in notebook order
    results: list[StudentResult]
    sandboxed: bool = True
    gradebook_problems: list[str] = field(default_factory=list)  # see verify_gradebook

    def by_student(self) -> dict[str, StudentResult]:
        return {r.student_id: r for r in self.results}


# ----------------------------------------------------------------------------- submissions

def sanitize_student_id(name: str) -> str:
    """Letters, digits, ``_`` and ``-`` only (nbgrader uses ids in paths and patterns)."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_-")
    return cleaned or "student"


def _notebooks_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.ipynb")
                  if p.is_file() and not any(part.startswith(".") or part == "__MACOSX"
                                             for part in p.relative_to(folder).parts))


def collect_submissions(folder: Path, notebook_name: str) -> list[Submission]:
    """One :class:`Submission` per ``*.ipynb`` file and per sub-folder of ``folder``."""
    subs: list[Submission] = []
    taken: set[str] = set()

    def unique(name: str) -> str:
        base = sanitize_student_id(name)
        sid, k = base, 2
        while sid in taken:
            sid, k = f"{base}_{k}", k + 1
        taken.add(sid)
        return sid

    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name == "__MACOSX":
            continue
        if entry.is_dir():
            sid = unique(entry.name)
            found = _notebooks_in(entry)
            named = [p for p in found if p.name == notebook_name]
            if len(found) == 1:
                subs.append(Submission(sid, found[0], entry))
            elif len(named) == 1:
                subs.append(Submission(sid, named[0], entry))
            elif not found:
                subs.append(Submission(sid, None, entry, "no .ipynb file in the student's folder", ERROR))
            else:
                names = ", ".join(str(p.relative_to(entry)) for p in found)
                subs.append(Submission(sid, None, entry, f"several notebooks in the student's folder and "
                                                         f"none named {notebook_name}: {names}", ERROR))
        elif entry.suffix == ".ipynb":
            subs.append(Submission(unique(entry.stem), entry, entry))
        else:
            print(f"warning: ignoring {entry} (not a .ipynb file or a folder)", file=sys.stderr)
    return subs


def read_submission(path: Path) -> nbformat.NotebookNode:
    """The submitted notebook, outputs cleared, or ValueError saying why it is not a notebook."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 text ({e.reason})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list) or "nbformat" not in data:
        raise ValueError("valid JSON but not a Jupyter notebook (no 'cells' list or 'nbformat')")
    if data.get("nbformat") != 4:
        raise ValueError(f"notebook format {data.get('nbformat')!r}, expected 4")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. missing cell ids: nbformat adds them
            nb = nbformat.reads(text, as_version=4)
        # Outputs are not graded (nbgrader clears them too), and broken widget outputs are a
        # common reason for an otherwise fine notebook to fail validation.
        for cell in nb.cells:
            if cell.get("cell_type") == "code":
                cell["outputs"] = []
                cell["execution_count"] = None
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        raise ValueError(f"not a valid notebook: {e.message}") from None
    except Exception as e:  # nbformat raises various errors on malformed cells
        raise ValueError(f"not a valid notebook: {type(e).__name__}: {e}") from None
    return nb


# ----------------------------------------------------------------------------- course directory

CONFIG_TEMPLATE = '''"""nbgrader settings of this grading folder (written by `python -m autograder.grade`).

Run further nbgrader commands from this folder, e.g. `nbgrader export` or `nbgrader formgrader`.
"""
import os

c = get_config()  # noqa: F821
_here = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = _here
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.db_url = {db_url}
c.ExecutePreprocessor.timeout = {timeout}
c.ExecutePreprocessor.startup_timeout = {startup}
'''


def prepare_out_dir(out_dir: Path) -> None:
    """Create ``out_dir`` empty; replace it only if an earlier run of this command made it."""
    if out_dir.exists():
        if not out_dir.is_dir():
            raise UsageError(f"--out {out_dir} is a file")
        if any(out_dir.iterdir()):
            if not (out_dir / MARKER).exists():
                raise UsageError(f"--out {out_dir} exists and was not made by this command; "
                                 f"choose another folder or remove it")
            shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).write_text("made by python -m autograder.grade; replaced by the next run\n")


def build_course(assignment: str, out_dir: Path, solutions_dir: Path = SOLUTIONS,
                 timeout_per_cell: int = 60, db_url: str | None = None) -> Path | str:
    """Turn the (empty) ``out_dir`` into an nbgrader course directory with ``assignment``
    generated into its gradebook: ``out_dir/gradebook.db``, or the shared database ``db_url``
    (:mod:`autograder.gradebook_db`). Returns the gradebook's path, or its URL."""
    url = gradebook_db.record_url(out_dir, db_url)  # url_for(out_dir) finds it from now on
    db: Path | str = out_dir / "gradebook.db" if db_url is None else url
    (out_dir / "nbgrader_config.py").write_text(
        CONFIG_TEMPLATE.format(course_id=COURSE_ID, timeout=int(timeout_per_cell),
                               startup=KERNEL_STARTUP_TIMEOUT,
                               db_url='"sqlite:///" + os.path.join(_here, "gradebook.db")' if db_url is None
                               else repr(url)), encoding="utf-8")
    copy_assignment_source(assignment, out_dir, solutions_dir)
    with gradebook_db.exclusive(url, f"generate {assignment}"):  # shards starting together: one at a time
        generate_assignment(assignment, out_dir, db, log_path=out_dir / "logs" / "_generate_assignment.log")
    return db


def graded_test_cells(nb: nbformat.NotebookNode) -> dict[str, float]:
    """grade_id -> points of every autograded test cell, in notebook order."""
    cells = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution") and cell.get("cell_type") == "code":
            cells[meta["grade_id"]] = float(meta.get("points", 0))
    return cells


# ----------------------------------------------------------------------------- grading

def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill ``proc`` and every process it started (the kernel runs in its own session, so a
    process-group kill alone would leave it spinning)."""
    try:
        import psutil  # a dependency of ipykernel and jupyter_server
        children = psutil.Process(proc.pid).children(recursive=True)
    except Exception:
        children = []
    for child in children:
        try:
            child.kill()
        except Exception:
            pass
    try:
        os.killpg(proc.pid, 9)
    except Exception:
        proc.kill()
    proc.wait()


@dataclass
class SandboxPlan:
    """How this run sandboxes kernels (see :mod:`autograder.sandbox`); None means no sandbox."""
    jupyter_dir: Path                   # holds the sandbox kernelspec
    hide: list[Path]                    # the output folder, submissions, solutions
    limits: sandbox.Limits
    scratch_root: Path                  # the students' scratch folders (short: socket paths)


def run_autograde(assignment: str, student_id: str, out_dir: Path, timeout_per_cell: int,
                  timeout_per_student: float, *, plan: SandboxPlan | None = None
                  ) -> tuple[int | None, float, str]:
    """``nbgrader autograde --student``: (exit code, or None if killed by the backstop; seconds;
    log text). The log is also written to ``logs/<student>.log``. With a ``plan``, the notebook's
    kernel runs in that student's sandbox. Inside :func:`_autograde_all` the command runs in the
    grading worker this thread holds (:mod:`autograder.worker`: one long-lived nbgrader process
    per job, same command line and environment), otherwise in a subprocess of its own."""
    extra, env = [], subprocess_env()
    settings = None
    if plan is not None:
        settings = sandbox.settings_for(plan.scratch_root, student_id, plan.hide, plan.limits)
        extra, env = sandbox.nbgrader_args(settings), sandbox.student_env(env, settings, plan.jupyter_dir)
    cmd = nbgrader_command("autograde", assignment, out_dir, gradebook_db.url_for(out_dir),
                           "--student", student_id, "--force",
                           f"--ExecutePreprocessor.timeout={int(timeout_per_cell)}",
                           f"--ExecutePreprocessor.startup_timeout={KERNEL_STARTUP_TIMEOUT}", *extra)
    log_path = out_dir / "logs" / f"{student_id}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    held = getattr(_WORKER, "worker", None)
    if held is not None:
        log_path.write_text("", encoding="utf-8")
        code, _ = held.grade(cmd[cmd.index("nbgrader") + 1:], env, log_path, timeout_per_student)
        if code is None:
            with open(log_path, "a", encoding="utf-8") as log:
                log.write(f"\n[autograder.grade] stopped after {timeout_per_student:g} s (--timeout-per-student)\n")
    else:
        with open(log_path, "w", encoding="utf-8") as log:
            proc = subprocess.Popen(cmd, cwd=out_dir, env=env, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            try:
                code = proc.wait(timeout=timeout_per_student)
            except subprocess.TimeoutExpired:
                _kill_tree(proc)
                code = None
                log.write(f"\n[autograder.grade] stopped after {timeout_per_student:g} s (--timeout-per-student)\n")
    if settings is not None:
        shutil.rmtree(settings.scratch, ignore_errors=True)  # what the student wrote; never read
    seconds = time.monotonic() - start
    return code, seconds, log_path.read_text(encoding="utf-8", errors="replace")


# The grading worker (autograder.worker.Worker) that the current thread holds, if any: set by
# _autograde_all around each call of run_autograde.
_WORKER = threading.local()


def cell_outcomes(nb: nbformat.NotebookNode) -> dict[str, str]:
    """For an autograded notebook: grade_id -> what went wrong in that cell (error name, or
    'output on stderr'), for every grade cell (test or solution) that has a problem, and
    ``cell <n>`` keys for other cells that timed out."""
    problems: dict[str, str] = {}
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {index}"
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        stderr = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
        if any(o.get("ename") == TIMEOUT_ENAME for o in errors):
            problems[gid] = TIMEOUT_ENAME
        elif errors:
            first = errors[0]
            value = " ".join(str(first.get("evalue", "")).split())
            problems[gid] = f"{first.get('ename')}: {value[:120]}" if value else str(first.get("ename"))
        elif stderr:
            problems[gid] = "output on stderr"
    return problems


def _last_error_line(log: str) -> str:
    """The most telling line of an nbgrader log: the last exception or ERROR message."""
    exc = re.findall(r"^\s*((?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit)\b.*)$", log, re.M)
    if exc:
        return exc[-1].strip()
    errors = [l for l in log.splitlines() if "| ERROR]" in l]
    return errors[0].split("]", 1)[-1].strip() if errors else ""


def read_scores(db_path: Path | str, assignment: str, student_id: str) -> dict[str, float | None]:
    """grade_id -> score (None when nbgrader recorded none) from the gradebook (a SQLite path or
    a URL)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(gradebook_db.as_url(db_path), COURSE_ID) as gb:
        try:
            submission = gb.find_submission(assignment, student_id)
        except MissingEntry:
            return {}
        scores: dict[str, float | None] = {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                auto, manual = grade.auto_score, grade.manual_score
                scores[grade.name] = manual if manual is not None else auto
        return scores


def classify(sub: Submission, out_dir: Path, assignment: str, notebook_name: str,
             test_cells: dict[str, float], code: int | None, seconds: float, log: str,
             timeout_per_cell: int, timeout_per_student: float) -> StudentResult:
    """Status, score and details of one student from nbgrader's exit code, log, gradebook and
    autograded notebook."""
    zero = {gid: 0.0 for gid in test_cells}
    max_score = sum(test_cells.values())
    base = dict(student_id=sub.student_id, max_score=max_score, seconds=round(seconds, 1),
                submission=str(sub.origin))
    if code is None:
        return StudentResult(status=TIMED_OUT, score=0.0, cell_scores=zero, **base,
                             details=f"grading took longer than {timeout_per_student:g} s and was stopped")
    autograded = out_dir / "autograded" / sub.student_id / assignment / notebook_name
    if code != 0 or not autograded.is_file():
        if marker := infrastructure_failure(code, log):
            return StudentResult(status=ERROR, score=0.0, cell_scores=zero, **base,
                                 details=f"grading failed twice for a reason of the grading machine, not the "
                                         f"notebook ({marker}); grade this student again "
                                         f"(see logs/{sub.student_id}.log)")
        if "DeadKernelError" in log or "Kernel died" in log:
            return StudentResult(status=KERNEL_DIED, score=0.0, cell_scores=zero, **base,
                                 details="the kernel died while running the notebook (os._exit, a crash, "
                                         "out of memory or CPU time); nbgrader records no score")
        if TIMEOUT_ENAME in log or "UnresponsiveKernelError" in log or "became unresponsive" in log:
            # e.g. a loop that catches KeyboardInterrupt: nbgrader's interrupt does not stop it
            preview = re.search(r"preview of the cell contents:\s*-+\s*\n\s*(.+)", log)
            where = f" (the cell starting {preview.group(1).strip()[:80]})" if preview else ""
            return StudentResult(status=TIMED_OUT, score=0.0, cell_scores=zero, **base,
                                 details=f"a cell exceeded {timeout_per_cell} s and did not stop when "
                                         f"interrupted{where}; nbgrader records no score")
        reason = _last_error_line(log) or f"nbgrader exited with status {code}"
        return StudentResult(status=ERROR, score=0.0, cell_scores=zero, **base,
                             details=f"{reason} (see logs/{sub.student_id}.log)")

    scores = read_scores(gradebook_db.url_for(out_dir), assignment, sub.student_id)
    cell_scores = {gid: float(scores.get(gid) or 0.0) for gid in test_cells}
    graded_nb = nbformat.read(autograded, as_version=4)
    problems = cell_outcomes(graded_nb)
    present = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in graded_nb.cells}
    for gid in test_cells:
        if gid not in present:
            problems[gid] = "cell missing from the submission (deleted, or its nbgrader metadata removed)"
    timed_out = [gid for gid, why in problems.items() if why == TIMEOUT_ENAME]
    lost = {gid: problems.get(gid, "lost points") for gid in test_cells if cell_scores[gid] < test_cells[gid]}
    details = []
    if timed_out:
        details.append(f"exceeded {timeout_per_cell} s: {', '.join(timed_out)}")
    details += [f"{gid}: {why}" for gid, why in lost.items() if why != TIMEOUT_ENAME]
    return StudentResult(status=TIMED_OUT if timed_out else GRADED, score=sum(cell_scores.values()),
                         cell_scores=cell_scores, cell_errors=lost, details="; ".join(details), **base)


def infrastructure_failure(code: int | None, log: str) -> str | None:
    """The marker of a failure that says nothing about the submission, or None."""
    if code in (0, None):
        return None
    return next((marker for marker in INFRASTRUCTURE_FAILURES if marker in log), None)


def _autograde_all(subs: list[Submission], assignment: str, out_dir: Path, notebook_name: str,
                   test_cells: dict[str, float], timeout_per_cell: int, timeout_per_student: float,
                   jobs: int, say, plan: SandboxPlan | None = None,
                   use_workers: bool = True, feedback_failed: list[str] | None = None,
                   pool: WorkerPool | None = None) -> list[tuple[Submission, StudentResult]]:
    """Autograde ``subs`` (``jobs`` at a time) and classify them. With ``use_workers`` each job
    is one long-lived grading worker (:mod:`autograder.worker`) that grades its students one after
    the other, each notebook in a fresh kernel of its own; without, each student gets its own
    ``nbgrader autograde`` process. A worker whose student outlives ``timeout_per_student`` is
    killed (with that student's kernel) and replaced.

    A student whose run failed for a reason in ``INFRASTRUCTURE_FAILURES`` (a kernel that did
    not start; with ``jobs > 1``, a gradebook locked by another nbgrader process) is graded once
    more, alone, after the others; if it fails again the status is ``error`` with the reason in
    ``details``.

    With a ``feedback_failed`` list (and workers), each autograded student's feedback page is made
    right after their autograde, by the same worker (``nbgrader generate_feedback --student``), so
    with ``jobs > 1`` feedback pages are made in parallel too; the students whose feedback failed
    are appended to the list (the log is ``logs/_generate_feedback.log``)."""
    done: list[tuple[Submission, StudentResult]] = []

    own_pool = pool is None and use_workers  # a pool passed in (already warming up) is the caller's to close
    if own_pool:
        pool = WorkerPool(max(1, jobs), out_dir, subprocess_env(), out_dir / "logs")
    elif not use_workers:
        pool = None

    def grade_one(sub: Submission):
        sandboxed = {"plan": plan} if plan is not None else {}
        if pool is None:
            return run_autograde(assignment, sub.student_id, out_dir, timeout_per_cell, timeout_per_student, **sandboxed)
        with pool.lease() as worker:
            _WORKER.worker = worker
            try:
                raw = run_autograde(assignment, sub.student_id, out_dir, timeout_per_cell, timeout_per_student,
                                    **sandboxed)
            finally:
                _WORKER.worker = None
            if feedback_failed is not None and (out_dir / "autograded" / sub.student_id / assignment).is_dir():
                cmd = nbgrader_command("generate_feedback", assignment, out_dir, gradebook_db.url_for(out_dir),
                                       "--student", sub.student_id, "--force")
                code, _ = worker.grade(cmd[cmd.index("nbgrader") + 1:], subprocess_env(),
                                       out_dir / "logs" / "_generate_feedback.log", FEEDBACK_TIMEOUT)
                if code != 0:
                    feedback_failed.append(sub.student_id)
            return raw

    def finish(sub: Submission, raw, retry: list[Submission] | None) -> None:
        code, seconds, log = raw
        marker = infrastructure_failure(code, log)
        if retry is not None and marker:
            say(f"{sub.student_id}: grading failed ({marker!r}); will grade again alone", flush=True)
            retry.append(sub)
            return
        result = classify(sub, out_dir, assignment, notebook_name, test_cells, code, seconds, log,
                          timeout_per_cell, timeout_per_student)
        done.append((sub, result))
        say(f"[{len(done)}/{len(subs)}] {sub.student_id}: {result.status} ({seconds:.1f} s)", flush=True)

    retry: list[Submission] = []
    try:
        if jobs <= 1:
            for sub in subs:
                finish(sub, grade_one(sub), retry)
        else:
            from concurrent.futures import ThreadPoolExecutor, as_completed

            with ThreadPoolExecutor(max_workers=jobs) as threads:  # threads only wait on workers
                futures = {threads.submit(grade_one, sub): sub for sub in subs}
                for future in as_completed(futures):
                    finish(futures[future], future.result(), retry)
        for sub in retry:
            finish(sub, grade_one(sub), None)
    finally:
        if own_pool:
            pool.close()
    return done


# ----------------------------------------------------------------------------- the gradebook check

def gradebook_schema(db_path: Path | str) -> set[tuple[str, str, str]]:
    """Every object of the gradebook (a SQLite path or a URL) that could change what it reports:
    (kind, name, definition); SQLite: tables, indexes, triggers, views; PostgreSQL: those plus
    rules, policies and functions (:func:`autograder.gradebook_db.schema`)."""
    return gradebook_db.schema(gradebook_db.as_url(db_path))


def verify_gradebook(db_path: Path | str, assignment: str, results: list[StudentResult],
                     schema_before: set[tuple[str, str, str]], only: set[str] | None = None) -> list[str]:
    """What is wrong in the gradebook after a run (empty when nothing is): objects the grader did
    not create (a trigger, a view), scores nobody entered (``manual_score``, ``extra_credit``, a
    late penalty), and students whose total differs from ``grades.csv``. Each line names the
    students affected. With ``only`` (a shared gradebook: other shards and graders write to it),
    the scores of those students alone are checked."""
    problems = []
    schema = gradebook_schema(db_path)
    for kind, name, sql in sorted(schema - schema_before):
        changed = "changed" if any(n == name for _, n, _ in schema_before) else "added"
        problems.append(f"gradebook {kind} {name!r} was {changed} during grading: {' '.join(sql.split())[:200]}")
    for kind, name, _ in sorted(schema_before - schema):
        if not any(n == name for _, n, _ in schema):
            problems.append(f"gradebook {kind} {name!r} was removed during grading")
    totals: dict[str, float] = {}
    manual: dict[str, list[str]] = {}
    for student, cell, auto, man, extra, penalty in gradebook_db.scores(gradebook_db.as_url(db_path), assignment):
        if only is None or student in only:
            if man is not None or extra is not None or penalty:
                manual.setdefault(student, []).append(cell)
            totals[student] = totals.get(student, 0.0) + float((man if man is not None else auto) or 0) \
                + float(extra or 0)
    if manual:
        problems.append(f"manual scores, extra credit or late penalties that nobody entered, for "
                        f"{len(manual)} student(s): " + "; ".join(f"{s} ({', '.join(sorted(set(c)))})"
                                                                 for s, c in sorted(manual.items())))
    csv_scores = {r.student_id: r.score for r in results}
    differ = [f"{s} (gradebook {totals.get(s, 0.0):g}, grades.csv {csv_scores.get(s, 0.0):g})"
              for s in sorted(set(totals) | set(csv_scores))
              if abs(totals.get(s, 0.0) - csv_scores.get(s, 0.0)) > 1e-9 or s not in csv_scores]
    if differ:
        problems.append(f"gradebook totals differ from grades.csv for {len(differ)} student(s): " + "; ".join(differ))
    return problems


def report_gradebook_problems(problems: list[str], path: Path) -> None:
    """Say loudly (stderr and ``path``) that the gradebook cannot be trusted."""
    text = ("GRADEBOOK CHECK FAILED: the gradebook does not match what this run graded, so "
            "nbgrader export and formgrader would show wrong grades. grades.csv holds the scores "
            "this run computed; inspect or discard gradebook.db.\n" + "\n".join(f"- {p}" for p in problems) + "\n")
    path.write_text(text, encoding="utf-8")
    bar = "!" * 78
    print(f"\n{bar}\n{text}{bar}", file=sys.stderr, flush=True)


def write_csv(run: GradingRun, path: Path) -> None:
    """``grades.csv``: every student, their status, score and the points of each test cell."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", "status", "score", "max_score", *run.test_cells,
                         "details", "seconds", "submission", "name"])
        for r in sorted(run.results, key=lambda r: r.student_id):
            writer.writerow([r.student_id, r.status, f"{r.score:g}", f"{r.max_score:g}",
                             *(f"{r.cell_scores.get(g, 0.0):g}" for g in run.test_cells),
                             r.details, f"{r.seconds:.1f}", r.submission, r.name])


def format_table(run: GradingRun) -> str:
    rows = [("student", "status", "score", "seconds", "details")]
    for r in sorted(run.results, key=lambda r: r.student_id):
        details = r.details if len(r.details) <= 90 else r.details[:87] + "..."
        rows.append((r.student_id, r.status, f"{r.score:g}/{r.max_score:g}", f"{r.seconds:.1f}", details))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)) + "  " + row[4] for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(line.rstrip() for line in lines)


def _grade_collected(assignment: str, submissions_dir: Path, out_dir: Path, notebook_name: str,
                     test_cells: dict[str, float], timeout_per_cell: int, timeout_per_student: float,
                     jobs: int, say, plan: SandboxPlan | None,
                     intake: collect.Intake | None = None,
                     feedback_failed: list[str] | None = None,
                     pool: WorkerPool | None = None) -> list[StudentResult]:
    """Collect, check, repair and autograde every submission of ``submissions_dir`` (a folder, or
    a platform's archive: :mod:`autograder.collect`; with ``--shard``, this shard's part): one
    result per student, broken submissions and the roster's missing students included."""
    subs, missing, names, notes = _collect(assignment, submissions_dir, out_dir, notebook_name,
                                           intake or collect.Intake())
    if not subs and not missing:
        print(f"warning: no submissions in {submissions_dir}", file=sys.stderr)
    results: list[StudentResult] = []
    to_grade: list[Submission] = []
    released = nbformat.read(out_dir / "release" / assignment / notebook_name, as_version=4)
    repairs: dict[str, list[str]] = {}
    for sub in subs:
        common = dict(student_id=sub.student_id, score=0.0, max_score=sum(test_cells.values()),
                      cell_scores={gid: 0.0 for gid in test_cells}, submission=str(sub.origin))
        if sub.problem:
            results.append(StudentResult(status=sub.problem_status, details=sub.problem, **common))
            continue
        try:
            nb = read_submission(sub.path)
        except ValueError as e:
            results.append(StudentResult(status=INVALID, details=str(e), **common))
            continue
        nb, repairs[sub.student_id] = repair.repair(nb, released)  # lost metadata, copied or deleted cells
        write_notebook(nb, out_dir / "submitted" / sub.student_id / assignment / notebook_name)
        to_grade.append(sub)
    for sub, result in _autograde_all(to_grade, assignment, out_dir, notebook_name, test_cells,
                                      timeout_per_cell, timeout_per_student, jobs, say, plan,
                                      feedback_failed=feedback_failed, pool=pool):
        if made := repairs.get(sub.student_id):
            result.details = "; ".join(filter(None, [f"repaired: {'; '.join(made)}", result.details]))
            if result.status == GRADED:
                result.status = f"{GRADED} (repaired: {repair.summary(made)})"
        results.append(result)
    for sid in missing:
        results.append(StudentResult(sid, MISSING, 0.0, sum(test_cells.values()), {gid: 0.0 for gid in test_cells},
                                     details="on the roster, but nothing was submitted"))
    for r in results:
        r.name = names.get(r.student_id, "")
        r.details = "; ".join(filter(None, [*notes.get(r.student_id, []), r.details]))
    return results


def _collect(assignment: str, source: Path, out_dir: Path, notebook_name: str, intake: collect.Intake
             ) -> tuple[list[Submission], list[str], dict[str, str], dict[str, list[str]]]:
    """This run's submissions (with ``--shard``, only its part), the roster's students who sent
    nothing (``--roster``), every student's name, and notes for ``details`` (late, older
    resubmissions); the whole collection is recorded in ``OUT/collection.json``."""
    collection = None
    if collect.is_export(source, intake.platform, intake.id_pattern):
        try:
            collection = collect.collect(source, notebook_name, out_dir / "collected",
                                         platform=intake.platform, id_pattern=intake.id_pattern)
        except collect.CollectError as e:
            raise UsageError(str(e)) from None
        subs = [Submission(c.student_id, c.path, Path(c.origin or source.name), c.problem, ERROR if c.problem else "")
                for c in collection.students]
        names = {c.student_id: c.name for c in collection.students if c.name}
        notes = {c.student_id: c.notes() for c in collection.students}
        for line in collection.skipped:
            print(f"warning: {source.name}: skipped {line}", file=sys.stderr)
    else:
        subs, names, notes = collect_submissions(source, notebook_name), {}, {}
    ids = [s.student_id for s in subs]
    roster = collect.read_roster(intake.roster) if intake.roster else None
    missing = sorted(set(roster) - set(ids)) if roster else []
    not_on_roster = sorted(set(ids) - set(roster)) if roster else []
    if roster:
        names.update({sid: name for sid, name in roster.items() if name})
    if not_on_roster:
        print(f"warning: not on the roster (graded anyway): {', '.join(not_on_roster)}", file=sys.stderr)
    everyone = sorted(set(ids) | set(missing))
    here = set(gradebook_db.shard_of(everyone, *intake.shard) if intake.shard else everyone)
    collect.write_record(out_dir / gradebook_db.COLLECTION_FILE, assignment=assignment, source=source,
                         platform=intake.platform, id_pattern=intake.id_pattern, shard=intake.shard,
                         everyone=everyone, here=sorted(here), missing=missing, not_on_roster=not_on_roster,
                         collection=collection)
    return [s for s in subs if s.student_id in here], [m for m in missing if m in here], names, notes


def grade_submissions(assignment: str, submissions_dir: Path, out_dir: Path, *,
                      timeout_per_cell: int = 60, timeout_per_student: float = 300,
                      feedback: bool = True, solutions_dir: Path = SOLUTIONS,
                      jobs: int = 1, progress: bool = True, sandboxed: bool = True,
                      limits: sandbox.Limits | None = None, db: str | None = None,
                      intake: collect.Intake | None = None) -> GradingRun:
    """Autograde every submission in ``submissions_dir`` into the course directory ``out_dir``
    and write ``out_dir/grades.csv``; then check the gradebook against it. Raises
    :class:`UsageError` for bad arguments, :class:`SandboxError` when ``sandboxed`` and the
    sandbox does not work here, and :class:`~autograder.release.ReleaseError` if the assignment
    cannot be generated."""
    solutions_dir = Path(solutions_dir).resolve()
    try:
        assignment = resolve_assignment(assignment, solutions_dir)
    except ReleaseError as e:
        raise UsageError(str(e)) from None
    submissions_dir, out_dir = Path(submissions_dir).resolve(), Path(out_dir).resolve()
    if not submissions_dir.exists():
        raise UsageError(f"submissions folder not found: {submissions_dir}")
    intake = intake or collect.Intake()
    try:
        intake.check(submissions_dir)
        url = gradebook_db.normalize_url(db) if db else None
    except ValueError as e:  # collect.CollectError, gradebook_db.GradebookError
        raise UsageError(str(e)) from None
    if out_dir == submissions_dir or submissions_dir in out_dir.parents or out_dir in submissions_dir.parents:
        raise UsageError("--out must be outside the submissions folder (and not contain it)")
    source_nb = source_notebook_path(assignment, solutions_dir)
    notebook_name = source_nb.name
    test_cells = graded_test_cells(nbformat.read(source_nb, as_version=4))
    if sandboxed:
        with tempfile.TemporaryDirectory(prefix="seqlab-sandbox-check-") as tmp:
            if problem := sandbox.check(Path(tmp) / "check"):
                raise SandboxError(problem)

    prepare_out_dir(out_dir)
    say = print if progress else (lambda *a, **k: None)
    say(f"preparing {assignment} in {out_dir}" + ("" if sandboxed else " (NO SANDBOX)"), flush=True)
    # The grading workers start now: their imports (nbgrader, nbconvert, SQLAlchemy: seconds of
    # CPU) overlap nbgrader generate_assignment below instead of delaying the first student.
    pool = WorkerPool(max(1, jobs), out_dir, subprocess_env(), out_dir / "logs")
    plan = None
    try:
        pool.start()
        gradebook = build_course(assignment, out_dir, solutions_dir, timeout_per_cell, url)
        schema = gradebook_schema(gradebook)
        if sandboxed:
            limits = limits or sandbox.Limits(cpu_seconds=max(60, int(timeout_per_student)))
            plan = SandboxPlan(sandbox.install_kernelspec(out_dir / "sandbox" / "jupyter"),
                               [out_dir, submissions_dir, solutions_dir, *collect.hide_for(submissions_dir),
                                *gradebook_db.socket_dirs(gradebook_db.url_for(out_dir))],
                               limits, sandbox.scratch_root())
        feedback_failed: list[str] | None = [] if feedback else None  # made student by student
        results = _grade_collected(assignment, submissions_dir, out_dir, notebook_name, test_cells,
                                   timeout_per_cell, timeout_per_student, jobs, say, plan, intake, feedback_failed,
                                   pool)
    finally:
        pool.close()
        if plan is not None:
            shutil.rmtree(plan.scratch_root, ignore_errors=True)

    run = GradingRun(assignment, out_dir, test_cells, results, sandboxed)
    diagnoses = diagnose.annotate(run)  # catalogued mistakes, named in details (and the feedback)
    if feedback and any((out_dir / "autograded").glob(f"*/{assignment}")):
        if feedback_failed:
            print(f"warning: nbgrader generate_feedback failed for {', '.join(sorted(feedback_failed))}; see "
                  f"{out_dir / 'logs' / '_generate_feedback.log'}", file=sys.stderr)
        diagnose.add_to_feedback(run, diagnoses)
    write_csv(run, out_dir / "grades.csv")
    run.gradebook_problems = verify_gradebook(gradebook, assignment, results, schema,
                                              {r.student_id for r in results} if url else None)
    if run.gradebook_problems:
        report_gradebook_problems(run.gradebook_problems, out_dir / "GRADEBOOK_CHECK_FAILED.txt")
    report.write_report(run, out_dir / "report.html", diagnoses)  # the class report
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.grade",
        description="Autograde a folder of submissions (<student>.ipynb files or <student>/ folders) "
                    "with nbgrader; write OUT/grades.csv and feedback.")
    parser.add_argument("assignment", help="assignment folder in solutions/, or its prefix (a01)")
    parser.add_argument("submissions", type=Path,
                        help="folder of <student>.ipynb files or <student>/ folders, or a learning platform's "
                             "export (.zip, as downloaded)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (a fresh nbgrader course directory)")
    parser.add_argument("--timeout-per-cell", type=int, default=60, metavar="S",
                        help="seconds one cell may run before it is interrupted (default 60)")
    parser.add_argument("--timeout-per-student", type=float, default=300, metavar="S",
                        help="seconds one student's whole grading may take before it is killed (default 300)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="grade N students at a time (default 1): N grading workers, each notebook in a fresh kernel of its own")
    parser.add_argument("--no-feedback", action="store_true", help="skip the HTML feedback")
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS,
                        help="folder of source assignments (default: solutions/ of this repository)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run student code without the bubblewrap sandbox: it can then read other "
                             "students' work and rewrite the gradebook (only for trusted notebooks)")
    parser.add_argument("--memory-limit", type=int, default=sandbox.Limits.memory_mb, metavar="MB",
                        help=f"memory of each sandboxed process (default {sandbox.Limits.memory_mb})")
    parser.add_argument("--max-processes", type=int, default=sandbox.Limits.max_processes, metavar="N",
                        help=f"processes and threads a notebook may run (default {sandbox.Limits.max_processes})")
    intake = parser.add_argument_group("submissions from a learning platform (autograder/collect.py)")
    intake.add_argument("--platform", choices=sorted(collect.PLATFORMS),
                        help="the export's file-naming scheme (default for a .zip: the one that matches)")
    intake.add_argument("--id-pattern", metavar="REGEX",
                        help="regular expression with a group (?P<student_id>...) matched against each file "
                             "or folder name (optional groups: name, order, late, file), as nbgrader's ZipCollect")
    intake.add_argument("--roster", type=Path, metavar="CSV",
                        help="CSV of the class (id and name columns): names in grades.csv, and a row with "
                             "status 'missing' for every student who submitted nothing")
    shared = parser.add_argument_group("several graders and machines (autograder/gradebook_db.py)")
    shared.add_argument("--db", metavar="URL",
                        help="gradebook URL, e.g. postgresql://USER@HOST/DATABASE (default: OUT/gradebook.db, SQLite)")
    shared.add_argument("--shard", metavar="I/N",
                        help="grade only shard I of N of the class (every N-th student in id order); merge the "
                             "shards' folders with python -m autograder.gradebook_db merge")
    args = parser.parse_args(argv)
    if args.platform and args.id_pattern:
        parser.error("give --platform or --id-pattern, not both")
    try:
        shard = gradebook_db.parse_shard(args.shard) if args.shard else None
    except gradebook_db.GradebookError as e:
        parser.error(str(e))
    if args.timeout_per_cell <= 0 or args.timeout_per_student <= 0 or args.jobs <= 0:
        parser.error("timeouts and --jobs must be positive")
    if args.memory_limit <= 0 or args.max_processes <= 0:
        parser.error("--memory-limit and --max-processes must be positive")
    limits = sandbox.Limits(memory_mb=args.memory_limit, max_processes=args.max_processes,
                            cpu_seconds=max(60, int(args.timeout_per_student)))
    try:
        run = grade_submissions(args.assignment, args.submissions, args.out,
                                timeout_per_cell=args.timeout_per_cell,
                                timeout_per_student=args.timeout_per_student,
                                feedback=not args.no_feedback, solutions_dir=args.solutions,
                                jobs=args.jobs, sandboxed=not args.no_sandbox, limits=limits, db=args.db,
                                intake=collect.Intake(args.platform, args.id_pattern, args.roster, shard))
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except SandboxError as e:
        print(f"error: the grading sandbox does not work on this machine: {e}.\n"
              f"Without it, student code runs with your permissions: it can read every other "
              f"submission and rewrite the gradebook. Fix the sandbox, or grade trusted notebooks "
              f"with --no-sandbox (GRADE_ARGS=--no-sandbox).", file=sys.stderr)
        return 4
    except ReleaseError as e:
        print(f"error: could not prepare the assignment: {e}", file=sys.stderr)
        return 1
    print()
    print(format_table(run))
    counts = {s: sum(r.status.split(" (")[0] == s for r in run.results) for s in STATUSES}
    repaired = sum("(repaired" in r.status for r in run.results)
    print("\n" + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + (f" ({repaired} repaired)" if repaired else "")
          if run.results else "\nno submissions")
    print(f"grades: {run.out_dir / 'grades.csv'}")
    if (run.out_dir / "report.html").is_file():
        print(f"class report: {run.out_dir / 'report.html'}")
    if any((run.out_dir / "feedback").glob("*")):
        print(f"feedback: {run.out_dir / 'feedback'}/<student>/{run.assignment}/")
    if not run.sandboxed:
        print("warning: graded WITHOUT the sandbox (--no-sandbox)", file=sys.stderr)
    if run.gradebook_problems:
        print(f"error: the gradebook check failed; see {run.out_dir / 'GRADEBOOK_CHECK_FAILED.txt'}", file=sys.stderr)
        return 3
    print("gradebook check: every total matches grades.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
