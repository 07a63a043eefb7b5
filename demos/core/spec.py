"""The types of the registry's records: a model card, its checkpoints, its engines, the demo.

Like timm's `PretrainedCfg`: one typed, frozen record per model says where the weights live, how
the model may run and where it came from. The records themselves are in `demos.core.registry`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

Family = Literal["language", "vision", "speech"]
FAMILIES: tuple[Family, ...] = ("language", "vision", "speech")


# classes


@dataclass(frozen=True, kw_only=True)
class ModelCard:
    """Where a model came from and why it matters, in the project's own words."""

    authors: str  # who made it
    year: int  # year of the paper or release
    paper: str  # title of the paper
    paper_url: str
    params: str  # parameter count of the default checkpoint, human-readable ("110M")
    licence: str  # licence of the released weights
    known_for: str  # one or two sentences: what the demo shows


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """One set of weights a user may pick: a hub id (or URL) and, where pinned, a revision."""

    id: str
    label: str  # shown in the size picker, e.g. "base · 110M"
    revision: str | None = None  # hub commit; None follows the repo's main branch


@dataclass(frozen=True, kw_only=True)
class Engine:
    """One way to run a model: the library that executes it, where, and at what precision.

    A record lists its engines fastest first for each device (measured by `python -m bench`);
    the runtime picks the first that runs on the gallery's device and is installed, and the tab
    lets a user pick another to see the difference.
    """

    key: str  # stable id, in run info and the API: "transformers", "ctranslate2", ...
    label: str  # shown in the tab's engine menu
    devices: tuple[str, ...] = ("cuda", "mps", "cpu")  # device types it runs on
    precision: tuple[tuple[str, str], ...] = ()  # (device type, precision) where not the default
    package: str | None = None  # import name that must be installed (None: always available)

    def precision_on(self, device_type: str, default: str) -> str:
        """The precision this engine runs at on `device_type` ("int8", "float16", ...)."""
        return dict(self.precision).get(device_type, default)


PYTORCH = Engine(key="pytorch", label="PyTorch")  # the reference path every demo has


@dataclass(frozen=True, kw_only=True)
class DemoSpec:
    """Everything the app, the tests and the README need to know about one demo."""

    key: str  # stable: the tab id, the endpoint name (/key) and GALLERY_<KEY>_MODEL
    title: str
    family: Family
    module: str  # the demo module that builds the tab and runs the model
    card: ModelCard
    default: Checkpoint
    choices: tuple[Checkpoint, ...] = field(default_factory=tuple)  # other sizes
    half_precision: bool = True  # float16 on CUDA is safe for this model
    engines: tuple[Engine, ...] = (PYTORCH,)  # fastest first (see `Engine`)

    @property
    def env_var(self) -> str:
        """The environment variable that overrides the checkpoint, e.g. GALLERY_BERT_MODEL."""
        return f"GALLERY_{self.key.upper()}_MODEL"

    @property
    def checkpoints(self) -> tuple[Checkpoint, ...]:
        """The default first, then the registry's size choices."""
        return (self.default, *self.choices)

    def checkpoint(self, requested: str | None = None) -> Checkpoint:
        """The checkpoint to load: the user's pick, else `GALLERY_<KEY>_MODEL`, else the default.

        A requested id that is not one of the registry's choices (a local path, another hub id) is
        taken as given, unpinned.
        """
        wanted = (requested or "").strip() or os.environ.get(self.env_var, "").strip()
        if not wanted:
            return self.default
        for ckpt in self.checkpoints:
            if wanted in (ckpt.id, ckpt.label):
                return ckpt
        return Checkpoint(id=wanted, label=wanted)
