"""Typical wrong solutions of a05 (word embeddings), each an edit of one reference solution cell.

``fails`` lists exactly the test cells that lose their points. The checks are independent (see
``autograder/a05_embeddings.py``): the GloVe training check counts with its own reference, the
held-out classifier section builds its embedding matrix itself, and the loss's zero-count and
gradient checks compare the student's loss with itself (not with the formula), so one mistake
costs only the cells that test what it breaks. Which wrong losses still train GloVe below the
bound was measured in ``tests/test_a05_checks.py``.
"""
from autograder.mutants import Mutant

_COUNTS = "cooccurrence"
_LOSS = "glove_loss"
_NEIGHBOURS = "nearest_neighbours"
_MATRIX = "embedding_matrix"
_CLASSIFIER = "classifier"
_EXACT, _RANDOM = "test_cooccurrence_exact", "test_cooccurrence_random"
_FORMULA = "test_glove_loss_formula"

MUTANTS = [
    # ---------------------------------------------------------------- cooccurrence_counts
    Mutant(
        name="unweighted_window",
        description="every pair in the window adds 1, not 1/distance",
        cell=_COUNTS, find="weight = 1.0 / d", replace="weight = 1.0",
        fails=(_EXACT, _RANDOM),
    ),
    Mutant(
        name="one_sided_counts",
        description="only the pair (s, s + d) is counted, not its mirror: X is not symmetric",
        cell=_COUNTS, find="                X[sentence[s + d], sentence[s]] += weight\n", replace="",
        fails=(_EXACT, _RANDOM),
    ),
    Mutant(
        name="window_off_by_one",
        description="range(1, window) leaves out the pairs exactly `window` apart",
        cell=_COUNTS, find="range(1, window + 1)", replace="range(1, window)",
        fails=(_EXACT, _RANDOM),
    ),
    Mutant(
        name="across_sentences",
        description="the sentences are joined into one stream, so pairs cross sentence boundaries",
        cell=_COUNTS, find="for sentence in sentences:", replace="for sentence in [[w for s in sentences for w in s]]:",
        fails=(_EXACT, _RANDOM),
    ),
    Mutant(
        name="counts_float32",
        description="the counts are returned as float32",
        cell=_COUNTS, find="return torch.from_numpy(X)", replace="return torch.from_numpy(X).float()",
        fails=(_EXACT, _RANDOM),
    ),
    # ---------------------------------------------------------------- glove_loss
    Mutant(
        name="f_without_cap",
        description="f(x) = (x / x_max)^alpha for every x: no cap at 1 from x_max on",
        cell=_LOSS, find="torch.where(x < x_max, (x / x_max) ** alpha, torch.ones_like(x))",
        replace="(x / x_max) ** alpha",
        fails=(_FORMULA,),
    ),
    Mutant(
        name="f_alpha_one",
        description="f with alpha = 1 (a linear ramp) instead of the alpha argument (3/4)",
        cell=_LOSS, find="(x / x_max) ** alpha", replace="(x / x_max)",
        fails=(_FORMULA,),
    ),
    Mutant(
        name="context_bias_forgotten",
        description="the context bias b~_j is left out of the prediction",
        cell=_LOSS, find="+ b[i] + b_tilde[j]", replace="+ b[i]",
        fails=(_FORMULA, "test_glove_loss_gradients"),
    ),
    Mutant(
        name="word_bias_forgotten",
        description="the word bias b_i is left out of the prediction",
        cell=_LOSS, find="+ b[i] + b_tilde[j]", replace="+ b_tilde[j]",
        fails=(_FORMULA, "test_glove_loss_gradients"),
    ),
    Mutant(
        name="log_of_zero_counts",
        description="log x is taken for every pair, so a zero count gives 0 * -inf = nan",
        cell=_LOSS, find="log_x = torch.log(torch.where(x > 0, x, torch.ones_like(x)))", replace="log_x = torch.log(x)",
        fails=("test_glove_loss_zero_counts",),
    ),
    Mutant(
        name="loss_sum_not_mean",
        description="the sum over the batch instead of the mean",
        cell=_LOSS, find="return (weight * (prediction - log_x) ** 2).mean()",
        replace="return (weight * (prediction - log_x) ** 2).sum()",
        fails=(_FORMULA, "test_glove_loss_zero_counts"),
    ),
    Mutant(
        name="no_log",
        description="the prediction is fitted to X_ij itself, not to log X_ij",
        cell=_LOSS, find="return (weight * (prediction - log_x) ** 2).mean()",
        replace="return (weight * (prediction - x) ** 2).mean()",
        fails=(_FORMULA, "test_glove_training"),
    ),
    # ---------------------------------------------------------------- nearest_neighbours
    Mutant(
        name="cosine_without_normalising",
        description="dot products instead of cosines: long vectors become everybody's neighbours",
        cell=_NEIGHBOURS, find="unit = vectors / vectors.norm(dim=1, keepdim=True)", replace="unit = vectors",
        fails=("test_nearest_neighbours",),
    ),
    Mutant(
        name="query_included",
        description="the query itself is returned as its own nearest neighbour",
        cell=_NEIGHBOURS, find="similarity[query] = -math.inf", replace="pass",
        fails=("test_nearest_neighbours",),
    ),
    Mutant(
        name="query_dropped_as_first",
        description="topk(k + 1) and drop the first: wrong when another row ties with the query (a duplicate)",
        cell=_NEIGHBOURS,
        find="    similarity[query] = -math.inf                                # never the query itself\n"
             "    return similarity.topk(k).indices.tolist()",
        replace="    return similarity.topk(k + 1).indices[1:].tolist()",
        fails=("test_nearest_neighbours",),
    ),
    Mutant(
        name="least_similar_first",
        description="topk(largest=False): the least similar rows",
        cell=_NEIGHBOURS, find=".topk(k)", replace=".topk(k, largest=False)",
        fails=("test_nearest_neighbours",),
    ),
    Mutant(
        name="normalises_in_place",
        description="the rows are normalised in place, changing the caller's vectors",
        cell=_NEIGHBOURS, find="unit = vectors / vectors.norm(dim=1, keepdim=True)",
        replace="unit = vectors.div_(vectors.norm(dim=1, keepdim=True))",
        fails=("test_nearest_neighbours",),
    ),
    # ---------------------------------------------------------------- embedding_matrix
    Mutant(
        name="oov_rows_zero",
        description="rows of words without a pretrained vector are left as zeros, not random",
        cell=_MATRIX, find="torch.randn(len(vocab), kv.vector_size, generator=generator) * scale",
        replace="torch.zeros(len(vocab), kv.vector_size)",
        fails=("test_embedding_matrix_missing",),
    ),
    Mutant(
        name="oov_scale_ignored",
        description="the random rows are N(0, 1), ignoring scale",
        cell=_MATRIX, find="generator=generator) * scale", replace="generator=generator)",
        fails=("test_embedding_matrix_missing",),
    ),
    Mutant(
        name="oov_rows_unseeded",
        description="the random rows ignore the generator, so the matrix is not reproducible",
        cell=_MATRIX, find="torch.randn(len(vocab), kv.vector_size, generator=generator)",
        replace="torch.randn(len(vocab), kv.vector_size)",
        fails=("test_embedding_matrix_missing",),
    ),
    Mutant(
        name="rows_off_by_one",
        description="the specials' first row is skipped, so every word's vector lands one row early",
        cell=_MATRIX, find="enumerate(vocab.itos)", replace="enumerate(vocab.itos[1:])",
        fails=("test_embedding_matrix_rows", "test_embedding_matrix_missing"),
    ),
    Mutant(
        name="padding_row_not_zero",
        description="the padding row is left random (or pretrained) instead of zeros",
        cell=_MATRIX, find="    matrix[vocab.pad_id] = 0.0                                                      # rule 2\n",
        replace="",
        fails=("test_embedding_matrix_rows",),
    ),
    Mutant(
        name="matrix_float64",
        description="the matrix is float64 (torch.tensor of a float64 NumPy array), not float32",
        cell=_MATRIX, find="    return matrix\n", replace="    return matrix.double()\n",
        fails=("test_embedding_matrix_rows",),
    ),
    # ---------------------------------------------------------------- the classifier
    Mutant(
        name="embedding_not_frozen",
        description="nn.Embedding.from_pretrained(..., freeze=False): the pretrained vectors are trained",
        cell=_CLASSIFIER, find="freeze=True", replace="freeze=False",
        fails=("test_classifier_structure", "test_classifier_frozen"),
    ),
    Mutant(
        name="first_layer_state",
        description="classifies from h_n[0], the first layer's final state, instead of h_n[-1]",
        cell=_CLASSIFIER, find="self.head(self.dropout(h_n[-1]))", replace="self.head(self.dropout(h_n[0]))",
        fails=("test_classifier_forward", "test_classifier_frozen"),
    ),
    Mutant(
        name="last_padded_position",
        description="no packing: reads the LSTM output at the last (padded) position",
        cell=_CLASSIFIER,
        find="        packed = pack_padded_sequence(e, lengths.cpu(), batch_first=True, enforce_sorted=False)\n"
             "        _, (h_n, _) = self.lstm(packed)                                         # h_n: (num_layers, B, H)\n"
             "        logits = self.head(self.dropout(h_n[-1])).squeeze(-1)                   # (B,), from the last layer\n",
        replace="        output, _ = self.lstm(e)\n"
                "        logits = self.head(self.dropout(output[:, -1])).squeeze(-1)\n",
        fails=("test_classifier_forward", "test_heldout_accuracy"),
    ),
    Mutant(
        name="dropout_never_applied",
        description="model.dropout is created but the head reads h_n[-1] directly",
        cell=_CLASSIFIER, find="self.head(self.dropout(h_n[-1]))", replace="self.head(h_n[-1])",
        fails=("test_classifier_forward",),
    ),
    Mutant(
        name="dropout_on_embeddings",
        description="dropout 0.5 on the embedded inputs instead of on h_n[-1]",
        cell=_CLASSIFIER,
        find="        e = self.embed(x)                                                       # (B, T, d)\n"
             "        packed = pack_padded_sequence(e, lengths.cpu(), batch_first=True, enforce_sorted=False)\n"
             "        _, (h_n, _) = self.lstm(packed)                                         # h_n: (num_layers, B, H)\n"
             "        logits = self.head(self.dropout(h_n[-1])).squeeze(-1)                   # (B,), from the last layer\n",
        replace="        e = self.dropout(self.embed(x))\n"
                "        packed = pack_padded_sequence(e, lengths.cpu(), batch_first=True, enforce_sorted=False)\n"
                "        _, (h_n, _) = self.lstm(packed)\n"
                "        logits = self.head(h_n[-1]).squeeze(-1)\n",
        fails=("test_classifier_forward",),
    ),
    Mutant(
        name="one_lstm_layer",
        description="a 1-layer LSTM (so dropout=0.3 between layers does nothing)",
        cell=_CLASSIFIER, find="num_layers=2, dropout=0.3", replace="num_layers=1",
        fails=("test_classifier_structure",),
    ),
    Mutant(
        name="random_embedding",
        description="a fresh nn.Embedding instead of the pretrained vectors (frozen random vectors)",
        cell=_CLASSIFIER, find="self.embed = nn.Embedding.from_pretrained(vectors, freeze=True, padding_idx=pad_id)",
        replace="self.embed = nn.Embedding(*vectors.shape, padding_idx=pad_id)\n"
                "        self.embed.weight.requires_grad = False",
        fails=("test_classifier_structure", "test_heldout_accuracy"),
    ),
]
