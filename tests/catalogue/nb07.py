"""Wrong answers and correct variants for 07_grouped_query_attention (see tests/test_catalogue.py)."""
NOTEBOOK = "07_grouped_query_attention.ipynb"

_GROUP = "def group_size(num_heads, num_kv_heads):\n"
_REPEAT = "def repeat_kv(K, n_rep):\n"
_GQA = "def grouped_query_attention(query, key, value, W_Q, W_K, W_V, W_O, num_heads, num_kv_heads, mask=None):\n"
_KV = "def kv_cache_bytes(n, num_layers, num_kv_heads, d_k, bytes_per_value, batch=1):\n"
_SPLIT_QKV = ("    r = group_size(num_heads, num_kv_heads)\n"
              "    Q = split_heads(query @ W_Q, num_heads)\n"
              "    K = split_heads(key @ W_K, num_kv_heads)\n"
              "    V = split_heads(value @ W_V, num_kv_heads)\n")
_MHA_TAIL = ("    if mask is not None:\n"
             "        mask = np.expand_dims(mask, -3)\n"
             "    heads, weights = scaled_dot_product_attention(Q, K, V, mask)\n"
             "    return combine_heads(heads) @ W_O, weights\n")

# the query heads attend to the repeated K and V (the answers below differ in how they combine `heads`)
_ATTEND = ("    K, V = repeat_kv(K, r), repeat_kv(V, r)\n"
           "    if mask is not None:\n"
           "        mask = np.expand_dims(mask, -3)\n"
           "    heads, weights = scaled_dot_product_attention(Q, K, V, mask)\n")


def _kv_from(k_input, v_input):
    """A GQA whose keys and values are projected from the inputs named (the right one: "key", "value")."""
    return (_GQA + "    r = group_size(num_heads, num_kv_heads)\n"
            "    Q = split_heads(query @ W_Q, num_heads)\n"
            f"    K = repeat_kv(split_heads({k_input} @ W_K, num_kv_heads), r)\n"
            f"    V = repeat_kv(split_heads({v_input} @ W_V, num_kv_heads), r)\n" + _MHA_TAIL)


WRONG = [
    dict(name="group_size_no_divisibility_check",
         answers={"group_size": _GROUP + "    return num_heads // num_kv_heads\n"},
         fails={"check_group_size": "must be divisible"}),
    dict(name="group_size_inverted",
         answers={"group_size": _GROUP + "    if num_kv_heads < 1 or num_heads % num_kv_heads:\n"
                                "        raise ValueError(f'num_heads={num_heads} must be divisible by "
                                "num_kv_heads={num_kv_heads}')\n"
                                "    return num_kv_heads // num_heads\n"},
         fails={"check_group_size": "you divided num_kv_heads by num_heads"}),
    dict(name="group_size_float",
         answers={"group_size": _GROUP + "    if num_kv_heads < 1 or num_heads % num_kv_heads:\n"
                                "        raise ValueError(f'num_heads={num_heads} must be divisible by "
                                "num_kv_heads={num_kv_heads}')\n"
                                "    return num_heads / num_kv_heads\n"},
         fails={"check_group_size": "return an int"}),
    dict(name="group_size_no_lower_bound",
         answers={"group_size": _GROUP + "    if num_heads % num_kv_heads:\n"
                                "        raise ValueError(f'num_heads={num_heads} must be divisible by "
                                "num_kv_heads={num_kv_heads}')\n"
                                "    return num_heads // num_kv_heads\n"},
         fails={"check_group_size": "before dividing"}),
    dict(name="group_size_message_without_numbers",
         answers={"group_size": _GROUP + "    if num_kv_heads < 1 or num_heads % num_kv_heads:\n"
                                "        raise ValueError('num_heads must be divisible by num_kv_heads')\n"
                                "    return num_heads // num_kv_heads\n"},
         fails={"check_group_size": "the message should name both numbers, 8 and 3"}),
    dict(name="repeat_kv_tile",
         answers={"repeat_kv": _REPEAT + "    return np.tile(K, (1,) * (K.ndim - 3) + (n_rep, 1, 1))\n"},
         fails={"check_repeat_kv": "np.tile"}),
    dict(name="repeat_kv_batch_axis",
         answers={"repeat_kv": _REPEAT + "    return np.repeat(K, n_rep, axis=0)\n"},
         fails={"check_repeat_kv": "not axis=0"}),
    dict(name="repeat_kv_without_axis",
         answers={"repeat_kv": _REPEAT + "    return np.repeat(K, n_rep)\n"},
         fails={"check_repeat_kv": "flattens"}),
    dict(name="gqa_head_j_mod_num_kv_heads",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV +
                  "    idx = np.arange(num_heads) % num_kv_heads\n"
                  "    K, V = K[..., idx, :, :], V[..., idx, :, :]\n" + _MHA_TAIL},
         fails={"check_gqa_masked": 'they are wrong without a mask too, so the mask is not the problem', "check_gqa": "j % num_kv_heads"}),
    # found by a helper attacking the grader: every check passed key is value, so these got full marks
    dict(name="gqa_values_from_key", answers={"grouped_query_attention": _kv_from("key", "key")},
         fails={"check_gqa": "your values come from `key`: V = value @ W_V"}),
    dict(name="gqa_keys_from_value", answers={"grouped_query_attention": _kv_from("value", "value")},
         fails={"check_gqa": "your keys come from `value`: K = key @ W_K"}),
    # the visible checks pass query as key and value too: the hidden ones name it in both cells (not the mask's axis)
    dict(name="gqa_key_and_value_inputs_swapped", answers={"grouped_query_attention": _kv_from("value", "key")},
         fails={"check_gqa": "your keys come from `value` and your values from `key`"}),   # was named the group mapping
    dict(name="gqa_kv_repeated_num_kv_heads_times",   # right when n_rep = num_kv_heads: it got NumPy's bare error
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV.replace("    r = ", "    group_size(num_heads, num_kv_heads)\n    r_ = ")
                  + "    K, V = repeat_kv(K, num_kv_heads), repeat_kv(V, num_kv_heads)\n" + _MHA_TAIL},
         fails={"check_gqa": "group_size(num_heads, num_kv_heads) times, not num_kv_heads times"}),
    dict(name="group_size_assert_instead_of_value_error",   # the feedback showed only the learner's own message
         answers={"group_size": _GROUP + "    assert num_kv_heads >= 1 and num_heads % num_kv_heads == 0, "
                                "f'num_heads={num_heads} must be divisible by num_kv_heads={num_kv_heads}'\n"
                                "    return num_heads // num_kv_heads\n"},
         fails={"check_group_size": "An assert statement raises AssertionError"}),
    dict(name="gqa_keys_from_query", answers={"grouped_query_attention": _kv_from("query", "query")},
         fails={"check_gqa": "your keys come from `query`. K = key @ W_K",
                "check_gqa_masked": "Your keys come from `query`: with 3 queries and 6 keys"}),
    dict(name="gqa_scaled_by_sqrt_d_model",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV +
                  "    K, V = repeat_kv(K, r), repeat_kv(V, r)\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(query.shape[-1])\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(np.expand_dims(mask, -3), scores, -np.inf)\n"
                  "    weights = softmax(scores)\n"
                  "    return combine_heads(weights @ V) @ W_O, weights\n"},
         fails={"check_gqa_masked": 'they are wrong without a mask too, so the mask is not the problem', "check_gqa": "sqrt(d_model)"}),
    dict(name="gqa_kv_heads_summed",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV +
                  "    K, V = K.sum(axis=-3, keepdims=True), V.sum(axis=-3, keepdims=True)\n" + _MHA_TAIL},
         fails={"check_gqa_masked": 'they are wrong without a mask too, so the mask is not the problem', "check_gqa": "summed"}),
    dict(name="gqa_ignores_mask",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV +
                  "    K, V = repeat_kv(K, r), repeat_kv(V, r)\n"
                  "    heads, weights = scaled_dot_product_attention(Q, K, V)\n"
                  "    return combine_heads(heads) @ W_O, weights\n"},
         fails={"check_gqa_masked": "ignores mask"}),
    dict(name="gqa_mask_without_head_axis",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV +
                  "    K, V = repeat_kv(K, r), repeat_kv(V, r)\n"
                  "    heads, weights = scaled_dot_product_attention(Q, K, V, mask)\n"
                  "    return combine_heads(heads) @ W_O, weights\n"},
         fails={"check_gqa_masked": "give the mask a head axis"}),
    # the query heads' outputs summed (or averaged), then projected with W_O's first d_k rows (right shape)
    dict(name="gqa_heads_summed_then_projected",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV + _ATTEND +
                  "    return heads.sum(axis=-3) @ W_O[:Q.shape[-1]], weights\n"},
         fails={"check_gqa": "The outputs of the query heads were summed, not concatenated",
                "check_gqa_masked": "The outputs of the query heads were summed, not concatenated"}),
    dict(name="gqa_heads_averaged_then_projected",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV + _ATTEND +
                  "    return heads.mean(axis=-3) @ W_O[:Q.shape[-1]], weights\n"},
         fails={"check_gqa": "The outputs of the query heads were averaged, not concatenated",
                "check_gqa_masked": "The outputs of the query heads were averaged, not concatenated"}),
    # the query heads' outputs summed, then the whole W_O: the shapes don't fit
    dict(name="gqa_heads_summed_crash",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV + _ATTEND +
                  "    return heads.sum(axis=-3) @ W_O, weights\n"},
         fails={"check_gqa": "The outputs of the query heads were summed, not concatenated",
                "check_gqa_masked": "The outputs of the query heads were summed, not concatenated"}),
    # no group_size: r = num_heads // num_kv_heads, and a num_kv_heads that doesn't divide fails on the shapes
    dict(name="gqa_without_group_size",
         answers={"grouped_query_attention": _GQA
                  + "    r = num_heads // num_kv_heads\n"
                    "    Q = split_heads(query @ W_Q, num_heads)\n"
                    "    K = repeat_kv(split_heads(key @ W_K, num_kv_heads), r)\n"
                    "    V = repeat_kv(split_heads(value @ W_V, num_kv_heads), r)\n" + _MHA_TAIL},
         fails={"check_gqa": "failed on the shapes"}),
    # found by a helper attacking notebook 07: these kept full marks
    dict(name="repeat_kv_zeroes_its_input",
         answers={"repeat_kv": _REPEAT + "    out = np.repeat(K, n_rep, axis=-3)\n    K[...] = 0\n    return out\n"},
         fails={"check_repeat_kv": "repeat_kv changed its input K"}),
    dict(name="gqa_writes_float32_into_its_inputs",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV.replace(
             "    r = group_size(num_heads, num_kv_heads)\n",
             "    r = group_size(num_heads, num_kv_heads)\n    query[...] = query.astype(np.float32)\n")
             + "    K, V = repeat_kv(K, r), repeat_kv(V, r)\n" + _MHA_TAIL},
         fails={"check_gqa": "grouped_query_attention changed its input query"}),
    dict(name="gqa_one_batch_axis_only",
         answers={"grouped_query_attention": _GQA
                  + "    r = group_size(num_heads, num_kv_heads)\n"
                  "    d_k = W_Q.shape[0] // num_heads\n"
                  "    squeeze = query.ndim == 2\n"
                  "    if squeeze:\n"
                  "        query, key, value = query[None], key[None], value[None]\n"
                  "    B, n_q, _ = query.shape\n"
                  "    n_k = key.shape[1]\n"
                  "    Q = (query @ W_Q).reshape(B, n_q, num_heads, d_k).transpose(0, 2, 1, 3)\n"
                  "    K = (key @ W_K).reshape(B, n_k, num_kv_heads, d_k).transpose(0, 2, 1, 3)\n"
                  "    V = (value @ W_V).reshape(B, n_k, num_kv_heads, d_k).transpose(0, 2, 1, 3)\n"
                  "    K, V = repeat_kv(K, r), repeat_kv(V, r)\n"
                  "    if mask is not None:\n"
                  "        mask = np.expand_dims(mask, -3)\n"
                  "    heads, weights = scaled_dot_product_attention(Q, K, V, mask)\n"
                  "    out = heads.transpose(0, 2, 1, 3).reshape(B, n_q, -1) @ W_O\n"
                  "    return (out[0], weights[0]) if squeeze else (out, weights)\n"},
         fails={"check_gqa_masked": "with two batch axes"}),
    dict(name="repeat_kv_axis_from_the_front",
         answers={"repeat_kv": _REPEAT + "    return np.repeat(K, n_rep, axis=0 if K.ndim == 3 else 1)\n"},
         fails={"check_repeat_kv": "count the head axis from the end"}),
    dict(name="gqa_reshapes_the_mask_in_place",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV
                  + "    K, V = repeat_kv(K, r), repeat_kv(V, r)\n"
                  "    if mask is not None:\n"
                  "        mask.shape = mask.shape[:-2] + (1,) + mask.shape[-2:]\n"
                  "    heads, weights = scaled_dot_product_attention(Q, K, V, mask)\n"
                  "    return combine_heads(heads) @ W_O, weights\n"},
         fails={"check_gqa_masked": "changed its input mask"}),
    dict(name="kv_cache_int32",
         answers={"kv_cache_bytes": _KV
                  + "    return np.prod([2, batch, n, num_layers, num_kv_heads, d_k, bytes_per_value], dtype=np.int32)\n"},
         fails={"check_kv_cache_bytes": "overflows above 2**31"}),
    dict(name="kv_cache_fixed_fp16",
         answers={"kv_cache_bytes": _KV + "    return 2 * batch * n * num_layers * num_kv_heads * d_k * 2\n"},
         fails={"check_kv_cache_bytes": "ignores its argument bytes_per_value"}),
    dict(name="kv_cache_global_d_k",
         answers={"kv_cache_bytes": "d_k_model = 128\n" + _KV
                  + "    return 2 * batch * n * num_layers * num_kv_heads * d_k_model * bytes_per_value\n"},
         fails={"check_kv_cache_bytes": "ignores its argument d_k"}),
    dict(name="kv_cache_float",
         answers={"kv_cache_bytes": _KV + "    return 2.0 * batch * n * num_layers * num_kv_heads * d_k * bytes_per_value\n"},
         fails={"check_kv_cache_bytes": "it counts bytes, so return an int"}),
    dict(name="kv_cache_ignores_num_layers",
         answers={"kv_cache_bytes": _KV + "    return 2 * batch * n * num_kv_heads * d_k * bytes_per_value\n"},
         fails={"check_kv_cache_bytes": "ignores its argument num_layers"}),
    dict(name="kv_cache_ignores_n",
         answers={"kv_cache_bytes": _KV + "    return 2 * batch * num_layers * num_kv_heads * d_k * bytes_per_value\n"},
         fails={"check_kv_cache_bytes": "ignores its argument n:"}),
    dict(name="kv_cache_without_factor_2",
         answers={"kv_cache_bytes": _KV + "    return batch * n * num_layers * num_kv_heads * d_k * bytes_per_value\n"},
         fails={"check_kv_cache_bytes": "factor 2"}),
    dict(name="kv_cache_with_num_heads",
         answers={"kv_cache_bytes": _KV + "    return 2 * batch * n * num_layers * num_heads * d_k * bytes_per_value\n"},
         fails={"check_kv_cache_bytes": "num_heads instead of num_kv_heads"}),
    dict(name="kv_cache_ignores_batch",
         answers={"kv_cache_bytes": _KV + "    return 2 * n * num_layers * num_kv_heads * d_k * bytes_per_value\n"},
         fails={"check_kv_cache_bytes": "ignores batch"}),
    dict(name="quiz_attention_weights",
         answers={"quiz_gqa": 'answer_gqa = "A"\n'},
         fails={"check_quiz_gqa": "not A"}),
    dict(name="quiz_score_work",
         answers={"quiz_gqa": 'answer_gqa = "C"\n'},
         fails={"check_quiz_gqa": "not C"}),
    # no divisibility check: np.split of the query heads into num_kv_heads groups fails inside NumPy's own code
    # ("array split does not result in an equal division", words the check doesn't list)
    dict(name="gqa_np_split_groups_without_group_size",
         answers={"grouped_query_attention": _GQA
                  + "    Q = split_heads(query @ W_Q, num_heads)\n"
                    "    K = split_heads(key @ W_K, num_kv_heads)\n"
                    "    V = split_heads(value @ W_V, num_kv_heads)\n"
                    "    m = None if mask is None else np.expand_dims(mask, -3)\n"
                    "    outs, ws = [], []\n"
                    "    for i, Q_group in enumerate(np.split(Q, num_kv_heads, axis=-3)):\n"
                    "        o, w = scaled_dot_product_attention(Q_group, K[..., i:i + 1, :, :], V[..., i:i + 1, :, :], m)\n"
                    "        outs.append(o)\n"
                    "        ws.append(w)\n"
                    "    heads, weights = np.concatenate(outs, axis=-3), np.concatenate(ws, axis=-3)\n"
                    "    return combine_heads(heads) @ W_O, weights\n"},
         fails={"check_gqa": "failed on the shapes"}),
    # no group_size: a loop that never fails on the shapes, and so never raises
    dict(name="gqa_no_group_size_stack_loop",
         answers={"grouped_query_attention": _GQA
                  + "    r = max(num_heads // num_kv_heads, 1)\n"
                    "    Q = split_heads(query @ W_Q, num_heads)\n"
                    "    K = split_heads(key @ W_K, num_kv_heads)\n"
                    "    V = split_heads(value @ W_V, num_kv_heads)\n"
                    "    outs, ws = [], []\n"
                    "    for j in range(num_heads):\n"
                    "        kv = min(j // r, num_kv_heads - 1)\n"
                    "        o, w = scaled_dot_product_attention(Q[..., j, :, :], K[..., kv, :, :], V[..., kv, :, :],\n"
                    "                                            mask)\n"
                    "        outs.append(o)\n"
                    "        ws.append(w)\n"
                    "    heads, weights = np.stack(outs, axis=-3), np.stack(ws, axis=-3)\n"
                    "    return combine_heads(heads) @ W_O, weights\n"},
         fails={"check_gqa": "returned instead of raising ValueError"}),
    # found by a helper: a repeat_kv whose second argument is the total number of heads, and a GQA that calls it
    # so, consistently: one misunderstanding, charged in repeat_kv's check only (it also cost both GQA checks)
    dict(name="repeat_kv_takes_total_heads_gqa_consistent",
         answers={"repeat_kv": _REPEAT + "    return np.repeat(K, n_rep // K.shape[-3], axis=-3)\n",
                  "grouped_query_attention": _GQA + _SPLIT_QKV.replace("r = group_size", "group_size")
                  + "    K, V = repeat_kv(K, num_heads), repeat_kv(V, num_heads)\n" + _MHA_TAIL},
         fails={"check_repeat_kv": "should have shape (6, 3, 2)"}),
    # attacking the retry above: a GQA that is wrong on its first call from a check and right after would pass
    # the run with its own repeat_kv; the third run, with the course's again, passes too, so the first verdict holds
    dict(name="gqa_wrong_on_its_first_checked_call",
         answers={"grouped_query_attention": "import sys\n_checked_calls = []\n\n" + _GQA
                  + "    frame, graded = sys._getframe(1), False\n"
                    "    while frame is not None:\n"
                    "        graded = graded or frame.f_code.co_filename == '<mha-grader>'\n"
                    "        frame = frame.f_back\n"
                    "    if graded:\n"
                    "        _checked_calls.append(1)\n"
                  + _SPLIT_QKV + "    if len(_checked_calls) == 1:\n        K = K[..., ::-1, :, :]\n"
                  + "    K, V = repeat_kv(K, r), repeat_kv(V, r)\n" + _MHA_TAIL},
         fails={"check_gqa": ""}),
    # found by a helper attacking notebook 07 (the first kept full marks; the others lost points under another name)
    dict(name="gqa_causal_when_unmasked_and_long",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV + "    K, V = repeat_kv(K, r), repeat_kv(V, r)\n"
                  "    if mask is not None:\n        mask = np.expand_dims(mask, -3)\n"
                  "    elif query.shape[-2] == key.shape[-2] and query.shape[-2] > 5:\n"
                  "        mask = causal_mask(query.shape[-2])\n"
                  "    heads, weights = scaled_dot_product_attention(Q, K, V, mask)\n"
                  "    return combine_heads(heads) @ W_O, weights\n"},
         fails={"check_gqa": ""}),
    dict(name="repeat_kv_stack_reshape_mixes_tokens",
         answers={"repeat_kv": _REPEAT + "    *b, g, n, d = K.shape\n"
                  "    return np.stack([K] * n_rep, axis=-2).reshape(*b, g * n_rep, n, d)\n"},
         fails={"check_repeat_kv": "moves numbers between tokens"}),
    dict(name="gqa_makes_its_own_causal_mask",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV + "    K, V = repeat_kv(K, r), repeat_kv(V, r)\n"
                  "    if mask is not None:\n        mask = causal_mask(query.shape[-2])\n"
                  "    heads, weights = scaled_dot_product_attention(Q, K, V, mask)\n"
                  "    return combine_heads(heads) @ W_O, weights\n"},
         fails={"check_gqa_masked": "causal mask of its own"}),
    dict(name="gqa_output_from_unmasked_attention",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV + "    K, V = repeat_kv(K, r), repeat_kv(V, r)\n"
                  "    heads, _ = scaled_dot_product_attention(Q, K, V)\n"
                  "    m = None if mask is None else np.expand_dims(mask, -3)\n"
                  "    _, weights = scaled_dot_product_attention(Q, K, V, m)\n"
                  "    return combine_heads(heads) @ W_O, weights\n"},
         fails={"check_gqa_masked": "your weights use the mask but your output doesn't"}),
    dict(name="kv_cache_bytes_a_float",
         answers={"kv_cache_bytes": _KV + "    return 2.0 * batch * n * num_layers * num_kv_heads * d_k * bytes_per_value\n"},
         fails={"check_kv_cache_bytes": "return an int"}),
    dict(name="gqa_returns_torch_tensors",
         answers={"grouped_query_attention": "import torch\n\n" + _GQA + "    r = group_size(num_heads, num_kv_heads)\n"
                  "    t = lambda a: torch.as_tensor(np.asarray(a))\n"
                  "    Q = t(split_heads(query @ W_Q, num_heads))\n"
                  "    K = t(split_heads(key @ W_K, num_kv_heads)).repeat_interleave(r, dim=-3)\n"
                  "    V = t(split_heads(value @ W_V, num_kv_heads)).repeat_interleave(r, dim=-3)\n"
                  "    s = Q @ K.transpose(-1, -2) / Q.shape[-1] ** 0.5\n"
                  "    if mask is not None:\n        s = s.masked_fill(~t(mask).unsqueeze(-3), float('-inf'))\n"
                  "    w = s.softmax(-1)\n"
                  "    return (w @ V).transpose(-3, -2).flatten(-2) @ t(W_O), w\n"},
         fails={"check_gqa": "returned PyTorch tensors", "check_gqa_masked": ""}),
    # found by a helper attacking the re-run: repeat_kv with an extra keyword and wrong (tiled); the GQA checks fail with
    # the course's repeat_kv (no such keyword) and with the learner's (tiled), and now say why the keyword was refused
    dict(name="repeat_kv_axis_keyword_and_tiled",
         answers={"repeat_kv": "def repeat_kv(K, n_rep, axis=-3):\n    return np.concatenate([K] * n_rep, axis=axis)\n",
                  "grouped_query_attention": _GQA + _SPLIT_QKV
                  + "    K, V = repeat_kv(K, r, axis=-3), repeat_kv(V, r, axis=-3)\n" + _MHA_TAIL},
         fails={"check_repeat_kv": "tiled", "check_gqa": "was the course's repeat_kv",
                "check_gqa_masked": "was the course's repeat_kv"}),
    # ---- found by a helper attacking the grader (3rd round) ----
    dict(name="gqa_scales_W_Q_in_place",   # no message said an input changed
         answers={"grouped_query_attention": _GQA + "    W_Q /= np.sqrt(W_Q.shape[0] // num_heads)\n"
                  + _SPLIT_QKV + "    K, V = repeat_kv(K, r), repeat_kv(V, r)\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2)\n"
                  "    if mask is not None:\n        scores = np.where(np.expand_dims(mask, -3), scores, -np.inf)\n"
                  "    weights = softmax(scores, axis=-1)\n"
                  "    return combine_heads(weights @ V) @ W_O, weights\n"},
         fails={"check_gqa": "changed its input W_Q in place", "check_gqa_masked": ""}),
    dict(name="gqa_always_causal",   # was told it "ignores mask"
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV + "    K, V = repeat_kv(K, r), repeat_kv(V, r)\n"
                  "    mask = np.expand_dims(causal_mask(query.shape[-2]), -3)\n"
                  "    heads, weights = scaled_dot_product_attention(Q, K, V, mask)\n"
                  "    return combine_heads(heads) @ W_O, weights\n"},
         fails={"check_gqa": "applies a causal mask of its own", "check_gqa_masked": "applies a causal mask of its own"}),
    dict(name="gqa_without_W_O",   # found by a helper: its masked check blamed the mask
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV + _ATTEND + "    return combine_heads(heads), weights\n"},
         fails={"check_gqa": "you forgot W_O", "check_gqa_masked": "your weights are right but your output is wrong"}),
    # found by a helper: a wrong scale or grouping was blamed on the mask in the masked check as well
    dict(name="gqa_mask_zeroes_weights_after_softmax",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV + "    K, V = repeat_kv(K, r), repeat_kv(V, r)\n"
                  "    weights = softmax(Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1]))\n"
                  "    if mask is not None:\n        weights = weights * np.expand_dims(mask, -3)\n"
                  "    return combine_heads(weights @ V) @ W_O, weights\n"},
         fails={"check_gqa_masked": "Without a mask they are right, so the mistake is in how the mask is applied"}),
    # found by a helper attacking this stop's own checks
    dict(name="group_size_relation_reversed",   # 12/12: "num_kv_heads=3 must be divisible by num_heads=8"
         answers={"group_size": _GROUP + "    if num_kv_heads < 1 or num_heads % num_kv_heads:\n"
                                "        raise ValueError(f'num_kv_heads={num_kv_heads} must be divisible by "
                                "num_heads={num_heads}')\n"
                                "    return num_heads // num_kv_heads\n"},
         fails={"check_group_size": "the wrong way round"}),
    dict(name="gqa_own_tril_in_place_of_the_mask",   # was told to give the mask a head axis
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV + "    K, V = repeat_kv(K, r), repeat_kv(V, r)\n"
                  "    if mask is not None:\n"
                  "        mask = np.tril(np.ones((query.shape[-2], key.shape[-2]), dtype=bool))\n"
                  "    m = None if mask is None else np.expand_dims(mask, -3)\n"
                  "    heads, weights = scaled_dot_product_attention(Q, K, V, m)\n"
                  "    return combine_heads(heads) @ W_O, weights\n"},
         fails={"check_gqa_masked": "ignores the mask it is given"}),
    # found by a helper attacking this stop's own checks (second round)
    dict(name="group_size_relation_reversed_in_names",
         answers={"group_size": _GROUP + "    if num_kv_heads < 1 or num_heads % num_kv_heads:\n"
                                "        raise ValueError(f'num_kv_heads must be divisible by num_heads (got "
                                "num_heads={num_heads}, num_kv_heads={num_kv_heads})')\n"
                                "    return num_heads // num_kv_heads\n"},
         fails={"check_group_size": "the wrong way round"}),
    dict(name="group_size_says_must_not_be_divisible",
         answers={"group_size": _GROUP + "    if num_kv_heads < 1 or num_heads % num_kv_heads:\n"
                                "        raise ValueError(f'num_heads={num_heads} must not be divisible by "
                                "num_kv_heads={num_kv_heads}')\n"
                                "    return num_heads // num_kv_heads\n"},
         fails={"check_group_size": "the opposite of the rule"}),
    # ---- from a helper's attack (2026-12-05): right only at the sizes the checks used to try ----
    dict(name="repeat_kv_tiles_when_more_than_3_kv_heads",
         answers={"repeat_kv": _REPEAT + "    if K.shape[-3] > 3:\n        return np.concatenate([K] * n_rep, axis=-3)\n"
                  "    return np.repeat(K, n_rep, axis=-3)\n"},
         fails={"check_repeat_kv": "whatever the number of kv heads"}),
    dict(name="repeat_kv_rounds_to_float32",
         answers={"repeat_kv": _REPEAT + "    return np.repeat(K, n_rep, axis=-3).astype(np.float32)\n"},
         fails={"check_repeat_kv": "rounds the numbers"}),
    dict(name="gqa_scale_capped_at_sqrt_4",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV + "    K, V = repeat_kv(K, r), repeat_kv(V, r)\n"
                  "    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(min(Q.shape[-1], 4))\n"
                  "    if mask is not None:\n        scores = np.where(np.expand_dims(mask, -3), scores, -np.inf)\n"
                  "    weights = softmax(scores)\n    return combine_heads(weights @ V) @ W_O, weights\n"},
         fails={"check_gqa": "d_model=64, num_heads=8"}),
    dict(name="kv_bytes_capped_at_4_bytes",
         answers={"kv_cache_bytes": _KV + "    return 2 * batch * n * num_layers * num_kv_heads * d_k * min(bytes_per_value, 4)\n"},
         fails={"check_kv_cache_bytes": "not bytes_per_value = 8"}),
    dict(name="repeat_kv_cached_by_shape",
         answers={"repeat_kv": "_seen = {}\n\n" + _REPEAT + "    sig = (np.shape(K), n_rep)\n"
                  "    if sig not in _seen:\n        _seen[sig] = np.repeat(K, n_rep, axis=-3)\n"
                  "    return _seen[sig].copy()\n"},
         fails={"check_repeat_kv": "is stale"}),
    dict(name="gqa_cached_by_shape",
         answers={"grouped_query_attention": "_seen = {}\n\n" + _GQA
                  + "    sig = (np.shape(query), num_heads, num_kv_heads, None if mask is None else np.asarray(mask).tobytes())\n"
                  "    if sig in _seen:\n        return _seen[sig]\n"
                  + _SPLIT_QKV + _ATTEND + "    _seen[sig] = (combine_heads(heads) @ W_O, weights)\n    return _seen[sig]\n"},
         fails={"check_gqa": "is stale"}),
    dict(name="repeat_kv_zeroes_a_batched_k",   # found by a helper: only a batched K was changed
         answers={"repeat_kv": "def repeat_kv(K, n_rep):\n"
                               "    out = np.repeat(K, n_rep, axis=-3)\n"
                               "    if K.ndim >= 4:\n"
                               "        K[...] = 0\n"
                               "    return out\n"},
         fails={"check_repeat_kv": "changed its input K"}),
]

CORRECT = [
    dict(name="quiz_gqa_quoted_twice",
         answers={"quiz_gqa": "answer_gqa = \"'B'\"\n"}),
    dict(name="repeat_kv_returns_k_itself_for_one_repeat",   # as Hugging Face's repeat_kv does
         answers={"repeat_kv": "def repeat_kv(K, n_rep):\n"
                               "    if n_rep == 1:\n"
                               "        return K\n"
                               "    return np.repeat(K, n_rep, axis=-3)\n"}),
    dict(name="quiz_gqa_with_a_full_stop",   # found by a helper: "(B)" and "B." were refused
         answers={"quiz_gqa": 'answer_gqa = "B."\n'}),
    dict(name="group_size_a_numpy_integer",   # numpy integers are ints (used to cost 2 points)
         answers={"group_size": _GROUP + "    if num_kv_heads < 1 or num_heads % num_kv_heads:\n"
                                "        raise ValueError(f'num_heads={num_heads} must be divisible by "
                                "num_kv_heads={num_kv_heads}')\n"
                                "    return np.floor_divide(num_heads, num_kv_heads)\n"}),
    # found by a helper attacking the re-run: a memoised GQA that calls repeat_kv(..., axis=-3) (the third run answered
    # from its memo and the check was refused, 7/12), and one that keeps its helpers in a dict filled on its first call,
    # during a check (the next check called a closed connection: "kernel stopped answering", 10/12)
    dict(name="gqa_memoised_with_an_axis_keyword",
         answers={"repeat_kv": "def repeat_kv(K, n_rep, axis=-3):\n    return np.repeat(K, n_rep, axis=axis)\n",
                  "grouped_query_attention": "_memo = {}\n\n" + _GQA
                  + "    k = tuple(x if x is None or isinstance(x, int) else (np.asarray(x).tobytes(), np.shape(x))\n"
                    "              for x in (query, key, value, W_Q, W_K, W_V, W_O, num_heads, num_kv_heads, mask))\n"
                    "    if k not in _memo:\n"
                    "        r = group_size(num_heads, num_kv_heads)\n"
                    "        Q = split_heads(query @ W_Q, num_heads)\n"
                    "        K = repeat_kv(split_heads(key @ W_K, num_kv_heads), r, axis=-3)\n"
                    "        V = repeat_kv(split_heads(value @ W_V, num_kv_heads), r, axis=-3)\n"
                    "        m = None if mask is None else np.expand_dims(mask, -3)\n"
                    "        heads, weights = scaled_dot_product_attention(Q, K, V, m)\n"
                    "        _memo[k] = (combine_heads(heads) @ W_O, weights)\n"
                    "    return _memo[k]\n"}),
    dict(name="gqa_keeps_its_helpers_from_its_first_call",
         answers={"grouped_query_attention": "_ops = {}\n\n" + _GQA
                  + "    if not _ops:\n        _ops.update(group=group_size, repeat=repeat_kv)\n"
                    "    r = _ops['group'](num_heads, num_kv_heads)\n"
                    "    Q = split_heads(query @ W_Q, num_heads)\n"
                    "    K = _ops['repeat'](split_heads(key @ W_K, num_kv_heads), r)\n"
                    "    V = _ops['repeat'](split_heads(value @ W_V, num_kv_heads), r)\n" + _MHA_TAIL}),
    # found by a helper: an optional argument of repeat_kv that the GQA passes; the GQA checks ran it with the
    # course's repeat_kv, which has no such argument (7/12)
    dict(name="repeat_kv_with_an_axis_argument",
         answers={"repeat_kv": "def repeat_kv(K, n_rep, axis=-3):\n    return np.repeat(K, n_rep, axis=axis)\n",
                  "grouped_query_attention": _GQA + _SPLIT_QKV
                  + "    K, V = repeat_kv(K, r, axis=-3), repeat_kv(V, r, axis=-3)\n" + _MHA_TAIL},
         ),
    dict(name="group_size_divmod",
         answers={"group_size": _GROUP + "    if num_kv_heads <= 0:\n"
                                "        raise ValueError(f'need num_kv_heads >= 1, not {num_kv_heads}')\n"
                                "    r, rest = divmod(num_heads, num_kv_heads)\n"
                                "    if rest:\n"
                                "        raise ValueError(f'num_heads ({num_heads}) is not divisible by "
                                "num_kv_heads ({num_kv_heads})')\n"
                                "    return r\n"}),
    # a correct ValueError in other words than "divisible"
    dict(name="group_size_message_divide_evenly",
         answers={"group_size": _GROUP + "    if num_kv_heads < 1:\n"
                                "        raise ValueError(f'num_kv_heads must be at least 1, got {num_kv_heads}')\n"
                                "    if num_heads % num_kv_heads:\n"
                                "        raise ValueError(f'num_kv_heads={num_kv_heads} must divide num_heads={num_heads} evenly')\n"
                                "    return num_heads // num_kv_heads\n"}),
    dict(name="group_size_message_multiple",
         answers={"group_size": _GROUP + "    if num_kv_heads < 1:\n"
                                "        raise ValueError(f'need at least one key/value head, got {num_kv_heads}')\n"
                                "    if num_heads % num_kv_heads != 0:\n"
                                "        raise ValueError(f'num_heads ({num_heads}) must be a multiple of num_kv_heads ({num_kv_heads})')\n"
                                "    return num_heads // num_kv_heads\n"}),
    dict(name="repeat_kv_fancy_index",
         answers={"repeat_kv": _REPEAT + "    idx = np.arange(K.shape[-3] * n_rep) // n_rep\n"
                                         "    return K[..., idx, :, :]\n"}),
    dict(name="repeat_kv_broadcast_reshape",
         answers={"repeat_kv": _REPEAT + "    *batch, g, n, d = K.shape\n"
                                         "    K = np.broadcast_to(K[..., :, None, :, :], (*batch, g, n_rep, n, d))\n"
                                         "    return K.reshape(*batch, g * n_rep, n, d)\n"}),
    dict(name="gqa_loop_over_query_heads",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV +
                  "    outs, ws = [], []\n"
                  "    for j in range(num_heads):\n"
                  "        o, w = scaled_dot_product_attention(Q[..., j, :, :], K[..., j // r, :, :],\n"
                  "                                            V[..., j // r, :, :], mask)\n"
                  "        outs.append(o)\n"
                  "        ws.append(w)\n"
                  "    heads, weights = np.stack(outs, axis=-3), np.stack(ws, axis=-3)\n"
                  "    return combine_heads(heads) @ W_O, weights\n"}),
    dict(name="gqa_einsum_groups_minus_1e9",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV +
                  "    *batch, h, n_q, d_k = Q.shape\n"
                  "    Qg = Q.reshape(*batch, num_kv_heads, r, n_q, d_k)            # (..., g, r, n_q, d_k)\n"
                  "    scores = np.einsum('...grqd,...gkd->...grqk', Qg, K) / np.sqrt(d_k)\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(np.expand_dims(mask, (-4, -3)), scores, -1e9)\n"
                  "    weights = softmax(scores, axis=-1)\n"
                  "    heads = np.einsum('...grqk,...gkd->...grqd', weights, V)\n"
                  "    n_k = K.shape[-2]\n"
                  "    heads = heads.reshape(*heads.shape[:-4], h, n_q, d_k)\n"
                  "    weights = weights.reshape(*weights.shape[:-4], h, n_q, n_k)\n"
                  "    return combine_heads(heads) @ W_O, weights\n"}),
    dict(name="gqa_grouped_broadcast_no_repeat",
         answers={"grouped_query_attention": _GQA
                  + "    r = group_size(num_heads, num_kv_heads)\n"
                    "    Q = split_heads(query @ W_Q, num_heads)\n"
                    "    K = split_heads(key @ W_K, num_kv_heads)\n"
                    "    V = split_heads(value @ W_V, num_kv_heads)\n"
                    "    *b, h, n_q, d_k = Q.shape\n"
                    "    Qg = Q.reshape(*b, num_kv_heads, r, n_q, d_k)\n"
                    "    Kg, Vg = K[..., :, None, :, :], V[..., :, None, :, :]\n"
                    "    m = None if mask is None else np.expand_dims(np.expand_dims(mask, -3), -3)\n"
                    "    heads, w = scaled_dot_product_attention(Qg, Kg, Vg, m)\n"
                    "    heads = heads.reshape(*b, h, n_q, d_k)\n"
                    "    w = w.reshape(*b, h, n_q, w.shape[-1])\n"
                    "    return combine_heads(heads) @ W_O, w\n"}),
    # each query head's output times its own row block of W_O, summed: the same as combine_heads(heads) @ W_O
    dict(name="gqa_per_head_W_O_blocks_summed",
         answers={"grouped_query_attention": _GQA + _SPLIT_QKV + _ATTEND +
                  "    d_k = heads.shape[-1]\n"
                  "    out = sum(heads[..., j, :, :] @ W_O[j * d_k:(j + 1) * d_k] for j in range(num_heads))\n"
                  "    return out, weights\n"}),
    # its own check instead of group_size's, in its own words
    dict(name="gqa_own_divisibility_error",
         answers={"grouped_query_attention": _GQA
                  + "    if num_kv_heads < 1 or num_heads % num_kv_heads:\n"
                    "        raise ValueError(f'{num_kv_heads} key/value heads cannot be shared by {num_heads} query heads')\n"
                    "    r = num_heads // num_kv_heads\n"
                    "    Q = split_heads(query @ W_Q, num_heads)\n"
                    "    K = repeat_kv(split_heads(key @ W_K, num_kv_heads), r)\n"
                    "    V = repeat_kv(split_heads(value @ W_V, num_kv_heads), r)\n" + _MHA_TAIL}),
    dict(name="kv_cache_per_token_first",
         answers={"kv_cache_bytes": _KV + "    per_token_per_layer = 2 * num_kv_heads * d_k * bytes_per_value  # K and V\n"
                                          "    return per_token_per_layer * num_layers * n * batch\n"}),
    dict(name="kv_cache_np_prod",   # a NumPy integer counts bytes too
         answers={"kv_cache_bytes": _KV + "    return np.prod([2, batch, n, num_layers, num_kv_heads, d_k, bytes_per_value])\n"}),
    dict(name="quiz_lowercase",
         answers={"quiz_gqa": "answer_gqa = ' b '\n"}),
    # its own ValueError, in words that NumPy uses too ("broadcast", "cannot reshape"): still its own check
    dict(name="gqa_own_error_says_broadcast",
         answers={"grouped_query_attention": _GQA
                  + "    if num_kv_heads < 1 or num_heads % num_kv_heads:\n"
                    "        raise ValueError(f'{num_kv_heads} key/value heads cannot be broadcast evenly to {num_heads} query heads')\n"
                    "    r = num_heads // num_kv_heads\n"
                    "    Q = split_heads(query @ W_Q, num_heads)\n"
                    "    K = repeat_kv(split_heads(key @ W_K, num_kv_heads), r)\n"
                    "    V = repeat_kv(split_heads(value @ W_V, num_kv_heads), r)\n" + _MHA_TAIL}),
    dict(name="gqa_own_error_says_cannot_reshape",
         answers={"grouped_query_attention": _GQA
                  + "    if num_kv_heads < 1 or num_heads % num_kv_heads:\n"
                    "        raise ValueError(f'cannot reshape {num_heads} query heads into {num_kv_heads} equal groups')\n"
                    "    r = num_heads // num_kv_heads\n"
                    "    Q = split_heads(query @ W_Q, num_heads)\n"
                    "    K = repeat_kv(split_heads(key @ W_K, num_kv_heads), r)\n"
                    "    V = repeat_kv(split_heads(value @ W_V, num_kv_heads), r)\n" + _MHA_TAIL}),
    # its own check in a helper of its own, with a message that names no number and says "broadcast"
    dict(name="gqa_own_helper_error_without_numbers",
         answers={"grouped_query_attention": "def _groups(h, g):\n"
                  "    if g < 1 or h % g:\n"
                  "        raise ValueError('the key/value heads cannot be broadcast over the query heads')\n"
                  "    return h // g\n\n"
                  + _GQA
                  + "    r = _groups(num_heads, num_kv_heads)\n"
                    "    Q = split_heads(query @ W_Q, num_heads)\n"
                    "    K = repeat_kv(split_heads(key @ W_K, num_kv_heads), r)\n"
                    "    V = repeat_kv(split_heads(value @ W_V, num_kv_heads), r)\n" + _MHA_TAIL}),
    # head_dim(num_heads, num_kv_heads) as the divisibility check: its message says 'd_model=4 must be divisible ...'
    dict(name="gqa_head_dim_as_group_size",
         answers={"grouped_query_attention": _GQA
                  + "    r = head_dim(num_heads, num_kv_heads)\n"
                    "    Q = split_heads(query @ W_Q, num_heads)\n"
                    "    K = repeat_kv(split_heads(key @ W_K, num_kv_heads), r)\n"
                    "    V = repeat_kv(split_heads(value @ W_V, num_kv_heads), r)\n" + _MHA_TAIL}),
]
