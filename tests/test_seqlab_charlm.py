import pytest
import torch

from seqlab import charlm
from seqlab.data import lee_sentences


def test_lee_text_is_chapter_1s_sentences_as_characters():
    text = charlm.lee_text("test")
    sentences = lee_sentences("test")
    lines = text.split("\n")
    assert text.endswith("\n") and lines[-1] == ""
    assert [line.split(" ") for line in lines[:-1]] == sentences
    assert text == text.lower()
    assert charlm.lee_text("test") == text  # deterministic
    assert charlm.lee_text("train")[:2000] not in text


def test_char_vocab_encode_decode_round_trip():
    vocab = charlm.char_vocab("abracadabra\n")
    assert vocab.itos[0] == "<unk>" and vocab.itos[1] == "a"  # 'a' is the most frequent character
    assert len(vocab) == 1 + len(set("abracadabra\n"))
    ids = charlm.encode("abc\n", vocab)
    assert ids.dtype == torch.long and ids.shape == (4,)
    assert charlm.decode(ids, vocab) == "abc\n"
    assert charlm.encode("z", vocab).tolist() == [vocab.unk_id]  # unseen character


def test_batchify_makes_contiguous_rows_and_drops_the_remainder():
    ids = torch.arange(26)
    streams = charlm.batchify(ids, 3)
    assert streams.shape == (3, 8)
    assert streams[1].tolist() == list(range(8, 16))
    with pytest.raises(ValueError):
        charlm.batchify(ids.view(2, 13), 2)
    with pytest.raises(ValueError):
        charlm.batchify(ids, 0)


@pytest.mark.parametrize("seq_len", [1, 3, 7, 100])
def test_tbptt_batches_predict_every_next_position_once_in_order(seq_len):
    streams = torch.arange(24).view(3, 8)
    batches = charlm.tbptt_batches(streams, seq_len)
    xs = torch.cat([x for x, _ in batches], dim=1)
    ys = torch.cat([y for _, y in batches], dim=1)
    assert torch.equal(xs, streams[:, :-1]) and torch.equal(ys, streams[:, 1:])
    assert all(x.shape == y.shape and x.size(1) <= seq_len for x, y in batches)
    assert batches[0][0].size(1) == min(seq_len, 7)


def test_tbptt_batches_checks_arguments():
    with pytest.raises(ValueError):
        charlm.tbptt_batches(torch.arange(5), 2)
    with pytest.raises(ValueError):
        charlm.tbptt_batches(torch.arange(10).view(2, 5), 0)
