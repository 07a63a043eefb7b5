"""The registry is the single source for tabs, tests and the README table."""

from __future__ import annotations

import re

import pytest

from demos.core import registry
from tests.conftest import ROOT

STABLE_KEYS = {
    "bert",
    "roberta",
    "elmo",
    "transformer_xl",
    "gpt",
    "mobilenet_v2",
    "vit",
    "yolo",
    "whisper",
    "wav2vec2",
    "deepspeech",
}


def test_keys_are_the_stable_ones_and_modules_exist():
    assert set(registry.REGISTRY) <= STABLE_KEYS
    for key, spec in registry.REGISTRY.items():
        assert spec.key == key
        assert spec.family in registry.FAMILIES
        assert (ROOT / (spec.module.replace(".", "/") + ".py")).is_file(), spec.module


@pytest.mark.parametrize("spec", registry.REGISTRY.values(), ids=registry.REGISTRY.keys())
def test_every_record_has_a_full_card(spec):
    card = spec.card
    assert card.authors and card.paper and card.licence and card.known_for and card.params
    assert 2010 <= card.year <= 2026
    assert card.paper_url.startswith("https://")
    ids = [c.id for c in spec.checkpoints]
    assert len(ids) == len(set(ids)), "a size is listed twice"
    for ckpt in spec.checkpoints:
        assert ckpt.revision is None or re.fullmatch(r"[0-9a-f]{40}", ckpt.revision)


def test_env_override_and_choices(monkeypatch):
    spec = registry.get("bert")
    monkeypatch.delenv(spec.env_var, raising=False)
    assert spec.env_var == "GALLERY_BERT_MODEL"
    assert spec.checkpoint() == spec.default
    monkeypatch.setenv("GALLERY_BERT_MODEL", "/models/my-bert")
    assert spec.checkpoint().id == "/models/my-bert"
    assert spec.checkpoint().revision is None
    # A size picked in the UI wins over the environment, and keeps its pinned revision.
    assert spec.checkpoint(spec.choices[0].id) == spec.choices[0]
    with pytest.raises(KeyError, match="known"):
        registry.get("gpt5")


def test_readme_model_table_is_generated_from_the_registry():
    readme = (ROOT / "README.md").read_text()
    assert registry.markdown_table() in readme, "run `python -m demos.core.registry` and paste it"


def test_every_demo_has_a_tiny_model():
    """Cross-demo tests (app, compare, browser) need one; add the builder to tests/tiny.py."""
    from tests.tiny import BUILDERS

    assert set(registry.REGISTRY) <= set(BUILDERS)


def test_readme_front_matter_is_generated_for_spaces():
    from demos.core import space_card

    readme = (ROOT / "README.md").read_text()
    assert readme == space_card.render(readme), "run `python -m demos.core.space_card`"
    assert readme.startswith("---\nsdk: gradio") or "\nsdk: gradio\n" in readme.split("---")[1]
    front = readme.split("---")[1]
    assert 'python_version: "3.12"' in front and "app_file: app.py" in front
    for ckpt in space_card.hub_defaults():
        assert f"  - {ckpt.id}" in front
    assert (ROOT / "packages.txt").read_text().split() == ["ffmpeg"]
