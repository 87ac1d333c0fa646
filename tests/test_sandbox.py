"""The grading sandbox (autograder/sandbox.py), without nbgrader: code run in it cannot write
outside its folder, see hidden folders, reach the network, exceed its memory or process limits,
or outlive it; a kernel started through the sandbox kernelspec runs code and can be interrupted.

These tests need bubblewrap (``apt-get install bubblewrap``; ``.ci/run`` installs it)."""
from __future__ import annotations

import os
import socket
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from autograder import sandbox
from autograder.release import subprocess_env

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module", autouse=True)
def bwrap_works(tmp_path_factory):
    problem = sandbox.check(tmp_path_factory.mktemp("check") / "probe")
    if problem:
        pytest.fail(f"the grading sandbox does not work here: {problem}")


@pytest.fixture
def root():
    """A grading run's scratch root (short, under /tmp), removed afterwards."""
    path = sandbox.scratch_root()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def box(tmp_path, root):
    """A sandbox with its scratch folder under ``root``, which hides ``tmp_path/out`` and
    ``tmp_path/secret`` (holding ``gradebook.db``)."""
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "gradebook.db").write_text("grades")
    out = tmp_path / "out"
    out.mkdir()
    settings = sandbox.settings_for(root, "s", [out, tmp_path / "secret"],
                                    sandbox.Limits(memory_mb=1024, cpu_seconds=20, max_processes=64))
    sandbox.give_to_sandbox_user(Path(settings.scratch), settings.uid)
    return settings


def run_in(settings: sandbox.Settings, code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    cmd = sandbox.sandboxed_command(settings, [sys.executable, "-c", textwrap.dedent(code)])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=subprocess_env(),
                          preexec_fn=lambda: sandbox.apply_limits(settings.limits))


def test_writes_only_its_own_folder(box, tmp_path):
    proc = run_in(box, f"""
        import os
        for target in [{str(tmp_path / 'outside.txt')!r}, {str(ROOT / 'dropped.txt')!r}, '/etc/dropped']:
            try:
                open(target, 'w').write('x'); print('WROTE', target)
            except OSError:
                pass
        open('mine.txt', 'w').write('x')                 # the working directory is the student's
        open(os.path.join(os.environ['HOME'], 'h.txt'), 'w').write('x')
        open('/tmp/t.txt', 'w').write('x')               # a private /tmp
        import multiprocessing
        multiprocessing.Lock()                            # semaphores in a private /dev/shm
        print('uid', os.getuid())
    """)
    assert proc.returncode == 0, proc.stderr
    assert "WROTE" not in proc.stdout
    assert not (tmp_path / "outside.txt").exists() and not (ROOT / "dropped.txt").exists()
    assert (Path(box.scratch) / "home" / "mine.txt").is_file()
    assert f"uid {box.uid}" in proc.stdout and box.uid != 0


def test_hidden_folders_are_empty(box, tmp_path, root):
    other = sandbox.settings_for(root, "another student", [], box.limits)  # beside box's own folder
    (Path(other.scratch) / "home" / "answer.ipynb").write_text("theirs")
    proc = run_in(box, f"""
        import os
        for folder in [{str(tmp_path / 'secret')!r}, {str(tmp_path / 'out')!r}, {str(ROOT / 'solutions')!r},
                       {str(ROOT / '.git')!r}, '/root', {str(root)!r}]:
            print(folder, sorted(os.listdir(folder)) if os.path.isdir(folder) else 'absent')
        import seqlab, autograder.common        # what notebooks and hidden checks need is there
        print('imports ok')
    """)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "imports ok" in lines
    secret, out, solutions, git, home, scratch_root = lines[:6]
    assert "gradebook.db" not in secret
    assert out.endswith("[]")
    # only the way to its own scratch folder, not the other student's
    assert scratch_root.endswith(f"[{Path(box.scratch).name!r}]"), scratch_root
    assert solutions.endswith("[]") and (git.endswith("[]") or git.endswith("absent"))
    assert (ROOT / "solutions").is_dir() and any((ROOT / "solutions").iterdir())


def test_no_network(box):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted = []
    server.settimeout(5)

    def accept():
        try:
            accepted.append(server.accept())
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    proc = run_in(box, f"""
        import socket
        for host in ['127.0.0.1', '1.1.1.1']:
            try:
                socket.create_connection((host, {port}), timeout=2); print('CONNECTED', host)
            except OSError as e:
                print('refused', host)
    """)
    thread.join()
    server.close()
    assert proc.returncode == 0, proc.stderr
    assert "CONNECTED" not in proc.stdout and not accepted


def test_memory_limit(box):
    proc = run_in(box, """
        try:
            block = bytearray(2 * 1024 ** 3)   # 2 GB, over the 1 GB limit
            print('ALLOCATED')
        except MemoryError:
            print('MemoryError')
        import torch                          # torch itself fits (RLIMIT_DATA, not RLIMIT_AS)
        print(torch.ones(3).sum().item())
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["MemoryError", "3.0"]


def test_process_limit_stops_a_fork_bomb(box):
    proc = run_in(box, """
        import os, time
        children, failed = [], None
        for _ in range(1000):
            try:
                pid = os.fork()
            except OSError as e:
                failed = e
                break
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            children.append(pid)
        print(len(children), type(failed).__name__)
    """)
    assert proc.returncode == 0, proc.stderr
    count, error = proc.stdout.split()
    assert int(count) < 64 and error == "BlockingIOError"


def test_cpu_limit(box):
    box.limits.cpu_seconds = 1
    start = time.monotonic()
    proc = run_in(box, "while True:\n    pass\n")
    assert proc.returncode != 0 and time.monotonic() - start < 30


def test_nothing_outlives_the_sandbox(box, tmp_path):
    """A detached grandchild (new session, double fork) dies with the sandbox."""
    marker = f"seqlab-daemon-{os.getpid()}-{time.time_ns()}"
    proc = run_in(box, f"""
        import subprocess, sys
        subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', {marker!r}],
                         start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print('started')
    """)
    assert proc.returncode == 0 and "started" in proc.stdout, proc.stderr
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    assert not left, f"still running: {left}"


def test_check_reports_a_missing_bwrap(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    assert "apt-get install bubblewrap" in sandbox.check(tmp_path / "probe")


def test_kernel_in_the_sandbox_runs_and_can_be_interrupted(tmp_path, root, monkeypatch):
    """The kernelspec and kernel manager nbgrader uses: code runs, a loop is interrupted (by
    message), the kernel has no network and cannot read the hidden output folder."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError
    import nbformat

    out = tmp_path / "out"
    out.mkdir()
    (out / "gradebook.db").write_text("grades")
    settings = sandbox.settings_for(root, "s", [out], sandbox.Limits(memory_mb=2048, cpu_seconds=60, max_processes=128))
    jupyter = sandbox.install_kernelspec(tmp_path / "jupyter")
    for key, value in sandbox.student_env(subprocess_env(), settings, jupyter).items():
        monkeypatch.setenv(key, value)
    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[
        v4.new_code_cell("import os, socket\nprint(os.getuid(), os.path.exists(%r))" % str(out / "gradebook.db")),
        v4.new_code_cell("import time\nwhile True:\n    time.sleep(0.01)"),
        v4.new_code_cell("print('after the interrupt')"),
    ])
    client = NotebookClient(nb, timeout=5, kernel_name=sandbox.KERNEL_NAME, allow_errors=True,
                            kernel_manager_class=sandbox.SandboxKernelManager, startup_timeout=120,
                            interrupt_on_timeout=True, resources={"metadata": {"path": str(jupyter)}})
    client.execute()
    first = nb.cells[0].outputs[0]["text"].split()
    assert first == [str(settings.uid), "False"]
    assert any(o.get("ename") == "KeyboardInterrupt" for o in nb.cells[1].outputs) or \
        any(o.get("ename") == CellTimeoutError.__name__ for o in nb.cells[1].outputs), nb.cells[1].outputs
    assert nb.cells[2].outputs[0]["text"].strip() == "after the interrupt"


def test_the_guard_undoes_patches_before_a_test_cell(tmp_path, root, monkeypatch):
    """Patches of comparison helpers, no-op'd hidden checks, a fake ``autograder`` package in the
    working directory and a custom exception handler are undone before a cell with hidden tests;
    an ordinary cell still sees them (student code runs as written)."""
    from nbclient import NotebookClient
    import nbformat

    out = tmp_path / "out"
    out.mkdir()
    settings = sandbox.settings_for(root, "s", [out], sandbox.Limits(memory_mb=2048, cpu_seconds=120, max_processes=128))
    jupyter = sandbox.install_kernelspec(tmp_path / "jupyter")
    for key, value in sandbox.student_env(subprocess_env(), settings, jupyter).items():
        monkeypatch.setenv(key, value)
    patch = textwrap.dedent("""
        import builtins, math, os, numpy, torch, autograder.common
        torch.allclose = lambda *a, **k: True
        torch.Tensor.__eq__ = lambda *a, **k: True
        numpy.allclose = lambda *a, **k: True
        math.isclose = lambda *a, **k: True
        builtins.abs = lambda x: 0
        autograder.common.extra_device = lambda: "patched"
        os.makedirs("autograder", exist_ok=True)   # a fake package in the working directory
        open("autograder/__init__.py", "w").write("FAKE = True")
        open("autograder/common.py", "w").write("extra_device = lambda: 'patched'")
        import sys, importlib
        for name in [n for n in sys.modules if n.startswith("autograder")]:
            del sys.modules[name]
        importlib.invalidate_caches()
        get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)
        import types
        stand_in = types.ModuleType("math")                 # a stand-in module in sys.modules
        stand_in.isclose = lambda *a, **k: True
        sys.modules["math"] = stand_in
    """)
    probe = textwrap.dedent("""
        import builtins, math, numpy, torch, autograder.common, autograder
        print(torch.allclose(torch.zeros(1), torch.ones(1)), numpy.allclose(0, 1), math.isclose(0, 1),
              builtins.abs(-1) == 0, autograder.common.extra_device() == "patched",
              hasattr(autograder, "FAKE"), bool(torch.zeros(1) == torch.ones(1)))
    """)
    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[v4.new_code_cell(patch), v4.new_code_cell(probe),
                                v4.new_code_cell(probe + "### BEGIN HIDDEN TESTS\nraise ValueError('hidden check failed')\n"
                                                 "### END HIDDEN TESTS")])
    client = NotebookClient(nb, timeout=120, kernel_name=sandbox.KERNEL_NAME, allow_errors=True,
                            kernel_manager_class=sandbox.SandboxKernelManager, startup_timeout=120,
                            resources={"metadata": {"path": str(jupyter)}})
    client.execute()
    texts = [" ".join(o.get("text", "") for o in c.outputs if o.get("output_type") == "stream").split()
             for c in nb.cells[1:]]
    assert texts[0] == ["True"] * 7, nb.cells  # the student's own cells see their patches
    assert texts[1] == ["False"] * 7, texts[1]         # a test cell does not
    assert any(o.get("ename") == "ValueError" for o in nb.cells[2].outputs), nb.cells[2].outputs


def test_too_long_a_scratch_folder_is_refused_with_a_clear_error(tmp_path):
    """A scratch folder whose socket paths could not be bound is an error that says so, not a lost
    kernel; the grader's own root is short."""
    deep = tmp_path / ("d" * 120)
    with pytest.raises(ValueError, match="too long for the kernel's Unix sockets"):
        sandbox.settings_for(deep, "s", [], sandbox.Limits())
    path = sandbox.scratch_root()
    try:
        settings = sandbox.settings_for(path, "a-very-long-student-id-" * 5, [], sandbox.Limits())
        assert len(str(Path(settings.scratch) / "ipc" / "k-99999")) <= sandbox.MAX_SOCKET_PATH
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_a_hidden_file_in_a_visible_folder_cannot_be_read(tmp_path, root):
    """A file named in ``hide`` (e.g. a platform's archive of the whole class lying in the
    repository, which the kernel must see) cannot be read inside the sandbox (/dev/null is
    mounted over it, and the sandbox's mounts allow no device files: permission denied)."""
    archive = ROOT / f".sandbox-test-export-{os.getpid()}.zip"
    archive.write_text("every student's notebook")
    try:
        settings = sandbox.settings_for(root, "s", [archive], sandbox.Limits(memory_mb=1024, cpu_seconds=20,
                                                                             max_processes=64))
        sandbox.give_to_sandbox_user(Path(settings.scratch), settings.uid)
        proc = run_in(settings, f"""
            import seqlab
            try:
                print(repr(open({str(archive)!r}).read()))
            except PermissionError:
                print("denied")
        """)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() in ("''", "denied"), proc.stdout
    finally:
        archive.unlink()
