"""End to end in a real browser: JupyterLab on loopback, driven by headless Chromium through Playwright.

A learner opens a released notebook and runs everything: the stubs must fail their visible checks with the
intended message ("Exercise not done yet") and the self-check must say nothing passes yet; a filled-in copy
must end with "Ready to hand in.". Screenshots go to the test's tmp_path (and to $BROWSER_SCREENSHOTS if set).

Needs Debian's Chromium (`apt-get install -y chromium`) and the `playwright` package (requirements-instructor.txt);
Playwright never downloads a browser here. Without them the test skips, except under CI (CI=true), where it fails.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder import samples
from autograder.paths import COURSE

NOTEBOOK = "01_projections.ipynb"
SOLVED = "01_projections_solved.ipynb"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
SERVER_START_S = 180     # JupyterLab's first start on a busy 2-core machine
PAGE_LOAD_S = 180        # the lab page, its extensions and a running kernel
RUN_ALL_S = 300          # every cell of the notebook
STUB_MESSAGE = "Exercise not done yet"


def _missing(what: str) -> None:
    message = (f"browser test needs {what}: `apt-get install -y chromium` and "
               f"`pip install -r requirements-instructor.txt -c constraints.txt`")
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message} (CI must run this test, not skip it)")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, b""


class Lab:
    """A JupyterLab server in its own process group, with everything it writes kept under `root`."""

    def __init__(self, root: Path):
        self.root, self.token, self.port = root, secrets.token_hex(16), _free_port()
        self.log = root / "jupyterlab.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, notebooks: Path) -> None:
        state = self.root / "state"
        for d in ("config/labconfig", "settings/@jupyterlab/notebook-extension",
                  "settings/@jupyterlab/apputils-extension", "workspaces", "runtime", "ipython"):
            (state / d).mkdir(parents=True, exist_ok=True)
        # a learner's JupyterLab: no nbgrader extensions, no news or update pop-ups, every cell in the DOM
        nbgrader = ["nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.validate_assignment",
                    "nbgrader.server_extensions.assignment_list", "nbgrader.server_extensions.course_list"]
        (state / "config/jupyter_server_config.json").write_text(json.dumps(
            {"ServerApp": {"jpserver_extensions": {name: False for name in nbgrader}}}))
        (state / "config/labconfig/page_config.json").write_text(json.dumps(
            {"disabledExtensions": {"@jupyter/nbgrader": True}}))
        (state / "settings/@jupyterlab/notebook-extension/tracker.jupyterlab-settings").write_text(json.dumps(
            {"windowingMode": "none"}))
        (state / "settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings").write_text(
            json.dumps({"checkForUpdates": False, "fetchNews": "false"}))
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(state / "config"),
               "JUPYTERLAB_SETTINGS_DIR": str(state / "settings"),
               "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"),
               "JUPYTER_RUNTIME_DIR": str(state / "runtime"), "IPYTHONDIR": str(state / "ipython"),
               "JUPYTER_PLATFORM_DIRS": "1", "PYTHONUNBUFFERED": "1"}
        env.pop("MHA_FAST", None)
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
               "--ServerApp.port_retries=0", "--allow-root", f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={notebooks}", "--LabApp.news_url=",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=notebooks, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if _get(f"{self.url}/api/status?token={self.token}")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {SERVER_START_S} s:\n{self.log_tail()}")

    def kernel(self, path: str) -> dict:
        """The server's model of the kernel of notebook `path` ({} while it has none)."""
        status, body = _get(f"{self.url}/api/sessions?token={self.token}")
        sessions = json.loads(body or b"[]") if status == 200 else []
        return next((s.get("kernel") or {} for s in sessions if s.get("path") == path), {})

    def log_tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else "(no log)"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()                     # SIGTERM: jupyter_server shuts its kernels down and exits
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:                                      # kernels this server started, if any outlived it
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait(timeout=10)


@pytest.fixture
def screenshots(tmp_path):
    folder = tmp_path / "screenshots"
    folder.mkdir()
    yield folder
    if os.environ.get("BROWSER_SCREENSHOTS"):
        dest = Path(os.environ["BROWSER_SCREENSHOTS"])
        dest.mkdir(parents=True, exist_ok=True)
        for png in folder.glob("*.png"):
            shutil.copy2(png, dest / png.name)


def _require_browser():
    """Playwright's sync API, or a skip (a failure under CI) when Chromium or Playwright is missing."""
    if not Path(CHROMIUM).exists():
        _missing(f"Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package")
    return sync_playwright


@pytest.fixture
def lab(tmp_path):
    _require_browser()
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy2(COURSE / NOTEBOOK, notebooks / NOTEBOOK)                 # blank, as released
    nbformat.write(samples.fill(NOTEBOOK), notebooks / SOLVED)            # every exercise answered
    server = Lab(tmp_path)
    try:
        server.start(notebooks)
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(lab):
    with _require_browser()() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                                     timeout=120_000)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.on("dialog", lambda dialog: dialog.accept())   # e.g. "leave the page?" between notebooks
            yield page
        finally:
            browser.close()


def open_notebook(page, lab: Lab, name: str) -> None:
    """Open `name` in a freshly reset workspace and wait until its kernel has started and is idle."""
    page.goto(f"{lab.url}/lab/tree/{name}?token={lab.token}&reset", timeout=PAGE_LOAD_S * 1000)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=PAGE_LOAD_S * 1000)
    deadline = time.monotonic() + PAGE_LOAD_S
    while lab.kernel(name).get("execution_state") != "idle":
        assert time.monotonic() < deadline, f"no idle kernel for {name}:\n{lab.log_tail()}"
        time.sleep(0.5)


def menu(page, top: str, command: str) -> None:
    """Click a main-menu entry (by its JupyterLab command id), as a learner would."""
    page.locator(".lm-MenuBar-item", has_text=top).first.click()
    page.locator(f'.lm-Menu-item[data-command="{command}"]').first.click()


def run(page, lab: Lab, name: str, command: str, timeout_s: float = RUN_ALL_S) -> None:
    """Click Run → `command`, then wait until the kernel of `name` has done something and is idle again,
    with no cell queued or running ([*]), twice in a row."""
    before = lab.kernel(name).get("last_activity")
    menu(page, "Run", command)
    deadline, calm = time.monotonic() + timeout_s, 0
    while calm < 2:
        assert time.monotonic() < deadline, f"cells still running after {timeout_s} s:\n{lab.log_tail()}"
        time.sleep(1)
        k = lab.kernel(name)
        done = k.get("execution_state") == "idle" and k.get("last_activity") != before
        calm = calm + 1 if done and not page.locator(".jp-InputPrompt", has_text="[*]").count() else 0


def outputs(page) -> list[str]:
    """The text of every cell's outputs, in notebook order (stdout, results and tracebacks)."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    return [cells.nth(i).locator(".jp-OutputArea").first.text_content() or ""
            if cells.nth(i).locator(".jp-OutputArea").count() else "" for i in range(cells.count())]


def shoot(page, folder: Path, name: str, text: str) -> None:
    """Scroll the output that contains `text` into view and screenshot the window."""
    page.locator(".jp-OutputArea-output", has_text=text).last.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    page.screenshot(path=str(folder / name))


def test_blank_fails_and_solution_passes_in_jupyterlab(page, lab, screenshots):
    try:
        check_blank_and_solved(page, lab, screenshots)
    except BaseException:
        page.screenshot(path=str(screenshots / "failure.png"))   # what the page showed when it went wrong
        raise


def run_past_errors(page, lab: Lab, name: str) -> int:
    """Run the cells that Run All left unrun after a failure: "Run Selected Cell and All Below" from the first
    one, as often as needed (JupyterLab, like Colab, stops at the first cell that raises). Returns how often."""
    rounds = 0
    while (i := first_unrun(page)) is not None:
        rounds += 1
        assert rounds <= 30, "cells stay unrun"
        cells = page.locator(".jp-Notebook .jp-Cell")
        cells.nth(i).locator(".jp-InputPrompt").first.click()
        # JupyterLab disables "... and All Below" on the last cell
        run(page, lab, name, "notebook:run-all-below" if i < cells.count() - 1 else "notebook:run-cell")
    return rounds


#: the index of the first code cell that has not run: its prompt reads "[ ]:", or, when its source is hidden
#: (the self-check), the prompt is not shown and the cell has no output yet
FIRST_UNRUN_JS = """() => {
    const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'));
    const i = cells.findIndex(c => c.classList.contains('jp-CodeCell') && (
        (c.querySelector('.jp-InputPrompt')?.textContent || '').trim() === '[ ]:' ||
        (c.querySelector('.jp-InputPlaceholder') && c.classList.contains('jp-mod-noOutputs'))));
    return i < 0 ? null : i;
}"""


def first_unrun(page) -> int | None:
    return page.evaluate(FIRST_UNRUN_JS)


def grade_cells(name: str) -> dict[str, int]:
    """{grade_id: cell index} of the visible check cells of a released notebook."""
    nb = nbformat.read(COURSE / name, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: i for i, c in enumerate(nb.cells)
            if c.metadata.get("nbgrader", {}).get("grade")}


def check_blank_and_solved(page, lab: Lab, screenshots: Path) -> None:
    checks = grade_cells(NOTEBOOK)
    assert checks, f"{NOTEBOOK} has no check cells"

    # 1. the notebook as released: Run All stops at the first check, which names the unfinished exercise
    open_notebook(page, lab, NOTEBOOK)
    run(page, lab, NOTEBOOK, "runmenu:run-all")
    texts = outputs(page)
    assert len(texts) == len(nbformat.read(COURSE / NOTEBOOK, as_version=4).cells)
    first = min(checks.values())
    assert not [t for t in texts[:first] if "Error" in t], texts[:first]
    assert "NotImplementedError" in texts[first] and STUB_MESSAGE in texts[first], texts[first]
    shoot(page, screenshots, "01_blank_run_all.png", STUB_MESSAGE)

    # the learner runs on past each failure: every check fails with the stub's message, and so does the summary
    assert run_past_errors(page, lab, NOTEBOOK) >= 1
    texts = outputs(page)
    for gid, i in checks.items():
        assert STUB_MESSAGE in texts[i], f"{gid} should say {STUB_MESSAGE!r}, shows {texts[i]!r}"
    summary = texts[-1]
    assert f"0/{len(checks)} checks pass." in summary and "Ready to hand in." not in summary, summary
    for gid in checks:
        line = next((ln for ln in summary.splitlines() if ln.startswith(f"[to fix] {gid}:")), "")
        assert STUB_MESSAGE in line, f"self-check line for {gid}: {line!r}\n{summary}"
    shoot(page, screenshots, "02_blank_self_check.png", "checks pass")

    # 2. a filled-in copy: every cell runs, every check prints OK and the self-check is happy
    open_notebook(page, lab, SOLVED)
    run(page, lab, SOLVED, "runmenu:run-all")
    assert run_past_errors(page, lab, SOLVED) == 0, "Run All stopped early in the solved notebook"
    texts = outputs(page)
    assert not [t for t in texts if "Traceback" in t or "Error:" in t], texts
    for gid, i in checks.items():
        assert texts[i].startswith("OK"), f"{gid} should print OK, shows {texts[i]!r}"
    summary = texts[-1]
    assert f"{len(checks)}/{len(checks)} checks pass. Ready to hand in." in summary and "[to fix]" not in summary, summary
    assert page.locator(".jp-OutputArea-output img").count() >= 2, "the solved notebook's figures are missing"
    shoot(page, screenshots, "03_solution_self_check.png", "Ready to hand in.")


# ---- the instructor's side: the demo's class report and a feedback page, at 1280 px, offline ----------------

NO_OVERFLOW_JS = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture(scope="module")
def demo(demo_run):
    _require_browser()
    done, out = demo_run   # the same run as test_cli.py's demo test (conftest.py)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture
def offline_page():
    """A 1280 px wide Chromium page that may load file: URLs only; `page.requested` lists what it tried besides."""
    with _require_browser()() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=120_000)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.set_default_timeout(60_000)
            page.requested = []

            def block(route):
                page.requested.append(route.request.url)
                route.abort()
            page.route(lambda url: not url.startswith("file:"), block)
            yield page
        finally:
            browser.close()


def test_class_report_fits_1280px_and_links_to_feedback(demo, offline_page, screenshots):
    page = offline_page
    page.goto((demo / "report.html").as_uri())
    page.screenshot(path=str(screenshots / "report.png"), full_page=True)
    assert page.evaluate(NO_OVERFLOW_JS), "the report scrolls sideways at 1280 px"
    img = page.locator("img[alt='Score distribution per notebook']")
    assert img.evaluate("i => i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().right <= innerWidth")
    assert "<th>student</th><th>notebook</th><th>repairs</th>" not in page.content()   # a sentence instead
    assert page.get_by_text("None: every notebook had the released cells, in order.").is_visible()
    # the matrix sorts by a column: by total, the lowest first
    rows = lambda: page.locator("#matrix tbody tr td:first-child").all_text_contents()  # noqa: E731
    assert rows()[0] == "ada"
    page.locator("#matrix th", has_text="total").click()
    assert rows()[-1] in ("ada", "dan") and rows()[0] in ("eve", "finn"), rows()
    # each check's pass rate, with the mistake behind its failures
    assert page.locator("table.checks td", has_text="your heads mix tokens").count() == 1
    # a matrix cell opens that student's feedback page
    page.locator("#matrix tr", has_text="ben").locator("a").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/feedback/ben/01_projections.html"), page.url
    assert "01_projections (Score: 3.0 / 8.0)" in page.locator("h4").first.text_content()
    assert not page.requested, page.requested


def test_feedback_page_reads_offline(demo, offline_page, screenshots):
    page = offline_page
    page.goto((demo / "feedback" / "ben" / "01_projections.html").as_uri())
    page.wait_for_load_state()
    page.screenshot(path=str(screenshots / "feedback_ben_01.png"), full_page=True)
    assert not page.requested, f"the page fetched {page.requested}"   # MathJax from a CDN, say
    text = page.locator("body").inner_text()
    assert "$$" not in text and "\\frac" not in text, "math left as TeX"
    widths = page.locator("math").evaluate_all("ms => ms.map(m => m.getBoundingClientRect().width)")
    assert len(widths) >= 10 and min(widths) > 0, widths
    links = page.locator("#toc a").all_text_contents()
    assert links[:2] == ["check_head_dim", "check_split_heads"] and "Test cell" not in links, links
    prompts = [t for t in (p.strip() for p in page.locator(".input_prompt").all_text_contents())
               if t.strip("In[]: \xa0")]
    assert len(prompts) >= 14 and len(prompts) == len(set(prompts)), prompts   # one In [n] per cell, checks too
    message = page.locator(".output_error pre", has_text="your heads mix tokens").first
    assert message.evaluate("e => e.scrollWidth <= e.clientWidth"), "the check's message does not wrap"
    assert page.evaluate(NO_OVERFLOW_JS)


def test_the_capstone_reads_in_the_report_and_its_feedback_page(demo, offline_page):
    """Notebook 08 is part of the sample class: ada's capstone opens from the matrix, full marks, offline."""
    page = offline_page
    page.goto((demo / "report.html").as_uri())
    link = page.locator("#matrix tr", has_text="ada").locator("a[href$='08_transformer_capstone.html']")
    assert link.count() == 1, "no matrix link to ada's notebook 08"
    link.click()
    page.wait_for_load_state()
    assert page.url.endswith("/feedback/ada/08_transformer_capstone.html"), page.url
    assert "08_transformer_capstone (Score: 19.0 / 19.0)" in page.locator("h4").first.text_content()
    text = page.locator("body").inner_text()
    assert "$$" not in text and "check_block_causal" in text
    assert page.evaluate(NO_OVERFLOW_JS) and not page.requested, page.requested
