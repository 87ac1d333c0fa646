"""The class report (autograder.report), built in process from a GradingRun of the toy assignment:
no grading run (tests/test_grading.py checks that a real ``make grade`` run writes it).

The run holds what the toy class of tests/test_grading.py gets (full marks, the untouched release,
both toy mutants, a cell timeout, a kernel that died, output on stderr, invalid files, a repaired
notebook), with the diagnoses autograder.diagnose makes from the toy mutants' in-process messages.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

import nbformat
import pytest

import assignment_utils as au
from autograder import diagnose, grade, report
from autograder.mutants import apply_mutant

CELLS = {"test_add_small": 1.0, "test_add_negative": 2.0}


@pytest.fixture(scope="module")
def toy_signatures(tmp_path_factory):
    """The toy mutants' failures, recorded in process as signatures.json records the real ones."""
    solutions = tmp_path_factory.mktemp("toy") / "solutions"
    au.make_toy_assignment(solutions)
    source = nbformat.read(solutions / "toy" / "toy.ipynb", as_version=4)
    assert diagnose.in_process_outcomes(source, CELLS) == {}
    return {m.name: diagnose.in_process_outcomes(apply_mutant(source, m), CELLS) for m in au.TOY_MUTANTS}


def _result(sid, status, scores, errors=None, details="", seconds=3.0):
    """A student's result; ``details`` as grade.classify writes it unless given."""
    details = details or "; ".join(f"{g}: {why}" for g, why in (errors or {}).items())
    return grade.StudentResult(student_id=sid, status=status, score=sum(scores.values()), max_score=3.0,
                               cell_scores=scores, cell_errors=errors or {}, details=details, seconds=seconds)


@pytest.fixture
def toy_run(tmp_path, toy_signatures):
    full, zero = dict(CELLS), {g: 0.0 for g in CELLS}
    sub, ab = toy_signatures["subtracts"], toy_signatures["absolute"]
    results = [
        _result("good", grade.GRADED, full, seconds=4.2),
        _result("repaired_one", f"{grade.GRADED} (repaired: metadata)", full, details="repaired: metadata of add"),
        _result("untouched", grade.GRADED, zero, {g: "NotImplementedError" for g in CELLS}),
        _result("subtracts", grade.GRADED, zero, dict(sub)),
        _result("subtracts_again", grade.GRADED, zero, {g: m.replace("3", "5") for g, m in sub.items()}),
        _result("absolute", grade.GRADED, {"test_add_small": 1.0, "test_add_negative": 0.0}, dict(ab)),
        _result("half_done", grade.GRADED, zero, {"test_add_small": "NotImplementedError",
                                                   "test_add_negative": ab["test_add_negative"]}),
        _result("infinite_loop", grade.TIMED_OUT, zero, {g: "CellTimeoutError" for g in CELLS},
                details="exceeded 5 s: test_add_small, test_add_negative", seconds=11.0),
        _result("backstop", grade.TIMED_OUT, zero, details="grading took longer than 90 s and was stopped",
                seconds=90.3),
        _result("os_exit", grade.KERNEL_DIED, zero, details="the kernel died while running the notebook"),
        _result("stderr_writer", grade.GRADED, {"test_add_small": 0.0, "test_add_negative": 2.0},
                {"test_add_small": "output on stderr"}),
        _result("<script>alert(1)</script>", grade.INVALID, zero, details="not valid JSON <b>", seconds=0.0),
    ]
    run = grade.GradingRun("toy", tmp_path, dict(CELLS), results)
    diagnoses = diagnose.annotate(run, au.TOY_MUTANTS, toy_signatures)
    return run, diagnoses


def test_diagnoses_of_the_toy_class(toy_run):
    run, diagnoses = toy_run
    # half_done left test_add_small undone, so either mistake fits what is left: both are named
    assert {s: d.key for s, d in diagnoses.items()} == {
        "subtracts": "subtracts", "subtracts_again": "subtracts", "absolute": "absolute",
        "half_done": "subtracts | absolute"}
    assert diagnoses["half_done"].ambiguous and "several known mistakes" in diagnoses["half_done"].text()
    by = run.by_student()
    assert "likely mistake: a - b" in by["subtracts"].details
    assert "likely mistake" not in by["untouched"].details + by["good"].details + by["stderr_writer"].details


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.urls, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]

    def handle_data(self, data):
        self.text.append(data)


def _section(page: str, title: str) -> str:
    start = page.index(f"<h2>{title}</h2>")
    end = page.find("<h2>", start + 1)
    return page[start:end if end > 0 else None]


def test_report_contents(toy_run, tmp_path):
    run, diagnoses = toy_run
    path = report.write_report(run, tmp_path / "report.html", diagnoses, au.TOY_MUTANTS)
    page = path.read_text(encoding="utf-8")
    parser = _Parser()
    parser.feed(page)
    # self-contained: no script, no stylesheet link, no address outside the page
    assert "script" not in parser.tags and "link" not in parser.tags
    assert all(u.startswith("#") for u in parser.urls), parser.urls
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # score distribution: 12 students in bins 0..3 (graded in blue, not graded in grey)
    svg = _section(page, "Score distribution")
    bins = [int(n) for n in re.findall(r'<rect class="bin"[^>]*><title>(\d+) ', svg)]
    assert sum(bins) == 12 and "<svg" in svg
    assert re.search(r"<title>3 not graded</title>", svg)  # backstop, os_exit, the invalid file: at 0
    # failure rate: 9 students had their cells scored one by one (graded and cell timeouts)
    cells = _section(page, "Test cells: failure rate")
    assert "9 student(s)" in cells
    small = re.search(r"test_add_small</code></td><td[^>]*>1</td><td[^>]*>(\d+)/(\d+)</td><td[^>]*>(\d+)%", cells)
    assert small.groups() == ("6", "9", "67"), small.groups()  # untouched, 2 subtracts, half_done, loop, stderr
    negative = re.search(r"test_add_negative</code></td><td[^>]*>2</td><td[^>]*>(\d+)/(\d+)", cells)
    assert negative.groups() == ("6", "9")
    assert "NotImplementedError ×2" in cells
    # the most common mistake first, with its students
    mistakes = _section(page, "Most common recognised mistakes")
    assert mistakes.index("subtracts") < mistakes.index("absolute")
    assert "subtracts, subtracts_again" in mistakes and "ambiguous" in mistakes
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td><b>(\w+)</b>', mistakes)
    assert rows == [("2", "subtracts"), ("1", "absolute"), ("1", "subtracts")], rows
    assert "4 of the 7 graded student(s) who lost points" in mistakes  # not: untouched, loop, stderr
    # statuses with the students concerned and why
    statuses = _section(page, "Statuses")
    for status, who in ((grade.TIMED_OUT, "infinite_loop"), (grade.TIMED_OUT, "backstop"),
                        (grade.KERNEL_DIED, "os_exit"), ("graded (repaired: metadata)", "repaired_one"),
                        (grade.INVALID, "&lt;script&gt;")):
        row = re.search(rf"<tr><td>{re.escape(status)}</td>.*?</tr>", statuses, re.S).group(0)
        assert who in row, (status, row)
    # grading time per student, longest first
    times = _section(page, "Grading time per student")
    assert "total 129.5 s" in times and "max 90.3 s" in times
    assert times.index("backstop") < times.index("infinite_loop") < times.index("good")


def test_report_without_a_catalogue_or_students(tmp_path):
    empty = grade.GradingRun("toy", tmp_path, dict(CELLS), [])
    page = report.render(empty, {}, [])
    assert "no mutant catalogue" in page and "no submissions" in page and "<svg" in page


def test_report_again_from_grades_csv(toy_run, toy_signatures, tmp_path):
    """``python -m autograder.report OUT`` rebuilds the run from grades.csv (e.g. merged shards):
    same students, statuses, cell errors (cut as grades.csv cuts them) and failure rates."""
    run, diagnoses = toy_run
    source = tmp_path / "source" / "toy"
    au.make_toy_assignment(tmp_path / "source")  # as grade.build_course copies it
    assert (source / "toy.ipynb").is_file()
    grade.write_csv(run, tmp_path / "grades.csv")
    again = report.run_from_csv(tmp_path)
    assert again.assignment == "toy" and again.test_cells == CELLS
    before, after = run.by_student(), again.by_student()
    assert sorted(after) == sorted(before)
    for sid, r in before.items():
        assert (after[sid].status, after[sid].score, after[sid].cell_scores) == (r.status, r.score, r.cell_scores)
        assert set(after[sid].cell_errors) == set(r.cell_errors), sid
    assert report.main([str(tmp_path)]) == 0 and (tmp_path / "report.html").is_file()
    rediagnosed = {r.student_id: d for r in again.results
                   if (d := diagnose.diagnose(r.cell_errors, au.TOY_MUTANTS, toy_signatures)) is not None}
    assert {s: d.key for s, d in rediagnosed.items()} == {s: d.key for s, d in diagnoses.items()}
    page = report.render(again, rediagnosed, au.TOY_MUTANTS)
    mistakes = _section(page, "Most common recognised mistakes")
    assert "subtracts, subtracts_again" in mistakes and "4 of the 7" in mistakes
    assert _section(page, "Test cells: failure rate") == _section(report.render(run, diagnoses, au.TOY_MUTANTS),
                                                                   "Test cells: failure rate")
