"""The sandbox that grading kernels run in (bubblewrap), so student code cannot touch the grade.

``python -m autograder.grade`` runs ``nbgrader autograde`` as before, outside any sandbox (it
owns the gradebook), but tells it to start the notebook's kernel through the kernelspec
``seqlab-sandbox`` (:func:`install_kernelspec`), whose command is this module's :func:`launch`.
The launcher runs ``bwrap`` around ``python -m ipykernel_launcher`` with:

- the whole file system read-only (``--ro-bind / /``), so Python, the venv, ``seqlab`` and the
  hidden-check modules (``autograder``) work as usual;
- the grading folder, the submissions folder, the reference solutions, the repository's ``.git``
  and root's home hidden behind empty in-memory folders: the kernel cannot read other students'
  notebooks, the gradebook or other outputs;
- one writable folder per student (``<out>/sandbox/<student>/``): its home and working directory
  (the notebook's own folder is copied there) and the kernel's IPC sockets, plus a private
  ``/tmp``; nothing there is read back by the grader;
- no network (``--unshare-net``: ZeroMQ talks to the kernel over Unix sockets, not TCP);
- its own process namespace (``--unshare-pid``, ``--die-with-parent``): when the kernel exits or
  is killed, every process it started dies with it;
- no capabilities (``--cap-drop ALL``), so it cannot undo any of this;
- limits: ``RLIMIT_DATA`` (memory; not ``RLIMIT_AS``, which counts torch's and CUDA's address
  space reservations), ``RLIMIT_CPU`` (CPU seconds per process), and a process count enforced by
  the launcher, which stays outside and kills the whole sandbox when the count goes over the limit
  (``RLIMIT_NPROC`` does not bind root, and cgroups are not everywhere).

The kernelspec interrupts the kernel by message (``interrupt_mode: message``): a signal sent to
the launcher would not reach a process inside the sandbox's namespace. When the launcher kills a
sandbox it writes why to ``<out>/sandbox/<student>.killed`` (outside the student's folder), which
the grader puts in the student's details.

:func:`check` is the start-up check of ``make grade``: it runs a probe in the sandbox and returns
what does not work (``None`` when everything does).
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

KERNEL_NAME = "seqlab-sandbox"
ENV_VAR = "SEQLAB_SANDBOX"  # the launcher's settings (JSON), set by the grader per student
ROOT = Path(__file__).resolve().parents[1]
WATCH_INTERVAL = 0.02  # s between two counts of the sandbox's processes


@dataclass
class Limits:
    memory_mb: int = 4096        # RLIMIT_DATA of every process in the sandbox
    cpu_seconds: int = 600       # RLIMIT_CPU of every process in the sandbox
    max_processes: int = 64      # processes (not threads) in the sandbox, the kernel included


@dataclass
class Settings:
    scratch: str                          # the student's writable folder
    hide: list[str] = field(default_factory=list)   # folders the kernel must not see
    limits: Limits = field(default_factory=Limits)
    report: str = ""                      # where the launcher writes why it killed the sandbox

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Settings":
        data = json.loads(text)
        return cls(scratch=data["scratch"], hide=list(data.get("hide", [])),
                   limits=Limits(**data.get("limits", {})), report=data.get("report", ""))


class SandboxUnavailable(Exception):
    """bubblewrap is missing or does not work on this machine (the message says why and what to do)."""


# ----------------------------------------------------------------------------- the grader's side

def install_kernelspec(jupyter_dir: Path, python: str = sys.executable) -> Path:
    """Write ``jupyter_dir/kernels/seqlab-sandbox/kernel.json``; put ``jupyter_dir`` on
    ``JUPYTER_PATH`` (see :func:`student_env`) so nbgrader finds it."""
    spec_dir = jupyter_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [python, "-m", "autograder.sandbox", "-f", "{connection_file}"],
            "display_name": "Python 3 (seqlab grading sandbox)", "language": "python",
            "interrupt_mode": "message", "metadata": {"debugger": False}}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    return jupyter_dir


def prepare_scratch(scratch: Path) -> tuple[Path, Path]:
    """A fresh ``scratch/`` with ``home/`` (the kernel's home and working directory) and ``ipc/``
    (connection file and sockets); returns (home, ipc)."""
    if scratch.exists():
        shutil.rmtree(scratch, ignore_errors=True)
    home, ipc = scratch / "home", scratch / "ipc"
    home.mkdir(parents=True)
    ipc.mkdir()
    return home, ipc


def student_env(base: dict[str, str], settings: Settings, jupyter_dir: Path) -> dict[str, str]:
    """The environment of one student's ``nbgrader autograde``: it finds the sandbox kernelspec,
    keeps its connection file in the student's ``ipc/`` folder, and passes ``settings`` to the
    launcher."""
    env = dict(base)
    env["JUPYTER_PATH"] = os.pathsep.join([str(jupyter_dir)] + [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p])
    env["JUPYTER_RUNTIME_DIR"] = str(Path(settings.scratch) / "ipc")
    env[ENV_VAR] = settings.to_json()
    return env


def nbgrader_args(settings: Settings) -> list[str]:
    """Command-line settings that make nbgrader run every notebook (whatever kernel its metadata
    names) in the sandbox kernel, through :class:`SandboxKernelManager`."""
    return [f"--ExecutePreprocessor.kernel_name={KERNEL_NAME}",
            "--ExecutePreprocessor.kernel_manager_class=autograder.sandbox.SandboxKernelManager"]


def _kernel_manager_base():
    from jupyter_client.manager import AsyncKernelManager
    return AsyncKernelManager


class SandboxKernelManager(_kernel_manager_base()):
    """nbgrader's kernel manager, talking to the kernel over Unix sockets in the student's
    ``ipc/`` folder (the only place both sides see: the kernel has no network, and its ``/tmp``
    is its own), with the connection file there too."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        settings = Settings.from_json(os.environ[ENV_VAR])
        ipc = Path(settings.scratch) / "ipc"
        self.transport = "ipc"
        self.ip = str(ipc / "k")
        self.connection_file = str(ipc / "kernel.json")


def settings_for(out_dir: Path, student_id: str, hide: list[Path], limits: Limits) -> Settings:
    """The sandbox of one student of a grading run in ``out_dir`` (its scratch folder is made
    fresh): ``out_dir`` itself is always hidden."""
    scratch = out_dir / "sandbox" / student_id
    prepare_scratch(scratch)
    report = out_dir / "sandbox" / f"{student_id}.killed"
    if report.exists():
        report.unlink()
    return Settings(scratch=str(scratch), hide=[str(out_dir), *map(str, hide)], limits=limits,
                    report=str(report))


def killed_reason(settings: Settings) -> str:
    """Why the launcher killed this student's sandbox, or ""."""
    path = Path(settings.report) if settings.report else None
    return path.read_text(encoding="utf-8").strip() if path and path.is_file() else ""


# ----------------------------------------------------------------------------- the sandbox

def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def bwrap_command(settings: Settings, argv: list[str]) -> list[str]:
    """``bwrap ... -- argv``: the sandbox described in the module docstring."""
    scratch = Path(settings.scratch)
    home = scratch / "home"
    cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
           "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
           "--new-session", "--cap-drop", "ALL"]
    # What the kernel needs and a tmpfs above would hide: the interpreter, the venv, the repository.
    needed = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent,
              ROOT} | {Path(p).resolve() for p in sys.path if p and Path(p).exists()}
    hidden = sorted({Path(h).resolve() for h in settings.hide} | {ROOT / ".git", ROOT / "solutions"}
                    | {Path("/root").resolve(), Path(os.path.expanduser("~")).resolve()})
    for folder in hidden:
        if folder.is_dir():
            cmd += ["--tmpfs", str(folder)]
            # re-expose what the kernel needs that lives under a hidden folder (e.g. pyenv in ~)
            for keep in sorted(needed):
                if keep != folder and _under(keep, folder) and not any(_under(keep, Path(h)) for h in settings.hide):
                    cmd += ["--ro-bind", str(keep), str(keep)]
    for keep in sorted(needed):
        if _under(keep, Path("/tmp")) and not any(_under(keep, h) for h in hidden):
            cmd += ["--ro-bind", str(keep), str(keep)]
    cmd += ["--bind", str(scratch), str(scratch), "--chdir", str(home),
            "--setenv", "HOME", str(home), "--setenv", "TMPDIR", "/tmp",
            "--setenv", "MPLCONFIGDIR", str(home / ".matplotlib"),
            "--unsetenv", "JPY_PARENT_PID", "--unsetenv", ENV_VAR, "--", *argv]
    return cmd


def _limit_child(limits: Limits):
    """preexec_fn of bwrap: the resource limits (inherited by everything in the sandbox) and
    death with the launcher."""
    def apply() -> None:
        mem = int(limits.memory_mb) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (mem, mem))
        cpu = int(limits.cpu_seconds)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        try:
            import ctypes
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except Exception:
            pass
    return apply


def _count_processes(pid: int) -> int:
    """Processes (not threads) in the tree under ``pid``, ``pid`` excluded."""
    import psutil
    try:
        return len(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return 0


def run_sandboxed(settings: Settings, argv: list[str], *, stdin=None, stdout=None, stderr=None,
                  timeout: float | None = None) -> tuple[int, str]:
    """Run ``argv`` in the sandbox, enforce the process limit, and wait; returns (exit status,
    why the sandbox was killed or "")."""
    proc = subprocess.Popen(bwrap_command(settings, argv), stdin=stdin, stdout=stdout, stderr=stderr,
                            preexec_fn=_limit_child(settings.limits))
    # bwrap, its init (pid 1 of the namespace) and the kernel itself are not the student's
    allowed = settings.limits.max_processes + 2
    reason = ""
    deadline = None if timeout is None else time.monotonic() + timeout

    def stop(signum, frame):  # the kernel manager terminates the launcher: take the sandbox along
        proc.kill()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    while True:
        try:
            code = proc.wait(timeout=WATCH_INTERVAL)
            return code, reason
        except subprocess.TimeoutExpired:
            pass
        if not reason and _count_processes(proc.pid) > allowed:
            reason = (f"the sandbox was killed: the notebook started more than "
                      f"{settings.limits.max_processes} processes")
            proc.kill()
        if deadline is not None and time.monotonic() > deadline and not reason:
            reason = f"the sandbox was killed after {timeout:g} s"
            proc.kill()


def launch(argv: list[str] | None = None) -> int:
    """The kernelspec's command: ``python -m autograder.sandbox -f CONNECTION_FILE``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "-f":
        print("usage: python -m autograder.sandbox -f CONNECTION_FILE", file=sys.stderr)
        return 2
    connection_file = args[1]
    text = os.environ.get(ENV_VAR)
    if not text:
        print(f"{ENV_VAR} is not set: this kernel only runs under python -m autograder.grade", file=sys.stderr)
        return 2
    settings = Settings.from_json(text)
    home = Path(settings.scratch) / "home"
    # the notebook's folder (the kernel manager's working directory) minus notebooks, for any
    # file an assignment ships beside its notebook
    cwd = Path.cwd()
    if cwd.resolve() != home.resolve():
        for item in cwd.iterdir():
            if item.suffix != ".ipynb" and not item.is_symlink():
                target = home / item.name
                if item.is_dir():
                    shutil.copytree(item, target, symlinks=True, dirs_exist_ok=True)
                elif item.is_file():
                    shutil.copyfile(item, target)
    code, reason = run_sandboxed(settings, [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file])
    if reason and settings.report:
        Path(settings.report).write_text(reason + "\n", encoding="utf-8")
        print(reason, file=sys.stderr)
    return code


# ----------------------------------------------------------------------------- start-up check

PROBE = r"""
import os, socket, sys
problems = []
try:
    open(sys.argv[1], "a").close(); problems.append("could write outside its folder")
except OSError:
    pass
if os.path.exists(sys.argv[2]):
    problems.append("could see a hidden file")
try:
    socket.create_connection(("127.0.0.1", 9), timeout=1).close(); problems.append("has network")
except OSError:
    pass
open(os.path.join(os.environ["HOME"], "ok"), "w").write("ok")
import ipykernel, zmq  # the kernel must start
print("; ".join(problems) or "ok")
"""


def check(work_dir: Path) -> str | None:
    """Run a probe in a sandbox under ``work_dir`` (created, then removed): ``None`` if it works,
    else a message saying what failed and how to fix it."""
    if shutil.which("bwrap") is None:
        return ("bubblewrap (bwrap) is not installed; install it (Debian/Ubuntu: apt-get install "
                "bubblewrap)")
    work_dir = Path(work_dir)
    outside = ROOT / f".sandbox-probe-{os.getpid()}"
    secret = work_dir / "hidden"
    secret.mkdir(parents=True, exist_ok=True)
    (secret / "gradebook.db").write_text("x")
    settings = Settings(scratch=str(work_dir / "probe"), hide=[str(secret)],
                        limits=Limits(memory_mb=2048, cpu_seconds=60, max_processes=16))
    prepare_scratch(Path(settings.scratch))
    try:
        proc = subprocess.run(bwrap_command(settings, [sys.executable, "-c", PROBE, str(outside),
                                                      str(secret / "gradebook.db")]),
                              capture_output=True, text=True, timeout=120, preexec_fn=_limit_child(settings.limits))
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"the sandbox probe failed to run: {e}"
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    if outside.exists():
        outside.unlink()
        return "the sandbox leaks: the probe wrote a file in the repository"
    if proc.returncode != 0:
        return (f"bubblewrap does not work here (exit {proc.returncode}): "
                f"{(proc.stderr.strip().splitlines() or [''])[-1]}")
    if proc.stdout.strip() != "ok":
        return f"the sandbox leaks: {proc.stdout.strip()}"
    return None


if __name__ == "__main__":
    sys.exit(launch())
