"""The long-lived grading worker (autograder/worker.py): one nbgrader process per job grades many
students, each notebook in a fresh sandboxed kernel, with the same results as one nbgrader
process per student, and the per-student backstop still kills a hanging student (and the
worker) without stalling the others."""
from __future__ import annotations

import functools
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest

import assignment_utils as au
from autograder import grade, release, worker


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("worker_toy")
    solutions = tmp / "solutions"
    au.make_toy_assignment(solutions)
    source = nbformat.read(solutions / "toy" / "toy.ipynb", as_version=4)
    released = au.toy_release(solutions)
    return tmp, solutions, source, released


def _left_running(folder) -> list:
    psutil = pytest.importorskip("psutil")
    left = []
    for p in psutil.process_iter():
        try:
            if p.cwd().startswith(str(folder)):
                left.append(p.cmdline())
        except (psutil.Error, OSError):
            pass
    return left


def test_a_worker_runs_nbgrader_commands_and_reports_their_exit_status(tmp_path):
    """No notebook needed: nbgrader's own failure (an unknown assignment) is status 1 with
    nbgrader's error in that request's log, and the same worker answers the next request."""
    (tmp_path / "course").mkdir()
    w = worker.Worker(tmp_path / "course", release.subprocess_env(), tmp_path / "logs" / "_worker.log")
    try:
        logs = [tmp_path / "logs" / f"{n}.log" for n in ("one", "two")]
        for log in logs:
            code, seconds = w.grade(["autograde", "no_such_assignment", "--student", "x",
                                     f"--CourseDirectory.root={tmp_path / 'course'}",
                                     f"--CourseDirectory.db_url=sqlite:///{tmp_path / 'course' / 'gb.db'}"],
                                    release.subprocess_env(), log, timeout=120)
            assert code == 1 and seconds < 120
            assert "| ERROR]" in log.read_text(), log.read_text()
        assert w.started == 1 and w.graded == 2  # one process answered both
    finally:
        w.close()
    assert not w.alive()


@pytest.mark.slow
def test_the_worker_grades_like_one_nbgrader_process_per_student(toy, tmp_path):
    """Same statuses, scores, cell errors and gradebook totals either way, for a correct, a
    wrong and a crashing submission; and every student's log holds only that student."""
    _, solutions, source, released = toy
    notebooks = {"ref": au.filled_release(released, source),
                 "absolute": au.filled_release(released, au.mutated_source(source, au.TOY_MUTANTS[1])),
                 "os_exit": au.toy_submission(released, "import os\nos._exit(1)")}
    assert au.TOY_MUTANTS[1].name == "absolute"
    runs = {}
    original = grade._autograde_all
    for use_workers in (True, False):
        grade._autograde_all = functools.partial(original, use_workers=use_workers)
        try:
            runs[use_workers] = au.grade_notebooks("toy", notebooks, tmp_path / str(use_workers),
                                                   solutions_dir=solutions, timeout_per_cell=30)
        finally:
            grade._autograde_all = original
    got = {k: {s: (r.status, r.score, r.cell_scores, r.cell_errors) for s, r in run.by_student().items()}
           for k, run in runs.items()}
    assert got[True] == got[False]
    assert got[True]["ref"][:2] == (grade.GRADED, 3.0) and got[True]["absolute"][1] == 1.0
    assert got[True]["os_exit"][0] == grade.KERNEL_DIED
    assert all(not run.gradebook_problems for run in runs.values())
    logs = runs[True].out_dir / "logs"
    assert (logs / "_worker-1.log").is_file()
    for student in notebooks:
        text = (logs / f"{student}.log").read_text()
        assert f"submitted/{student}/toy" in text
        assert not any(f"submitted/{other}/toy" in text for other in notebooks if other != student)
    assert not _left_running(tmp_path)


@pytest.mark.slow
def test_a_hanging_student_costs_its_worker_not_the_next_students(toy, tmp_path):
    """The per-student backstop kills the worker (and the student's kernel and sandbox); the next
    student is graded by a fresh worker; a worker that dies for another reason is reported for
    its student, as an error naming the worker."""
    _, solutions, source, released = toy
    subs = au.write_submissions(tmp_path / "subs", {"a_looper": au.toy_submission(released, au.SLEEPER),
                                                    "b_ref": au.filled_release(released, source)})
    run = grade.grade_submissions("toy", subs, tmp_path / "out", solutions_dir=solutions, timeout_per_cell=300,
                                  timeout_per_student=20, feedback=False, progress=False)
    results = run.by_student()
    assert results["a_looper"].status == grade.TIMED_OUT and "longer than 20 s" in results["a_looper"].details
    assert 19 < results["a_looper"].seconds < 60
    assert results["b_ref"].status == grade.GRADED and results["b_ref"].score == 3.0
    assert not run.gradebook_problems
    assert not _left_running(tmp_path)

    # a worker killed from outside while a student runs: that student gets a clear error
    out = tmp_path / "out"
    w = worker.Worker(out, release.subprocess_env(), out / "logs" / "_killed.log")
    cmd = release.nbgrader_command("autograde", "toy", out, out / "gradebook.db", "--student", "a_looper",
                                   "--force", "--ExecutePreprocessor.timeout=300")
    log = out / "logs" / "killed.log"

    psutil = pytest.importorskip("psutil")
    orphans = []

    def kill_when_started():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "Autograding" not in (log.read_text() if log.exists() else ""):
            time.sleep(0.2)
        time.sleep(1)
        orphans.extend(psutil.Process(w.proc.pid).children(recursive=True))  # the (unsandboxed) kernel
        os.kill(w.proc.pid, 9)

    killer = threading.Thread(target=kill_when_started)
    w.start()
    killer.start()
    try:
        code, _ = w.grade(cmd[cmd.index("nbgrader") + 1:], release.subprocess_env(), log, timeout=120)
    finally:
        killer.join()
        w.kill()
        for p in orphans:
            try:
                p.kill()
            except psutil.Error:
                pass
    assert code == -9
    assert "GradingWorkerError: the grading worker exited (status -9)" in log.read_text()
    assert grade._last_error_line(log.read_text()).startswith("GradingWorkerError")


@pytest.mark.slow
def test_the_next_students_kernel_is_started_in_advance(toy, tmp_path, monkeypatch):
    """In a grading worker, every sandboxed student after the first gets a kernel that was started
    (sandbox, ipykernel, numpy and torch imported) while the previous student ran: the log says so,
    the grades are those of a fresh kernel, a file the assignment ships beside its notebook reaches
    that kernel, and when the run ends no kernel is left and the scratch folders are gone."""
    from autograder import sandbox

    psutil = pytest.importorskip("psutil")
    root = Path(tempfile.mkdtemp(prefix="sq-ready-", dir="/tmp"))
    monkeypatch.setattr(sandbox, "scratch_root", lambda: root)
    _, toy_solutions, source, released = toy
    solutions = tmp_path / "solutions"            # the toy, shipping a data file beside its notebook
    shutil.copytree(toy_solutions, solutions)
    (solutions / "toy" / "data.txt").write_text("beside the notebook")
    reads_file = ("from pathlib import Path\nassert Path('data.txt').read_text() == 'beside the notebook'\n"
                  "def add(a, b):\n    return a + b")
    subs = au.write_submissions(tmp_path / "subs", {"a_ref": au.filled_release(released, source),
                                                    "b_files": au.toy_submission(released, reads_file),
                                                    "c_wrong": au.toy_submission(released, "def add(a, b):\n    return a - b")})
    run = grade.grade_submissions("toy", subs, tmp_path / "out", solutions_dir=solutions, timeout_per_cell=60,
                                  feedback=False, progress=False, jobs=1)
    results = run.by_student()
    assert {s: (r.status, r.score) for s, r in results.items()} == \
        {"a_ref": (grade.GRADED, 3.0), "b_files": (grade.GRADED, 3.0), "c_wrong": (grade.GRADED, 0.0)}
    logs = {s: (run.out_dir / "logs" / f"{s}.log").read_text() for s in results}
    taken = "took the kernel started in advance"
    assert taken not in logs["a_ref"] and taken in logs["b_files"] and taken in logs["c_wrong"], logs
    assert not root.exists()
    left = []
    for p in psutil.process_iter():
        try:
            if any(str(root) in arg for arg in p.cmdline()):
                left.append(p.cmdline())
        except (psutil.Error, OSError):
            pass
    assert not left, left


def test_a_ready_kernel_made_for_another_sandbox_is_not_used(tmp_path):
    """A ready kernel is only taken by a student whose sandbox hides the same folders, has the same
    limits and scratch root; otherwise it is stopped and its scratch folder removed."""
    from autograder import sandbox

    root = Path(tempfile.mkdtemp(prefix="sq-", dir="/tmp"))
    try:
        template = sandbox.settings_for(root, "one", [tmp_path / "out"], sandbox.Limits())
        env = {"JUPYTER_PATH": str(tmp_path / "jupyter"), "PATH": os.environ["PATH"]}
        sandbox.prepare_ready_kernel(template, env)
        ready = sandbox._READY[0]
        other = sandbox.settings_for(root, "two", [tmp_path / "elsewhere"], sandbox.Limits())
        assert sandbox.take_ready_kernel(other, env) is None
        assert ready.proc.poll() is not None and not Path(ready.settings.scratch).exists()
        sandbox.prepare_ready_kernel(template, env)
        same = sandbox.settings_for(root, "three", [tmp_path / "out"], sandbox.Limits())
        taken = sandbox.take_ready_kernel(same, env)
        assert taken is not None and taken.proc.poll() is None and taken.settings.uid != same.uid
        assert taken.settings.preload == list(sandbox.PRELOAD)
        assert taken.log.is_file() and (taken.log.stat().st_mode & 0o777) == 0o600   # root's only
        assert all(p.nice() == sandbox.READY_NICE for p in _tree(taken.proc.pid))    # waits at low priority
        sandbox.renice_tree(taken.proc.pid, 0)
        assert all(p.nice() == 0 for p in _tree(taken.proc.pid))
        sandbox.release_ready_kernel(taken)
        assert taken.proc.poll() is not None and not taken.log.exists() and not Path(taken.settings.scratch).exists()
    finally:
        sandbox.discard_ready_kernels()
        shutil.rmtree(root, ignore_errors=True)


def _tree(pid: int) -> list:
    psutil = pytest.importorskip("psutil")
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]
