"""Releases (exercises/) are in sync with their sources (solutions/) and leak nothing.

Parametrised over every assignment in solutions/; the toy assignment (made in a temporary folder)
covers the release command's own edge cases.
"""
from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

import assignment_utils as au
from autograder import release

ASSIGNMENTS = au.assignments()
LEAK_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def _text(path) -> str:
    return path.read_text(encoding="utf-8")


def _visible_lines(source_nb) -> set[str]:
    """Stripped lines the source shows outside solution bodies and hidden tests."""
    lines = set()
    for cell in source_nb.cells:
        src = cell.source
        if au.nbgrader_meta(cell).get("solution"):
            body = set(au.solution_body(src))
            lines |= {l.strip() for l in src.splitlines() if l not in body}
        else:
            lines |= {l.strip() for l in au.split_hidden_tests(src)[0].splitlines()}
    return lines


# ----------------------------------------------------------------------------- every real assignment

@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_matches_a_fresh_generation(assignment, tmp_path):
    fresh = release.generate(assignment, tmp_path)
    committed = au.EXERCISES / assignment
    fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file()) \
        if committed.is_dir() else []
    hint = f"run `python -m autograder.release {assignment}` and commit exercises/{assignment}/"
    assert committed_files == fresh_files, f"files differ: {committed_files} vs {fresh_files}; {hint}"
    for rel in fresh_files:
        assert _text(committed / rel) == _text(fresh / rel), f"exercises/{assignment}/{rel} is out of date; {hint}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solutions_folder_holds_only_the_notebook(assignment):
    # nbgrader copies every other file of solutions/<a>/ into the student release.
    files = subprocess.run(["git", "ls-files", f"solutions/{assignment}"], cwd=au.ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    extra = [f for f in files if not f.endswith(".ipynb")]
    assert not extra, f"only the notebook belongs in solutions/{assignment}/, found {extra}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_leaks_no_solution_and_no_hidden_test(assignment):
    source = au.load_source(assignment)
    text = _text(au.release_path(assignment))
    for marker in LEAK_MARKERS:
        assert marker not in text, f"release of {assignment} contains {marker!r}"
    released_lines = {l.strip() for cell in au.load_release(assignment).cells for l in cell.source.splitlines()}
    visible = _visible_lines(source)
    secret = []
    for gid, cell in au.solution_cells(source).items():
        secret += [(gid, l.strip()) for l in au.solution_body(cell.source)]
    for gid, cell in au.autograded_cells(source).items():
        secret += [(gid, l.strip()) for l in au.split_hidden_tests(cell.source)[1].splitlines()]
    leaks = [(gid, line) for gid, line in secret if line and line not in visible and line in released_lines]
    assert not leaks, f"lines of solutions or hidden tests appear in the release of {assignment}: {leaks}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_cells_are_stubbed_below_their_signature(assignment):
    source, released = au.load_source(assignment), au.load_release(assignment)
    cells = au.solution_cells(source)
    assert cells, f"{assignment} has no solution cells"
    for gid, cell in cells.items():
        out = au.cell_source(released, gid)
        assert au.STUB in out, f"solution cell {gid!r} of the release lacks `{au.STUB}`"
        head = cell.source.split(au.BEGIN_SOLUTION)[0].rstrip()
        assert out.startswith(head), f"the code above BEGIN SOLUTION in {gid!r} (signature, docstring) " \
                                     f"must stay visible in the release"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_test_cells_are_named_documented_and_keep_visible_checks(assignment):
    source, released = au.load_source(assignment), au.load_release(assignment)
    tests = au.autograded_cells(source)
    assert tests, f"{assignment} has no autograded test cells"
    for gid, cell in tests.items():
        assert gid.startswith("test_"), f"test cell grade_id {gid!r} must start with 'test_'"
        assert au.nbgrader_meta(cell).get("points", 0) > 0, f"test cell {gid!r} is worth no points"
        first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
        assert first.startswith(('"""', "'''")) and au.docstring_of(cell.source), \
            f"test cell {gid!r} must open with a one-line docstring saying what it checks"
        visible, hidden = au.split_hidden_tests(cell.source)
        assert hidden.strip(), f"test cell {gid!r} has no ### BEGIN HIDDEN TESTS block"
        checks = [l for l in visible.splitlines()[1:] if l.strip() and not l.strip().startswith("#")]
        assert checks, f"test cell {gid!r} has no visible checks before its hidden tests"
        assert au.cell_source(released, gid).strip() == visible.strip(), \
            f"the release's test cell {gid!r} must show exactly the source's visible checks"


# ----------------------------------------------------------------------------- the release command itself

@pytest.fixture
def toy(tmp_path):
    solutions = tmp_path / "solutions"
    au.make_toy_assignment(solutions)
    return solutions


def _release_cli(*args):
    return subprocess.run([sys.executable, "-m", "autograder.release", *map(str, args)], cwd=au.ROOT,
                          capture_output=True, text=True)


def test_release_is_deterministic_and_strips_the_toy(toy, tmp_path):
    first = release.generate("toy", tmp_path / "one", toy)
    second = release.generate("toy", tmp_path / "two", toy)
    assert _text(first / "toy.ipynb") == _text(second / "toy.ipynb")
    nb = nbformat.read(first / "toy.ipynb", as_version=4)
    assert au.cell_source(nb, "add").endswith(au.STUB)
    assert "return a + b" not in _text(first / "toy.ipynb")
    assert au.cell_source(nb, "test_add_small") == '"""add works on small numbers."""\nassert add(1, 2) == 3, "add(1, 2) should be 3"'


def test_release_cli_writes_exercises_and_accepts_a_prefix(toy, tmp_path):
    (toy / "toy").rename(toy / "a07_toy")
    (toy / "a07_toy" / "toy.ipynb").rename(toy / "a07_toy" / "a07_toy.ipynb")
    exercises = tmp_path / "exercises"
    (exercises / "a07_toy").mkdir(parents=True)
    (exercises / "a07_toy" / "stale.txt").write_text("left over")
    proc = _release_cli("a07", "--solutions", toy, "--exercises", exercises)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (exercises / "a07_toy").iterdir()) == ["a07_toy.ipynb"]
    # no argument: every assignment
    proc = _release_cli("--solutions", toy, "--exercises", exercises)
    assert proc.returncode == 0 and "a07_toy.ipynb" in proc.stdout


@pytest.mark.parametrize("content, message", [
    ('{"cells": [', "not valid JSON"),
    ('{"hello": "world"}', "not a version-4 Jupyter notebook"),
    (None, "no source notebook"),
])
def test_release_cli_reports_a_broken_source_clearly(toy, tmp_path, content, message):
    path = toy / "toy" / "toy.ipynb"
    if content is None:
        path.unlink()
        (toy / "toy" / "notes.txt").write_text("the notebook is missing")
    else:
        path.write_text(content)
    proc = _release_cli("toy", "--solutions", toy, "--exercises", tmp_path / "exercises")
    assert proc.returncode == 1
    assert message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_release_cli_rejects_an_unknown_assignment(toy, tmp_path):
    proc = _release_cli("a99", "--solutions", toy, "--exercises", tmp_path / "exercises")
    assert proc.returncode == 1 and "unknown assignment 'a99'" in proc.stderr
