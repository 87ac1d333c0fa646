"""Helpers shared by the assignment tests (release, grading, and each assignment's own checks).

Reading notebooks::

    assignments()                       # ["a01_language_models", ...]: every solutions/a*/ folder
    nb = load_source(a); rel = load_release(a)
    cell_source(nb, "test_bigram_probs")      # a cell's source by nbgrader grade_id
    solution_cells(nb), autograded_cells(nb)        # {grade_id: cell}, in notebook order
    split_hidden_tests(src)                   # (visible part, hidden part) of a test cell
    solution_body(src)                        # lines between BEGIN/END SOLUTION

Running code in-process (fast; for tests/test_aNN_checks.py)::

    ns = notebook_namespace(nb)               # exec every code cell except test cells
    run_test_cell(nb, "test_x", ns)           # exec one test cell (hidden tests included)
    with captured_stderr() as err: ...        # err.getvalue() after the block

Submissions and real nbgrader::

    filled_release(rel, nb)                   # the release with nb's solutions typed in
    execute_notebook(nb, timeout=60, cwd=...) # nbclient, in a fresh kernel
    run = grade_notebooks(a, {"ref": nb1, "m1": nb2}, tmp_path)   # real nbgrader autograde
    run.by_student()["ref"].cell_scores       # {test grade_id: points}

A toy assignment (one solution cell ``add``, two hidden-tested test cells) for pipeline tests:
``make_toy_assignment(tmp_path / "solutions")``.
"""
from __future__ import annotations

import ast
import contextlib
import copy
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterable

import nbformat

from autograder import grade, release
from autograder.mutants import Mutant, apply_mutant, load_catalogue

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
STUB = "raise NotImplementedError()"


# ----------------------------------------------------------------------------- reading notebooks

def assignments(solutions_dir: Path = SOLUTIONS) -> list[str]:
    """Every assignment in ``solutions/`` (folders ``aNN_slug`` holding a notebook), sorted."""
    return [a for a in release.list_assignments(solutions_dir) if re.match(r"a\d\d_", a)]


def source_path(assignment: str, solutions_dir: Path = SOLUTIONS) -> Path:
    return release.source_notebook_path(assignment, solutions_dir)


def release_path(assignment: str, exercises_dir: Path | None = None, solutions_dir: Path = SOLUTIONS) -> Path:
    return (exercises_dir or EXERCISES) / assignment / source_path(assignment, solutions_dir).name


def load_source(assignment: str, solutions_dir: Path = SOLUTIONS) -> nbformat.NotebookNode:
    return nbformat.read(source_path(assignment, solutions_dir), as_version=4)


def load_release(assignment: str, exercises_dir: Path | None = None) -> nbformat.NotebookNode:
    return nbformat.read(release_path(assignment, exercises_dir), as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def solution_cells(nb) -> dict:
    """grade_id -> cell, for cells students write (``solution: true``)."""
    return {grade_id(c): c for c in nb.cells if nbgrader_meta(c).get("solution")}


def autograded_cells(nb) -> dict:
    """grade_id -> cell, for autograded test cells (``grade: true``, code, not a solution)."""
    return {grade_id(c): c for c in nb.cells
            if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution") and c.cell_type == "code"}


def cell_by_grade_id(nb, gid: str):
    cells = [c for c in nb.cells if grade_id(c) == gid]
    if len(cells) != 1:
        raise KeyError(f"expected one cell with grade_id {gid!r}, found {len(cells)}")
    return cells[0]


def cell_source(nb, gid: str) -> str:
    return cell_by_grade_id(nb, gid).source


def split_hidden_tests(source: str) -> tuple[str, str]:
    """(visible part, hidden part) of a test cell: the hidden part is what lies between the
    HIDDEN TESTS markers (markers excluded); the visible part is everything else."""
    visible, hidden, inside = [], [], False
    for line in source.splitlines():
        if line.strip() == BEGIN_HIDDEN:
            inside = True
        elif line.strip() == END_HIDDEN:
            inside = False
        elif inside:
            hidden.append(line)
        else:
            visible.append(line)
    return "\n".join(visible).strip("\n"), "\n".join(hidden).strip("\n")


def solution_body(source: str) -> list[str]:
    """Lines between BEGIN SOLUTION and END SOLUTION (markers excluded)."""
    body, inside = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN_SOLUTION:
            inside = True
        elif line.strip() == END_SOLUTION:
            inside = False
        elif inside:
            body.append(line)
    return body


def strip_markers(source: str) -> str:
    """``source`` without its SOLUTION / HIDDEN TESTS marker lines (the code stays)."""
    markers = {BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN}
    return "\n".join(l for l in source.splitlines() if l.strip() not in markers)


def first_code_cell(nb):
    return next(c for c in nb.cells if c.cell_type == "code")


def docstring_of(source: str) -> str | None:
    """The module docstring of a cell's code (its first statement, if a string), else None."""
    try:
        return ast.get_docstring(ast.parse(source))
    except SyntaxError:
        return None


# ----------------------------------------------------------------------------- in-process execution

def _runnable(source: str) -> str:
    """Cell source as plain Python: IPython magics and shell lines (``%``, ``!``) are dropped."""
    return "\n".join("" if l.lstrip().startswith(("%", "!")) else l for l in source.splitlines())


def exec_cell(source: str, namespace: dict, name: str = "<cell>") -> None:
    exec(compile(_runnable(source), name, "exec"), namespace)


def notebook_namespace(nb, *, include_tests: bool = False, stop_before: str | None = None) -> dict:
    """Execute the code cells of ``nb`` in order, in this process, into a fresh namespace and
    return it. Test cells are skipped unless ``include_tests``; ``stop_before`` stops at the cell
    with that grade_id. Uses the Agg matplotlib backend so plots do not open windows."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__main__"}
    tests = set(autograded_cells(nb))
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        gid = grade_id(cell)
        if stop_before is not None and gid == stop_before:
            break
        if gid in tests and not include_tests:
            continue
        exec_cell(cell.source, namespace, name=f"<cell {index}: {gid or 'code'}>")
    return namespace


def run_test_cell(nb, gid: str, namespace: dict, *, hidden: bool = True) -> None:
    """Execute test cell ``gid`` (with its hidden tests unless ``hidden=False``) in ``namespace``;
    raises whatever the checks raise."""
    source = cell_source(nb, gid)
    code = strip_markers(source) if hidden else split_hidden_tests(source)[0]
    exec_cell(code, namespace, name=f"<test cell {gid}>")


@contextlib.contextmanager
def captured_stderr():
    """Capture everything written to ``sys.stderr`` (and warnings, which go there) in the block."""
    import warnings

    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer), warnings.catch_warnings():
        warnings.simplefilter("always")  # a warning already shown elsewhere still counts here
        yield buffer


def mutated_source(nb, mutant: Mutant):
    """The source notebook with ``mutant``'s edit applied (see :func:`autograder.mutants.apply_mutant`)."""
    return apply_mutant(nb, mutant)


# ----------------------------------------------------------------------------- submissions and nbgrader

def filled_release(release_nb, source_nb) -> nbformat.NotebookNode:
    """What a student would submit: the release, each solution cell replaced by the
    corresponding cell of ``source_nb`` (solution markers removed)."""
    sources = solution_cells(source_nb)
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        gid = grade_id(cell)
        if nbgrader_meta(cell).get("solution") and gid in sources:
            cell.source = strip_markers(sources[gid].source)
    return nb


def execute_notebook(nb, *, timeout: int = 600, cwd: Path | str | None = None,
                     allow_errors: bool = False, kernel_name: str = "python3") -> nbformat.NotebookNode:
    """Run a copy of ``nb`` in a fresh kernel with nbclient (``timeout`` seconds per cell, working
    directory ``cwd``, the repository on PYTHONPATH) and return the executed copy."""
    from nbclient import NotebookClient

    nb = copy.deepcopy(nb)
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, allow_errors=allow_errors,
                            resources={"metadata": {"path": str(cwd or ROOT)}})
    client.execute(env=release.subprocess_env())
    return nb


def write_submissions(folder: Path, notebooks: dict) -> Path:
    """Write ``{student: notebook | str | bytes}`` as ``folder/<student>.ipynb`` (text and bytes
    are written as they are, e.g. to make an invalid file)."""
    folder.mkdir(parents=True, exist_ok=True)
    for student, nb in notebooks.items():
        path = folder / f"{student}.ipynb"
        if isinstance(nb, bytes):
            path.write_bytes(nb)
        elif isinstance(nb, str):
            path.write_text(nb, encoding="utf-8")
        else:
            nbformat.write(nb, path)
    return folder


def grade_notebooks(assignment: str, notebooks: dict, tmp_path: Path, *, solutions_dir: Path = SOLUTIONS,
                    timeout_per_cell: int = 60, timeout_per_student: float = 300,
                    feedback: bool = False, jobs: int = 1) -> grade.GradingRun:
    """Grade ``{student: notebook}`` with real ``nbgrader autograde`` (one subprocess per student,
    as ``make grade`` does) in a course directory under ``tmp_path``; the result's
    ``by_student()[s].cell_scores`` holds each test cell's points."""
    subs = write_submissions(tmp_path / "submissions", notebooks)
    return grade.grade_submissions(assignment, subs, tmp_path / "graded", timeout_per_cell=timeout_per_cell,
                                   timeout_per_student=timeout_per_student, feedback=feedback,
                                   solutions_dir=solutions_dir, jobs=jobs, progress=False)


def run_grade_cli(*args: str, timeout: float = 1400) -> subprocess.CompletedProcess:
    """``python -m autograder.grade ARGS`` as ``make grade`` runs it. After ``timeout`` seconds the
    command and every process it started are killed and ``subprocess.TimeoutExpired`` is raised."""
    cmd = [sys.executable, "-m", "autograder.grade", *map(str, args)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=release.subprocess_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        grade._kill_tree(proc)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


def read_grades_csv(path: Path) -> dict[str, dict[str, str]]:
    import csv
    with open(path, newline="", encoding="utf-8") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def autograded_notebook(run_dir: Path, assignment: str, student: str) -> nbformat.NotebookNode:
    folder = run_dir / "autograded" / student / assignment
    return nbformat.read(next(folder.glob("*.ipynb")), as_version=4)


# ----------------------------------------------------------------------------- the toy assignment

TOY = "toy"
TOY_SOLUTION = "def add(a: int, b: int) -> int:\n    \"\"\"The sum of a and b.\"\"\"\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION"
TOY_MUTANTS = [
    Mutant(name="subtracts", description="a - b instead of a + b", cell="add",
           find="return a + b", replace="return a - b", fails=("test_add_small", "test_add_negative")),
    Mutant(name="absolute", description="adds absolute values", cell="add",
           find="return a + b", replace="return abs(a) + abs(b)", fails=("test_add_negative",)),
]


def make_toy_assignment(solutions_dir: Path) -> str:
    """Write ``solutions_dir/toy/toy.ipynb``: a setup cell, one solution cell (``add``) and two
    test cells (1 and 2 points) with visible checks and hidden tests (the second imports
    ``autograder``, proving the grading kernel can). Returns the assignment name."""
    def meta(gid, *, grade=False, solution=False, points=None):
        m = {"grade": grade, "solution": solution, "locked": not solution, "grade_id": gid, "schema_version": 3}
        if points is not None:
            m["points"] = points
        return {"nbgrader": m}

    v4 = nbformat.v4
    cells = [
        v4.new_markdown_cell("# Toy assignment\nImplement `add`.", metadata=meta("intro")),
        v4.new_code_cell("# Setup\nimport sys\nprint('ready')"),
        v4.new_code_cell(TOY_SOLUTION, metadata=meta("add", solution=True)),
        v4.new_code_cell('"""add works on small numbers."""\nassert add(1, 2) == 3, "add(1, 2) should be 3"\n'
                         f"{BEGIN_HIDDEN}\nassert add(20, 22) == 42\n{END_HIDDEN}",
                         metadata=meta("test_add_small", grade=True, points=1)),
        v4.new_code_cell('"""add works on negative numbers."""\nassert add(-1, 1) == 0, "add(-1, 1) should be 0"\n'
                         f"{BEGIN_HIDDEN}\nimport autograder.mutants\nassert add(-5, -5) == -10\n{END_HIDDEN}",
                         metadata=meta("test_add_negative", grade=True, points=2)),
    ]
    for i, cell in enumerate(cells):
        cell["id"] = f"toy-{i}"  # fixed ids: the generated release is then byte-for-byte stable
    nb = v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                               "language": "python"}})
    folder = solutions_dir / TOY
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{TOY}.ipynb")
    return TOY


_TOY_RELEASES: dict[bytes, nbformat.NotebookNode] = {}


def toy_release(solutions_dir: Path) -> nbformat.NotebookNode:
    """The release of the toy assignment in ``solutions_dir`` (``release.generate``, a real
    ``nbgrader generate_assignment``), generated once per test process for each distinct toy
    notebook: the toy is written with fixed cell ids, so its release is byte-for-byte the same
    every time (tests/test_release.py checks that), and each caller gets its own copy."""
    key = (solutions_dir / TOY / f"{TOY}.ipynb").read_bytes()
    if key not in _TOY_RELEASES:
        import tempfile
        with tempfile.TemporaryDirectory(prefix="toy-release-") as tmp:
            path = release.generate(TOY, Path(tmp), solutions_dir) / f"{TOY}.ipynb"
            _TOY_RELEASES[key] = nbformat.read(path, as_version=4)
    return copy.deepcopy(_TOY_RELEASES[key])


# A toy ``add`` that never returns, for the per-student backstop tests (tests/test_grading.py,
# tests/test_worker.py): it sleeps rather than spins, since the backstop (not the per-cell limit) is
# what they test, and a spinning loop would take a core from the other test worker for the whole
# limit. The toy class's infinite_loop and ignores_interrupts, and the tamper suite's stubborn_loop, spin.
SLEEPER = "import time\n\ndef add(a, b):\n    while True:\n        time.sleep(1)"


def toy_submission(release_nb, solution: str) -> nbformat.NotebookNode:
    """The toy release with the ``add`` cell replaced by ``solution``."""
    nb = copy.deepcopy(release_nb)
    cell_by_grade_id(nb, "add").source = solution
    return nb


def exec_code_cells(nb, skip: set) -> dict:
    """Run ``nb``'s code cells in order, except those whose grade_id is in ``skip`` (the test
    cells, demonstrations), in one fresh namespace with printed output discarded: how the
    in-process check tests get the reference, or a mutant, to test."""
    import contextlib
    import io

    ns: dict = {"__name__": "__main__"}
    for index, cell in enumerate(nb.cells):
        gid = grade_id(cell)
        if cell.cell_type != "code" or gid in skip:
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            exec_cell(cell.source, ns, name=f"<cell {index}: {gid or 'code'}>")
    return ns


def assert_test_cell_passes_silently(nb, gid: str, namespace: dict, capfd) -> None:
    """Run test cell ``gid`` of ``nb`` in ``namespace``: the visible checks (output discarded),
    then the hidden ones, which must pass and print nothing at all, since nbgrader scores a cell 0
    on any stderr output. ``capfd`` is pytest's fixture of that name."""
    visible, hidden = split_hidden_tests(cell_source(nb, gid))
    with contextlib.redirect_stdout(io.StringIO()):
        exec_cell(visible, namespace, name=f"<visible checks of {gid}>")
    capfd.readouterr()
    with captured_stderr() as err:
        exec_cell(hidden, namespace, name=f"<hidden tests of {gid}>")
    captured = capfd.readouterr()
    assert err.getvalue() == "", f"hidden checks of {gid} wrote to stderr: {err.getvalue()!r}"
    assert captured.out == "" and captured.err == "", \
        f"hidden checks of {gid} wrote output: {captured.out!r} {captured.err!r}"


def assert_mutant_fails_exactly_its_cells(mutant: Mutant, nb, namespace: dict, tests, skip=()) -> None:
    """Run every test cell of the mutated ``nb`` (except those in ``skip``) in ``namespace``,
    visible part and hidden part separately: the cells that fail (raise, or write to stderr, which
    costs a cell its points in nbgrader too) must be exactly ``mutant.fails``,
    and the hidden part alone must fail in each of them (so the mistake is caught even if a
    student edits the visible checks). A catalogued mutant must then be named by
    :func:`autograder.diagnose.diagnose` from these fresh messages (the one nbgrader would show: the
    visible part's if it failed, else the hidden part's) and ``signatures.json``: so every
    mutant's recorded messages are checked here, not only those the grading round trip grades."""
    from autograder import diagnose

    failed, hidden_failed, messages = set(), set(), {}
    for gid in tests:
        if gid in skip:
            continue
        visible, hidden = split_hidden_tests(cell_source(nb, gid))
        for part, failures in ((visible, set()), (hidden, hidden_failed)):
            try:
                with contextlib.redirect_stdout(io.StringIO()), captured_stderr() as err:
                    exec_cell(part, namespace, name=f"<test cell {gid}>")
            except Exception as e:  # noqa: BLE001 - any error costs the cell its points
                failed.add(gid)
                failures.add(gid)
                messages.setdefault(gid, diagnose.outcome_of(e))
            else:
                if err.getvalue():  # nbgrader scores a cell 0 for any output on stderr (warnings too)
                    failed.add(gid)
                    failures.add(gid)
    assert failed == set(mutant.fails), \
        f"{mutant.name} ({mutant.description}): failed {sorted(failed)}, catalogue says {sorted(mutant.fails)}"
    assert hidden_failed == set(mutant.fails), \
        f"{mutant.name}: the hidden checks alone fail {sorted(hidden_failed)}, expected {sorted(mutant.fails)}"
    catalogues = {a: load_catalogue(a) for a in assignments()}
    assignment = next((a for a, c in catalogues.items() if mutant in c), None)
    if assignment is not None:
        d = diagnose.diagnose(messages, catalogues[assignment], diagnose.load_signatures(assignment))
        assert d is not None and mutant in d.mistakes, \
            f"{mutant.name}: its messages {messages} are diagnosed as {d and d.key}, not as this mistake " \
            f"(autograder/signatures.json out of date? see tests/test_diagnose.py)"


# ----------------------------------------------------------------------------- slow checks a mutant cannot reach

def defined_names(source: str) -> set[str]:
    """The names a cell binds at module level: functions, classes, assignments, imports, loop and
    ``with`` targets, walrus targets (inside ``if``/``try``/loops too; not inside a function or
    class body, which binds nothing in the notebook's namespace)."""
    names: set[str] = set()

    def visit(node) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            return
        if isinstance(node, ast.Lambda):
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.Global):
            names.update(node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(_runnable(source)))
    return names


class Unavailable:
    """Stands in for a name that a check must not use: any use raises."""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def _used(self, *args, **kwargs):
        raise AssertionError(f"the check used {object.__getattribute__(self, '_name')}")

    __call__ = _used
    __getattr__ = _used
    __getitem__ = _used
    __iter__ = _used
    __bool__ = _used
    __len__ = _used
    __eq__ = _used   # (and so unhashable)
    __format__ = _used


def slow_checks_to_skip(mutant: Mutant, slow_checks: dict[str, set[str]]) -> tuple[str, ...]:
    """The slow test cells a mutant's in-process test may skip: those that read no name bound by
    the solution cell the mutant edits (``slow_checks``: test cell -> the solution cells it uses,
    proven by :func:`assert_check_uses_only`, whose docstring says what that proof leaves out). A
    cell the catalogue says the mutant fails is never skipped."""
    return tuple(g for g, cells in slow_checks.items() if mutant.cell not in cells and g not in mutant.fails)


def assert_check_uses_only(nb, gid: str, cells: set[str], namespace, without: Iterable[str] = ()) -> None:
    """Test cell ``gid`` of ``nb`` (visible part, then hidden part) passes when every solution cell
    outside ``cells`` binds its names to :class:`Unavailable` instead of defining them, and the
    notebook is run again from the start that way (``namespace(nb)``): neither the check nor any
    cell before it reads a name that another solution cell binds. Cells in ``without`` (given code
    that calls a solution function but whose results the check does not read, e.g. a demonstration)
    bind their names to :class:`Unavailable` too, which proves the check does not read them either.

    What this proves is which *names* the check reads. A mutant could still reach a skipped check
    through state its cell changes outside its own functions (a shared object edited in place,
    torch's global flags, the random generator): no catalogued mutant does (each edit stays inside
    a function body, and every training check seeds its own generator), and a new mutant that did
    would reach nbgrader only if it is in the round trip's covering subset."""
    nb = copy.deepcopy(nb)
    others = [g for g in solution_cells(nb) if g not in cells]
    assert others, f"{gid}: no other solution cell to take away"
    for g in [*others, *without]:
        names = sorted(defined_names(cell_source(nb, g)))
        assert names, f"cell {g} binds no name"
        cell_by_grade_id(nb, g).source = "from assignment_utils import Unavailable\n" + "\n".join(
            f"{name} = Unavailable({name!r})" for name in names)
    ns = namespace(nb)
    for part in split_hidden_tests(cell_source(nb, gid)):
        with contextlib.redirect_stdout(io.StringIO()), captured_stderr():
            exec_cell(part, ns, name=f"<{gid} with only {', '.join(sorted(cells))}>")


# ----------------------------------------------------------------------------- which mutants where

def covering_mutants(mutants) -> list:
    """A few mutants, in catalogue order, such that every test cell some mutant fails is failed by
    one of them and every solution cell some mutant edits is edited by one of them (greedy: the
    mutant covering most of what is left, the first in the catalogue on a tie). The grading round
    trip grades these through nbgrader by default; ``make test-fast`` runs only these in process."""
    mutants = list(mutants)

    def covers(m):
        return set(m.fails) | {("solution cell", m.cell)}

    chosen, left = [], set().union(*map(covers, mutants)) if mutants else set()
    while left:
        best = max(mutants, key=lambda m: (len(covers(m) & left), -mutants.index(m)))
        chosen.append(best)
        left -= covers(best)
    return [m for m in mutants if m in chosen]


def mutant_params(mutants) -> list:
    """pytest parameters for an in-process mutant test: the :func:`covering_mutants` as they are,
    every other mutant marked ``slow``, so ``make test`` runs the whole catalogue and
    ``make test-fast`` (``-m "not slow"``) a covering subset of it."""
    import pytest

    cover = covering_mutants(mutants)
    return [pytest.param(m, id=m.name, marks=() if m in cover else pytest.mark.slow) for m in mutants]
