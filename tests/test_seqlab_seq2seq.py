"""seqlab.seq2seq: the grammar, the translation and its alignment, disjoint splits, seeding, the
teacher-forcing tensors."""
from __future__ import annotations

import random

import pytest
import torch

from seqlab import seq2seq as s2s
from seqlab.train import IGNORE_INDEX


def test_a_known_sentence_is_translated_with_its_alignment():
    source = "the big dog chases a cat and a girl sees the old horse".split()
    target, alignment = s2s.translate(source)
    assert " ".join(target) == "keun gae neun goyangi reul jjotneunda geurigo sonyeo neun neulgeun mal reul bonda"
    assert alignment == (1, 2, -1, 5, -1, 3, 6, 8, -1, 11, 12, -1, 9)
    for j, i in enumerate(alignment):      # every aligned target word translates its source word
        if i >= 0:
            assert s2s.LEXICON[source[i]] == target[j]
        else:
            assert target[j] in (s2s.SUBJECT, s2s.OBJECT)


def test_translate_rejects_what_is_not_in_the_grammar():
    with pytest.raises(ValueError, match="exactly one verb"):
        s2s.translate("the dog the cat".split())
    with pytest.raises(ValueError, match="unknown word"):
        s2s.translate("the dog sees the unicorn".split())


@pytest.mark.parametrize("clauses, max_adjectives", [(1, 0), (2, 1), (3, 2), (4, 1)])
def test_pairs_follow_the_grammar(clauses, max_adjectives):
    rng = random.Random(clauses)
    for _ in range(50):
        pair = s2s.make_pair(rng, clauses, max_adjectives)
        assert pair.clauses == clauses and pair.source.count("and") == clauses - 1
        n_adjectives = sum(w in s2s.ADJECTIVES for w in pair.source)
        assert len(pair.source) == 6 * clauses - 1 + n_adjectives and n_adjectives <= 2 * clauses * max_adjectives
        assert len(pair.target) == len(pair.alignment) == 6 * clauses - 1 + n_adjectives   # articles out, particles in
        assert (pair.target, pair.alignment) == s2s.translate(pair.source)
        aligned = sorted(i for i in pair.alignment if i >= 0)
        assert aligned == [i for i, w in enumerate(pair.source) if w not in s2s.ARTICLES]   # each word once


def test_an_before_a_vowel():
    pairs = s2s.make_pairs(500, seed=3)
    for pair in pairs:
        for article, word in zip(pair.source, pair.source[1:]):
            if article in ("a", "an"):
                assert article == ("an" if word[0] in "aeiou" else "a"), " ".join(pair.source)
    assert any("an" in p.source for p in pairs)


def test_the_verb_moves_to_the_end_of_its_clause():
    pair = s2s.make_pair(random.Random(0), 1, 1)
    verb = next(i for i, w in enumerate(pair.source) if w in s2s.VERBS)
    assert pair.alignment[-1] == verb and 0 < verb < len(pair.source) - 2


def test_make_pairs_is_seeded_distinct_and_spans_the_clause_range():
    a, b = s2s.make_pairs(300, seed=4), s2s.make_pairs(300, seed=4)
    assert a == b and a != s2s.make_pairs(300, seed=5)
    assert len({p.source for p in a}) == 300
    assert {p.clauses for p in a} == {1, 2, 3}
    lengths = [len(p.source) for p in a]
    assert min(lengths) == 5 and max(lengths) <= 23


def test_splits_are_disjoint_held_out_sets():
    train, valid, test = s2s.make_splits(2000, 300, 500, seed=0)
    assert (len(train), len(valid), len(test)) == (2000, 300, 500)
    sources = [{p.source for p in split} for split in (train, valid, test)]
    assert not (sources[0] & sources[1]) and not (sources[0] & sources[2]) and not (sources[1] & sources[2])


def test_make_pairs_refuses_impossible_requests():
    with pytest.raises(ValueError):
        s2s.make_pairs(5, min_clauses=0)
    with pytest.raises(ValueError, match="could not find"):
        s2s.make_pairs(3500, min_clauses=1, max_clauses=1, max_adjectives=0)   # only 2*12*6*2*12 = 3456 exist


def test_vocabularies_cover_the_grammar_with_the_special_ids_first():
    source_vocab, target_vocab = s2s.vocabularies()
    for vocab in (source_vocab, target_vocab):
        assert vocab.itos[:4] == ["<pad>", "<unk>", "<s>", "</s>"]
    for pair in s2s.make_pairs(200, seed=1):
        assert source_vocab.unk_id not in source_vocab.encode(pair.source)
        assert target_vocab.unk_id not in target_vocab.encode(pair.target)


def test_encode_pairs_lays_out_teacher_forcing():
    pairs = s2s.make_pairs(5, seed=2)
    sv, tv = s2s.vocabularies()
    src, src_lengths, tgt_in, tgt_out = s2s.encode_pairs(pairs, sv, tv)
    S, T = max(len(p.source) for p in pairs), 1 + max(len(p.target) for p in pairs)
    assert src.shape == (5, S) and tgt_in.shape == tgt_out.shape == (5, T) and src_lengths.tolist() == [len(p.source) for p in pairs]
    for row, pair in enumerate(pairs):
        n, m = len(pair.source), len(pair.target)
        assert sv.decode(src[row, :n]) == list(pair.source) and (src[row, n:] == 0).all()
        assert tgt_in[row, 0] == tv.stoi["<s>"] and tv.decode(tgt_in[row, 1:m + 1]) == list(pair.target)
        assert (tgt_in[row, m + 1:] == 0).all()
        assert tv.decode(tgt_out[row, :m]) == list(pair.target) and tgt_out[row, m] == tv.stoi["</s>"]
        assert (tgt_out[row, m + 1:] == IGNORE_INDEX).all()
        assert torch.equal(tgt_in[row, 1:m + 1], tgt_out[row, :m])      # the input is the output shifted right
    with pytest.raises(ValueError):
        s2s.encode_pairs([], sv, tv)


def test_strip_special_stops_at_the_end_token():
    _, tv = s2s.vocabularies()
    ids = [tv.stoi["<s>"], tv.stoi["gae"], tv.stoi["neun"], tv.stoi["</s>"], tv.stoi["mal"]]
    assert s2s.strip_special(ids, tv) == ["gae", "neun"]
    assert s2s.strip_special(torch.tensor([tv.stoi["mal"], 0, 0]), tv) == ["mal"]
