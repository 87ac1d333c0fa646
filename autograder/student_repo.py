"""``make student-repo``: write the public student repository of a course that grades for credit.

    python -m autograder.student_repo OUT --url https://github.com/ORG/REPO [--branch main]

A course that grades for credit keeps this repository private: ``solutions/`` holds the reference
solutions, ``autograder/`` the hidden checks and the mutant catalogues. What students need is
published from it as a second repository, written into ``OUT``:

- the book: ``chapters/`` (notebooks and images), ``_config.yml``, ``_toc.yml``, ``intro.md``,
  ``glossary.md``, ``_ext/``;
- the released exercises (``exercises/``, as ``make release`` generated them);
- the helper library ``seqlab`` and the ``pyproject.toml`` that installs it;
- its own ``Makefile`` (``make book``), ``README.md``, ``requirements.txt`` (what the book needs,
  without nbgrader and the test tools) and ``.gitignore``.

Every mention of this repository's URL (``repository.url`` of ``_config.yml``: the launch
buttons, the repository button, and the install line in every notebook's first cell) becomes
``--url``, so Colab opens the public notebooks and installs ``seqlab`` from the public repository.
The instructor section of ``intro.md`` is replaced by a pointer for students.

``OUT`` must be empty, or a student repository written earlier by this command (it holds the
marker file ``.seqlab-student-repo``): then everything but ``.git`` is replaced, so ``OUT`` can be
a clone of the public repository, and an update is ``make student-repo ...`` followed by a commit
and a push there.

Before it finishes, :func:`find_leaks` scans what was written: no ``solutions/``, ``autograder/``
or ``tests/`` folder, no nbgrader solution or hidden-test markers, no import of ``autograder``, no
line of a reference solution (the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` in
``solutions/``) and no line of a hidden check or mutant (``autograder/aNN_*.py``,
``autograder/mutants/``). A leak removes nothing: the command stops with exit status 1 and lists
each one, file by file, so that nothing is published by accident.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MARKER = ".seqlab-student-repo"
BOOK_FILES = ["_config.yml", "_toc.yml", "intro.md", "glossary.md"]
FOLDERS = ["chapters", "exercises", "seqlab", "_ext"]
FORBIDDEN_DIRS = ("solutions", "autograder", "mutants", "tests", "bench", ".ci", "grades", "grading")
FORBIDDEN_TEXT = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS",
                  "### END HIDDEN TESTS")
# What `make book` needs (the rest of requirements.txt is the grader's and the tests').
STUDENT_REQUIREMENTS = {"torch", "numpy", "matplotlib", "tqdm", "gensim", "ipykernel", "ipywidgets",
                        "nbformat", "nbclient", "jupyter-book", "sphinx-mathjax-offline"}
TEXT_SUFFIXES = {".py", ".ipynb", ".md", ".yml", ".yaml", ".txt", ".toml", ".cfg", ".json", ".html", ".js",
                 ".css", ".svg", ""}
MIN_LINE = 24  # characters: shorter code lines (``return x``, ``import torch``) are shared by chance


class StudentRepoError(Exception):
    """Bad arguments, or a leak: the message says which (exit status 2 or 1)."""


# ----------------------------------------------------------------------------- what is written

MAKEFILE = """\
# {title}: the student edition.
#   make book   build the executed HTML book into _build/html
# It creates .venv and installs requirements.txt on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# torch first and on its own: a CPU build is plenty for this course.
TORCH_SPEC ?= {torch_spec}
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: help venv book clean

help:
\t@echo "make book    build the executed HTML book (_build/html); creates .venv on first use"
\t@echo "make clean   remove the built book"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
\ttest -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
\t$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
\t$(BIN)/python -m pip install -q -r requirements.txt
\t$(BIN)/python -m pip install -q --no-deps -e .
\ttouch $@

# One math thread: the course's models are tiny, and two threads competing with anything else on
# a small machine make some chapters ten times slower. The printed results are the same.
book: venv
\tOMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/jupyter-book build . --warningiserror --keep-going
\t@echo "Open _build/html/index.html"

clean:
\trm -rf _build
"""

README = """\
# {title}

{description}

This is the student edition of the course: the book, the exercises and the helper library
`seqlab`. Your instructor grades the exercises with further, hidden checks that are not part of
it.

## Set up (Linux or macOS, Python 3.10+, `make`)

```bash
git clone {url}
cd {name}
make book    # creates .venv on first use, installs requirements.txt, builds the executed book
```

Open `_build/html/index.html` to read the book. It reads offline: formulas are typeset by a copy
of MathJax inside the built site. The first `make` installs PyTorch (a CPU build is enough) and
the rest of `requirements.txt` into `.venv`.

## Students

1. **Read** the book (online, or `make book` and open `_build/html/index.html`).
2. **Run** a chapter or an exercise in Colab: the rocket button at the top of its page → Colab.
   The first code cell installs `seqlab` there from this repository (only in Colab) and picks the
   GPU if the runtime has one. Locally: `make book` once, then `.venv/bin/jupyter lab` and open a
   notebook from `chapters/` or `exercises/`.
3. **Do the exercise**: in `exercises/aNN_slug/aNN_slug.ipynb`, replace every
   `raise NotImplementedError()` with your code, then run the test cell under it. Its visible
   checks tell you at once whether you are on track; your instructor's grader runs further,
   hidden checks on the same functions. Submit the `.ipynb` file as your instructor asks.

## What is here

| path | what it is |
|---|---|
| `chapters/NN_slug.ipynb` | the teaching notebooks, executed when the book is built |
| `exercises/aNN_slug/` | the exercises (one notebook each) |
| `seqlab/` | the helper library the chapters and exercises import (`pip install` from this repository) |
| `glossary.md` | every term in English and Korean |
"""

INTRO_FOR_STUDENTS = """## Exercises and grading

The exercises are [nbgrader](https://nbgrader.readthedocs.io) assignments. Submit your notebook
as your instructor asks; the grader reruns it with further, hidden checks on the same functions
as the visible ones, and sends you a feedback page for each test cell.
"""

GITIGNORE = ".venv/\n_build/\n__pycache__/\n*.pyc\n*.egg-info/\n.ipynb_checkpoints/\n"


def repository_url(root: Path = ROOT) -> str:
    """``repository.url`` of ``_config.yml``: the URL the chapters' first cells install from."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    return str(config["repository"]["url"]).rstrip("/")


def _tracked(root: Path, folder: str) -> list[Path]:
    """The files of ``folder`` that git tracks (what a clone holds: no caches, no checkpoints, no
    untracked scratch files); every file but caches when ``root`` is not a git checkout."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--", folder], cwd=root, capture_output=True,
                             check=True).stdout.decode()
        files = [root / p for p in out.split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        files = [p for p in (root / folder).rglob("*") if p.is_file()]
    skip = ("__pycache__", ".ipynb_checkpoints", ".pytest_cache")
    return sorted(p for p in files if p.is_file() and not any(s in p.parts for s in skip)
                  and p.suffix not in (".pyc", ".db"))


def student_requirements(text: str) -> str:
    lines = ["# What the book needs (the student edition of the course). Ranges, not pins:",
             "# Colab's preinstalled torch / numpy / matplotlib must satisfy them."]
    for line in text.splitlines():
        name = re.split(r"[<>=!~\[ ;]", line.strip(), maxsplit=1)[0].lower()
        if line.strip() and not line.lstrip().startswith("#") and name in STUDENT_REQUIREMENTS:
            lines.append(line.strip())
    return "\n".join(lines) + "\n"


def student_pyproject(text: str) -> str:
    """The course's pyproject.toml (it installs ``seqlab`` only) without the test settings, and
    without the comments about the grader."""
    sections = re.split(r"(?m)^(?=\[)", text)  # the preamble, then one chunk per [section]
    kept = []
    for chunk in sections:
        if chunk.startswith("[tool.pytest"):
            continue
        lines = chunk.splitlines()
        if kept and any("autograder" in line for line in kept[-1].splitlines() if line.startswith("#")):
            # the comment above this section (at the end of the previous chunk) is about the grader
            previous = kept[-1].splitlines()
            while previous and (previous[-1].startswith("#") or not previous[-1].strip()):
                previous.pop()
            kept[-1] = "\n".join(previous) + "\n\n"
            if chunk.startswith("[tool.setuptools]"):
                lines.insert(0, "# Only the helper library is installed (also in Colab, by every notebook's first cell).")
        kept.append("\n".join(lines) + "\n")
    return "".join(kept).rstrip() + "\n"


def student_intro(text: str) -> str:
    """``intro.md`` with its instructor section (``make release``, ``make grade``) replaced."""
    parts = re.split(r"(?m)^(## .*\n)", text)
    out, i = [parts[0]], 1
    while i < len(parts):
        heading, body = parts[i], parts[i + 1]
        if heading.strip().lower() == "## for instructors":
            out.append(INTRO_FOR_STUDENTS + ("\n" if body.endswith("\n\n") else ""))
        else:
            out.append(heading + body)
        i += 2
    return "".join(out)


def _torch_spec(root: Path) -> str:
    match = re.search(r"^TORCH_SPEC \?= (.+)$", (root / "Makefile").read_text(encoding="utf-8"), re.M) \
        if (root / "Makefile").is_file() else None
    return match.group(1).strip() if match else "torch"


def prepare_out(out: Path, root: Path = ROOT) -> None:
    """``out`` empty, or an earlier student repository emptied but for its ``.git``."""
    out = out.resolve()
    if out == root or root in out.parents or out in root.parents:
        raise StudentRepoError(f"OUT={out} must be outside the course repository {root} (and not hold it)")
    if out.exists():
        if not out.is_dir():
            raise StudentRepoError(f"OUT={out} is a file")
        entries = [e for e in out.iterdir() if e.name != ".git"]
        if entries and not (out / MARKER).exists():
            raise StudentRepoError(f"OUT={out} holds files and was not written by make student-repo; "
                                   f"choose an empty folder (or a clone of the student repository)")
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    out.mkdir(parents=True, exist_ok=True)


def write_student_repo(out: Path, url: str, branch: str = "main", root: Path = ROOT) -> list[Path]:
    """Write the student repository into ``out`` (see the module docstring); return the files
    written. Raises :class:`StudentRepoError` for bad arguments or when :func:`find_leaks`
    finds anything."""
    url = url.strip().rstrip("/")
    if not re.match(r"^(https?://|git@|ssh://|file://)\S+$", url):
        raise StudentRepoError(f"STUDENT_REPO_URL={url!r} is not a repository URL (https://github.com/ORG/REPO)")
    out = Path(out)
    private_url = repository_url(root)
    if url == private_url:
        raise StudentRepoError(f"STUDENT_REPO_URL is the course repository's own URL ({url}); the student "
                               f"repository needs a URL of its own")
    prepare_out(out, root)
    written: list[Path] = []

    def put(rel: str | Path, text: str) -> None:
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.replace(private_url, url), encoding="utf-8")
        written.append(target)

    for folder in FOLDERS:
        for path in _tracked(root, folder):
            rel = path.relative_to(root)
            if path.suffix in TEXT_SUFFIXES and path.suffix not in ("", ".svg"):
                put(rel, path.read_text(encoding="utf-8"))
            else:
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, out / rel)
                written.append(out / rel)
    config = (root / "_config.yml").read_text(encoding="utf-8")
    config = re.sub(r"(?m)^(\s*branch:\s*).*$", lambda m: m.group(1) + branch, config, count=1)
    put("_config.yml", config)
    put("_toc.yml", (root / "_toc.yml").read_text(encoding="utf-8"))
    put("intro.md", student_intro((root / "intro.md").read_text(encoding="utf-8")))
    put("glossary.md", (root / "glossary.md").read_text(encoding="utf-8"))
    put("pyproject.toml", student_pyproject((root / "pyproject.toml").read_text(encoding="utf-8")))
    put("requirements.txt", student_requirements((root / "requirements.txt").read_text(encoding="utf-8")))
    config_data = yaml.safe_load(config)
    title = str(config_data.get("title", "The course"))
    description = _first_paragraph((root / "intro.md").read_text(encoding="utf-8"))
    name = url.rsplit("/", 1)[-1].removesuffix(".git")
    put("Makefile", MAKEFILE.format(title=title, torch_spec=_torch_spec(root)))
    put("README.md", README.format(title=title, description=description, url=url, name=name))
    put(".gitignore", GITIGNORE)
    put(MARKER, "written by make student-repo (the course's private repository); every file but .git is "
               "replaced by the next run\n")

    leaks = find_leaks(out, root)
    if leaks:
        raise StudentRepoError(f"{len(leaks)} leak(s) in {out}; do not publish it:\n" +
                               "\n".join(f"- {leak}" for leak in leaks))
    return written


def _first_paragraph(markdown: str) -> str:
    paras = [p.strip() for p in markdown.split("\n\n") if p.strip() and not p.lstrip().startswith("#")]
    return paras[0] if paras else ""


# ----------------------------------------------------------------------------- the leak scan

def _distinctive(line: str) -> bool:
    s = line.strip()
    return len(s) >= MIN_LINE and not s.startswith(("#", '"""', "'''")) and not re.fullmatch(r"[\W_]+", s)


def _code_lines(path: Path) -> list[str]:
    """The lines of a file, as code: a notebook's cell sources, or the file's own lines."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        try:
            nb = json.loads(text)
            return [line for cell in nb.get("cells", []) for line in "".join(cell.get("source", [])).splitlines()]
        except (json.JSONDecodeError, AttributeError, TypeError):
            pass
    return text.splitlines()


def private_blocks(root: Path = ROOT) -> list[tuple[str, list[str]]]:
    """The code that must stay private, as blocks of distinctive lines, each with a name:
    every reference solution (``### BEGIN SOLUTION`` ... ``### END SOLUTION``) and hidden-test
    block of ``solutions/``, and every function and class of the hidden checks
    (``autograder/aNN_*.py``) and mutant catalogues (``autograder/mutants/``)."""
    import ast

    blocks: list[tuple[str, list[str]]] = []
    for nb_path in sorted((root / "solutions").glob("*/*.ipynb")):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            src = "".join(cell.get("source", []))
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "?")
            for kind, pattern in (("reference solution", r"### BEGIN SOLUTION\n(.*?)### END SOLUTION"),
                                  ("hidden tests", r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS")):
                for block in re.findall(pattern, src, re.S):
                    blocks.append((f"{kind} of {nb_path.parent.name} ({gid})",
                                   [l.strip() for l in block.splitlines() if _distinctive(l)]))
    modules = sorted((root / "autograder").glob("a[0-9][0-9]_*.py")) + \
        sorted((root / "autograder" / "mutants").glob("*.py"))
    for path in modules:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.parse(text).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                body = [l.strip() for l in lines[node.lineno - 1:node.end_lineno]
                        if _distinctive(l) and not l.strip().startswith(("import ", "from "))]
                blocks.append((f"hidden-check code {path.relative_to(root)}:{node.name}", body))
    return [(name, lines) for name, lines in blocks if lines]


def public_lines(root: Path = ROOT) -> set[str]:
    """Distinctive lines of what the course publishes on purpose (the book's files, the released
    exercises, seqlab), read from the course repository itself."""
    paths = [p for folder in FOLDERS for p in _tracked(root, folder)] + [root / f for f in BOOK_FILES]
    return {l.strip() for p in paths if p.is_file() and p.suffix in TEXT_SUFFIXES
            for l in _code_lines(p) if _distinctive(l)}


def find_leaks(out: Path, root: Path = ROOT) -> list[str]:
    """What in ``out`` must not be published, one line each:

    - folders and files of the private repository (``solutions/``, ``autograder/``, ``tests/``,
      a gradebook, ``nbgrader_config.py``);
    - nbgrader's solution and hidden-test markers, and imports of ``autograder``;
    - a private block (:func:`private_blocks`: a reference solution, a hidden-test block, a hidden
      check or mutant) of two lines or more whose lines nearly all (90 %) appear in one file. A
      chapter may share a line or two with an answer (``self.head = nn.Linear(...)``), as the
      exercises build on the chapters, but not the answer;
    - any single line of a private block that the course publishes nowhere on purpose
      (:func:`public_lines`), wherever it appears.
    """
    out = Path(out)
    leaks: list[str] = []
    blocks = private_blocks(root)
    public = public_lines(root)
    private_only = {l: name for name, lines in blocks for l in lines if l not in public}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out)
        if rel.parts[0] == ".git":
            continue
        if path.is_dir():
            if path.name in FORBIDDEN_DIRS:
                leaks.append(f"{rel}/: a folder of the private repository")
            continue
        if path.name in ("nbgrader_config.py", "gradebook.db") or path.suffix == ".db":
            leaks.append(f"{rel}: a grading file")
            continue
        if path.suffix not in TEXT_SUFFIXES:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for marker in FORBIDDEN_TEXT:
            if marker in text:
                leaks.append(f"{rel}: contains {marker!r}")
        code = _code_lines(path)
        if any(re.match(r"\s*(import|from)\s+autograder\b", line) for line in code):
            leaks.append(f"{rel}: imports autograder (the hidden checks)")
        present = {l.strip() for l in code if _distinctive(l)}
        for name, lines in blocks:
            hits = sum(l in present for l in lines)
            if len(lines) >= 2 and hits >= max(2, math.ceil(0.9 * len(lines))):
                leaks.append(f"{rel}: holds {hits} of the {len(lines)} lines of the {name}")
        for number, line in enumerate(code, 1):
            if line.strip() in private_only:
                leaks.append(f"{rel}: line {number} is from the {private_only[line.strip()]}: {line.strip()[:80]}")
    return leaks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.student_repo",
                                     description="Write the public student repository (book, exercises, seqlab; "
                                                 "no solutions, hidden checks or mutants) into OUT.")
    parser.add_argument("out", type=Path, help="folder to write (empty, or an earlier student repository)")
    parser.add_argument("--url", required=True,
                        help="the student repository's URL (Colab links and install lines point there)")
    parser.add_argument("--branch", default="main", help="its branch (default main)")
    args = parser.parse_args(argv)
    try:
        written = write_student_repo(args.out, args.url, args.branch)
    except StudentRepoError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1 if "leak" in str(e) else 2
    print(f"wrote {len(written)} files to {args.out.resolve()} for {args.url.rstrip('/')}; no leak found")
    print(f"next: cd {args.out} && make book (to check it builds), then commit and push")
    return 0


if __name__ == "__main__":
    sys.exit(main())
