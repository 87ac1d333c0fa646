"""seqlab.lm: every word-level model of the comparison scores the same predictions."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from seqlab.lm import LengthBatches, LengthBuckets, count_parameters, pad_pairs, sentence_pairs, window_tensors
from seqlab.text import pad_sequences
from seqlab.ngram import ngram_events
from seqlab.text import BOS, EOS, UNK, Vocab
from seqlab.train import IGNORE_INDEX

SENTENCES = [["the", "cat", "sat"], ["a", "dog"], ["the", "dog", "sat", "down", "again"], ["cat"]]
VOCAB = Vocab.build(SENTENCES)


def test_window_tensors_are_the_ngram_predictions():
    x, y = window_tensors(SENTENCES, VOCAB, context=3)
    events = [e for s in SENTENCES for e in ngram_events(s, 4)]
    assert x.shape == (len(events), 3) and y.shape == (len(events),)
    assert VOCAB.decode(x[0]) == [BOS, BOS, BOS] and VOCAB.itos[y[0]] == "the"
    assert VOCAB.itos[y[3]] == EOS and VOCAB.decode(x[3]) == ["the", "cat", "sat"]
    assert len(y) == sum(len(s) + 1 for s in SENTENCES)


def test_sentence_pairs_shift_by_one_and_predict_the_end():
    (x, y), *_ = sentence_pairs(SENTENCES, VOCAB)
    assert VOCAB.decode(x) == [BOS, "the", "cat", "sat"] and VOCAB.decode(y) == ["the", "cat", "sat", EOS]
    assert sentence_pairs([["zebra"]], VOCAB)[0][1][0] == VOCAB[UNK]


def test_pad_pairs_pads_inputs_and_ignores_padded_targets():
    x, y = pad_pairs(sentence_pairs(SENTENCES[:2], VOCAB), pad_id=VOCAB.pad_id)
    assert x.shape == y.shape == (2, 4)
    assert x[1, 3] == VOCAB.pad_id and y[1, 3] == IGNORE_INDEX and y[1, 2] == VOCAB[EOS]
    with pytest.raises(ValueError):
        pad_pairs([], 0)
    with pytest.raises(ValueError, match="lengths differ"):
        pad_pairs([([1, 2], [3])], 0)


def test_length_batches_cover_every_target_once_and_reshuffle():
    pairs = sentence_pairs(SENTENCES * 5, VOCAB)
    batches = LengthBatches(pairs, VOCAB.pad_id, batch_size=3, shuffle=True, seed=1)
    assert len(batches) == 7
    assert batches.n_targets() == sum(len(s) + 1 for s in SENTENCES * 5)
    first = [tuple(x.shape) for x, _ in batches]
    second = [tuple(x.shape) for x, _ in batches]
    assert sorted(first) == sorted(second)
    assert first != second or len(set(first)) == 1      # a new order on every pass
    again = [tuple(x.shape) for x, _ in LengthBatches(pairs, VOCAB.pad_id, batch_size=3, shuffle=True, seed=1)]
    assert again == first                                # reproducible from the seed
    for x, y in batches:                                 # similar lengths: at most 1 padded step here
        assert ((y == IGNORE_INDEX).sum(1) <= 3).all()
    with pytest.raises(ValueError):
        LengthBatches(pairs, 0, batch_size=0)


def test_count_parameters_skips_frozen_ones():
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 3))
    assert count_parameters(model) == 40 + 15
    model[0].weight.requires_grad_(False)
    assert count_parameters(model) == 15


def test_length_buckets_trim_each_batch_and_keep_rows_together():
    seqs = [[1] * n for n in (5, 1, 3, 2, 4, 1, 5)]
    ids, lengths = pad_sequences(seqs)
    labels = torch.arange(7)
    buckets = LengthBuckets(ids, lengths, labels, batch_size=3, shuffle=True, seed=0)
    assert len(buckets) == 3
    seen = []
    for x, lens, y in buckets:
        assert x.shape[1] == int(lens.max())                 # cut to the longest row of the batch
        assert torch.equal(lens, lengths[y]) and torch.equal(x, ids[y, :x.shape[1]])
        seen += y.tolist()
    assert sorted(seen) == list(range(7))
    assert [y.tolist() for _, _, y in LengthBuckets(ids, lengths, labels, batch_size=3)][0] == [1, 5, 3]
    with pytest.raises(ValueError):
        LengthBuckets(ids, lengths[:3], labels)
