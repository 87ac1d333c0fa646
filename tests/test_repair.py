"""Mangled submissions are realigned with the release (autograder/repair.py), not scored 0.

Fast tests check the repaired notebook itself, for every assignment: an intact notebook comes
back unchanged with no repairs; one with all nbgrader metadata stripped, a copied answer cell, a
changed cell type or a deleted test cell comes back with the reference's graded cells. Slow tests
grade mangled toy and a01 submissions for real: they get the reference's full marks and the
status ``graded (repaired: ...)``.
"""
from __future__ import annotations

import copy

import nbformat
import pytest

import assignment_utils as au
from autograder import grade, repair

ASSIGNMENTS = au.assignments()


def strip_all_metadata(nb):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell["metadata"] = {}
    return nb


def graded_view(nb):
    """What nbgrader grades: every cell with a grade_id, its type, metadata and (for answers) text."""
    view = {}
    for cell in nb.cells:
        gid = au.grade_id(cell)
        if gid:
            assert gid not in view, f"duplicate grade_id {gid}"
            view[gid] = (cell.cell_type, au.nbgrader_meta(cell),
                         cell.source if au.nbgrader_meta(cell).get("solution") else None)
    return view


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("toy-repair")
    solutions = tmp / "solutions"
    au.make_toy_assignment(solutions)
    source = nbformat.read(solutions / "toy" / "toy.ipynb", as_version=4)
    released = au.toy_release(solutions)
    return tmp, solutions, released, au.filled_release(released, source)


def _mangled(released, good) -> dict:
    stripped = strip_all_metadata(good)
    copied = copy.deepcopy(good)  # a student copies the answer cell (with its grade_id) to try things
    add = au.cell_by_grade_id(copied, "add")
    trial = copy.deepcopy(add)
    trial.source = "def add(a, b):\n    return 0  # first try"
    copied.cells.insert(copied.cells.index(add), trial)
    retyped = copy.deepcopy(good)
    answer = au.cell_by_grade_id(retyped, "add")  # turned into a markdown cell by a click
    answer.cell_type = "markdown"
    del answer["outputs"], answer["execution_count"]
    no_test = copy.deepcopy(good)
    no_test.cells = [c for c in no_test.cells if au.grade_id(c) != "test_add_negative"]
    everything = strip_all_metadata(no_test)
    everything.cells.insert(3, copy.deepcopy(everything.cells[2]))
    return {"stripped": stripped, "copied_cell": copied, "retyped": retyped, "deleted_test": no_test,
            "everything": everything}


def _as_read(nb):
    """The notebook as the grader reads it (validated, outputs cleared)."""
    return nbformat.reads(nbformat.writes(nb), as_version=4)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_intact_notebooks_are_left_alone(assignment):
    released, source = au.load_release(assignment), au.load_source(assignment)
    for nb in (released, au.filled_release(released, source)):
        repaired, repairs = repair.repair(nb, released)
        assert repairs == []
        assert [(c.cell_type, c.source, c.metadata) for c in repaired.cells] == \
            [(c.cell_type, c.source, c.metadata) for c in nb.cells]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_stripped_metadata_is_restored(assignment):
    released, source = au.load_release(assignment), au.load_source(assignment)
    good = au.filled_release(released, source)
    repaired, repairs = repair.repair(strip_all_metadata(good), released)
    assert graded_view(repaired) == graded_view(good)
    assert repairs and all("metadata" in r for r in repairs)
    assert repair.summary(repairs) == "metadata"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_deleted_test_cell_comes_back_in_its_place(assignment):
    released, source = au.load_release(assignment), au.load_source(assignment)
    good = au.filled_release(released, source)
    victim = list(au.autograded_cells(good))[-1]
    mangled = copy.deepcopy(good)
    mangled.cells = [c for c in mangled.cells if au.grade_id(c) != victim]
    repaired, repairs = repair.repair(mangled, released)
    assert graded_view(repaired) == graded_view(good)
    assert [au.grade_id(c) for c in repaired.cells] == [au.grade_id(c) for c in good.cells]
    assert repairs == [f"restored the deleted test cell {victim}"]


def test_each_mangling_of_the_toy_is_repaired(toy):
    _, _, released, good = toy
    for name, nb in _mangled(released, good).items():
        repaired, repairs = repair.repair(_as_read(nb), released)
        got, want = graded_view(repaired), graded_view(good)
        if name == "copied_cell":  # the first copy keeps the id; both run, in the student's order
            got["add"], want["add"] = got["add"][:2], want["add"][:2]
        assert got == want, name
        assert repairs, name
    copied, repairs = repair.repair(_mangled(released, good)["copied_cell"], released)
    assert [r for r in repairs if "copy of add" in r], repairs
    assert "return 0  # first try" in "".join(c.source for c in copied.cells)  # the extra cell stays
    assert repair.summary(repair.repair(_mangled(released, good)["retyped"], released)[1]) == "cell types"


@pytest.mark.slow
def test_mangled_toy_submissions_get_full_marks(toy):
    tmp, solutions, released, good = toy
    class_ = {"intact": good, **_mangled(released, good)}
    run = au.grade_notebooks("toy", class_, tmp / "run", solutions_dir=solutions, timeout_per_cell=60)
    results = run.by_student()
    assert results["intact"].status == grade.GRADED and results["intact"].score == 3
    for name in class_:
        if name == "intact":
            continue
        r = results[name]
        assert r.status.startswith(f"{grade.GRADED} (repaired: ") and r.score == 3, (name, r)
        assert r.details.startswith("repaired: "), r.details


@pytest.mark.slow
@pytest.mark.timeout(0)
def test_a01_with_all_metadata_stripped_gets_full_marks(tmp_path):
    assignment = "a01_language_models"
    released, source = au.load_release(assignment), au.load_source(assignment)
    good = au.filled_release(released, source)
    run = au.grade_notebooks(assignment, {"stripped": strip_all_metadata(good)}, tmp_path, timeout_per_cell=300)
    r = run.by_student()["stripped"]
    assert r.status == f"{grade.GRADED} (repaired: metadata)" and r.score == r.max_score > 0, r
