"""The gallery's registry: one typed record per demo, in tab order.

The records (in `demos/<family>/records.py`) are the single source for the app's tabs, the
tests and the README's model table (`python -m demos.core.registry` prints that table). Like
timm's `PretrainedCfg`, a record says where the weights live and where the model came from; the
demo module named in `module` says how to run it. This file and the records import nothing
heavy, so the app can list every demo even when one module fails to import.
"""

from __future__ import annotations

from demos.core.spec import (
    FAMILIES,
    Checkpoint,
    DemoSpec,
    Engine,
    Family,
    ModelCard,
)
from demos.language.records import RECORDS as LANGUAGE
from demos.speech.records import RECORDS as SPEECH
from demos.vision.records import RECORDS as VISION

__all__ = ["FAMILIES", "REGISTRY", "Checkpoint", "DemoSpec", "Engine", "Family", "ModelCard"]


# the records, family by family, in tab order (each family's records live beside its models)

_SPECS: tuple[DemoSpec, ...] = (*LANGUAGE, *VISION, *SPEECH)

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
            f"| {card.params} | [{card.paper}]({card.paper_url}) | {card.licence} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
