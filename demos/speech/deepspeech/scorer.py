"""DeepSpeech's `.scorer` (a KenLM model plus its vocabulary) and a CTC beam search over it.

Format (DeepSpeech v0.9.3 native_client/ctcdecode/scorer.cpp, `generate_scorer_package`): a KenLM
binary language model (built with `build_binary -v`, so without the vocabulary's strings), then at
the KenLM file's end-of-search offset

    int32 magic 'TRIE' (the bytes "EIRT"), int32 version (6), bool UTF-8 mode (1 byte),
    double alpha, double beta (the default LM weight and word insertion bonus), then
    an OpenFST `ConstFst<StdArc>` written aligned to 16 bytes: the vocabulary as paths of
    alphabet label + 1, each word ending with the space label + 1, in a final state.

KenLM ignores what follows its own data, so the `.scorer` itself is handed to KenLM as the
language model (checked here on DeepSpeech's own smoke-test scorers: same scores as the bare LM).
The trailer is found by its magic, searched from the end and accepted only when an FST header
follows and the FST ends exactly at the end of the file.

Decoding: flashlight-text's `LexiconDecoder` (the C++ beam search behind torchaudio's
`ctc_decoder`) with flashlight's KenLM wrapper. The scorer's LM is word-level, and flashlight's
lexicon-free decoder would query it once per *letter*, so the vocabulary from the trie becomes the
lexicon, which also keeps every output word in the vocabulary, as DeepSpeech's trie does. KenLM
scores are log10 where DeepSpeech's alpha weighs natural logs, so flashlight's LM weight is
alpha * ln 10; beta is the per-word score. UTF-8 ("bytes output") scorers are refused.
"""

from __future__ import annotations

import math
import mmap
import os
import struct
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = struct.pack("<i", 0x54524945)  # the int32 'TRIE' as written on little-endian machines
VERSION = 6  # the only trailer version DeepSpeech 0.9 and Coqui STT 1.x read
HEADER = struct.Struct("<4siBdd")  # magic, version, UTF-8 mode, alpha, beta: 25 bytes
KENLM_MAGIC = b"mmap lm http://kheafield.com/code format version"
FST_MAGIC = 2125659606  # OpenFST's kFstMagicNumber
FST_ALIGN = 16  # bytes (OpenFST's MappedFile::kArchAlignment)
FST_ALIGNED_FLAG = 0x4  # FstHeader::IS_ALIGNED
FST_STATE = np.dtype(
    [("final", "<f4"), ("pos", "<u4"), ("narcs", "<u4"), ("nieps", "<u4"), ("noeps", "<u4")]
)
FST_ARC = np.dtype([("ilabel", "<i4"), ("olabel", "<i4"), ("weight", "<f4"), ("next", "<i4")])
MAX_WORD_LABELS = 1000  # longer paths mean a corrupt (cyclic) trie, not a word
LOG10_TO_LN = math.log(10)  # KenLM's log10 scores -> the natural logs alpha was tuned on
DEFAULT_BEAM_WIDTH = 100  # hypotheses kept per frame; DeepSpeech's clients used up to 1024
CUTOFF_TOP_N = 40  # tokens tried per frame: DeepSpeech's own `cutoff_top_n`
BEAM_THRESHOLD = 25.0  # drop hypotheses this far (natural log) below the best one
UNK = "<unk>"


class ScorerError(ValueError):
    """The file is not a usable DeepSpeech / Coqui STT scorer package (the message says why)."""


# the package


@dataclass(frozen=True)
class ScorerPackage:
    path: Path
    lm_bytes: int  # size of the KenLM part: the trailer starts here
    utf8: bool  # "bytes output mode": the LM scores characters, not words
    alpha: float  # default LM weight (on natural-log probabilities)
    beta: float  # default word insertion bonus
    spellings: tuple[tuple[int, ...], ...]  # each word as alphabet indices, without the space
    word_end: int | None  # the label every word ends with: the space of the scorer's alphabet


def _fst_words(data: mmap.mmap, offset: int, path: Path) -> tuple[int, list[tuple[int, ...]]]:
    """Parse the ConstFst at `offset`; returns (end offset, every accepted label path)."""
    pos = offset + 4

    def string() -> str:
        nonlocal pos
        (size,) = struct.unpack_from("<i", data, pos)
        if not 0 <= size <= 64:
            raise ScorerError(f"{path.name}: the vocabulary trie's header is damaged")
        pos += 4 + size
        return bytes(data[pos - size : pos]).decode("ascii", "replace")

    kind, arc_type = string(), string()
    if (kind, arc_type) != ("const", "standard"):
        raise ScorerError(f"{path.name}: the vocabulary trie is a {kind}/{arc_type} FST")
    version, flags, _props, start, n_states, n_arcs = struct.unpack_from("<iiQqqq", data, pos)
    pos += struct.calcsize("<iiQqqq")
    aligned = version == 1 or flags & FST_ALIGNED_FLAG
    if aligned:
        pos += -pos % FST_ALIGN
    end = pos + n_states * FST_STATE.itemsize
    if n_states <= 0 or n_arcs < 0 or end > len(data) or not 0 <= start < n_states:
        raise ScorerError(f"{path.name}: the vocabulary trie's sizes do not fit the file")
    # Copies (the trie is a few percent of the file): views would pin the mmap open
    states = np.frombuffer(data[pos:end], FST_STATE)
    pos = end + (-end % FST_ALIGN if aligned else 0)
    end = pos + n_arcs * FST_ARC.itemsize
    if end > len(data):
        raise ScorerError(f"{path.name}: the vocabulary trie is cut short (truncated file?)")
    arcs = np.frombuffer(data[pos:end], FST_ARC)
    # Plain lists: the walk below touches every letter of every word (4M for 500k words)
    first, count = states["pos"].tolist(), states["narcs"].tolist()
    final = np.isfinite(states["final"]).tolist()
    labels, targets = arcs["ilabel"].tolist(), arcs["next"].tolist()
    if first and max(f + c for f, c in zip(first, count, strict=True)) > n_arcs:
        raise ScorerError(f"{path.name}: the vocabulary trie points past its arcs")
    words: list[tuple[int, ...]] = []
    stack: list[tuple[int, tuple[int, ...]]] = [(start, ())]
    while stack:
        state, prefix = stack.pop()
        if final[state]:
            words.append(prefix)
        if len(prefix) >= MAX_WORD_LABELS:
            raise ScorerError(f"{path.name}: the vocabulary trie has a cycle")
        for arc in range(first[state], first[state] + count[state]):
            stack.append((targets[arc], (*prefix, labels[arc])))
    return end, words


def read_scorer(path: str | os.PathLike[str]) -> ScorerPackage:
    """Parse a `.scorer`: where its KenLM part ends, alpha, beta and the vocabulary."""
    path = Path(path)
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if not data[: len(KENLM_MAGIC)] == KENLM_MAGIC:
            raise ScorerError(
                f"{path.name} is not a DeepSpeech scorer: it does not start with a KenLM binary "
                "model (an ARPA file or a bare KenLM binary has no vocabulary trie)"
            )
        end = len(data)
        while (at := data.rfind(MAGIC, 0, end)) >= 0:
            end = at
            fst_at = at + HEADER.size
            if fst_at + 4 > len(data) or struct.unpack_from("<i", data, fst_at)[0] != FST_MAGIC:
                continue  # "EIRT" by chance inside the data
            _, version, utf8, alpha, beta = HEADER.unpack_from(data, at)
            if version != VERSION:
                raise ScorerError(
                    f"{path.name} is a version {version} scorer; DeepSpeech 0.9 / Coqui STT "
                    f"scorers are version {VERSION}: regenerate it with their "
                    "generate_scorer_package"
                )
            if utf8:
                raise ScorerError(
                    f"{path.name} is a bytes-output (UTF-8) scorer, whose LM scores characters; "
                    "this gallery decodes word-level scorers only: use greedy decoding"
                )
            fst_end, paths = _fst_words(data, fst_at, path)
            if fst_end != len(data):
                raise ScorerError(
                    f"{path.name}: the vocabulary trie ends at byte {fst_end:,}, the file at "
                    f"{len(data):,} (truncated or damaged)"
                )
            break
        else:
            raise ScorerError(
                f"{path.name} has no DeepSpeech vocabulary trie after its KenLM model (no "
                "'TRIE' header): is it a DeepSpeech 0.7+ or Coqui STT `.scorer`?"
            )
    spellings = []
    for labels in paths:
        if not labels:
            continue
        *word, space = (label - 1 for label in labels)  # the FST's labels are alphabet index + 1
        if word and min(word) >= 0:
            spellings.append((*word, space))
    ends = {s[-1] for s in spellings}
    if len(ends) > 1:
        raise ScorerError(f"{path.name}: the vocabulary's words end with different labels")
    return ScorerPackage(
        path=path,
        lm_bytes=at,
        utf8=bool(utf8),
        alpha=float(alpha),
        beta=float(beta),
        spellings=tuple(s[:-1] for s in spellings),
        word_end=ends.pop() if ends else None,
    )


# the decoder


class BeamSearchDecoder:
    """CTC beam search with a word-level KenLM model over a fixed vocabulary (flashlight-text).

    Thread-safe: the trie and the LM are shared read-only; each decode builds its own decoder.
    """

    def __init__(
        self,
        lm_path: str | os.PathLike[str],
        words: Iterable[tuple[str, Sequence[int]]],
        alphabet: Sequence[str],
        *,
        alpha: float,
        beta: float,
    ) -> None:
        """`words`: (word, its spelling as alphabet indices); `lm_path`: a KenLM model (ARPA,
        binary, or a `.scorer`) whose vocabulary the words are looked up in."""
        try:
            from flashlight.lib.text.decoder import SmearingMode, Trie
            from flashlight.lib.text.decoder.kenlm import KenLM
            from flashlight.lib.text.dictionary import Dictionary
        except ImportError as exc:
            raise ScorerError(
                f"beam search needs the flashlight-text package ({exc}): "
                "`pip install flashlight-text`; greedy decoding works without it"
            ) from exc
        if " " not in alphabet:
            raise ScorerError("the model's alphabet has no space label, which separates words")
        self.alphabet = tuple(alphabet)
        self.alpha, self.beta = alpha, beta
        self.package: ScorerPackage | None = None  # set when built from a `.scorer`
        self.blank, self.space = len(alphabet), self.alphabet.index(" ")
        self.words: list[str] = []
        spellings: list[list[int]] = []
        seen: set[str] = set()
        for word, spelling in words:
            if word in seen or not spelling:
                continue
            if max(spelling) >= len(alphabet) or self.space in spelling:
                raise ScorerError(
                    f"the word {word!r} is spelled with labels this model's alphabet does not "
                    f"have ({len(alphabet)} labels): the scorer was built for another alphabet"
                )
            seen.add(word)
            self.words.append(word)
            spellings.append(list(spelling))
        if not self.words:
            raise ScorerError("the scorer's vocabulary is empty")
        word_dict = Dictionary()
        for word in self.words:
            word_dict.add_entry(word)
        self.unk = len(self.words)
        word_dict.add_entry(UNK)
        try:
            self.lm = KenLM(str(lm_path), word_dict)
        except Exception as exc:  # KenLM's own exceptions say what is wrong with the file
            raise ScorerError(f"KenLM could not load {Path(lm_path).name}: {exc}") from exc
        self.trie = Trie(self.blank + 1, self.space)
        start = self.lm.start(False)
        for index, spelling in enumerate(spellings):
            # each word's unigram score, smeared up the trie to guide the search mid-word
            self.trie.insert(spelling, index, self.lm.score(start, index)[1])
        self.trie.smear(SmearingMode.MAX)
        self._lock = threading.Lock()

    @classmethod
    def from_scorer(
        cls, path: str | os.PathLike[str], alphabet: Sequence[str]
    ) -> BeamSearchDecoder:
        """The decoder a DeepSpeech `.scorer` describes: its LM, vocabulary, alpha and beta."""
        package = read_scorer(path)
        labels = tuple(alphabet)
        if package.word_end is not None and labels[package.word_end : package.word_end + 1] != (
            " ",
        ):
            raise ScorerError(
                f"{package.path.name} ends its words with label {package.word_end}, which is not "
                "the space in this model's alphabet: the scorer belongs to another model"
            )
        too_big = [s for s in package.spellings if max(s) >= len(labels)]
        if too_big:
            raise ScorerError(
                f"{package.path.name} spells words with label {max(map(max, too_big))}, but "
                f"this model's alphabet has {len(labels)} labels: the scorer belongs to another "
                "model"
            )
        words = (("".join(labels[i] for i in s), s) for s in package.spellings)
        decoder = cls(package.path, words, labels, alpha=package.alpha, beta=package.beta)
        decoder.package = package
        return decoder

    @classmethod
    def from_words(
        cls,
        lm_path: str | os.PathLike[str],
        words: Iterable[str],
        alphabet: Sequence[str],
        *,
        alpha: float,
        beta: float,
    ) -> BeamSearchDecoder:
        """A decoder over `words` (those spelled with the alphabet's labels) and any KenLM file."""
        index = {label: i for i, label in enumerate(alphabet)}
        spelled = ((w, [index.get(c, -1) for c in w]) for w in words)
        usable = ((w, s) for w, s in spelled if s and min(s) >= 0)
        return cls(lm_path, usable, alphabet, alpha=alpha, beta=beta)

    def decode(self, probs: np.ndarray, beam_width: int = DEFAULT_BEAM_WIDTH) -> str:
        """The best transcript for per-frame probabilities `probs` [T, K] (K = labels + blank)."""
        from flashlight.lib.text.decoder import (
            CriterionType,
            LexiconDecoder,
            LexiconDecoderOptions,
        )

        if probs.ndim != 2 or probs.shape[1] != self.blank + 1:
            raise ValueError(f"expected probabilities [T, {self.blank + 1}], got {probs.shape}")
        if len(probs) == 0:
            return ""
        emissions = np.ascontiguousarray(np.log(np.maximum(probs, 1e-30)), dtype=np.float32)
        options = LexiconDecoderOptions(
            beam_size=int(beam_width),
            beam_size_token=min(CUTOFF_TOP_N, self.blank + 1),
            beam_threshold=BEAM_THRESHOLD,
            lm_weight=self.alpha * LOG10_TO_LN,
            word_score=self.beta,
            unk_score=-math.inf,  # only words of the vocabulary, as DeepSpeech's trie allows
            sil_score=0.0,
            log_add=True,  # merged paths add their probabilities, as in CTC prefix search
            criterion_type=CriterionType.CTC,
        )
        with self._lock:
            decoder = LexiconDecoder(
                options, self.trie, self.lm, self.space, self.blank, self.unk, [], False
            )
            results = decoder.decode(emissions.ctypes.data, *emissions.shape)
        if not results:
            return ""
        return " ".join(self.words[i] for i in results[0].words if 0 <= i < len(self.words))
