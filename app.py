"""The pretrained-model gallery: one tab per model, grouped by family.

    python app.py [--host 0.0.0.0] [--port 7860]

Tabs come from `demos.core.registry` in its order. Building them loads no weights: each model
loads on its first request (see `demos.core.runtime`). A demo module that fails to import shows
its error in its own tab; the rest of the gallery still starts.
"""

from __future__ import annotations

import os

# Before gradio or huggingface_hub are imported: no calls home at import or launch.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import argparse
import importlib
import importlib.util
import logging

import gradio as gr

from demos.core import display, overview, patches, registry, retention, runtime

log = logging.getLogger("gallery")

TITLE = "Pretrained-model gallery"
INTRO = (
    "# Pretrained-model gallery\n"
    "The classic pre-trained models, side by side. Each tab loads its model on first use "
    "(on the GPU when there is one) and shows what the model is known for."
)
FAMILY_TITLES = {"language": "Language", "vision": "Vision", "speech": "Speech"}


# Each family ends with a tab that runs one input through all its models.
COMPARE_MODULES = {
    "language": "demos.language.compare",
    "vision": "demos.vision.compare",
    "speech": "demos.speech.compare",
}


def mount(module_name: str, title: str) -> gr.Component | list[gr.Component] | None:
    """Build a tab's content from its module; if the module cannot load, say so in the tab.
    Returns what `build_tab` returns: the component(s) showing what the tab produces."""
    try:
        return importlib.import_module(module_name).build_tab()
    except Exception as exc:  # one broken demo must not take the gallery down
        log.exception("the %s tab could not be built", title)
        gr.Markdown(
            f"### {title} is unavailable\n"
            f"Its module `{module_name}` failed to load: `{type(exc).__name__}: {exc}`.\n\n"
            f"Reinstall the requirements (`pip install -r requirements.txt`); the other tabs work."
        )


def build_app() -> gr.Blocks:
    patches.apply()  # third-party fixes, once: see demos/core/patches.py
    # Uploads and outputs are deleted once older than GALLERY_KEEP_FILES_MINUTES (default 60),
    # by retention.lifespan's own thread (see demos/core/retention.py).
    with gr.Blocks(title=TITLE) as app:
        with gr.Row():
            gr.Markdown(INTRO)
            display.projector_toggle(app)
        with gr.Tabs() as top:
            with gr.Tab("Overview", id="overview") as overview_tab:
                buttons, states, refresh, slots = overview.build_tab()
            family_tabs: dict[str, gr.Tabs] = {}
            for family in registry.FAMILIES:
                specs = registry.by_family(family)
                if not specs:
                    continue
                with gr.Tab(FAMILY_TITLES[family], id=family), gr.Tabs() as inner:
                    family_tabs[family] = inner
                    for spec in specs:
                        with gr.Tab(spec.title, id=spec.key):
                            produced = mount(spec.module, spec.title)
                        overview.mirror(slots[spec.key], produced)
                    if importlib.util.find_spec(COMPARE_MODULES[family]):
                        with gr.Tab("Compare", id=f"compare_{family}"):
                            mount(COMPARE_MODULES[family], f"Compare {family}")
        for key, button in buttons.items():
            family = registry.get(key).family
            button.click(
                lambda family=family, key=key: (gr.Tabs(selected=family), gr.Tabs(selected=key)),
                None,
                [top, family_tabs[family]],
                api_visibility="private",
            )
        overview_tab.select(refresh, None, states, api_visibility="private")
        app.load(refresh, None, states, api_visibility="private")
    # Components whose value is computed at page load (the checkpoint menus) get load events that
    # Gradio names lambda_N; they are plumbing, not endpoints, so keep them out of the API.
    for dependency in app.fns.values():
        if str(dependency.api_name).startswith("lambda"):
            dependency.api_visibility = "private"
    return app


demo = build_app()


def launch_options(
    host: str, port: int, certfile: str | None = None, keyfile: str | None = None
) -> dict:
    """How the server runs: uploads capped, no error details beyond our own messages, and HTTPS
    when given a certificate (browsers allow the microphone and webcam only on HTTPS or
    localhost, so a classroom LAN needs it)."""
    tls = (
        {"ssl_certfile": certfile, "ssl_keyfile": keyfile, "ssl_verify": False} if certfile else {}
    )
    return {
        **tls,
        "server_name": host,
        "server_port": port,
        "css": display.CSS,
        # Uploads above this are refused before they reach a handler: room for the longest clip
        # the speech tabs take (10 min of 48 kHz stereo WAV is 115 MB), not for gigabytes.
        "max_file_size": os.environ.get("GALLERY_MAX_FILE_SIZE", "200mb"),
        "show_error": False,  # handlers raise gr.Error with readable text; nothing else leaks
        # Uploads, outputs and the gallery's own temporary files: deleted after the window.
        "app_kwargs": {"lifespan": retention.lifespan},
    }


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
    parser.add_argument("--ssl-certfile", help="TLS certificate (PEM), to serve HTTPS on a LAN")
    parser.add_argument("--ssl-keyfile", help="its private key (PEM)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    runtime.limit_malloc_arenas()  # a day of requests must not fragment the heap
    demo.queue(default_concurrency_limit=2).launch(
        **launch_options(args.host, args.port, args.ssl_certfile, args.ssl_keyfile)
    )


if __name__ == "__main__":
    main()
