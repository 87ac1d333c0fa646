"""Interpolated Kneser-Ney n-gram language models, for words and for characters.

Chapter 1 derives the model step by step inside its notebook and Chapter 2 applies the same
recipe to characters; Chapter 7 needs both again for the book-wide comparison, so this module is
the same recipe as one tested class (introduced in chapter 7). With discount ``D`` and
``N1+(h .)`` the number of different tokens seen after the context ``h``::

    P(w | h) = max(c(h, w) - D, 0) / c(h)  +  D * N1+(h .) / c(h) * P(w | h')

where ``h'`` is ``h`` without its oldest token. The highest order uses raw counts ``c``; every
lower order uses *continuation counts* (how many different tokens precede ``h', w``); the
recursion ends in the uniform distribution ``1 / vocab_size``, and a context never seen in
training backs off entirely to ``h'``.

Two ways to count, matching the two chapters:

- :meth:`KneserNey.fit_sentences` (words, Chapter 1): every sentence is padded with ``n - 1``
  ``<s>`` in front and one ``</s>`` at the end *for each order n separately*; ``</s>`` is predicted,
  ``<s>`` never. :meth:`KneserNey.sentence_logprobs` scores every word and ``</s>``.
- :meth:`KneserNey.fit_stream` (characters, Chapter 2): one long unpadded sequence;
  :meth:`KneserNey.stream_logprobs` scores every token after the first, near the start with the
  shorter context that exists.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence

import numpy as np

from seqlab.text import BOS, EOS

Context = tuple


def ngram_events(sentence: Sequence[Hashable], n: int, bos: Hashable = BOS,
                 eos: Hashable = EOS) -> list[tuple[Context, Hashable]]:
    """The ``(context, token)`` predictions of one sentence for an ``n``-gram model: the sentence
    padded with ``n - 1`` ``bos`` in front and one ``eos`` at the end; contexts have ``n - 1`` tokens.

    >>> ngram_events(["a", "b"], 2)
    [(('<s>',), 'a'), (('a',), 'b'), (('b',), '</s>')]
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    padded = [bos] * (n - 1) + list(sentence) + [eos]
    return [(tuple(padded[t - n + 1:t]), padded[t]) for t in range(n - 1, len(padded))]


class KneserNey:
    """Interpolated Kneser-Ney of order ``order`` over ``vocab_size`` predictable tokens.

    ``vocab_size`` is the size of the uniform distribution at the bottom of the recursion: the
    number of tokens the model can predict (for words: the vocabulary without ``<pad>`` and
    ``<s>``, with ``<unk>`` and ``</s>``). Tokens must already be mapped to the vocabulary (rare
    words to ``<unk>``) before fitting and scoring.
    """

    def __init__(self, order: int, vocab_size: int, discount: float = 0.75):
        if order < 1:
            raise ValueError(f"order must be >= 1, got {order}")
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1, got {vocab_size}")
        if not 0.0 < discount < 1.0:
            raise ValueError(f"discount must be in (0, 1), got {discount}")
        self.order, self.vocab_size, self.discount = order, vocab_size, discount
        self.counts: dict[int, dict[Context, Counter]] = {}   # counts[n][context][token]
        self.cont: dict[int, dict[Context, Counter]] = {}     # continuation counts, n < order
        self._totals: dict[tuple[str, int], dict[Context, int]] = {}

    # ------------------------------------------------------------------ fitting
    def fit_sentences(self, sentences: Iterable[Sequence[Hashable]]) -> "KneserNey":
        """Count every order ``1..order`` over padded sentences (Chapter 1's bookkeeping)."""
        sentences = list(sentences)
        for n in range(1, self.order + 1):
            table: defaultdict[Context, Counter] = defaultdict(Counter)
            for sentence in sentences:
                for context, token in ngram_events(sentence, n):
                    table[context][token] += 1
            self.counts[n] = dict(table)
        return self._finish()

    def fit_stream(self, tokens: Sequence[Hashable]) -> "KneserNey":
        """Count every order ``1..order`` over one unpadded sequence (Chapter 2's bookkeeping)."""
        tokens = list(tokens)
        for n in range(1, self.order + 1):
            table: defaultdict[Context, Counter] = defaultdict(Counter)
            for i in range(n - 1, len(tokens)):
                table[tuple(tokens[i - n + 1:i])][tokens[i]] += 1
            self.counts[n] = dict(table)
        return self._finish()

    def _finish(self) -> "KneserNey":
        for n in range(1, self.order):   # cont[n][h'][w] = number of different tokens before h', w
            table: defaultdict[Context, Counter] = defaultdict(Counter)
            for context, followers in self.counts[n + 1].items():
                for token in followers:
                    table[context[1:]][token] += 1
            self.cont[n] = dict(table)
        self._totals = {(name, n): {h: sum(c.values()) for h, c in tables[n].items()}
                        for name, tables in (("counts", self.counts), ("cont", self.cont)) for n in tables}
        return self

    # ------------------------------------------------------------------ probabilities
    def _check_order(self, order: int | None) -> int:
        if not self.counts:
            raise RuntimeError("fit the model first (fit_sentences or fit_stream)")
        order = self.order if order is None else order
        if not 1 <= order <= self.order:
            raise ValueError(f"order must be between 1 and the fitted order {self.order}, got {order}")
        return order

    def prob(self, token: Hashable, context: Sequence[Hashable] = (), order: int | None = None) -> float:
        """``P(token | context)`` under the model of order ``order`` (default: the fitted order; any
        lower order is the same recipe on the same counts); only the last ``order - 1`` tokens of
        ``context`` are used."""
        order = self._check_order(order)
        context = tuple(context)[len(tuple(context)) - order + 1:] if order > 1 else ()
        return self._prob(token, context, top=True)

    def _prob(self, token: Hashable, context: Context, top: bool) -> float:
        n = len(context) + 1
        lower = self._prob(token, context[1:], top=False) if n > 1 else 1.0 / self.vocab_size
        name = "counts" if top else "cont"
        total = self._totals[(name, n)].get(context, 0)
        if total == 0:                    # context never seen in training: the shorter one only
            return lower
        followers = (self.counts if top else self.cont)[n][context]
        d = self.discount
        return (max(followers.get(token, 0) - d, 0.0) + d * len(followers) * lower) / total

    def sentence_logprobs(self, sentences: Iterable[Sequence[Hashable]], order: int | None = None) -> np.ndarray:
        """Natural-log probability of every prediction (every word and one ``</s>`` per sentence),
        in order, under the model of order ``order`` (default: the fitted one); the number of
        entries is the number of test tokens, whatever the order."""
        n = self._check_order(order)
        return np.array([math.log(self._prob(w, h, top=True))
                         for sentence in sentences for h, w in ngram_events(sentence, n)])

    def stream_logprobs(self, tokens: Sequence[Hashable], order: int | None = None) -> np.ndarray:
        """Natural-log probability of ``tokens[i]`` given the tokens before it, for every ``i >= 1``,
        under the model of order ``order`` (default: the fitted one)."""
        tokens = list(tokens)
        n = self._check_order(order)
        return np.array([math.log(self._prob(tokens[i], tuple(tokens[max(0, i - n + 1):i]), top=True))
                         for i in range(1, len(tokens))])

    @staticmethod
    def perplexity(logprobs: np.ndarray) -> float:
        """``exp`` of the mean negative log-probability."""
        return float(math.exp(-np.mean(logprobs)))
