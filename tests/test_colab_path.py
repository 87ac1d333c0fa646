"""The Colab path, exercised: launch button -> first cell installs ``seqlab`` -> the notebook runs.

Colab is simulated in a fresh virtual environment:

- only the packages Colab preinstalls (``COLAB_PREINSTALLED`` below, a dated subset of the list
  Colab shows with ``pip list``; torch at this machine's version, since a CPU build is what is
  here) plus ipykernel to run notebooks, and what they require: linked from this environment, at
  its versions, where it has them (:func:`_preinstall`), installed from the registry otherwise;
- a fake ``google.colab`` module that every Python process of that environment imports at start
  (``sitecustomize``), as Colab's runtime does, so the first cell takes its Colab branch;
- git told (``url.<clone>.insteadOf``) to fetch the repository URL from a local clone of this
  repository's committed HEAD, so the install line runs unchanged with no network.

Then: the first code cell of every chapter and exercise runs in a kernel of its own (installing
``seqlab`` from the clone, then picking the device), once per distinct cell: thirteen notebooks
share one first cell word for word, and the same code in the same environment proves nothing more
the second time (:func:`first_cells`); every module any chapter or exercise imports
is importable after the install; the hidden checks (``autograder``) are *not* (they are not part of
the ``seqlab`` install: students get the helper library, not the grader); one whole chapter and
one whole exercise release (with the reference solution typed in) execute there.

Slow (a few minutes: a few installs of ``seqlab`` from git, the first of which also installs
gensim from the registry, and two whole notebooks).
Needs the package registry, like ``make``'s own install.
"""
from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

import assignment_utils as au
from conftest import ROOT

pytestmark = pytest.mark.slow

# What Colab preinstalls, as far as the course's notebooks care (checked 2026-12-01 against
# Colab's `pip list`; update when Colab's image changes). gensim is deliberately absent: whether
# or not Colab has it, the seqlab install must bring it.
COLAB_PREINSTALLED = ["numpy", "matplotlib", "tqdm", "pandas", "scipy", "requests", "pyyaml",
                      "ipykernel", "ipywidgets", "nbformat"]
WHOLE_CHAPTER = "02_rnn"  # the quickest chapter to execute (bench/results.md)
WHOLE_EXERCISE = "a03_gradients"


def repository_url() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")


def notebooks() -> list[Path]:
    chapters = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    exercises = sorted(au.release_path(a) for a in au.assignments())
    return chapters + exercises


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _requirement_closure(names: list[str]) -> tuple[dict, list[str]]:
    """The distributions of this environment that ``names`` need (themselves and what they require,
    recursively, extras left out), by normalised name; and those of ``names`` not installed here."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    found, missing, todo = {}, [], list(names)
    while todo:
        name = todo.pop()
        key = canonicalize_name(name)
        if key in found or name in missing:
            continue
        try:
            dist = metadata.distribution(key)
        except metadata.PackageNotFoundError:
            if name in names:
                missing.append(name)
                continue
            raise
        found[key] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return found, missing


def _preinstall(venv: Path, folder: Path, names: list[str]) -> list[str]:
    """Make ``names`` (and what they require) preinstalled in ``venv``, as Colab's image has them:
    each distribution's files as this environment has them, linked into ``folder``, which the venv
    reads as a site directory of its own (a ``.pth`` file). pip in the venv sees them installed and
    never changes them: an upgrade would install into the venv's site-packages, in front of them,
    and leave this environment's files alone (they are outside the venv). Linking takes a second
    where installing torch, numpy, scipy and matplotlib into a fresh venv took about 150 s here.
    Returns those of ``names`` this environment does not have (to install from the registry)."""
    found, missing = _requirement_closure(names)
    site = next((venv / "lib").glob("python3*/site-packages"))
    own = {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}  # pip, setuptools: the venv's
    folder.mkdir(parents=True)
    for key, dist in found.items():
        if key.replace("-", "_") in own:
            continue
        tops = {Path(str(f)).parts[0] for f in dist.files or []}
        for top in sorted(tops - {"..", "__pycache__"}):
            target = Path(dist.locate_file(top))
            if target.exists() and not (folder / top).exists():
                (folder / top).symlink_to(target)
    (site / "colab_preinstalled.pth").write_text(f"import site; site.addsitedir({str(folder)!r})\n")
    return missing


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """A simulated Colab runtime: (python, kernel env, tmp folder)."""
    tmp = tmp_path_factory.mktemp("colab")
    clone = tmp / "repo"
    _run(["git", "clone", "--quiet", ROOT, clone])
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", venv])
    python = venv / "bin" / "python"
    missing = _preinstall(venv, tmp / "preinstalled", ["torch", *COLAB_PREINSTALLED])
    if missing:  # not in this environment: installed from the package registry
        _run([python, "-m", "pip", "install", "-q", *missing], timeout=1200)

    fake = tmp / "fake_colab"
    (fake / "google" / "colab").mkdir(parents=True)  # "google" stays a namespace package
    (fake / "google" / "colab" / "__init__.py").write_text('"""A stand-in for Colab\'s runtime module."""\n')
    (fake / "sitecustomize.py").write_text("import google.colab  # Colab's runtime has it imported\n")
    gitconfig = tmp / "gitconfig"
    gitconfig.write_text(f'[url "file://{clone}"]\n\tinsteadOf = {repository_url()}\n')
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PYTHONPATH=str(fake), GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1",
               PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", PIP_DISABLE_PIP_VERSION_CHECK="1")
    return python, env, tmp


def _execute(nb, python: Path, env: dict, tmp: Path, cwd: Path, timeout: int = 600):
    """Run ``nb`` in a kernel of the simulated Colab environment (its python, its env)."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager
    from nbclient import NotebookClient

    kernels = tmp / "kernels" / "colab"
    kernels.mkdir(parents=True, exist_ok=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab (simulated)", "language": "python"}))
    km = KernelManager(kernel_name="colab", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels.parent)]))
    client = NotebookClient(nb, km=km, timeout=timeout, resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute(env=env)  # passed on to the kernel's start: the simulated runtime's environment
    finally:  # a client given its own kernel manager leaves the kernel running: stop it
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    return nb


def _first_cell_key(path: Path) -> str:
    cell = au.first_code_cell(nbformat.read(path, as_version=4))
    return json.dumps([cell.source, cell.get("metadata", {})], sort_keys=True)


def first_cells() -> list[list[Path]]:
    """Every chapter and exercise, grouped by its first code cell (source and cell metadata, word for
    word; groups in the order of their first notebook). One run of a group's cell stands for all of
    them: it is the same code, run in the same simulated runtime. The notebook's folder is on the
    kernel's import path (IPython puts the working folder there), so the folders must hold nothing
    importable (test_first_cell_groups_stand_for_their_notebooks): then nothing the cell does
    depends on which of them it runs in."""
    groups: dict[str, list[Path]] = {}
    for path in notebooks():
        groups.setdefault(_first_cell_key(path), []).append(path)
    return list(groups.values())


# Run after the first cell, in the same kernel: the seqlab that was imported, and the installed
# distribution, are both the simulated runtime's own (not the repository's, nor the notebook folder's).
INSTALLED_PROBE = ("import seqlab\nfrom importlib import metadata\n"
                   "print('installed:', metadata.distribution('seqlab').locate_file('seqlab'))\n"
                   "print('imported:', seqlab.__file__)")


def _group_id(paths: list[Path]) -> str:
    return paths[-1].stem + (f"+{len(paths) - 1}_sharing_its_first_cell" if len(paths) > 1 else "")


@pytest.mark.parametrize("paths", first_cells(), ids=_group_id)
def test_first_cell_installs_seqlab_in_colab(colab, paths):
    """The group's cell runs in the folder of its last notebook (an exercise's, for the cell that
    chapters and exercises share), installs seqlab and picks the device."""
    python, env, tmp = colab
    path = paths[-1]
    nb = nbformat.read(path, as_version=4)
    single = nbformat.v4.new_notebook(cells=[au.first_code_cell(nb), nbformat.v4.new_code_cell(INSTALLED_PROBE)],
                                      metadata=nb.metadata)
    _execute(single, python, env, tmp, cwd=path.parent, timeout=900)
    out = ["".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
           for cell in single.cells]
    names = ", ".join(p.name for p in paths)
    assert "device:" in out[0], f"{names}: the first cell did not pick a device: {out[0][-2000:]}"
    probe = dict(line.split(": ", 1) for line in out[1].splitlines() if line.startswith(("installed: ", "imported: ")))
    assert set(probe) == {"installed", "imported"}, f"{names}: the probe printed {out[1]!r}"
    for what, where in probe.items():
        assert Path(where).is_relative_to(tmp / "venv"), \
            f"{names}: seqlab {what} from {where}, not from the simulated runtime's install"


def test_first_cell_groups_stand_for_their_notebooks():
    """What lets one run stand for a group: every notebook is in one group, and no notebook folder
    holds anything Python could import instead of the installed seqlab (a module, a package, a
    .pth or an egg/dist-info), since the working folder is on the kernel's import path."""
    groups = first_cells()
    assert sorted(p for g in groups for p in g) == sorted(notebooks()) and len(notebooks()) >= 14
    for folder in sorted({p.parent for p in notebooks()}):
        importable = [e.name for e in folder.iterdir()
                      if e.suffix in (".py", ".pyc", ".so", ".pth", ".egg-info", ".dist-info", ".egg-link")
                      or (e.is_dir() and ((e / "__init__.py").exists() or e.name in ("seqlab", "__pycache__")))]
        assert not importable, f"{folder.relative_to(ROOT)} holds {importable}: a first cell run there could import it"


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("!", "%")))
        try:
            tree = ast.parse(source)
        except SyntaxError:  # an exercise's stub may not parse on its own; its imports are elsewhere
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names - {"google"}  # google.colab exists only in Colab


def test_install_brings_every_import_and_no_hidden_check(colab):
    python, env, tmp = colab
    # (the first-cell tests above installed seqlab; install it here too so this test stands alone)
    _run([python, "-m", "pip", "install", "-q", f"seqlab @ git+{repository_url()}"], env=env, timeout=900)
    modules = sorted(set().union(*(_imported_modules(p) for p in notebooks())))
    probe = ("import importlib.util, json, sys; "
             "print(json.dumps({m: importlib.util.find_spec(m) is not None for m in sys.argv[1:]}))")
    found = json.loads(_run([python, "-c", probe, *modules, "autograder", "solutions"], env=env, cwd=tmp).stdout)
    missing = [m for m in modules if not found[m]]
    assert not missing, f"imported by the notebooks but not installed in Colab by the first cell: {missing}"
    assert not found["autograder"], "the seqlab install ships the hidden checks (autograder) to students"
    assert not found["solutions"]


def test_a_whole_chapter_runs_in_colab(colab):
    python, env, tmp = colab
    path = ROOT / "chapters" / f"{WHOLE_CHAPTER}.ipynb"
    nb = _execute(nbformat.read(path, as_version=4), python, env, tmp, cwd=path.parent)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors


def test_a_whole_exercise_runs_in_colab_with_the_reference_typed_in(colab):
    python, env, tmp = colab
    filled = au.filled_release(au.load_release(WHOLE_EXERCISE), au.load_source(WHOLE_EXERCISE))
    work = tmp / "exercise"
    work.mkdir(exist_ok=True)
    nb = _execute(filled, python, env, tmp, cwd=work)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
