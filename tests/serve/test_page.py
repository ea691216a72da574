"""The browser page, driven in headless Chromium through Playwright against a live ``nlpseq serve``."""

import shutil
import socket
import subprocess
import sys
import time

import pytest

from ..conftest import ROOT

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (make browser installs it)")


def _serve(*args: str):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "nlpseq.cli", "serve", *args, "--port", str(port), "--threads", "1"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"http://127.0.0.1:{port}/"
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("nlpseq serve did not start")


def _draw_tree(browser, url: str, hint: str, text: str):
    """A page on ``url`` once its hint mentions ``hint``, after submitting ``text`` and the tree is drawn."""
    page = browser.new_page()
    page.goto(url)
    page.wait_for_function(f"document.getElementById('hint').textContent.includes('{hint}')", timeout=20000)
    page.fill("#text", text)
    page.click("#submit")
    page.wait_for_selector("#tree svg", timeout=20000)
    return page


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def test_page_shows_the_sentence_label_and_probabilities(browser, tiny_run, tmp_path):
    proc, url = _serve("--sentiment", str(tiny_run))
    try:
        page = browser.new_page()
        page.goto(url)
        page.fill("#text", "A gorgeous, witty film.")
        page.click("#submit")
        page.wait_for_selector("#result:not([hidden])", timeout=10000)
        label = page.inner_text("#label")
        assert label in {"very negative", "negative", "neutral", "positive", "very positive"}
        assert page.locator("#scores .bar").count() == 5
        page.screenshot(path=str(tmp_path / "sentiment.png"))
        assert (tmp_path / "sentiment.png").stat().st_size > 1000
        page.fill("#text", "   ")
        page.click("#submit")
        page.wait_for_function("document.getElementById('error').textContent.length > 0", timeout=10000)
        assert "empty" in page.inner_text("#error")
    finally:
        proc.terminate()
        proc.wait(10)


def test_page_draws_the_phrase_tree_of_a_tree_model(browser, rntn_run, tmp_path):
    proc, url = _serve("--sentiment", str(rntn_run))
    try:
        page = _draw_tree(browser, url, "Tree model", "(3 (2 A) (3 (3 good) (2 film)))")
        assert page.locator("#tree svg circle").count() == 5  # one coloured node per phrase
        assert "film" in page.inner_text("#tree")
        page.screenshot(path=str(tmp_path / "tree.png"), full_page=True)
        assert (tmp_path / "tree.png").stat().st_size > 1000
    finally:
        proc.terminate()
        proc.wait(10)


def test_page_parses_typed_text_when_a_parser_is_loaded(browser, rntn_run, shape_run, tmp_path):
    proc, url = _serve("--sentiment", str(rntn_run), "--parser", str(shape_run))
    try:
        page = _draw_tree(browser, url, "with parser", "the plot is not good .")
        assert page.locator("#tree svg circle").count() == 11  # every phrase of the 6-word binary parse
        page.screenshot(path=str(tmp_path / "parsed.png"), full_page=True)
    finally:
        proc.terminate()
        proc.wait(10)
