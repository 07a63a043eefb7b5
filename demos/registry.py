"""The gallery's registry: one typed record per demo, in tab order.

The records are the single source for the app's tabs, the tests and the README's model table
(`python -m demos.registry` prints that table). Like timm's `PretrainedCfg`, a record says where
the weights live and where the model came from; the demo module named in `module` says how to run
it. This file imports nothing heavy, so the app can list every demo even when one module fails to
import.
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


# the records, in tab order

_SPECS: tuple[DemoSpec, ...] = (
    DemoSpec(
        key="bert",
        title="BERT",
        family="language",
        module="demos.bert",
        card=ModelCard(
            authors="Jacob Devlin, Ming-Wei Chang, Kenton Lee, Kristina Toutanova "
            "(Google AI Language)",
            year=2018,
            paper="BERT: Pre-training of Deep Bidirectional Transformers for Language "
            "Understanding",
            paper_url="https://arxiv.org/abs/1810.04805",
            params="110M",
            licence="Apache-2.0",
            known_for="Reading a sentence in both directions at once: it was pre-trained by hiding "
            "words and guessing them from both sides, which this tab lets you try.",
        ),
        default=Checkpoint(
            id="google-bert/bert-base-uncased",
            label="base uncased · 110M",
            revision="86b5e0934494bd15c9632b12f734a8a67f723594",
        ),
        choices=(
            Checkpoint(id="google/bert_uncased_L-4_H-256_A-4", label="mini · 11M"),
            Checkpoint(id="google-bert/bert-large-uncased", label="large uncased · 340M"),
            Checkpoint(id="google-bert/bert-base-multilingual-cased", label="multilingual · 178M"),
        ),
    ),
    DemoSpec(
        key="roberta",
        title="RoBERTa",
        family="language",
        module="demos.roberta",
        card=ModelCard(
            authors="Yinhan Liu, Myle Ott, Naman Goyal et al. (Facebook AI)",
            year=2019,
            paper="RoBERTa: A Robustly Optimized BERT Pretraining Approach",
            paper_url="https://arxiv.org/abs/1907.11692",
            params="125M",
            licence="MIT",
            known_for="BERT's recipe trained longer, on ten times the text, with dynamic masking "
            "and no next-sentence task: the same guessing game, played better.",
        ),
        default=Checkpoint(
            id="FacebookAI/roberta-base",
            label="base · 125M",
            revision="e2da8e2f811d1448a5b465c236feacd80ffbac7b",
        ),
        choices=(
            Checkpoint(id="distilbert/distilroberta-base", label="distilled · 82M"),
            Checkpoint(id="FacebookAI/roberta-large", label="large · 355M"),
        ),
    ),
    DemoSpec(
        key="mobilenet_v2",
        title="MobileNetV2",
        family="vision",
        module="demos.mobilenet_v2",
        card=ModelCard(
            authors="Mark Sandler, Andrew Howard, Menglong Zhu, Andrey Zhmoginov, "
            "Liang-Chieh Chen (Google)",
            year=2018,
            paper="MobileNetV2: Inverted Residuals and Linear Bottlenecks",
            paper_url="https://arxiv.org/abs/1801.04381",
            params="3.5M",
            licence="Apache-2.0 (TensorFlow models release)",
            known_for="ImageNet classification small and fast enough for a phone: inverted "
            "residual blocks of depthwise convolutions.",
        ),
        default=Checkpoint(id="google/mobilenet_v2_1.0_224", label="1.0 · 224 px · 3.5M"),
        choices=(
            Checkpoint(id="google/mobilenet_v2_0.35_96", label="0.35 · 96 px · 1.7M"),
            Checkpoint(id="google/mobilenet_v2_0.75_160", label="0.75 · 160 px · 2.6M"),
            Checkpoint(id="google/mobilenet_v2_1.4_224", label="1.4 · 224 px · 6.1M"),
        ),
    ),
    DemoSpec(
        key="vit",
        title="Vision Transformer",
        family="vision",
        module="demos.vit",
        card=ModelCard(
            authors="Alexey Dosovitskiy, Lucas Beyer, Alexander Kolesnikov et al. "
            "(Google Research)",
            year=2020,
            paper="An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
            paper_url="https://arxiv.org/abs/2010.11929",
            params="86M",
            licence="Apache-2.0",
            known_for="A plain Transformer reading an image as a sentence of 16x16 patches; the "
            "attention map shows which patches the class token looked at.",
        ),
        default=Checkpoint(
            id="google/vit-base-patch16-224",
            label="base · 16 px patches · 86M",
            revision="3f49326eb077187dfe1c2a2bb15fbd74e6ab91e3",
        ),
        choices=(
            Checkpoint(id="google/vit-base-patch32-384", label="base · 32 px patches · 88M"),
            Checkpoint(id="google/vit-large-patch16-224", label="large · 16 px patches · 304M"),
        ),
    ),
)

REGISTRY: dict[str, DemoSpec] = {spec.key: spec for spec in _SPECS}


# helpers


def get(key: str) -> DemoSpec:
    """The record for `key`; a KeyError lists the keys that exist."""
    try:
        return REGISTRY[key]
    except KeyError:
        raise KeyError(f"no demo {key!r}; known: {', '.join(REGISTRY)}") from None


def by_family(family: Family) -> list[DemoSpec]:
    return [spec for spec in REGISTRY.values() if spec.family == family]


def markdown_table() -> str:
    """The README's model table, generated from the records."""
    rows = [
        "| Tab | Family | Default checkpoint | Other sizes | Params | Paper | Licence |",
        "|---|---|---|---|---|---|---|",
    ]
    for spec in REGISTRY.values():
        card = spec.card
        others = ", ".join(f"`{c.id}`" for c in spec.choices) or "–"
        rows.append(
            f"| {spec.title} (`/{spec.key}`) | {spec.family} | `{spec.default.id}` | {others} "
            f"| {card.params} | [{card.authors.split(',')[0]} et al., {card.year}]"
            f"({card.paper_url}) | {card.licence} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
