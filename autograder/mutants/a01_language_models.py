"""Typical wrong solutions of a01 (language models), each an edit of one reference solution cell.

``fails`` lists exactly the test cells that lose their points. The n-gram test cells use their own
fixtures (hand-written counts, hand-made probability functions), so a mistake in ``count_ngrams``
or ``addk_prob`` costs only its own cells; ``perplexity`` calls ``sentence_logprob``, so a mistake
in ``sentence_logprob`` also fails ``test_perplexity``.
"""
from autograder.mutants import Mutant

_COUNT = "count_ngrams"
_ADDK = "addk_prob"
_LOGPROB = "sentence_logprob"
_PPL = "perplexity"
_LM = "fixed_window_lm"

MUTANTS = [
    # ---------------------------------------------------------------- count_ngrams
    Mutant(
        name="counts_no_boundary_tokens",
        description="counts the sentence as it is: no <s> padding and no </s> at the end",
        cell=_COUNT,
        find="tokens = [BOS] * (n - 1) + [w if w in vocab else UNK for w in sentence] + [EOS]",
        replace="tokens = [w if w in vocab else UNK for w in sentence]",
        fails=("test_count_ngrams",),
    ),
    Mutant(
        name="counts_context_shifted",
        description="takes the context one position too early (tokens[i-n:i-1] instead of tokens[i-n+1:i])",
        cell=_COUNT,
        find="context = tuple(tokens[i - n + 1:i])",
        replace="context = tuple(tokens[i - n:i - 1])",
        fails=("test_count_ngrams",),
    ),
    Mutant(
        name="counts_unknown_word_keyerror",
        description="looks every word up in a vocabulary dict, so an unknown word raises KeyError "
                    "instead of becoming <unk>",
        cell=_COUNT,
        find="[w if w in vocab else UNK for w in sentence]",
        replace="[{v: v for v in vocab}[w] for w in sentence]",
        fails=("test_count_ngrams",),
    ),
    # ---------------------------------------------------------------- addk_prob
    Mutant(
        name="addk_no_kv_in_denominator",
        description="adds k to the numerator only: (c(context, w) + k) / c(context), not normalised "
                    "(and a division by zero for an unseen context)",
        cell=_ADDK,
        find="context_counts[tuple(context)] + k * V",
        replace="context_counts[tuple(context)]",
        fails=("test_addk_normalised", "test_addk_exact_values"),
    ),
    Mutant(
        name="addk_vocab_size_counts_bos",
        description="counts <s> among the predictable tokens: V = len(vocab) + 3",
        cell=_ADDK,
        find="V = len(vocab) + 2  # vocabulary words, <unk> and </s>",
        replace="V = len(vocab) + 3  # vocabulary words, <unk>, </s> and <s>",
        fails=("test_addk_normalised", "test_addk_exact_values"),
    ),
    # ---------------------------------------------------------------- sentence_logprob
    Mutant(
        name="logprob_log2",
        description="log base 2 for the sentence log-probability, while perplexity exponentiates with exp",
        cell=_LOGPROB,
        find="math.log(prob(tokens[i]",
        replace="math.log2(prob(tokens[i]",
        fails=("test_sentence_logprob", "test_perplexity"),
    ),
    Mutant(
        name="logprob_missing_eos",
        description="does not predict </s> at the end of the sentence",
        cell=_LOGPROB,
        find=" + [EOS]",
        replace="",
        fails=("test_sentence_logprob", "test_perplexity"),
    ),
    Mutant(
        name="logprob_unknown_word_keyerror",
        description="looks every word up in a vocabulary dict, so an unknown word raises KeyError "
                    "instead of becoming <unk>",
        cell=_LOGPROB,
        find="[w if w in vocab else UNK for w in sentence]",
        replace="[{v: v for v in vocab}[w] for w in sentence]",
        fails=("test_sentence_logprob", "test_perplexity"),
    ),
    # ---------------------------------------------------------------- perplexity
    Mutant(
        name="perplexity_per_sentence",
        description="divides the total log-probability by the number of sentences, not of predicted tokens",
        cell=_PPL,
        find="total_tokens += len(sentence) + 1",
        replace="total_tokens += 1",
        fails=("test_perplexity",),
    ),
    # ---------------------------------------------------------------- FixedWindowLM.forward
    Mutant(
        name="lm_embeddings_detached",
        description="detaches the embeddings from the graph, so the embedding table never trains",
        cell=_LM,
        find="e = self.embedding(x)",
        replace="e = self.embedding(x).detach()",
        # Training still lowers the held-out perplexity to 54-56 (below the bound of 75) with
        # frozen random embeddings: only the gradient check catches it.
        fails=("test_neural_lm_gradients",),
    ),
    Mutant(
        name="lm_returns_softmax",
        description="returns softmax probabilities as the logits, and cross_entropy applies a second softmax",
        cell=_LM,
        find="logits = self.output(h)",
        replace="logits = F.softmax(self.output(h), dim=-1)",
        fails=("test_neural_lm_forward", "test_neural_lm_perplexity"),
    ),
    Mutant(
        name="lm_softmax_before_cross_entropy",
        description="returns raw logits but feeds softmax(logits) to cross_entropy (a second softmax)",
        cell=_LM,
        find="loss = None if targets is None else F.cross_entropy(logits, targets)",
        replace="loss = None if targets is None else F.cross_entropy(F.softmax(logits, dim=-1), targets)",
        fails=("test_neural_lm_forward", "test_neural_lm_perplexity"),
    ),
]
