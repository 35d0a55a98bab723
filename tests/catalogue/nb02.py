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
]

CORRECT = [
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
]
