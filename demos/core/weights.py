"""Weights that are not on the Hugging Face Hub, fetched one way: YOLO's official assets,
DeepSpeech's release model and scorer, the small ELMo.

Each file lands in the gallery's own cache, `$GALLERY_HOME/<demo>/...` (default
`~/.cache/pretrained-gallery`), and is used from there afterwards.

- **pooch** (fatiando/pooch, BSD-3-Clause) does the bookkeeping: a file already in the cache with
  the right sha256 is not fetched again; a new download is checked against the known sha256 and
  moved into place only when it matches, so a half-written or wrong file never takes the name.
- Downloads **resume**: bytes arrive in `<file>.part` beside the target, and a later attempt
  (after a dropped connection or Ctrl-C) asks the server for the rest with an HTTP `Range`
  request. pooch's own downloader starts over every time; huggingface_hub's resuming `http_get`
  is internal to it and reads `HF_HUB_OFFLINE` once at import. So the one piece written here is
  the resuming downloader that pooch calls (requests + tqdm, whose bar Gradio shows through
  `gr.Progress(track_tqdm=True)`).
- Where no sha256 was ever published (DeepSpeech's releases), the digest of the first download is
  recorded beside the file (`<file>.sha256`) and checked on every later load, so a file that
  changed on disk is caught before it is used.

`HF_HUB_OFFLINE=1` forbids these downloads too: one switch makes a classroom machine offline.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 16  # 64 KiB a read: a dropped connection loses at most this much
TIMEOUT_S = 60  # per socket operation, not for the whole file (Mozilla's scorer is 950 MB)
USER_AGENT = "pretrained-model-gallery"
HASH_SUFFIX = ".sha256"  # beside a file whose digest was recorded at its first download
PART_SUFFIX = ".part"  # beside the target while it downloads


# where things live


def gallery_home() -> Path:
    """The gallery's own cache folder: `$GALLERY_HOME`, else `~/.cache/pretrained-gallery`."""
    home = os.environ.get("GALLERY_HOME", "").strip()
    return Path(home).expanduser() if home else Path.home() / ".cache" / "pretrained-gallery"


def cache_dir(demo: str) -> Path:
    """One demo's download folder, e.g. `$GALLERY_HOME/yolo`."""
    return gallery_home() / demo


def offline() -> bool:
    """The hub's offline switches, read at call time so that a test or a shell can flip them."""
    return any(
        os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


# checking


def sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def problem(path: Path, *, sha256_hex: str | None = None, size: int | None = None) -> str | None:
    """Why the file at `path` is not the expected one (None when it is, or cannot be told).

    Without a published sha256, the digest recorded at the first download (if any) is the
    reference, so a file that changed since is still caught.
    """
    n_bytes = path.stat().st_size
    if n_bytes == 0:
        return "the file is empty"
    if size is not None and n_bytes != size:
        return f"{n_bytes:,} bytes instead of {size:,}"
    recorded = path.with_name(path.name + HASH_SUFFIX)
    expected = sha256_hex or (recorded.read_text("ascii").strip() if recorded.is_file() else None)
    if expected is None:
        return None
    digest = sha256(path)
    if digest == expected:
        return None
    since = "" if sha256_hex else " recorded when it was downloaded"
    return f"sha256 {digest} instead of the {expected}{since}"


def record(path: Path) -> None:
    """Remember the sha256 of a file downloaded with no published digest."""
    recorded = path.with_name(path.name + HASH_SUFFIX)
    if not recorded.is_file():
        recorded.write_text(sha256(path) + "\n", encoding="ascii")


# downloading


def _resuming_download(url: str, output_file: str, part: Path) -> None:
    """Fetch `url` into `output_file`, resuming from `part` if an earlier attempt left one.

    pooch hands over a temporary name in the target's folder; the bytes collect under a stable
    name (the target's name + `.part`) so that an interrupted download can continue next time.
    """
    import requests
    from tqdm.auto import tqdm

    target = Path(output_file)
    have = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": USER_AGENT} | ({"Range": f"bytes={have}-"} if have else {})
    with requests.get(url, headers=headers, stream=True, timeout=TIMEOUT_S) as response:
        if have and response.status_code == 416:  # the part is already whole
            os.replace(part, target)
            return
        response.raise_for_status()
        if have and response.status_code != 206:  # the server ignored the range: start over
            have = 0
        length = int(response.headers.get("Content-Length") or 0)
        with (
            part.open("ab" if have else "wb") as out,
            tqdm(
                total=(have + length) or None,
                initial=have,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.name.removesuffix(PART_SUFFIX),
            ) as bar,
        ):
            for chunk in response.iter_content(CHUNK_BYTES):
                out.write(chunk)
                bar.update(len(chunk))
    os.replace(part, target)


def fetch(url: str, dest: Path, *, sha256_hex: str | None = None, size: int | None = None) -> Path:
    """`dest`, downloaded from `url` unless the cache already holds the right file.

    A download is resumed where an earlier one stopped, checked (sha256 when known, else size),
    and only then given its name. Without a published sha256, the first download's digest is
    recorded and checked from then on.
    """
    import pooch

    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and problem(dest, sha256_hex=sha256_hex, size=size) is None:
        return dest
    if offline():
        raise FileNotFoundError(
            f"{dest.name} is not in the gallery's cache ({dest.parent}) and HF_HUB_OFFLINE=1 "
            "forbids downloading it"
        )
    dest.unlink(missing_ok=True)
    dest.with_name(dest.name + HASH_SUFFIX).unlink(missing_ok=True)

    part = dest.with_name(dest.name + PART_SUFFIX)

    def download(url: str, output_file: str, _pooch: object) -> None:  # pooch's hook
        _resuming_download(url, output_file, part)

    try:
        path = Path(
            pooch.retrieve(
                url,
                known_hash=f"sha256:{sha256_hex}" if sha256_hex else None,
                fname=dest.name,
                path=dest.parent,
                downloader=download,
                progressbar=False,  # the downloader draws its own bar (it knows the resume point)
            )
        )
    except ValueError as exc:  # pooch: the sha256 differs (it has deleted the file)
        raise OSError(f"{url} did not give the expected file: {exc}") from None
    wrong = problem(path, size=size)
    if wrong:
        path.unlink()
        raise OSError(f"{url} did not give the expected file: {wrong}")
    if not sha256_hex:
        record(path)
    return path
