"""Grading round trips through real ``nbgrader autograde``, run as ``make grade`` runs it.

For every assignment in solutions/, ONE ``python -m autograder.grade`` run grades a class made
of: the reference solution, the untouched release, mutants of the assignment's catalogue, a
notebook that kills its kernel, an invalid JSON file and a JSON file that is not a notebook.
Then: reference -> full marks; untouched release -> zero, every test cell failing with
NotImplementedError; each mutant -> exactly the cells in its ``fails`` lose their points, and its
row names the mistake; the broken ones get the right status; grades.csv lists everyone.

Which mutants (``SEQLAB_ROUNDTRIP_MUTANTS``, :func:`roundtrip_mutants`): by default (``cover``)
a few per assignment, chosen so that every test cell any mutant fails loses its points through
nbgrader at least once and every solution cell any mutant edits is edited at least once (33 of
the 156 mutants); ``patterns`` grades one mutant per distinct set of failing cells (68);
``all`` grades the whole catalogue (worth it after changing the grading pipeline: 191 students
instead of 68, over the seven assignments). Every mutant, without exception, is run in process by
``tests/test_aNN_checks.py``: the same hidden checks on the same code must fail exactly its
cells, in their hidden part too, and its fresh messages must be diagnosed as that mistake.

The toy assignment (made in a temporary folder) adds the pipeline's edge cases: an infinite loop
(per-cell timeout), a loop that ignores interrupts (per-student backstop), output on stderr, the
folder layout and student-id sanitising, usage errors.

``SEQLAB_GRADING_CELL_TIMEOUT`` (seconds, default 300: generous, since no student of these runs
loops) is the per-cell limit for the real assignments. The autograding time of every submission
is printed (``pytest -s``). ``SEQLAB_GRADING_JOBS`` (default 2) students are graded at a time.
"""
from __future__ import annotations

import copy
import json
import os
import re
import shutil

import nbformat
import pytest

import assignment_utils as au
from autograder import diagnose, grade, release
from autograder.mutants import load_catalogue

ASSIGNMENTS = au.assignments()
CELL_TIMEOUT = int(os.environ.get("SEQLAB_GRADING_CELL_TIMEOUT", "300"))
JOBS = int(os.environ.get("SEQLAB_GRADING_JOBS", "2"))
FIXED_STUDENTS = ("reference", "untouched", "os_exit", "invalid_json", "not_a_notebook")
ROUNDTRIP_MUTANTS = os.environ.get("SEQLAB_ROUNDTRIP_MUTANTS", "cover")
ROUNDTRIP_CHOICES = ("cover", "patterns", "all")


def roundtrip_mutants(mutants, which: str | None = None) -> list:
    """The mutants a round trip grades through nbgrader, in catalogue order.

    - ``cover`` (the default): a few mutants such that every test cell some mutant fails loses its
      points at least once and every solution cell some mutant edits is edited at least once
      (greedy: the mutant covering most of what is left, the first in the catalogue on a tie);
    - ``patterns``: the first mutant of each distinct set of failing test cells, then the first
      of each solution cell those leave out;
    - ``all``: the whole catalogue.
    """
    which = ROUNDTRIP_MUTANTS if which is None else which
    mutants = list(mutants)
    if which not in ROUNDTRIP_CHOICES:
        raise ValueError(f"SEQLAB_ROUNDTRIP_MUTANTS must be one of {', '.join(ROUNDTRIP_CHOICES)}, not {which!r}")
    if which == "all":
        return mutants
    if which == "cover":
        return au.covering_mutants(mutants)
    chosen: list = []
    patterns = set()
    for m in mutants:
        if frozenset(m.fails) not in patterns:
            chosen.append(m)
            patterns.add(frozenset(m.fails))
    for m in mutants:
        if m.cell not in {c.cell for c in chosen}:
            chosen.append(m)
    return [m for m in mutants if m in chosen]


def _print_timings(label: str, rows: dict[str, dict[str, str]]) -> None:
    times = {s: float(r["seconds"]) for s, r in rows.items() if float(r["seconds"]) > 0}
    if times:
        mean = sum(times.values()) / len(times)
        print(f"\n[{label}] autograding seconds per submission: mean {mean:.1f}, max {max(times.values()):.1f} "
              f"({', '.join(f'{s} {t:.1f}' for s, t in sorted(times.items()))})")


def _replace_first_solution(nb, code: str):
    nb = copy.deepcopy(nb)
    first = next(iter(au.solution_cells(nb)))
    au.cell_by_grade_id(nb, first).source = code
    return nb


# ----------------------------------------------------------------------------- real assignments

@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """``graded_class(a)`` -> (grades.csv rows by student, output folder, mutants); one grading
    run per assignment, shared by the tests below."""
    cache: dict[str, object] = {}

    def run(assignment: str):
        if assignment not in cache:
            try:
                cache[assignment] = _grade_class(assignment, tmp_path_factory.mktemp(assignment))
            except BaseException as e:  # report the same failure to every test of this assignment
                cache[assignment] = e
        if isinstance(cache[assignment], BaseException):
            raise cache[assignment]
        return cache[assignment]

    return run


def _grade_class(assignment: str, tmp):
    source = au.load_source(assignment)
    released = nbformat.read(release.generate(assignment, tmp / "exercises") / au.source_path(assignment).name,
                             as_version=4)
    mutants = roundtrip_mutants(load_catalogue(assignment))
    class_ = {
        "reference": au.filled_release(released, source),
        "untouched": released,
        "os_exit": _replace_first_solution(au.filled_release(released, source), "import os\nos._exit(1)"),
        "invalid_json": '{"cells": [{"cell_type": "code", "source": "x = 1"',
        "not_a_notebook": '{"student": "me", "answers": [1, 2, 3]}',
    }
    for m in mutants:
        class_[m.name] = au.filled_release(released, au.mutated_source(source, m))
    subs = au.write_submissions(tmp / "submissions", class_)
    out = tmp / "graded"
    # Every student is stopped after 2 * CELL_TIMEOUT, so the whole run is bounded by this
    # (with room for two students graded again after a failure of the machine, see grade.py).
    bound = (len(class_) / JOBS + 2) * 2 * CELL_TIMEOUT + 300
    proc = au.run_grade_cli(assignment, subs, "--out", out, "--timeout-per-cell", CELL_TIMEOUT,
                            "--timeout-per-student", 2 * CELL_TIMEOUT, "--no-feedback",
                            "--jobs", JOBS, timeout=bound)
    assert proc.returncode == 0, f"grading {assignment} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    rows = au.read_grades_csv(out / "grades.csv")
    _print_timings(assignment, rows)
    return rows, out, mutants, list(class_)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_mutant_catalogue_is_well_formed(assignment):
    mutants = load_catalogue(assignment)
    assert mutants, f"{assignment} has no mutants in autograder/mutants/{assignment}.py"
    source = au.load_source(assignment)
    tests, solutions = au.autograded_cells(source), au.solution_cells(source)
    names = [m.name for m in mutants]
    assert len(set(names)) == len(names), f"duplicate mutant names: {names}"
    for m in mutants:
        assert re.fullmatch(r"[a-z0-9_]+", m.name) and m.name not in FIXED_STUDENTS, f"bad mutant name {m.name!r}"
        assert m.cell in solutions, f"mutant {m.name}: {m.cell!r} is not a solution cell"
        assert m.fails and set(m.fails) <= set(tests), f"mutant {m.name}: fails {m.fails} must name test cells"
        au.mutated_source(source, m)  # the edit applies (find occurs exactly once)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_round_trip_covers_every_failing_cell_and_solution_cell(assignment):
    catalogue = load_catalogue(assignment)
    for which in ("cover", "patterns"):
        chosen = roundtrip_mutants(catalogue, which)
        assert set().union(*(m.fails for m in chosen)) == set().union(*(m.fails for m in catalogue)), which
        assert {m.cell for m in chosen} == {m.cell for m in catalogue}, which
        assert chosen == [m for m in catalogue if m in chosen], which  # catalogue order
    patterns = roundtrip_mutants(catalogue, "patterns")
    assert {frozenset(m.fails) for m in patterns} == {frozenset(m.fails) for m in catalogue}
    assert len(roundtrip_mutants(catalogue, "cover")) <= len(patterns)
    assert roundtrip_mutants(catalogue, "all") == catalogue
    with pytest.raises(ValueError, match="cover, patterns, all"):
        roundtrip_mutants(catalogue, "some")


@pytest.mark.slow
@pytest.mark.timeout(0)  # the grading run is bounded by its own per-student limits (see _grade_class)
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solution_gets_full_marks(assignment, graded_class):
    rows = graded_class(assignment)[0]
    ref = rows["reference"]
    assert ref["status"] == grade.GRADED, ref
    assert float(ref["score"]) == float(ref["max_score"]) > 0, f"reference lost points: {ref['details']}"


@pytest.mark.slow
@pytest.mark.timeout(0)  # the grading run is bounded by its own per-student limits (see _grade_class)
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_scores_zero_with_not_implemented_error(assignment, graded_class):
    rows, out, _, _ = graded_class(assignment)
    row = rows["untouched"]
    assert row["status"] == grade.GRADED and float(row["score"]) == 0, row
    problems = grade.cell_outcomes(au.autograded_notebook(out, assignment, "untouched"))
    tests = au.autograded_cells(au.load_source(assignment))
    wrong = {gid: problems.get(gid, "passed") for gid in tests
             if not problems.get(gid, "").startswith("NotImplementedError")}
    assert not wrong, f"in the untouched release these test cells fail with something other than " \
                      f"NotImplementedError (students would see a confusing error): {wrong}"


@pytest.mark.slow
@pytest.mark.timeout(0)  # the grading run is bounded by its own per-student limits (see _grade_class)
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_mutant_loses_exactly_the_points_of_its_cells(assignment, graded_class):
    rows, _, mutants, _ = graded_class(assignment)
    tests = au.autograded_cells(au.load_source(assignment))
    problems = []
    for m in mutants:
        row = rows[m.name]
        if row["status"] != grade.GRADED:
            problems.append(f"{m.name}: status {row['status']} ({row['details']})")
            continue
        for gid, cell in tests.items():
            points, full = float(row[gid]), float(au.nbgrader_meta(cell)["points"])
            if gid in m.fails and points >= full:
                problems.append(f"{m.name}: {gid} should lose its points ({m.description})")
            if gid not in m.fails and points < full:
                problems.append(f"{m.name}: {gid} should keep its points but lost them: {row['details']}")
        # the mistake is named (autograder.diagnose, from nbgrader's messages and the recorded ones)
        if diagnose.hint(m) not in row["details"]:
            problems.append(f"{m.name}: details do not name the mistake ({diagnose.hint(m)!r}): {row['details']}")
    for student in ("reference", "untouched"):
        if "mistake" in rows[student]["details"]:
            problems.append(f"{student} was diagnosed: {rows[student]['details']}")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.timeout(0)  # the grading run is bounded by its own per-student limits (see _grade_class)
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_broken_submissions_get_their_status_and_everyone_is_listed(assignment, graded_class):
    rows, _, _, students = graded_class(assignment)
    assert sorted(rows) == sorted(students)
    assert rows["os_exit"]["status"] == grade.KERNEL_DIED
    assert rows["invalid_json"]["status"] == grade.INVALID
    assert rows["not_a_notebook"]["status"] == grade.INVALID
    for s in ("os_exit", "invalid_json", "not_a_notebook"):
        assert float(rows[s]["score"]) == 0


# ----------------------------------------------------------------------------- the toy: pipeline edge cases

LOOP = "def add(a, b):\n    while True:\n        pass"
STUBBORN = ("def add(a, b):\n    while True:\n        try:\n            while True:\n                pass\n"
            "        except KeyboardInterrupt:\n            pass")
STDERR = "import sys\n\ndef add(a, b):\n    print('debugging', a, b, file=sys.stderr)\n    return a + b"
# 10 s per cell: a test cell of the toy takes well under a second, but on a loaded 2-core machine
# (the other test worker, the next students' kernels starting) 5 s was seen to run out.
TOY_CELL_TIMEOUT, TOY_STUDENT_TIMEOUT = 10, 90


@pytest.fixture(scope="module")
def toy_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("toy")
    solutions = tmp / "solutions"
    au.make_toy_assignment(solutions)
    source = nbformat.read(solutions / "toy" / "toy.ipynb", as_version=4)
    released = au.toy_release(solutions)
    class_ = {
        "good": au.filled_release(released, source),
        "untouched": released,
        "infinite_loop": au.toy_submission(released, LOOP),
        "ignores_interrupts": au.toy_submission(released, STUBBORN),
        "os_exit": au.toy_submission(released, "import os\nos._exit(1)"),
        "stderr_writer": au.toy_submission(released, STDERR),
        "invalid_json": b'{"cells": [\xff',
        "not_a_notebook": '["a", "list"]',
    }
    for m in au.TOY_MUTANTS:
        class_[m.name] = au.filled_release(released, au.mutated_source(source, m))
    subs = au.write_submissions(tmp / "submissions", class_)
    # The folder layout, with an id that needs sanitising; and a folder with no notebook.
    (subs / "Jane Doe").mkdir()
    nbformat.write(class_["good"], subs / "Jane Doe" / "my submission (1).ipynb")
    (subs / "empty").mkdir()
    (subs / "notes.txt").write_text("not a submission")
    out = tmp / "graded"
    proc = au.run_grade_cli("toy", subs, "--out", out, "--solutions", solutions,
                            "--timeout-per-cell", TOY_CELL_TIMEOUT, "--timeout-per-student", TOY_STUDENT_TIMEOUT,
                            "--jobs", JOBS)
    rows = au.read_grades_csv(out / "grades.csv") if (out / "grades.csv").is_file() else {}
    _print_timings("toy", rows)
    return proc, rows, out, source


@pytest.mark.slow
def test_toy_class_statuses_scores_and_csv(toy_class):
    proc, rows, out, _ = toy_class
    assert proc.returncode == 0, proc.stdout + proc.stderr
    expected = {
        "good": (grade.GRADED, 3), "Jane_Doe": (grade.GRADED, 3), "untouched": (grade.GRADED, 0),
        "subtracts": (grade.GRADED, 0), "absolute": (grade.GRADED, 1),
        "infinite_loop": (grade.TIMED_OUT, 0), "ignores_interrupts": (grade.TIMED_OUT, 0),
        "os_exit": (grade.KERNEL_DIED, 0), "stderr_writer": (grade.GRADED, 0),
        "invalid_json": (grade.INVALID, 0), "not_a_notebook": (grade.INVALID, 0), "empty": (grade.ERROR, 0),
    }
    got = {s: (r["status"], float(r["score"])) for s, r in rows.items()}
    assert got == expected, "\n".join(f"{s}: {rows[s]['status']} {rows[s]['score']} {rows[s]['details']}" for s in rows)
    assert list(next(iter(rows.values())))[:6] == ["student_id", "status", "score", "max_score",
                                                   "test_add_small", "test_add_negative"]
    assert rows["absolute"]["test_add_small"] == "1" and rows["absolute"]["test_add_negative"] == "0"
    assert all(r["max_score"] == "3" for r in rows.values())
    # the printed table names every student and status
    for s, (status, _) in expected.items():
        assert re.search(rf"^{re.escape(s)}\s+{re.escape(status)}\s", proc.stdout, re.M), proc.stdout
    assert "notes.txt" in proc.stderr  # ignored, with a warning


@pytest.mark.slow
def test_toy_reasons_say_what_went_wrong(toy_class):
    _, rows, _, _ = toy_class
    assert f"exceeded {TOY_CELL_TIMEOUT} s: test_add_small, test_add_negative" in rows["infinite_loop"]["details"]
    # nbgrader gives up on a kernel that ignores the interrupt (no score for the whole notebook)
    assert 'did not stop when interrupted (the cell starting """add works on small numbers."""' \
        in rows["ignores_interrupts"]["details"]
    assert "kernel died" in rows["os_exit"]["details"]
    assert "test_add_small: output on stderr" in rows["stderr_writer"]["details"]
    assert "not valid JSON" in rows["invalid_json"]["details"] or "UTF-8" in rows["invalid_json"]["details"]
    assert "not a Jupyter notebook" in rows["not_a_notebook"]["details"]
    assert "NotImplementedError" in rows["untouched"]["details"]
    assert "no .ipynb" in rows["empty"]["details"]


@pytest.mark.slow
def test_toy_feedback_and_course_directory(toy_class):
    _, rows, out, _ = toy_class
    for s in ("good", "Jane_Doe", "infinite_loop", "stderr_writer"):
        assert (out / "feedback" / s / "toy" / "toy.html").is_file(), s
    assert not (out / "feedback" / "os_exit").exists()
    assert (out / "gradebook.db").is_file() and (out / "nbgrader_config.py").is_file()
    assert (out / "logs" / "os_exit.log").is_file()
    # the invalid files were never copied in for grading
    assert not (out / "submitted" / "invalid_json").exists()


@pytest.mark.slow
def test_toy_class_report_and_named_mistakes(toy_class, tmp_path):
    """Every run writes OUT/report.html (autograder.report; its contents: tests/test_report.py). The
    toy has no catalogue in autograder/mutants, so its two mutants are recorded in process here
    and matched against nbgrader's real outcomes, and a real feedback page gets the diagnosis."""
    _, rows, out, source = toy_class
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<svg" in page and "<script" not in page and 'src="http' not in page and 'href="http' not in page
    statuses = page[page.index("<h2>Statuses</h2>"):page.index("<h2>Grading time")]
    for student in ("infinite_loop", "ignores_interrupts", "os_exit", "invalid_json", "empty"):
        assert f"<b>{student}</b>" in statuses, student
    assert all(s in page[page.index("<h2>Grading time"):] for s in rows)
    cells = list(grade.graded_test_cells(source))
    recorded = {m.name: diagnose.in_process_outcomes(au.mutated_source(source, m), cells) for m in au.TOY_MUTANTS}
    found = {}
    for student in ("good", "untouched", "stderr_writer", *recorded):
        outcomes = grade.cell_outcomes(au.autograded_notebook(out, "toy", student))
        d = diagnose.diagnose({g: why for g, why in outcomes.items() if g in cells}, au.TOY_MUTANTS, recorded)
        found[student] = d and d.key
    assert found == {"good": None, "untouched": None, "stderr_writer": None,
                     "subtracts": "subtracts", "absolute": "absolute"}
    shutil.copytree(out / "feedback" / "absolute", tmp_path / "feedback" / "absolute")
    run = grade.GradingRun("toy", tmp_path, dict.fromkeys(cells, 1.0), [])
    mutant = au.TOY_MUTANTS[1]
    assert diagnose.add_to_feedback(run, {"absolute": diagnose.Diagnosis((mutant,), ("test_add_negative",), 1.0)}) == 1
    html = (tmp_path / "feedback" / "absolute" / "toy" / "toy.html").read_text(encoding="utf-8")
    assert html.index("Score:") < html.index(diagnose.hint(mutant)) < html.index('id="toc"')


@pytest.mark.slow
def test_toy_no_kernel_left_running(toy_class):
    psutil = pytest.importorskip("psutil")
    out = str(toy_class[2])
    left = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            if p.cwd().startswith(out):
                left.append(p.info)
        except (psutil.Error, OSError):
            pass
    assert not left, f"processes still running in the grading folder: {left}"


@pytest.mark.slow
def test_grade_notebooks_helper_and_the_per_student_backstop(tmp_path):
    """The in-process API (as tests use it); a long per-cell limit lets the per-student one fire.
    Students are graded in id order, so the looper ("zz_looper") comes last: the 30 s limit is meant
    for it, and a student after it (a fresh worker to start) would need more than that on a loaded
    machine (seen: the reference stopped at 30.1 s while another test session ran beside)."""
    solutions = tmp_path / "solutions"
    au.make_toy_assignment(solutions)
    source = nbformat.read(solutions / "toy" / "toy.ipynb", as_version=4)
    released = au.toy_release(solutions)
    run = au.grade_notebooks("toy", {"ref": au.filled_release(released, source), "blank": released,
                                     "zz_looper": au.toy_submission(released, au.SLEEPER)},
                             tmp_path / "run", solutions_dir=solutions, timeout_per_cell=300, timeout_per_student=30)
    results = run.by_student()
    print(f"\n[toy helper] seconds: {({s: r.seconds for s, r in results.items()})}")
    assert results["ref"].cell_scores == {"test_add_small": 1.0, "test_add_negative": 2.0}
    assert results["blank"].cell_scores == {"test_add_small": 0.0, "test_add_negative": 0.0}
    assert results["blank"].cell_errors["test_add_small"].startswith("NotImplementedError")
    looper = results["zz_looper"]
    assert looper.status == grade.TIMED_OUT and looper.score == 0, looper
    assert "longer than 30 s" in looper.details and 29 < looper.seconds < 60
    psutil = pytest.importorskip("psutil")
    for p in psutil.process_iter():
        try:
            assert not p.cwd().startswith(str(tmp_path / "run")), f"left running: {p.cmdline()}"
        except (psutil.Error, OSError):
            pass


# ----------------------------------------------------------------------------- fast: usage and parsing

@pytest.fixture
def toy_solutions(tmp_path):
    solutions = tmp_path / "solutions"
    au.make_toy_assignment(solutions)
    return solutions


def test_usage_errors_exit_2(toy_solutions, tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    unknown = au.run_grade_cli("a99", subs, "--out", tmp_path / "o1", "--solutions", toy_solutions)
    assert unknown.returncode == 2 and "unknown assignment" in unknown.stderr
    missing = au.run_grade_cli("toy", tmp_path / "nowhere", "--out", tmp_path / "o2", "--solutions", toy_solutions)
    assert missing.returncode == 2 and "not found" in missing.stderr
    foreign = tmp_path / "precious"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    refused = au.run_grade_cli("toy", subs, "--out", foreign, "--solutions", toy_solutions)
    assert refused.returncode == 2 and (foreign / "keep.txt").is_file()
    no_out = au.run_grade_cli("toy", subs, "--solutions", toy_solutions)
    assert no_out.returncode == 2


def test_student_ids_are_sanitised_and_unique(tmp_path):
    assert grade.sanitize_student_id("Jane Doe (2)") == "Jane_Doe_2"
    assert grade.sanitize_student_id("émile.zola@uni") == "mile_zola_uni"
    assert grade.sanitize_student_id("???") == "student"
    for name in ("a b.ipynb", "a_b.ipynb", "a-b.ipynb"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "x.ipynb").write_text("{}")
    (tmp_path / "folder" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "folder" / ".ipynb_checkpoints" / "x-checkpoint.ipynb").write_text("{}")
    (tmp_path / "two").mkdir()
    for name in ("one.ipynb", "toy.ipynb"):
        (tmp_path / "two" / name).write_text("{}")
    subs = {s.student_id: s for s in grade.collect_submissions(tmp_path, "toy.ipynb")}
    assert sorted(subs) == ["a-b", "a_b", "a_b_2", "folder", "two"]
    assert subs["folder"].path.name == "x.ipynb" and not subs["folder"].problem
    assert subs["two"].path.name == "toy.ipynb"  # several notebooks: the one named like the assignment


@pytest.mark.parametrize("text, message", [
    ("", "not valid JSON"),
    ('{"cells": []}', "not a Jupyter notebook"),
    ('{"cells": [], "nbformat": 3, "worksheets": []}', "expected 4"),
    ('{"cells": [{"cell_type": "code"}], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "not a valid notebook"),
])
def test_read_submission_rejects_what_is_not_a_notebook(tmp_path, text, message):
    path = tmp_path / "x.ipynb"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        grade.read_submission(path)


def test_read_submission_accepts_a_notebook_with_outputs_and_no_cell_ids(tmp_path):
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": "1", "execution_count": 3,
                     "outputs": [{"output_type": "stream", "name": "stdout", "text": "1"}]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(nb))
    read = grade.read_submission(path)
    assert read.cells[0].outputs == [] and read.cells[0].execution_count is None


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failure_of_the_grading_machine_is_retried_once_alone(tmp_path, monkeypatch, jobs):
    """A kernel that did not start in time (or a locked gradebook) says nothing about the student:
    that student is graded again, alone, after the others; a student's own failure is not."""
    calls: list[str] = []
    logs = {"slow_start": "RuntimeError: Kernel didn't respond in 180 seconds",
            "locked": "sqlite3.OperationalError: database is locked",
            "no_kernel": "RuntimeError: Kernel died before replying to kernel_info",
            "crashed": "nbclient.exceptions.DeadKernelError: Kernel died",
            "flaky": "RuntimeError: Kernel didn't respond in 180 seconds"}  # then crashes

    def fake_autograde(assignment, student_id, out_dir, timeout_per_cell, timeout_per_student):
        calls.append(student_id)
        if student_id == "flaky" and calls.count("flaky") == 2:
            return 1, 0.5, logs["crashed"]
        return 1, 0.5, logs[student_id]

    monkeypatch.setattr(grade, "run_autograde", fake_autograde)
    subs = [grade.Submission(s, tmp_path / f"{s}.ipynb", tmp_path / f"{s}.ipynb") for s in logs]
    done = dict((sub.student_id, result) for sub, result in grade._autograde_all(
        subs, "toy", tmp_path, "toy.ipynb", {"t": 1.0}, 60, 300, jobs, lambda *a, **k: None))
    retried = {"slow_start", "locked", "no_kernel", "flaky"}
    assert sorted(calls) == sorted(list(logs) + list(retried))
    assert set(calls[-4:]) == retried  # graded again after the rest
    assert done["crashed"].status == grade.KERNEL_DIED
    assert done["flaky"].status == grade.KERNEL_DIED  # the second run's outcome is the one reported
    for student, marker in (("slow_start", "didn't respond"), ("locked", "database is locked"),
                            ("no_kernel", "before replying")):
        assert done[student].status == grade.ERROR, done[student]
        assert marker in done[student].details and "grade this student again" in done[student].details
    assert grade.infrastructure_failure(0, logs["slow_start"]) is None  # a finished run is never retried
    assert grade.infrastructure_failure(None, logs["locked"]) is None   # nor one stopped by the backstop


def test_grading_folder_gives_kernels_time_to_start(toy_solutions, tmp_path):
    out = tmp_path / "course"
    out.mkdir()
    grade.build_course("toy", out, toy_solutions)
    config = (out / "nbgrader_config.py").read_text()
    assert f"c.ExecutePreprocessor.startup_timeout = {grade.KERNEL_STARTUP_TIMEOUT}" in config
    assert grade.KERNEL_STARTUP_TIMEOUT > 60  # nbclient's default, which a busy CI machine exceeded
