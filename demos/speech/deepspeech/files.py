"""Where the DeepSpeech tab's files come from: release URLs, the gallery's cache, local paths.

A checkpoint id is one of
- a release URL the registry lists (Mozilla's v0.9.3 `deepspeech-0.9.3-models.tflite`, Coqui's
  English v0.9.3 `model.tflite`): cached in `$GALLERY_HOME/deepspeech/<owner>/<repo>/<tag>/`
  (default `~/.cache/pretrained-gallery`), downloaded on first use unless `HF_HUB_OFFLINE=1` (one
  switch makes the whole gallery offline), or beforehand by
  `python -m demos.core.download deepspeech`.
  Other URLs are refused: the server fetches only the files it names.
- a local `.tflite`, or a folder holding exactly one. An `alphabet.txt` beside it is the model's
  alphabet (else the one the graph embeds, else English).

Integrity: neither project published a sha256 for its release files. The size of Mozilla's model
(47,331,784 bytes, from a public download log) is checked after a download and before each load;
the sha256 of every file downloaded here is computed once and stored beside it (`<file>.sha256`),
and verified on every later load, so a file that changed on disk is caught before it is used.

Scorer (beam search): `GALLERY_DEEPSPEECH_SCORER`, else the one `.scorer` beside the model, else
the checkpoint's released scorer (Mozilla's `deepspeech-0.9.3-models.scorer`, about 950 MB),
fetched like the model. Downloads go through `demos.core.weights` (cached, checked, resumable).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from demos.core import registry, weights
from demos.core.errors import ModelUnavailable
from demos.core.registry import Checkpoint

RELEASE = "https://github.com/mozilla/DeepSpeech/releases/download/v0.9.3"
MOZILLA_MODEL = f"{RELEASE}/deepspeech-0.9.3-models.tflite"
MOZILLA_SCORER = f"{RELEASE}/deepspeech-0.9.3-models.scorer"
COQUI_MODEL = (
    "https://github.com/coqui-ai/STT-models/releases/download/english/coqui/v0.9.3/model.tflite"
)
KNOWN_SIZES = {MOZILLA_MODEL: 47_331_784}  # bytes; no sha256 was published
SCORERS = {MOZILLA_MODEL: MOZILLA_SCORER}  # each release model's own scorer, where known
SCORER_ENV = "GALLERY_DEEPSPEECH_SCORER"
ALPHABET_FILE = "alphabet.txt"


@dataclass(frozen=True)
class ModelFiles:
    model: Path  # the .tflite graph
    alphabet: Path | None  # an alphabet.txt beside it, if any


# helpers


def _spec() -> registry.DemoSpec:
    return registry.get("deepspeech")


def cache_dir() -> Path:
    """The gallery's download folder for DeepSpeech: `$GALLERY_HOME/deepspeech`."""
    return weights.cache_dir("deepspeech")


def known_urls() -> set[str]:
    """The URLs this server may download: the registry's checkpoints and their scorers."""
    models = {c.id for c in _spec().checkpoints}
    return models | {SCORERS[m] for m in models if m in SCORERS}


def cached_path(url: str) -> Path:
    """`<cache>/<owner>/<repo>/<tag parts>/<file>` for a GitHub release URL."""
    parts = PurePosixPath(urlsplit(url).path).parts[1:]
    kept = [p for p in parts if p not in ("releases", "download", ".", "..")]
    return cache_dir().joinpath(*kept)


def _hash_file(path: Path) -> Path:
    return path.with_name(path.name + weights.HASH_SUFFIX)


def verify(path: Path, url: str | None = None) -> None:
    """Check a cached file against its known size and the sha256 recorded at its download.
    Raises `ModelUnavailable` saying how to get a good copy."""
    wrong = weights.problem(path, size=KNOWN_SIZES.get(url or ""))
    if wrong:
        raise ModelUnavailable(
            f"DeepSpeech's cached {path.name} changed since it was downloaded ({wrong}). "
            f"Delete {path} and run `python -m demos.core.download deepspeech` to fetch it "
            f"again (or point {_spec().env_var} at a copy you trust)."
        )


def ensure(url: str) -> Path:
    """The cached copy of a known release URL, downloaded (and checked) if missing."""
    if url not in known_urls():
        raise ModelUnavailable(
            f"DeepSpeech downloads only the release files its registry lists, not {url}. "
            f"Download it yourself and point {_spec().env_var} at the .tflite (or "
            f"{SCORER_ENV} at the .scorer)."
        )
    dest = cached_path(url)
    if dest.is_file():
        verify(dest, url)
        return dest
    return weights.fetch(url, dest, size=KNOWN_SIZES.get(url))  # records the first sha256


# the public surface


def resolve(checkpoint: Checkpoint) -> ModelFiles:
    """The model (and alphabet) files for `checkpoint`, downloading a release file if allowed."""
    cid = checkpoint.id
    if cid.startswith(("http://", "https://")):
        model = ensure(cid)
    else:
        path = Path(cid).expanduser()
        if path.is_dir():
            graphs = sorted(path.glob("*.tflite"))
            if len(graphs) != 1:
                found = ", ".join(p.name for p in graphs) or "none"
                raise ModelUnavailable(
                    f"DeepSpeech could not load `{cid}`: the folder must hold exactly one "
                    f".tflite (found {found}). Point {_spec().env_var} at the file itself."
                )
            model = graphs[0]
        elif path.is_file():
            if path.suffix.lower() != ".tflite":
                raise ModelUnavailable(
                    f"DeepSpeech could not load `{cid}`: it runs DeepSpeech / Coqui STT TFLite "
                    f"graphs (.tflite). Point {_spec().env_var} at one, or run "
                    "`python -m demos.core.download deepspeech` to fetch the default."
                )
            model = path
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
        if _hash_file(model).is_file():  # a file this gallery downloaded: check it still is
            verify(model)
    alphabet = model.with_name(ALPHABET_FILE)
    return ModelFiles(model=model, alphabet=alphabet if alphabet.is_file() else None)


def scorer_path(checkpoint: Checkpoint, model: Path) -> Path:
    """The KenLM `.scorer` for beam search (see the module docstring for the order)."""
    wanted = os.environ.get(SCORER_ENV, "").strip()
    if wanted:
        path = Path(wanted).expanduser()
        if not path.is_file():
            raise ModelUnavailable(f"{SCORER_ENV}={wanted} is not a file.")
        return path
    beside = sorted(model.parent.glob("*.scorer"))
    same_stem = [p for p in beside if p.stem == model.stem]
    if len(beside) == 1 or len(same_stem) == 1:
        path = (same_stem or beside)[0]
        if _hash_file(path).is_file():
            verify(path)
        return path
    url = SCORERS.get(checkpoint.id)
    if url is None:
        several = f" ({', '.join(p.name for p in beside)}: which one?)" if beside else ""
        raise ModelUnavailable(
            f"Beam search needs a KenLM scorer (.scorer) for `{checkpoint.id}` and none was "
            f"found beside {model.name}{several}. Put one there, or set {SCORER_ENV} to its "
            "path; greedy decoding works without it."
        )
    try:
        return ensure(url)
    except (OSError, ConnectionError) as exc:
        raise ModelUnavailable(
            f"Beam search needs {PurePosixPath(url).name} (Mozilla's KenLM scorer, about 950 MB), "
            f"which is not in the gallery's cache and cannot be downloaded ({exc}). Run "
            f"`python -m demos.core.download deepspeech` once on a machine with internet, or set "
            f"{SCORER_ENV} to a local .scorer; greedy decoding works without it."
        ) from exc


def download(checkpoint: Checkpoint) -> str:
    """Fetch a release model and its scorer (`python -m demos.core.download deepspeech`)."""
    if not checkpoint.id.startswith(("http://", "https://")):
        return str(resolve(checkpoint).model.parent)
    model = ensure(checkpoint.id)
    if checkpoint.id in SCORERS:
        ensure(SCORERS[checkpoint.id])
    return str(model.parent)
