"""The built book as a reader gets it: every page opened in a real browser, offline.

``_build/html`` is served on 127.0.0.1 and every page of the table of contents (plus the search
page) is opened in headless Chromium (Debian's ``chromium`` package, driven by Playwright). Any
request for an address outside the site is recorded and refused, as on a machine without
internet. For every page:

- the math is typeset by the MathJax copy inside the site (MathJax output elements present, no raw
  ``\\[`` or ``\\(`` left in the visible prose);
- every image has loaded (natural width > 0);
- no request left 127.0.0.1, and no local request failed;
- the browser console shows no error, and no script raised;
- a notebook page carries a Colab launch link to its own notebook path;
- the left navigation lists every chapter and exercise.

A screenshot of every page is saved under ``_build/screenshots/`` for people to look at. Search
works offline too: a query for a word of chapter 1 finds chapter 1.

Chromium is required: ``.ci/run`` installs it. Without it the test fails under CI (``CI`` set) and
is skipped, with the reason, elsewhere.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from conftest import ROOT

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [c["file"] for c in part.get("chapters", [])]
    return pages


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    message = "Debian's chromium is not installed (apt-get install chromium); .ci/run installs it"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def site(book_html: Path):
    """(base URL, html folder) of the built book served on 127.0.0.1."""
    handler = functools.partial(_QuietHandler, directory=str(book_html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", book_html
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


class PageVisit:
    """One page opened in a fresh browser context, with every request and console message."""

    def __init__(self, browser, base: str, url: str):
        self.outside: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        host = urlparse(base).netloc
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})

        def route(r):
            u = urlparse(r.request.url)
            if u.scheme in ("http", "https", "ws", "wss") and u.netloc != host:
                self.outside.append(r.request.url)
                r.abort()
            else:
                r.continue_()

        self.context.route("**/*", route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"script error: {e}"))
        self.page.on("requestfailed", lambda r: urlparse(r.url).netloc == host
                     and self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.url} (HTTP {r.status})"))
        self.page.goto(url, wait_until="load")
        # MathJax typesets after load: wait until it has started, then for its first typesetting.
        self.page.wait_for_function(
            "() => !document.querySelector('script[src*=\"mathjax\"]') || "
            "(window.MathJax && window.MathJax.startup && window.MathJax.startup.promise)", timeout=60_000)
        self.page.evaluate("async () => { if (window.MathJax && MathJax.startup) await MathJax.startup.promise; }")
        self.page.wait_for_load_state("networkidle")

    def close(self):
        self.context.close()


@pytest.fixture(scope="module")
def visits(site, browser):
    """Every toc page visited once (shared by the tests below); screenshots saved."""
    base, html = site
    shots = html.parent / "screenshots"
    shots.mkdir(exist_ok=True)
    results = {}
    for page in toc_pages():
        visit = PageVisit(browser, base, f"{base}/{page}.html")
        visit.page.screenshot(path=str(shots / f"{page.replace('/', '__')}.png"), full_page=False)
        visit.facts = visit.page.evaluate(_FACTS_JS)
        if visit.facts["mathElements"]:  # a second picture, at the first displayed formula
            visit.page.evaluate("() => (document.querySelector('mjx-container[display=\"true\"]') "
                                "|| document.querySelector('mjx-container')).scrollIntoView({block: 'center'})")
            visit.page.screenshot(path=str(shots / f"{page.replace('/', '__')}__math.png"))
        visit.close()
        results[page] = visit
    return results


# What a page shows: math elements, raw TeX delimiters in the prose (code blocks excluded), images
# that failed to load, Colab links and the navigation's links.
_FACTS_JS = """() => {
  const body = document.querySelector('main') || document.body;
  const clone = body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, .cell_input, .highlight').forEach(e => e.remove());
  const text = clone.innerText;
  const images = [...document.querySelectorAll('main img, article img')];
  return {
    mathElements: document.querySelectorAll('mjx-container').length,
    mathSource: document.querySelectorAll('.math, span.math, div.math').length,
    rawTex: (text.match(/\\\\\\[|\\\\\\(|\\$\\$/g) || []).length,
    rawTexSample: (text.match(/.{0,40}(\\\\\\[|\\\\\\(|\\$\\$).{0,40}/) || [''])[0],
    images: images.length,
    brokenImages: images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
    colab: [...document.querySelectorAll('a[href*="colab.research.google.com"]')].map(a => a.href),
    nav: [...document.querySelectorAll('nav.bd-docs-nav a, .bd-sidebar-primary a')].map(a => a.getAttribute('href')),
  };
}"""


@pytest.mark.parametrize("page", toc_pages())
def test_page_reads_offline_in_a_browser(visits, page):
    v = visits[page]
    facts = v.facts
    assert not v.outside, f"{page} requested addresses outside the site: {v.outside[:5]}"
    assert not v.failed, f"{page}: local requests failed: {v.failed[:5]}"
    assert not v.errors, f"{page}: browser errors: {v.errors[:5]}"
    assert facts["rawTex"] == 0, f"{page}: raw TeX in the visible text: {facts['rawTexSample']!r}"
    if facts["mathSource"]:
        assert facts["mathElements"] > 0, f"{page}: {facts['mathSource']} formulas, none typeset by MathJax"
    assert not facts["brokenImages"], f"{page}: images that did not load: {facts['brokenImages']}"


def test_every_chapter_page_has_typeset_math_and_figures(visits):
    for page in toc_pages():
        if page.startswith("chapters/"):
            assert visits[page].facts["mathElements"] > 0, f"{page}: no typeset formula"
            assert visits[page].facts["images"] > 0, f"{page}: no figure"


@pytest.mark.parametrize("page", [p for p in toc_pages() if p.startswith(("chapters/", "exercises/"))])
def test_notebook_page_has_a_colab_link_to_its_own_notebook(visits, page):
    links = visits[page].facts["colab"]
    assert links, f"{page}: no Colab launch link"
    assert all(link.endswith(f"/{page}.ipynb") for link in links), f"{page}: Colab links {links}"


def test_navigation_lists_every_chapter_and_exercise(visits):
    for page, visit in visits.items():
        nav = {re.sub(r"^(\.\./)+|\.html(#.*)?$", "", h or "") for h in visit.facts["nav"]}
        for other in toc_pages()[1:]:
            name = other.rsplit("/", 1)[-1]
            if other == page:  # the current page is listed as a link to itself ("#")
                assert "#" in nav, f"the navigation on {page} does not list the page itself"
                continue
            assert any(n.endswith(name) for n in nav), f"the navigation on {page} does not list {other}"


def test_search_works_offline(site, browser):
    base, _ = site
    visit = PageVisit(browser, base, f"{base}/search.html?q=perplexity")
    try:
        visit.page.wait_for_selector("#search-results li", timeout=60_000)
        hits = visit.page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.getAttribute('href'))")
        visit.page.screenshot(path=str(site[1].parent / "screenshots" / "search.png"))
    finally:
        visit.close()
    assert not visit.outside, f"search requested addresses outside the site: {visit.outside[:5]}"
    assert not visit.errors, f"search: browser errors: {visit.errors[:5]}"
    assert any("01_language_models" in (h or "") for h in hits), f"searching 'perplexity' found {hits}"
