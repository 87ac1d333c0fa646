"""``make release``: regenerate the student notebooks in ``exercises/`` from ``solutions/``.

    python -m autograder.release                       # every assignment in solutions/
    python -m autograder.release a01_language_models   # or a prefix: a01

For each assignment this runs ``nbgrader generate_assignment --force`` in a throwaway course
directory (a temporary folder with its own gradebook, so nothing but ``exercises/<a>/`` changes in
the repository), then replaces ``exercises/<a>/`` with what nbgrader released. nbgrader strips
everything between ``### BEGIN SOLUTION`` / ``### END SOLUTION`` (leaving ``# YOUR CODE HERE`` and
``raise NotImplementedError()``) and every ``### BEGIN HIDDEN TESTS`` block. The release is
written with ``nbformat`` (sorted keys, one-space indent), so the same source always gives the
same bytes and ``tests/test_release.py`` can compare a fresh generation with the committed one.

The helpers here (finding an assignment, checking a notebook file, running nbgrader) are shared
with :mod:`autograder.grade`.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
COURSE_ID = "sequence-models"
# Files in an assignment folder that are never part of a release.
IGNORE = (".ipynb_checkpoints", "__pycache__", "*.pyc", "*.db")


class ReleaseError(Exception):
    """A problem with an assignment's files that the user must fix (message says which)."""


def list_assignments(solutions_dir: Path = SOLUTIONS) -> list[str]:
    """Names of the assignment folders in ``solutions_dir`` (``aNN_slug``), sorted."""
    if not solutions_dir.is_dir():
        return []
    return sorted(p.name for p in solutions_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))


def resolve_assignment(name: str, solutions_dir: Path = SOLUTIONS) -> str:
    """The full assignment name for ``name``: itself, or the one folder starting with ``name_``
    (so ``a01`` means ``a01_language_models``). Raises :class:`ReleaseError` otherwise."""
    name = name.strip().rstrip("/")
    name = Path(name).name  # accept "solutions/a01_language_models/"
    known = list_assignments(solutions_dir)
    if name in known:
        return name
    matches = [a for a in known if a.startswith(name + "_")]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ReleaseError(f"assignment {name!r} is ambiguous: {', '.join(matches)}")
    raise ReleaseError(f"unknown assignment {name!r}; assignments in {solutions_dir}: "
                       f"{', '.join(known) or '(none)'}")


def source_notebook_path(assignment: str, solutions_dir: Path = SOLUTIONS) -> Path:
    """``solutions/<a>/<notebook>.ipynb``: the one source notebook of an assignment."""
    folder = solutions_dir / assignment
    notebooks = sorted(folder.glob("*.ipynb"))
    if not folder.is_dir() or not notebooks:
        raise ReleaseError(f"no source notebook in {folder}")
    if len(notebooks) > 1:
        raise ReleaseError(f"{folder} holds {len(notebooks)} notebooks; the grading pipeline "
                           f"expects exactly one per assignment: {[p.name for p in notebooks]}")
    return notebooks[0]


def check_notebook_file(path: Path) -> nbformat.NotebookNode:
    """Read ``path`` as a notebook; raise :class:`ReleaseError` naming the file and the problem
    if it is missing, not JSON, or not a valid version-4 notebook."""
    if not path.is_file():
        raise ReleaseError(f"{path}: file not found")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ReleaseError(f"{path}: not UTF-8 text ({e})") from None
    except json.JSONDecodeError as e:
        raise ReleaseError(f"{path}: not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list) or data.get("nbformat") != 4:
        raise ReleaseError(f"{path}: JSON, but not a version-4 Jupyter notebook (no 'cells' list "
                           f"or 'nbformat' is not 4)")
    try:
        nb = nbformat.from_dict(data)
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        raise ReleaseError(f"{path}: not a valid notebook: {e.message}") from None
    return nb


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write ``nb`` canonically (nbformat's sorted keys and indent, trailing newline)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(nb, version=4)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def subprocess_env() -> dict[str, str]:
    """Environment for nbgrader subprocesses and the kernels they start: the repository root on
    PYTHONPATH, so hidden tests can ``import autograder`` (and seqlab) even without an install."""
    env = dict(os.environ)
    parts = [str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    # The venv's bin first, so the kernel spec's "python" is this interpreter.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # silences a debugger warning in kernels
    # One math thread per grading kernel: the graded models are tiny, so a second thread buys
    # little, and with `--jobs N` (or anything else running) threads that compete for the same
    # cores slow torch's small matrix products down by an order of magnitude. An instructor can
    # still set OMP_NUM_THREADS explicitly.
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    return env


def nbgrader_command(subcommand: str, assignment: str, course_root: Path, db_path: Path | str,
                     *extra: str) -> list[str]:
    """Command line running ``nbgrader <subcommand> <assignment>`` in ``course_root`` with every
    course-directory setting explicit (so no stray nbgrader_config.py can change them)."""
    return [sys.executable, "-m", "nbgrader", subcommand, assignment,
            f"--CourseDirectory.root={course_root}",
            f"--CourseDirectory.course_id={COURSE_ID}",
            "--CourseDirectory.source_directory=source",
            "--CourseDirectory.release_directory=release",
            "--CourseDirectory.submitted_directory=submitted",
            "--CourseDirectory.autograded_directory=autograded",
            "--CourseDirectory.feedback_directory=feedback",
            # a SQLite file, or a gradebook URL (autograder.gradebook_db: postgresql+psycopg2://...)
            f"--CourseDirectory.db_url={db_path if '://' in str(db_path) else f'sqlite:///{db_path}'}",
            *extra]


def copy_assignment_source(assignment: str, course_root: Path, solutions_dir: Path = SOLUTIONS) -> Path:
    """Copy ``solutions/<a>/`` to ``<course_root>/source/<a>/`` after checking its notebook."""
    check_notebook_file(source_notebook_path(assignment, solutions_dir))
    dest = course_root / "source" / assignment
    shutil.copytree(solutions_dir / assignment, dest, ignore=shutil.ignore_patterns(*IGNORE))
    return dest


def generate_assignment(assignment: str, course_root: Path, db_path: Path, log_path: Path | None = None) -> Path:
    """Run ``nbgrader generate_assignment --force`` for a course directory whose ``source/<a>/``
    is in place; return ``<course_root>/release/<a>``. Raises :class:`ReleaseError` with the end of
    nbgrader's log if it fails."""
    cmd = nbgrader_command("generate_assignment", assignment, course_root, db_path, "--force")
    proc = subprocess.run(cmd, cwd=course_root, env=subprocess_env(), capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(log, encoding="utf-8")
    out = course_root / "release" / assignment
    if proc.returncode != 0 or not out.is_dir():
        tail = "\n".join(log.strip().splitlines()[-25:])
        raise ReleaseError(f"nbgrader generate_assignment {assignment} failed (exit {proc.returncode}):\n{tail}")
    return out


def generate(assignment: str, dest: Path, solutions_dir: Path = SOLUTIONS) -> Path:
    """Generate the release of ``assignment`` into ``dest/<a>/`` (replacing it) from a throwaway
    course directory; return ``dest/<a>``. Notebooks are rewritten canonically."""
    with tempfile.TemporaryDirectory(prefix="seqlab-release-") as tmp:
        course = Path(tmp) / "course"
        course.mkdir()
        copy_assignment_source(assignment, course, solutions_dir)
        released = generate_assignment(assignment, course, Path(tmp) / "gradebook.db")
        target = dest / assignment
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        for path in sorted(released.rglob("*")):
            if path.is_dir():
                continue
            out = target / path.relative_to(released)
            out.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".ipynb":
                write_notebook(nbformat.read(path, as_version=4), out)
            else:
                shutil.copyfile(path, out)
    return target


def release(assignments: list[str] | None = None, solutions_dir: Path = SOLUTIONS,
            exercises_dir: Path = EXERCISES) -> list[Path]:
    """Regenerate ``exercises/<a>/`` for each assignment (all of them when ``assignments`` is
    empty or None); return the released notebooks."""
    names = [resolve_assignment(a, solutions_dir) for a in assignments] if assignments else list_assignments(solutions_dir)
    if not names:
        raise ReleaseError(f"no assignments found in {solutions_dir}")
    written = []
    for name in names:
        target = generate(name, exercises_dir, solutions_dir)
        written.extend(sorted(target.glob("*.ipynb")))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.release", description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", help="assignment names or prefixes (default: all in solutions/)")
    parser.add_argument("--solutions", type=Path, default=SOLUTIONS, help=argparse.SUPPRESS)
    parser.add_argument("--exercises", type=Path, default=EXERCISES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        written = release(args.assignments, args.solutions.resolve(), args.exercises.resolve())
    except ReleaseError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for path in written:
        try:
            shown = path.relative_to(Path.cwd())
        except ValueError:
            shown = path
        print(f"released {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
