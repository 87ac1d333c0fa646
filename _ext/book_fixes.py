"""Small fixes to the built pages, found by the browser test (tests/test_site.py).

- sphinx-thebe's inline configuration script is added to every page twice (jupyter-book 1 sets it
  up twice), so the second ``const THEBE_JS_URL = ...`` raises "Identifier 'THEBE_JS_URL' has
  already been declared" in every reader's browser. Keep one copy of each inline script.
- pydata-sphinx-theme starts from the empty mode ``""`` on a first visit and logs "Got invalid
  theme mode" to the console; a light default (the figures are drawn on white) avoids that.
- When myst-nb takes a notebook from its execution cache ("Using cached notebook"), the page gets
  the cached outputs, but the copy it writes to ``_build/jupyter_execute/`` is the notebook as
  read, without outputs (myst-nb writes the object it read, not the merged one). Since
  ``_ext/execute_parallel.py`` fills the cache before the build, that is every chapter; and the
  chapter tests and reviewers read those copies. At the end of the build, each is rewritten
  with the cached outputs merged in.
"""
from __future__ import annotations

from pathlib import Path


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []  # an inline script's filename is None or "", depending on who added it
    for script in scripts:
        key = (getattr(script, "filename", None) or "", tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        kept.append(script)
    scripts[:] = kept


def _write_executed_notebooks(app, exception) -> None:
    if exception is not None or getattr(app.config, "nb_execution_mode", None) != "cache":
        return
    # where myst-nb keeps it (myst_nb.sphinx_ext: the config value, else _build/.jupyter_cache)
    cache_path = getattr(app.env, "mystnb_config", None) and app.env.mystnb_config.execution_cache_path
    cache_path = Path(cache_path or Path(app.outdir).parent / ".jupyter_cache")
    if not cache_path.is_dir():
        return
    import nbformat
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_path))
    out = Path(app.outdir).parent / "jupyter_execute"
    for docname in sorted(app.env.found_docs):
        source = Path(app.env.doc2path(docname))
        target = out / f"{docname}.ipynb"
        if source.suffix != ".ipynb" or not target.is_file():
            continue
        try:
            _, merged = cache.merge_match_into_notebook(nbformat.read(source, as_version=4))
        except KeyError:  # not executed (an exercise page) or not cached
            continue
        nbformat.write(merged, target)


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("build-finished", _write_executed_notebooks)
    app.connect("builder-inited", lambda app: app.config.html_context.setdefault("default_mode", "light"))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
