"""The landing page: a card per model from the registry, with its load state and a link to its tab.

Made for a projector: large type, one card per model, nothing else.
"""

from __future__ import annotations

import gradio as gr

from demos.core import registry, retention, runtime
from demos.core.registry import DemoSpec


def load_state(spec: DemoSpec) -> str:
    """'loaded on cuda (checkpoint)' or 'not loaded yet', from the model cache."""
    loaded = [k for k in runtime.CACHE.loaded_keys() if k[0].split(":")[0] == spec.key]
    if not loaded:
        return "○ not loaded yet: loads on first use"
    return "● loaded: " + "; ".join(f"`{k[1].split('@')[0]}` on {k[2]}" for k in loaded)


def privacy_text() -> str:
    """What the gallery keeps, in plain words (the README says the same)."""
    minutes = retention.keep_seconds() / 60
    window = f"{minutes:g} minutes" if minutes != 60 else "an hour"
    return (
        "### What this gallery keeps\n"
        f"- **Your photos, recordings and videos** stay on this server only while you use them: "
        f"every upload, and every picture, plot, sound or video the tabs make from it, is "
        f"deleted once it is older than {window} (`GALLERY_KEEP_FILES_MINUTES`), and all of "
        f"them when the server stops.\n"
        "- **Nothing you send is logged**: the server's log names errors, never your text, "
        "pictures or sound.\n"
        "- **Models** are downloaded once into the machine's caches (`HF_HOME`, "
        "`$GALLERY_HOME`) and stay there; they hold nothing of yours.\n"
        "- **An OpenAI API key** (GPT-4 tab) is read from the server's environment, never "
        "stored, shown, returned or logged; without one, nothing leaves this machine."
    )


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

    gr.Markdown(privacy_text(), elem_classes="overview-card")

    def refresh() -> list[str]:
        return [load_state(s) for f in registry.FAMILIES for s in specs if s.family == f]

    return buttons, states, refresh
