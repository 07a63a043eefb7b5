"""Character ids for ELMo: each token becomes 50 ids built from its UTF-8 bytes.

The released biLMs (Peters et al., 2018, arXiv 1802.05365) read a token as a fixed-length row of
character ids: begin-of-word, the token's UTF-8 bytes, end-of-word, then padding. Each sentence is
wrapped in the sentence markers `<S>` and `</S>`, which have their own one-character spelling.

Id layout (262 ids, the `n_characters` of every released options file):
    0         a padding *token* (every char id 0): marks positions beyond a sentence's end
    1..256    byte value + 1
    257, 258  the single "character" of `<S>` and `</S>`
    259, 260  begin-of-word, end-of-word
    261       padding *inside* a token, after end-of-word
The weights file stores 261 character vectors for ids 1..261; id 0 gets a zero vector.
"""

from __future__ import annotations

import torch

# constants

MAX_CHARS = 50  # ids per token: bow + up to 48 UTF-8 bytes + eow, as in all released models
BOS_TOKEN, EOS_TOKEN = "<S>", "</S>"

# Raw ids are shifted by +1 so that 0 is free for padding tokens.
_BOS_CHAR, _EOS_CHAR = 256 + 1, 257 + 1
_BOW, _EOW, _PAD = 258 + 1, 259 + 1, 260 + 1
N_CHARACTERS = _PAD + 1  # 262


# helpers


def _marker_ids(char: int, max_chars: int) -> list[int]:
    """A sentence marker is spelled as one special character between bow and eow."""
    return [_BOW, char, _EOW] + [_PAD] * (max_chars - 3)


def word_to_char_ids(word: str, *, max_chars: int = MAX_CHARS) -> list[int]:
    """`max_chars` ids for one token; bytes beyond `max_chars - 2` are dropped.

    The literal tokens `<S>` and `</S>` map to the sentence-marker spelling, as the reference
    vocabulary and indexers do, so they give the same vectors as the markers the biLM adds.
    """
    if word == BOS_TOKEN:
        return _marker_ids(_BOS_CHAR, max_chars)
    if word == EOS_TOKEN:
        return _marker_ids(_EOS_CHAR, max_chars)
    # 'ignore' drops unencodable surrogates instead of failing on odd input
    data = word.encode("utf-8", "ignore")[: max_chars - 2]
    ids = [_BOW, *(b + 1 for b in data), _EOW]
    return ids + [_PAD] * (max_chars - len(ids))


def batch_to_char_ids(
    sentences: list[list[str]], *, max_chars: int = MAX_CHARS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Character ids for a batch of tokenised sentences, with `<S>`/`</S>` added around each.

    Returns (char_ids, mask): a LongTensor [B, T+2, max_chars], T the longest sentence in tokens,
    with all-zero rows after each sentence's `</S>`; and a BoolTensor [B, T+2], True on real
    positions (markers included).
    """
    longest = max((len(s) for s in sentences), default=0) + 2
    char_ids = torch.zeros(len(sentences), longest, max_chars, dtype=torch.long)
    for b, sentence in enumerate(sentences):
        tokens = [BOS_TOKEN, *sentence, EOS_TOKEN]
        rows = [word_to_char_ids(t, max_chars=max_chars) for t in tokens]
        char_ids[b, : len(rows)] = torch.tensor(rows, dtype=torch.long)
    mask = (char_ids > 0).any(dim=-1)
    return char_ids, mask
