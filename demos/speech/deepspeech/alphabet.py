"""The labels a DeepSpeech / Coqui STT model writes, and greedy CTC decoding over them.

A model's alphabet comes, in this order, from an `alphabet.txt` beside it (Coqui's text format),
from the `metadata_alphabet` blob Coqui's exporter stores in the graph, else it is the English
alphabet of Mozilla's releases. The CTC blank is the class after the last label. Network code:
nothing here imports the UI.
"""

from __future__ import annotations

import os
import struct
import unicodedata
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# English, as released: space, a-z, apostrophe; the CTC blank is the class after the last label
DEFAULT_ALPHABET: tuple[str, ...] = (" ", *"abcdefghijklmnopqrstuvwxyz", "'")


class AlphabetError(ValueError):
    """An alphabet that cannot be read (the message says why)."""


# helpers


def load_alphabet(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """Labels of a Coqui/DeepSpeech `alphabet.txt`: one per line, in class order.

    Lines starting with `#` are comments, `\\#` stands for a literal `#`, empty lines are skipped
    and a line holding a single space is the space label.
    """
    labels = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line == "\\#":
            line = "#"
        elif line.startswith("#") or not line:
            continue
        labels.append(line)
    if not labels:
        raise AlphabetError(f"{path}: the alphabet has no labels")
    return tuple(labels)


def parse_alphabet_blob(blob: bytes) -> tuple[str, ...]:
    """The alphabet the exporter stores in `metadata_alphabet`: a little-endian u16 count, then
    for each label a u16 class id, a u16 byte length and the label's UTF-8 bytes."""
    (count,) = struct.unpack_from("<H", blob, 0)
    labels: dict[int, str] = {}
    offset = 2
    for _ in range(count):
        label_id, size = struct.unpack_from("<HH", blob, offset)
        offset += 4
        labels[label_id] = blob[offset : offset + size].decode("utf-8")
        offset += size
    if sorted(labels) != list(range(count)):
        raise AlphabetError("metadata_alphabet does not number its labels 0..n-1")
    return tuple(labels[i] for i in range(count))


def greedy_decode(probs: np.ndarray, alphabet: Sequence[str]) -> str:
    """Best-path CTC decoding of `probs` [T, K]: argmax per frame, merge repeats, drop blanks."""
    if len(probs) == 0:
        return ""
    best = np.asarray(probs).argmax(axis=1)
    keep = np.ones(len(best), dtype=bool)
    keep[1:] = best[1:] != best[:-1]
    blank = len(alphabet)
    return "".join(alphabet[k] for k in best[keep] if k != blank)


def alphabet_script(labels: Sequence[str]) -> str | None:
    """The writing system most labels belong to, from their Unicode names ("Armenian",
    "Latin"): what a model says about its language when its metadata does not."""
    scripts: dict[str, int] = {}
    for label in labels:
        for ch in label:
            name = unicodedata.name(ch, "")
            if ch.isalpha() and name:
                script = name.split()[0].title()
                scripts[script] = scripts.get(script, 0) + 1
    return max(scripts, key=scripts.__getitem__) if scripts else None
