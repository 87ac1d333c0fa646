"""seqlab.download: verified downloads and the IMDB, sentence-polarity and glove.6B loaders, tested offline.

Small archives with the layout of aclImdb_v1.tar.gz, rt-polaritydata.tar.gz and glove.6B.zip are
made here and served from a local HTTP server on 127.0.0.1 (http.server in a thread). The cases:
success (and reuse of the cache), a wrong checksum (SHA-256 or SHA-1), a transfer that stops early,
a 404, no network at all (a closed port), a TLS failure (https:// to the plain-HTTP server), errors
while reading the response (ssl.SSLError, OSError) and a full disk (/dev/full); for glove.6B also a
list of URLs tried in order, an archive that is not the published one but holds the right member, a
wrong checksum of the extracted member, a missing member and the chapter 5 cell that uses it. In
every failure the error says what happened, no partial (.part) file is left in the cache, and a file
that failed its checksum is kept as <name>.rejected, never silently deleted.
"""
from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import socket
import ssl
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import numpy as np
import pytest

import seqlab.download
from seqlab.download import (GLOVE6B_MEMBER_SHA1, GLOVE6B_MIRROR_URL, GLOVE6B_SHA1, GLOVE6B_URL, GLOVE6B_URLS,
                             IMDB_SHA256, IMDB_URL, POLARITY_SHA256, POLARITY_URL, DownloadError,
                             default_cache_dir, download, glove6b_path, load_glove6b, load_imdb,
                             load_sentence_polarity, sha1_file, sha256_file)

ROOT = Path(__file__).resolve().parents[1]

REVIEWS = {
    "aclImdb/train/pos/0_9.txt": "A wonderful film.<br />I loved it.",
    "aclImdb/train/pos/1_8.txt": "Great acting.",
    "aclImdb/train/neg/0_2.txt": "Dull and far too long.",
    "aclImdb/test/pos/0_10.txt": "Superb.",
    "aclImdb/test/neg/0_1.txt": "Awful.<br /><br />Avoid.",
    "aclImdb/test/neg/1_3.txt": "Weak script.",
    "aclImdb/train/unsup/0_0.txt": "unlabelled: must be skipped",
    "aclImdb/README": "not a review",
}


# The layout of rt-polaritydata.tar.gz: one sentence per line, Latin-1 (here an "é" and a blank line).
SENTENCES = {
    "rt-polaritydata/rt-polarity.pos": "a gorgeous , witty film .\nthe best of the year .\n\n",
    "rt-polaritydata/rt-polarity.neg": "simplistic , silly and tedious .\na clich\u00e9d mess .\n",
    "rt-polaritydata.README.1.0.txt": "not a sentence",
}


def _make_archive(files: dict[str, str] = REVIEWS, encoding: str = "utf-8") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode(encoding)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


ARCHIVE = _make_archive()
ARCHIVE_SHA = hashlib.sha256(ARCHIVE).hexdigest()
POLARITY = _make_archive(SENTENCES, encoding="latin-1")
POLARITY_SHA = hashlib.sha256(POLARITY).hexdigest()


# A tiny glove.6B.zip: a 50d member in GloVe's text format (no header line), 5 numbers a word here.
# The numbers are multiples of 1/4, exact in float32. The words cover one analogy question of
# questions-words.txt (athens : greece :: baghdad : iraq) for the chapter 5 cell.
GLOVE_WORDS = {
    "the": [0.25, -0.5, 0.75, 1.0, -1.25],
    "good": [1.5, 0.25, -0.25, 0.5, 0.0],
    "great": [1.25, 0.5, -0.25, 0.75, 0.25],
    "bad": [-1.5, 0.25, -0.25, 0.5, 0.0],
    "athens": [0.0, 2.0, 0.5, -0.5, 1.0],
    "greece": [0.0, 2.0, -0.5, 0.5, 1.0],
    "baghdad": [0.5, -2.0, 0.5, -0.5, 1.0],
    "iraq": [0.5, -2.0, -0.5, 0.5, 1.0],
}
GLOVE_TEXT = "".join(f"{w} {' '.join(str(v) for v in vec)}\n" for w, vec in GLOVE_WORDS.items()).encode()


def _make_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


GLOVE_ZIP = _make_zip({"glove.6B.50d.txt": GLOVE_TEXT, "glove.6B.100d.txt": b"x 1.0\n"})
GLOVE_ZIP_SHA1 = hashlib.sha1(GLOVE_ZIP).hexdigest()
GLOVE_MEMBER_SHA1 = hashlib.sha1(GLOVE_TEXT).hexdigest()
REZIPPED = _make_zip({"glove.6B.100d.txt": b"x 1.0\n", "glove.6B.50d.txt": GLOVE_TEXT})   # a mirror's packing
assert hashlib.sha1(REZIPPED).hexdigest() != GLOVE_ZIP_SHA1
BAD_MEMBER_ZIP = _make_zip({"glove.6B.50d.txt": GLOVE_TEXT[:-10] + b"\n"})             # right name, wrong text
OTHER_ZIP = _make_zip({"glove.6B.100d.txt": b"x 1.0\n", "README.txt": b"no 50d file here"})
OTHER_ZIP_SHA1 = hashlib.sha1(OTHER_ZIP).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    hits: list[str] = []

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server's naming
        type(self).hits.append(self.path)
        if self.path.startswith("/glove/"):
            self._send(GLOVE_ZIP)
        elif self.path.startswith("/glove-rezipped/"):
            self._send(REZIPPED)
        elif self.path.startswith("/glove-bad-member/"):
            self._send(BAD_MEMBER_ZIP)
        elif self.path.startswith("/glove-other/"):
            self._send(OTHER_ZIP)
        elif self.path.startswith("/polarity/"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(POLARITY)))
            self.end_headers()
            self.wfile.write(POLARITY)
        elif self.path.startswith("/full/"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(ARCHIVE)))
            self.end_headers()
            self.wfile.write(ARCHIVE)
        elif self.path.startswith("/short/"):
            # Promise the whole archive, send half of it, then close the connection.
            self.send_response(200)
            self.send_header("Content-Length", str(len(ARCHIVE)))
            self.end_headers()
            self.wfile.write(ARCHIVE[: len(ARCHIVE) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_error(404)

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]   # nothing listens here once the socket is closed


def _left_in(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def test_download_success_and_reuse(server, tmp_path):
    url = f"{server}/full/aclImdb_v1.tar.gz"
    path = download(url, ARCHIVE_SHA, cache_dir=tmp_path, timeout=10)
    assert path == tmp_path / "aclImdb_v1.tar.gz"
    assert path.read_bytes() == ARCHIVE
    assert _left_in(tmp_path) == ["aclImdb_v1.tar.gz"]   # no temporary file left over
    before = len(_Handler.hits)
    again = download(url, ARCHIVE_SHA.upper(), cache_dir=tmp_path, timeout=10)
    assert again == path and len(_Handler.hits) == before, "a verified cached file must be reused"


def test_download_custom_filename(server, tmp_path):
    path = download(f"{server}/full/x", ARCHIVE_SHA, cache_dir=tmp_path, filename="data.tgz", timeout=10)
    assert path.name == "data.tgz" and sha256_file(path) == ARCHIVE_SHA


def test_corrupt_cached_file_is_kept_aside_and_replaced(server, tmp_path):
    (tmp_path / "aclImdb_v1.tar.gz").write_bytes(b"garbage from an old, broken download")
    (tmp_path / "aclImdb_v1.tar.gz.rejected").write_bytes(b"an older rejected copy")
    with pytest.warns(UserWarning, match=r"did not match its SHA-256 .*moved it to .*aclImdb_v1\.tar\.gz\.rejected"):
        path = download(f"{server}/full/aclImdb_v1.tar.gz", ARCHIVE_SHA, cache_dir=tmp_path, timeout=10)
    assert path.read_bytes() == ARCHIVE
    assert (tmp_path / "aclImdb_v1.tar.gz.rejected").read_bytes() == b"garbage from an old, broken download"
    assert _left_in(tmp_path) == ["aclImdb_v1.tar.gz", "aclImdb_v1.tar.gz.rejected"]


def test_rejected_cached_file_is_named_when_the_new_download_fails(tmp_path):
    (tmp_path / "aclImdb_v1.tar.gz").write_bytes(b"garbage")
    url = f"http://127.0.0.1:{_closed_port()}/aclImdb_v1.tar.gz"
    with pytest.warns(UserWarning), pytest.raises(DownloadError, match="offline") as info:
        download(url, ARCHIVE_SHA, cache_dir=tmp_path, timeout=5)
    assert f"was moved to {tmp_path / 'aclImdb_v1.tar.gz.rejected'}" in str(info.value)
    assert _left_in(tmp_path) == ["aclImdb_v1.tar.gz.rejected"]


def test_wrong_checksum_keeps_the_download_aside(server, tmp_path):
    with pytest.raises(DownloadError, match="checksum mismatch") as info:
        download(f"{server}/full/aclImdb_v1.tar.gz", "0" * 64, cache_dir=tmp_path, timeout=10)
    assert ARCHIVE_SHA in str(info.value)          # says what it got
    assert f"kept as {tmp_path / 'aclImdb_v1.tar.gz.rejected'}" in str(info.value)
    assert _left_in(tmp_path) == ["aclImdb_v1.tar.gz.rejected"]   # not used, not deleted, no .part
    assert (tmp_path / "aclImdb_v1.tar.gz.rejected").read_bytes() == ARCHIVE


def test_interrupted_transfer_leaves_nothing(server, tmp_path):
    with pytest.raises(DownloadError, match="interrupted"):
        download(f"{server}/short/aclImdb_v1.tar.gz", ARCHIVE_SHA, cache_dir=tmp_path, timeout=10)
    assert _left_in(tmp_path) == []


def test_http_error_is_reported(server, tmp_path):
    with pytest.raises(DownloadError, match="404"):
        download(f"{server}/missing/aclImdb_v1.tar.gz", ARCHIVE_SHA, cache_dir=tmp_path, timeout=10)
    assert _left_in(tmp_path) == []


def test_offline_error_says_where_to_put_the_file(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/aclImdb_v1.tar.gz"
    with pytest.raises(DownloadError, match="offline") as info:
        download(url, ARCHIVE_SHA, cache_dir=tmp_path, timeout=5)
    message = str(info.value)
    assert str(tmp_path / "aclImdb_v1.tar.gz") in message and ARCHIVE_SHA in message
    assert _left_in(tmp_path) == []


def test_tls_failure_is_not_called_offline(server, tmp_path):
    url = server.replace("http://", "https://") + "/full/aclImdb_v1.tar.gz"   # TLS to a plain-HTTP server
    with pytest.raises(DownloadError, match="TLS") as info:
        download(url, ARCHIVE_SHA, cache_dir=tmp_path, timeout=10)
    assert "offline" not in str(info.value) and "network is reachable" in str(info.value)
    assert _left_in(tmp_path) == []


def test_certificate_error_says_what_it_is(monkeypatch, tmp_path):
    import urllib.error

    def refuse(*args, **kwargs):
        raise urllib.error.URLError(ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed"))
    monkeypatch.setattr(seqlab.download.urllib.request, "urlopen", refuse)
    with pytest.raises(DownloadError, match="certificate could not be verified") as info:
        download("https://example.invalid/aclImdb_v1.tar.gz", ARCHIVE_SHA, cache_dir=tmp_path)
    assert "offline" not in str(info.value) and "CA certificates" in str(info.value)


class _FailingResponse:
    """A response that sends some bytes, then raises ``error`` on the next read."""

    def __init__(self, error: BaseException):
        self.error, self.sent, self.headers = error, False, {"Content-Length": str(len(ARCHIVE))}

    def read(self, size):
        if not self.sent:
            self.sent = True
            return ARCHIVE[:100]
        raise self.error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("error", [ssl.SSLError(1, "[SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC]"),
                                   OSError(104, "Connection reset by peer"), TimeoutError("timed out")])
def test_errors_while_reading_are_wrapped(monkeypatch, tmp_path, error):
    monkeypatch.setattr(seqlab.download.urllib.request, "urlopen", lambda *a, **k: _FailingResponse(error))
    with pytest.raises(DownloadError, match=rf"interrupted after 100 bytes \({type(error).__name__}") as info:
        download("https://example.invalid/aclImdb_v1.tar.gz", ARCHIVE_SHA, cache_dir=tmp_path)
    assert info.value.__cause__ is error
    assert _left_in(tmp_path) == []                    # no .part file


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full to simulate a full disk")
def test_full_disk_is_a_download_error(server, tmp_path, monkeypatch):
    made = []

    def part_on_full_disk(cache, name):
        tmp = cache / f".{name}.test.part"
        tmp.write_bytes(b"")
        made.append(tmp)
        return tmp, open("/dev/full", "wb")            # every write fails with ENOSPC
    monkeypatch.setattr(seqlab.download, "_open_part", part_on_full_disk)
    with pytest.raises(DownloadError, match="disk full") as info:
        download(f"{server}/full/aclImdb_v1.tar.gz", ARCHIVE_SHA, cache_dir=tmp_path, timeout=10)
    assert isinstance(info.value.__cause__, OSError) and made
    assert _left_in(tmp_path) == []                    # the .part file was removed


def test_load_imdb_reads_the_archive_layout(server, tmp_path):
    train, test = load_imdb(cache_dir=tmp_path, url=f"{server}/full/aclImdb_v1.tar.gz",
                            sha256=ARCHIVE_SHA, progress=False)
    assert sorted(train) == sorted([("A wonderful film. I loved it.", 1), ("Great acting.", 1),
                                    ("Dull and far too long.", 0)])
    assert sorted(label for _, label in test) == [0, 0, 1]
    assert ("Awful.  Avoid.", 0) in test                # <br /> became spaces
    assert all("unlabelled" not in text for text, _ in train)


def test_load_imdb_rejects_an_archive_without_reviews(server, tmp_path):
    empty = io.BytesIO()
    with tarfile.open(fileobj=empty, mode="w:gz"):
        pass
    (tmp_path / "aclImdb_v1.tar.gz").write_bytes(empty.getvalue())
    sha = hashlib.sha256(empty.getvalue()).hexdigest()
    with pytest.raises(DownloadError, match="no reviews"):
        load_imdb(cache_dir=tmp_path, url=f"{server}/full/aclImdb_v1.tar.gz", sha256=sha, progress=False)


def test_constants_and_cache_dir(monkeypatch, tmp_path):
    assert IMDB_URL.endswith("/aclImdb_v1.tar.gz")
    assert len(IMDB_SHA256) == 64 and int(IMDB_SHA256, 16) >= 0
    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("SEQLAB_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "seqlab"


def test_load_sentence_polarity_reads_the_archive_layout(server, tmp_path):
    rows = load_sentence_polarity(cache_dir=tmp_path, url=f"{server}/polarity/rt-polaritydata.tar.gz",
                                  sha256=POLARITY_SHA, progress=False)
    assert rows == [("a gorgeous , witty film .", 1), ("the best of the year .", 1),
                    ("simplistic , silly and tedious .", 0), ("a clich\u00e9d mess .", 0)]   # Latin-1 decoded
    assert _left_in(tmp_path) == ["rt-polaritydata.tar.gz"]


def test_load_sentence_polarity_verifies_the_checksum(server, tmp_path):
    with pytest.raises(DownloadError, match="checksum mismatch"):
        load_sentence_polarity(cache_dir=tmp_path, url=f"{server}/polarity/rt-polaritydata.tar.gz",
                               progress=False)                        # the real checksum: not this file
    assert _left_in(tmp_path) == ["rt-polaritydata.tar.gz.rejected"]


def test_load_sentence_polarity_rejects_another_archive(server, tmp_path):
    with pytest.raises(DownloadError, match="rt-polarity.pos or rt-polarity.neg"):
        load_sentence_polarity(cache_dir=tmp_path, url=f"{server}/full/rt-polaritydata.tar.gz",
                               sha256=ARCHIVE_SHA, progress=False)    # the IMDB-like archive


def test_polarity_constants():
    assert POLARITY_URL.endswith("/rt-polaritydata.tar.gz") and POLARITY_URL.startswith("https://")
    assert len(POLARITY_SHA256) == 64 and int(POLARITY_SHA256, 16) >= 0


# ---------------------------------------------------------------- SHA-1 downloads (for glove.6B)


def test_download_by_sha1_records_the_sha256(server, tmp_path):
    url = f"{server}/full/aclImdb_v1.tar.gz"
    path = download(url, cache_dir=tmp_path, timeout=10, sha1=hashlib.sha1(ARCHIVE).hexdigest().upper())
    assert path.read_bytes() == ARCHIVE
    assert _left_in(tmp_path) == ["aclImdb_v1.tar.gz", "aclImdb_v1.tar.gz.sha256"]
    assert (tmp_path / "aclImdb_v1.tar.gz.sha256").read_text() == f"{ARCHIVE_SHA}  aclImdb_v1.tar.gz\n"
    before = len(_Handler.hits)
    assert download(url, sha1=sha1_file(path), cache_dir=tmp_path, timeout=10) == path
    assert len(_Handler.hits) == before, "a verified cached file must be reused"
    (tmp_path / "aclImdb_v1.tar.gz.sha256").unlink()          # as for a copy put there by hand
    assert download(url, sha1=sha1_file(path), cache_dir=tmp_path, timeout=10) == path
    assert (tmp_path / "aclImdb_v1.tar.gz.sha256").read_text().split()[0] == ARCHIVE_SHA
    assert len(_Handler.hits) == before


def test_sha256_downloads_record_nothing_extra(server, tmp_path):
    download(f"{server}/full/aclImdb_v1.tar.gz", sha256=ARCHIVE_SHA, cache_dir=tmp_path, timeout=10)
    assert _left_in(tmp_path) == ["aclImdb_v1.tar.gz"]


@pytest.mark.parametrize("checksums", [{}, {"sha256": ARCHIVE_SHA, "sha1": "0" * 40}])
def test_download_needs_exactly_one_checksum(server, tmp_path, checksums):
    before = len(_Handler.hits)
    with pytest.raises(ValueError, match="exactly one checksum"):
        download(f"{server}/full/aclImdb_v1.tar.gz", cache_dir=tmp_path, timeout=10, **checksums)
    assert len(_Handler.hits) == before and _left_in(tmp_path) == []


def test_wrong_sha1_names_the_algorithm(server, tmp_path):
    with pytest.raises(DownloadError, match="expected SHA-1 0{40}, got") as info:
        download(f"{server}/full/aclImdb_v1.tar.gz", cache_dir=tmp_path, timeout=10, sha1="0" * 40)
    assert hashlib.sha1(ARCHIVE).hexdigest() in str(info.value) and "SHA-256" not in str(info.value)
    assert _left_in(tmp_path) == ["aclImdb_v1.tar.gz.rejected"]


# ---------------------------------------------------------------- glove.6B


def _glove(server, tmp_path, route="glove", **kwargs):
    options = dict(cache_dir=tmp_path, url=f"{server}/{route}/glove.6B.zip", progress=False,
                   sha1=GLOVE_ZIP_SHA1, member_sha1=GLOVE_MEMBER_SHA1)
    return options | kwargs


def test_glove6b_success_and_vectors(server, tmp_path):
    kv = load_glove6b(50, **_glove(server, tmp_path))
    assert list(kv.index_to_key) == list(GLOVE_WORDS) and kv.vector_size == 5
    assert kv.vectors.dtype == np.float32
    for word, vector in GLOVE_WORDS.items():
        assert np.array_equal(kv[word], np.array(vector, dtype=np.float32)), word
    assert _left_in(tmp_path) == ["glove.6B.50d.txt", "glove.6B.zip", "glove.6B.zip.sha256"]
    assert (tmp_path / "glove.6B.50d.txt").read_bytes() == GLOVE_TEXT
    assert (tmp_path / "glove.6B.zip.sha256").read_text().split()[0] == hashlib.sha256(GLOVE_ZIP).hexdigest()
    assert list(load_glove6b(50, limit=3, **_glove(server, tmp_path)).index_to_key) == ["the", "good", "great"]


def test_glove6b_reuses_the_cache_without_network_or_archive(server, tmp_path):
    path = glove6b_path(50, **_glove(server, tmp_path))
    (tmp_path / "glove.6B.zip").unlink()                          # the archive is not needed any more
    gone = f"http://127.0.0.1:{_closed_port()}/glove.6B.zip"      # nor the server
    assert glove6b_path(50, **_glove(server, tmp_path, url=gone)) == path
    assert path.read_bytes() == GLOVE_TEXT


def test_glove6b_keeps_a_corrupt_extracted_file_aside(server, tmp_path):
    glove6b_path(50, **_glove(server, tmp_path))
    (tmp_path / "glove.6B.50d.txt").write_bytes(b"the 1.0 2.0\n")     # e.g. edited, truncated, or copied wrong
    before = len(_Handler.hits)
    with pytest.warns(UserWarning, match=r"glove\.6B\.50d\.txt did not match its SHA-1 .*moved it to .*\.rejected"):
        assert glove6b_path(50, **_glove(server, tmp_path)).read_bytes() == GLOVE_TEXT
    assert len(_Handler.hits) == before                              # extracted again from the cached archive
    assert (tmp_path / "glove.6B.50d.txt.rejected").read_bytes() == b"the 1.0 2.0\n"


def test_glove6b_archive_mismatch_but_member_match_is_accepted(server, tmp_path):
    """A mirror that re-zipped the archive: its SHA-1 differs, the text file used is the published one."""
    with pytest.warns(UserWarning, match=rf"has SHA-1 {hashlib.sha1(REZIPPED).hexdigest()}, not the published "
                                         rf"{GLOVE_ZIP_SHA1}; its glove.6B.50d.txt matches"):
        path = glove6b_path(50, **_glove(server, tmp_path, route="glove-rezipped"))
    assert path.read_bytes() == GLOVE_TEXT
    assert _left_in(tmp_path) == ["glove.6B.50d.txt", "glove.6B.zip", "glove.6B.zip.sha256"]
    assert (tmp_path / "glove.6B.zip").read_bytes() == REZIPPED       # the archive is kept, not discarded
    assert (tmp_path / "glove.6B.zip.sha256").read_text() == f"{hashlib.sha256(REZIPPED).hexdigest()}  glove.6B.zip\n"


def test_glove6b_hand_copied_archive_is_judged_by_its_member(tmp_path):
    (tmp_path / "glove.6B.zip").write_bytes(REZIPPED)                 # not the published archive, no network
    gone = f"http://127.0.0.1:{_closed_port()}/glove.6B.zip"
    with pytest.warns(UserWarning, match="not the published"):
        path = glove6b_path(50, cache_dir=tmp_path, url=gone, progress=False, sha1=GLOVE_ZIP_SHA1,
                            member_sha1=GLOVE_MEMBER_SHA1)
    assert path.read_bytes() == GLOVE_TEXT


def test_glove6b_wrong_member_checksum(server, tmp_path):
    with pytest.raises(DownloadError, match=f"checksum mismatch for glove.6B.50d.txt .*got {GLOVE_MEMBER_SHA1}") as info:
        glove6b_path(50, **_glove(server, tmp_path, member_sha1="0" * 40))
    message = str(info.value)
    assert f"kept as {tmp_path / 'glove.6B.50d.txt.rejected'}" in message and "matches the published" in message
    assert f"delete {tmp_path / 'glove.6B.zip'} and run again" in message
    assert _left_in(tmp_path) == ["glove.6B.50d.txt.rejected", "glove.6B.zip", "glove.6B.zip.sha256"]   # no .part
    assert (tmp_path / "glove.6B.50d.txt.rejected").read_bytes() == GLOVE_TEXT


def test_glove6b_archive_and_member_mismatch_is_an_error(server, tmp_path):
    with pytest.raises(DownloadError, match="checksum mismatch for glove.6B.50d.txt") as info:
        glove6b_path(50, **_glove(server, tmp_path, route="glove-bad-member"))
    message = str(info.value)
    assert f"not the published {GLOVE_ZIP_SHA1}" in message and "run again to download it afresh" in message
    assert _left_in(tmp_path) == ["glove.6B.50d.txt.rejected", "glove.6B.zip", "glove.6B.zip.sha256"]
    assert (tmp_path / "glove.6B.zip").read_bytes() == BAD_MEMBER_ZIP  # kept


def test_glove6b_default_member_checksum_is_the_published_one(server, tmp_path):
    with pytest.raises(DownloadError, match=GLOVE6B_MEMBER_SHA1[50]):
        glove6b_path(50, **_glove(server, tmp_path, member_sha1=None))    # our fake is not the real file
    assert "glove.6B.50d.txt" not in _left_in(tmp_path)


def test_glove6b_missing_member_says_what_the_archive_holds(server, tmp_path):
    with pytest.raises(DownloadError, match="holds no glove.6B.50d.txt; it holds glove.6B.100d.txt, README.txt"):
        glove6b_path(50, **_glove(server, tmp_path, route="glove-other", sha1=OTHER_ZIP_SHA1))
    assert "glove.6B.50d.txt" not in _left_in(tmp_path)


@pytest.mark.parametrize("dim", [0, 64, "100", 1000])
def test_glove6b_rejects_other_dimensions(server, tmp_path, dim):
    before = len(_Handler.hits)
    with pytest.raises(ValueError, match=r"dim must be one of \[50, 100, 200, 300\]"):
        glove6b_path(dim, **_glove(server, tmp_path))
    assert len(_Handler.hits) == before and _left_in(tmp_path) == []


def test_glove6b_offline_says_where_to_put_a_copy(tmp_path):
    url = f"http://127.0.0.1:{_closed_port()}/glove.6B.zip"
    with pytest.raises(DownloadError, match="offline") as info:
        glove6b_path(100, cache_dir=tmp_path, url=url, progress=False)
    message = str(info.value)
    assert str(tmp_path / "glove.6B.zip") in message and f"published SHA-1 is {GLOVE6B_SHA1}" in message
    assert str(tmp_path / "glove.6B.100d.txt") in message and f"SHA-1 must be {GLOVE6B_MEMBER_SHA1[100]}" in message
    assert _left_in(tmp_path) == []


def test_glove6b_tries_the_urls_in_order(server, tmp_path):
    """A 404, a closed port and an interrupted transfer each move on to the next URL."""
    urls = [f"{server}/missing/glove.6B.zip", f"http://127.0.0.1:{_closed_port()}/glove.6B.zip",
            f"{server}/short/glove.6B.zip", f"{server}/glove/glove.6B.zip", f"{server}/glove-other/never-tried"]
    before = len(_Handler.hits)
    path = glove6b_path(50, **_glove(server, tmp_path, url=urls))
    assert path.read_bytes() == GLOVE_TEXT
    assert _Handler.hits[before:] == ["/missing/glove.6B.zip", "/short/glove.6B.zip", "/glove/glove.6B.zip"]
    assert _left_in(tmp_path) == ["glove.6B.50d.txt", "glove.6B.zip", "glove.6B.zip.sha256"]   # no .part


def test_glove6b_all_urls_failing_lists_them_all(server, tmp_path):
    closed = f"http://127.0.0.1:{_closed_port()}/glove.6B.zip"
    urls = [f"{server}/missing/glove.6B.zip", closed]
    with pytest.raises(DownloadError, match="from any of the 2 URLs tried") as info:
        glove6b_path(50, **_glove(server, tmp_path, url=urls))
    message = str(info.value)
    assert f"(1) could not download {urls[0]}: the server answered 404" in message
    assert f"(2) could not download {closed}" in message and "offline" in message
    assert message.index("(1)") < message.index("(2)") and _left_in(tmp_path) == []


def test_glove6b_constants():
    assert GLOVE6B_URL == "https://huggingface.co/stanfordnlp/glove/resolve/main/glove.6B.zip"
    assert GLOVE6B_MIRROR_URL == "https://nlp.stanford.edu/data/wordvecs/glove.6B.zip"
    assert GLOVE6B_URLS == (GLOVE6B_URL, GLOVE6B_MIRROR_URL)         # Hugging Face first, then Stanford
    assert sorted(GLOVE6B_MEMBER_SHA1) == [50, 100, 200, 300]
    for checksum in [GLOVE6B_SHA1, *GLOVE6B_MEMBER_SHA1.values()]:
        assert len(checksum) == 40 and int(checksum, 16) >= 0 and checksum == checksum.lower()


# ---------------------------------------------------------------- chapter 5's opt-in cell


# "Our" skip-gram vocabulary for the cell: six of the tiny glove.6B's words and one it lacks.
OUR_WORDS = {"athens": [1.0, 0.0, 0.0], "greece": [0.0, 1.0, 0.0], "baghdad": [0.0, 0.0, 1.0],
             "iraq": [1.0, 1.0, 0.0], "good": [0.0, 1.0, 1.0], "great": [1.0, 0.0, 1.0],
             "zzyzx": [1.0, 1.0, 1.0]}


def _run_glove6b_cell(namespace_loader, monkeypatch, capsys, run: bool) -> str:
    """Run chapter 5's glove.6B cell (found by its id) with ``load_glove6b`` replaced by ``namespace_loader``
    and section 2's skip-gram model replaced by vectors of :data:`OUR_WORDS`."""
    from types import SimpleNamespace

    from gensim.models import KeyedVectors

    from seqlab.embeddings import analogy_accuracy, restrict_vectors, similarity_spearman

    ours = KeyedVectors(vector_size=3)
    ours.add_vectors(list(OUR_WORDS), np.asarray(list(OUR_WORDS.values()), dtype=np.float32))

    nb = nbformat.read(ROOT / "chapters" / "05_embeddings.ipynb", as_version=4)
    (cell,) = [c for c in nb.cells if c.get("id") == "ch05-glove6b"]
    if run:
        monkeypatch.setenv("SEQLAB_RUN_GLOVE6B", "1")
    else:
        monkeypatch.delenv("SEQLAB_RUN_GLOVE6B", raising=False)
    namespace = {"os": __import__("os"), "load_glove6b": namespace_loader, "DownloadError": DownloadError,
                 "analogy_accuracy": analogy_accuracy, "similarity_spearman": similarity_spearman,
                 "restrict_vectors": restrict_vectors, "models": {"skip-gram": SimpleNamespace(wv=ours)}}
    exec(compile(cell.source, "05_embeddings.ipynb:ch05-glove6b", "exec"), namespace)
    return capsys.readouterr().out


def test_chapter_cell_runs_on_the_local_archive(server, tmp_path, monkeypatch, capsys):
    loader = functools.partial(load_glove6b, **_glove(server, tmp_path))
    out = _run_glove6b_cell(lambda dim=100, **kw: loader(50, **kw), monkeypatch, capsys, run=True)
    assert "glove.6B.100d: vocabulary 8 words x 5 dims" in out
    # athens, greece, baghdad, iraq: 3 questions; "good" and "great" cover one SimLex pair, none of WordSim
    assert "glove.6B.100d, all its words: analogy accuracy 1.000 on 3 of 19,544 questions" in out
    assert "6 of our 7 words are in glove.6B.100d" in out                 # zzyzx is not
    assert re.search(r"^glove\.6B\.100d, our words: analogy accuracy 1\.000 on 3 of 19,544 questions", out, re.M)
    assert re.search(r"^skip-gram, the same words: analogy accuracy [\d.]+ on 3 of 19,544 questions", out, re.M)
    assert "glove.6B neighbours of good: great" in out


def test_chapter_cell_reports_a_download_error(tmp_path, monkeypatch, capsys):
    url = f"http://127.0.0.1:{_closed_port()}/glove.6B.zip"
    loader = functools.partial(load_glove6b, cache_dir=tmp_path, url=url, progress=False)
    out = _run_glove6b_cell(loader, monkeypatch, capsys, run=True)
    assert out.startswith("glove.6B not available: could not download") and "offline" in out


def test_chapter_cell_is_opt_in(monkeypatch, capsys):
    def must_not_load(*args, **kwargs):
        raise AssertionError("the cell downloaded without SEQLAB_RUN_GLOVE6B=1")
    out = _run_glove6b_cell(must_not_load, monkeypatch, capsys, run=False)
    assert out.startswith("glove.6B experiment skipped: set SEQLAB_RUN_GLOVE6B=1 (or RUN_GLOVE6B = True)")


def test_glove6b_bad_url_moves_on(server, tmp_path):
    path = glove6b_path(50, **_glove(server, tmp_path, url=["not a url", f"{server}/glove/glove.6B.zip"]))
    assert path.read_bytes() == GLOVE_TEXT
    with pytest.raises(DownloadError, match="not a URL that can be fetched"):
        download("not a url", ARCHIVE_SHA, cache_dir=tmp_path, filename="x.tgz")
