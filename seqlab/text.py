"""Tokenisation, vocabularies, padding and batching. Introduced in chapter 1."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import torch
from torch.utils.data import DataLoader, TensorDataset

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"

# A word is letters/digits, optionally with an inner apostrophe ("don't", "world's") or inner
# hyphen/point ("strife-torn", "4.00"); any other non-space character is a token of its own.
_TOKEN_RE = re.compile(r"[^\W_]+(?:['’.\-][^\W_]+)*|[^\w\s]")
# A sentence ends at . ! or ? (possibly followed by a closing quote) before a space and a
# capital letter, a digit or an opening quote.
_SENT_RE = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’]))\s+(?=[\"“'A-Z0-9])")


def tokenize(text: str, lower: bool = True) -> list[str]:
    """Split ``text`` into word and punctuation tokens.

    >>> tokenize("I'm a student, aren't I?")
    ["i'm", 'a', 'student', ',', "aren't", 'i', '?']
    """
    if lower:
        text = text.lower()
    return _TOKEN_RE.findall(text)


_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "st.", "prof.", "gen.", "sen.", "rev.", "jr.", "sr.", "no."}


def split_sentences(text: str) -> list[str]:
    """Split running text into sentences with a simple punctuation rule (good enough for news).

    A break after a title such as "Mr." or "Dr." is undone.
    """
    sentences: list[str] = []
    for piece in (p.strip() for p in _SENT_RE.split(text.strip())):
        if not piece:
            continue
        if sentences and sentences[-1].rsplit(" ", 1)[-1].lower() in _ABBREVIATIONS:
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    return sentences


class Vocab:
    """A mapping between tokens and integer ids.

    Ids ``0..len(specials)-1`` are the special tokens, in order (by default ``<pad>`` = 0,
    ``<unk>`` = 1, ``<s>`` = 2, ``</s>`` = 3); then the kept tokens by decreasing frequency (ties
    broken alphabetically, so the ids are deterministic). A token that is not in the vocabulary
    maps to ``<unk>``.
    """

    def __init__(self, tokens: Sequence[str], specials: Sequence[str] = (PAD, UNK, BOS, EOS)):
        if UNK not in specials:
            raise ValueError(f"specials must include the unknown token {UNK!r}")
        self.itos: list[str] = list(specials) + [t for t in tokens if t not in specials]
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("duplicate tokens in the vocabulary")
        self.specials = tuple(specials)

    @classmethod
    def build(
        cls,
        sentences: Iterable[Sequence[str]],
        min_freq: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] = (PAD, UNK, BOS, EOS),
    ) -> "Vocab":
        """Count tokens in ``sentences`` (an iterable of token lists) and keep those seen at least
        ``min_freq`` times, at most ``max_size`` of them (specials not counted)."""
        if min_freq < 1:
            raise ValueError(f"min_freq must be >= 1, got {min_freq}")
        counts = Counter(tok for sent in sentences for tok in sent)
        kept = sorted((t for t, c in counts.items() if c >= min_freq and t not in specials),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[:max_size]
        vocab = cls(kept, specials)
        vocab.counts = counts
        return vocab

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, self.stoi[UNK])

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, specials={list(self.specials)})"

    @property
    def pad_id(self) -> int:
        return self.stoi[PAD] if PAD in self.stoi else -1

    @property
    def unk_id(self) -> int:
        return self.stoi[UNK]

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Token list -> id list (unknown tokens become ``<unk>``'s id)."""
        return [self[t] for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Id list (or 1-D tensor) -> token list."""
        return [self.itos[int(i)] for i in ids]


def pad_sequences(
    seqs: Sequence[Sequence[int]],
    pad_id: int = 0,
    max_len: int | None = None,
    truncate: str = "post",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad (at the end) and optionally truncate id sequences into one batch.

    Returns ``(ids, lengths)``: ``ids`` is a LongTensor of shape ``(B, T)`` with
    ``T = max_len or the longest sequence``, ``lengths`` a LongTensor of shape ``(B,)`` with each
    row's number of real (non-pad) tokens. ``truncate="pre"`` keeps the *last* ``max_len``
    tokens, ``"post"`` the first.
    """
    if truncate not in ("pre", "post"):
        raise ValueError(f"truncate must be 'pre' or 'post', got {truncate!r}")
    if len(seqs) == 0:
        raise ValueError("pad_sequences needs at least one sequence")
    T = max_len if max_len is not None else max(len(s) for s in seqs)
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    lengths = torch.zeros(len(seqs), dtype=torch.long)
    for row, seq in enumerate(seqs):
        seq = list(seq)
        seq = seq[-T:] if truncate == "pre" and len(seq) > T else seq[:T]
        if seq:
            ids[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
        lengths[row] = len(seq)
    return ids, lengths


def make_loader(*tensors: torch.Tensor, batch_size: int = 64, shuffle: bool = True,
                seed: int = 0) -> DataLoader:
    """A ``DataLoader`` over equally long tensors (e.g. ``x, y`` or ``x, lengths, y``).

    Shuffling uses its own seeded generator, so the batch order is reproducible whatever else
    consumed random numbers before.
    """
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(*tensors), batch_size=batch_size, shuffle=shuffle,
                      generator=generator)
