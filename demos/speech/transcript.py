"""What every speech demo answers: a transcript of a clip, with its length and run info.

Whisper, Wav2Vec 2.0 and DeepSpeech each return a subclass of `Transcript` from `predict`, adding
what only they know (Whisper's language and segments, Wav2Vec 2.0's letters per frame,
DeepSpeech's decoder), so the compare tab and the tests read `result.text` and
`result.duration_s` the same way for all three.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from demos.core.pipeline import Result
from demos.media import audio


@dataclasses.dataclass(kw_only=True)
class Transcript(Result):
    """A clip's text, as one model heard it."""

    text: str
    duration_s: float  # the clip's length, s (3 decimals)

    def info_dict(self) -> dict[str, Any]:
        """The run info as the tabs show it: plus the audio length and the real-time factor."""
        return audio.run_info(self.info, self.duration_s)

    run_info = info_dict  # the speech tabs' name for it


def word_rows(words: list[dict[str, Any]], key: str = "word") -> list[list[Any]]:
    """[[start, end, word], ...]: timed pieces ({"start", "end", key}) as a table's rows."""
    return [[w["start"], w["end"], w[key]] for w in words]
