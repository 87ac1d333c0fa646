"""Verified downloads into a cache directory: the IMDB reviews, the sentence-polarity data set and
the pretrained glove.6B vectors. Introduced in chapter 4 (glove.6B: chapter 5).

The book and the exercises never need the network: real, large data sets are optional extras.
When a chapter asks for one, :func:`download` fetches it once into a cache directory and checks
its SHA-256 checksum (or SHA-1 where that is the only one published, as for glove.6B), so a
truncated or tampered file is never used:

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
import zipfile
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

# The pretrained GloVe vectors glove.6B (Pennington et al., 2014): 6 billion tokens of Wikipedia
# 2014 and Gigaword 5, 400,000 lower-cased words, in four files of 50, 100, 200 and 300 dimensions
# (GloVe's text format, no header line) inside one zip archive of 862,182,613 bytes. The URL is the
# GloVe project's own link (it redirects to downloads.cs.stanford.edu).
#
# Where the checksums come from, and why SHA-1: Stanford publishes no checksum for this archive,
# and no SHA-256 of it is published anywhere we could find. The only published ones are Apache
# MXNet's (mxnet/contrib/text/_constants.py, and the embedding module of gluon), which are SHA-1
# hashes of the archive and of each member. They were copied from there, not computed here: this
# repository is built offline and has never downloaded the archive. SHA-1 is weak against a
# deliberate collision, but it still catches a truncated, corrupted or swapped file. After a first
# verified download, :func:`download` writes the archive's SHA-256 to ``glove.6B.zip.sha256`` next
# to it, so that it can be pinned here.
GLOVE6B_URL = "https://nlp.stanford.edu/data/glove.6B.zip"
GLOVE6B_SHA1 = "b64e54f1877d2f735bdd000c1d7d771e25c7dfdc"
GLOVE6B_MEMBER_SHA1 = {
    50: "21bf566a9d27f84d253e0cd4d4be9dcc07976a6d",    # glove.6B.50d.txt
    100: "16b1dbfaf35476790bd9df40c83e2dfbd05312f1",   # glove.6B.100d.txt
    200: "17d0355ddaa253e298ede39877d1be70f99d9148",   # glove.6B.200d.txt
    300: "646443dd885090927f8215ecf7a677e9f703858d",   # glove.6B.300d.txt
}

_CHUNK = 1 << 16
_ALGORITHMS = {"sha256": "SHA-256", "sha1": "SHA-1"}   # hashlib name -> the name in messages


class DownloadError(RuntimeError):
    """A download failed (offline, interrupted, or wrong checksum); the message says what to do."""


def default_cache_dir() -> Path:
    """``$SEQLAB_CACHE`` if set, else ``~/.cache/seqlab``."""
    return Path(os.environ.get("SEQLAB_CACHE") or Path.home() / ".cache" / "seqlab")


def file_digests(path: str | os.PathLike, *algorithms: str) -> list[str]:
    """The checksums of a file (hashlib names, e.g. ``"sha256"``, ``"sha1"``), read once, as lowercase hex."""
    digests = [hashlib.new(name) for name in algorithms]
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            for digest in digests:
                digest.update(block)
    return [digest.hexdigest() for digest in digests]


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 checksum of a file, as 64 lowercase hex digits."""
    return file_digests(path, "sha256")[0]


def sha1_file(path: str | os.PathLike) -> str:
    """The SHA-1 checksum of a file, as 40 lowercase hex digits."""
    return file_digests(path, "sha1")[0]


def _manual_hint(url: str, target: Path, algorithm: str, checksum: str) -> str:
    return (f"To use the file without this download, fetch {url} on a machine with a network "
            f"connection and copy it to {target} (its {_ALGORITHMS[algorithm]} must be {checksum}).")


def _expected_checksum(sha256: str | None, sha1: str | None) -> tuple[str, str]:
    """``(hashlib name, lowercase hex)`` of the one checksum given; both or neither: ValueError."""
    if (sha256 is None) == (sha1 is None):
        raise ValueError("give exactly one checksum: sha256=... or sha1=...")
    return ("sha256", sha256.lower()) if sha256 is not None else ("sha1", sha1.lower())


def download(
    url: str,
    sha256: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    filename: str | None = None,
    timeout: float = 60.0,
    progress: bool = False,
    *,
    sha1: str | None = None,
) -> Path:
    """Download ``url`` into the cache (once) and return the path of the verified file.

    Give exactly one checksum: ``sha256`` (preferred) or ``sha1`` (for files whose publisher
    gives only a SHA-1, such as glove.6B); both or neither raise ``ValueError``. A file verified
    by SHA-1 also gets its SHA-256 recorded in ``<filename>.sha256`` beside it (the
    ``sha256sum`` format), so that the stronger checksum can be pinned once it is known.
    ``filename`` defaults to the last part of the URL's path. ``timeout`` (seconds) applies to
    connecting and to each read. ``progress`` shows a tqdm bar. Raises :class:`DownloadError`
    when the network is unreachable, the transfer stops early, or the checksum does not match;
    no partial or corrupt file is left behind in any of these cases.
    """
    algorithm, checksum = _expected_checksum(sha256, sha1)
    label = _ALGORITHMS[algorithm]
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    name = filename or Path(urllib.parse.urlparse(url).path).name
    if not name:
        raise ValueError(f"cannot infer a file name from {url!r}; pass filename=")
    target, record = cache / name, cache / f"{name}.sha256"
    if target.is_file():
        # A file verified by SHA-1 (downloaded, or copied here by hand) gets its SHA-256 recorded once.
        also = ["sha256"] if algorithm != "sha256" and not record.is_file() else []
        found = file_digests(target, algorithm, *also)
        if found[0] == checksum:
            if also:
                _record_sha256(record, found[1], name)
            return target
        target.unlink()  # a stale or corrupt copy: fetch it again
        record.unlink(missing_ok=True)   # and its record, if any

    def hint() -> str:
        return _manual_hint(url, target, algorithm, checksum)

    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=cache, prefix=f".{name}.", suffix=".part")
    tmp, out = Path(tmp_name), os.fdopen(fd, "wb")
    try:
        digest, received = hashlib.new(algorithm), 0
        also_sha256 = hashlib.sha256() if algorithm != "sha256" else None   # recorded, not checked
        try:
            response = urllib.request.urlopen(url, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise DownloadError(f"could not download {url}: the server answered {exc.code} {exc.reason}. "
                                f"{hint()}") from exc
        except (urllib.error.URLError, OSError) as exc:   # refused, no route, DNS failure, timeout
            reason = getattr(exc, "reason", exc)
            raise DownloadError(f"could not download {url} ({reason}): is this machine offline? "
                                f"{hint()}") from exc
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
                    if also_sha256 is not None:
                        also_sha256.update(block)
                    received += len(block)
                    if bar is not None:
                        bar.update(len(block))
            except (http.client.IncompleteRead, ConnectionError, socket.timeout) as exc:
                raise DownloadError(f"the download of {url} was interrupted after {received} bytes "
                                    f"({type(exc).__name__}); run it again. "
                                    f"{hint()}") from exc
            finally:
                if bar is not None:
                    bar.close()
        if expected is not None and received != expected:
            raise DownloadError(f"the download of {url} was interrupted: got {received} of {expected} "
                                f"bytes; run it again. {hint()}")
        out.close()
        actual = digest.hexdigest()
        if actual != checksum:
            raise DownloadError(f"checksum mismatch for {url}: expected {label} {checksum}, got {actual}. "
                                f"The file was deleted; the server may have changed it, or the transfer "
                                f"was corrupted. {hint()}")
        os.replace(tmp, target)  # atomic on one file system: the target appears complete or not at all
    finally:
        out.close()
        if tmp.exists():
            tmp.unlink()
    if also_sha256 is not None:
        _record_sha256(record, also_sha256.hexdigest(), name)
    return target


def _record_sha256(record: Path, sha256: str, name: str) -> None:
    """Not a check: a record of a verified file's SHA-256 (``sha256sum`` format), to pin it in the code."""
    record.write_text(f"{sha256}  {name}\n", encoding="utf-8")


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


def glove6b_path(
    dim: int = 100,
    cache_dir: str | os.PathLike | None = None,
    url: str = GLOVE6B_URL,
    progress: bool = True,
    sha1: str = GLOVE6B_SHA1,
    member_sha1: str | None = None,
) -> Path:
    """The path of ``glove.6B.{dim}d.txt`` in the cache, downloaded and extracted once, verified.

    ``dim`` is 50, 100, 200 or 300. The first call downloads ``glove.6B.zip`` (862 MB) with
    :func:`download`, checked against the published SHA-1 ``sha1``, and extracts only the one
    member into the cache (a temporary file renamed into place), checked against
    ``member_sha1`` (default: :data:`GLOVE6B_MEMBER_SHA1` for ``dim``). Later calls find the
    verified text file and touch neither the network nor the archive; the archive stays in the
    cache for the other dimensions (delete it by hand to free the space). Raises
    :class:`DownloadError` offline, on a wrong checksum (the bad file is deleted) and when the
    archive lacks the member (the message lists what it holds).
    """
    if dim not in GLOVE6B_MEMBER_SHA1:
        raise ValueError(f"dim must be one of {sorted(GLOVE6B_MEMBER_SHA1)}, got {dim!r}")
    member_sha1 = (member_sha1 or GLOVE6B_MEMBER_SHA1[dim]).lower()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    member = f"glove.6B.{dim}d.txt"
    target = cache / member
    if target.is_file():
        if sha1_file(target) == member_sha1:
            return target                        # verified: no network, no archive needed
        target.unlink()                          # a stale or corrupt copy: extract it again

    try:
        archive = download(url, cache_dir=cache, filename="glove.6B.zip", progress=progress, sha1=sha1)
    except DownloadError as exc:                 # the text file alone, fetched by hand, also does
        raise DownloadError(f"{exc} Or copy only {member} to {target} (its SHA-1 must be {member_sha1}).") from exc
    try:
        with zipfile.ZipFile(archive) as zf:
            names = [info.filename for info in zf.infolist() if not info.is_dir()]
            found = [name for name in names if Path(name).name == member]
            if not found:
                raise DownloadError(f"{archive} holds no {member}; it holds {', '.join(names) or 'nothing'}. "
                                    f"Is it the glove.6B archive?")
            fd, tmp_name = tempfile.mkstemp(dir=cache, prefix=f".{member}.", suffix=".part")
            tmp = Path(tmp_name)
            try:
                digest = hashlib.sha1()
                with os.fdopen(fd, "wb") as out, zf.open(found[0]) as source:
                    for block in iter(lambda: source.read(1 << 20), b""):
                        out.write(block)
                        digest.update(block)
                actual = digest.hexdigest()
                if actual != member_sha1:
                    raise DownloadError(f"checksum mismatch for {member} in {archive}: expected SHA-1 "
                                        f"{member_sha1}, got {actual}. The extracted file was deleted.")
                os.replace(tmp, target)          # atomic: the text file appears complete or not at all
            finally:
                if tmp.exists():
                    tmp.unlink()
    except zipfile.BadZipFile as exc:            # not a zip, or a member whose CRC does not match
        raise DownloadError(f"{archive} is not a readable zip archive ({exc}); delete it and run again.") from exc
    return target


def load_glove6b(
    dim: int = 100,
    limit: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    url: str = GLOVE6B_URL,
    progress: bool = True,
    sha1: str = GLOVE6B_SHA1,
    member_sha1: str | None = None,
):
    """The pretrained glove.6B vectors of ``dim`` dimensions as gensim ``KeyedVectors`` (float32).

    The file comes from :func:`glove6b_path` (downloaded once, 862 MB). ``limit`` keeps only the
    first ``limit`` words, which in glove.6B are the most frequent ones. GloVe's text format has
    no header line, hence ``no_header=True``.
    """
    from gensim.models import KeyedVectors

    path = glove6b_path(dim, cache_dir=cache_dir, url=url, progress=progress, sha1=sha1, member_sha1=member_sha1)
    return KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=True, limit=limit)
