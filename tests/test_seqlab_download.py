"""seqlab.download: verified downloads and the IMDB loader, tested offline.

A small archive with the layout of aclImdb_v1.tar.gz is made here and served from a local HTTP
server on 127.0.0.1 (http.server in a thread). The cases: success (and reuse of the cache), a
wrong checksum, a transfer that stops early, a 404, and no network at all (a closed port). In
every failure the error says what happened and no file (partial or corrupt) is left in the cache.
"""
from __future__ import annotations

import hashlib
import io
import socket
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from seqlab.download import (IMDB_SHA256, IMDB_URL, POLARITY_SHA256, POLARITY_URL, DownloadError,
                             default_cache_dir, download, load_imdb, load_sentence_polarity, sha256_file)

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


class _Handler(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        type(self).hits.append(self.path)
        if self.path.startswith("/polarity/"):
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


def test_corrupt_cached_file_is_replaced(server, tmp_path):
    (tmp_path / "aclImdb_v1.tar.gz").write_bytes(b"garbage from an old, broken download")
    path = download(f"{server}/full/aclImdb_v1.tar.gz", ARCHIVE_SHA, cache_dir=tmp_path, timeout=10)
    assert path.read_bytes() == ARCHIVE


def test_wrong_checksum_deletes_the_file(server, tmp_path):
    with pytest.raises(DownloadError, match="checksum mismatch") as info:
        download(f"{server}/full/aclImdb_v1.tar.gz", "0" * 64, cache_dir=tmp_path, timeout=10)
    assert ARCHIVE_SHA in str(info.value)          # says what it got
    assert _left_in(tmp_path) == []


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
    assert _left_in(tmp_path) == []


def test_load_sentence_polarity_rejects_another_archive(server, tmp_path):
    with pytest.raises(DownloadError, match="rt-polarity.pos or rt-polarity.neg"):
        load_sentence_polarity(cache_dir=tmp_path, url=f"{server}/full/rt-polaritydata.tar.gz",
                               sha256=ARCHIVE_SHA, progress=False)    # the IMDB-like archive


def test_polarity_constants():
    assert POLARITY_URL.endswith("/rt-polaritydata.tar.gz") and POLARITY_URL.startswith("https://")
    assert len(POLARITY_SHA256) == 64 and int(POLARITY_SHA256, 16) >= 0
