"""The landing page: a card per model from the registry, with its load state and a link to its tab.

Made for a projector: large type, one card per model, nothing else. Each card shows, small, the
last thing its tab produced in this browser (the boxes, the heat map, the language chart, the
transcript): the component a tab's `build_tab()` returns is mirrored there when its value
changes. Gradio keeps component values per browser session, so a card never shows another
student's photo or voice, and nothing is drawn in advance: before a run, the card says so.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from demos.core import registry, retention, runtime
from demos.core.registry import DemoSpec

PICTURE_PX = 150  # the mirrored result's height on a card
PICTURE_CAPTION = "Your last result from this tab shows here (on your screen only)."


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


def build_tab() -> tuple[dict[str, gr.Button], list[gr.Markdown], callable, dict[str, gr.Column]]:
    """The cards; returns (a button per demo key, the state lines, a function refreshing them,
    an empty column per demo key for `mirror` to fill once the tabs exist)."""
    gr.Markdown(
        "## The classic pre-trained models, side by side\nPick a model to try it, or a family's "
        "*Compare* tab to run one input through all of them."
    )
    buttons: dict[str, gr.Button] = {}
    states: list[gr.Markdown] = []
    slots: dict[str, gr.Column] = {}
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
                        slots[spec.key] = gr.Column(elem_classes="overview-picture")
                        states.append(gr.Markdown(load_state(spec)))
                        buttons[spec.key] = gr.Button(f"Open {spec.title} →", size="lg")

    gr.Markdown(privacy_text(), elem_classes="overview-card")

    def refresh() -> list[str]:
        return [load_state(s) for f in registry.FAMILIES for s in specs if s.family == f]

    return buttons, states, refresh, slots


def small_copy(produced: Any) -> gr.Component | None:
    """A small, read-only, hidden component of the kind of `produced` (None: a kind not shown)."""
    quiet = {"show_label": False, "visible": False}
    if isinstance(produced, gr.Image):
        return gr.Image(
            type=produced.type,
            format=produced.format,
            height=PICTURE_PX,
            interactive=False,
            **quiet,
        )
    if isinstance(produced, gr.Label):
        return gr.Label(num_top_classes=3, show_heading=False, **quiet)
    if isinstance(produced, gr.Plot):
        return gr.Plot(format=produced.format, **quiet)
    if isinstance(produced, gr.Chatbot):
        return gr.Chatbot(height=PICTURE_PX * 2, **quiet)
    if isinstance(produced, gr.Textbox):
        return gr.Textbox(lines=3, max_lines=3, interactive=False, **quiet)
    return None


def _shown(value: Any) -> Any:
    """The copy takes the new value, and shows once there is one."""
    return gr.update(value=value, visible=value is not None)


def mirror(slot: gr.Column, produced: Any) -> None:
    """Fill a card's `slot` with small copies of `produced` (a component or a list of them,
    as `build_tab` returned), each updated whenever its original changes."""
    if produced is None:  # a tab that could not be built
        return
    originals = produced if isinstance(produced, list) else [produced]
    with slot:
        gr.Markdown(PICTURE_CAPTION, elem_classes="caption")
        copies = [small_copy(p) for p in originals]
    for original, copy in zip(originals, copies, strict=True):
        if copy is not None:
            original.change(
                _shown,
                original,
                copy,
                api_visibility="private",
                queue=False,
                show_progress="hidden",
            )
