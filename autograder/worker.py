"""A long-lived grading worker: one ``nbgrader autograde`` process that grades many students.

``make grade`` used to start a fresh ``nbgrader autograde --student S`` process per student.
About half of each such run was the process starting (Python, nbgrader, nbconvert, SQLAlchemy,
jupyter_client imports) before any notebook ran. A :class:`Worker` starts that process once per
grading job and then asks it to grade one student after another:

- inside the worker, each student is graded by a fresh ``NbGraderApp`` (nbgrader's own command
  line application, the one ``python -m nbgrader`` runs) with exactly the command line and the
  environment the per-student process would have had (:func:`autograder.release.nbgrader_command`
  builds both, gradebook URL included), and then reset, as nbgrader's own tests run it many times
  in one process; so the gradebook is written the same way;
- each notebook still runs in its own fresh kernel, used for that student alone (in the sandbox,
  when the run is sandboxed: the kernelspec, the scratch folder and the limits come with the
  student's environment); no student code ever runs in the worker. Sandboxed kernels are started
  one student ahead: as soon as a student's kernel is up, the worker starts the next one (its own
  scratch folder and user, numpy and torch imported; :func:`autograder.sandbox.prepare_ready_kernel`),
  so its start-up overlaps this student's notebook, and the next student's kernel manager takes
  it (:func:`autograder.sandbox.take_ready_kernel`) instead of starting one;
- while a student is graded, the worker's stdout and stderr *are* ``logs/<student>.log`` (file
  descriptors 1 and 2 are redirected), so the log holds what the per-student process printed;
- the per-student backstop stays: when a student takes longer than ``--timeout-per-student``,
  the grader kills the worker and every process it started (the student's kernel and sandbox
  included) and starts a fresh worker for the next student. A worker that dies for any other
  reason is reported for that student (exit status ``None`` means killed by the backstop; a
  negative one, killed by a signal) and replaced too.

The protocol is one JSON line per request on the worker's stdin (``argv``, ``env``, ``log``) and
one JSON line per answer (``code``) on a separate pipe, whose descriptor number is the worker's
only argument: ``python -m autograder.worker FD``.
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
import traceback
from pathlib import Path

PREFIX = "[autograder.worker]"


# ----------------------------------------------------------------------------- the grader's side

class WorkerDied(Exception):
    """The worker exited or stopped answering for a reason other than the backstop."""


class Worker:
    """One grading worker process (started on first use, restarted after a kill).

    ``grade(argv, env, log_path, timeout)`` returns ``(code, seconds)`` as the per-student
    subprocess would have: nbgrader's exit status (0 or 1), ``None`` when ``timeout`` seconds
    passed (the worker was killed), or a negative number when the worker itself died."""

    def __init__(self, cwd: Path, env: dict[str, str], log_path: Path) -> None:
        self.cwd, self.env, self.log_path = Path(cwd), dict(env), Path(log_path)
        self.proc: subprocess.Popen | None = None
        self._results: int | None = None     # read end of the answer pipe
        self._buffer = b""
        self.started = 0                     # how many worker processes this Worker started
        self.graded = 0

    # -- process management

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a", encoding="utf-8") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "autograder.worker", str(write_fd)],
                                         cwd=self.cwd, env=self.env, stdin=subprocess.PIPE,
                                         stdout=log, stderr=subprocess.STDOUT, pass_fds=(write_fd,),
                                         start_new_session=True)
        os.close(write_fd)
        self._results, self._buffer = read_fd, b""
        self.started += 1

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """Kill the worker and every process it started (kernels, sandboxes)."""
        if self.proc is not None:
            from autograder.grade import _kill_tree
            _kill_tree(self.proc)
            self._discard()

    def close(self, timeout: float = 10) -> None:
        """Ask the worker to exit (end of input); kill it if it does not within ``timeout`` s."""
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=timeout)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()

    def _discard(self) -> None:
        if self.proc is not None and self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        if self._results is not None:
            os.close(self._results)
        self.proc, self._results, self._buffer = None, None, b""

    # -- grading

    def grade(self, argv: list[str], env: dict[str, str], log_path: Path,
              timeout: float) -> tuple[int | None, float]:
        """Grade one student: ``nbgrader`` with ``argv`` (what follows ``python -m nbgrader``) in
        environment ``env``, its output in ``log_path``; killed after ``timeout`` seconds."""
        if not self.alive():
            if self.proc is not None:
                self._discard()
            self.start()
        start = time.monotonic()
        request = json.dumps({"argv": list(argv), "env": dict(env), "log": str(log_path)}) + "\n"
        try:
            self.proc.stdin.write(request.encode())
            self.proc.stdin.flush()
            answer = self._read_answer(start + timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None, time.monotonic() - start
        except (OSError, WorkerDied):
            code = self.proc.wait() if self.proc is not None else -1
            self._discard()
            with open(log_path, "a", encoding="utf-8") as log:
                # worded so that grade.classify reports it as the reason (last error line)
                log.write(f"\n{PREFIX}\nGradingWorkerError: the grading worker exited (status {code}) "
                          f"while grading this student\n")
            return (code if code < 0 else -1), time.monotonic() - start
        self.graded += 1
        return int(answer["code"]), time.monotonic() - start

    def _read_answer(self, deadline: float) -> dict:
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired("autograder.worker", 0)
            ready, _, _ = select.select([self._results], [], [], min(left, 1.0))
            if not ready:
                if not self.alive():
                    raise WorkerDied()
                continue
            chunk = os.read(self._results, 65536)
            if not chunk:
                raise WorkerDied()
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)


class WorkerPool:
    """``jobs`` workers for one grading run; :meth:`lease` lends one to a thread."""

    def __init__(self, jobs: int, cwd: Path, env: dict[str, str], log_dir: Path) -> None:
        import queue
        self.workers = [Worker(cwd, env, Path(log_dir) / f"_worker-{i + 1}.log") for i in range(jobs)]
        self._idle: queue.Queue[Worker] = queue.Queue()
        for w in self.workers:
            self._idle.put(w)

    def lease(self):
        import contextlib

        @contextlib.contextmanager
        def leased():
            worker = self._idle.get()
            try:
                yield worker
            finally:
                self._idle.put(worker)
        return leased()

    def start(self) -> None:
        """Start every worker now (each is otherwise started on its first student)."""
        for w in self.workers:
            if not w.alive():
                w.start()

    def close(self) -> None:
        for w in self.workers:
            w.close()

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ----------------------------------------------------------------------------- the worker's side

def _grade_one(argv: list[str]) -> int:
    """``python -m nbgrader ARGV`` in this process; its exit status."""
    from jupyter_core.application import NoStart
    from nbgrader.apps.nbgraderapp import NbGraderApp

    app = NbGraderApp.instance()
    try:
        app.initialize(argv)
        app.start()
        code = 0
    except NoStart:  # what a finished subcommand raises (launch_instance ignores it too)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # what would end the nbgrader process with a traceback
        traceback.print_exc()
        code = 1
    finally:
        try:
            app.reset()  # nbgrader's own way to run its applications again in one process
        except Exception:
            traceback.print_exc()
        NbGraderApp.clear_instance()
    return code


def serve(answer_fd: int) -> int:
    """Grade one student per request line on stdin until end of input."""
    # What every student would import anyway, imported once (this is the time saved).
    import nbgrader.apps.nbgraderapp  # noqa: F401
    import nbgrader.apps.autogradeapp  # noqa: F401
    import nbgrader.preprocessors  # noqa: F401
    import nbclient  # noqa: F401

    from autograder import sandbox

    base_env, base_path, base_cwd = dict(os.environ), list(sys.path), os.getcwd()
    own_out, own_err = os.dup(1), os.dup(2)
    try:
        _serve(answer_fd, sandbox, base_env, base_path, base_cwd, own_out, own_err)
    finally:
        sandbox.discard_ready_kernels()
    return 0


def _serve(answer_fd, sandbox, base_env, base_path, base_cwd, own_out, own_err) -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        with open(request["log"], "a", encoding="utf-8") as log:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
        os.environ.clear()
        os.environ.update(request["env"])
        if request["env"].get(sandbox.READY_VAR, "1").lower() not in ("0", "false", "no", "off"):  # turns it off
            os.environ[sandbox.READY_VAR] = "1"  # sandboxed kernels: the next student's starts in advance
        try:
            code = _grade_one(request["argv"])
        finally:
            sandbox.remove_used_scratch()
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(own_out, 1)
            os.dup2(own_err, 2)
            os.environ.clear()
            os.environ.update(base_env)
            sys.path[:] = base_path
            os.chdir(base_cwd)
        os.write(answer_fd, (json.dumps({"code": code}) + "\n").encode())


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        print("usage: python -m autograder.worker FD (started by python -m autograder.grade)", file=sys.stderr)
        sys.exit(2)
    sys.exit(serve(int(sys.argv[1])))
