"""Where an ELMo checkpoint's two files come from: a local folder, the Hugging Face Hub, or a URL.

AllenNLP released each biLM as a pair, `*_options.json` + `*_weights.hdf5` (Apache-2.0). The
gallery's default is the hub mirror of the original model at a pinned commit; the other sizes live
only at AllenNLP's URLs, so they are downloaded into the gallery's own cache folder,
`$GALLERY_HOME/elmo/` (default `~/.cache/pretrained-gallery/elmo/`). A checkpoint id is one of:

- a local folder holding one `*options.json` and one `*weights.hdf5` (found by suffix), or the
  `*options.json` file itself with its `*weights.hdf5` beside it;
- an http(s) URL of an `*options.json`; the weights are the same URL ending in `weights.hdf5`;
- a hub repo id whose repo holds `options.json` and `weights.hdf5`.

Downloads go through `demos.core.weights` (cached, checked, resumable); `HF_HUB_OFFLINE=1`
forbids them too: one switch makes a classroom machine offline.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from demos.core import weights
from demos.core.registry import Checkpoint
from demos.language.elmo.bilm import ElmoWeightsError

OPTIONS_SUFFIX, WEIGHTS_SUFFIX = "options.json", "weights.hdf5"

Pair = tuple[Path, Path]  # (options.json, weights.hdf5)


# helpers


def cache_dir() -> Path:
    """The gallery's own download folder for ELMo: `$GALLERY_HOME/elmo`."""
    return weights.cache_dir("elmo")


def is_url(checkpoint_id: str) -> bool:
    return checkpoint_id.startswith(("http://", "https://"))


def is_local(checkpoint_id: str) -> bool:
    """A path, existing or not: hub ids never start with '/', '.' or '~'."""
    return checkpoint_id.startswith(("/", ".", "~")) or Path(checkpoint_id).expanduser().exists()


def find_pair(folder: Path) -> Pair:
    """The one `*options.json` and the one `*weights.hdf5` in `folder`."""
    options = sorted(folder.glob(f"*{OPTIONS_SUFFIX}"))
    weights = sorted(folder.glob(f"*{WEIGHTS_SUFFIX}"))
    if len(options) != 1 or len(weights) != 1:
        found = ", ".join(p.name for p in options + weights) or "neither"
        raise ElmoWeightsError(
            f"folder {folder} must hold exactly one *{OPTIONS_SUFFIX} and one *{WEIGHTS_SUFFIX} "
            f"(found {found})"
        )
    return options[0], weights[0]


def local_pair(checkpoint_id: str) -> Pair:
    path = Path(checkpoint_id).expanduser()
    if path.is_dir():
        return find_pair(path)
    if path.is_file() and path.name.endswith(OPTIONS_SUFFIX):
        weights = path.with_name(path.name.removesuffix(OPTIONS_SUFFIX) + WEIGHTS_SUFFIX)
        if not weights.is_file():
            raise FileNotFoundError(f"no weights file {weights.name} beside {path}")
        return path, weights
    if path.is_file():
        raise ElmoWeightsError(f"{path} is neither a folder nor an *{OPTIONS_SUFFIX} file")
    raise FileNotFoundError(f"no such file or folder: {path}")


def weights_url(options_url: str) -> str:
    if not options_url.endswith(OPTIONS_SUFFIX):
        raise ElmoWeightsError(f"an ELMo URL must name the *{OPTIONS_SUFFIX} file: {options_url}")
    return options_url.removesuffix(OPTIONS_SUFFIX) + WEIGHTS_SUFFIX


def cached_path(url: str) -> Path:
    """Where `url` lives in the cache: `<cache>/<the URL's folder name>/<its file name>`."""
    parts = PurePosixPath(urlsplit(url).path).parts
    return cache_dir().joinpath(*parts[-2:])


def url_pair(options_url: str) -> Pair:
    """The cached pair for an options URL, downloading what is missing unless offline."""
    urls = (options_url, weights_url(options_url))
    paths = tuple(cached_path(u) for u in urls)
    for url, path in zip(urls, paths, strict=True):
        weights.fetch(url, path)  # no sha256 was published: the first download's is recorded
    return paths[0], paths[1]


def hub_pair(checkpoint: Checkpoint) -> Pair:
    from huggingface_hub import hf_hub_download

    options, weights = (
        Path(hf_hub_download(checkpoint.id, name, revision=checkpoint.revision))
        for name in (OPTIONS_SUFFIX, WEIGHTS_SUFFIX)
    )
    return options, weights


# the public surface


def resolve(checkpoint: Checkpoint) -> Pair:
    """(options.json, weights.hdf5) on local disk for `checkpoint`, downloading if allowed."""
    if is_url(checkpoint.id):
        return url_pair(checkpoint.id)
    if is_local(checkpoint.id):
        return local_pair(checkpoint.id)
    return hub_pair(checkpoint)


def download(checkpoint: Checkpoint) -> str:
    """Fetch `checkpoint`'s pair into the cache (`python -m demos.core.download elmo`)."""
    options, _ = resolve(checkpoint)
    return str(options.parent)
