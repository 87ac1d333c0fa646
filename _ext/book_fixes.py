"""Small fixes to the built pages, found by the browser test (tests/test_site.py).

- sphinx-thebe's inline configuration script is added to every page twice (jupyter-book 1 sets it
  up twice), so the second ``const THEBE_JS_URL = ...`` raises "Identifier 'THEBE_JS_URL' has
  already been declared" in every reader's browser. Keep one copy of each inline script.
- pydata-sphinx-theme starts from the empty mode ``""`` on a first visit and logs "Got invalid
  theme mode" to the console; a light default (the figures are drawn on white) avoids that.
"""
from __future__ import annotations


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


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("builder-inited", lambda app: app.config.html_context.setdefault("default_mode", "light"))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
