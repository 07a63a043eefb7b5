"""Build the tiny DeepSpeech `.scorer` used by tests/test_deepspeech.py from tests' tiny.arpa.

A `.scorer` package, as DeepSpeech's `generate_scorer_package` writes it (native_client/ctcdecode/
scorer.cpp, v0.9.3), is a KenLM binary language model followed by

    int32 magic 'TRIE' (bytes "EIRT"), int32 version 6, bool UTF-8 mode, double alpha, double beta
    an OpenFST ConstFst<StdArc> (aligned): the vocabulary as paths of alphabet label + 1, each word
    ending with the space label + 1

This script rebuilds that layout on a hand-written ARPA bigram model of seven words, so the tests
have a real KenLM binary with a real trailer, not a mock. It needs KenLM's `build_binary`, which is
not on PyPI; compile it once from KenLM's sources (no Boost needed):

    cd kenlm && bash compile_query_only.sh      # writes bin/build_binary (about 30 s)
    .venv/bin/python tools/make_deepspeech_scorer.py --build-binary kenlm/bin/build_binary

from the project root; it writes tests/fixtures/deepspeech/tiny.scorer (about 2 KB). The flags are
those of DeepSpeech's data/lm/generate_lm.py: a quantised trie without the vocabulary strings.
"""

from __future__ import annotations

import argparse
import struct
import subprocess
import tempfile
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "deepspeech"
ARPA, OUT = FIXTURES / "tiny.arpa", FIXTURES / "tiny.scorer"
ALPHABET = [" ", *"abcdefghijklmnopqrstuvwxyz", "'"]  # the tiny model's (English) labels
ALPHA, BETA = 0.931289039105002, 1.1834137581510284  # DeepSpeech 0.7's published defaults
FST_MAGIC = 2125659606  # OpenFST's kFstMagicNumber
ALIGN = 16  # bytes; OpenFST's MappedFile::kArchAlignment
ZERO_WEIGHT = float("inf")  # tropical semiring: a state that is not final


def vocabulary(arpa: Path) -> list[str]:
    """The unigrams of an ARPA file, less the sentence markers and <unk>."""
    words, in_unigrams = [], False
    for line in arpa.read_text(encoding="utf-8").splitlines():
        if line.startswith("\\"):
            in_unigrams = line.strip() == "\\1-grams:"
            continue
        fields = line.split()
        if in_unigrams and len(fields) >= 2 and fields[1] not in ("<s>", "</s>", "<unk>"):
            words.append(fields[1])
    return words


def trie_fst(words: list[str], start_offset: int) -> bytes:
    """A ConstFst acceptor of the words (a prefix tree, arcs sorted by label), written aligned
    as if it began at byte `start_offset` of the file."""
    space = ALPHABET.index(" ") + 1
    children: list[dict[int, int]] = [{}]
    final: set[int] = set()
    for word in words:
        state = 0
        for label in [ALPHABET.index(c) + 1 for c in word] + [space]:
            if label not in children[state]:
                children.append({})
                children[state][label] = len(children) - 1
            state = children[state][label]
        final.add(state)

    def string(text: str) -> bytes:
        data = text.encode()
        return struct.pack("<i", len(data)) + data

    n_arcs = sum(len(c) for c in children)
    properties = 0x1  # kExpanded; readers such as DeepSpeech's do not check the rest
    header = struct.pack("<i", FST_MAGIC) + string("const") + string("standard")
    header += struct.pack("<iiQqqq", 1, 0x4, properties, 0, len(children), n_arcs)  # v1 aligned
    out = bytearray(header)

    def align() -> None:
        out.extend(b"\0" * (-(start_offset + len(out)) % ALIGN))

    align()
    position = 0
    for state, arcs in enumerate(children):
        weight = 0.0 if state in final else ZERO_WEIGHT
        out += struct.pack("<fIIII", weight, position, len(arcs), 0, 0)
        position += len(arcs)
    align()
    for arcs in children:
        for label, target in sorted(arcs.items()):
            out += struct.pack("<iifi", label, label, 0.0, target)
    return bytes(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-binary", required=True, help="KenLM's build_binary program")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        binary = Path(tmp) / "lm.binary"
        cmd = [args.build_binary, "-a", "255", "-q", "8", "-v", "trie", str(ARPA), str(binary)]
        subprocess.run(cmd, check=True, capture_output=True)
        lm = binary.read_bytes()
    head = b"EIRT" + struct.pack("<iBdd", 6, 0, ALPHA, BETA)
    OUT.write_bytes(lm + head + trie_fst(vocabulary(ARPA), len(lm) + len(head)))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes: KenLM {len(lm)}, trailer from {len(lm)})")


if __name__ == "__main__":
    main()
