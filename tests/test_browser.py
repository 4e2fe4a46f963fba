"""The page of `rag serve` and the HTML eval report in a real browser: Debian's Chromium,
headless, driven by Playwright for Python (its own browser download is not used: the
system Chromium is launched by path).

The network is off for the browser: every request goes to a proxy on a closed loopback
port (Chromium sends loopback addresses direct), and each request the pages make is
recorded; none may leave loopback. Screenshots go to the test's tmp dir; the README's are
made by `RAG_SCREENSHOTS=docs python -m pytest tests/test_browser.py` (small PNGs).

Without Chromium the tests skip with how to install it (`make browser`); under CI they fail.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest
from click.testing import CliRunner
from servers import running_server

from rag.cli import main

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent
NO_NETWORK = ["--proxy-server=http://127.0.0.1:9"]  # the discard port: nothing listens
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def chromium_path() -> str | None:
    for name in (os.environ.get("RAG_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and (found := shutil.which(name)):
            return found
    return None


@pytest.fixture(scope="module")
def browser():
    why = None
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        why = "Playwright for Python is not installed: pip install -e '.[test]'"
    if path is None:
        why = "Chromium is not installed: `make browser` (Debian: apt-get install chromium), or set RAG_CHROMIUM=PATH"
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"{why} (CI installs it: .ci/run)", pytrace=False)
        pytest.skip(why)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=NO_NETWORK)
        yield b
        b.close()


class Requests:
    """Every request a browser context makes, to check that none left loopback."""

    def __init__(self, context):
        self.urls: list[str] = []
        context.on("request", lambda r: self.urls.append(r.url))

    def outside_loopback(self) -> list[str]:
        out = []
        for url in self.urls:
            u = urlparse(url)
            if u.scheme in ("file", "data", "about", "blob"):
                continue
            if u.hostname not in LOOPBACK:
                out.append(url)
        return out


def shoot(page, tmp_path: Path, name: str, doc: bool = False, **kw) -> Path:
    """A screenshot in the tmp dir; for the README (doc), a small copy in $RAG_SCREENSHOTS
    when set."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), **kw)
    if doc and os.environ.get("RAG_SCREENSHOTS"):
        from PIL import Image

        out = Path(os.environ["RAG_SCREENSHOTS"]) / f"{name}.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        # 256 colours: a page of text and flat colours loses nothing a reader would see
        Image.open(path).convert("RGB").quantize(256).save(out, optimize=True)
    return path


@pytest.fixture(scope="module")
def server(seeds_index):
    from rag import app
    from rag.config import load_settings

    answerer = app.open_answerer(load_settings(index=seeds_index))
    answerer.warm_up()  # as `rag serve` does
    with running_server(answerer) as url:
        yield url


@pytest.mark.llm
def test_the_page_answers_with_its_highlighted_source(browser, server, tmp_path):
    context = browser.new_context(viewport={"width": 1000, "height": 760})
    requests = Requests(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/")

    # keyboard only: the question box has the focus (autofocus lands after load: keys typed
    # before it are lost, and "er wird ..." is no "who" question), Enter asks
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'question'")
    page.keyboard.type("Wer wird Interims-CEO von Scale AI?")
    page.keyboard.press("Enter")
    answer = page.locator(".turn").nth(0).locator(".answer")
    answer.wait_for(timeout=120_000)
    # the short answer, then the quote; the model's copy (and with it the short answer) may
    # differ by a hair on another CPU, the cited sentence may not
    short, _, quote = answer.inner_text().partition(" – ")
    assert "Droege" in short and quote.startswith("„Ihn ersetzt der neue Interims-CEO Jason Droege")
    assert "abstained" not in (answer.get_attribute("class") or "")
    sources = page.locator(".turn").nth(0).locator(".sources li")
    assert sources.count() >= 1
    first = sources.nth(0).inner_text()
    assert "004_a2122adb65b12522.txt:1131-1305" in first and "Jason Droege" in first

    # Shift+Tab from the question box reaches the (last) source; Enter opens its passage
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("() => document.activeElement.className") == "src"
    page.keyboard.press("Enter")
    dialog = page.locator("dialog[open]")
    dialog.wait_for()
    mark = dialog.locator("mark")
    assert mark.inner_text().startswith("Ihn ersetzt der neue Interims-CEO Jason Droege")
    assert mark.locator("strong").inner_text() == short  # the short answer inside the cited span
    assert mark.evaluate("m => getComputedStyle(m).backgroundColor") == "rgb(255, 229, 138)"
    whole = dialog.locator(".passage").inner_text()
    assert whole.startswith("Wang wechselt zwar") and len(whole) > len(mark.inner_text())  # the span in its passage
    shoot(page, tmp_path, "serve-passage", doc=True)
    page.keyboard.press("Escape")
    assert page.locator("dialog[open]").count() == 0

    # a follow-up, understood from the answer before; its abstention looks different
    assert page.evaluate("() => document.activeElement.className") == "src"  # back where the passage was opened
    page.keyboard.press("/")
    page.keyboard.type("Und wo wurde er geboren?")
    page.keyboard.press("Enter")
    second = page.locator(".turn").nth(1)
    second.locator(".answer, .status.error").first.wait_for(timeout=120_000)
    abstained = second.locator(".answer.abstained")
    # what the page showed, when it answered instead (CI once did, on another CPU)
    assert abstained.count() == 1, second.inner_text()
    assert "Die Quellen sagen dazu nichts." in abstained.inner_text()
    assert short in second.locator(".understood").inner_text()
    assert abstained.evaluate("a => getComputedStyle(a).borderTopStyle") == "dashed"
    assert answer.evaluate("a => getComputedStyle(a).borderTopStyle") != "dashed"
    shot = shoot(page, tmp_path, "serve", doc=True)
    assert shot.stat().st_size > 10_000

    assert not errors
    assert requests.urls and not requests.outside_loopback(), requests.urls
    context.close()


@pytest.fixture(scope="module")
def seeds_report(seeds_index, tmp_path_factory) -> Path:
    """`rag eval gold/seeds.jsonl --html`, with the real models."""
    out = tmp_path_factory.mktemp("report")
    result = CliRunner().invoke(
        main,
        [
            "eval",
            str(ROOT / "gold" / "seeds.jsonl"),
            "--index",
            str(seeds_index),
            "--out",
            str(out / "report.json"),
            "--html",
            str(out / "report.html"),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.llm
def test_the_eval_report_filters_sorts_and_opens_a_passage(browser, seeds_report, tmp_path):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)
    requests = Requests(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((seeds_report / "report.html").as_uri())

    report = json.loads((seeds_report / "report.json").read_text(encoding="utf-8"))
    n = len(report["items"])
    assert n == 46
    assert page.locator("svg.plot").count() == 4
    for svg in page.locator("svg.plot").all():
        box = svg.bounding_box()
        assert box and box["width"] > 300 and box["height"] > 100  # drawn, not empty
    card = page.locator('.card[data-key="accuracy"] .v').inner_text()
    assert card == f"{report['summary']['accuracy']:.3f}"
    assert "gemma-3-270m" in page.locator(".config").first.inner_text()
    assert page.locator("#count").inner_text() == f"showing {n} of {n}"
    shoot(page, tmp_path, "report", doc=True, clip={"x": 0, "y": 0, "width": 1200, "height": 900})
    page.locator("h2", has_text="Abstention").evaluate("h => h.scrollIntoView()")
    shoot(page, tmp_path, "report-abstention", doc=True)

    # filter: words, then a verdict
    page.keyboard.press("/")
    page.keyboard.type("Interims-CEO")
    rows = page.locator("#questions tbody tr")
    expected = [it["id"] for it in report["items"] if "interims-ceo" in (it["question"] + it["answer"]).lower()]
    assert expected and rows.count() == len(expected)
    assert [r.get_attribute("data-id") for r in rows.all()] == expected
    page.fill("#f-text", "")
    page.select_option("#f-outcome", "abstained")
    abstained = [it["id"] for it in report["items"] if it["abstained"] and not it["gold"]["answers"]]
    assert sorted(r.get_attribute("data-id") for r in rows.all()) == sorted(abstained)
    page.select_option("#f-outcome", "")

    # sort by latency, slowest first
    header = page.locator("#questions th", has_text="latency s").locator("button")
    header.click()
    header.click()
    shown = [float(t) for t in page.locator("#questions tbody tr td:nth-child(10)").all_inner_texts()]
    assert shown == sorted(shown, reverse=True) and len(shown) == n

    # open a passage: the cited span highlighted
    page.fill("#f-text", "s01")
    page.locator('#questions tr[data-id="s01"] td.c .cite').first.click()
    dialog = page.locator("dialog[open]")
    dialog.wait_for()
    s01 = next(it for it in report["items"] if it["id"] == "s01")
    assert dialog.locator("mark").inner_text() == s01["citations"][0]["quote"]
    assert "Jason Droege" in dialog.locator("mark").inner_text()
    assert len(dialog.locator(".passage").inner_text()) > len(s01["citations"][0]["quote"])
    shoot(page, tmp_path, "report-passage", doc=True)
    page.keyboard.press("Escape")

    assert not errors
    assert not requests.outside_loopback(), requests.urls
    context.close()


@pytest.mark.llm
def test_a_compared_report_lists_the_fixed_question(browser, seeds_report, tmp_path):
    report = json.loads((seeds_report / "report.json").read_text(encoding="utf-8"))
    right = next(it for it in report["items"] if it["scores"]["correct"] and it["gold"]["answers"])
    before = json.loads(json.dumps(report))
    old = next(it for it in before["items"] if it["id"] == right["id"])
    old["answer"], old["scores"]["correct"] = "something else", False
    (tmp_path / "before.json").write_text(json.dumps(before), encoding="utf-8")
    result = CliRunner().invoke(
        main,
        [
            "report",
            str(seeds_report / "report.json"),
            "--compare",
            str(tmp_path / "before.json"),
            "--html",
            str(tmp_path / "compare.html"),
        ],
    )
    assert result.exit_code == 0, result.output

    context = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)
    page = context.new_page()
    page.goto((tmp_path / "compare.html").as_uri())
    assert page.locator("#changes .change").count() == 1
    assert page.locator("#changes .change").get_attribute("data-id") == right["id"]
    page.select_option("#f-change", "fixed")
    assert [r.get_attribute("data-id") for r in page.locator("#questions tbody tr").all()] == [right["id"]]
    shoot(page, tmp_path, "report-compare")
    context.close()
