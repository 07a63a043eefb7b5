"""The pretrained-model gallery: one tab per model, grouped by family.

    python app.py [--host 0.0.0.0] [--port 7860]

Tabs come from `demos.registry` in its order. Building them loads no weights: each model loads on
its first request (see `demos.runtime`). A demo module that fails to import shows its error in its
own tab; the rest of the gallery still starts.
"""

from __future__ import annotations

import os

# Before gradio or huggingface_hub are imported: no calls home at import or launch.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import argparse
import importlib
import logging

import gradio as gr

from demos import registry
from demos.registry import DemoSpec

log = logging.getLogger("gallery")

TITLE = "Pretrained-model gallery"
INTRO = (
    "# Pretrained-model gallery\n"
    "The classic pre-trained models, side by side. Each tab loads its model on first use "
    "(on the GPU when there is one) and shows what the model is known for."
)
FAMILY_TITLES = {"language": "Language", "vision": "Vision", "speech": "Speech"}


def mount(spec: DemoSpec) -> None:
    """Build `spec`'s tab content; if its module cannot be imported, say so in the tab."""
    try:
        module = importlib.import_module(spec.module)
        module.build_tab()
    except Exception as exc:  # one broken demo must not take the gallery down
        log.exception("the %s tab could not be built", spec.key)
        gr.Markdown(
            f"### {spec.title} is unavailable\n"
            f"Its module `{spec.module}` failed to load: `{type(exc).__name__}: {exc}`.\n\n"
            f"Reinstall the requirements (`pip install -r requirements.txt`); the other tabs work."
        )


def build_app() -> gr.Blocks:
    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(INTRO)
        with gr.Tabs():
            for family in registry.FAMILIES:
                specs = registry.by_family(family)
                if not specs:
                    continue
                with gr.Tab(FAMILY_TITLES[family], id=family), gr.Tabs():
                    for spec in specs:
                        with gr.Tab(spec.title, id=spec.key):
                            mount(spec)
    return app


demo = build_app()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=TITLE)
    parser.add_argument(
        "--host",
        default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        help="address to listen on (0.0.0.0 to serve a classroom)",
    )
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    demo.queue(default_concurrency_limit=2).launch(server_name=args.host, server_port=args.port)


if __name__ == "__main__":
    main()
