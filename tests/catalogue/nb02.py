"""Wrong and correct answers for 02_scaled_attention.ipynb (see tests/catalogue/README or the authoring notes).

answers: {solution grade_id: full source of that cell as a learner would write it}
fails:   {test grade_id: substring of the failure message that names the mistake}
"""
NOTEBOOK = "02_scaled_attention.ipynb"

# ---- reusable pieces of learner code -------------------------------------------------------------------------
_ATTN = '''def scaled_dot_product_attention(Q, K, V, mask=None):
    d_k = Q.shape[-1]
    scores = {scores}
    if mask is not None:
        {masking}
    weights = {weights}
    return {ret}
'''


def _attn(scores="Q @ np.swapaxes(K, -1, -2) / np.sqrt(d_k)",
          masking="scores = np.where(mask, scores, -np.inf)",
          weights="softmax(scores, axis=-1)",
          ret="weights @ V, weights"):
    return _ATTN.format(scores=scores, masking=masking, weights=weights, ret=ret)


WRONG = [
    # ---- softmax ----
    dict(name="softmax_ignores_axis",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    x = x - np.max(x, axis=-1, keepdims=True)\n"
                             "    e = np.exp(x)\n"
                             "    return e / np.sum(e, axis=-1, keepdims=True)\n"},
         fails={"check_softmax_stable": 'softmax(x, axis=0) of [[1000, -inf], [-1000,', "check_softmax": "ignores its axis argument"}),
    dict(name="softmax_unstable",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    e = np.exp(x)\n"
                             "    return e / np.sum(e, axis=axis, keepdims=True)\n"},
         # the attention checks use the reference softmax: one mistake, one deduction
         fails={"check_softmax_stable": "unstable"}),
    dict(name="softmax_global_max",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    e = np.exp(x - np.max(x))\n"
                             "    return e / np.sum(e, axis=axis, keepdims=True)\n"},
         fails={"check_softmax_stable": "maximum of the whole array"}),
    dict(name="softmax_whole_array",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    e = np.exp(x - np.max(x))\n"
                             "    return e / np.sum(e)\n"},
         fails={"check_softmax_stable": 'softmax of [[1000, 999, 998], [-1000, -999,', "check_softmax": "over the whole array"}),
    # works in place on its input and returns it: the caller's array is overwritten
    dict(name="softmax_in_place_mutates_input",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    x -= np.max(x, axis=axis, keepdims=True)\n"
                             "    np.exp(x, out=x)\n"
                             "    x /= np.sum(x, axis=axis, keepdims=True)\n"
                             "    return x\n"},
         fails={"check_softmax": "your softmax changed its input x in place (x -= ..., x /= ... or np.exp(x, out=x) "
                                 "overwrite the caller's array, and callers reuse it): compute with a new array, e.g. "
                                 "x = x - np.max(x, axis=axis, keepdims=True)"}),
    dict(name="softmax_subtracts_max_in_place",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    x -= np.max(x, axis=axis, keepdims=True)\n"
                             "    e = np.exp(x)\n"
                             "    return e / np.sum(e, axis=axis, keepdims=True)\n"},
         fails={"check_softmax": "your softmax changed its input x in place"}),
    dict(name="softmax_no_keepdims",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    e = np.exp(x - np.max(x, axis=axis))\n"
                             "    return e / np.sum(e, axis=axis)\n"},
         fails={"check_softmax_stable": 'softmax(x of shape (2, 3), axis=-1) raised', "check_softmax": "keepdims=True"}),
    # ---- the scaling question ----
    dict(name="scaling_answer_d_model",
         answers={"scaling_answer": 'scaling_answer = {"a", "d", "e"}\n'},
         fails={"check_scaling_answer": "statement e is false"}),
    dict(name="scaling_answer_unscaled_uniform",
         answers={"scaling_answer": 'scaling_answer = {"a", "b", "c", "d"}\n'},
         fails={"check_scaling_answer": "statement b is false"}),
    dict(name="scaling_answer_misses_c",
         answers={"scaling_answer": 'scaling_answer = {"a", "d"}\n'},
         fails={"check_scaling_answer": "statement c is true"}),
    # ---- causal_mask ----
    dict(name="causal_mask_inverted",
         answers={"causal_mask": "def causal_mask(n):\n    return np.triu(np.ones((n, n), dtype=bool), k=1)\n"},
         fails={"check_causal_mask": "True where attention is blocked"}),
    dict(name="causal_mask_sees_future",
         answers={"causal_mask": "def causal_mask(n):\n    return np.triu(np.ones((n, n), dtype=bool))\n"},
         fails={"check_causal_mask": "see the future"}),
    dict(name="causal_mask_float",
         answers={"causal_mask": "def causal_mask(n):\n    return np.tril(np.ones((n, n)))\n"},
         fails={"check_causal_mask": "boolean array"}),
    # right for every n the visible check tries, wrong for n = 1
    dict(name="causal_mask_float_then_bool_k0_wrong_for_n1",
         answers={"causal_mask": "def causal_mask(n):\n"
                                 "    return np.tril(np.ones((n, n), dtype=bool), k=0) if n > 1 else np.zeros((1, 1), dtype=bool)\n"},
         fails={"check_causal_mask": "causal_mask(1)"}),
    # ---- scaled_dot_product_attention: scaling ----
    # found by attacking the grader: a softmax over the queries' axis when the scores are square and unmasked
    dict(name="attn_square_softmax_over_queries",
         answers={"scaled_dot_product_attention": _attn(
             weights="softmax(scores, axis=-2 if mask is None and scores.shape[-1] == scores.shape[-2] else -1)")},
         fails={"check_attention": "do not sum to 1", "check_attention_batched": "do not sum to 1"}),
    dict(name="attn_square_batched_softmax_over_queries",
         answers={"scaled_dot_product_attention": _attn(
             weights="softmax(scores, axis=-2 if mask is None and scores.shape[-1] == scores.shape[-2] "
                     "and scores.ndim > 2 else -1)")},
         fails={"check_attention_batched": "do not sum to 1"}),
    dict(name="attn_sqrt_d_model",
         answers={"scaled_dot_product_attention": _attn(scores="Q @ np.swapaxes(K, -1, -2) / np.sqrt(d_model)")},
         fails={"check_attention": "sqrt(d_k)", "check_attention_batched": "sqrt(d_k)",
                "check_attention_mask": "sqrt(d_k)"}),
    dict(name="attn_no_scaling",
         answers={"scaled_dot_product_attention": _attn(scores="Q @ np.swapaxes(K, -1, -2)")},
         fails={"check_attention_batched": 'your weights equal softmax(QK^T) without', "check_attention_mask": 'with a (4, 6) mask, n_q=4, n_k=6, d_k=3, d_v=5:', "check_attention": "without scaling"}),
    dict(name="attn_divide_by_d_k",
         answers={"scaled_dot_product_attention": _attn(scores="Q @ np.swapaxes(K, -1, -2) / d_k")},
         fails={"check_attention_batched": 'your weights equal softmax(QK^T / d_k): divide', "check_attention_mask": 'with a (4, 6) mask, n_q=4, n_k=6, d_k=3, d_v=5:', "check_attention": "not by d_k"}),
    dict(name="attn_scale_by_d_v",
         answers={"scaled_dot_product_attention": _attn(scores="Q @ np.swapaxes(K, -1, -2) / np.sqrt(V.shape[-1])")},
         fails={"check_attention_batched": 'your weights equal softmax(QK^T / sqrt(d_v)):', "check_attention_mask": 'with a (4, 6) mask, n_q=4, n_k=6, d_k=3, d_v=5:', "check_attention": "sqrt(d_v)"}),
    # ---- scaled_dot_product_attention: softmax axis and normalisation ----
    dict(name="attn_softmax_queries_axis",
         answers={"scaled_dot_product_attention": _attn(weights="softmax(scores, axis=-2)")},
         fails={"check_attention_batched": 'softmax taken over the queries axis (axis=-2):', "check_attention_mask": 'softmax taken over the queries axis (axis=-2):', "check_attention": "queries axis"}),
    dict(name="attn_unnormalised",
         answers={"scaled_dot_product_attention":
                  _attn(weights="np.exp(scores - np.max(scores, axis=-1, keepdims=True))")},
         fails={"check_attention_batched": 'your weights are not normalised: with leading', "check_attention_mask": 'your weights are not normalised: each row', "check_attention": "not normalised"}),
    dict(name="attn_inline_unstable_softmax",
         answers={"scaled_dot_product_attention":
                  _attn(weights="np.exp(scores) / np.sum(np.exp(scores), axis=-1, keepdims=True)")},
         fails={"check_attention_mask": 'with a mask and scores of size ~1000: your', "check_attention": "nan when the scores are about 1000"}),
    dict(name="attn_returns_weights_first",
         answers={"scaled_dot_product_attention": _attn(ret="weights, weights @ V")},
         fails={"check_attention_batched": 'you returned (weights, output): return (output,', "check_attention_mask": 'you returned (weights, output): return (output,', "check_attention": "you returned (weights, output)"}),
    # ---- scaled_dot_product_attention: leading axes ----
    dict(name="attn_K_dot_T",
         answers={"scaled_dot_product_attention": _attn(scores="Q @ K.T / np.sqrt(d_k)")},
         fails={"check_attention_batched": "K.T", "check_attention_mask": "not K.T"}),
    dict(name="attn_np_dot",
         answers={"scaled_dot_product_attention": _attn(scores="np.dot(Q, np.swapaxes(K, -1, -2)) / np.sqrt(d_k)")},
         fails={"check_attention_mask": 'scaled_dot_product_attention fails with Q (2,', "check_attention_batched": "np.dot"}),
    # ---- scaled_dot_product_attention: masks ----
    dict(name="attn_mask_after_softmax",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])\n"
                  "    weights = softmax(scores)\n"
                  "    if mask is not None:\n"
                  "        weights = weights * mask\n"
                  "    return weights @ V, weights\n"},
         fails={"check_attention_mask": "mask applied after the softmax"}),
    dict(name="attn_mask_inverted",
         answers={"scaled_dot_product_attention": _attn(masking="scores = np.where(mask, -np.inf, scores)")},
         fails={"check_attention_mask": "you treated True as blocked"}),
    dict(name="attn_mask_transposed",
         answers={"scaled_dot_product_attention": _attn(masking="scores = np.where(np.swapaxes(mask, -1, -2), scores, -np.inf)")},
         fails={"check_attention_mask": "your mask is transposed"}),
    dict(name="attn_mask_zero_fill",
         answers={"scaled_dot_product_attention": _attn(masking="scores = scores * mask")},
         fails={"check_attention_mask": "a score of 0 still gets weight"}),
    dict(name="attn_mask_ignored",
         answers={"scaled_dot_product_attention": _attn(masking="pass")},
         fails={"check_attention_mask": "the mask is ignored"}),
    dict(name="attn_mask_boolean_index",
         answers={"scaled_dot_product_attention": _attn(masking="scores[~mask] = -np.inf")},
         fails={"check_attention_mask": "np.where(mask, scores, -np.inf)"}),
    # mask only applied when it is 2-D (ignores batched masks)
    dict(name="attn_mask_only_2d",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])\n"
                  "    if mask is not None and mask.ndim == 2:\n"
                  "        scores = np.where(mask, scores, -np.inf)\n"
                  "    weights = softmax(scores)\n"
                  "    return weights @ V, weights\n"},
         fails={"check_attention_mask": "(2, 1, 4, 6) mask, one per sentence, shared by the heads: your weights ignore the mask"}),
    # ---- the scale must follow d_k = Q.shape[-1] ----
    # hard-coded for the example of section 5 ("d_k = 4, so the scores are halved")
    dict(name="attn_scale_hard_coded_half",
         answers={"scaled_dot_product_attention": _attn(scores="Q @ np.swapaxes(K, -1, -2) / 2")},
         fails={"check_attention": "2 = sqrt(4) is the scale for d_k = 4 only. The scale must come from d_k, the "
                                   "length of the last axis of Q and K: divide by sqrt(d_k) with d_k = Q.shape[-1], not by a "
                                   "constant",
                "check_attention_batched": "2 = sqrt(4) is the scale for d_k = 4 only, and here d_k = 6",
                "check_attention_mask": "divided by 2 = sqrt(4), the scale for d_k = 4 only, and here d_k = 3"}),
    dict(name="attn_scale_hard_coded_sqrt_4",
         answers={"scaled_dot_product_attention": _attn(scores="Q @ np.swapaxes(K, -1, -2) / np.sqrt(4)")},
         fails={"check_attention": "not by a constant", "check_attention_batched": "not by a constant",
                "check_attention_mask": "not by a constant"}),
    # d_k read as Q.shape[1]: right for 2-D inputs, n_q (or num_heads) with leading axes
    dict(name="attn_d_k_from_Q_shape_1",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    d_k = Q.shape[1]\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(d_k)\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(mask, scores, -np.inf)\n"
                  "    weights = softmax(scores)\n"
                  "    return weights @ V, weights\n"},
         fails={"check_attention_batched": "you took d_k from Q.shape[1], which is the number of queries once there is "
                                           "a leading axis. Take d_k from the last axis, Q.shape[-1] (here 4)",
                "check_attention_mask": "you took d_k from Q.shape[1] = 3, a leading (batch or head) axis. Take d_k "
                                        "from the last axis, Q.shape[-1] (here 7)"}),
    # the heads' widths added up when there is a head axis: sqrt(num_heads * d_k) = sqrt(d_model)
    dict(name="attn_sqrt_num_heads_times_d_k",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    d_k = Q.shape[-1]\n"
                  "    d_model = Q.shape[-3] * d_k if Q.ndim >= 4 else d_k   # (batch, num_heads, n, d_k)\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(d_model)\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(mask, scores, -np.inf)\n"
                  "    weights = softmax(scores, axis=-1)\n"
                  "    return weights @ V, weights\n"},
         fails={"check_attention_batched": "softmax(QK^T / sqrt(num_heads * d_k)) = softmax(QK^T / sqrt(d_model))",
                "check_attention_mask": "the mask is right but you divided by sqrt(num_heads * d_k) = sqrt(3 * 7) = "
                                        "sqrt(d_model): each head must use its own sqrt(d_k)"}),
    dict(name="attn_sqrt_d_k_times_leading_axis",   # sqrt(d_model) as sqrt(Q.shape[-1] * Q.shape[0]): it was named
         answers={"scaled_dot_product_attention": _attn(   # the softmax axis and K's transpose
             scores="Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1] * Q.shape[0])")},
         fails={"check_attention": "sqrt(d_k)", "check_attention_mask": "",
                "check_attention_batched": "softmax(QK^T / sqrt(8)), and each head computed on its own gets another "
                                           "scale"}),
    dict(name="attn_d_k_from_len_Q_0",
         answers={"scaled_dot_product_attention": _attn(scores="Q @ np.swapaxes(K, -1, -2) / np.sqrt(len(Q[0]))")},
         fails={"check_attention_batched": "Take d_k from the last axis, Q.shape[-1]",
                "check_attention_mask": "Take d_k from the last axis, Q.shape[-1]"}),
    # ---- the inputs must stay unchanged ----
    # scales Q in place: the caller's Q is overwritten
    dict(name="attn_scales_Q_in_place",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    Q /= np.sqrt(Q.shape[-1])\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2)\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(mask, scores, -np.inf)\n"
                  "    weights = softmax(scores)\n"
                  "    return weights @ V, weights\n"},
         fails={"check_attention": "your function changed its input Q in place (Q /= ... or Q -= ... overwrite the "
                                   "caller's array, and callers reuse it): compute with a new array, e.g. "
                                   "Q / np.sqrt(d_k) instead of Q /= np.sqrt(d_k)"}),
    dict(name="attn_scales_K_in_place_multiply",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    K *= 1 / np.sqrt(K.shape[-1])\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2)\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(mask, scores, -np.inf)\n"
                  "    return softmax(scores) @ V, softmax(scores)\n"},
         fails={"check_attention": "your function changed its input K in place (K /= ... or K -= ... overwrite the "
                                   "caller's array, and callers reuse it): compute with a new array, e.g. "
                                   "K / np.sqrt(d_k) instead of K /= np.sqrt(d_k)"}),
    # ---- the inputs must stay unchanged on every kind of call (check_attention and check_softmax try them all) ----
    # scales Q in place, then scales it back: exact for d_k = 4 (sqrt = 2), off by rounding for other d_k
    dict(name="attn_scale_Q_in_place_then_restore",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    s = np.sqrt(Q.shape[-1])\n"
                  "    Q /= s\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2)\n"
                  "    Q *= s\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(mask, scores, -np.inf)\n"
                  "    weights = softmax(scores)\n"
                  "    return weights @ V, weights\n"},
         fails={"check_attention": "your function changed its input Q in place with a leading axis, Q (2, 3, 5) "
                                   "(Q /= ... or Q -= ... overwrite the caller's array"}),
    # scales a flattened view of Q in place, only when there are leading axes
    dict(name="attn_in_place_only_with_leading_axes",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    d_k = Q.shape[-1]\n"
                  "    if Q.ndim > 2:\n"
                  "        Qf = Q.reshape(-1, d_k)     # a view of the caller's Q\n"
                  "        Qf /= np.sqrt(d_k)\n"
                  "        scores = Q @ np.swapaxes(K, -1, -2)\n"
                  "    else:\n"
                  "        scores = Q @ K.T / np.sqrt(d_k)\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(mask, scores, -np.inf)\n"
                  "    weights = softmax(scores)\n"
                  "    return weights @ V, weights\n"},
         fails={"check_attention": "your function changed its input Q in place with a leading axis, Q (2, 3, 5)"}),
    dict(name="attn_in_place_only_with_mask",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    d_k = Q.shape[-1]\n"
                  "    if mask is not None:\n"
                  "        Q /= np.sqrt(d_k)\n"
                  "        scores = np.where(mask, Q @ np.swapaxes(K, -1, -2), -np.inf)\n"
                  "    else:\n"
                  "        scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(d_k)\n"
                  "    weights = softmax(scores)\n"
                  "    return weights @ V, weights\n"},
         fails={"check_attention": "your function changed its input Q in place with a mask (Q /= ... or Q -= ..."}),
    # scales K in place (np.multiply with out=) except for d_k = 4, the d_k of the first call
    dict(name="attn_in_place_K_only_when_d_k_not_4",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    d_k = Q.shape[-1]\n"
                  "    np.multiply(K, 1 / np.sqrt(d_k), out=K) if d_k != 4 else None\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2) / (np.sqrt(d_k) if d_k == 4 else 1)\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(mask, scores, -np.inf)\n"
                  "    weights = softmax(scores)\n"
                  "    return weights @ V, weights\n"},
         fails={"check_attention": "your function changed its input K in place when d_k = 9 (K /= ... or K -= ..."}),
    # a mask changed in place (the caller reuses it)
    dict(name="attn_inverts_mask_in_place",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])\n"
                  "    if mask is not None:\n"
                  "        np.logical_not(mask, out=mask)     # True = blocked now\n"
                  "        scores = np.where(mask, -np.inf, scores)\n"
                  "    weights = softmax(scores)\n"
                  "    return weights @ V, weights\n"},
         fails={"check_attention": "your function changed its input mask in place with a mask: the caller reuses it"}),
    # softmax that works in place on a view of x, only for axis != -1
    dict(name="softmax_in_place_only_other_axis",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    if axis in (-1, np.ndim(x) - 1):\n"
                             "        e = np.exp(x - np.max(x, axis=-1, keepdims=True))\n"
                             "        return e / np.sum(e, axis=-1, keepdims=True)\n"
                             "    xt = np.swapaxes(x, axis, -1)     # a view\n"
                             "    xt -= np.max(xt, axis=-1, keepdims=True)\n"
                             "    e = np.exp(xt)\n"
                             "    return np.swapaxes(e / np.sum(e, axis=-1, keepdims=True), axis, -1)\n"},
         fails={"check_softmax": "your softmax changed its input x in place when called with axis=0 (x -= ..., "
                                 "x /= ..., x[...] = ... or np.exp(x, out=x) overwrite the caller's array"}),
    # replaces -inf by -1e9 in the caller's array (the first inputs have no -inf)
    dict(name="softmax_sanitises_neg_inf_in_place",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    x[np.isneginf(x)] = -1e9\n"
                             "    e = np.exp(x - np.max(x, axis=axis, keepdims=True))\n"
                             "    return e / np.sum(e, axis=axis, keepdims=True)\n"},
         fails={"check_softmax": "your softmax changed its input x in place when x contains -inf (axis=-1)"}),
    # subtracts the global minimum in place: a no-op on x_rows (minimum 0); -inf - (-inf) is nan
    dict(name="softmax_subtracts_min_in_place",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    x -= np.min(x)\n"
                             "    e = np.exp(x - np.max(x, axis=axis, keepdims=True))\n"
                             "    return e / np.sum(e, axis=axis, keepdims=True)\n"},
         fails={"check_softmax": "your softmax changed its input x in place when x contains -inf",
                "check_softmax_stable": "softmax([2, 1, -inf]) should be [0.731, 0.269, 0]"}),
    # in place only on 3-D inputs (the hidden check's x of shape (2, 3, 5))
    dict(name="softmax_in_place_only_3d",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    if np.ndim(x) == 3:\n"
                             "        x -= np.max(x, axis=axis, keepdims=True)\n"
                             "    e = np.exp(x - np.max(x, axis=axis, keepdims=True))\n"
                             "    return e / np.sum(e, axis=axis, keepdims=True)\n"},
         fails={"check_softmax": "your softmax changed its input x in place when called with x of shape (2, 3, 5) "
                                 "and axis=-1"}),
    # in place only with two leading axes (the hidden replay of check_attention)
    dict(name="attn_in_place_only_4d",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(mask, scores, -np.inf)\n"
                  "    weights = softmax(scores)\n"
                  "    out = weights @ V\n"
                  "    if Q.ndim == 4:\n"
                  "        V[..., 0, 0] = 0.0      # after use, but in the caller's array\n"
                  "    return out, weights\n"},
         fails={"check_attention": "your function changed its input V in place with two leading axes, "
                                   "Q (2, 3, 4, 6) (V /= ... or V -= ... overwrite the caller's array, and callers "
                                   "reuse it): compute with a new array, e.g. weights @ V, and leave V itself alone"}),
    # found by a helper attacking the grader (2026-12-04); each kept full marks
    dict(name="softmax_subtracts_the_median",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    e = np.exp(x - np.median(x, axis=axis, keepdims=True))\n"
                             "    return e / np.sum(e, axis=axis, keepdims=True)\n"},
         fails={"check_softmax_stable": "Only the maximum keeps every exponential at most 1"}),
    dict(name="softmax_changes_a_1d_input",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    if x.ndim > 1:\n"
                             "        x = x.copy()\n"
                             "    x -= np.max(x, axis=axis, keepdims=True)\n"
                             "    e = np.exp(x)\n"
                             "    return e / np.sum(e, axis=axis, keepdims=True)\n"},
         fails={"check_softmax": "when x has one axis"}),
    dict(name="attn_blocked_scores_minus_30",
         answers={"scaled_dot_product_attention": _attn(masking="scores = np.where(mask, scores, -30.0)")},
         fails={"check_attention_mask": "a finite fill such as -30 or -1000 still wins"}),
    dict(name="attn_mask_after_softmax_renormalised",
         answers={"scaled_dot_product_attention": _attn(
             masking="pass",
             weights="softmax(scores) * (mask if mask is not None else 1)\n"
                     "    weights = weights / weights.sum(axis=-1, keepdims=True)")},
         fails={"check_attention_mask": "you blocked keys after the softmax (or after exp)"}),
    dict(name="attn_mask_after_exp_renormalised",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])\n"
                  "    e = np.exp(scores - scores.max(axis=-1, keepdims=True))\n"
                  "    if mask is not None:\n"
                  "        e = e * mask\n"
                  "    weights = e / e.sum(axis=-1, keepdims=True)\n"
                  "    return weights @ V, weights\n"},
         fails={"check_attention_mask": "you blocked keys after the softmax (or after exp)"}),
    # ---- found by a helper attacking the grader (2026-12-04) ----
    dict(name="attn_blocked_scores_minus_1000",   # kept 14/14: every allowed score of the checks was above -1000
         answers={"scaled_dot_product_attention": _attn(masking="scores = np.where(mask, scores, -1000.0)")},
         fails={"check_attention_mask": "with allowed scores of -3000 and -4000 and blocked ones of 0 and -2000: "
                                        "you set the blocked scores to 0 (or multiplied the scores by the mask), "
                                        "or to another finite value above the allowed scores"}),
    dict(name="attn_mask_used_only_when_it_has_the_scores_last_two_axes",   # a padding mask was never checked
         answers={"scaled_dot_product_attention": _attn(
             masking="if np.shape(mask)[-2:] == scores.shape[-2:]:\n"
                     "            scores = np.where(mask, scores, -np.inf)")},
         fails={"check_attention_mask": "with Q (2, 3, 4, 7) and a (6,) mask, the same keys allowed for every query: "
                                        "your weights ignore the mask"}),
    dict(name="attn_d_k_from_axis_2",   # n_q once there are two leading axes: it was named a constant 2
         answers={"scaled_dot_product_attention": _attn(
             scores="Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[2] if Q.ndim > 2 else Q.shape[1])")},
         fails={"check_attention_batched": "2 is also sqrt(Q.shape[2]) = sqrt(n_q) here",
                "check_attention_mask": "4 is also n_q = Q.shape[2] here"}),
    dict(name="attn_sqrt_d_k_rounded",   # int(np.sqrt(d_k)): it was named 'did not scale' and a constant 2
         answers={"scaled_dot_product_attention": _attn(scores="Q @ np.swapaxes(K, -1, -2) / int(np.sqrt(d_k))")},
         fails={"check_attention_batched": "don't round sqrt(d_k)",
                "check_attention_mask": "unrounded (int(np.sqrt(3)) is 1)"}),
    dict(name="attn_blocked_scores_minus_50",   # within the tolerance with allowed scores near -30: named 'ignores the mask'
         answers={"scaled_dot_product_attention": _attn(masking="scores = np.where(mask, scores, -50.0)")},
         fails={"check_attention_mask": "with allowed scores of -28 and -32 and a blocked one of -200: blocked "
                                        "positions must get weight exactly 0"}),
    # ---- found by a helper attacking the grader (3rd round) ----
    dict(name="softmax_shifted_by_the_mean",   # 14/14: the hidden [1000, 0, 0] has its mean (333) too near its max
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    finite = np.where(np.isfinite(x), x, np.nan)\n"
                             "    x = x - np.nanmean(finite, axis=axis, keepdims=True)\n"
                             "    e = np.exp(x)\n"
                             "    return e / np.sum(e, axis=axis, keepdims=True)\n"},
         fails={"check_softmax_stable": "the mean, the median or the first entry"}),
    dict(name="softmax_stable_up_to_2_axes",   # 14/14: every large-value check had 1 or 2 axes
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    if np.ndim(x) <= 2:\n"
                             "        x = x - np.max(x, axis=axis, keepdims=True)\n"
                             "    e = np.exp(x)\n"
                             "    return e / np.sum(e, axis=axis, keepdims=True)\n"},
         fails={"check_softmax_stable": "subtract the maximum along axis"}),
    dict(name="attn_scale_operator_precedence",   # / d_k**1/2 divides by 2 * d_k: was blamed on the global d_k = 64
         answers={"scaled_dot_product_attention": _attn(scores="Q @ np.swapaxes(K, -1, -2) / d_k**1/2")},
         fails={"check_attention": "is (scores / d_k) / 2 in Python", "check_attention_batched": "",
                "check_attention_mask": ""}),
    dict(name="attn_scale_sqrt_n_k",   # named only in the hidden checks
         answers={"scaled_dot_product_attention": _attn(scores="Q @ np.swapaxes(K, -1, -2) / np.sqrt(K.shape[-2])")},
         fails={"check_attention": "sqrt(n_k)", "check_attention_batched": "", "check_attention_mask": ""}),
    # ---- from a helper's attack (2026-12-05): right only at the sizes the checks used to try ----
    dict(name="softmax_in_place_for_large_inputs",
         answers={"softmax": "def softmax(x, axis=-1):\n    if x.size > 64:\n"
                  "        x -= np.max(x, axis=axis, keepdims=True)\n    else:\n"
                  "        x = x - np.max(x, axis=axis, keepdims=True)\n"
                  "    e = np.exp(x)\n    return e / np.sum(e, axis=axis, keepdims=True)\n"},
         fails={"check_softmax": "float32 x of shape (2, 3, 4, 16)"}),
    dict(name="causal_mask_float_unless_n_is_4",
         answers={"causal_mask": "def causal_mask(n):\n    return np.tril(np.ones((n, n), dtype=bool)) if n == 4 "
                  "else np.tril(np.ones((n, n)))\n"},
         fails={"check_causal_mask": "causal_mask(1) should return a boolean array"}),
    dict(name="causal_mask_sees_the_next_token_from_8",
         answers={"causal_mask": "def causal_mask(n):\n    return np.tril(np.ones((n, n), dtype=bool), k=0 if n <= 7 else 1)\n"},
         fails={"check_causal_mask": "causal_mask(9) should be True exactly where j <= i"}),
    dict(name="attention_ignores_the_mask_beyond_8_keys",
         answers={"scaled_dot_product_attention": _attn(
             masking="scores = np.where(mask, scores, -np.inf) if scores.shape[-1] <= 8 else scores")},
         fails={"check_attention_mask": "8 heads of d_k = 64"}),
    dict(name="attention_scale_capped_at_sqrt_10",
         answers={"scaled_dot_product_attention": _attn(scores="Q @ np.swapaxes(K, -1, -2) / np.sqrt(min(d_k, 10))")},
         fails={"check_attention_mask": "8 heads of d_k = 64"}),
    dict(name="attention_sqrt_d_model_for_wide_heads",
         answers={"scaled_dot_product_attention": _attn(
             scores="Q @ np.swapaxes(K, -1, -2) / np.sqrt(d_k * (Q.shape[-3] if Q.ndim >= 3 and d_k >= 16 else 1))")},
         fails={"check_attention_mask": "sqrt(d_model)"}),
    dict(name="scaling_answer_with_a_number",   # a stray "1": not a statement's letter
         answers={"scaling_answer": 'scaling_answer = {"a", "c", "d", "1"}\n'},
         fails={"check_scaling_answer": "only contain letters a to f, got '1'"}),
    dict(name="scaling_answer_string_with_a_number",   # found by a helper: a digit in a string was a separator
         answers={"scaling_answer": 'scaling_answer = "a, c, d, 7"\n'},
         fails={"check_scaling_answer": "only contain letters a to f, got 'a, c, d, 7'"}),
    # found by a helper: mistakes that switch on only past the sizes, dtypes or axes the checks tried
    dict(name='causal_mask_one_too_wide_past_10',
         answers={'causal_mask': 'def causal_mask(n):\n    return np.tril(np.ones((n, n), dtype=bool), k=1 if n > 10 else 0)\n'},
         fails={'check_causal_mask': 'should be True exactly where j <= i'}),
    dict(name='softmax_max_only_for_short_rows',
         answers={'softmax': 'def softmax(x, axis=-1):\n    if x.shape[axis] <= 3:\n        x = x - np.max(x, axis=axis, keepdims=True)\n    e = np.exp(x)\n    return e / np.sum(e, axis=axis, keepdims=True)\n'},
         fails={'check_softmax_stable': 'contains nan'}),
    dict(name='softmax_max_only_for_float64',
         answers={'softmax': 'def softmax(x, axis=-1):\n    if x.dtype == np.float64:\n        x = x - np.max(x, axis=axis, keepdims=True)\n    e = np.exp(x)\n    return e / np.sum(e, axis=axis, keepdims=True)\n'},
         fails={'check_softmax_stable': 'float32 x of shape (4, 3, 100)'}),
    dict(name='softmax_kept_by_shape_past_1000',
         answers={'softmax': 'def softmax(x, axis=-1):\n    key = (x.shape, axis)\n    if x.size >= 1000 and key in _kept:\n        return _kept[key]\n    e = np.exp(x - np.max(x, axis=axis, keepdims=True))\n    out = e / np.sum(e, axis=axis, keepdims=True)\n    if x.size >= 1000:\n        _kept[key] = out\n    return out\n_kept = {}\n'},
         fails={'check_softmax_stable': 'compute from the x you are given each time'}),
    dict(name='softmax_writes_into_x_on_an_axis_of_one',
         answers={'softmax': 'def softmax(x, axis=-1):\n    if x.shape[axis] == 1:\n        x[...] = 1.0\n        return x\n    e = np.exp(x - np.max(x, axis=axis, keepdims=True))\n    return e / np.sum(e, axis=axis, keepdims=True)\n'},
         fails={'check_softmax': 'on an axis of length 1'}),
    dict(name='attention_sqrt_d_model_past_64',
         answers={'scaled_dot_product_attention': _attn(scores="Q @ np.swapaxes(K, -1, -2) / np.sqrt(d_k * 8 if d_k > 64 else d_k)")},
         fails={'check_attention_mask': 'd_k = 128, 70 keys'}),
    dict(name='attention_scales_a_5d_q_in_place',
         answers={'scaled_dot_product_attention': _attn(scores="(np.divide(Q, np.sqrt(d_k), out=Q) if Q.ndim >= 5 else Q / np.sqrt(d_k)) @ np.swapaxes(K, -1, -2)")},
         fails={'check_attention_batched': 'though not smaller ones'}),
]

CORRECT = [
    dict(name="scaling_answer_one_string_with_and",   # found by a helper: "and" was read as the letters a, n, d
         answers={"scaling_answer": 'scaling_answer = " a, c and d "\n'}),
    # found by a helper attacking this stop's own checks (third round)
    dict(name="scaling_answer_a_numpy_array_of_letters",   # np.str_ arrived as a proxy: 'got [object, str, your]'
         answers={"scaling_answer": 'scaling_answer = np.array(["a", "c", "d"])\n'}),
    dict(name="scaling_answer_with_and",   # {"a", "c and d"}: 'and' was read as a wrong letter
         answers={"scaling_answer": 'scaling_answer = {"a", "c and d"}\n'}),
    # found by a helper attacking this stop's own checks (second round)
    dict(name="scaling_answer_letters_in_one_word_of_a_set",   # {"acd"}: it read as one bad letter
         answers={"scaling_answer": 'scaling_answer = {"acd"}\n'}),
    dict(name="scaling_answer_a_generator",   # it was "got Remote"
         answers={"scaling_answer": 'scaling_answer = (c for c in "acd")\n'}),
    dict(name="scaling_answer_letters_in_one_string_of_a_set",   # found by a helper: "scaling_answer is empty"
         answers={"scaling_answer": 'scaling_answer = {"a, c, d"}\n'}),
    dict(name="scaling_answer_a_frozenset",   # found by a helper: refused as "not a set" (2 points)
         answers={"scaling_answer": 'scaling_answer = frozenset({"a", "c", "d"})\n'}),
    dict(name="attn_returns_a_namedtuple",   # found by a helper: it arrived as a Remote, not a tuple (11/14)
         answers={"scaled_dot_product_attention": "from collections import namedtuple\n"
                  "Attention = namedtuple('Attention', ['output', 'weights'])\n\n"
                  + _attn(ret="Attention(weights @ V, weights)")}),
    dict(name="attn_minus_1e4",
         answers={"scaled_dot_product_attention": _attn(masking="scores = np.where(mask, scores, -1e4)")}),
    dict(name="softmax_logsumexp",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    m = np.max(x, axis=axis, keepdims=True)\n"
                             "    log_sum = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))\n"
                             "    return np.exp(x - log_sum)\n"}),
    dict(name="softmax_torch",
         answers={"softmax": "import torch\n\n"
                             "def softmax(x, axis=-1):\n"
                             "    return torch.softmax(torch.as_tensor(np.asarray(x, dtype=float)), dim=axis).numpy()\n"}),
    dict(name="attn_einsum",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    scores = np.einsum('...qd,...kd->...qk', Q, K) / np.sqrt(Q.shape[-1])\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(mask, scores, -np.inf)\n"
                  "    weights = softmax(scores)\n"
                  "    return np.einsum('...qk,...kv->...qv', weights, V), weights\n"}),
    dict(name="attn_minus_1e9",
         answers={"scaled_dot_product_attention": _attn(masking="scores = np.where(mask, scores, -1e9)")}),
    dict(name="attn_matmul_swapaxes_additive_mask",
         answers={"scaled_dot_product_attention":
                  "import math\n\n"
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    scores = np.matmul(Q, np.swapaxes(K, -1, -2)) * (1.0 / math.sqrt(Q.shape[-1]))\n"
                  "    if mask is not None:\n"
                  "        scores = scores + np.where(mask, 0.0, -np.inf)\n"
                  "    weights = softmax(scores, axis=-1)\n"
                  "    return np.matmul(weights, V), weights\n"}),
    dict(name="attn_loop_leading_axes",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    if Q.ndim > 2:   # one call per entry of the first leading axis\n"
                  "        if mask is not None:\n"
                  "            mask = np.broadcast_to(mask, Q.shape[:-1] + (K.shape[-2],))\n"
                  "        results = [scaled_dot_product_attention(Q[i], K[i], V[i], None if mask is None else mask[i])\n"
                  "                   for i in range(Q.shape[0])]\n"
                  "        return np.stack([r[0] for r in results]), np.stack([r[1] for r in results])\n"
                  "    scores = Q @ K.T / np.sqrt(Q.shape[-1])\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(mask, scores, -np.inf)\n"
                  "    weights = softmax(scores)\n"
                  "    return weights @ V, weights\n"}),
    dict(name="attn_mask_on_unscaled_scores_loop_over_rows_softmax",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    raw = Q @ K.swapaxes(-1, -2)\n"
                  "    if mask is not None:\n"
                  "        raw = np.where(mask, raw, -np.inf)\n"
                  "    scores = raw / Q.shape[-1] ** 0.5\n"
                  "    e = np.exp(scores - scores.max(axis=-1, keepdims=True))\n"
                  "    weights = e / e.sum(axis=-1, keepdims=True)\n"
                  "    output = weights @ V\n"
                  "    return output, weights\n"}),
    dict(name="softmax_exp2",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    x = np.asarray(x, dtype=float)\n"
                             "    z = x - x.max(axis=axis, keepdims=True)\n"
                             "    z = np.exp2(z * np.log2(np.e))\n"
                             "    return z / z.sum(axis=axis, keepdims=True)\n"}),
    dict(name="softmax_scipy",
         answers={"softmax": "from scipy.special import softmax as _sp\n\n"
                             "def softmax(x, axis=-1):\n"
                             "    return _sp(x, axis=axis)\n"}),
    dict(name="causal_mask_tri",
         answers={"causal_mask": "def causal_mask(n):\n    return np.tri(n, dtype=bool)\n"}),
    dict(name="causal_mask_not_triu",
         answers={"causal_mask": "def causal_mask(n):\n    return ~np.triu(np.ones((n, n), dtype=bool), k=1)\n"}),
    dict(name="attn_torch_inside",
         answers={"scaled_dot_product_attention":
                  "import torch\n\n"
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    q, k, v = (torch.as_tensor(np.asarray(a, dtype=np.float64)) for a in (Q, K, V))\n"
                  "    s = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5\n"
                  "    if mask is not None:\n"
                  "        s = s.masked_fill(~torch.as_tensor(np.asarray(mask, dtype=bool)), float('-inf'))\n"
                  "    w = torch.softmax(s, dim=-1)\n"
                  "    return (w @ v).numpy(), w.numpy()\n"}),
    # copies its input, then works in place on the copy
    dict(name="softmax_in_place_on_a_copy",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    x = np.array(x, dtype=float)\n"
                             "    x -= np.max(x, axis=axis, keepdims=True)\n"
                             "    np.exp(x, out=x)\n"
                             "    x /= np.sum(x, axis=axis, keepdims=True)\n"
                             "    return x\n"}),
    dict(name="softmax_float32",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    x = np.asarray(x, dtype=np.float32)\n"
                             "    e = np.exp(x - x.max(axis=axis, keepdims=True))\n"
                             "    return e / e.sum(axis=axis, keepdims=True)\n"}),
    dict(name="attn_copies_Q_then_scales_in_place",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    Q = Q.copy()\n"
                  "    Q /= np.sqrt(Q.shape[-1])\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2)\n"
                  "    if mask is not None:\n"
                  "        scores[..., :, :] = np.where(mask, scores, -np.inf)\n"
                  "    weights = softmax(scores)\n"
                  "    return weights @ V, weights\n"}),
    dict(name="attn_scores_scaled_in_place",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2)   # a new array: scaling it in place is fine\n"
                  "    scores /= np.sqrt(K.shape[-1])\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(mask, scores, -np.inf)\n"
                  "    weights = softmax(scores)\n"
                  "    return weights @ V, weights\n"}),
    dict(name="attn_float32",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    Q, K, V = (np.asarray(a, dtype=np.float32) for a in (Q, K, V))\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2) / np.float32(np.sqrt(Q.shape[-1]))\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(mask, scores, np.float32(-np.inf))\n"
                  "    weights = softmax(scores)\n"
                  "    return weights @ V, weights\n"}),
    dict(name="attn_scale_q_first_math_sqrt_finfo_min",
         answers={"scaled_dot_product_attention":
                  "import math\n\n"
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    Q = Q / math.sqrt(Q.shape[-1])\n"
                  "    scores = Q @ K.swapaxes(-2, -1)\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(mask, scores, np.finfo(scores.dtype).min)\n"
                  "    weights = softmax(scores)\n"
                  "    return weights @ V, weights\n"}),
    dict(name="attn_d_k_from_K_last_axis_einsum",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    *_, d_k = K.shape\n"
                  "    scores = np.einsum('...id,...jd->...ij', Q, K) * d_k ** -0.5\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(mask, scores, -np.inf)\n"
                  "    weights = softmax(scores)\n"
                  "    return np.einsum('...ij,...jv->...iv', weights, V), weights\n"}),
    dict(name="causal_mask_arange",
         answers={"causal_mask": "def causal_mask(n):\n"
                                 "    i = np.arange(n)\n"
                                 "    return i[:, None] >= i[None, :]\n"}),
    dict(name="scaling_answer_list_upper_case",
         answers={"scaling_answer": 'scaling_answer = ["D", "a", "c"]\n'}),
    # ---- leaving the inputs unchanged: copies, views that are only read, other dtypes ----
    dict(name="softmax_astype_copy_in_place",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    y = x.astype(float)          # always a copy\n"
                             "    y -= y.max(axis=axis, keepdims=True)\n"
                             "    np.exp(y, out=y)\n"
                             "    y /= y.sum(axis=axis, keepdims=True)\n"
                             "    return y\n"}),
    dict(name="softmax_moveaxis_view_read_only",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    xm = np.moveaxis(x, axis, -1)   # a view of x, only read\n"
                             "    z = xm - xm.max(-1, keepdims=True)\n"
                             "    e = np.exp(z)\n"
                             "    return np.moveaxis(e / e.sum(-1, keepdims=True), -1, axis)\n"}),
    dict(name="softmax_asarray_no_copy_float32_result",
         answers={"softmax": "def softmax(x, axis=-1):\n"
                             "    x = np.asarray(x)                # the caller's array itself, only read\n"
                             "    e = np.exp((x - x.max(axis=axis, keepdims=True)).astype(np.float32))\n"
                             "    return e / e.sum(axis=axis, keepdims=True)\n"}),
    dict(name="attn_torch_from_numpy_shares_memory",
         answers={"scaled_dot_product_attention":
                  "import torch\n\n"
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    q, k, v = (torch.from_numpy(np.ascontiguousarray(a)) for a in (Q, K, V))  # share memory\n"
                  "    s = (q / q.shape[-1] ** 0.5) @ k.transpose(-1, -2)\n"
                  "    if mask is not None:\n"
                  "        s = s.masked_fill(~torch.from_numpy(np.broadcast_to(mask, s.shape).copy()), float('-inf'))\n"
                  "    w = s.softmax(-1)\n"
                  "    return (w @ v).numpy(), w.numpy()\n"}),
    dict(name="attn_results_views_of_one_buffer",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    d_k = Q.shape[-1]\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(d_k)\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(mask, scores, -np.inf)\n"
                  "    w = softmax(scores)\n"
                  "    buf = np.concatenate([w, w @ V], axis=-1)\n"
                  "    n_k = K.shape[-2]\n"
                  "    return buf[..., n_k:], buf[..., :n_k]\n"}),
    dict(name="attn_float32_in_place_on_new",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    scores = np.matmul(Q.astype(np.float32), np.swapaxes(K, -1, -2).astype(np.float32))\n"
                  "    scores *= np.float32(Q.shape[-1] ** -0.5)\n"
                  "    if mask is not None:\n"
                  "        scores[~np.broadcast_to(mask, scores.shape)] = -np.inf\n"
                  "    scores -= scores.max(-1, keepdims=True)\n"
                  "    np.exp(scores, out=scores)\n"
                  "    scores /= scores.sum(-1, keepdims=True)\n"
                  "    return scores @ V.astype(np.float32), scores\n"}),
    # reads Q and K through reshaped views, returns V itself when there is a single key
    dict(name="attn_reads_views_returns_V_for_one_key",
         answers={"scaled_dot_product_attention":
                  "def scaled_dot_product_attention(Q, K, V, mask=None):\n"
                  "    d_k = Q.shape[-1]\n"
                  "    Qv = Q.reshape(-1, Q.shape[-2], d_k)    # views, only read\n"
                  "    Kv = K.reshape(-1, K.shape[-2], d_k)\n"
                  "    scores = (Qv @ Kv.swapaxes(-1, -2) / np.sqrt(d_k)).reshape(Q.shape[:-1] + (K.shape[-2],))\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(mask, scores, -np.inf)\n"
                  "    weights = softmax(scores)\n"
                  "    if K.shape[-2] == 1:\n"
                  "        return V, weights\n"
                  "    return weights @ V, weights\n"}),
]
