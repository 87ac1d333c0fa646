"""seqlab: the small helper library of *Sequence Models: from n-grams to Transformers*.

Chapters, exercises and the autograder import it; it holds no exercise answers.

Modules, one concept each:

- :mod:`seqlab.device`  device choice (cuda -> mps -> cpu) and seeding
- :mod:`seqlab.text`    tokenisation, :class:`~seqlab.text.Vocab`, padding and batching
- :mod:`seqlab.data`    bundled corpora (offline)
- :mod:`seqlab.synthetic` seeded synthetic tasks (the long-term memory task)
- :mod:`seqlab.reviews` a seeded synthetic review corpus where word order decides the label
- :mod:`seqlab.embeddings` the word-embedding pretraining corpus, benchmarks, GloVe text format
- :mod:`seqlab.download` verified, cached downloads (optional real data sets such as IMDB, and glove.6B)
- :mod:`seqlab.charlm`  character-level text streams and truncated-BPTT windows
- :mod:`seqlab.ngram`   interpolated Kneser-Ney n-gram models (words and characters)
- :mod:`seqlab.lm`      word-level LM batches shared by the book-wide comparison
- :mod:`seqlab.gradcheck` finite-difference gradient checks
- :mod:`seqlab.seq2seq` a synthetic translation task (word order changes) with a held-out set
- :mod:`seqlab.train`   one ``fit`` / ``evaluate`` loop for every model
- :mod:`seqlab.plot`    loss curves, log-scale profiles, heat maps, 2-D embeddings
- :mod:`seqlab.checks`  visible self-checks for exercises
"""
from seqlab.device import get_device, in_colab, set_seed
from seqlab.text import Vocab, pad_sequences, split_sentences, tokenize
from seqlab.train import History, evaluate, fit

__all__ = [
    "get_device", "in_colab", "set_seed",
    "Vocab", "pad_sequences", "split_sentences", "tokenize",
    "History", "evaluate", "fit",
]
__version__ = "0.1.0"
