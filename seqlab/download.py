"""Verified downloads into a cache directory, the IMDB reviews and the sentence-polarity data set.
Introduced in chapter 4.

The book and the exercises never need the network: real, large data sets are optional extras.
When a chapter asks for one, :func:`download` fetches it once into a cache directory and checks
its SHA-256 checksum, so a truncated or tampered file is never used:

- the bytes go to a temporary file next to the target, which is renamed into place only after
  the whole body arrived and its checksum matched (a crash never leaves a half-written target);
- a checksum mismatch or an interrupted transfer deletes the temporary file and raises
  :class:`DownloadError`;
- without a network, :class:`DownloadError` says where to put a copy fetched by hand;
- a cached file whose checksum matches is reused without touching the network.

The cache directory is ``cache_dir`` if given, else ``$SEQLAB_CACHE``, else ``~/.cache/seqlab``.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import socket
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

# The Large Movie Review Dataset (Maas et al., 2011): 25,000 training and 25,000 test reviews
# from IMDB, half positive and half negative, plus 50,000 unlabelled ones (not used here).
IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"

# The sentence polarity data set v1.0 (Pang and Lee, 2005): 5,331 positive and 5,331 negative
# sentences from Rotten Tomatoes reviews, about 0.5 MB. Its home is
# http://www.cs.cornell.edu/people/pabo/movie-review-data/; the URL and the SHA-256 below are the
# ones Hugging Face's `rotten_tomatoes` data set publishes (dataset_infos: download_checksums,
# 487,770 bytes). gensim's wheel ships 200 of these sentences (seqlab.data.load_polarity).
POLARITY_URL = "https://storage.googleapis.com/seldon-datasets/sentence_polarity_v1/rt-polaritydata.tar.gz"
POLARITY_SHA256 = "a05befe52aafda71d458d188a1c54506a998b1308613ba76bbda2e5029409ce9"

_CHUNK = 1 << 16


class DownloadError(RuntimeError):
    """A download failed (offline, interrupted, or wrong checksum); the message says what to do."""


def default_cache_dir() -> Path:
    """``$SEQLAB_CACHE`` if set, else ``~/.cache/seqlab``."""
    return Path(os.environ.get("SEQLAB_CACHE") or Path.home() / ".cache" / "seqlab")


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 checksum of a file, as 64 lowercase hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _manual_hint(url: str, target: Path, sha256: str) -> str:
    return (f"To use the file without this download, fetch {url} on a machine with a network "
            f"connection and copy it to {target} (its SHA-256 must be {sha256}).")


def download(
    url: str,
    sha256: str,
    cache_dir: str | os.PathLike | None = None,
    filename: str | None = None,
    timeout: float = 60.0,
    progress: bool = False,
) -> Path:
    """Download ``url`` into the cache (once) and return the path of the verified file.

    ``filename`` defaults to the last part of the URL's path. ``timeout`` (seconds) applies to
    connecting and to each read. ``progress`` shows a tqdm bar. Raises :class:`DownloadError`
    when the network is unreachable, the transfer stops early, or the checksum does not match;
    no partial or corrupt file is left behind in any of these cases.
    """
    sha256 = sha256.lower()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    name = filename or Path(urllib.parse.urlparse(url).path).name
    if not name:
        raise ValueError(f"cannot infer a file name from {url!r}; pass filename=")
    target = cache / name
    if target.is_file():
        if sha256_file(target) == sha256:
            return target
        target.unlink()  # a stale or corrupt copy: fetch it again
    cache.mkdir(parents=True, exist_ok=True)

    fd, tmp_name = tempfile.mkstemp(dir=cache, prefix=f".{name}.", suffix=".part")
    tmp, out = Path(tmp_name), os.fdopen(fd, "wb")
    try:
        digest, received = hashlib.sha256(), 0
        try:
            response = urllib.request.urlopen(url, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise DownloadError(f"could not download {url}: the server answered {exc.code} {exc.reason}. "
                                f"{_manual_hint(url, target, sha256)}") from exc
        except (urllib.error.URLError, OSError) as exc:   # refused, no route, DNS failure, timeout
            reason = getattr(exc, "reason", exc)
            raise DownloadError(f"could not download {url} ({reason}): is this machine offline? "
                                f"{_manual_hint(url, target, sha256)}") from exc
        with response:
            length = response.headers.get("Content-Length")
            expected = int(length) if length is not None else None
            bar = None
            if progress:
                from tqdm.auto import tqdm
                bar = tqdm(total=expected, unit="B", unit_scale=True, desc=name)
            try:
                while True:
                    block = response.read(_CHUNK)
                    if not block:
                        break
                    out.write(block)
                    digest.update(block)
                    received += len(block)
                    if bar is not None:
                        bar.update(len(block))
            except (http.client.IncompleteRead, ConnectionError, socket.timeout) as exc:
                raise DownloadError(f"the download of {url} was interrupted after {received} bytes "
                                    f"({type(exc).__name__}); run it again. "
                                    f"{_manual_hint(url, target, sha256)}") from exc
            finally:
                if bar is not None:
                    bar.close()
        if expected is not None and received != expected:
            raise DownloadError(f"the download of {url} was interrupted: got {received} of {expected} "
                                f"bytes; run it again. {_manual_hint(url, target, sha256)}")
        out.close()
        actual = digest.hexdigest()
        if actual != sha256:
            raise DownloadError(f"checksum mismatch for {url}: expected SHA-256 {sha256}, got {actual}. "
                                f"The file was deleted; the server may have changed it, or the transfer "
                                f"was corrupted. {_manual_hint(url, target, sha256)}")
        os.replace(tmp, target)  # atomic on one file system: the target appears complete or not at all
    finally:
        out.close()
        if tmp.exists():
            tmp.unlink()
    return target


def load_imdb(
    cache_dir: str | os.PathLike | None = None,
    url: str = IMDB_URL,
    sha256: str = IMDB_SHA256,
    progress: bool = True,
) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The IMDB reviews as ``(train, test)``, each a list of ``(text, label)`` (label 1 = positive).

    Downloads ``aclImdb_v1.tar.gz`` (about 84 MB) once with :func:`download`, then reads the
    reviews straight from the archive (layout ``aclImdb/{train,test}/{pos,neg}/*.txt``; the
    unlabelled ``train/unsup`` reviews are skipped). The HTML line breaks ``<br />`` in the
    texts become spaces. Rows come in a fixed order (sorted by file name), so a seeded split
    of them is reproducible.
    """
    archive = download(url, sha256, cache_dir=cache_dir, progress=progress)
    splits: dict[str, list[tuple[str, str, int]]] = {"train": [], "test": []}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if not member.isfile() or len(parts) != 4 or parts[0] != "aclImdb" or not parts[3].endswith(".txt"):
                continue
            _, split, polarity, _ = parts
            if split not in splits or polarity not in ("pos", "neg"):
                continue
            raw = tar.extractfile(member).read().decode("utf-8", errors="replace")
            splits[split].append((member.name, raw.replace("<br />", " "), int(polarity == "pos")))
    for split, rows in splits.items():
        if not rows:
            raise DownloadError(f"{archive} holds no reviews under aclImdb/{split}/pos|neg: "
                                f"is it the Large Movie Review Dataset archive?")
    return tuple([(text, label) for _, text, label in sorted(rows)] for rows in splits.values())


def load_sentence_polarity(
    cache_dir: str | os.PathLike | None = None,
    url: str = POLARITY_URL,
    sha256: str = POLARITY_SHA256,
    progress: bool = True,
) -> list[tuple[str, int]]:
    """The sentence polarity data set v1.0 as a list of ``(text, label)``, label 1 = positive.

    Downloads ``rt-polaritydata.tar.gz`` (about 0.5 MB) once with :func:`download`, then reads
    ``rt-polaritydata/rt-polarity.pos`` and ``rt-polaritydata/rt-polarity.neg`` from the archive:
    one lower-cased, tokenised sentence per line, Latin-1 encoded. Empty lines are skipped. The
    rows come in file order, all positive sentences first, so shuffle (seeded) before splitting.
    """
    archive = download(url, sha256, cache_dir=cache_dir, progress=progress)
    found: dict[int, list[str]] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            name = member.name.removeprefix("./")
            label = {"rt-polaritydata/rt-polarity.pos": 1, "rt-polaritydata/rt-polarity.neg": 0}.get(name)
            if label is None:
                continue
            text = tar.extractfile(member).read().decode("latin-1")
            found[label] = [line.strip() for line in text.splitlines() if line.strip()]
    missing = [f"rt-polarity.{name}" for label, name in ((1, "pos"), (0, "neg")) if not found.get(label)]
    if missing:
        raise DownloadError(f"{archive} holds no sentences in rt-polaritydata/{' or '.join(missing)}: "
                            f"is it the sentence polarity data set v1.0 archive?")
    return [(text, label) for label in (1, 0) for text in found[label]]
