"""Transformer-XL's WikiText-103 vocabulary, read without running pickled code, and its tokeniser.

The hub checkpoint `transfo-xl/transfo-xl-wt103` ships its 267,735-word vocabulary only as
`vocab.pkl`: a pickled dict of the reference tokenizer's attributes. `sym2idx` (an `OrderedDict`
word → id) and `idx2sym` are all we need, but the pickle also names helper objects (compiled
regexes, sacremoses and transformers tokenizer classes). `read_vocab_pickle` unpickles through an
allow-list: the plain containers are rebuilt for real, the named helper classes become inert
placeholders whose code never runs, and any other global (`os.system`, `builtins.eval`, ...) raises
`UnsafePickleError` before anything is called. A plain `vocab.txt` (one word per line, line
number = id) is read instead when a model directory has one.

Tokenisation follows WikiText-103 (Merity et al., 2016): Moses tokens with hyphens between letters
or digits split off as `@-@` and the `,` and `.` inside numbers as `@,@` and `@.@`
("1,000.5" → `1 @,@ 000 @.@ 5`), `<eos>` at each line end, `<unk>` for words outside the
vocabulary. sacremoses does the Moses step when it is installed (as the checkpoint's reference
tokenizer did); otherwise a regex approximation that agrees on ordinary prose. Detokenisation for
display is our own.

Licences: vocabulary derived from WikiText-103 (Wikipedia text, CC BY-SA 3.0); the checkpoint's
card gives no licence ("More information needed"); the original Transformer-XL code is Apache-2.0.
This is an independent reimplementation written from the paper and the file formats.
"""

from __future__ import annotations

import io
import pickle
import re
import zipfile
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path

EOS, UNK = "<eos>", "<unk>"
SPECIALS = (UNK, EOS, "<formula>")  # never split by the tokeniser (the reference's `never_split`)

# torch.save's pre-1.6 format writes this magic number, then a protocol version and a sys-info dict,
# as three small pickles before the object itself.
TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

# Globals rebuilt for real: the containers the vocabulary lives in.
ALLOWED_GLOBALS = {("collections", "OrderedDict"): OrderedDict, ("collections", "Counter"): Counter}
# Tokenizer helpers the reference pickled next to the vocabulary; we never use them, so they load
# as inert placeholders (module prefix match) and their code is never imported or run.
INERT_MODULES = ("sacremoses", "transformers", "tokenizers")
INERT_GLOBALS = {("re", "_compile"), ("re", "Pattern")}


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle names a global outside the allow-list; nothing in it was called."""


class VocabError(ValueError):
    """The vocabulary file was read safely but does not hold a usable word list."""


# helpers


class _Inert:
    """Stands in for a pickled helper object: accepts any arguments and state, does nothing."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __setstate__(self, state: object) -> None:
        pass


def _inert_class(module: str, name: str) -> type:
    return type(f"Inert[{module}.{name}]", (_Inert,), {})


class _AllowListUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) in ALLOWED_GLOBALS:
            return ALLOWED_GLOBALS[(module, name)]
        if (module, name) in INERT_GLOBALS or module.split(".")[0] in INERT_MODULES:
            return _inert_class(module, name)
        raise UnsafePickleError(
            f"refusing to unpickle global {module}.{name}: only "
            f"{', '.join(f'{m}.{n}' for m, n in ALLOWED_GLOBALS)} are allowed in a vocabulary file"
        )

    def persistent_load(self, pid: object) -> object:
        raise UnsafePickleError(f"refusing persistent id {pid!r} (tensors) in a vocabulary file")


def _unpickle(stream: io.BufferedIOBase) -> object:
    return _AllowListUnpickler(stream).load()


def read_vocab_pickle(path: str | Path) -> dict:
    """Unpickle a `vocab.pkl` through the allow-list; return its dict of tokenizer attributes.

    Reads plain pickles and both torch.save layouts (zip with `data.pkl`, and the legacy stream of
    magic number, protocol, sys-info and object)."""
    path = Path(path)
    try:
        obj = _read_any_pickle(path)
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, TypeError, ValueError, zipfile.BadZipFile) as e:
        raise VocabError(f"{path}: not a readable vocabulary pickle ({e})") from e
    if not isinstance(obj, dict):
        raise VocabError(
            f"{path}: expected a dict of tokenizer attributes, got {type(obj).__name__}"
        )
    return obj


def _read_any_pickle(path: Path) -> object:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith("data.pkl")]
            if not names:
                raise VocabError(f"{path}: a zip archive without data.pkl")
            obj = _unpickle(io.BytesIO(zf.read(names[0])))
    else:
        with path.open("rb") as f:
            obj = _unpickle(f)
            if obj == TORCH_LEGACY_MAGIC:
                _unpickle(f)  # protocol version
                _unpickle(f)  # sys info
                obj = _unpickle(f)
    return obj


# Moses-like fallback: specials, numbers with inner , or ., apostrophe suffixes ('s, 't), words,
# then any other single character.
_FALLBACK_TOKEN = re.compile(
    r"<unk>|<eos>|<formula>|@-@|[^\W_]*\d(?:[.,]\d+)+|'[^\W\d_]+|[^\W_]+|\S", re.UNICODE
)
_FALLBACK_NORMALISE = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "–": "-"})
_NUMBER_SPLIT = re.compile(r"(?<=\d)([,.])(?=\d)")
_JOINED = {"@-@": "-", "@,@": ",", "@.@": "."}
_NO_SPACE_BEFORE = set(",.;:!?)]}%") | {"'s", "'t", "'re", "'ve", "'ll", "'d", "'m", "n't"}
_NO_SPACE_AFTER = set("([{$#")


def _moses():
    try:
        import sacremoses
    except ImportError:
        return None
    return sacremoses.MosesPunctNormalizer("en"), sacremoses.MosesTokenizer("en")


# classes


class Vocab:
    """Word ↔ id maps of a Transformer-XL checkpoint plus WikiText-103 tokenisation."""

    def __init__(
        self, idx2sym: Sequence[str], *, lower_case: bool = False, use_moses: bool | None = None
    ) -> None:
        self.idx2sym = list(idx2sym)
        self.sym2idx = {sym: i for i, sym in enumerate(self.idx2sym)}
        if len(self.sym2idx) != len(self.idx2sym):
            raise VocabError("the vocabulary lists a word twice")
        unk = next((s for s in (UNK, "<UNK>") if s in self.sym2idx), None)
        if unk is None:
            raise VocabError("the vocabulary has no <unk> word for unknown words")
        self.unk_id = self.sym2idx[unk]
        self.eos_id = self.sym2idx.get(EOS)
        self.lower_case = lower_case
        self._moses = _moses() if use_moses is not False else None
        if use_moses and self._moses is None:
            raise ImportError("use_moses=True needs the sacremoses package")

    @classmethod
    def from_pickle_dict(cls, d: dict, **kwargs) -> Vocab:
        """Build from the attributes dict in a reference `vocab.pkl` (`sym2idx` decides the ids)."""
        sym2idx = d.get("sym2idx")
        if isinstance(sym2idx, dict) and sym2idx:
            ids = sorted(sym2idx.values())
            if ids != list(range(len(ids))):
                raise VocabError("sym2idx ids are not 0..n-1")
            idx2sym = sorted(sym2idx, key=sym2idx.__getitem__)
        elif isinstance(d.get("idx2sym"), list) and d["idx2sym"]:
            idx2sym = d["idx2sym"]
        else:
            raise VocabError("the vocabulary dict has neither sym2idx nor idx2sym")
        if not all(isinstance(s, str) for s in idx2sym):
            raise VocabError("the vocabulary holds a word that is not a string")
        return cls(idx2sym, lower_case=bool(d.get("lower_case", False)), **kwargs)

    @classmethod
    def from_dir(cls, model_dir: str | Path, **kwargs) -> Vocab:
        """Read `vocab.txt` (one word per line) if there is one, else `vocab.pkl` (allow-listed)."""
        model_dir = Path(model_dir)
        txt, pkl = model_dir / "vocab.txt", model_dir / "vocab.pkl"
        if txt.is_file():
            return cls(txt.read_text(encoding="utf-8").splitlines(), **kwargs)
        if pkl.is_file():
            return cls.from_pickle_dict(read_vocab_pickle(pkl), **kwargs)
        raise FileNotFoundError(f"no vocabulary in {model_dir}: expected vocab.pkl or vocab.txt")

    def __len__(self) -> int:
        return len(self.idx2sym)

    # text → tokens → ids

    def tokenize_line(self, line: str) -> list[str]:
        """One line of text → WikiText-103 tokens (no `<eos>`)."""
        line = line.strip()
        if self.lower_case:
            line = line.lower()
        if self._moses is not None:
            normaliser, tokenizer = self._moses
            words = tokenizer.tokenize(
                normaliser.normalize(line),
                aggressive_dash_splits=True,
                return_str=False,
                escape=False,
                protected_patterns=list(SPECIALS),
            )
        else:
            text = re.sub(r"(?<=[^\W_])-(?=[^\W_])", " @-@ ", line.translate(_FALLBACK_NORMALISE))
            words = _FALLBACK_TOKEN.findall(text)
        return [t for w in words for t in _NUMBER_SPLIT.sub(r" @\1@ ", w).split()]

    def tokenize(self, text: str, *, add_eos: bool = False) -> list[str]:
        """Text → tokens; every line break becomes `<eos>`, and the last line too when `add_eos`."""
        lines = text.split("\n")
        out: list[str] = []
        for i, line in enumerate(lines):
            out += self.tokenize_line(line)
            if i < len(lines) - 1 or add_eos:
                out.append(EOS)
        return out

    def convert_tokens_to_ids(self, tokens: Iterable[str]) -> list[int]:
        return [self.sym2idx.get(t, self.unk_id) for t in tokens]

    def encode(self, text: str, *, add_eos: bool = False) -> list[int]:
        return self.convert_tokens_to_ids(self.tokenize(text, add_eos=add_eos))

    # ids → tokens → text

    def convert_ids_to_tokens(self, ids: Iterable[int]) -> list[str]:
        return [self.idx2sym[int(i)] for i in ids]

    def decode(self, ids: Iterable[int]) -> str:
        return detokenize(self.convert_ids_to_tokens(ids))


def detokenize(tokens: Sequence[str]) -> str:
    """Tokens → readable text: `<eos>` ends a line, `@-@ @,@ @.@` rejoin, punctuation hugs words."""
    lines: list[str] = []
    cur: list[str] = []  # pieces of the current line
    glue_next = False  # the previous token wants no space after it
    open_quote = False  # the next '"' closes a quotation
    for tok in tokens:
        if tok == EOS:
            lines.append("".join(cur))
            cur, glue_next, open_quote = [], False, False
            continue
        text, glue_before = _JOINED.get(tok, tok), tok in _JOINED or tok in _NO_SPACE_BEFORE
        if tok == '"':
            glue_before = open_quote
            open_quote = not open_quote
        if cur and not glue_before and not glue_next:
            cur.append(" ")
        cur.append(text)
        glue_next = tok in _JOINED or tok in _NO_SPACE_AFTER or (tok == '"' and open_quote)
    lines.append("".join(cur))
    return "\n".join(lines)
