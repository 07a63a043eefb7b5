"""The layout and the demo contract: every registered module has the same typed surface, and the
project's own network code stays free of the UI (the nanoGPT rule)."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from demos.core import registry
from demos.core.pipeline import Result

ROOT = Path(__file__).resolve().parents[1]
DEMOS = ROOT / "demos"

# The gallery's own implementations of published networks: model code only.
NETWORK_MODULES = [
    "demos.language.elmo.bilm",
    "demos.language.elmo.chars",
    "demos.language.transformer_xl.model",
    "demos.language.transformer_xl.inference",
    "demos.language.transformer_xl.adaptive",
    "demos.language.transformer_xl.checkpoint",
    "demos.language.transformer_xl.vocab",
    "demos.speech.deepspeech.graph",
    "demos.speech.deepspeech.alphabet",
    "demos.speech.deepspeech.scorer",
]
UI_MODULES = ("gradio", "demos.core.ui", "demos.core.overview", "matplotlib")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("key", list(registry.REGISTRY))
def test_every_registered_module_meets_the_demo_contract(key):
    spec = registry.get(key)
    assert spec.module.startswith(f"demos.{spec.family}."), "a model lives under its family"
    module = importlib.import_module(spec.module)
    assert module.SPEC is spec
    assert inspect.signature(module.build_tab).parameters == {}
    hints = typing.get_type_hints(module.predict)
    returned = hints.get("return")
    assert inspect.isclass(returned) and issubclass(returned, Result), (
        f"{spec.module}.predict must be annotated to return a Result subclass, not {returned!r}"
    )
    assert "info" in {f for f in returned.__dataclass_fields__}


@pytest.mark.parametrize("name", NETWORK_MODULES)
def test_network_code_imports_nothing_from_the_ui(name):
    path = ROOT / (name.replace(".", "/") + ".py")
    imported = _imports(path)
    bad = sorted(i for i in imported if i.startswith(UI_MODULES) or i.startswith("demos.core"))
    assert not bad, f"{name} imports {bad}: network code must not depend on the UI or the app"


def test_importing_the_network_code_loads_no_ui():
    code = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in NETWORK_MODULES)
        + "print(sorted(m for m in sys.modules if m.startswith(('gradio', 'matplotlib'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_layout_shows_families_and_models():
    top = sorted(p.name for p in DEMOS.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert top == ["core", "language", "media", "speech", "vision"]
    assert not [p.name for p in DEMOS.glob("*.py") if p.name != "__init__.py"], (
        "demos/ holds packages only"
    )
    spellings = {p.stem for p in DEMOS.rglob("*.py")} | {p.name for p in DEMOS.rglob("*/")}
    assert not {s for s in spellings if "transfo_xl" in s}, "one spelling: transformer_xl"


def test_no_file_is_too_long_to_read():
    long = {
        str(p.relative_to(ROOT)): n
        for p in DEMOS.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long, f"split these files: {long}"
