"""The sandbox that grading kernels run in (bubblewrap), so student code cannot touch the grade.

``python -m autograder.grade`` runs ``nbgrader autograde`` as before, outside any sandbox (it
owns the gradebook), but tells it to start the notebook's kernel through the kernelspec
``seqlab-sandbox`` (:func:`install_kernelspec`), whose command is this module's :func:`launch`.
The launcher runs ``bwrap`` around ``python -m ipykernel_launcher`` with:

- the whole file system read-only (``--ro-bind / /``), so Python, the venv, ``seqlab`` and the
  hidden-check modules (``autograder``) work as usual;
- the grading folder, the submissions folder, the reference solutions, the repository's ``.git``
  and ``grades/`` (other runs), and the home folder hidden behind empty in-memory folders: the
  kernel cannot read other students' notebooks, the gradebook or other outputs;
- one writable folder per student (``/tmp/seqlab-grade-XXXX/<hash of the student id>/``, a
  short path of its own per grading run, removed when the run ends): its home and working
  directory (the notebook's own folder is copied there) and the kernel's IPC sockets, plus a
  private ``/tmp``; nothing there is read back by the grader. The path is short on purpose: a
  Unix socket path longer than 107 bytes cannot be bound, and a folder under a long ``--out``
  lost every kernel;
- a minimal ``/dev``, plus the GPU's device nodes (``/dev/nvidia*``) where there are some;
- no network (``--unshare-net``: ZeroMQ talks to the kernel over Unix sockets, not TCP);
- its own process namespace (``--unshare-pid``, ``--die-with-parent``): when the kernel exits or
  is killed, every process it started dies with it;
- a user of its own: the kernel does not run as root but as a fresh numeric user id (no account
  needed) that owns only the student's folder, with no capabilities, so it cannot undo any of
  this;
- limits: ``RLIMIT_DATA`` (memory of each process; not ``RLIMIT_AS``, which counts torch's and
  CUDA's address-space reservations), ``RLIMIT_CPU`` (CPU seconds of each process) and
  ``RLIMIT_NPROC`` (processes and threads of the sandbox's user: a fork bomb gets errors, not the
  machine; it would not bind root, hence the user of its own).

The kernelspec interrupts the kernel by message (``interrupt_mode: message``): a signal sent to
the launcher would not reach a process inside the sandbox's namespace.

Every sandboxed kernel imports numpy and torch under the guard before any student code
(:data:`PRELOAD`: the guard's snapshots of them are then always the real modules). In a grading
worker, the kernel of the worker's next student is started while the current student's notebook
runs (:func:`prepare_ready_kernel`: a sandbox of its own, as above, at the lowest CPU priority,
dying with the worker) and handed to that student's kernel manager at normal priority, with the
files the assignment ships beside the notebook copied into its home (:func:`take_ready_kernel`);
its own output goes to a log only root can read, appended to the student's log afterwards.
Nothing of any student is in a ready kernel until it is taken; one made for another sandbox
(other hidden folders or limits) is stopped, not used; if taking it fails, a fresh kernel starts.

:func:`check` is the start-up check of ``make grade``: it runs a probe in the sandbox and returns
what does not work (``None`` when everything does).
"""
from __future__ import annotations

import glob
import json
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

KERNEL_NAME = "seqlab-sandbox"
ENV_VAR = "SEQLAB_SANDBOX"  # the launcher's settings (JSON), set by the grader per student
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Limits:
    memory_mb: int = 4096        # RLIMIT_DATA of every process in the sandbox
    cpu_seconds: int = 600       # RLIMIT_CPU of every process in the sandbox
    max_processes: int = 256     # RLIMIT_NPROC: processes and threads of the sandbox user


@dataclass
class Settings:
    scratch: str                          # the student's writable folder
    hide: list[str] = field(default_factory=list)   # folders the kernel must not see
    limits: Limits = field(default_factory=Limits)
    uid: int = 0                          # the sandbox's own user (set by settings_for)
    preload: list[str] = field(default_factory=list)  # modules a ready kernel imports before its student

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Settings":
        data = json.loads(text)
        return cls(scratch=data["scratch"], hide=list(data.get("hide", [])),
                   limits=Limits(**data.get("limits", {})), uid=int(data.get("uid", 0)),
                   preload=[str(m) for m in data.get("preload", [])])


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


def _sandbox_kernel_manager_class():
    from jupyter_client.manager import AsyncKernelManager

    class SandboxKernelManager(AsyncKernelManager):
        """nbgrader's kernel manager, talking to the kernel over Unix sockets in the student's
        ``ipc/`` folder (the only place both sides see: the kernel has no network, and its ``/tmp``
        is its own), with the connection file there too.

        In a grading worker (``READY_VAR`` set), it starts the kernel of the worker's next student
        as soon as this student's kernel is up (:func:`prepare_ready_kernel`), and takes such a
        ready kernel instead of starting one when there is a matching one."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            settings = Settings.from_json(os.environ[ENV_VAR])
            ipc = Path(settings.scratch) / "ipc"
            self.transport = "ipc"
            self.ip = str(ipc / "k")
            self.connection_file = str(ipc / "kernel.json")

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            settings = Settings.from_json(os.environ[ENV_VAR])
            ready = take_ready_kernel(settings, os.environ) if kw.get("cwd") else None
            if ready is None or not self._adopt(ready, Path(kw["cwd"])):
                await super()._async_launch_kernel(kernel_cmd, **kw)
            if os.environ.get(READY_VAR) == "1":
                prepare_ready_kernel(settings, dict(os.environ))

        def _adopt(self, ready: "ReadyKernel", cwd: Path) -> bool:
            """Make ``ready`` this kernel manager's kernel; False (and ``ready`` stopped) if that
            fails, so that a fresh kernel is started instead."""
            try:
                # this student's files beside the notebook (what the assignment ships)
                copy_beside_notebook(cwd, ready.settings)
                give_to_sandbox_user(Path(ready.settings.scratch) / "home", ready.settings.uid)
                self.load_connection_info(ready.info)
                for name in ("shell_port", "iopub_port", "stdin_port", "hb_port", "control_port"):
                    setattr(self, name, int(ready.info[name]))  # load_connection_info keeps ports already set
                self.connection_file = ready.connection_file
                self._connection_file_written = True
                provisioner = self.provisioner
                provisioner.process, provisioner.pid = ready.proc, ready.proc.pid
                provisioner.pgid = os.getpgid(ready.proc.pid)
                provisioner.cwd = str(cwd)
                provisioner.connection_info = self.get_connection_info()
                renice_tree(ready.proc.pid, 0)       # from now on it is this student's kernel
            except Exception as e:  # noqa: BLE001 - e.g. the kernel died just now, a full disk
                print(f"[autograder.sandbox] could not take the kernel started in advance ({e!r}); "
                      f"starting a fresh one", file=sys.stderr, flush=True)
                release_ready_kernel(ready)
                return False
            print(f"[autograder.sandbox] took the kernel started in advance ({Path(ready.settings.scratch).name})",
                  file=sys.stderr, flush=True)
            return True

    SandboxKernelManager.__module__, SandboxKernelManager.__qualname__ = __name__, "SandboxKernelManager"
    return SandboxKernelManager


def __getattr__(name: str):
    """``SandboxKernelManager`` is made on first use: the kernelspec's launcher (:func:`launch`)
    imports this module once per student and needs none of jupyter_client, whose import is most
    of its start-up time."""
    if name == "SandboxKernelManager":
        cls = _sandbox_kernel_manager_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ----------------------------------------------------------------------------- ready kernels

READY_VAR = "SEQLAB_READY_KERNELS"   # "1" in a grading worker (autograder.worker sets it)
READY_PARENT_VAR = "SEQLAB_READY_PARENT"  # a ready kernel's launcher exits if its worker is gone
READY_NICE = 19                       # a ready kernel starts at the lowest priority (see renice_tree)
PRELOAD = ("numpy", "torch")          # what every sandboxed kernel imports under the guard first


@dataclass
class ReadyKernel:
    """A sandboxed kernel started in advance for the next student of this process (a grading
    worker): its own fresh scratch folder and user, as :func:`settings_for` makes for a student."""
    proc: subprocess.Popen
    settings: Settings
    info: dict                 # connection info (transport, ip, ports, key)
    connection_file: str
    env_key: tuple             # the sandbox's view (hidden folders, limits, kernelspec path) it was made for
    log: Path                  # the kernel's own stdout and stderr (root's, mode 0600)


_READY: list[ReadyKernel] = []      # at most one per process
_TAKEN: list[ReadyKernel] = []      # ready kernels that are grading (or graded) this process's student


def _env_key(settings: Settings, env) -> tuple:
    return (tuple(settings.hide), json.dumps(asdict(settings.limits), sort_keys=True),
            str(Path(settings.scratch).parent), env.get("JUPYTER_PATH", ""))


def prepare_ready_kernel(template: Settings, env: dict[str, str]) -> None:
    """Start, in the background, the sandboxed kernel that this process's next student will get:
    a fresh scratch folder and user of its own under the same scratch root, the same hidden
    folders, limits and environment as ``template``'s student, and :data:`PRELOAD` imported.
    Its start-up (bwrap, Python, ipykernel, torch's import) then overlaps the current student's
    notebook instead of delaying the next one. Nothing of a student is in it until it is taken."""
    from jupyter_client.connect import write_connection_file

    discard_ready_kernels()
    name = f"ready:{os.getpid()}:{time.monotonic_ns()}"
    settings = settings_for(Path(template.scratch).parent, name, [Path(h) for h in template.hide], template.limits)
    settings.preload = list(PRELOAD)
    ipc, home = Path(settings.scratch) / "ipc", Path(settings.scratch) / "home"
    connection_file, info = write_connection_file(str(ipc / "kernel.json"), transport="ipc", ip=str(ipc / "k"),
                                                  key=uuid.uuid4().hex.encode(), signature_scheme="hmac-sha256")
    child_env = dict(env, **{ENV_VAR: settings.to_json(), "JUPYTER_RUNTIME_DIR": str(ipc),
                             READY_PARENT_VAR: str(os.getpid())})
    child_env.pop(READY_VAR, None)
    # Its own log, outside its scratch folder, readable by root only: it becomes the student's
    # (appended to logs/<student>.log by release_ready_kernel); no other kernel can open it.
    log = Path(settings.scratch).parent / f"{Path(settings.scratch).name}.log"
    global _PRCTL
    if _PRCTL is None:
        try:
            _PRCTL = _libc().prctl
        except (OSError, AttributeError):
            pass
    fd = os.open(log, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_APPEND, 0o600)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "autograder.sandbox", "-f", connection_file],
                                cwd=home, env=child_env, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd,
                                start_new_session=True, preexec_fn=_ready_child_setup)
    finally:
        os.close(fd)
    info = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in info.items()}
    _READY.append(ReadyKernel(proc, settings, info, connection_file, _env_key(template, env), log))


def _libc():
    import ctypes
    return ctypes.CDLL(None, use_errno=True)


_PRCTL = None  # libc's prctl, looked up before any fork (a forked child must not import)


def _ready_child_setup() -> None:
    """In the ready kernel's launcher, between fork and exec (so: no imports, no locks): the
    lowest priority (its start-up must not slow the student whose notebook is running;
    :func:`renice_tree` undoes it when it is taken), and death with the grading worker
    (PR_SET_PDEATHSIG; the launcher also checks that its parent is still the worker)."""
    os.nice(READY_NICE)
    if _PRCTL is not None:
        _PRCTL(1, 9)  # PR_SET_PDEATHSIG = 1, SIGKILL = 9


def renice_tree(pid: int, nice: int) -> None:
    """Set the priority of every thread of ``pid`` and of its descendants (bwrap, the kernel)."""
    import psutil
    try:
        procs = [psutil.Process(pid)]
        procs += procs[0].children(recursive=True)
    except psutil.Error:
        return
    for proc in procs:
        try:
            for thread in proc.threads():
                os.setpriority(os.PRIO_PROCESS, thread.id, nice)
        except (psutil.Error, OSError):
            pass


def take_ready_kernel(settings: Settings, env) -> ReadyKernel | None:
    """The ready kernel for a student with these sandbox ``settings``, if one was made for the same
    hidden folders, limits and kernelspec and is still running; else None (and it is discarded)."""
    if not _READY:
        return None
    ready = _READY.pop()
    if ready.proc.poll() is None and ready.env_key == _env_key(settings, env):
        _TAKEN.append(ready)
        return ready
    _stop(ready)
    return None


def _kill(ready: ReadyKernel) -> None:
    if ready.proc.poll() is None:
        try:
            os.killpg(ready.proc.pid, 9)
        except OSError:
            ready.proc.kill()
    ready.proc.wait()


def _stop(ready: ReadyKernel) -> None:
    _kill(ready)
    shutil.rmtree(ready.settings.scratch, ignore_errors=True)
    try:
        ready.log.unlink()
    except OSError:
        pass


def release_ready_kernel(ready: ReadyKernel) -> None:
    """A taken ready kernel is done (or could not be taken): stop it if it still runs, append its
    log to this process's stderr (in a grading worker: the student's ``logs/<student>.log``),
    and remove its scratch folder (what the student's kernel wrote; never read) and log."""
    if ready in _TAKEN:
        _TAKEN.remove(ready)
    _kill(ready)
    try:
        text = ready.log.read_text(encoding="utf-8", errors="replace")
        if text:
            sys.stderr.write(f"[autograder.sandbox] the kernel's own output:\n{text}")
            sys.stderr.flush()
    except OSError:
        pass
    _stop(ready)


def discard_ready_kernels() -> None:
    """Stop the ready kernel (if any) and remove its scratch folder and log."""
    while _READY:
        _stop(_READY.pop())


def remove_used_scratch() -> None:
    """After a student: release every ready kernel this process took for them
    (:func:`release_ready_kernel`; nbgrader has shut them down by then)."""
    while _TAKEN:
        release_ready_kernel(_TAKEN[-1])


# Unix socket paths (``sockaddr_un.sun_path``) hold at most 107 bytes; the kernel's sockets are
# ``<scratch>/ipc/k-<port>``.
MAX_SOCKET_PATH = 107


def scratch_root() -> Path:
    """A fresh, short folder for one grading run's per-student scratch folders (the caller removes
    it): under ``/tmp`` where there is one, whatever ``TMPDIR`` says, since the kernel's Unix
    sockets live below it and their paths must stay short."""
    import tempfile
    base = "/tmp" if os.path.isdir("/tmp") else None
    return Path(tempfile.mkdtemp(prefix="seqlab-grade-", dir=base))


def settings_for(root: Path, student_id: str, hide: list[Path], limits: Limits) -> Settings:
    """The sandbox of one student: a fresh scratch folder under ``root`` (see :func:`scratch_root`),
    named by a short hash of the id, not the id itself, to keep socket paths short. ``hide`` must
    name the grading run's output folder. Raises ``ValueError`` if the socket paths would be too
    long to bind."""
    scratch = Path(root) / hashlib.sha1(student_id.encode()).hexdigest()[:10]
    longest = len(os.fsencode(str(scratch / "ipc" / "k-99999")))
    if longest > MAX_SOCKET_PATH:
        raise ValueError(f"the grading sandbox's scratch folder {scratch} is too long for the kernel's "
                         f"Unix sockets ({longest} bytes; at most {MAX_SOCKET_PATH}): use a shorter "
                         f"temporary folder")
    prepare_scratch(scratch)
    return Settings(scratch=str(scratch), hide=list(map(str, hide)), limits=limits, uid=new_uid(),
                    preload=list(PRELOAD))


def new_uid() -> int:
    """A user id of its own for one sandbox (no account needed): ``RLIMIT_NPROC`` counts the
    processes and threads of a user, and does not bind root, so each sandbox runs as a user that
    nothing else on the machine runs as."""
    import secrets
    return 200_000 + secrets.randbelow(2_000_000_000 - 200_000)


# ----------------------------------------------------------------------------- the sandbox

def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def bwrap_command(settings: Settings, argv: list[str]) -> list[str]:
    """``bwrap ... -- argv``: the sandbox described in the module docstring."""
    scratch = Path(settings.scratch)
    home = scratch / "home"
    cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
           "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent",
           "--new-session", "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    empty: list[Path] = []  # folders replaced by an empty tmpfs so far

    def mount(option: str, path: Path, *, perms: str | None = None) -> None:
        # bwrap makes missing parents 0700 inside a tmpfs: make them 0755, or the sandbox's
        # user could not reach what is mounted below them
        for parent in reversed(path.parents):
            if any(parent != e and _under(parent, e) for e in empty):
                cmd.extend(["--perms", "0755", "--dir", str(parent)])
        if perms:
            cmd.extend(["--perms", perms])
        cmd.extend([option, str(path)] if option == "--tmpfs" else [option, str(path), str(path)])
        if option == "--tmpfs":
            empty.append(path)

    cmd += ["--perms", "1777", "--tmpfs", "/dev/shm"]  # for multiprocessing and DataLoader workers
    # a GPU stays usable: its device nodes are bound into the sandbox's minimal /dev
    for device in sorted(glob.glob("/dev/nvidia*")) + sorted(glob.glob("/dev/dri")):
        cmd += ["--dev-bind", device, device]
    mount("--tmpfs", Path("/tmp"), perms="1777")
    # What the kernel needs and a tmpfs would hide: the interpreter, the venv, the repository.
    needed = sorted({Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), ROOT}
                    | {Path(p).resolve() for p in sys.path if p and Path(p).is_dir()})
    hide = [Path(h).resolve() for h in settings.hide]
    # besides what the grader names: the repository's history, reference solutions and other
    # grading runs (make grade writes to grades/ by default), and the home folder
    hidden = sorted(set(hide) | {ROOT / ".git", ROOT / "solutions", ROOT / "grades", ROOT / "grading",
                                 Path("/root"), Path(os.path.expanduser("~")).resolve()})
    exposed: set[Path] = set()
    for folder in [Path("/tmp"), *hidden]:
        if folder != Path("/tmp"):
            if not folder.is_dir():
                continue
            mount("--tmpfs", folder)
        for keep in needed:  # re-expose what is needed below it (e.g. pyenv in ~, a repo in /tmp)
            if (keep != folder and _under(keep, folder) and keep not in exposed
                    and not any(_under(keep, h) for h in hide)
                    and not any(_under(keep, e) and e != keep for e in exposed)):
                mount("--ro-bind", keep)
                exposed.add(keep)
    for f in hide:  # a hidden file (e.g. a platform archive in a folder the kernel needs): unreadable
        if f.is_file():
            cmd += ["--ro-bind", "/dev/null", str(f)]
    mount("--bind", scratch)
    cmd += ["--chdir", str(home),
            "--setenv", "HOME", str(home), "--setenv", "TMPDIR", "/tmp",
            "--setenv", "MPLCONFIGDIR", str(home / ".matplotlib"),
            "--unsetenv", "JPY_PARENT_PID", "--unsetenv", ENV_VAR, "--unsetenv", READY_VAR,
            "--unsetenv", READY_PARENT_VAR, "--", *argv]
    return cmd


DROP = ("import os, sys; uid = int(sys.argv[1]); os.setgroups([]); os.setgid(uid); os.setuid(uid); "
        "os.execv(sys.argv[2], sys.argv[2:])")


def sandboxed_command(settings: Settings, argv: list[str]) -> list[str]:
    """bwrap around a short step that becomes the sandbox's own user and then runs ``argv``."""
    return bwrap_command(settings, [sys.executable, "-S", "-c", DROP, str(settings.uid), *argv])  # -S: no site, a faster start


def apply_limits(limits: Limits) -> None:
    """Set the resource limits of this process (inherited by the sandbox and all in it)."""
    mem = int(limits.memory_mb) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (mem, mem))
    cpu = int(limits.cpu_seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    nproc = int(limits.max_processes)
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def give_to_sandbox_user(path: Path, uid: int) -> None:
    """Make ``path`` (and everything under it) the sandbox user's."""
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, uid)
        for name in files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


def copy_beside_notebook(folder: Path, settings: Settings) -> None:
    """Copy the notebook's folder (the kernel manager's working directory), minus notebooks, into
    the sandbox's home: any file an assignment (or a student) put beside the notebook."""
    home = Path(settings.scratch) / "home"
    if folder.resolve() == home.resolve():
        return
    for item in folder.iterdir():
        if item.suffix != ".ipynb" and not item.is_symlink():
            target = home / item.name
            if item.is_dir() and not _under(Path(settings.scratch).resolve(), item.resolve()):
                shutil.copytree(item, target, symlinks=True, dirs_exist_ok=True)
            elif item.is_file():
                shutil.copyfile(item, target)


def launch(argv: list[str] | None = None) -> int:
    """The kernelspec's command: ``python -m autograder.sandbox -f CONNECTION_FILE``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) in (3, 4) and args[:2] == ["--kernel", "-f"]:  # inside the sandbox
        preload = args[3].removeprefix("--preload=").split(",") if len(args) == 4 else []
        return guarded_kernel(args[2], [m for m in preload if m])
    if len(args) != 2 or args[0] != "-f":
        print("usage: python -m autograder.sandbox -f CONNECTION_FILE", file=sys.stderr)
        return 2
    connection_file = args[1]
    text = os.environ.get(ENV_VAR)
    if not text:
        print(f"{ENV_VAR} is not set: this kernel only runs under python -m autograder.grade", file=sys.stderr)
        return 2
    settings = Settings.from_json(text)
    parent = os.environ.get(READY_PARENT_VAR)
    if parent and os.getppid() != int(parent):  # a ready kernel whose grading worker is gone
        return 1
    os.chmod(connection_file, 0o600)
    copy_beside_notebook(Path.cwd(), settings)
    give_to_sandbox_user(Path(settings.scratch), settings.uid)
    apply_limits(settings.limits)
    inner = [sys.executable, "-m", "autograder.sandbox", "--kernel", "-f", connection_file]
    if settings.preload:
        inner.append("--preload=" + ",".join(settings.preload))
    cmd = sandboxed_command(settings, inner)
    os.execvp(cmd[0], cmd)  # the kernel manager's process is bwrap itself: killing it ends the sandbox


# ----------------------------------------------------------------------------- inside the kernel

HIDDEN_MARK = "### BEGIN HIDDEN TESTS"
# Modules whose functions hidden checks compare with: restored before every test cell.
GUARDED = ("builtins", "math", "operator", "numpy", "numpy.testing", "torch", "torch.nn.functional",
           "torch.testing", "seqlab", "seqlab.checks")
UNGUARDED_NAMES = {"input", "raw_input", "getpass", "display", "get_ipython", "exit", "quit", "_", "__", "___"}


class Guard:
    """Undo, before every test cell, what student code did to the functions the hidden checks
    rely on: the attributes of :data:`GUARDED` modules and of ``torch.Tensor`` are reset to what
    they were when first imported (an import hook takes the snapshot); ``autograder`` is
    re-imported from the repository (a patched ``check_*`` or a fake ``autograder`` folder in
    the working directory is gone); ``sys.meta_path`` is reset; IPython's custom exception
    handler is removed. This runs inside the student's process, so it stops the patches a
    student would try, not one written against this guard."""

    def __init__(self, shell) -> None:
        self.shell = shell
        self.snapshots: dict[str, dict] = {}
        self.modules: dict[str, object] = {}   # the module objects themselves, put back in sys.modules
        self.classes: dict[object, dict] = {}
        for name in GUARDED:
            if name in sys.modules:
                self.snapshot(name, sys.modules[name])
        sys.meta_path.insert(0, _SnapshotFinder(self))
        self.meta_path = list(sys.meta_path)
        shell.events.register("pre_run_cell", self.before_cell)

    def snapshot(self, name: str, module) -> None:
        if name not in self.snapshots:
            self.snapshots[name] = dict(vars(module))
            self.modules[name] = module
            if name == "torch" and hasattr(module, "Tensor"):
                self.classes[module.Tensor] = dict(vars(module.Tensor))

    def before_cell(self, info=None) -> None:
        raw = getattr(info, "raw_cell", "") or ""
        if HIDDEN_MARK not in raw:
            return
        sys.meta_path[:] = self.meta_path
        sys.path_importer_cache.clear()
        for name, saved in self.snapshots.items():
            module = sys.modules[name] = self.modules[name]  # a stand-in put in sys.modules is gone
            current = vars(module)
            for attr, value in saved.items():
                if attr not in UNGUARDED_NAMES and current.get(attr, _MISSING) is not value:
                    try:
                        setattr(module, attr, value)
                    except (AttributeError, TypeError):
                        pass
        for cls, saved in self.classes.items():
            for attr in [a for a in vars(cls) if a not in saved]:  # e.g. an __eq__ over the base's
                try:
                    delattr(cls, attr)
                except (AttributeError, TypeError):
                    pass
            for attr, value in saved.items():
                if vars(cls).get(attr, _MISSING) is not value and not attr.startswith("__dict"):
                    try:
                        setattr(cls, attr, value)
                    except (AttributeError, TypeError):
                        pass
        for name in [n for n in sys.modules if n == "autograder" or n.startswith("autograder.")]:
            if name != __name__:
                del sys.modules[name]
        import importlib.util
        spec = importlib.util.spec_from_file_location("autograder", ROOT / "autograder" / "__init__.py",
                                                      submodule_search_locations=[str(ROOT / "autograder")])
        package = importlib.util.module_from_spec(spec)
        sys.modules["autograder"] = package
        spec.loader.exec_module(package)
        try:
            self.shell.set_custom_exc((), None)
        except Exception:
            self.shell.custom_exceptions = ()


_MISSING = object()


class _SnapshotFinder:
    """A meta path entry that snapshots a guarded module right after its first import."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    def find_spec(self, name, path=None, target=None):
        if name not in GUARDED or name in self.guard.snapshots:
            return None
        from importlib.machinery import PathFinder
        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader, guard = spec.loader, self.guard
        exec_module = loader.exec_module

        def exec_and_snapshot(module):
            exec_module(module)
            guard.snapshot(name, module)

        loader.exec_module = exec_and_snapshot
        return spec


def guarded_kernel(connection_file: str, preload: list[str] = ()) -> int:
    """``python -m ipykernel_launcher -f CONNECTION_FILE`` with a :class:`Guard` installed; a
    ready kernel (:func:`prepare_ready_kernel`) then imports ``preload`` (under the guard, so the
    guard's snapshots of them are taken as usual) before any student code runs."""
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(["-f", connection_file])
    try:
        Guard(app.shell)
    except Exception as e:
        print(f"autograder.sandbox: could not install the guard: {e!r}", file=sys.__stderr__)
        if preload:  # a kernel that preloads is one of the grader's: it must not run unguarded
            return 1
    import importlib
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception as e:  # a half-imported module could not be imported again: give up
            print(f"autograder.sandbox: could not preload {name}: {e!r}", file=sys.__stderr__)
            return 1
    app.start()
    return 0


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
open("/tmp/ok", "w").write("ok")
if os.getuid() == 0 or open("/proc/self/status").read().split("CapEff:")[1].split()[0].strip("0"):
    problems.append("runs as root or with capabilities")
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
    settings.uid = new_uid()
    prepare_scratch(Path(settings.scratch))
    give_to_sandbox_user(Path(settings.scratch), settings.uid)
    try:
        proc = subprocess.run(sandboxed_command(settings, [sys.executable, "-c", PROBE, str(outside),
                                                          str(secret / "gradebook.db")]),
                              capture_output=True, text=True, timeout=120,
                              preexec_fn=lambda: apply_limits(settings.limits))
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
