"""Where YOLO's weights come from, and ultralytics set up to load them offline and safely.

Ultralytics reads its environment once, when it is first imported: whether it is online (a DNS
lookup unless `YOLO_OFFLINE` is set), whether to load weights with `weights_only`
(`ULTRALYTICS_SAFE_LOAD`, read into `ultralytics.utils.SAFE_LOAD` and from there into
`ultralytics.nn.tasks`), where its settings live (`YOLO_CONFIG_DIR`). `configure_ultralytics`
sets all of it, then turns telemetry (`sync`) off in those settings; every loader calls it first.

Official weights are fetched only by `download` (`python -m demos.core.download yolo`), into
`$GALLERY_HOME/yolo/` (default `~/.cache/pretrained-gallery/yolo/`); the loader looks there for a
bare name such as `yolo26n.pt` and never lets ultralytics download anything.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path

from demos.core import patches, weights
from demos.core.registry import Checkpoint

log = logging.getLogger(__name__)

ASSETS_URL = "https://github.com/ultralytics/assets/releases/download/v8.4.0"
# (sha256, bytes) of official assets where recorded; several public projects agree on these.
KNOWN_ASSETS = {
    "yolo26n.pt": ("9b09cc8bf347f0fc8a5f7657480587f25db09b34bf33b0652110fb03a8ad4fef", 5_544_453),
}

# where things live


def weights_dir() -> Path:
    return weights.cache_dir("yolo")


@functools.cache
def configure_ultralytics() -> None:
    """Make ultralytics offline-safe; call before it is imported (idempotent)."""
    config = weights.gallery_home() / "ultralytics"
    config.mkdir(parents=True, exist_ok=True)
    imported_before = "ultralytics" in sys.modules
    os.environ.update(
        YOLO_OFFLINE="1",  # no DNS probe at import, no online checks
        YOLO_AUTOINSTALL="0",  # never pip-install a missing package
        ULTRALYTICS_SAFE_LOAD="1",  # torch.load(weights_only=True) with an allow-list
        YOLO_CONFIG_DIR=str(config),  # settings.json (and fonts) in a folder of our own
    )
    os.environ.setdefault("YOLO_VERBOSE", "False")  # no per-frame log lines
    import ultralytics.nn.tasks as tasks
    from ultralytics.utils import SETTINGS

    patches.after_ultralytics_import()  # PIL.Image.open back to PIL's own

    if imported_before and not tasks.SAFE_LOAD:
        # Someone imported ultralytics before us, so it missed the flag: set what it reads.
        log.warning("ultralytics was imported before the gallery configured it; forcing safe load")
        tasks.SAFE_LOAD = True
    quiet = {"sync": False, "vscode_msg": False, "openvino_msg": False}  # sync: telemetry
    quiet |= dict.fromkeys(("clearml", "comet", "dvc", "mlflow", "raytune", "wandb"), False)
    if any(SETTINGS.get(key) != value for key, value in quiet.items()):
        SETTINGS.update(quiet)


def weights_path(checkpoint: Checkpoint) -> Path:
    """The local file (or export folder) for `checkpoint`: a path as given, or a bare name in
    `weights_dir()`. Whether it is a format the tab reads is `demos.vision.yolo.formats`' call."""
    given = Path(checkpoint.id).expanduser()
    bare = "/" not in checkpoint.id and "\\" not in checkpoint.id and not given.exists()
    if bare:
        name = given.name if given.suffix else f"{given.name}.pt"
        cached = weights_dir() / name
        if cached.exists():  # a file, or an export folder such as yolo26n_openvino_model
            return cached
        raise FileNotFoundError(f"{name} is not in {weights_dir()} (the gallery's YOLO weights)")
    if not given.exists():
        raise FileNotFoundError(f"no such file: {given}")
    return given


def download(checkpoint: Checkpoint) -> str:
    """Fetch an official asset (e.g. `yolo26n.pt`) into `weights_dir()`, with a progress bar."""
    name = checkpoint.id
    if Path(name).name != name or not name.endswith(".pt"):
        raise ValueError(f"{name!r} is not the name of an official Ultralytics asset (yolo26n.pt)")
    sha256_hex, size = KNOWN_ASSETS.get(name, (None, None))
    return str(
        weights.fetch(
            f"{ASSETS_URL}/{name}", weights_dir() / name, sha256_hex=sha256_hex, size=size
        )
    )
