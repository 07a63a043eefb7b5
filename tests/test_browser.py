"""A real browser: Debian's Chromium, driven by Playwright, visits every tab and runs an example.

Tiny models stand behind every tab (GALLERY_<KEY>_MODEL). Screenshots of each tab after its run
go to a temp dir (printed on failure). Skips when Chromium or Playwright is absent.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from demos.core import compare, registry
from demos.language import compare as compare_language
from demos.speech import compare as compare_speech
from demos.vision import compare as compare_vision

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]
playwright = pytest.importorskip("playwright.sync_api")
FAMILY_TITLES = {"language": "Language", "vision": "Vision", "speech": "Speech"}
COMPARED = {
    "language": compare_language.FILL_MASK,
    "vision": compare_vision.CLASSIFIERS + compare_vision.DETECTORS,
    "speech": compare_speech.RECOGNISERS,
}
# What shows that a tab ran: its run-info panel lists the stages it timed.
DONE_TEXT = "inference"


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, gallery_client, tiny_env, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(gallery_client.src)
    page.get_by_role("tab", name="Overview", exact=True).wait_for()
    yield page
    page.close()


def _open(page, *names: str):
    for name in names:
        page.get_by_role("tab", name=name, exact=True).click()
    return page.locator("[role=tabpanel]:visible").last  # the innermost open panel


def _run_first_example(panel) -> None:
    """Click the first example (a gallery button, or a table row when it fills several inputs),
    then the tab's main button (or the chat's submit button)."""
    panel.locator(".gallery-item, tr.tr-body").first.click()
    run = panel.locator("button.primary, [data-testid=submit-button]").first
    run.click()


@pytest.mark.parametrize("key", list(registry.REGISTRY))
def test_every_tab_runs_its_first_example(page, key, tmp_path):
    spec = registry.get(key)
    _open(page, FAMILY_TITLES[spec.family], spec.title)
    model_panel = page.locator("[role=tabpanel]:visible").nth(1)  # inside the family's panel
    assert spec.card.known_for[:40] in model_panel.inner_text()
    panel = page.locator("[role=tabpanel]:visible").last
    _run_first_example(panel)
    # A chat answers in a bot bubble; every other tab fills its run-info panel.
    answer = model_panel.locator("[data-testid=bot]")
    done = answer if key == "gpt" else model_panel.get_by_text(DONE_TEXT)
    try:
        done.first.wait_for(timeout=120_000)
    finally:
        page.screenshot(path=str(tmp_path / f"{key}.png"), full_page=True)
    assert "Error" not in model_panel.inner_text()


def test_overview_cards_open_their_tab(page, tmp_path):
    page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)
    for spec in registry.REGISTRY.values():
        assert page.get_by_text(spec.card.known_for[:40]).first.is_visible()
    page.get_by_role("button", name="Open Vision Transformer →", exact=True).click()
    page.get_by_role("tab", name="Vision Transformer", selected=True).wait_for(timeout=10_000)


def test_compare_tabs_fill_every_column(page, tmp_path):
    for family in ("language", "vision", "speech"):
        columns = len(compare.present(COMPARED[family]))
        panel = _open(page, FAMILY_TITLES[family], "Compare")
        _run_first_example(panel)
        timings = panel.get_by_text(re.compile(r"inference \d+ ms"))  # one footer per column
        timings.nth(columns - 1).wait_for(timeout=60_000)
        assert timings.count() == columns
        page.screenshot(path=str(tmp_path / f"compare_{family}.png"), full_page=True)
        assert "Error" not in panel.inner_text()


def test_screenshots_are_images(tmp_path):
    assert shutil.which(CHROMIUM) or Path(CHROMIUM).exists()
