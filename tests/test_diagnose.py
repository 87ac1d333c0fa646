"""Naming the mistake (autograder.diagnose), for every assignment in solutions/ at once.

Fast (milliseconds): every catalogued mutant of every assignment is recognised from the failures it
causes (its failing test cells and the messages recorded in autograder/signatures.json), the
reference (no failing cell) and the untouched release (only NotImplementedError) are not, a
half-finished notebook is still diagnosed on the task it did, and a failure that fits a mistake's
cells but not its message is not misnamed.

The recorded messages are checked twice: every mutant's fresh in-process messages must be
diagnosed as that mutant (tests/test_aNN_checks.py, through assignment_utils), and the grading round
trip in tests/test_grading.py requires the grades.csv row of each mutant it grades through real
nbgrader (a covering subset by default, see SEQLAB_ROUNDTRIP_MUTANTS there) to name its mistake. When the catalogue or the checks change, record them again, in process (the same
way tests/test_aNN_checks.py runs each mutant; about 10 minutes for all seven assignments on one
core)::

    SEQLAB_RECORD_SIGNATURES=1 OMP_NUM_THREADS=1 .venv/bin/python -m pytest tests/test_diagnose.py -k record
"""
from __future__ import annotations

import importlib
import os

import pytest

import assignment_utils as au
from autograder import diagnose
from autograder.mutants import Mutant, apply_mutant, load_catalogue

ASSIGNMENTS = au.assignments()
RECORD = os.environ.get("SEQLAB_RECORD_SIGNATURES") == "1"


def _recorded(assignment):
    return diagnose.load_signatures(assignment)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_mutant_has_recorded_messages(assignment):
    """signatures.json holds, for every mutant of the catalogue, a message for each cell it fails."""
    recorded = _recorded(assignment)
    catalogue = load_catalogue(assignment)
    stale = [m.name for m in catalogue if set(recorded.get(m.name, {})) != set(m.fails)]
    gone = sorted(set(recorded) - {m.name for m in catalogue})
    assert not stale and not gone, (
        f"{assignment}: autograder/signatures.json is out of date (mutants without the right recorded "
        f"cells: {stale}; recorded but no longer catalogued: {gone}); record again with "
        f"SEQLAB_RECORD_SIGNATURES=1 pytest tests/test_diagnose.py -k 'record and {assignment}'")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_mutant_is_recognised_and_the_reference_is_not(assignment):
    catalogue, recorded = load_catalogue(assignment), _recorded(assignment)
    source = au.load_source(assignment)
    tests = list(au.autograded_cells(source))
    problems = []
    for m in catalogue:
        failures = dict(recorded.get(m.name, {}))
        d = diagnose.diagnose(failures, catalogue, recorded)
        if d is None or m not in d.mistakes:
            problems.append(f"{m.name}: not recognised (diagnosis {d and d.key})")
            continue
        # Named together only with mistakes it cannot be told from: same cells, alike messages.
        for other in d.mistakes:
            if other is not m:
                alike = all(diagnose.similarity(failures[g], recorded[other.name][g]) >= diagnose.MIN_SIMILARITY
                            for g in failures)
                if not alike:
                    problems.append(f"{m.name}: also named {other.name}, whose messages differ")
        # A half-finished notebook: every other task left as NotImplementedError.
        partial = {**{g: "NotImplementedError: " for g in tests}, **failures}
        d_partial = diagnose.diagnose(partial, catalogue, recorded)
        if d_partial is None or m not in d_partial.mistakes:
            problems.append(f"{m.name}: not recognised when the other tasks are not done")
    assert not problems, "\n".join(problems)
    # The reference fails nothing; the untouched release fails only with NotImplementedError;
    # output on stderr alone is no mistake.
    assert diagnose.diagnose({}, catalogue, recorded) is None
    assert diagnose.diagnose({g: "NotImplementedError: " for g in tests}, catalogue, recorded) is None
    assert diagnose.diagnose({g: "output on stderr" for g in tests}, catalogue, recorded) is None


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_failure_unlike_every_mistake_is_not_named(assignment):
    """The cells of a catalogued mistake, failing with a message none of the catalogue records
    (a different, unknown mistake), get no diagnosis rather than a wrong one."""
    catalogue, recorded = load_catalogue(assignment), _recorded(assignment)
    for m in catalogue:
        failures = {g: "AssertionError: the submission's tokenizer crashed on an empty vocabulary file"
                    for g in m.fails}
        assert diagnose.diagnose(failures, catalogue, recorded) is None, m.name
        failures = {g: "AssertionError: wrong" for g in m.fails}
        assert diagnose.diagnose(failures, catalogue, recorded) is None, m.name
        raised = {g: "ZeroDivisionError: division by zero" for g in m.fails}
        named = diagnose.diagnose(raised, catalogue, recorded)
        assert named is None or all(all(recorded[x.name][g].startswith("ZeroDivisionError") for g in m.fails)
                                    for x in named.mistakes), (m.name, named)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_hints_name_the_mistake_without_the_solution(assignment):
    """What the student reads is words, not the reference's code: no line of a solution cell's
    reference code (of 20 characters or more: a call's name like optimizer.step() may be named)
    appears in it, and it is not empty."""
    source = au.load_source(assignment)
    solution_lines = {line.strip() for cell in au.solution_cells(source).values()
                      for line in au.solution_body(cell.source) if len(line.strip()) >= 20}
    for m in load_catalogue(assignment):
        text = diagnose.hint(m)
        assert len(text.split()) >= 2, (m.name, text)
        leaked = [line for line in solution_lines if line in text]
        assert not leaked, f"{m.name}: the hint quotes the solution: {leaked}"


# ----------------------------------------------------------------------------- matching rules (toy)

TOY = [
    Mutant(name="subtracts", description="subtracts b from a instead of adding it: a - b", cell="add", find="", replace="",
           fails=("small", "negative")),
    Mutant(name="absolute", description="adds absolute values, so negative numbers come out positive",
           cell="add", find="", replace="", fails=("negative",)),
    Mutant(name="absolute_too", description="squares then roots", cell="add", find="", replace="",
           fails=("negative",), hint="takes the magnitude of each number first"),
]
RECORDED = {"subtracts": {"small": "AssertionError: add(1, 2) should be 3",
                          "negative": "AssertionError: add(-1, 1) should be 0"},
            "absolute": {"negative": "AssertionError: add(-1, 1) should be 0"},
            "absolute_too": {"negative": "AssertionError: add(-1, 1) should be 0"}}


def test_matching_rules():
    d = diagnose.diagnose({"small": "AssertionError: add(1, 2) should be 3",
                           "negative": "AssertionError: add(-1, 1) should be 0"}, TOY, RECORDED)
    assert [m.name for m in d.mistakes] == ["subtracts"] and not d.ambiguous
    assert d.text() == "likely mistake: subtracts b from a"  # the 'instead of' half is the solution: cut
    # numbers differ (another input), same mistake
    d = diagnose.diagnose({"small": "AssertionError: add(7, 2) should be 9",
                           "negative": "AssertionError: add(-5, 1) should be -4"}, TOY, RECORDED)
    assert [m.name for m in d.mistakes] == ["subtracts"]
    # two mistakes that fail alike are both named, and the text says so
    d = diagnose.diagnose({"negative": "AssertionError: add(-1, 1) should be 0"}, TOY, RECORDED)
    assert d.ambiguous and {m.name for m in d.mistakes} == {"absolute", "absolute_too"}
    assert "several known mistakes" in d.text() and "takes the magnitude of each number first" in d.text()
    # another exception type in the same cell is another mistake
    assert diagnose.diagnose({"negative": "TypeError: unsupported operand"}, TOY, RECORDED) is None
    # a message cut short (as grades.csv keeps it) still matches; a short other message does not
    long = {"negative": "AssertionError: add(-1, 1) should be 0 " + "because -1 + 1 is 0 " * 10}
    cut = {"negative": long["negative"][:len("AssertionError: ") + diagnose.CUT]}
    d = diagnose.diagnose(cut, TOY, {"absolute": long})
    assert d is not None and "absolute" in d.key
    assert diagnose.diagnose({"negative": "AssertionError: add(-1"}, TOY, RECORDED) is None
    # a long message (a printed array) whole, against its first MAX_MESSAGE characters as recorded
    whole = "AssertionError: weights contain NaN: " + " ".join(f"{i / 7:.6f}" for i in range(300))
    recorded = {"absolute": {"negative": whole[:diagnose.MAX_MESSAGE]}}
    assert diagnose.diagnose({"negative": whole}, TOY, recorded).key == "absolute"
    # alike once numbers are masked, but only one gives the student's very numbers: that one
    seeded = {"absolute": {"negative": "AssertionError: add(-1, 1) should be 0, got 2"},
              "absolute_too": {"negative": "AssertionError: add(-1, 1) should be 0, got 1.4142"}}
    d = diagnose.diagnose({"negative": "AssertionError: add(-1, 1) should be 0, got 2"}, TOY, seeded)
    assert d.key == "absolute"
    d = diagnose.diagnose({"negative": "AssertionError: add(-1, 1) should be 0, got 7"}, TOY, seeded)
    assert d.ambiguous
    # unrecorded mutants are matched by their cells alone
    d = diagnose.diagnose({"negative": "AssertionError: anything"}, TOY, {})
    assert d.ambiguous and d.score is None
    # stderr-only cells passed their checks; a timed-out or undone cell may hide anything
    assert diagnose.diagnose({"negative": "output on stderr"}, TOY, RECORDED) is None
    d = diagnose.diagnose({"small": "CellTimeoutError", "negative": "AssertionError: add(-1, 1) should be 0"},
                          TOY, RECORDED)
    assert d is not None and "subtracts" in d.key


def test_normalise_masks_numbers_and_similarity_needs_the_same_exception():
    assert diagnose.normalise("got 1.5e-3 and nan, expected (2, 3)") == "got # and #, expected (#…)"
    assert diagnose.similarity("AssertionError: x is 1", "AssertionError: x is 2") == 1.0
    assert diagnose.similarity("AssertionError: x is 1", "ValueError: x is 1") == 0.0


def test_feedback_box_is_inserted_under_the_score_and_replaced_on_rerun(tmp_path):
    import types
    page = tmp_path / "feedback" / "s1" / "toy" / "toy.html"
    page.parent.mkdir(parents=True)
    page.write_text("<html><body><div><h4>toy (Score: 1.0 / 3.0)</h4><div id='toc'></div></div></body></html>")
    run = types.SimpleNamespace(out_dir=tmp_path, assignment="toy")
    d = diagnose.Diagnosis((TOY[0],), ("small", "negative"), 1.0)
    for _ in range(2):
        assert diagnose.add_to_feedback(run, {"s1": d}) == 1
    text = page.read_text()
    assert text.count('class="seqlab-diagnosis"') == 1
    assert text.index("Score: 1.0") < text.index("subtracts b from a") < text.index("id='toc'")
    assert "instead of adding" not in text and "a - b" not in text


# ----------------------------------------------------------------------------- recording (opt-in)

def _skip_cells(assignment: str, mutant: Mutant | None) -> set[str]:
    """The cells tests/test_aNN_checks.py leaves out of its in-process runs: demonstrations no test
    cell uses, and a slow test cell whose outcome a mutant of another cell cannot change."""
    module = importlib.import_module(f"test_{assignment[:3]}_checks")
    skip = set(getattr(module, "DEMO_CELLS", set()))
    slow, model_cell = getattr(module, "SLOW_TEST", None), getattr(module, "MODEL_CELL", None)
    if slow and (mutant is None or mutant.cell != model_cell):
        skip.add(slow)
    return skip


@pytest.mark.slow
@pytest.mark.timeout(0)
@pytest.mark.skipif(not RECORD, reason="records autograder/signatures.json; set SEQLAB_RECORD_SIGNATURES=1")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_record_signatures(assignment):
    """Run the reference and every mutant in process, check the failing cells, record the messages."""
    source = au.load_source(assignment)
    tests = list(au.autograded_cells(source))
    # A demonstration cell that builds on a skipped one (NameError) is a demonstration too.
    demos = set()
    while True:
        try:
            reference = diagnose.in_process_outcomes(source, tests, _skip_cells(assignment, None) | demos)
            break
        except diagnose.CellError as e:
            if not isinstance(e.error, NameError) or e.grade_id in au.solution_cells(source) or e.grade_id in demos:
                raise
            demos.add(e.grade_id)
    assert reference == {}, f"the reference fails {reference}"
    recorded, problems = {}, []
    for m in load_catalogue(assignment):
        failed = diagnose.in_process_outcomes(apply_mutant(source, m), tests, _skip_cells(assignment, m) | demos)
        if set(failed) != set(m.fails):
            problems.append(f"{m.name}: fails {sorted(failed)}, catalogue says {sorted(m.fails)}")
        recorded[m.name] = failed
    assert not problems, "\n".join(problems)
    diagnose.write_signatures(assignment, recorded)
