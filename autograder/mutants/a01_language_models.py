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
    Mutant(
        name="counts_vocab_modified_in_place",
        description="adds <unk> to the caller's vocabulary set (vocab.add(UNK)), which changes V for "
                    "every later add-k probability computed with that set",
        cell=_COUNT,
        find="    ngram_counts, context_counts = Counter(), Counter()\n",
        replace="    vocab.add(UNK)  # <unk> is a known token too\n    ngram_counts, context_counts = Counter(), Counter()\n",
        fails=("test_count_ngrams",),
    ),
    Mutant(
        name="counts_map_after_padding",
        description="maps unknown words to <unk> after padding, so <s> and </s> (not vocabulary words) "
                    "become <unk> too",
        cell=_COUNT,
        find="tokens = [BOS] * (n - 1) + [w if w in vocab else UNK for w in sentence] + [EOS]",
        replace="tokens = [w if w in vocab else UNK for w in [BOS] * (n - 1) + sentence + [EOS]]",
        fails=("test_count_ngrams",),
    ),
    Mutant(
        name="counts_skip_empty_sentences",
        description="skips empty sentences, which still make one prediction (</s>)",
        cell=_COUNT,
        find="    for sentence in sentences:\n",
        replace="    for sentence in (s for s in sentences if s):\n",
        fails=("test_count_ngrams",),
    ),
    Mutant(
        name="counts_context_capped_at_trigram",
        description="pads with at most two <s> (written for trigrams), wrong for n >= 4",
        cell=_COUNT,
        find="tokens = [BOS] * (n - 1) + [w if",
        replace="tokens = [BOS] * min(n - 1, 2) + [w if",
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
    Mutant(
        name="addk_ignores_k",
        description="always adds 1 (Laplace), whatever k is given",
        cell=_ADDK,
        find="return (ngram_counts[tuple(context) + (word,)] + k) / (context_counts[tuple(context)] + k * V)",
        replace="return (ngram_counts[tuple(context) + (word,)] + 1) / (context_counts[tuple(context)] + V)",
        fails=("test_addk_exact_values",),
    ),
    Mutant(
        name="addk_counts_modified",
        description="stores the smoothed pseudo-count back into the caller's Counter (ngram_counts[...] += k): "
                    "right the first time, wrong on every later call",
        cell=_ADDK,
        find="return (ngram_counts[tuple(context) + (word,)] + k) / (context_counts[tuple(context)] + k * V)",
        replace="ngram_counts[tuple(context) + (word,)] += k  # the smoothed count\n"
                "    return ngram_counts[tuple(context) + (word,)] / (context_counts[tuple(context)] + k * V)",
        fails=("test_addk_normalised", "test_addk_exact_values"),
    ),
    # ---------------------------------------------------------------- sentence_logprob
    Mutant(
        name="logprob_log2",
        description="log base 2 for the sentence log-probability, while perplexity exponentiates with exp",
        cell=_LOGPROB,
        find="total += math.log(p)",
        replace="total += math.log2(p)",
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
    Mutant(
        name="logprob_product_underflows",
        description="multiplies the probabilities and takes one log at the end: the product underflows "
                    "to 0.0 on long sentences",
        cell=_LOGPROB,
        find="""    total = 0.0
    for i in range(n - 1, len(tokens)):
        p = prob(tokens[i], tuple(tokens[i - n + 1:i]))
        if p == 0:
            return -math.inf  # an impossible sentence; math.log(0) would raise ValueError
        total += math.log(p)  # add logs: a product of many probabilities underflows to 0.0
    return total""",
        replace="""    product = 1.0
    for i in range(n - 1, len(tokens)):
        product *= prob(tokens[i], tuple(tokens[i - n + 1:i]))
    return math.log(product) if product > 0 else -math.inf""",
        fails=("test_sentence_logprob", "test_perplexity"),
    ),
    Mutant(
        name="logprob_zero_probability_raises",
        description="takes math.log of a zero probability (ValueError) instead of returning -inf",
        cell=_LOGPROB,
        find="""        if p == 0:
            return -math.inf  # an impossible sentence; math.log(0) would raise ValueError
""",
        replace="",
        fails=("test_sentence_logprob", "test_perplexity"),
    ),
    Mutant(
        name="logprob_pads_sentence_in_place",
        description="appends </s> to the caller's sentence (sentence.append) instead of a new list",
        cell=_LOGPROB,
        find="tokens = [BOS] * (n - 1) + [w if w in vocab else UNK for w in sentence] + [EOS]",
        replace="sentence.append(EOS)\n    tokens = [BOS] * (n - 1) + [w if w in vocab or w == EOS else UNK for w in sentence]",
        fails=("test_sentence_logprob", "test_perplexity"),
    ),
    Mutant(
        name="logprob_map_after_padding",
        description="maps unknown words to <unk> after padding, so <s> and </s> become <unk> too",
        cell=_LOGPROB,
        find="tokens = [BOS] * (n - 1) + [w if w in vocab else UNK for w in sentence] + [EOS]",
        replace="tokens = [w if w in vocab else UNK for w in [BOS] * (n - 1) + sentence + [EOS]]",
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
    Mutant(
        name="perplexity_skips_empty_sentences",
        description="skips empty sentences (and their </s> prediction)",
        cell=_PPL,
        find="    for sentence in sentences:\n",
        replace="    for sentence in sentences:\n        if not sentence:\n            continue\n",
        fails=("test_perplexity",),
    ),
    Mutant(
        name="perplexity_product_of_sentence_probs",
        description="multiplies the sentences' probabilities and takes the per-token root: the product "
                    "underflows to 0.0 on a long corpus",
        cell=_PPL,
        find="""    total_logprob, total_tokens = 0.0, 0
    for sentence in sentences:
        total_logprob += sentence_logprob(sentence, prob, n, vocab)""",
        replace="""    total_prob, total_tokens = 1.0, 0
    for sentence in sentences:
        total_prob *= math.exp(sentence_logprob(sentence, prob, n, vocab))""",
        fails=("test_perplexity",),
    ),
    Mutant(
        name="perplexity_counts_only_known_words",
        description="counts the predictions after dropping unknown words (the count is taken after the "
                    "<unk> mapping removed them, not before)",
        cell=_PPL,
        find="total_tokens += len(sentence) + 1",
        replace="total_tokens += len([w for w in sentence if w in vocab]) + 1",
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
    Mutant(
        name="lm_adds_dropout",
        description="adds dropout on the hidden layer, which the specification excludes",
        cell=_LM,
        find="logits = self.output(h)",
        replace="logits = self.output(F.dropout(h, p=0.2, training=self.training))",
        fails=("test_neural_lm_forward",),
    ),
    Mutant(
        name="lm_reads_last_token_only",
        description="embeds only the last context token (copied into every slot): a bigram model in "
                    "disguise that still reaches a validation perplexity of about 50",
        cell=_LM,
        find="e = self.embedding(x)",
        replace="e = self.embedding(x[:, -1:]).expand(-1, x.shape[1], -1)",
        fails=("test_neural_lm_forward", "test_neural_lm_perplexity"),
    ),
]
