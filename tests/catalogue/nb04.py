"""Wrong answers and correct variants for 04_output_projection (see tests/test_catalogue.py)."""
NOTEBOOK = "04_output_projection.ipynb"

_CONTRIB = "def head_contributions(H, W_O):\n"
_MHA = "def multi_head_attention(query, key, value, W_Q, W_K, W_V, W_O, num_heads, mask=None):\n"
_LOAD = "def load_into_torch(mha_torch, W_Q, W_K, W_V, W_O):\n"
_PAD = "def padding_mask(lengths, n):\n"

# The reference body of multi_head_attention, with {markers} where the wrong answers change one thing.
_MHA_BODY = (
    "    Q = split_heads({q} @ W_Q, num_heads)\n"
    "    K = split_heads({k} @ W_K, num_heads)\n"
    "    V = split_heads({v} @ W_V, num_heads)\n"
    "    if mask is not None:\n"
    "        mask = {mask}\n"
    "    heads, weights = scaled_dot_product_attention(Q, K, V, mask)\n"
    "    return {ret}\n"
)


def _mha(q="query", k="key", v="value", mask="np.expand_dims(mask, -3)", ret="combine_heads(heads) @ W_O, weights"):
    return _MHA + _MHA_BODY.format(q=q, k=k, v=v, mask=mask, ret=ret)


# An attention written out by hand (no scaled_dot_product_attention), to vary the scale and the masking.
def _mha_by_hand(scale="np.sqrt(d_k)", masking="scores = np.where(np.expand_dims(mask, -3), scores, -np.inf)"):
    return (_MHA
            + "    Q = split_heads(query @ W_Q, num_heads)\n"
            "    K = split_heads(key @ W_K, num_heads)\n"
            "    V = split_heads(value @ W_V, num_heads)\n"
            "    d_k = Q.shape[-1]\n"
            "    d_model = query.shape[-1]\n"
            f"    scores = Q @ np.swapaxes(K, -1, -2) / {scale}\n"
            "    if mask is not None:\n"
            f"        {masking}\n"
            "    weights = softmax(scores, axis=-1)\n"
            "    return combine_heads(weights @ V) @ W_O, weights\n")


# The reference module, with {markers} for the wrong answers.
_MODULE = (
    "class MultiHeadAttention(nn.Module):\n"
    "    def __init__(self, d_model, num_heads):\n"
    "        super().__init__()\n"
    "        self.num_heads = num_heads\n"
    "        self.d_k = {d_k}\n"
    "        scale = 1 / math.sqrt(d_model)\n"
    "        self.W_Q = nn.Parameter({init})\n"
    "        self.W_K = nn.Parameter({init})\n"
    "        self.W_V = nn.Parameter({init})\n"
    "        self.W_O = nn.Parameter({init})\n"
    "\n"
    "    def forward(self, query, key, value, mask=None):\n"
    "        def split(x):\n"
    "            return x.unflatten(-1, (self.num_heads, self.d_k)).transpose(-3, -2)\n"
    "        Q, K, V = split(query @ self.W_Q), split(key @ self.W_K), split(value @ self.W_V)\n"
    "        scores = Q @ K.transpose(-1, -2) / math.sqrt({root})\n"
    "        if mask is not None:\n"
    "            scores = scores.masked_fill({fill}, float('-inf'))\n"
    "        weights = scores.softmax(dim=-1)\n"
    "        return {out}, {weights}\n"
)


def _module(d_k="head_dim(d_model, num_heads)", init="torch.randn(d_model, d_model) * scale", root="self.d_k",
            fill="~mask.unsqueeze(-3)", weights="weights", out="(weights @ V).transpose(-3, -2).flatten(-2) @ self.W_O"):
    return _MODULE.format(d_k=d_k, init=init, root=root, fill=fill, weights=weights, out=out)


WRONG = [
    dict(name="contrib_diagonal_blocks",
         answers={"head_contributions": _CONTRIB + "    h, d_k = H.shape[-3], H.shape[-1]\n"
                  "    return np.stack([H[..., i, :, :] @ W_O[i*d_k:(i+1)*d_k, i*d_k:(i+1)*d_k] for i in range(h)], axis=-3)\n"},
         fails={"check_head_contributions": "d_k columns"}),
    dict(name="contrib_column_blocks_transposed",
         answers={"head_contributions": _CONTRIB + "    h, d_k = H.shape[-3], H.shape[-1]\n"
                  "    return np.stack([H[..., i, :, :] @ W_O[:, i*d_k:(i+1)*d_k].T for i in range(h)], axis=-3)\n"},
         fails={"check_head_contributions": "ROWS of W_O"}),
    dict(name="contrib_first_block_for_every_head",
         answers={"head_contributions": _CONTRIB + "    return H @ W_O[:H.shape[-1]]\n"},
         fails={"check_head_contributions": "first row block"}),
    dict(name="contrib_summed",
         answers={"head_contributions": _CONTRIB + "    return combine_heads(H) @ W_O\n"},
         fails={"check_head_contributions": "don't sum them"}),
    # ---- the question ----
    dict(name="quiz_summing_is_cheaper_mha",
         answers={"quiz_summing": 'answer_summing = "A"\n'},
         fails={"check_quiz_summing": "row blocks are all the same"}),
    dict(name="quiz_summing_block_diagonal",
         answers={"quiz_summing": 'answer_summing = "C"\n'},
         fails={"check_quiz_summing": "block-diagonal"}),
    # ---- multi_head_attention ----
    dict(name="mha_sqrt_d_model",
         answers={"multi_head_attention": _mha_by_hand(scale="np.sqrt(d_model)")},
         fails={"check_mha_mask": 'multi_head_attention with a batch of 3, 3 heads', "check_mha_shapes": 'with a batch of 2, n_q=5 queries and n_k=7', "check_mha_values": "sqrt(d_k)"}),
    dict(name="mha_not_scaled",
         answers={"multi_head_attention": _mha_by_hand(scale="1")},
         fails={"check_mha_mask": 'multi_head_attention with a batch of 3, 3 heads', "check_mha_shapes": 'with a batch of 2, n_q=5 queries and n_k=7', "check_mha_values": "not scaled"}),
    dict(name="mha_heads_summed_no_W_O",
         answers={"multi_head_attention": _mha(ret="heads.sum(axis=-3), weights")},
         fails={"check_mha_mask": 'the output should have shape (n, d_model) = (4,', "check_mha_values": 'with 3 queries the output should have shape', "check_mha_shapes": "summed, not concatenated"}),
    dict(name="mha_heads_summed_then_projected",
         answers={"multi_head_attention": _mha(ret="heads.sum(axis=-3) @ W_O[:heads.shape[-1]], weights")},
         fails={"check_mha_mask": 'with a causal mask the first output row should be X[0] @ W_V @ W_O, but yours is the heads summed', "check_mha_shapes": 'with a batch of 2, n_q=5 queries and n_k=7', "check_mha_values": "summed, not concatenated"}),
    dict(name="mha_heads_averaged_then_projected",
         answers={"multi_head_attention": _mha(ret="heads.mean(axis=-3) @ W_O[:heads.shape[-1]], weights")},
         fails={"check_mha_mask": "yours is the heads summed (or averaged), not concatenated",
                "check_mha_shapes": "the heads were averaged (summed and divided by num_heads), not concatenated",
                "check_mha_values": "the heads were averaged (summed and divided by num_heads), not concatenated"}),
    # the heads summed, then the whole W_O: the shapes don't fit
    dict(name="mha_heads_summed_crash",
         answers={"multi_head_attention": _mha(ret="heads.sum(axis=-3) @ W_O, weights")},
         fails={"check_mha_shapes": "concatenate them with combine_heads, don't sum them",
                "check_mha_values": "concatenate the heads with combine_heads (don't sum them)",
                "check_mha_mask": "Make the checks above pass first"}),
    dict(name="mha_forgot_W_O",
         answers={"multi_head_attention": _mha(ret="combine_heads(heads), weights")},
         fails={"check_mha_mask": 'with a causal mask the first output row should', "check_mha_shapes": 'with a batch of 2, n_q=5 queries and n_k=7', "check_mha_values": "forgot W_O"}),
    dict(name="mha_W_O_per_head_not_summed",
         answers={"multi_head_attention": _mha(
             ret="heads @ W_O.reshape(num_heads, heads.shape[-1], -1), weights")},
         fails={"check_mha_mask": 'the output should have shape (n, d_model) = (4,', "check_mha_values": 'with 3 queries the output should have shape', "check_mha_shapes": "not summed"}),
    dict(name="mha_W_O_per_head_averaged",
         answers={"multi_head_attention": _mha(
             ret="(heads @ W_O.reshape(num_heads, heads.shape[-1], -1)).mean(axis=-3), weights")},
         fails={"check_mha_mask": 'with a causal mask the first output row should', "check_mha_shapes": 'with a batch of 2, n_q=5 queries and n_k=7', "check_mha_values": "must be summed"}),
    dict(name="mha_W_O_block_diagonal",
         answers={"multi_head_attention": _mha(
             ret="combine_heads(np.stack([heads[..., i, :, :] @ W_O[i*heads.shape[-1]:(i+1)*heads.shape[-1], "
                 "i*heads.shape[-1]:(i+1)*heads.shape[-1]] for i in range(num_heads)], axis=-3)), weights")},
         fails={"check_mha_mask": 'with a causal mask the first output row should', "check_mha_shapes": 'with a batch of 2, n_q=5 queries and n_k=7', "check_mha_values": "acts on each head alone"}),
    dict(name="mha_weights_transposed",
         answers={"multi_head_attention": _MHA + "    W_Q, W_K, W_V, W_O = W_Q.T, W_K.T, W_V.T, W_O.T\n"
                  + _MHA_BODY.format(q="query", k="key", v="value", mask="np.expand_dims(mask, -3)",
                                     ret="combine_heads(heads) @ W_O, weights")},
         fails={"check_mha_mask": 'with a causal mask the first output row should', "check_mha_shapes": 'with a batch of 2, n_q=5 queries and n_k=7', "check_mha_values": "transposed"}),
    dict(name="mha_W_O_transposed",
         answers={"multi_head_attention": _mha(ret="combine_heads(heads) @ W_O.T, weights")},
         fails={"check_mha_mask": 'with a causal mask the first output row should', "check_mha_shapes": 'with a batch of 2, n_q=5 queries and n_k=7', "check_mha_values": "W_O is transposed"}),
    dict(name="mha_W_at_X",
         answers={"multi_head_attention": _MHA
                  + "    Q = split_heads(W_Q @ query, num_heads)\n"
                  "    K = split_heads(W_K @ key, num_heads)\n"
                  "    V = split_heads(W_V @ value, num_heads)\n"
                  "    if mask is not None:\n"
                  "        mask = np.expand_dims(mask, -3)\n"
                  "    heads, weights = scaled_dot_product_attention(Q, K, V, mask)\n"
                  "    return W_O @ combine_heads(heads), weights\n"},
         fails={"check_mha_mask": 'multi_head_attention with a causal mask raised', "check_mha_shapes": "not W @ X", "check_mha_values": "W @ X"}),
    dict(name="mha_key_value_swapped",
         answers={"multi_head_attention": _mha(k="value", v="key")},
         fails={"check_mha_mask": 'multi_head_attention with a batch of 3, 3 heads', "check_mha_shapes": 'with a batch of 2, n_q=5 queries and n_k=7', "check_mha_values": "key and value are swapped"}),
    dict(name="mha_keys_from_query",
         answers={"multi_head_attention": _mha(k="query")},
         fails={"check_mha_mask": 'multi_head_attention with a batch of 3, 3 heads', "check_mha_shapes": "taken from `query`", "check_mha_values": "not from `query`"}),
    dict(name="mha_weights_averaged_over_heads",
         answers={"multi_head_attention": _mha(ret="combine_heads(heads) @ W_O, weights.mean(axis=-3)")},
         fails={"check_mha_mask": 'the output should have shape (n, d_model) = (4,', "check_mha_values": 'cross-attention with query, key, value of shape', "check_mha_shapes": "average"}),
    dict(name="mha_mask_not_broadcast_over_heads",
         answers={"multi_head_attention": _mha(mask="mask")},
         fails={"check_mha_mask": "not broadcast over the heads"}),
    dict(name="mha_mask_ignored",
         answers={"multi_head_attention": _mha(mask="None")},
         fails={"check_mha_mask": "the mask is ignored"}),
    dict(name="mha_mask_inverted",
         answers={"multi_head_attention": _mha(mask="~np.expand_dims(mask, -3)")},
         fails={"check_mha_mask": "mask is inverted"}),
    dict(name="mha_mask_after_softmax",
         answers={"multi_head_attention": _MHA
                  + "    Q = split_heads(query @ W_Q, num_heads)\n"
                  "    K = split_heads(key @ W_K, num_heads)\n"
                  "    V = split_heads(value @ W_V, num_heads)\n"
                  "    weights = softmax(Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1]))\n"
                  "    if mask is not None:\n"
                  "        weights = weights * np.expand_dims(mask, -3)\n"
                  "    return combine_heads(weights @ V) @ W_O, weights\n"},
         fails={"check_mha_mask": "before the softmax"}),
    dict(name="mha_mask_head_axis_only_for_3d_masks",
         answers={"multi_head_attention": _mha(mask="mask[:, None] if np.ndim(mask) == 3 else mask")},
         fails={"check_mha_mask": "two batch axes"}),
    dict(name="mha_mask_after_exp_then_renormalised",   # right unless a blocked score dwarfs the allowed ones
         answers={"multi_head_attention": _MHA
                  + "    Q, K, V = (split_heads(x @ W, num_heads) for x, W in ((query, W_Q), (key, W_K), (value, W_V)))\n"
                  "    scores = np.einsum('...qd,...kd->...qk', Q, K) / np.sqrt(Q.shape[-1])\n"
                  "    w = np.exp(scores - scores.max(axis=-1, keepdims=True))\n"
                  "    if mask is not None:\n"
                  "        w = w * np.expand_dims(mask, -3)\n"
                  "    w = w / w.sum(axis=-1, keepdims=True)\n"
                  "    return combine_heads(w @ V) @ W_O, w\n"},
         fails={"check_mha_mask": "far above the allowed one's: your result contains nan"}),
    # ---- load_into_torch ----
    dict(name="load_without_transposes",
         answers={"load_into_torch": _LOAD + "    with torch.no_grad():\n"
                  "        mha_torch.in_proj_weight.copy_(torch.from_numpy(np.concatenate([W_Q, W_K, W_V])))\n"
                  "        mha_torch.out_proj.weight.copy_(torch.from_numpy(W_O))\n"
                  "    return mha_torch\n"},
         fails={"check_load_into_torch": "x @ W.T"}),
    dict(name="load_wrong_order",
         answers={"load_into_torch": _LOAD + "    with torch.no_grad():\n"
                  "        mha_torch.in_proj_weight.copy_(torch.from_numpy(np.concatenate([W_K.T, W_Q.T, W_V.T])))\n"
                  "        mha_torch.out_proj.weight.copy_(torch.from_numpy(W_O.T))\n"
                  "    return mha_torch\n"},
         fails={"check_load_into_torch": "wrong order"}),
    dict(name="load_out_proj_not_transposed",
         answers={"load_into_torch": _LOAD + "    with torch.no_grad():\n"
                  "        mha_torch.in_proj_weight.copy_(torch.from_numpy(np.concatenate([W_Q.T, W_K.T, W_V.T])))\n"
                  "        mha_torch.out_proj.weight.copy_(torch.from_numpy(W_O))\n"
                  "    return mha_torch\n"},
         fails={"check_load_into_torch": "store W_O.T"}),
    dict(name="load_returns_nothing",
         answers={"load_into_torch": _LOAD + "    with torch.no_grad():\n"
                  "        mha_torch.in_proj_weight.copy_(torch.from_numpy(np.concatenate([W_Q.T, W_K.T, W_V.T])))\n"
                  "        mha_torch.out_proj.weight.copy_(torch.from_numpy(W_O.T))\n"},
         fails={"check_load_into_torch": "return it"}),
    # found by a helper attacking notebook 04: these kept full marks (the checker's copy of the module was
    # loaded with load_state_dict, which casts back to float64 and ignores requires_grad)
    dict(name="load_data_replaced_by_float32",
         answers={"load_into_torch": _LOAD
                  + "    mha_torch.in_proj_weight.data = torch.tensor(np.concatenate([W_Q, W_K, W_V], axis=1).T,\n"
                  "                                                 dtype=torch.float32)\n"
                  "    mha_torch.out_proj.weight.data = torch.tensor(W_O.T, dtype=torch.float32)\n"
                  "    return mha_torch\n"},
         fails={"check_load_into_torch": "no longer float64"}),
    dict(name="load_turns_off_requires_grad",
         answers={"load_into_torch": _LOAD
                  + "    mha_torch.in_proj_weight.requires_grad = False   # so that copy_ doesn't complain\n"
                  "    mha_torch.out_proj.weight.requires_grad = False\n"
                  "    mha_torch.in_proj_weight.copy_(torch.from_numpy(np.concatenate([W_Q.T, W_K.T, W_V.T])))\n"
                  "    mha_torch.out_proj.weight.copy_(torch.from_numpy(W_O.T))\n"
                  "    return mha_torch\n"},
         fails={"check_load_into_torch": "turned off requires_grad of in_proj_weight, out_proj.weight"}),
    dict(name="load_rounded_to_float32",
         answers={"load_into_torch": _LOAD + "    with torch.no_grad():\n"
                  "        mha_torch.in_proj_weight.copy_(torch.tensor(np.concatenate([W_Q.T, W_K.T, W_V.T]),\n"
                  "                                                    dtype=torch.float32))\n"
                  "        mha_torch.out_proj.weight.copy_(torch.tensor(W_O.T, dtype=torch.float32))\n"
                  "    return mha_torch\n"},
         fails={"check_load_into_torch": "they were rounded on the way (to float32"}),
    # leaves gradients off for the rest of the notebook: charged here, not in check_module_grad (which ran in the
    # kernel with gradients off and lost its point instead, found by a helper attacking the grader)
    dict(name="load_switches_gradients_off",
         answers={"load_into_torch": _LOAD
                  + "    torch.set_grad_enabled(False)   # so that copy_ into the parameters is allowed\n"
                  "    mha_torch.in_proj_weight.copy_(torch.from_numpy(np.concatenate([W_Q.T, W_K.T, W_V.T])))\n"
                  "    mha_torch.out_proj.weight.copy_(torch.from_numpy(W_O.T))\n"
                  "    return mha_torch\n"},
         fails={"check_load_into_torch": "load_into_torch left PyTorch's gradients switched off"}),
    dict(name="load_enters_no_grad_for_good",
         answers={"load_into_torch": _LOAD
                  + "    torch.no_grad().__enter__()\n"
                  "    mha_torch.in_proj_weight.copy_(torch.from_numpy(np.concatenate([W_Q.T, W_K.T, W_V.T])))\n"
                  "    mha_torch.out_proj.weight.copy_(torch.from_numpy(W_O.T))\n"
                  "    return mha_torch\n"},
         fails={"check_load_into_torch": "a torch.no_grad() entered and never left"}),
    # found by a third helper: settings for the whole kernel, left changed (the checks run with PyTorch's defaults)
    dict(name="load_sets_default_dtype_float64",
         answers={"load_into_torch": _LOAD
                  + "    torch.set_default_dtype(torch.float64)   # so that everything stays float64\n"
                  "    with torch.no_grad():\n"
                  "        mha_torch.in_proj_weight.copy_(torch.from_numpy(np.concatenate([W_Q.T, W_K.T, W_V.T])))\n"
                  "        mha_torch.out_proj.weight.copy_(torch.from_numpy(W_O.T))\n"
                  "    return mha_torch\n"},
         fails={"check_load_into_torch": "changed PyTorch's default dtype to torch.float64"}),
    dict(name="load_enters_inference_mode_for_good",
         answers={"load_into_torch": _LOAD
                  + "    global _inference\n"
                  "    _inference = torch.inference_mode()\n"
                  "    _inference.__enter__()\n"
                  "    mha_torch.in_proj_weight.copy_(torch.from_numpy(np.concatenate([W_Q.T, W_K.T, W_V.T])))\n"
                  "    mha_torch.out_proj.weight.copy_(torch.from_numpy(W_O.T))\n"
                  "    return mha_torch\n"},
         fails={"check_load_into_torch": "left PyTorch in inference mode"}),
    # ---- MultiHeadAttention ----
    dict(name="module_mask_head_axis_only_for_3d_masks",
         answers={"MultiHeadAttention": _module(fill="~(mask[:, None] if mask.dim() == 3 else mask)")},
         fails={"check_module_mask": "two batch axes"}),
    dict(name="module_sqrt_d_model",
         answers={"MultiHeadAttention": _module(root="self.d_k * self.num_heads")},
         fails={"check_module_mask": 'with a causal mask your attention weights', "check_module_forward": "sqrt(d_k)"}),
    dict(name="module_weights_averaged_over_heads",
         answers={"MultiHeadAttention": _module(weights="weights.mean(dim=-3)")},
         fails={"check_module_mask": 'with a mask the output should have shape (3, 4,', "check_module_forward": "averaged over the heads"}),
    dict(name="module_mask_torch_convention",
         answers={"MultiHeadAttention": _module(fill="mask.unsqueeze(-3)")},
         fails={"check_module_grad": 'with a causal mask your output contains nan or', "check_module_mask": "mask is inverted"}),
    dict(name="module_mask_not_broadcast_over_heads",
         answers={"MultiHeadAttention": _module(fill="~mask")},
         fails={"check_module_mask": "not broadcast over the heads"}),
    dict(name="module_no_divisibility_check",
         answers={"MultiHeadAttention": _module(d_k="d_model // num_heads")},
         fails={"check_module_init": "ValueError"}),
    dict(name="module_zero_init",
         answers={"MultiHeadAttention": _module(init="torch.zeros(d_model, d_model)")},
         fails={"check_module_init": "all zeros"}),
    # the heads summed (or averaged) instead of concatenated, then projected with W_O's first d_k rows (right shape)
    dict(name="module_heads_summed_then_projected",
         answers={"MultiHeadAttention": _module(out="(weights @ V).sum(-3) @ self.W_O[:self.d_k]")},
         fails={"check_module_forward": "the heads were summed, not concatenated",
                "check_module_mask": "with a causal mask the heads were summed, not concatenated"}),
    dict(name="module_heads_averaged_then_projected",
         answers={"MultiHeadAttention": _module(out="(weights @ V).mean(-3) @ self.W_O[:self.d_k]")},
         fails={"check_module_forward": "the heads were averaged (summed and divided by num_heads), not concatenated",
                "check_module_mask": "with a causal mask the heads were averaged"}),
    # the heads summed, then the whole W_O: the shapes don't fit
    dict(name="module_heads_summed_crash",
         answers={"MultiHeadAttention": _module(out="(weights @ V).sum(-3) @ self.W_O")},
         fails={"check_module_forward": "concatenate the heads (don't sum them: a sum has only d_k columns)",
                "check_module_mask": "if the check above fails too, fix that first",
                "check_module_grad": "Make the checks above pass first"}),
    # ---- padding_mask ----
    dict(name="padding_torch_convention_true_means_ignore",
         answers={"padding_mask": _PAD + "    return np.arange(n) >= np.asarray(lengths)[:, None, None]\n"},
         fails={"check_padding_mask": "key_padding_mask (True = ignore"}),
    dict(name="padding_mask_over_queries",
         answers={"padding_mask": _PAD + "    return (np.arange(n) < np.asarray(lengths)[:, None])[:, :, None]\n"},
         fails={"check_padding_mask": "hides the padded QUERIES"}),
    dict(name="padding_one_key_too_many",
         answers={"padding_mask": _PAD + "    return np.arange(n) <= np.asarray(lengths)[:, None, None]\n"},
         fails={"check_padding_mask": "one key too many"}),
    dict(name="padding_one_real_token_too_few",
         answers={"padding_mask": _PAD + "    return np.arange(n) < np.asarray(lengths)[:, None, None] - 1\n"},
         fails={"check_padding_mask": "hides one real token"}),
    dict(name="padding_not_broadcast_batch_by_n",
         answers={"padding_mask": _PAD + "    return np.arange(n) < np.asarray(lengths)[:, None]\n"},
         fails={"check_padding_mask": "not broadcast over the heads"}),
    dict(name="padding_head_axis_added_twice",
         answers={"padding_mask": _PAD + "    return (np.arange(n) < np.asarray(lengths)[:, None])[:, None, None, :]\n"},
         fails={"check_padding_mask": "already has a head axis"}),
    dict(name="padding_ints_not_booleans",
         answers={"padding_mask": _PAD + "    return (np.arange(n) < np.asarray(lengths)[:, None, None]).astype(int)\n"},
         fails={"check_padding_mask": "should be boolean"}),
    # computed in torch and returned as torch tensors (accepted), but the mask is ignored: still named
    dict(name="mha_torch_tensors_mask_ignored",
         answers={"multi_head_attention": _MHA
                  + "    t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float64)\n"
                    "    d_k = W_Q.shape[0] // num_heads\n"
                    "    sp = lambda x: x.unflatten(-1, (num_heads, d_k)).transpose(-3, -2)\n"
                    "    Q, K, V = sp(t(query) @ t(W_Q)), sp(t(key) @ t(W_K)), sp(t(value) @ t(W_V))\n"
                    "    w = (Q @ K.transpose(-1, -2) / d_k ** 0.5).softmax(-1)\n"
                    "    return (w @ V).transpose(-3, -2).flatten(-2) @ t(W_O), w\n"},
         fails={"check_mha_mask": "the mask is ignored"}),
    # found by attacking the grader: contributions twice too large, with W_O doubled in place to match
    dict(name="contributions_scaled_rewrites_w_o",
         answers={"head_contributions": _CONTRIB + "    h, d_k = H.shape[-3], H.shape[-1]\n"
                                        "    W_O *= 2\n"
                                        "    return np.stack([H[..., i, :, :] @ W_O[i * d_k:(i + 1) * d_k] for i in range(h)], axis=-3)\n"},
         fails={"check_head_contributions": "head 0's contribution should be H[..., 0, :, :] @ W_O[0:4, :]"}),
    # ---- head_contributions ----
    # found by a helper attacking notebook 04: every check built a fresh module and called it once per shape (20/20)
    dict(name="module_caches_keys_and_values_by_shape",
         answers={"MultiHeadAttention": _module().replace(
             "        Q, K, V = split(query @ self.W_Q), split(key @ self.W_K), split(value @ self.W_V)\n",
             "        Q = split(query @ self.W_Q)\n"
             "        cache = self.__dict__.setdefault('_kv', {})\n"
             "        if tuple(key.shape) not in cache:\n"
             "            cache[tuple(key.shape)] = (split(key @ self.W_K), split(value @ self.W_V))\n"
             "        K, V = cache[tuple(key.shape)]\n")},
         fails={"check_module_forward": "kept something of the first call"}),
    # found by a helper: weights made in float64 lost check_module_forward with a list of unrelated causes, and
    # check_module_grad again (its float32 input)
    dict(name="module_float64_parameters",
         answers={"MultiHeadAttention": _module(init="torch.randn(d_model, d_model, dtype=torch.float64) * scale")},
         fails={"check_module_forward": "create the weights in PyTorch's default float32"}),
    # found by a helper: a forward that unpacks (batch, n, d_model) lost check_module_forward with unrelated causes
    # and check_module_mask again (its unbatched and 4-axis inputs)
    dict(name="module_only_3_axes",
         answers={"MultiHeadAttention": _module(out="(weights @ V).transpose(1, 2).reshape(query.shape[0], -1, "
                                                "query.shape[2]) @ self.W_O").replace(
             "            return x.unflatten(-1, (self.num_heads, self.d_k)).transpose(-3, -2)\n",
             "            b, n, d = x.shape\n"
             "            return x.view(b, n, self.num_heads, self.d_k).transpose(1, 2)\n")},
         fails={"check_module_forward": "forward probably assumes 3 axes"}),
    # found by a helper: a causal_mask of its own (True = blocked) in the multi_head_attention cell also cost the
    # correct module check_module_grad, which called the learner's causal_mask in the kernel
    dict(name="mha_with_its_own_inverted_causal_mask",
         answers={"multi_head_attention": "def causal_mask(n):\n    return np.triu(np.ones((n, n), dtype=bool), k=1)\n\n"
                  + _mha(mask="~np.expand_dims(mask, -3)")},
         fails={"check_mha_mask": "mask is inverted"}),
    # found by a helper: heads (num_heads, n, d_k) reshaped to (n, d_model) with no swap of the axes: no name
    dict(name="mha_heads_reshaped_without_swapping_axes",
         answers={"multi_head_attention": _mha(ret="heads.reshape(*heads.shape[:-3], heads.shape[-2], -1) @ W_O, weights")},
         fails={"check_mha_values": "without moving the head axis", "check_mha_shapes": "without moving the head axis",
                "check_mha_mask": "with a causal mask the first output row"}),
    # found by a helper (4th round): W_O left out whenever gradients are off (evaluation), 20/20
    dict(name="module_without_W_O_when_gradients_are_off",
         answers={"MultiHeadAttention": _module(out="((weights @ V).transpose(-3, -2).flatten(-2) @ self.W_O "
                                                "if torch.is_grad_enabled() else (weights @ V).transpose(-3, -2).flatten(-2))")},
         fails={"check_module_grad": "another output with gradients off"}),
    # ---- from a helper's attack (2026-12-05): right only at the sizes the checks used to try ----
    dict(name="contrib_at_most_one_batch_axis",
         answers={"head_contributions": _CONTRIB + "    h, d_k = H.shape[-3], H.shape[-1]\n"
                  "    Wr = W_O.reshape(h, d_k, -1)\n"
                  "    if H.ndim == 4:\n        return np.einsum('bhnk,hkd->bhnd', H, Wr)\n"
                  "    return np.einsum('hnk,hkd->hnd', H, Wr)\n"},
         fails={"check_head_contributions": "two batch axes"}),
    dict(name="mha_sums_the_heads_when_more_than_4",
         answers={"multi_head_attention": _mha(ret="((heads.sum(-3) @ W_O[:heads.shape[-1]]) if num_heads > 4 "
                                                   "else combine_heads(heads) @ W_O), weights")},
         fails={"check_mha_values": "summed, not concatenated"}),
    dict(name="mha_scale_capped_at_sqrt_4",
         answers={"multi_head_attention": _mha_by_hand(scale="np.sqrt(min(d_k, 4))")},
         fails={"check_mha_values": "8 heads of d_k = 8"}),
    dict(name="module_sums_the_heads_when_more_than_4",
         answers={"MultiHeadAttention": _module(out="((weights @ V).sum(-3) @ self.W_O[:self.d_k] if self.num_heads > 4 "
                                                "else (weights @ V).transpose(-3, -2).flatten(-2) @ self.W_O)")},
         fails={"check_module_forward": "summed, not concatenated"}),
    dict(name="module_scale_capped_at_sqrt_4",
         answers={"MultiHeadAttention": _module(root="min(self.d_k, 4)")},
         fails={"check_module_forward": "MultiHeadAttention(64, 8)"}),
    dict(name="contrib_cached_by_shape",   # right for the first H of each shape, stale after it
         answers={"head_contributions": "_seen = {}\n\n" + _CONTRIB + "    sig = (np.shape(H), np.shape(W_O))\n"
                  "    if sig not in _seen:\n        h, d_k = H.shape[-3], H.shape[-1]\n"
                  "        _seen[sig] = H @ W_O.reshape(h, d_k, -1)\n    return _seen[sig]\n"},
         fails={"check_head_contributions": "is stale"}),
    dict(name="module_starts_100_times_too_large",   # lost the forward check (3), with a message about float32
         answers={"MultiHeadAttention": _module(init="torch.randn(d_model, d_model) * 100")},
         fails={"check_module_init": "standard deviation of"}),
    dict(name="padding_mask_cached_by_shape",   # found by a helper: kept full marks
         answers={"padding_mask": "_seen = {}\n\n" + _PAD + "    sig = (len(lengths), n)\n"
                  "    if sig not in _seen:\n        _seen[sig] = np.arange(n) < np.asarray(lengths)[:, None, None]\n"
                  "    return _seen[sig]\n"},
         fails={"check_padding_mask": "padding_mask([4, 2, 5], 5) should be True exactly where"}),
    dict(name="head_contributions_writes_into_a_batched_h",   # found by a helper: only batched H was changed
         answers={"head_contributions": "def head_contributions(H, W_O):\n"
                                        "    num_heads, d_k = H.shape[-3], H.shape[-1]\n"
                                        "    out = H @ W_O.reshape(num_heads, d_k, W_O.shape[-1])\n"
                                        "    if H.ndim >= 4:\n"
                                        "        H[...] = 0\n"
                                        "    return out\n"},
         fails={"check_head_contributions": "changed its input H"}),
    dict(name="mha_zeroes_a_batched_query",   # found by a helper: it lost points, with a message about its weights
         answers={"multi_head_attention": _mha(ret="(combine_heads(heads) @ W_O, weights) if query.ndim < 3 or "
                                                   "query.__setitem__(Ellipsis, 0) else None")},
         fails={"check_mha_shapes": "changed one of its input arrays in place",
                "check_mha_values": "changed one of its input arrays in place",
                "check_mha_mask": "changed one of its input arrays in place"}),
]

CORRECT = [
    dict(name="quiz_summing_in_square_brackets",
         answers={"quiz_summing": 'answer_summing = "[B]"\n'}),
    dict(name="quiz_summing_with_a_full_stop",   # found by a helper: "(B)" and "B." were refused
         answers={"quiz_summing": 'answer_summing = "B."\n'}),
    dict(name="contrib_in_float32",   # found by a helper: float32 rounding lost both points
         answers={"head_contributions": _CONTRIB + "    h, d_k = H.shape[-3], H.shape[-1]\n"
                  "    return H.astype(np.float32) @ W_O.astype(np.float32).reshape(h, d_k, -1)\n"}),
    dict(name="module_returns_a_typed_namedtuple",   # found by a helper: it arrived as a Remote (15/20)
         answers={"MultiHeadAttention": "from typing import NamedTuple\n\n"
                  "class AttentionOutput(NamedTuple):\n    output: torch.Tensor\n    weights: torch.Tensor\n\n"
                  + _module().replace("        return (weights @ V)", "        return AttentionOutput((weights @ V)")
                             .replace("@ self.W_O, weights\n", "@ self.W_O, weights)\n")}),
    dict(name="contrib_loop_over_heads",
         answers={"head_contributions": _CONTRIB + "    h, d_k = H.shape[-3], H.shape[-1]\n"
                  "    return np.stack([H[..., i, :, :] @ W_O[i * d_k:(i + 1) * d_k, :] for i in range(h)], axis=-3)\n"}),
    dict(name="quiz_lower_case_with_spaces",
         answers={"quiz_summing": 'answer_summing = " b "\n'}),
    dict(name="mha_loop_over_heads_with_weight_slices_and_W_O_blocks",
         answers={"multi_head_attention": _MHA
                  + "    d_model = W_Q.shape[0]\n"
                  "    d_k = head_dim(d_model, num_heads)\n"
                  "    out, all_weights = 0, []\n"
                  "    for i in range(num_heads):\n"
                  "        cols = slice(i * d_k, (i + 1) * d_k)\n"
                  "        head, w = scaled_dot_product_attention(query @ W_Q[:, cols], key @ W_K[:, cols],\n"
                  "                                               value @ W_V[:, cols], mask)\n"
                  "        out = out + head @ W_O[cols, :]          # head i's row block of W_O\n"
                  "        all_weights.append(w)\n"
                  "    return out, np.stack(all_weights, axis=-3)\n"}),
    dict(name="mha_einsum_minus_1e9",
         answers={"multi_head_attention": _MHA
                  + "    h = num_heads\n"
                  "    *batch, n_q, d = query.shape\n"
                  "    d_k = d // h\n"
                  "    Q = np.einsum('...nd,de->...ne', query, W_Q).reshape(*batch, n_q, h, d_k)\n"
                  "    K = np.einsum('...nd,de->...ne', key, W_K).reshape(*key.shape[:-1], h, d_k)\n"
                  "    V = np.einsum('...nd,de->...ne', value, W_V).reshape(*value.shape[:-1], h, d_k)\n"
                  "    scores = np.einsum('...qhd,...khd->...hqk', Q, K) / np.sqrt(d_k)\n"
                  "    if mask is not None:\n"
                  "        scores = np.where(mask[..., None, :, :], scores, -1e9)\n"
                  "    scores = scores - scores.max(axis=-1, keepdims=True)\n"
                  "    weights = np.exp(scores)\n"
                  "    weights = weights / weights.sum(axis=-1, keepdims=True)\n"
                  "    heads = np.einsum('...hqk,...khd->...qhd', weights, V)\n"
                  "    return np.einsum('...qe,ef->...qf', heads.reshape(*batch, n_q, d), W_O), weights\n"}),
    dict(name="mha_by_hand_masked_with_minus_1e9",
         answers={"multi_head_attention": _mha_by_hand(
             masking="scores = np.where(np.expand_dims(mask, -3), scores, -1e9)")}),
    # the function is right; the line after it leaves gradients off for the learner's later cells, not the checks
    dict(name="load_then_gradients_off_at_the_top_level",
         answers={"load_into_torch": _LOAD + "    with torch.no_grad():\n"
                  "        mha_torch.in_proj_weight.copy_(torch.from_numpy(np.concatenate([W_Q.T, W_K.T, W_V.T])))\n"
                  "        mha_torch.out_proj.weight.copy_(torch.from_numpy(W_O.T))\n"
                  "    return mha_torch\n"
                  "\ntorch.set_grad_enabled(False)   # nothing below trains\n"}),
    dict(name="load_hstack_transposed_into_data",
         answers={"load_into_torch": _LOAD
                  + "    mha_torch.in_proj_weight.data = torch.tensor(np.hstack([W_Q, W_K, W_V]).T)\n"
                  "    mha_torch.out_proj.weight.data = torch.tensor(W_O.T)\n"
                  "    return mha_torch\n"}),
    dict(name="module_sdpa_and_einsum",
         answers={"MultiHeadAttention":
                  "import torch.nn.functional as F\n"
                  "\n"
                  "class MultiHeadAttention(nn.Module):\n"
                  "    def __init__(self, d_model, num_heads):\n"
                  "        super().__init__()\n"
                  "        self.h, self.d_k = num_heads, head_dim(d_model, num_heads)\n"
                  "        for name in ('W_Q', 'W_K', 'W_V', 'W_O'):\n"
                  "            w = torch.empty(d_model, d_model)\n"
                  "            nn.init.xavier_uniform_(w)\n"
                  "            setattr(self, name, nn.Parameter(w))\n"
                  "\n"
                  "    def forward(self, query, key, value, mask=None):\n"
                  "        def split(x, W):\n"
                  "            x = torch.einsum('...nd,de->...ne', x, W)\n"
                  "            return x.reshape(*x.shape[:-1], self.h, self.d_k).transpose(-3, -2)\n"
                  "        Q, K, V = split(query, self.W_Q), split(key, self.W_K), split(value, self.W_V)\n"
                  "        m = None if mask is None else mask.unsqueeze(-3)\n"
                  "        heads = F.scaled_dot_product_attention(Q, K, V, attn_mask=m)\n"
                  "        scores = torch.einsum('...qd,...kd->...qk', Q, K) / self.d_k ** 0.5\n"
                  "        if m is not None:\n"
                  "            scores = scores.masked_fill(~m, -1e9)\n"
                  "        weights = torch.softmax(scores, dim=-1)\n"
                  "        out = heads.transpose(-3, -2).reshape(*heads.shape[:-3], heads.shape[-2], -1)\n"
                  "        return out @ self.W_O, weights\n"}),
    dict(name="module_loop_over_heads",
         answers={"MultiHeadAttention":
                  "class MultiHeadAttention(nn.Module):\n"
                  "    def __init__(self, d_model, num_heads):\n"
                  "        super().__init__()\n"
                  "        self.num_heads = num_heads\n"
                  "        self.d_k = head_dim(d_model, num_heads)\n"
                  "        self.W_Q = nn.Parameter(torch.randn(d_model, d_model) / math.sqrt(d_model))\n"
                  "        self.W_K = nn.Parameter(torch.randn(d_model, d_model) / math.sqrt(d_model))\n"
                  "        self.W_V = nn.Parameter(torch.randn(d_model, d_model) / math.sqrt(d_model))\n"
                  "        self.W_O = nn.Parameter(torch.randn(d_model, d_model) / math.sqrt(d_model))\n"
                  "\n"
                  "    def forward(self, query, key, value, mask=None):\n"
                  "        out, weights = 0, []\n"
                  "        for i in range(self.num_heads):\n"
                  "            c = slice(i * self.d_k, (i + 1) * self.d_k)\n"
                  "            q, k, v = query @ self.W_Q[:, c], key @ self.W_K[:, c], value @ self.W_V[:, c]\n"
                  "            s = q @ k.transpose(-1, -2) / math.sqrt(self.d_k)\n"
                  "            if mask is not None:\n"
                  "                s = s.masked_fill(~mask, float('-inf'))\n"
                  "            w = torch.softmax(s, dim=-1)\n"
                  "            out = out + (w @ v) @ self.W_O[c, :]\n"
                  "            weights.append(w)\n"
                  "        return out, torch.stack(weights, dim=-3)\n"}),
    # per-head row blocks of W_O, summed (that is the concatenation times W_O), in float32, with einsum
    dict(name="module_per_head_W_O_blocks_summed_float32",
         answers={"MultiHeadAttention":
                  "class MultiHeadAttention(nn.Module):\n"
                  "    def __init__(self, d_model, num_heads):\n"
                  "        super().__init__()\n"
                  "        self.num_heads = num_heads\n"
                  "        self.d_k = head_dim(d_model, num_heads)\n"
                  "        for name in ('W_Q', 'W_K', 'W_V', 'W_O'):\n"
                  "            w = torch.empty(d_model, d_model)\n"
                  "            nn.init.xavier_uniform_(w)\n"
                  "            setattr(self, name, nn.Parameter(w))\n"
                  "    def split(self, x):\n"
                  "        return x.unflatten(-1, (self.num_heads, self.d_k)).transpose(-3, -2)\n"
                  "    def forward(self, query, key, value, mask=None):\n"
                  "        Q, K, V = self.split(query @ self.W_Q), self.split(key @ self.W_K), self.split(value @ self.W_V)\n"
                  "        s = torch.einsum('...hqd,...hkd->...hqk', Q, K) * self.d_k ** -0.5\n"
                  "        if mask is not None:\n"
                  "            s = torch.where(mask[..., None, :, :], s, torch.finfo(s.dtype).min)\n"
                  "        w = torch.softmax(s, dim=-1)\n"
                  "        H = w @ V\n"
                  "        d = self.d_k\n"
                  "        out = sum(H[..., i, :, :] @ self.W_O[i * d:(i + 1) * d] for i in range(self.num_heads))\n"
                  "        return out, w\n"}),
    # the NumPy function computed in torch (float64) or in float32: float32's rounding is no mistake
    dict(name="mha_torch_float64_inside",
         answers={"multi_head_attention": _MHA
                  + "    t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float64))\n"
                    "    q, k, v = t(query) @ t(W_Q), t(key) @ t(W_K), t(value) @ t(W_V)\n"
                    "    h = num_heads\n"
                    "    d_k = head_dim(q.shape[-1], h)\n"
                    "    Q, K, V = (x.unflatten(-1, (h, d_k)).transpose(-3, -2) for x in (q, k, v))\n"
                    "    s = Q @ K.transpose(-1, -2) / math.sqrt(d_k)\n"
                    "    if mask is not None:\n"
                    "        s = s.masked_fill(~torch.as_tensor(np.asarray(mask)).unsqueeze(-3), float('-inf'))\n"
                    "    w = s.softmax(-1)\n"
                    "    out = (w @ V).transpose(-3, -2).flatten(-2) @ t(W_O)\n"
                    "    return out.numpy(), w.numpy()\n"}),
    dict(name="mha_float32_numpy",
         answers={"multi_head_attention": _MHA
                  + "    f = lambda a: np.asarray(a, dtype=np.float32)\n"
                    "    Q = split_heads(f(query) @ f(W_Q), num_heads)\n"
                    "    K = split_heads(f(key) @ f(W_K), num_heads)\n"
                    "    V = split_heads(f(value) @ f(W_V), num_heads)\n"
                    "    m = None if mask is None else np.expand_dims(mask, -3)\n"
                    "    heads, w = scaled_dot_product_attention(Q, K, V, m)\n"
                    "    return combine_heads(heads) @ f(W_O), w\n"}),
    dict(name="mha_float32_torch_cast_back_to_float64",
         answers={"multi_head_attention": _MHA
                  + "    t = lambda a: torch.as_tensor(np.asarray(a, dtype=np.float32))\n"
                    "    q, k, v = t(query) @ t(W_Q), t(key) @ t(W_K), t(value) @ t(W_V)\n"
                    "    d_k = q.shape[-1] // num_heads\n"
                    "    Q, K, V = (x.unflatten(-1, (num_heads, d_k)).transpose(-3, -2) for x in (q, k, v))\n"
                    "    s = Q @ K.transpose(-1, -2) / d_k ** 0.5\n"
                    "    if mask is not None:\n"
                    "        s = s.masked_fill(~torch.as_tensor(np.asarray(mask)).unsqueeze(-3), float('-inf'))\n"
                    "    w = s.softmax(-1)\n"
                    "    out = (w @ V).transpose(-3, -2).flatten(-2) @ t(W_O)\n"
                    "    return out.double().numpy(), w.double().numpy()\n"}),
    dict(name="mha_float32_loop_over_heads_einsum_minus_1e9",
         answers={"multi_head_attention": _MHA
                  + "    f = lambda a: np.asarray(a, dtype=np.float32)\n"
                    "    query, key, value, W_Q, W_K, W_V, W_O = map(f, (query, key, value, W_Q, W_K, W_V, W_O))\n"
                    "    d = head_dim(W_Q.shape[0], num_heads)\n"
                    "    out, ws = 0, []\n"
                    "    for i in range(num_heads):\n"
                    "        c = slice(i * d, (i + 1) * d)\n"
                    "        s = np.einsum('...qd,...kd->...qk', query @ W_Q[:, c], key @ W_K[:, c]) / np.float32(np.sqrt(d))\n"
                    "        if mask is not None:\n"
                    "            s = np.where(mask, s, np.float32(-1e9))\n"
                    "        w = softmax(s)\n"
                    "        out = out + (w @ (value @ W_V[:, c])) @ W_O[c]\n"
                    "        ws.append(w)\n"
                    "    return out, np.stack(ws, axis=-3)\n"}),
    dict(name="padding_loop_over_sentences",
         answers={"padding_mask": _PAD + "    mask = np.zeros((len(lengths), 1, n), dtype=bool)\n"
                  "    for b, length in enumerate(lengths):\n"
                  "        mask[b, 0, :length] = True\n"
                  "    return mask\n"}),
    dict(name="padding_torch_tensor_unsqueeze",
         answers={"padding_mask": _PAD + "    lengths = torch.as_tensor(np.asarray(lengths))\n"
                  "    return (torch.arange(n) < lengths[:, None]).unsqueeze(1)\n"}),
    dict(name="padding_expand_dims_of_2d_mask",
         answers={"padding_mask": _PAD + "    return np.expand_dims(np.arange(n)[None, :] < np.array(lengths)[:, None], axis=1)\n"}),
    # computed in torch and returned as torch tensors, not converted to NumPy: the values are what is graded
    dict(name="mha_returns_torch_float32",
         answers={"multi_head_attention": _MHA
                  + "    t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32)\n"
                    "    d_k = W_Q.shape[0] // num_heads\n"
                    "    sp = lambda x: x.unflatten(-1, (num_heads, d_k)).transpose(-3, -2)\n"
                    "    Q, K, V = sp(t(query) @ t(W_Q)), sp(t(key) @ t(W_K)), sp(t(value) @ t(W_V))\n"
                    "    m = None if mask is None else torch.as_tensor(np.asarray(mask)).unsqueeze(-3)\n"
                    "    s = Q @ K.transpose(-1, -2) / d_k ** 0.5\n"
                    "    if m is not None:\n"
                    "        s = s.masked_fill(~m, float('-inf'))\n"
                    "    w = s.softmax(-1)\n"
                    "    return (w @ V).transpose(-3, -2).flatten(-2) @ t(W_O), w\n"}),
    dict(name="mha_returns_torch_float64_via_nn_functional",
         answers={"multi_head_attention": _MHA
                  + "    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))\n"
                    "    d_k = W_Q.shape[0] // num_heads\n"
                    "    sp = lambda x: x.unflatten(-1, (num_heads, d_k)).transpose(-3, -2)\n"
                    "    Q, K, V = sp(t(query) @ t(W_Q)), sp(t(key) @ t(W_K)), sp(t(value) @ t(W_V))\n"
                    "    s = Q @ K.transpose(-1, -2) / d_k ** 0.5\n"
                    "    if mask is not None:\n"
                    "        s = s.masked_fill(~torch.from_numpy(np.asarray(mask)).unsqueeze(-3), float('-inf'))\n"
                    "    w = torch.nn.functional.softmax(s, dim=-1)\n"
                    "    return (w @ V).transpose(-3, -2).flatten(-2) @ t(W_O), w\n"}),
    # found by a helper (4th round): float64 weights, with the input converted to them and the output back to the
    # input's dtype, lost check_module_forward (17/20) to the float32 check of the weights' dtype
    dict(name="module_float64_weights_converting_the_input",
         answers={"MultiHeadAttention": _module(init="torch.randn(d_model, d_model, dtype=torch.float64) * scale").replace(
             "    def forward(self, query, key, value, mask=None):\n",
             "    def forward(self, query, key, value, mask=None):\n"
             "        dtype = query.dtype\n"
             "        query, key, value = (t.to(self.W_Q.dtype) for t in (query, key, value))\n").replace(
             "        return (weights @ V).transpose(-3, -2).flatten(-2) @ self.W_O, weights\n",
             "        return ((weights @ V).transpose(-3, -2).flatten(-2) @ self.W_O).to(dtype), weights\n")}),
]
