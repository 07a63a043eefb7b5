"""A real browser: Debian's Chromium, driven by Playwright, visits every tab, runs its first
example, checks that the tab's demonstration is on screen, and takes a screenshot of it in normal
and in projector mode (1366x900, a classroom laptop); then the Overview, whose card for that
model shows a small copy of the result.

Tiny models stand behind every tab (GALLERY_<KEY>_MODEL). Screenshots go to
`$GALLERY_SCREENSHOTS` when set (to look at them), else to the test's temp dir. Skips when
Chromium or Playwright is absent.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from demos.core import compare, overview, registry
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
VIEWPORT = {"width": 1366, "height": 900}
RAN = re.compile(r"\d ms")  # the run line ("cpu · pytorch float32 · 27 ms") says a tab ran

# What each tab's demonstration puts on screen once its first example ran: the labels of the
# components that show the slide's claim (each must be visible and, for pictures, drawn).
SHOWN: dict[str, list[str]] = {
    "bert": ["Both sides", "Left context only", "Attention of the mask position"],
    "roberta": ["Both sides", "Left context only", "Attention of the mask position"],
    "elmo": ["Reading the heat map", "Nearest other occurrence, per layer"],
    "transformer_xl": ["Continuation"],
    "gpt": [],  # a chat: the answer bubble is checked instead
    "mobilenet_v2": ["Top labels", "Weights per depthwise block"],
    "vit": ["Top labels", "The image cut into patches", "Attention rollout"],
    "yolo": ["Detections", "forward pass", "Objects per class"],
    "whisper": ["Text", "Languages heard (top 5"],
    "wav2vec2": ["Text (greedy CTC)", "CTC emissions"],
    "deepspeech": ["Transcript"],
}


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
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("GALLERY_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser, gallery_client, tiny_env):
    page = browser.new_page(viewport=VIEWPORT)
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


# A card's mirror holds something: a drawn picture, a text, a chart's bars or a chat bubble.
FILLED = """el => {
    const img = el.querySelector('img');
    if (img && img.complete && img.naturalWidth > 0) return true;
    const text = el.querySelector('textarea');
    if (text && text.value.trim()) return true;
    return !!el.querySelector('[data-testid=bot], .confidence-set');
}"""


def _card_shows_the_result(page, spec) -> None:
    """Back on the Overview, the model's card shows (small) what its tab just produced."""
    page.get_by_role("tab", name="Overview", exact=True).click()
    card = page.locator(".overview-card", has=page.get_by_text(spec.card.known_for[:40]))
    slot = card.locator(".overview-picture").first
    slot.wait_for(timeout=10_000)
    page.wait_for_function(f"el => ({FILLED})(el)", arg=slot.element_handle(), timeout=30_000)


def _projector(page, on: bool) -> None:
    box = page.get_by_label("Projector mode: large type, high contrast")
    if box.is_checked() != on:
        box.click()
    page.wait_for_function(
        "on => document.body.classList.contains('projector') === on", arg=on, timeout=5_000
    )


def _shown(panel, label: str) -> None:
    """The component labelled `label` is visible, and a picture in it is drawn."""
    target = panel.get_by_text(label).first
    target.wait_for(timeout=30_000)
    block = panel.locator(".block", has=panel.get_by_text(label)).last
    images = block.locator("img")
    if images.count():
        assert images.first.evaluate("img => img.complete && img.naturalWidth > 0"), label


@pytest.mark.parametrize("key", list(registry.REGISTRY))
def test_every_tab_shows_its_demonstration_in_both_modes(page, key, shots):
    spec = registry.get(key)
    _open(page, FAMILY_TITLES[spec.family], spec.title)
    model_panel = page.locator("[role=tabpanel]:visible").nth(1)  # inside the family's panel
    assert spec.card.known_for[:40] in model_panel.inner_text()
    panel = page.locator("[role=tabpanel]:visible").last
    _run_first_example(panel)
    # A chat answers in a bot bubble; every other tab fills its one-line run info.
    answer = model_panel.locator("[data-testid=bot]")
    done = answer if key == "gpt" else model_panel.locator(".run-line").get_by_text(RAN)
    try:
        done.first.wait_for(timeout=120_000)
        for label in SHOWN[key]:
            _shown(model_panel, label)
    finally:
        page.screenshot(path=str(shots / f"{key}.png"), full_page=True)
    assert "Error" not in model_panel.inner_text()
    _projector(page, True)
    assert "projector=1" in page.url
    size = model_panel.locator(".prose").first.evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert size >= 20, f"projector mode should set large type, got {size}px"
    page.screenshot(path=str(shots / f"{key}-projector.png"), full_page=True)
    _projector(page, False)
    assert "projector=1" not in page.url
    _card_shows_the_result(page, spec)
    page.screenshot(path=str(shots / f"{key}-overview.png"), full_page=True)


def test_projector_mode_is_remembered_in_the_address(browser, gallery_client, tiny_env, shots):
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(gallery_client.src + "?projector=1")
    page.wait_for_function("() => document.body.classList.contains('projector')", timeout=30_000)
    assert page.get_by_label("Projector mode: large type, high contrast").is_checked()
    page.screenshot(path=str(shots / "overview-projector.png"), full_page=True)
    page.close()


def test_overview_cards_open_their_tab_and_say_what_is_kept(page, shots):
    page.screenshot(path=str(shots / "overview.png"), full_page=True)
    # A fresh page shows no one's results: every card waits for this browser's first run.
    assert page.get_by_text(overview.PICTURE_CAPTION).count() == len(registry.REGISTRY)
    assert not page.locator(".overview-picture img").count()
    for spec in registry.REGISTRY.values():
        assert page.get_by_text(spec.card.known_for[:40]).first.is_visible()
    assert page.get_by_text("What this gallery keeps").is_visible()
    page.get_by_role("button", name="Open Vision Transformer →", exact=True).click()
    page.get_by_role("tab", name="Vision Transformer", selected=True).wait_for(timeout=10_000)


def test_compare_tabs_fill_every_column(page, shots):
    for family in ("language", "vision", "speech"):
        columns = len(compare.present(COMPARED[family]))
        panel = _open(page, FAMILY_TITLES[family], "Compare")
        _run_first_example(panel)
        timings = panel.get_by_text(re.compile(r"inference \d+ ms"))  # one footer per column
        timings.nth(columns - 1).wait_for(timeout=60_000)
        assert timings.count() == columns
        page.screenshot(path=str(shots / f"compare_{family}.png"), full_page=True)
        assert "Error" not in panel.inner_text()
