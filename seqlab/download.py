"""Verified downloads into a cache directory: the IMDB reviews, the sentence-polarity data set and
the pretrained glove.6B vectors. Introduced in chapter 4 (glove.6B: chapter 5).

The book and the exercises never need the network: real, large data sets are optional extras.
When a chapter asks for one, :func:`download` fetches it once into a cache directory and checks
its SHA-256 checksum (or SHA-1 where that is the only one we have), so a truncated or tampered
file is never used:

- the bytes go to a temporary file next to the target, which is renamed into place only after
  the whole body arrived and its checksum matched (a crash never leaves a half-written target);
- an interrupted transfer, a TLS error or a full disk deletes the temporary file and raises
  :class:`DownloadError`; a file that fails its checksum is not used but kept as
  ``<name>.rejected`` for inspection (never silently deleted);
- without a network, :class:`DownloadError` says where to put a copy fetched by hand;
- a cached file whose checksum matches is reused without touching the network.

For glove.6B, :func:`glove6b_path` tries several URLs in turn and verifies the text file it
extracts (the one that is used), not only the archive.

The cache directory is ``cache_dir`` if given, else ``$SEQLAB_CACHE``, else ``~/.cache/seqlab``.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import ssl
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
import zlib
from collections.abc import Sequence
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
# (GloVe's text format, no header line) inside one zip archive of 862,182,613 bytes (862 MB =
# 822 MiB; the GloVe README calls it 822 MB). The GloVe project's page lists the Hugging Face copy
# as its main link and Stanford's server as the mirror; :func:`glove6b_path` tries them in that order.
#
# Where the checksums come from: the GloVe project publishes none that we have. The SHA-1 hashes
# below (of the archive and of each text file in it) were copied from Apache MXNet
# (mxnet/contrib/text/_constants.py; its older mxnet/contrib/text/embedding.py downloaded the
# archive from http://nlp.stanford.edu/data/), so they are hashes of Stanford's archive as it was
# then. Nobody here has checked them against today's files: this repository is built offline and
# has never downloaded the archive. The Hugging Face copy may be packed differently (its file page
# may show a SHA-256; not checked here), so the archive's SHA-1 is only reported, and what is
# verified is the text file that is used: the extracted member must match its published SHA-1.
# SHA-1 is weak against a deliberate collision, but it still catches a truncated, corrupted or
# swapped file. We have no SHA-256 to pin; after a download :func:`glove6b_path` writes the
# archive's SHA-256 to ``glove.6B.zip.sha256`` beside it, so that one can be pinned later.
GLOVE6B_URL = "https://huggingface.co/stanfordnlp/glove/resolve/main/glove.6B.zip"
GLOVE6B_MIRROR_URL = "https://nlp.stanford.edu/data/wordvecs/glove.6B.zip"
GLOVE6B_URLS = (GLOVE6B_URL, GLOVE6B_MIRROR_URL)    # tried in this order
GLOVE6B_SHA1 = "b64e54f1877d2f735bdd000c1d7d771e25c7dfdc"
GLOVE6B_MEMBER_SHA1 = {
    50: "21bf566a9d27f84d253e0cd4d4be9dcc07976a6d",    # glove.6B.50d.txt
    100: "16b1dbfaf35476790bd9df40c83e2dfbd05312f1",   # glove.6B.100d.txt
    200: "17d0355ddaa253e298ede39877d1be70f99d9148",   # glove.6B.200d.txt
    300: "646443dd885090927f8215ecf7a677e9f703858d",   # glove.6B.300d.txt
}

_CHUNK = 1 << 16
_ALGORITHMS = {"sha256": "SHA-256", "sha1": "SHA-1"}   # hashlib name -> the name in messages
# What reading a response can raise: ssl.SSLError, ConnectionError, socket.timeout and
# urllib.error.URLError are OSErrors; http.client.IncompleteRead and BadStatusLine are HTTPExceptions.
_TRANSFER_ERRORS = (OSError, http.client.HTTPException)


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


def rejected_path(path: str | os.PathLike) -> Path:
    """Where a file that failed its checksum is kept: ``<name>.rejected`` beside it."""
    path = Path(path)
    return path.with_name(f"{path.name}.rejected")


def _move_aside(path: Path, final: Path | None = None) -> Path:
    """Keep a file that failed its checksum as ``<name>.rejected`` (``final``'s name if given),
    replacing an older one; atomic (one rename). Returns the new path."""
    rejected = rejected_path(final or path)
    os.replace(path, rejected)
    return rejected


def _open_part(cache: Path, name: str) -> tuple[Path, object]:
    """A new temporary file ``.<name>.*.part`` in ``cache``, open for binary writing."""
    fd, tmp_name = tempfile.mkstemp(dir=cache, prefix=f".{name}.", suffix=".part")
    return Path(tmp_name), os.fdopen(fd, "wb")


def _connect_error(url: str, exc: BaseException) -> str:
    """Why ``url`` could not be opened, in words: HTTP status, TLS/certificate, timeout or offline."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"could not download {url}: the server answered {exc.code} {exc.reason}."
    if isinstance(exc, ValueError):           # urlopen's "unknown url type"
        return f"could not download {url}: not a URL that can be fetched ({exc})."
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, ssl.SSLCertVerificationError):
        return (f"could not download {url}: the server's TLS certificate could not be verified ({reason}). "
                f"The network is reachable; this machine's CA certificates may be missing or out of "
                f"date, or a proxy intercepts HTTPS.")
    if isinstance(reason, ssl.SSLError):
        return (f"could not download {url}: the TLS (HTTPS) connection failed ({reason}). The network is "
                f"reachable; the server or a proxy between here and there broke the secure connection.")
    if isinstance(reason, TimeoutError):      # socket.timeout is TimeoutError
        return f"could not download {url}: no answer within the timeout ({reason}); is this machine offline?"
    if isinstance(reason, http.client.HTTPException):
        return f"could not download {url}: the server's answer was not valid HTTP ({type(reason).__name__}: {reason})."
    return f"could not download {url} ({reason}): is this machine offline?"


def _write_error(tmp: Path, exc: OSError) -> str:
    return (f"could not write to {tmp.parent} ({exc}): is the disk full? Nothing was kept; free some "
            f"space, or point SEQLAB_CACHE (or cache_dir=) at another disk, and run again.")


def _fetch(url: str, cache: Path, name: str, timeout: float, progress: bool,
           algorithms: Sequence[str]) -> tuple[Path, list[str]]:
    """Download ``url`` into a new temporary file in ``cache``; return its path and its checksums.

    The caller renames the file into place (or aside). Raises :class:`DownloadError` (its message
    says what happened, without a hint) when ``url`` cannot be opened, the transfer stops early or
    fails (any ``OSError``, ``ssl.SSLError`` included, or ``http.client.HTTPException`` while
    reading) or the file cannot be written; the temporary file is then deleted.
    """
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the cache directory {cache} ({exc}); point SEQLAB_CACHE "
                            f"(or cache_dir=) at a writable folder.") from exc
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except (*_TRANSFER_ERRORS, ValueError) as exc:   # HTTPError, URLError (refused, DNS, TLS), timeout
        raise DownloadError(_connect_error(url, exc)) from exc
    digests, received = [hashlib.new(a) for a in algorithms], 0
    tmp, out = _open_part(cache, name)
    try:
        with response:
            length = response.headers.get("Content-Length")
            expected = int(length) if length is not None and length.isdigit() else None
            bar = None
            if progress:
                from tqdm.auto import tqdm
                bar = tqdm(total=expected, unit="B", unit_scale=True, desc=name)
            try:
                while True:
                    try:
                        block = response.read(_CHUNK)
                    except _TRANSFER_ERRORS as exc:   # reset, timeout, TLS error, IncompleteRead
                        raise DownloadError(f"the download of {url} was interrupted after {received} bytes "
                                            f"({type(exc).__name__}: {exc}); run it again.") from exc
                    if not block:
                        break
                    try:
                        out.write(block)
                    except OSError as exc:
                        raise DownloadError(_write_error(tmp, exc)) from exc
                    for digest in digests:
                        digest.update(block)
                    received += len(block)
                    if bar is not None:
                        bar.update(len(block))
            finally:
                if bar is not None:
                    bar.close()
        if expected is not None and received != expected:
            raise DownloadError(f"the download of {url} was interrupted: got {received} of {expected} "
                                f"bytes; run it again.")
        try:
            out.close()                               # flushes: a full disk can show only here
        except OSError as exc:
            raise DownloadError(_write_error(tmp, exc)) from exc
    except BaseException:
        try:
            out.close()
        except OSError:
            pass
        tmp.unlink(missing_ok=True)                   # never leave a .part file behind
        raise
    return tmp, [digest.hexdigest() for digest in digests]


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
    gives only a SHA-1); both or neither raise ``ValueError``. A file verified by SHA-1 also gets
    its SHA-256 recorded in ``<filename>.sha256`` beside it (the ``sha256sum`` format), so that
    the stronger checksum can be pinned once it is known. ``filename`` defaults to the last part
    of the URL's path. ``timeout`` (seconds) applies to connecting and to each read. ``progress``
    shows a tqdm bar.

    A file that fails its checksum is never used and never silently deleted: a cached copy that
    does not match is moved to ``<filename>.rejected`` (with a warning; it replaces an older
    ``.rejected``) before downloading again, and a download that does not match is kept there
    too. Raises :class:`DownloadError` when the network is unreachable (or TLS fails), the
    transfer stops early, the disk is full, or the checksum does not match; no partial file
    (``.part``) is left behind, and the target appears only complete and verified.
    """
    algorithm, checksum = _expected_checksum(sha256, sha1)
    label = _ALGORITHMS[algorithm]
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    name = filename or Path(urllib.parse.urlparse(url).path).name
    if not name:
        raise ValueError(f"cannot infer a file name from {url!r}; pass filename=")
    target, record = cache / name, cache / f"{name}.sha256"
    also = ["sha256"] if algorithm != "sha256" else []     # recorded, not checked
    set_aside = ""
    if target.is_file():
        found = file_digests(target, algorithm, *([] if record.is_file() else also))
        if found[0] == checksum:
            if len(found) > 1:        # a file verified by SHA-1 (e.g. copied here by hand): record its SHA-256
                _record_sha256(record, found[1], name)
            return target
        moved = _move_aside(target)
        record.unlink(missing_ok=True)                      # it described the file that was there before
        set_aside = (f" The cached {target}, whose {label} was {found[0]}, not {checksum}, was moved to "
                     f"{moved}; delete it when you no longer need it.")
        warnings.warn(f"{target} did not match its {label} checksum (got {found[0]}, expected "
                      f"{checksum}); moved it to {moved} and downloading it again.", stacklevel=2)

    hint = _manual_hint(url, target, algorithm, checksum)
    try:
        tmp, found = _fetch(url, cache, name, timeout, progress, [algorithm, *also])
    except DownloadError as exc:
        raise DownloadError(f"{exc}{set_aside} {hint}") from (exc.__cause__ or exc)   # the OSError etc. itself
    if found[0] != checksum:
        moved = _move_aside(tmp, target)
        raise DownloadError(f"checksum mismatch for {url}: expected {label} {checksum}, got {found[0]}. "
                            f"The download was not used; it was kept as {moved} (delete it when you no "
                            f"longer need it). The server may have changed the file, or the transfer "
                            f"was corrupted.{set_aside} {hint}")
    os.replace(tmp, target)  # atomic on one file system: the target appears complete or not at all
    if also:
        _record_sha256(record, found[1], name)
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
    url: str | Sequence[str] = GLOVE6B_URLS,
    progress: bool = True,
    sha1: str = GLOVE6B_SHA1,
    member_sha1: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """The path of ``glove.6B.{dim}d.txt`` in the cache, downloaded and extracted once, verified.

    ``dim`` is 50, 100, 200 or 300. What is verified is the text file that is used: its SHA-1
    must be ``member_sha1`` (default: :data:`GLOVE6B_MEMBER_SHA1` for ``dim``, MXNet's copy of
    the published one). The first call downloads ``glove.6B.zip`` (862 MB) into the cache,
    trying the URLs of ``url`` (one URL or a list; default :data:`GLOVE6B_URLS`, Hugging Face,
    then Stanford) in order: a URL that fails (offline, an HTTP error, an interrupted transfer)
    moves on to the next. It then extracts only the one member (a temporary file renamed into
    place). The archive's own SHA-1 is compared with ``sha1`` but a mismatch alone is only a
    warning (a re-packed mirror holds the same text files); its SHA-256 is written to
    ``glove.6B.zip.sha256`` beside it. Later calls find the verified text file and touch neither
    the network nor the archive; the archive stays in the cache for the other dimensions (delete
    it by hand to free the space).

    Nothing that fails a check is deleted silently: a cached text file that does not match is
    moved to ``glove.6B.{dim}d.txt.rejected`` (with a warning) and extracted again; a member that
    does not match is kept there and the archive is kept, and :class:`DownloadError` says what to
    do. Also raises :class:`DownloadError` when every URL fails (the message lists them all), when
    the archive is not a readable zip or lacks the member (the message lists what it holds), and
    when the disk is full.
    """
    if dim not in GLOVE6B_MEMBER_SHA1:
        raise ValueError(f"dim must be one of {sorted(GLOVE6B_MEMBER_SHA1)}, got {dim!r}")
    urls = [url] if isinstance(url, str) else list(url)
    if not urls:
        raise ValueError("give at least one URL")
    sha1, member_sha1 = sha1.lower(), (member_sha1 or GLOVE6B_MEMBER_SHA1[dim]).lower()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    member = f"glove.6B.{dim}d.txt"
    target, archive = cache / member, cache / "glove.6B.zip"
    record = cache / "glove.6B.zip.sha256"
    set_aside = ""
    if target.is_file():
        found = sha1_file(target)
        if found == member_sha1:
            return target                        # verified: no network, no archive needed
        moved = _move_aside(target)              # e.g. a wrong or truncated copy put there by hand
        set_aside = f" The cached {target} (SHA-1 {found}) did not match either and was moved to {moved}."
        warnings.warn(f"{target} did not match its SHA-1 (got {found}, expected {member_sha1}); moved it to "
                      f"{moved} and extracting it again.", stacklevel=2)

    manual = (f"To use glove.6B without this download, fetch {' or '.join(urls)} on a machine with a network "
              f"connection and copy it to {archive} (the archive's published SHA-1 is {sha1}; another "
              f"packing is accepted if its {member} is right), or copy only {member} to {target} (its SHA-1 "
              f"must be {member_sha1}).")
    if archive.is_file():                        # from an earlier call, or copied here by hand
        source = f"the cached {archive}"
        archive_sha1, archive_sha256 = file_digests(archive, "sha1", "sha256")
    else:
        failures = []
        for candidate in urls:
            try:
                tmp, (archive_sha1, archive_sha256) = _fetch(candidate, cache, archive.name, timeout, progress,
                                                             ("sha1", "sha256"))
            except DownloadError as exc:         # offline, HTTP error, interrupted, TLS: try the next URL
                failures.append(str(exc))
                continue
            os.replace(tmp, archive)             # complete; whether it is the right one, its member decides
            source = candidate
            break
        else:
            tried = " ".join(f"({i}) {failure}" for i, failure in enumerate(failures, 1))
            raise DownloadError(f"could not download glove.6B.zip from any of the {len(urls)} URLs tried: "
                                f"{tried}{set_aside} {manual}")
    _record_sha256(record, archive_sha256, archive.name)
    if archive_sha1 == sha1:
        archive_note = f" The archive's SHA-1 matches the published {sha1}."
    else:
        archive_note = (f" The archive's SHA-1 is {archive_sha1}, not the published {sha1}: it is another "
                        f"packing (a mirror may re-zip it) or another file.")
    again = (f"The archive was kept: delete {archive} and run again to download it afresh (url= picks "
             f"another source), or copy a verified {member} to {target}.")

    try:
        with zipfile.ZipFile(archive) as zf:
            names = [info.filename for info in zf.infolist() if not info.is_dir()]
            found = [name for name in names if Path(name).name == member]
            if not found:
                raise DownloadError(f"{archive} (from {source}) holds no {member}; it holds "
                                    f"{', '.join(names) or 'nothing'}. Is it the glove.6B archive?"
                                    f"{archive_note}{set_aside} {again}")
            tmp, out = _open_part(cache, member)
            try:
                digest = hashlib.sha1()
                with out, zf.open(found[0]) as packed:
                    for block in iter(lambda: packed.read(1 << 20), b""):
                        out.write(block)
                        digest.update(block)
            except BaseException:
                tmp.unlink(missing_ok=True)      # never leave a .part file behind
                raise
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:   # not a zip, or damaged compressed data
        raise DownloadError(f"{archive} (from {source}) is not a readable zip archive "
                            f"({type(exc).__name__}: {exc}).{archive_note}{set_aside} {again}") from exc
    except OSError as exc:                       # disk full while extracting, or the archive unreadable
        raise DownloadError(f"could not extract {member} from {archive} into {cache} ({exc}): is the disk "
                            f"full? Nothing was kept but the archive; free some space and run again.") from exc
    actual = digest.hexdigest()
    if actual != member_sha1:
        moved = _move_aside(tmp, target)
        raise DownloadError(f"checksum mismatch for {member} in {archive} (from {source}): expected SHA-1 "
                            f"{member_sha1}, got {actual}. It was not used; it was kept as {moved}."
                            f"{archive_note}{set_aside} {again}")
    os.replace(tmp, target)                      # atomic: the text file appears complete or not at all
    if archive_sha1 != sha1:
        warnings.warn(f"{archive} (from {source}) has SHA-1 {archive_sha1}, not the published {sha1}; its "
                      f"{member} matches its published SHA-1 {member_sha1}, so that is used.", stacklevel=2)
    return target


def load_glove6b(
    dim: int = 100,
    limit: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    url: str | Sequence[str] = GLOVE6B_URLS,
    progress: bool = True,
    sha1: str = GLOVE6B_SHA1,
    member_sha1: str | None = None,
):
    """The pretrained glove.6B vectors of ``dim`` dimensions as gensim ``KeyedVectors`` (float32).

    The file comes from :func:`glove6b_path` (downloaded once, 862 MB; ``url`` is one URL or a
    list tried in order). ``limit`` keeps only the first ``limit`` words, which in glove.6B are the
    most frequent ones. GloVe's text format has no header line, hence ``no_header=True``.
    """
    from gensim.models import KeyedVectors

    path = glove6b_path(dim, cache_dir=cache_dir, url=url, progress=progress, sha1=sha1, member_sha1=member_sha1)
    return KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=True, limit=limit)
