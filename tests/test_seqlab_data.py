import pytest

from seqlab import data


def test_lee_corpus_has_300_articles():
    docs = data.load_lee()
    assert len(docs) == 293 and len(set(docs)) == 293 and all(isinstance(d, str) and d for d in docs)
    assert len(data.load_lee(unique=False)) == 300  # seven articles appear twice in the file
    assert len(data.load_lee("test")) == 50
    with pytest.raises(ValueError):
        data.load_lee("nope")


def test_lee_splits_are_disjoint_deterministic_and_sized():
    splits = {s: data.lee_sentences(s) for s in ("train", "valid", "test")}
    sizes = {s: sum(map(len, v)) for s, v in splits.items()}
    assert sizes["train"] > 6 * sizes["test"] > 0 and sizes["valid"] > 0
    assert data.lee_sentences("test") == splits["test"]
    train = {" ".join(s) for s in splits["train"] if len(s) > 12}
    test = {" ".join(s) for s in splits["test"] if len(s) > 12}
    assert not train & test  # split by distinct article: no long sentence leaks
    assert data.lee_sentences("test", seed=1) != splits["test"]
    assert all(tok == tok.lower() for s in splits["test"][:50] for tok in s)


def test_lee_split_arguments_checked():
    with pytest.raises(ValueError):
        data.lee_sentences("dev")
    with pytest.raises(ValueError):
        data.lee_sentences("train", fractions=(0.5, 0.1, 0.1))


def test_missing_bundled_file_has_clear_error():
    with pytest.raises(FileNotFoundError, match="bundled corpus"):
        data.corpus_path("no_such_file.txt")


def test_polarity_labels():
    rows = data.load_polarity()
    assert len(rows) == 200 and {label for _, label in rows} == {0, 1}
    assert sum(label for _, label in rows) == 100
