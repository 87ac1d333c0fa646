"""Tamper suite: submissions that attack the grading instead of answering, graded for real.

One sandboxed ``python -m autograder.grade`` run grades the toy assignment (tests/assignment_utils)
for a class of honest students and attackers. Each attacker leaves ``add`` unimplemented (or
wrong) and tries to get the points another way: rewrite the gradebook (UPDATE and a TRIGGER),
copy a neighbour's answer, leave a daemon behind that edits files after grading, reach the
network, exhaust memory or processes, kill or hang the kernel, blank / delete / duplicate the test
cells, swallow the exceptions. Every attacker must score 0 with an explicit status, the honest
students must keep exactly their marks, the gradebook check must find nothing, and correct code
that is noisy (stderr in its own cell, a 50 MB print) keeps full marks.

A second, small run with ``--no-sandbox`` shows what the sandbox prevents: the same gradebook
attack succeeds there, and the gradebook check reports it loudly, naming the students affected.
"""
from __future__ import annotations

import copy
import os
import socket
import sqlite3
import subprocess
import threading
import time

import nbformat
import pytest

import assignment_utils as au
from autograder import gradebook_db, grade

CELL_TIMEOUT, STUDENT_TIMEOUT = 8, 120
UNSOLVED = "def add(a, b):\n    raise NotImplementedError()\n"


def gradebook_attack(db: str) -> str:
    return f'''import sqlite3
for path in [{db!r}, "gradebook.db", "../gradebook.db", "../../gradebook.db", "../../../gradebook.db"]:
    try:
        db = sqlite3.connect(path, timeout=1)
        db.execute("UPDATE grade SET manual_score = 100")
        db.execute("CREATE TRIGGER IF NOT EXISTS pwn AFTER INSERT ON grade BEGIN "
                   "UPDATE grade SET manual_score = 100 WHERE id = NEW.id; END")
        db.commit()
    except Exception:
        pass
''' + UNSOLVED


def neighbour_attack(paths: list[str]) -> str:
    return f'''import json
for path in {paths!r}:
    try:
        cells = json.load(open(path))["cells"]
        exec("".join(next("".join(c["source"]) for c in cells if "def add" in "".join(c["source"])
                          and "NotImplementedError" not in "".join(c["source"]))), globals())
        break
    except Exception:
        pass
else:
    def add(a, b):
        raise NotImplementedError()
'''


def daemon_attack(canary: str, grades_csv: str) -> str:
    script = (f"import time; time.sleep(4); open({canary!r}, 'w').write('pwned'); "
              f"open({grades_csv!r}, 'a').write('pwned,graded,3,3\\n')")
    return f'''import subprocess, sys
subprocess.Popen([sys.executable, "-c", {script!r}], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
''' + UNSOLVED


def network_attack(port: int) -> str:
    return f'''import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
    def add(a, b):          # the "answer server" was reachable
        return a + b
except OSError:
    def add(a, b):
        raise NotImplementedError()
'''


MEMORY_BOMB = "chunks = []\nwhile True:\n    chunks.append(bytearray(64 * 1024 ** 2))\n" + UNSOLVED
FORK_BOMB = UNSOLVED + "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
STUBBORN = ("def add(a, b):\n    while True:\n        try:\n            while True:\n                pass\n"
            "        except KeyboardInterrupt:\n            pass")
SWALLOW = ("get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)\n"
           "import sys\nsys.excepthook = lambda *args: None\n" + UNSOLVED)
NOISY = ("import sys, warnings\nprint('debug output', file=sys.stderr)\nwarnings.warn('careful')\n"
         "def add(a, b):\n    return a + b\n")
BIG_PRINT = "print('x' * (50 * 1024 * 1024))\ndef add(a, b):\n    return a + b\n"


def _with_tests(released, edit) -> nbformat.NotebookNode:
    nb = au.toy_submission(released, UNSOLVED)
    edit(nb)
    return nb


def _blank_tests(nb):
    for gid in ("test_add_small", "test_add_negative"):
        au.cell_by_grade_id(nb, gid).source = "pass"


def _delete_tests(nb):
    nb.cells = [c for c in nb.cells if au.grade_id(c) not in ("test_add_small", "test_add_negative")]


def _duplicate_tests(nb):
    cells = []
    for cell in nb.cells:
        if au.grade_id(cell) in ("test_add_small", "test_add_negative"):
            fake = copy.deepcopy(cell)
            fake.source = "pass"
            fake["id"] = cell["id"] + "-copy"
            cells.append(fake)
        cells.append(cell)
    nb.cells = cells


HONEST = {"honest_a": 3.0, "honest_b": 3.0, "blank_release": 0.0}
NOISY_STUDENTS = ("noisy_stderr", "big_print")


@pytest.fixture(scope="module")
def tampered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tamper")
    solutions = tmp / "solutions"
    au.make_toy_assignment(solutions)
    source = nbformat.read(solutions / "toy" / "toy.ipynb", as_version=4)
    released = au.toy_release(solutions)
    subs, out = tmp / "submissions", tmp / "graded"
    canary = tmp / "canary.txt"

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.5)
    connections: list = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connections.append(server.accept())
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    good = au.filled_release(released, source)
    class_ = {
        "honest_a": good, "honest_b": good, "blank_release": released,
        "gradebook_writer": au.toy_submission(released, gradebook_attack(str(out / "gradebook.db"))),
        "neighbour_reader": au.toy_submission(released, neighbour_attack(
            [str(subs / "honest_a.ipynb"), str(out / "submitted" / "honest_a" / "toy" / "toy.ipynb"),
             str(out / "autograded" / "honest_b" / "toy" / "toy.ipynb"), str(solutions / "toy" / "toy.ipynb")])),
        "daemon": au.toy_submission(released, daemon_attack(str(canary), str(out / "grades.csv"))),
        "network": au.toy_submission(released, network_attack(server.getsockname()[1])),
        "memory_bomb": au.toy_submission(released, MEMORY_BOMB),
        "fork_bomb": au.toy_submission(released, FORK_BOMB),
        "os_exit": au.toy_submission(released, "import os\nos._exit(0)\n" + UNSOLVED),
        "stubborn_loop": au.toy_submission(released, STUBBORN),
        "blanked_tests": _with_tests(released, _blank_tests),
        "deleted_tests": _with_tests(released, _delete_tests),
        "duplicated_tests": _with_tests(released, _duplicate_tests),
        "swallowed_exceptions": au.toy_submission(released, SWALLOW),
        "noisy_stderr": au.toy_submission(released, NOISY),
        "big_print": au.toy_submission(released, BIG_PRINT),
    }
    au.write_submissions(subs, class_)
    start = time.monotonic()
    proc = au.run_grade_cli("toy", subs, "--out", out, "--solutions", solutions,
                            "--timeout-per-cell", CELL_TIMEOUT, "--timeout-per-student", STUDENT_TIMEOUT,
                            "--jobs", 2, "--no-feedback", "--memory-limit", 1024, "--max-processes", 64,
                            timeout=1200)
    seconds = time.monotonic() - start
    time.sleep(6)  # longer than the daemon waits before it writes
    stop.set()
    thread.join()
    server.close()
    rows = au.read_grades_csv(out / "grades.csv") if (out / "grades.csv").is_file() else {}
    print(f"\n[tamper] {len(class_)} students in {seconds:.0f} s: "
          + ", ".join(f"{s} {r['status']} {r['score']} ({r['seconds']} s)" for s, r in sorted(rows.items())))
    return dict(proc=proc, rows=rows, out=out, canary=canary, connections=connections, students=list(class_))


def _gradebook_rows(db_path) -> dict[str, list[tuple]]:
    rows = gradebook_db.scores(gradebook_db.as_url(db_path), "toy")
    by_student: dict[str, list[tuple]] = {}
    for student, cell, auto, manual, extra, penalty in rows:
        by_student.setdefault(student, []).append((cell, auto, manual, extra, penalty))
    return {s: sorted(v) for s, v in by_student.items()}


@pytest.mark.slow
def test_every_attacker_scores_zero_with_an_explicit_status(tampered):
    proc, rows = tampered["proc"], tampered["rows"]
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(rows) == sorted(tampered["students"])
    attackers = [s for s in rows if s not in HONEST and s not in NOISY_STUDENTS]
    wrong = {s: (rows[s]["status"], rows[s]["score"], rows[s]["details"]) for s in attackers
             if float(rows[s]["score"]) != 0
             or not (rows[s]["status"] in grade.STATUSES or rows[s]["status"].startswith(grade.GRADED))}
    assert not wrong, wrong
    assert rows["os_exit"]["status"] == grade.KERNEL_DIED
    assert rows["stubborn_loop"]["status"] == grade.TIMED_OUT
    for s in attackers:
        assert rows[s]["details"], f"{s}: no reason given for its 0"


@pytest.mark.slow
def test_honest_students_keep_their_marks_and_the_gradebook_is_intact(tampered):
    rows, out = tampered["rows"], tampered["out"]
    for student, score in HONEST.items():
        assert float(rows[student]["score"]) == score, rows[student]
    assert "gradebook check: every total matches grades.csv" in tampered["proc"].stdout
    assert not (out / "GRADEBOOK_CHECK_FAILED.txt").exists()
    book = _gradebook_rows(out / "gradebook.db")
    expected = {"honest_a": [("test_add_negative", 2.0, None, None, 0.0), ("test_add_small", 1.0, None, None, 0.0)],
                "blank_release": [("test_add_negative", 0.0, None, None, 0.0), ("test_add_small", 0.0, None, None, 0.0)]}
    for student, want in expected.items():
        got = [(c, a, m, e, p or 0.0) for c, a, m, e, p in book[student]]
        assert got == want, (student, got)
    assert book["honest_a"] == book["honest_b"]
    with sqlite3.connect(out / "gradebook.db") as db:
        assert db.execute("SELECT COUNT(*) FROM sqlite_master WHERE type IN ('trigger', 'view')").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM grade WHERE manual_score IS NOT NULL").fetchone()[0] == 0


@pytest.mark.slow
def test_nothing_escaped_the_sandbox(tampered):
    assert not tampered["canary"].exists(), "a daemon outlived its kernel and wrote a file"
    assert "pwned" not in (tampered["out"] / "grades.csv").read_text()
    assert not tampered["connections"], "a notebook reached a server on 127.0.0.1"
    left = subprocess.run(["pgrep", "-f", str(tampered["canary"])], capture_output=True, text=True).stdout.split()
    assert not left, f"processes left running: {left}"
    psutil = pytest.importorskip("psutil")
    for p in psutil.process_iter():
        try:
            assert not p.cwd().startswith(str(tampered["out"])), f"left running: {p.cmdline()}"
        except (psutil.Error, OSError):
            pass


@pytest.mark.slow
def test_correct_but_noisy_code_keeps_full_marks(tampered):
    rows = tampered["rows"]
    for s in NOISY_STUDENTS:
        assert rows[s]["status"].startswith(grade.GRADED) and float(rows[s]["score"]) == 3, rows[s]


@pytest.mark.slow
def test_resource_attacks_are_reported(tampered):
    rows = tampered["rows"]
    # the bomb's own cell stops with MemoryError (RLIMIT_DATA), so add is never defined
    assert "NameError" in rows["memory_bomb"]["details"] or rows["memory_bomb"]["status"] == grade.KERNEL_DIED, \
        rows["memory_bomb"]
    assert rows["fork_bomb"]["status"] in grade.STATUSES, rows["fork_bomb"]


@pytest.mark.slow
def test_without_the_sandbox_the_gradebook_check_catches_the_attack(tmp_path):
    """--no-sandbox: the attack works, and the run says so loudly (exit 3, students named)."""
    solutions = tmp_path / "solutions"
    au.make_toy_assignment(solutions)
    source = nbformat.read(solutions / "toy" / "toy.ipynb", as_version=4)
    released = au.toy_release(solutions)
    out = tmp_path / "graded"
    subs = au.write_submissions(tmp_path / "submissions", {
        "a_honest": au.filled_release(released, source), "b_blank": released,
        "c_writer": au.toy_submission(released, gradebook_attack(str(out / "gradebook.db"))),
        "d_blank": released})
    proc = au.run_grade_cli("toy", subs, "--out", out, "--solutions", solutions, "--no-sandbox",
                            "--timeout-per-cell", 30, "--no-feedback")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "GRADEBOOK CHECK FAILED" in proc.stderr and "WITHOUT the sandbox" in proc.stderr
    report = (out / "GRADEBOOK_CHECK_FAILED.txt").read_text()
    assert "trigger 'pwn' was added" in report
    assert "manual scores" in report and "a_honest" in report and "b_blank" in report
    assert "d_blank" in report and "c_writer" in report  # graded after the trigger was set


def test_gradebook_check_finds_nothing_on_an_untouched_gradebook(tmp_path):
    solutions = tmp_path / "solutions"
    au.make_toy_assignment(solutions)
    out = tmp_path / "course"
    out.mkdir()
    db = grade.build_course("toy", out, solutions)
    schema = grade.gradebook_schema(db)
    assert grade.verify_gradebook(db, "toy", [], schema) == []
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE VIEW sneaky AS SELECT 1")
    problems = grade.verify_gradebook(db, "toy", [], schema)
    assert len(problems) == 1 and "view 'sneaky' was added" in problems[0]


PATCHER = """
import numpy, torch, seqlab.checks, autograder.a01_language_models as hidden
torch.allclose = lambda *args, **kwargs: True          # monkeypatched comparison helpers
numpy.allclose = lambda *args, **kwargs: True
seqlab.checks.check_close = lambda *args, **kwargs: None
for name in dir(hidden):                               # no-op'd hidden checks
    if name.startswith("check_"):
        setattr(hidden, name, lambda *args, **kwargs: None)
"""


@pytest.mark.slow
@pytest.mark.timeout(0)
def test_a01_patched_comparisons_and_no_op_checks_do_not_pay(tmp_path):
    """A wrong model (softmax returned as logits) plus patched allclose / check_close and every
    hidden check replaced by a no-op: the cells that catch the mistake still lose their points
    (the sandbox kernel's guard undoes the patches before each test cell)."""
    from autograder.mutants import load_catalogue

    assignment = "a01_language_models"
    mutant = next(m for m in load_catalogue(assignment) if m.name == "lm_returns_softmax")
    released, source = au.load_release(assignment), au.load_source(assignment)
    nb = au.filled_release(released, au.mutated_source(source, mutant))
    last = au.cell_by_grade_id(nb, list(au.solution_cells(nb))[-1])
    last.source += "\n" + PATCHER
    run = au.grade_notebooks(assignment, {"patcher": nb}, tmp_path, timeout_per_cell=300)
    r = run.by_student()["patcher"]
    assert r.status == grade.GRADED, r
    for gid in mutant.fails:
        assert r.cell_scores[gid] == 0, (gid, r.details)
