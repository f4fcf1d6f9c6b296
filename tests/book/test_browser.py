"""A real browser reads every page of the built book, offline, at two widths.

Headless Chromium (Debian's ``chromium`` and ``chromium-driver``) opens every
page of ``_build/html`` from ``file://`` at 1400x900 and 420x900 and fails a
page on: a JavaScript console error, a MathJax error, any request for a URL
that is not local (``file:``, ``data:``, ``blob:``, ``about:``), content wider
than the viewport outside a horizontally scrollable box, an image that does
not load, or a chapter without its ``.ipynb`` download. Searching for
"forget bias" must find a page. Screenshots of failures go to
``_build/browser/``. The visible code lines of every chapter (code cells not
hidden or removed) are counted and printed.

Run with ``make browser-test`` after ``make html``; ``make test`` leaves
these tests out (the ``browser`` marker).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("LSTM_REF_HTML", ROOT / "_build" / "html")).resolve()
SCREENSHOTS = ROOT / "_build" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
WIDTHS = (1400, 420)
HEIGHT = 900
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
#: The lines of code a chapter aims to show at most (code cells neither hidden nor removed).
MAX_VISIBLE_CODE_LINES = 120
SEARCH_TERM = "forget bias"

pytestmark = pytest.mark.browser


def built_pages() -> list[str]:
    """Every HTML page of the built book, relative to ``HTML``."""
    return sorted(
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if not p.relative_to(HTML).parts[0].startswith("_")
    )


PAGES = built_pages() if HTML.is_dir() else []


@pytest.fixture(scope="module")
def browser():
    if not (HTML / "index.html").is_file():
        pytest.fail(f"no built book in {HTML}: run `make html` first")
    for tool in (CHROMIUM, CHROMEDRIVER):
        if not Path(tool).is_file():
            pytest.fail(f"{tool} not found: `make browser-test` installs Debian's chromium and "
                        "chromium-driver when run as root, or set CHROMIUM/CHROMEDRIVER")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="lstm-ref-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--disable-dev-shm-usage",
                 # Scrollbars overlay the page, as on a phone: the viewport is the full width.
                 "--hide-scrollbars",
                 f"--user-data-dir={profile}", f"--window-size={WIDTHS[0]},{HEIGHT}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def set_viewport(driver, width: int) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": HEIGHT, "deviceScaleFactor": 1,
                            "mobile": False})


def drain_logs(driver) -> None:
    driver.get_log("browser")
    driver.get_log("performance")


def requested_urls(driver) -> list[str]:
    """Every URL the page asked for since the logs were last read (DevTools network events)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def open_page(driver, url: str) -> None:
    """Load ``url`` and wait until MathJax has typeset it and every image has settled."""
    driver.get(url)
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const typeset = (window.MathJax && MathJax.startup && MathJax.startup.promise)
            ? MathJax.startup.promise : Promise.resolve();
        const images = Array.from(document.images).map(img => img.complete ? null :
            new Promise(resolve => { img.onload = img.onerror = resolve; }));
        Promise.all([typeset, ...images]).then(() => done(true), () => done(false));
    """)


# Elements that stick out of the viewport, unless a box that scrolls sideways holds them.
_OVERFLOW = """
const limit = document.documentElement.clientWidth;
const main = document.querySelector('main') || document.body;
// Drawers (the sidebars on a narrow screen) wait off-screen until opened.
const drawers = '.bd-sidebar-primary, .bd-sidebar-secondary, dialog';
function scrollsSideways(el) {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        const x = getComputedStyle(a).overflowX;
        if (x === 'auto' || x === 'scroll') return true;
    }
    return false;
}
function describe(el) {
    let text = el.tagName.toLowerCase();
    if (el.id) text += '#' + el.id;
    if (el.classList.length) text += '.' + Array.from(el.classList).slice(0, 3).join('.');
    const section = el.closest('section[id]');
    return text + (section ? ' in #' + section.id : '');
}
const found = [];
for (const el of main.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || el.closest(drawers)) continue;
    // MathJax's assistive MathML is clipped to nothing; screen readers read it.
    if (el.closest('mjx-assistive-mml')) continue;
    if (getComputedStyle(el).visibility === 'hidden') continue;
    if (r.right > limit + 1 && !scrollsSideways(el)) {
        // Report the outermost culprit only.
        if (!found.some(f => f.el.contains(el))) found.push({el: el, right: Math.round(r.right)});
    }
}
return {page: document.documentElement.scrollWidth, limit: limit,
        elements: found.slice(0, 8).map(f => describe(f.el) + ' (right edge ' + f.right + ' px)')};
"""


def page_problems(driver, page: str, width: int) -> list[str]:
    """What is wrong with ``page`` at ``width``: an empty list if nothing."""
    set_viewport(driver, width)
    drain_logs(driver)
    open_page(driver, (HTML / page).as_uri())
    problems = []
    for entry in driver.get_log("browser"):
        if entry["level"] == "SEVERE":
            problems.append(f"console error: {entry['message']}")
    for url in requested_urls(driver):
        if not url.startswith(LOCAL_SCHEMES):
            problems.append(f"request to a non-local URL: {url}")
    errors = driver.execute_script(
        "return Array.from(document.querySelectorAll('mjx-merror, [data-mjx-error]'))"
        ".map(e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 120));")
    problems += [f"MathJax error: {e}" for e in errors]
    broken = driver.execute_script(
        "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.getAttribute('src'));")
    problems += [f"image failed to load: {src}" for src in broken]
    overflow = driver.execute_script(_OVERFLOW)
    if overflow["page"] > overflow["limit"] + 1:
        problems.append(f"page scrolls sideways: {overflow['page']} px wide in a "
                        f"{overflow['limit']} px viewport")
    problems += [f"wider than the viewport ({overflow['limit']} px): {e}"
                 for e in overflow["elements"]]
    return problems


def screenshot(driver, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / (re.sub(r"[^\w.-]+", "_", name) + ".png")
    driver.save_screenshot(str(path))
    return path


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", PAGES)
def test_page_reads_cleanly(browser, page, width):
    problems = page_problems(browser, page, width)
    if problems:
        shot = screenshot(browser, f"{page}-{width}")
        pytest.fail(f"{page} at {width} px ({shot}):\n  " + "\n  ".join(problems))


def test_the_book_has_pages():
    assert "index.html" in PAGES and len(PAGES) >= 10, PAGES


def test_search_finds_forget_bias(browser):
    set_viewport(browser, WIDTHS[0])
    browser.get((HTML / "search.html").as_uri() + "?q=" + SEARCH_TERM.replace(" ", "+"))
    results = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const started = Date.now();
        (function poll() {
            const items = document.querySelectorAll('#search-results li');
            const finished = document.querySelector('#search-results p.search-summary');
            if (items.length || (finished && finished.textContent.trim())
                    || Date.now() - started > 30000) {
                done(Array.from(items).map(li => li.textContent.trim().slice(0, 80)));
            } else {
                setTimeout(poll, 200);
            }
        })();
    """)
    if not results:
        shot = screenshot(browser, "search")
        pytest.fail(f"searching {SEARCH_TERM!r} found nothing ({shot})")


def chapters() -> list[str]:
    """Pages built from notebooks: they have code cells."""
    return [p for p in PAGES if 'class="cell_input' in (HTML / p).read_text()
            or 'class="cell docutils container' in (HTML / p).read_text()]


def chapter_code(driver, page: str) -> dict:
    """Visible code lines (code cells neither hidden nor removed) and code cells without a copy button."""
    set_viewport(driver, WIDTHS[0])
    open_page(driver, (HTML / page).as_uri())
    return driver.execute_script("""
        let lines = 0;
        for (const pre of document.querySelectorAll('main div.cell_input pre')) {
            if (pre.getClientRects().length === 0) continue;  // collapsed (hide-input)
            lines += pre.innerText.replace(/\\n+$/, '').split('\\n').length;
        }
        const uncopyable = Array.from(document.querySelectorAll('main div.cell_input div.highlight'))
            .filter(d => !d.querySelector('button.copybtn')).length;
        return {lines: lines, uncopyable: uncopyable};
    """)


@pytest.fixture(scope="module")
def code_facts(browser):
    return {page: chapter_code(browser, page) for page in chapters()}


@pytest.fixture(scope="module")
def code_lines(code_facts):
    counts = {page: facts["lines"] for page, facts in code_facts.items()}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    table = "\n".join(f"{count:5d}  {page}" for page, count in counts.items())
    (SCREENSHOTS / "code-lines.txt").write_text(table + "\n")
    return counts


def test_every_code_cell_has_a_copy_button(code_facts):
    missing = {page: facts["uncopyable"] for page, facts in code_facts.items() if facts["uncopyable"]}
    assert not missing, f"code cells without a copy button, per chapter: {missing}"


def test_every_chapter_offers_its_notebook(browser):
    missing = []
    for page in chapters():
        notebook = HTML / "_sources" / page.replace(".html", ".ipynb")
        if not notebook.is_file() or f"{Path(page).stem}.ipynb" not in (HTML / page).read_text():
            missing.append(page)
    assert not missing, f"chapters without their .ipynb download: {missing}"


def test_visible_code_lines_are_counted(code_lines, capsys):
    with capsys.disabled():
        print("\nvisible code lines per chapter (tests/book/test_chapter_code.py bounds "
              f"the sources; {MAX_VISIBLE_CODE_LINES} marks the book's aim):")
        for page, count in code_lines.items():
            print(f"{count:5d}  {page}{'  (over)' if count > MAX_VISIBLE_CODE_LINES else ''}")
    assert code_lines, "no chapter with code cells was found"

