"""Every committed notebook is clean and starts the same way; every page in _toc.yml exists.

Committed notebooks (``git ls-files '*.ipynb'``: chapters, assignment sources and releases) must
be valid nbformat 4 with no outputs and no execution counts, use the ``python3`` kernel, and open
with the setup cell that installs ``seqlab`` in Colab from the repository named in _config.yml and
picks the device with ``seqlab.get_device()``. Every notebook also carries Colab's metadata asking
for a GPU runtime (``"accelerator": "GPU"``), so the launch button opens one: every chapter and
exercise trains models, and all of them run on whatever device they find.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def committed_notebooks() -> list[str]:
    out = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True, check=True)
    return sorted(p for p in out.stdout.splitlines() if (ROOT / p).is_file())


def repository_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


NOTEBOOKS = committed_notebooks()


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_is_valid_and_has_no_outputs(path):
    nb = nbformat.read(ROOT / path, as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4, f"{path}: nbformat {nb.nbformat}, expected 4"
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path}: cells {dirty} have outputs or execution counts; clear them before committing"
    kernel = nb.metadata.get("kernelspec", {})
    assert kernel.get("name") == "python3" and kernel.get("language") == "python", \
        f"{path}: kernelspec must be python3 / python, found {kernel}"


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_asks_colab_for_a_gpu_runtime(path):
    nb = nbformat.read(ROOT / path, as_version=4)
    assert nb.metadata.get("accelerator") == "GPU", f"{path}: metadata lacks \"accelerator\": \"GPU\""
    assert nb.metadata.get("colab", {}).get("gpuType"), f"{path}: metadata.colab.gpuType is missing"


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_first_code_cell_installs_seqlab_in_colab_and_picks_the_device(path):
    nb = nbformat.read(ROOT / path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path} has no code cell"
    src = code[0].source
    url = repository_url()
    colab = src.find('"google.colab" in sys.modules')
    install = src.find(f"git+{url}")
    assert colab >= 0, f"{path}: the first code cell must check `\"google.colab\" in sys.modules`"
    assert install > colab, f"{path}: the first code cell must pip-install seqlab from git+{url} (the " \
                            f"repository.url of _config.yml) inside the Colab branch"
    assert "pip" in src and "seqlab" in src[colab:install + len(url) + 4]
    assert "seqlab.get_device()" in src, f"{path}: the first code cell must call seqlab.get_device()"


def _toc_files(node) -> list[str]:
    files = []
    if isinstance(node, dict):
        for key in ("root", "file"):
            if isinstance(node.get(key), str):
                files.append(node[key])
        for value in node.values():
            if isinstance(value, (list, dict)):
                files += _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            files += _toc_files(item)
    return files


def test_every_page_in_the_toc_exists():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = _toc_files(toc)
    assert files, "_toc.yml lists no pages"
    missing = []
    for entry in files:
        path = ROOT / entry
        candidates = [path] if path.suffix else [path.with_name(path.name + ext) for ext in (".ipynb", ".md", ".myst", ".rst")]
        if not any(c.is_file() for c in candidates):
            missing.append(entry)
    assert not missing, f"_toc.yml lists pages that do not exist: {missing}"
