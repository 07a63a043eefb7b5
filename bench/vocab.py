"""Tokenizer vocabularies of the real sizes, built locally (no download) for random-weight models.

The benchmark needs tokenizers as large as the released ones, because their size decides the
embedding and output layers (BERT's 30,522 WordPiece entries, RoBERTa's 50,265 byte-level BPE
tokens, Whisper's 51,865, Qwen2.5's 151,643 + specials, Transformer-XL's 267,735 words). The
entries are real English words first, so the example texts tokenise into whole words as with the
released vocabularies, then synthetic syllable words until the count is reached.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

# Words of the benchmark's inputs and other common English, in the order they get ids.
ENGLISH = (  # noqa: SIM905 (a word list reads best as text)
    "the of and to a in is was that for it as with he on by his be at from are this i which or "
    "have an had not were but they one all their has been there she her can who more will would "
    "we so when what up out if about into no its time than only other new some could these two "
    "may first then do any like my now over such our man me even most made after also did many "
    "before must through back years where much your way well down should because each just those "
    "people how too little state good very make world still own see men work long get here "
    "between both life being under never day same another know while last might us great old "
    "year off come since against go came right used take three capital france paris london city "
    "river bank money boat boats cat dog sat lends watched sky blue why explain sentences "
    "bridge railway forth history begins century team moved stadium season album recorded band "
    "hello assistant helpful answer clearly concisely system user explain three picture describe "
    "= you ? . , ! ' : ; - ( )"
).split()

CONSONANTS = "bcdfghjklmnprstvwz"
VOWELS = "aeiou"


# helpers


def syllable_words() -> Iterator[str]:
    """Endless distinct made-up words: 'ba', 'be', ..., 'baba', 'babe', ... (never real ones)."""
    syllables = [c + v for c in CONSONANTS for v in VOWELS]  # 90
    for n in itertools.count(1):
        for combo in itertools.product(syllables, repeat=n):
            yield "".join(combo)


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte → printable character map: the alphabet of byte-level BPE."""
    visible = list(range(ord("!"), ord("~") + 1))
    visible += list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in visible:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


SPACE = bytes_to_unicode()[ord(" ")]  # "Ġ": marks a word that follows a space


# vocabularies


def byte_level_bpe(
    size: int, *, first: Iterable[str] = ()
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """A byte-level BPE of exactly `size` tokens: `first` (specials), the 256 byte characters,
    then whole words ("Ġword" and "word"), each built left to right by one merge per character.

    Any text encodes (every byte is a token); words of `ENGLISH` become single tokens.
    """
    vocab: dict[str, int] = {}
    for token in [*first, *bytes_to_unicode().values()]:
        vocab.setdefault(token, len(vocab))
    merges: list[tuple[str, str]] = []
    english = [w for w in ENGLISH if w.isalpha()]
    english += [w.capitalize() for w in english if not w.istitle()]  # "The", "France"
    made_up = (p + w for w in syllable_words() for p in (SPACE, ""))
    words = itertools.chain((SPACE + w for w in english), english, made_up)
    for word in words:
        piece = word[0]
        for ch in word[1:]:
            if len(vocab) >= size:
                return vocab, merges
            if piece + ch not in vocab:
                vocab[piece + ch] = len(vocab)
                merges.append((piece, ch))
            piece += ch
    raise AssertionError("unreachable: syllable_words() never ends")


def wordpiece(size: int, specials: list[str]) -> list[str]:
    """A BERT-style WordPiece list of `size` entries: `specials`, single characters (alone and
    as '##' continuations), English words, then made-up words and '##' suffixes."""
    chars = [chr(c) for c in range(33, 127) if not chr(c).isupper()]
    tokens = dict.fromkeys([*specials, *chars, *(f"##{c}" for c in chars), *ENGLISH])
    made_up = syllable_words()
    while len(tokens) < size:
        word = next(made_up)
        tokens.setdefault(word)
        if len(tokens) < size:
            tokens.setdefault(f"##{word}")
    return list(tokens)[:size]


def word_list(size: int, *, first: Iterable[str]) -> list[str]:
    """A word-level vocabulary (Transformer-XL's kind): `first`, English words, made-up words."""
    words = dict.fromkeys([*first, *ENGLISH, *(w.capitalize() for w in ENGLISH)])
    made_up = syllable_words()
    while len(words) < size:
        words.setdefault(next(made_up))
    return list(words)[:size]
