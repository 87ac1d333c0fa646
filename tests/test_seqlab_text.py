import pytest
import torch

from seqlab.text import BOS, EOS, PAD, UNK, Vocab, make_loader, pad_sequences, split_sentences, tokenize


def test_tokenize_words_punctuation_and_contractions():
    assert tokenize("I'm a student, aren't I?") == ["i'm", "a", "student", ",", "aren't", "i", "?"]
    assert tokenize("Strife-torn at 4.00pm", lower=False) == ["Strife-torn", "at", "4.00pm"]
    assert tokenize("") == []


def test_split_sentences_keeps_quotes_and_titles():
    text = 'He said "no." Then 5 people left! Mr. Smith agreed. ok then'
    assert split_sentences(text) == ['He said "no."', "Then 5 people left!", "Mr. Smith agreed. ok then"]


def test_vocab_ids_specials_and_unknown():
    v = Vocab.build([["b", "a", "b"], ["c", "b", "a"]], min_freq=2)
    assert v.itos[:4] == [PAD, UNK, BOS, EOS]
    assert v.itos[4:] == ["b", "a"]          # by frequency, "c" (seen once) cut
    assert len(v) == 6 and "c" not in v and "a" in v
    assert v["c"] == v.unk_id == 1 and v.pad_id == 0
    assert v.encode(["a", "zzz"]) == [5, 1]
    assert v.decode(torch.tensor([4, 5])) == ["b", "a"]


def test_vocab_ties_are_alphabetical_and_max_size():
    v = Vocab.build([["z", "y", "x"]], max_size=2)
    assert v.itos[4:] == ["x", "y"]


def test_vocab_rejects_bad_arguments():
    with pytest.raises(ValueError):
        Vocab.build([["a"]], min_freq=0)
    with pytest.raises(ValueError):
        Vocab(["a"], specials=("<pad>",))
    with pytest.raises(ValueError):
        Vocab(["a", "a"])


def test_pad_sequences_shapes_lengths_and_truncation():
    ids, lengths = pad_sequences([[1, 2, 3], [4], []], pad_id=0)
    assert ids.tolist() == [[1, 2, 3], [4, 0, 0], [0, 0, 0]]
    assert lengths.tolist() == [3, 1, 0]
    ids, lengths = pad_sequences([[1, 2, 3, 4]], max_len=2, truncate="pre")
    assert ids.tolist() == [[3, 4]] and lengths.tolist() == [2]
    ids, _ = pad_sequences([[1, 2, 3, 4]], max_len=2)
    assert ids.tolist() == [[1, 2]]
    with pytest.raises(ValueError):
        pad_sequences([[1]], truncate="middle")
    with pytest.raises(ValueError):
        pad_sequences([])


def test_make_loader_is_reproducible():
    x = torch.arange(20)
    order1 = torch.cat([b[0] for b in make_loader(x, batch_size=4, seed=3)])
    order2 = torch.cat([b[0] for b in make_loader(x, batch_size=4, seed=3)])
    assert order1.tolist() == order2.tolist() and sorted(order1.tolist()) == list(range(20))
    assert order1.tolist() != list(range(20))
