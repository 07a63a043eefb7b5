"""How the gallery looks on a classroom projector: the page's CSS and the projector-mode switch.

Projector mode (a checkbox at the top, remembered in the URL as `?projector=1`, so a teacher can
bookmark it) sets large type and high contrast on the whole page: dark text on white, thicker
borders, bigger labels, plots and run lines. It is pure CSS on `body.projector`, switched in the
browser: nothing is sent to the server.
"""

from __future__ import annotations

import gradio as gr

CSS = """
.overview-card { font-size: 1.15rem; line-height: 1.45; }
.overview-card h3 { font-size: 1.5rem; margin-bottom: 0.2rem; }
.run-line p { font-size: 1.05rem; font-variant-numeric: tabular-nums; margin: 0.2rem 0; }
.caption p { font-size: 0.95rem; opacity: 0.85; }
body.projector, body.projector gradio-app, body.projector .gradio-container {
  --body-text-size: 22px; --text-sm: 18px; --text-md: 22px; --text-lg: 26px; --text-xl: 32px;
  --text-xxl: 40px; --block-label-text-size: 20px; --block-title-text-size: 22px;
  --input-text-size: 22px; --button-large-text-size: 22px; --button-small-text-size: 18px;
  --body-text-color: #000; --body-text-color-subdued: #111; --block-label-text-color: #000;
  --background-fill-primary: #fff; --background-fill-secondary: #fff;
  --block-background-fill: #fff; --border-color-primary: #000; --block-border-width: 2px;
  --color-accent: #0033cc; --button-primary-background-fill: #0033cc;
  --button-primary-text-color: #fff;
}
body.projector .gradio-container { max-width: 100% !important; }
body.projector .prose, body.projector .prose * { font-size: 22px !important; color: #000; }
body.projector .prose h1 { font-size: 40px !important; }
body.projector .prose h2 { font-size: 32px !important; }
body.projector .prose h3 { font-size: 28px !important; }
body.projector .run-line p { font-size: 24px !important; font-weight: 600; }
body.projector .caption p { font-size: 20px !important; opacity: 1; }
body.projector label, body.projector span[data-testid=block-info] { font-size: 20px; }
body.projector button[role=tab] { font-size: 22px !important; font-weight: 600; }
body.projector .label-wrap span { font-size: 20px !important; }
"""

# In the browser only: read `?projector=1` at load; write it back (and the body class) on change.
_READ_URL = "() => new URLSearchParams(window.location.search).get('projector') === '1'"
_APPLY = """(on) => {
  document.body.classList.toggle('projector', on);
  const url = new URL(window.location);
  if (on) { url.searchParams.set('projector', '1'); } else { url.searchParams.delete('projector'); }
  window.history.replaceState(null, '', url);
}"""


def projector_toggle(app: gr.Blocks) -> gr.Checkbox:
    """The projector-mode checkbox, wired in the browser (no server round trip)."""
    box = gr.Checkbox(
        label="Projector mode: large type, high contrast",
        value=False,
        elem_id="projector-mode",
        container=False,
    )
    box.change(None, box, None, js=_APPLY, api_visibility="private", queue=False)
    app.load(None, None, box, js=_READ_URL, api_visibility="private", queue=False)
    return box
