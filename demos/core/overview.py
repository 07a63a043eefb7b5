"""The landing page: a card per model from the registry, with its load state and a link to its tab.

Made for a projector: large type, one card per model, nothing else.
"""

from __future__ import annotations

import gradio as gr

from demos.core import registry, runtime
from demos.core.registry import DemoSpec

CSS = """
.overview-card { font-size: 1.15rem; line-height: 1.45; }
.overview-card h3 { font-size: 1.5rem; margin-bottom: 0.2rem; }
"""


def load_state(spec: DemoSpec) -> str:
    """'loaded on cuda (checkpoint)' or 'not loaded yet', from the model cache."""
    loaded = [k for k in runtime.CACHE.loaded_keys() if k[0].split(":")[0] == spec.key]
    if not loaded:
        return "○ not loaded yet: loads on first use"
    return "● loaded: " + "; ".join(f"`{k[1].split('@')[0]}` on {k[2]}" for k in loaded)


def card_text(spec: DemoSpec) -> str:
    card = spec.card
    return (
        f"### {spec.title}\n"
        f"{card.known_for}\n\n"
        f"{card.authors} · {card.year} · [{card.paper}]({card.paper_url})  \n"
        f"{card.params} parameters · licence {card.licence} · default `{spec.default.id}`"
    )


def build_tab() -> tuple[dict[str, gr.Button], list[gr.Markdown], callable]:
    """The cards; returns (a button per demo key, the state lines, a function refreshing them)."""
    gr.Markdown(
        "## The classic pre-trained models, side by side\nPick a model to try it, or a family's "
        "*Compare* tab to run one input through all of them."
    )
    buttons: dict[str, gr.Button] = {}
    states: list[gr.Markdown] = []
    specs = list(registry.REGISTRY.values())
    for family in registry.FAMILIES:
        members = [s for s in specs if s.family == family]
        if not members:
            continue
        gr.Markdown(f"## {family.capitalize()}")
        for start in range(0, len(members), 3):
            with gr.Row(equal_height=True):
                for spec in members[start : start + 3]:
                    with gr.Column(elem_classes="overview-card"):
                        gr.Markdown(card_text(spec))
                        states.append(gr.Markdown(load_state(spec)))
                        buttons[spec.key] = gr.Button(f"Open {spec.title} →", size="lg")

    def refresh() -> list[str]:
        return [load_state(s) for f in registry.FAMILIES for s in specs if s.family == f]

    return buttons, states, refresh
