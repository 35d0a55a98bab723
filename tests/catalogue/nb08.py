"""Wrong answers and correct variants for 08_transformer_capstone (see tests/test_catalogue.py)."""
NOTEBOOK = "08_transformer_capstone.ipynb"

_LN = "def layer_norm(x, gamma, beta, eps=1e-5):\n"
_BLOCK = "def block_forward(block, x):\n"
_LOSS = "def lm_loss(logits, tokens):\n"
_SAMPLE = "def sample_next(logits, temperature, u):\n"
_KV = "def cached_attention(q, k_new, v_new, cache):\n"
_COUNT = "def count_parameters(vocab_size, context, d_model, num_heads, num_layers, d_ff, num_kv_heads=None):\n"

_LN_MEAN = "    mean = x.mean(dim=-1, keepdim=True)\n"
_BLOCK_HEAD = "    mask = causal_mask(x.shape[-2])\n    h = block.ln1(x)\n"
_SAMPLE_GREEDY = "    if temperature == 0:\n        return logits.argmax(dim=-1)\n"
_SAMPLE_TAIL = ("    cdf = probs.cumsum(dim=-1)\n"
                "    u = torch.as_tensor(u, dtype=cdf.dtype)\n"
                "    return torch.searchsorted(cdf, u[..., None], right=True).squeeze(-1).clamp(max=logits.shape[-1] - 1)\n")
_KV_APPEND = ("    if cache is None:\n        K, V = k_new, v_new\n"
              "    else:\n        K = torch.cat([cache[0], k_new], dim=-2)\n        V = torch.cat([cache[1], v_new], dim=-2)\n")
_KV_ATTEND = ("    r = q.shape[-3] // K.shape[-3]\n"
              "    K_all, V_all = repeat_kv(K, r), repeat_kv(V, r)\n"
              "    w = (q @ K_all.transpose(-1, -2) / math.sqrt(q.shape[-1])).softmax(dim=-1)\n")
_COUNT_PARTS = ("    g = num_heads if num_kv_heads is None else num_kv_heads\n"
                "    d_k = d_model // num_heads\n"
                "    emb = vocab_size * d_model + context * d_model\n"
                "    attn = 2 * d_model * d_model + 2 * d_model * g * d_k\n"
                "    norms = 4 * d_model\n"
                "    ffn = 2 * d_model * d_ff + d_ff + d_model\n"
                "    head = 2 * d_model + d_model * vocab_size + vocab_size\n")

WRONG = [
    # ---- gradients (found by a helper attacking the grader): right values, but training can't learn ----
    dict(name="ln_through_numpy",
         answers={"layer_norm": _LN + "    a = x.detach().cpu().numpy()\n"
                  "    mean, var = a.mean(-1, keepdims=True), a.var(-1, keepdims=True)\n"
                  "    normed = torch.from_numpy((a - mean) / np.sqrt(var + eps)).to(x.dtype)\n"
                  "    return gamma.detach() * normed + beta.detach()\n"},
         fails={"check_layer_norm_gradients": "layer_norm's result is cut off from the gradients"}),
    dict(name="ln_normalised_part_detached",
         answers={"layer_norm": _LN + _LN_MEAN + "    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)\n"
                  "    return gamma * ((x - mean) / torch.sqrt(var + eps)).detach() + beta\n"},
         fails={"check_layer_norm_gradients": "part of your layer_norm is cut off from the gradients: x get no gradient"}),
    dict(name="block_under_no_grad",
         answers={"block_forward": "@torch.no_grad()\n" + _BLOCK
                  + "    mask = causal_mask(x.shape[-2], device=x.device)\n    h = block.ln1(x)\n"
                  "    x = x + block.attn(h, h, h, mask=mask)[0]\n"
                  "    return x + block.ffn(block.ln2(x))\n"},
         fails={"check_block_gradients": "block_forward's result is cut off from the gradients"}),
    dict(name="block_attention_input_detached",
         answers={"block_forward": _BLOCK
                  + "    mask = causal_mask(x.shape[-2], device=x.device)\n    h = block.ln1(x).detach()\n"
                  "    x = x + block.attn(h, h, h, mask=mask)[0]\n"
                  "    return x + block.ffn(block.ln2(x))\n"},
         fails={"check_block_gradients": "part of your block_forward is cut off from the gradients: ln1.gamma, ln1.beta get no"}),
    dict(name="loss_under_no_grad",
         answers={"lm_loss": _LOSS + "    with torch.no_grad():\n"
                  "        return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))\n"},
         fails={"check_lm_loss_gradients": "lm_loss's result is cut off from the gradients"}),
    dict(name="loss_rebuilt_from_item",
         answers={"lm_loss": _LOSS + "    loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),\n"
                  "                           tokens[:, 1:].reshape(-1))\n"
                  "    return torch.tensor(loss.item())\n"},
         fails={"check_lm_loss_gradients": "lm_loss's result is cut off from the gradients"}),
    # found by a helper attacking those checks: the values right, the gradients bent
    dict(name="ln_statistics_from_numpy",
         answers={"layer_norm": _LN + "    a = x.detach().cpu().numpy()\n"
                  "    mean = torch.from_numpy(a.mean(-1, keepdims=True)).to(x.dtype)\n"
                  "    std = torch.from_numpy(np.sqrt(a.var(-1, keepdims=True) + eps)).to(x.dtype)\n"
                  "    return gamma * (x - mean) / std + beta\n"},
         fails={"check_layer_norm_gradients": "gradients for x don't match its values"}),
    dict(name="block_norms_read_a_detached_x",
         answers={"block_forward": _BLOCK
                  + "    mask = causal_mask(x.shape[-2], device=x.device)\n    h = block.ln1(x.detach())\n"
                  "    x = x + block.attn(h, h, h, mask=mask)[0]\n"
                  "    return x + block.ffn(block.ln2(x.detach()))\n"},
         fails={"check_block_gradients": "your block_forward's gradients for x, ln1.gamma, ln1.beta"}),
    dict(name="loss_log_softmax_in_place",
         answers={"lm_loss": _LOSS + "    lg = logits[:, :-1]\n"
                  "    lg -= lg.logsumexp(dim=-1, keepdim=True)\n"
                  "    return -lg.gather(-1, tokens[:, 1:, None]).mean()\n"},
         fails={"check_lm_loss_gradients": "the backward pass through your lm_loss fails"}),
    dict(name="loss_in_numpy_float64",
         answers={"lm_loss": _LOSS + "    lg = logits[:, :-1].detach().cpu().numpy().astype(np.float64)\n"
                  "    t = tokens[:, 1:].cpu().numpy()\n"
                  "    lg = lg - lg.max(axis=-1, keepdims=True)\n"
                  "    logp = lg - np.log(np.exp(lg).sum(axis=-1, keepdims=True))\n"
                  "    return torch.tensor(-np.take_along_axis(logp, t[..., None], axis=-1).mean())\n"},
         fails={"check_lm_loss_gradients": "lm_loss's result is cut off from the gradients"}),
    # found by a fourth helper: NumPy on a tensor that requires grad runs in the value checks, not in training
    dict(name="ln_np_sqrt_without_detach",
         answers={"layer_norm": _LN + _LN_MEAN + "    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)\n"
                  "    return gamma * (x - mean) / np.sqrt(var + eps) + beta\n"},
         fails={"check_layer_norm_gradients": "your layer_norm fails when its inputs need gradients"}),
    dict(name="loss_numpy_without_detach",
         answers={"lm_loss": _LOSS + "    lg = logits[:, :-1].numpy().astype(np.float64)\n"
                  "    t = tokens[:, 1:].numpy()\n"
                  "    lg = lg - lg.max(axis=-1, keepdims=True)\n"
                  "    logp = lg - np.log(np.exp(lg).sum(axis=-1, keepdims=True))\n"
                  "    return torch.tensor(-np.take_along_axis(logp, t[..., None], axis=-1).mean())\n"},
         fails={"check_lm_loss_gradients": "your lm_loss fails when its inputs need gradients"}),
    # a layer_norm mistake, and a right block_forward that calls layer_norm itself: charged in layer_norm's check only
    dict(name="ln_numpy_std_and_block_calls_layer_norm",
         answers={"layer_norm": _LN + _LN_MEAN
                  + "    std = torch.from_numpy(np.sqrt(x.detach().cpu().numpy().var(axis=-1, keepdims=True) + eps)).to(x)\n"
                  "    return gamma * (x - mean) / std + beta\n",
                  "block_forward": _BLOCK + "    mask = causal_mask(x.shape[-2], device=x.device)\n"
                  "    h = layer_norm(x, block.ln1.gamma, block.ln1.beta)\n"
                  "    x = x + block.attn(h, h, h, mask=mask)[0]\n"
                  "    return x + block.ffn(layer_norm(x, block.ln2.gamma, block.ln2.beta))\n"},
         fails={"check_layer_norm_gradients": "your layer_norm's gradients for x don't match its values"}),
    # ---- Exercise 1: layer_norm ----
    dict(name="ln_over_tokens_axis",
         answers={"layer_norm": _LN + "    mean = x.mean(dim=-2, keepdim=True)\n"
                  "    var = ((x - mean) ** 2).mean(dim=-2, keepdim=True)\n"
                  "    return gamma * (x - mean) / torch.sqrt(var + eps) + beta\n"},
         fails={"check_layer_norm": "normalised over the tokens (axis -2)"}),
    dict(name="ln_unbiased_variance",
         answers={"layer_norm": _LN + _LN_MEAN + "    var = x.var(dim=-1, keepdim=True)\n"
                  "    return gamma * (x - mean) / torch.sqrt(var + eps) + beta\n"},
         fails={"check_layer_norm": "divides by d_model - 1"}),
    dict(name="ln_no_gamma_beta",
         answers={"layer_norm": _LN + _LN_MEAN + "    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)\n"
                  "    return (x - mean) / torch.sqrt(var + eps)\n"},
         fails={"check_layer_norm": "forgot gamma and beta"}),
    dict(name="ln_eps_outside_sqrt",
         answers={"layer_norm": _LN + _LN_MEAN + "    std = x.std(dim=-1, keepdim=True, unbiased=False)\n"
                  "    return gamma * (x - mean) / (std + eps) + beta\n"},
         fails={"check_layer_norm": "added eps to the standard deviation"}),
    dict(name="ln_no_eps",
         answers={"layer_norm": _LN + _LN_MEAN + "    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)\n"
                  "    return gamma * (x - mean) / torch.sqrt(var) + beta\n"},
         fails={"check_layer_norm": "add eps inside the square root"}),
    # ---- Exercise 2: block_forward ----
    # ---- wrong only while gradients are recorded on float32 inputs (as in training), found by a helper attacking
    # the grader: the value checks (plain tensors) and gradient checks (float64) passed, 19/19 ----
    dict(name="ln_unbiased_only_while_training",
         answers={"layer_norm": _LN + _LN_MEAN
                  + "    training = torch.is_grad_enabled() and (x.requires_grad or gamma.requires_grad) "
                    "and x.dtype == torch.float32\n"
                    "    var = x.var(dim=-1, unbiased=training, keepdim=True)\n"
                    "    return gamma * (x - mean) / torch.sqrt(var + eps) + beta\n"},
         fails={"check_layer_norm": "as the model's activations are in training"}),
    dict(name="block_no_residual_only_while_training",
         answers={"block_forward": _BLOCK + _BLOCK_HEAD
                  + "    a = block.attn(h, h, h, mask=mask)[0]\n"
                    "    if torch.is_grad_enabled() and x.requires_grad and x.dtype == torch.float32:\n"
                    "        return block.ffn(block.ln2(a))\n"
                    "    x = x + a\n"
                    "    return x + block.ffn(block.ln2(x))\n"},
         fails={"check_block_values": "on a float32 x that needs gradients, as in training"}),
    dict(name="lm_loss_unshifted_only_while_training",
         answers={"lm_loss": _LOSS + "    V = logits.shape[-1]\n"
                  "    if logits.requires_grad and logits.dtype == torch.float32:\n"
                  "        return F.cross_entropy(logits.reshape(-1, V), tokens.reshape(-1))\n"
                  "    return F.cross_entropy(logits[:, :-1].reshape(-1, V), tokens[:, 1:].reshape(-1))\n"},
         fails={"check_lm_loss": "as the model's are in training"}),
    dict(name="ln_fails_only_on_float32_that_needs_gradients",   # crashes as training starts; runs in float64
         answers={"layer_norm": _LN + _LN_MEAN
                  + "    if x.requires_grad and x.dtype == torch.float32:\n"
                    "        raise RuntimeError('shape mismatch')\n"
                    "    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)\n"
                    "    return gamma * (x - mean) / torch.sqrt(var + eps) + beta\n"},
         fails={"check_layer_norm": "your layer_norm raised RuntimeError: shape mismatch; it runs in float64"}),
    dict(name="block_mask_sees_the_next_token",   # tril(diagonal=1): it was named 'the causal mask is missing'
         answers={"block_forward": _BLOCK
                  + "    n = x.shape[-2]\n"
                    "    mask = torch.tril(torch.ones(n, n, dtype=torch.bool, device=x.device), diagonal=1)\n"
                    "    h = block.ln1(x)\n"
                    "    x = x + block.attn(h, h, h, mask=mask)[0]\n"
                    "    return x + block.ffn(block.ln2(x))\n"},
         fails={"check_block_causal": "causal leak by one token", "check_block_values": ""}),
    dict(name="block_no_causal_mask",
         answers={"block_forward": _BLOCK + "    h = block.ln1(x)\n"
                  "    x = x + block.attn(h, h, h)[0]\n"
                  "    return x + block.ffn(block.ln2(x))\n"},
         fails={"check_block_causal": "the causal mask is missing"}),
    dict(name="block_inverted_mask",
         answers={"block_forward": _BLOCK + _BLOCK_HEAD +
                  "    x = x + block.attn(h, h, h, mask=~mask)[0]\n"
                  "    return x + block.ffn(block.ln2(x))\n"},
         fails={"check_block_causal": "not ~causal_mask(n)", "check_block_values": "not ~causal_mask(n)"}),
    dict(name="block_post_ln",
         answers={"block_forward": _BLOCK + "    mask = causal_mask(x.shape[-2])\n"
                  "    x = block.ln1(x + block.attn(x, x, x, mask=mask)[0])\n"
                  "    return block.ln2(x + block.ffn(x))\n"},
         fails={"check_block_values": "post-LN"}),
    dict(name="block_no_residuals",
         answers={"block_forward": _BLOCK + _BLOCK_HEAD +
                  "    x = block.attn(h, h, h, mask=mask)[0]\n"
                  "    return block.ffn(block.ln2(x))\n"},
         fails={"check_block_values": "forgot both residual connections"}),
    dict(name="block_residual_from_normalised_input",
         answers={"block_forward": _BLOCK + _BLOCK_HEAD +
                  "    x = h + block.attn(h, h, h, mask=mask)[0]\n"
                  "    h = block.ln2(x)\n"
                  "    return h + block.ffn(h)\n"},
         fails={"check_block_values": "residual stream carries x itself"}),
    dict(name="block_parallel_ffn",
         answers={"block_forward": _BLOCK + _BLOCK_HEAD +
                  "    return x + block.attn(h, h, h, mask=mask)[0] + block.ffn(block.ln2(x))\n"},
         fails={"check_block_values": "your FFN reads the block's input"}),
    dict(name="block_ln1_twice",
         answers={"block_forward": _BLOCK + _BLOCK_HEAD +
                  "    x = x + block.attn(h, h, h, mask=mask)[0]\n"
                  "    return x + block.ffn(block.ln1(x))\n"},
         fails={"check_block_values": "should read block.ln2(x)"}),
    # found by a helper attacking the grader: the values were compared at the last position only, so these got 16/16
    dict(name="block_last_query_only",   # "only the last position predicts, so only the last query attends"
         answers={"block_forward": _BLOCK + "    h = block.ln1(x)\n"
                  "    attn_last = block.attn(h[..., -1:, :], h, h)[0]\n"
                  "    x = torch.cat([x[..., :-1, :], x[..., -1:, :] + attn_last], dim=-2)\n"
                  "    return x + block.ffn(block.ln2(x))\n"},
         fails={"check_block_values": "your block is right at the last position only"}),
    dict(name="block_identity_but_the_last_position",
         answers={"block_forward": _BLOCK + _BLOCK_HEAD +
                  "    right = x + block.attn(h, h, h, mask=mask)[0]\n"
                  "    right = right + block.ffn(block.ln2(right))\n"
                  "    out = x.clone()\n"
                  "    out[..., -1, :] = right[..., -1, :]\n"
                  "    return out\n"},
         fails={"check_block_values": "your block is right at the last position only"}),
    # ---- Exercise 3: lm_loss ----
    dict(name="loss_targets_not_shifted",
         answers={"lm_loss": _LOSS + "    V = logits.shape[-1]\n"
                  "    return F.cross_entropy(logits.reshape(-1, V), tokens.reshape(-1))\n"},
         fails={"check_lm_loss": "targets not shifted"}),
    dict(name="loss_shifted_the_wrong_way",
         answers={"lm_loss": _LOSS + "    V = logits.shape[-1]\n"
                  "    return F.cross_entropy(logits[:, 1:].reshape(-1, V), tokens[:, :-1].reshape(-1))\n"},
         fails={"check_lm_loss": "shifted the wrong way"}),
    dict(name="loss_sum",
         answers={"lm_loss": _LOSS + "    V = logits.shape[-1]\n"
                  "    return F.cross_entropy(logits[:, :-1].reshape(-1, V), tokens[:, 1:].reshape(-1), reduction='sum')\n"},
         fails={"check_lm_loss": "SUM over the 10 predictions"}),
    dict(name="loss_softmax_first",
         answers={"lm_loss": _LOSS + "    V = logits.shape[-1]\n"
                  "    p = logits[:, :-1].softmax(dim=-1)\n"
                  "    return F.cross_entropy(p.reshape(-1, V), tokens[:, 1:].reshape(-1))\n"},
         fails={"check_lm_loss": "softmax before F.cross_entropy"}),
    dict(name="loss_returns_a_float",
         answers={"lm_loss": _LOSS + "    V = logits.shape[-1]\n"
                  "    return F.cross_entropy(logits[:, :-1].reshape(-1, V), tokens[:, 1:].reshape(-1)).item()\n"},
         fails={"check_lm_loss": "0-dimensional torch tensor"}),
    # ---- Exercise 4: sample_next ----
    dict(name="sample_multiplies_by_temperature",
         answers={"sample_next": _SAMPLE + _SAMPLE_GREEDY +
                  "    probs = torch.softmax(logits * temperature, dim=-1)\n" + _SAMPLE_TAIL},
         fails={"check_sample_next": "multiplied the logits by the temperature"}),
    dict(name="sample_ignores_temperature",
         answers={"sample_next": _SAMPLE + _SAMPLE_GREEDY +
                  "    probs = torch.softmax(logits, dim=-1)\n" + _SAMPLE_TAIL},
         fails={"check_sample_next": "ignores the temperature"}),
    dict(name="sample_always_greedy",
         answers={"sample_next": _SAMPLE + "    return logits.argmax(dim=-1)\n"},
         fails={"check_sample_next": "always pick the most likely token"}),
    dict(name="sample_greedy_argmax_flattens",
         answers={"sample_next": _SAMPLE + "    if temperature == 0:\n        return logits.argmax()\n"
                  "    probs = torch.softmax(logits / temperature, dim=-1)\n" + _SAMPLE_TAIL},
         fails={"check_sample_next": "argmax without dim= flattens"}),
    # ---- Exercise 5: cached_attention ----
    dict(name="kv_cache_reappends",
         answers={"cached_attention": _KV + _KV_APPEND + _KV_ATTEND +
                  "    if cache is not None:\n"
                  "        K, V = torch.cat([cache[0], K], dim=-2), torch.cat([cache[1], V], dim=-2)\n"
                  "    return w @ V_all, (K, V)\n"},
         fails={"check_kv_cache": "appended the new key twice", "check_kv_cache_gqa": "appended the new key twice"}),
    dict(name="kv_cache_newest_first",
         answers={"cached_attention": _KV +
                  "    if cache is None:\n        K, V = k_new, v_new\n"
                  "    else:\n        K = torch.cat([k_new, cache[0]], dim=-2)\n        V = torch.cat([v_new, cache[1]], dim=-2)\n"
                  + _KV_ATTEND + "    return w @ V_all, (K, V)\n"},
         fails={"check_kv_cache": "newest key first", "check_kv_cache_gqa": "newest key first"}),
    dict(name="kv_cache_unscaled",
         answers={"cached_attention": _KV + _KV_APPEND +
                  "    r = q.shape[-3] // K.shape[-3]\n"
                  "    K_all, V_all = repeat_kv(K, r), repeat_kv(V, r)\n"
                  "    w = (q @ K_all.transpose(-1, -2)).softmax(dim=-1)\n"
                  "    return w @ V_all, (K, V)\n"},
         fails={"check_kv_cache": "not divided by sqrt(d_k)", "check_kv_cache_gqa": "not divided by sqrt(d_k)"}),
    # pitfall 2: divides by sqrt(num_heads * d_k) = sqrt(d_model)
    dict(name="kv_cache_sqrt_d_model",
         answers={"cached_attention": _KV + _KV_APPEND +
                  "    r = q.shape[-3] // K.shape[-3]\n"
                  "    K_all, V_all = repeat_kv(K, r), repeat_kv(V, r)\n"
                  "    d_model = q.shape[-3] * q.shape[-1]\n"
                  "    w = (q @ K_all.transpose(-1, -2) / math.sqrt(d_model)).softmax(-1)\n"
                  "    return w @ V_all, (K, V)\n"},
         fails={"check_kv_cache": "you scaled by sqrt(d_model)", "check_kv_cache_gqa": "you scaled by sqrt(d_model)"}),
    # divides by the square root of the number of cached keys
    dict(name="kv_cache_sqrt_n",
         answers={"cached_attention": _KV + _KV_APPEND +
                  "    r = q.shape[-3] // K.shape[-3]\n"
                  "    K_all, V_all = repeat_kv(K, r), repeat_kv(V, r)\n"
                  "    w = (q @ K_all.transpose(-1, -2) / math.sqrt(K_all.shape[-2])).softmax(-1)\n"
                  "    return w @ V_all, (K, V)\n"},
         fails={"check_kv_cache": "you scaled by sqrt(n)", "check_kv_cache_gqa": "you scaled by sqrt(n)"}),
    dict(name="kv_cache_tiled_heads",
         answers={"cached_attention": _KV + _KV_APPEND +
                  "    r = q.shape[-3] // K.shape[-3]\n"
                  "    reps = (1,) * (K.dim() - 3) + (r, 1, 1)\n"
                  "    K_all, V_all = K.repeat(*reps), V.repeat(*reps)\n"
                  "    w = (q @ K_all.transpose(-1, -2) / math.sqrt(q.shape[-1])).softmax(dim=-1)\n"
                  "    return w @ V_all, (K, V)\n"},
         fails={"check_kv_cache_gqa": "tiled"}),
    # found by a helper attacking the grader: axes counted from the front, right for (batch, h, 1, d_k) only (16/16)
    dict(name="kv_cache_axes_from_the_front",
         answers={"cached_attention": _KV +
                  "    if cache is None:\n        K, V = k_new, v_new\n"
                  "    else:\n        K, V = torch.cat([cache[0], k_new], 2), torch.cat([cache[1], v_new], 2)\n"
                  "    r = q.shape[1] // K.shape[1]\n"
                  "    Ka, Va = K.repeat_interleave(r, dim=1), V.repeat_interleave(r, dim=1)\n"
                  "    w = (q @ Ka.transpose(2, 3) / math.sqrt(q.shape[3])).softmax(3)\n"
                  "    return w @ Va, (K, V)\n"},
         fails={"check_kv_cache": "Your code may assume a batch axis: count the axes from the end"}),
    dict(name="kv_cache_no_repeat",
         answers={"cached_attention": _KV + _KV_APPEND +
                  "    w = (q @ K.transpose(-1, -2) / math.sqrt(q.shape[-1])).softmax(dim=-1)\n"
                  "    return w @ V, (K, V)\n"},
         fails={"check_kv_cache_gqa": "repeat the cached K and V with repeat_kv"}),
    dict(name="kv_cache_stores_repeated_heads",
         answers={"cached_attention": _KV +
                  "    r = q.shape[-3] // k_new.shape[-3]\n"
                  "    k_new, v_new = repeat_kv(k_new, r), repeat_kv(v_new, r)\n" + _KV_APPEND +
                  "    w = (q @ K.transpose(-1, -2) / math.sqrt(q.shape[-1])).softmax(dim=-1)\n"
                  "    return w @ V, (K, V)\n"},
         fails={"check_kv_cache_gqa": "keep only the key/value heads in the cache"}),
    # ---- Exercise 6: count_parameters ----
    dict(name="count_no_biases",
         answers={"count_parameters": _COUNT + _COUNT_PARTS.replace(" + d_ff + d_model\n", "\n")
                  .replace(" + vocab_size\n", "\n") +
                  "    return emb + num_layers * (attn + norms + ffn) + head\n"},
         fails={"check_count_parameters": "left out the biases"}),
    dict(name="count_no_layernorms",
         answers={"count_parameters": _COUNT + _COUNT_PARTS +
                  "    return emb + num_layers * (attn + ffn) + head - 2 * d_model\n"},
         fails={"check_count_parameters": "LayerNorms' gamma and beta"}),
    dict(name="count_kv_with_num_heads",
         answers={"count_parameters": _COUNT + _COUNT_PARTS.replace("2 * d_model * g * d_k", "2 * d_model * d_model") +
                  "    return emb + num_layers * (attn + norms + ffn) + head\n"},
         fails={"check_count_parameters": "you used num_heads for them"}),
    dict(name="count_no_position_embeddings",
         answers={"count_parameters": _COUNT + _COUNT_PARTS.replace(" + context * d_model", "") +
                  "    return emb + num_layers * (attn + norms + ffn) + head\n"},
         fails={"check_count_parameters": "position embeddings"}),
    dict(name="count_one_block",
         answers={"count_parameters": _COUNT + _COUNT_PARTS +
                  "    return emb + attn + norms + ffn + head\n"},
         fails={"check_count_parameters": "multiply the per-block parameters by num_layers"}),
    # found by a helper attacking the grader: the exercise says not to build the model; every check built one too
    dict(name="count_builds_the_model",
         answers={"count_parameters": _COUNT +
                  "    model = CharLM(vocab_size, context, d_model, num_heads, num_layers, d_ff, num_kv_heads)\n"
                  "    return sum(p.numel() for p in model.parameters())\n"},
         fails={"check_count_parameters": "without building the model"}),
    # found by a helper attacking notebook 08: the first three kept 19/19 (no u on a boundary, no cumulative sum that
    # ends below u, no GQA case without a batch axis)
    dict(name="sample_greater_or_equal",
         answers={"sample_next": _SAMPLE + _SAMPLE_GREEDY + "    cdf = (logits / temperature).softmax(dim=-1).cumsum(dim=-1)\n"
                  "    return torch.searchsorted(cdf, u[..., None].to(cdf.dtype), right=False)[..., 0]"
                  ".clamp(max=logits.shape[-1] - 1)\n"},
         fails={"check_sample_next": "GREATER than u"}),
    dict(name="sample_without_clamp",
         answers={"sample_next": _SAMPLE + _SAMPLE_GREEDY + "    cdf = (logits / temperature).softmax(dim=-1).cumsum(dim=-1)\n"
                  "    return torch.searchsorted(cdf, u[..., None].to(cdf.dtype), right=True)[..., 0]\n"},
         fails={"check_sample_next": "clamp(max=V - 1)"}),
    dict(name="kv_cache_repeats_axis_1",
         answers={"cached_attention": _KV + _KV_APPEND
                  + "    r = q.shape[-3] // K.shape[-3]\n"
                    "    Kr, Vr = K.repeat_interleave(r, dim=1), V.repeat_interleave(r, dim=1)\n"
                    "    weights = (q @ Kr.transpose(-1, -2) / math.sqrt(q.shape[-1])).softmax(dim=-1)\n"
                    "    return weights @ Vr, (K, V)\n"},
         fails={"check_kv_cache_gqa": "no batch axis"}),
    # found by a helper attacking notebook 08: right scores, but a message from the checker's own comparison
    # ("Double did not match Float") and "the causal mask is missing" for an input changed in place
    dict(name="layer_norm_in_float64",
         answers={"layer_norm": _LN + "    x = x.double()\n    mean = x.mean(dim=-1, keepdim=True)\n"
                  "    var = x.var(dim=-1, keepdim=True, unbiased=False)\n"
                  "    return gamma * (x - mean) / torch.sqrt(var + eps) + beta\n"},
         fails={"check_layer_norm": "keep x's dtype"}),
    dict(name="block_adds_into_the_callers_x",
         answers={"block_forward": _BLOCK + "    n = x.shape[-2]\n    h = block.ln1(x)\n"
                  "    x += block.attn(h, h, h, mask=causal_mask(n, device=x.device))[0]\n"
                  "    x += block.ffn(block.ln2(x))\n    return x\n"},
         fails={"check_block_causal": "changed its input x in place", "check_block_values": ""}),
    dict(name="layer_norm_eps_default_1e-12",   # found by a helper: named "use sqrt(var + eps)", which it does
         answers={"layer_norm": "def layer_norm(x, gamma, beta, eps=1e-12):\n    mean = x.mean(dim=-1, keepdim=True)\n"
                  "    var = x.var(dim=-1, keepdim=True, unbiased=False)\n"
                  "    return gamma * (x - mean) / torch.sqrt(var + eps) + beta\n"},
         fails={"check_layer_norm": "uses eps = 1e-12"}),
    dict(name="block_n_from_axis_1",   # found by a helper: a bare RuntimeError about tensor sizes
         answers={"block_forward": _BLOCK + "    n = x.shape[1]\n    h = block.ln1(x)\n"
                  "    x = x + block.attn(h, h, h, mask=causal_mask(n, device=x.device))[0]\n"
                  "    return x + block.ffn(block.ln2(x))\n"},
         fails={"check_block_causal": "n = x.shape[-2]"}),
    # ---- found by a helper attacking the grader (3rd round): full or nearly full marks for wrong code ----
    dict(name="block_mask_left_out_when_x_needs_gradients",   # 18/19: only the gradient check failed, blaming autograd
         answers={"block_forward": _BLOCK
                  + "    mask = None if x.requires_grad else causal_mask(x.shape[-2], device=x.device)\n"
                  "    h = block.ln1(x)\n    x = x + block.attn(h, h, h, mask=mask)[0]\n"
                  "    return x + block.ffn(block.ln2(x))\n"},
         fails={"check_block_causal": "causal leak on a float32 x that needs gradients"}),
    dict(name="kv_cache_kept_in_a_global",   # 19/19: it ignored the cache it was given
         answers={"cached_attention": "_STATE = {}\n" + _KV
                  + "    if cache is None:\n        _STATE['K'], _STATE['V'] = k_new, v_new\n"
                  "    else:\n        _STATE['K'] = torch.cat([_STATE['K'], k_new], dim=-2)\n"
                  "        _STATE['V'] = torch.cat([_STATE['V'], v_new], dim=-2)\n"
                  "    K, V = _STATE['K'], _STATE['V']\n" + _KV_ATTEND + "    return w @ V_all, (K, V)\n"},
         fails={"check_kv_cache": "decoding two sequences in turn"}),
    # a slip named by the gap it leaves on one model only: W_O forgotten left context * d_model = 64 there
    dict(name="count_without_W_O",
         answers={"count_parameters": _COUNT + _COUNT_PARTS.replace("2 * d_model * d_model", "d_model * d_model")
                  + "    return emb + num_layers * (attn + norms + ffn) + head\n"},
         fails={"check_count_parameters": "should be 818, got 754"}),
    dict(name="count_layer_norms_gamma_only_in_blocks",   # 2 * d_model = 16 there: "the final LayerNorm's"
         answers={"count_parameters": _COUNT + _COUNT_PARTS.replace("norms = 4 * d_model", "norms = 2 * d_model")
                  + "    return emb + num_layers * (attn + norms + ffn) + head\n"},
         fails={"check_count_parameters": "should be 818, got 802"}),
    # found by a helper attacking this stop's own checks
    dict(name="count_parameters_as_int32",   # was told not to build the model
         answers={"count_parameters": _COUNT + _COUNT_PARTS
                  + "    return np.int32(emb + num_layers * (attn + norms + ffn) + head)\n"},
         fails={"check_count_parameters": "more than a 32-bit integer holds"}),
    # ---- from a helper's attack (2026-12-05): right only at the sizes the checks used to try ----
    dict(name="layer_norm_unbiased_when_wide",
         answers={"layer_norm": _LN + _LN_MEAN
                  + "    var = x.var(dim=-1, unbiased=x.shape[-1] > 16, keepdim=True)\n"
                  "    return gamma * (x - mean) / torch.sqrt(var + eps) + beta\n"},
         fails={"check_layer_norm": "with d_model = 64"}),
    dict(name="block_post_ln_when_wide",
         answers={"block_forward": _BLOCK + "    m = causal_mask(x.shape[-2], device=x.device)\n"
                  "    if x.shape[-1] > 16:\n"
                  "        x = block.ln1(x + block.attn(x, x, x, mask=m)[0])\n"
                  "        return block.ln2(x + block.ffn(x))\n"
                  "    h = block.ln1(x)\n    x = x + block.attn(h, h, h, mask=m)[0]\n"
                  "    return x + block.ffn(block.ln2(x))\n"},
         fails={"check_block_values": "d_model=64"}),
    dict(name="loss_not_shifted_for_training_batches",
         answers={"lm_loss": _LOSS + "    V = logits.shape[-1]\n"
                  "    if logits.requires_grad and logits.shape[0] > 2:\n"
                  "        return F.cross_entropy(logits.reshape(-1, V), tokens.reshape(-1))\n"
                  "    return F.cross_entropy(logits[:, :-1].reshape(-1, V), tokens[:, 1:].reshape(-1))\n"},
         fails={"check_lm_loss": "batch of 8"}),
    dict(name="loss_with_an_unstable_softmax",   # plain wrong code: exp(logits) / sum overflows above 88
         answers={"lm_loss": _LOSS + "    V = logits.shape[-1]\n"
                  "    p = torch.exp(logits) / torch.exp(logits).sum(-1, keepdim=True)\n"
                  "    lp = torch.log(p[:, :-1]).reshape(-1, V)\n"
                  "    return -lp.gather(1, tokens[:, 1:].reshape(-1, 1)).mean()\n"},
         fails={"check_lm_loss": "exp(logits) overflows"}),
    dict(name="cache_keeps_the_last_8_tokens",
         answers={"cached_attention": _KV + _KV_APPEND + "    K, V = K[..., -8:, :], V[..., -8:, :]\n" + _KV_ATTEND
                  + "    return w @ V_all, (K, V)\n"},
         fails={"check_kv_cache": "after 9 steps the cached K and V should have shape"}),
    dict(name="cache_scales_by_sqrt_d_model_when_wide",
         answers={"cached_attention": _KV + _KV_APPEND + _KV_ATTEND.replace(
             "math.sqrt(q.shape[-1])", "math.sqrt(q.shape[-1] * (q.shape[-3] if q.shape[-1] >= 16 else 1))")
                  + "    return w @ V_all, (K, V)\n"},
         fails={"check_kv_cache": "d_k = 16"}),
    # found by a helper: mistakes that switch on only past the sizes, modes or kinds of attention the checks tried
    dict(name="block_mask_only_up_to_10_tokens",
         answers={"block_forward": _BLOCK + "    h = block.ln1(x)\n"
                  "    x = x + block.attn(h, h, h, mask=causal_mask(x.shape[-2], device=x.device) if x.shape[-2] <= 10 else None)[0]\n"
                  "    return x + block.ffn(block.ln2(x))\n"},
         fails={"check_block_causal": "causal leak in a block of d_model = 64"}),
    dict(name="block_mask_only_in_training",
         answers={"block_forward": _BLOCK + "    h = block.ln1(x)\n"
                  "    x = x + block.attn(h, h, h, mask=causal_mask(x.shape[-2], device=x.device) if block.training else None)[0]\n"
                  "    return x + block.ffn(block.ln2(x))\n"},
         fails={"check_block_causal": "causal leak in a block of d_model = 64"}),
    dict(name="block_no_mask_with_gqa",
         answers={"block_forward": _BLOCK + "    h = block.ln1(x)\n"
                  "    x = x + block.attn(h, h, h, mask=None if isinstance(block.attn, GroupedQueryAttention) else causal_mask(x.shape[-2], device=x.device))[0]\n"
                  "    return x + block.ffn(block.ln2(x))\n"},
         fails={"check_block_causal": "causal leak in a block of d_model = 64"}),
    dict(name="block_mask_one_too_wide_past_16",
         answers={"block_forward": _BLOCK + "    h = block.ln1(x)\n"
                  "    x = x + block.attn(h, h, h, mask=torch.tril(torch.ones(x.shape[-2], x.shape[-2], dtype=torch.bool, device=x.device), diagonal=int(x.shape[-2] > 16)))[0]\n"
                  "    return x + block.ffn(block.ln2(x))\n"},
         fails={"check_block_causal": "causal leak in a block of d_model = 64"}),
    dict(name="sample_ignores_t_past_8_tokens",
         answers={"sample_next": _SAMPLE + _SAMPLE_GREEDY + '    temperature = 1.0 if logits.shape[-1] > 8 else temperature\n'
                   "    probs = torch.softmax(logits / temperature, dim=-1)\n" + _SAMPLE_TAIL},
         fails={"check_sample_next": "a vocabulary of 96"}),
    dict(name="sample_greedy_below_t_half",
         answers={"sample_next": _SAMPLE + _SAMPLE_GREEDY + '    if temperature < 0.5:\n        return logits.argmax(dim=-1)\n'
                   "    probs = torch.softmax(logits / temperature, dim=-1)\n" + _SAMPLE_TAIL},
         fails={"check_sample_next": "a vocabulary of 96"}),
    dict(name="sample_inverts_t_above_2",
         answers={"sample_next": _SAMPLE + _SAMPLE_GREEDY + '    temperature = 1 / temperature if temperature > 2 else temperature\n'
                   "    probs = torch.softmax(logits / temperature, dim=-1)\n" + _SAMPLE_TAIL},
         fails={"check_sample_next": "a vocabulary of 96"}),
    dict(name="sample_one_u_for_3d_logits",
         answers={"sample_next": _SAMPLE + _SAMPLE_GREEDY + '    u = u.reshape(-1)[0].expand(logits.shape[:-1]) if logits.dim() >= 3 else u\n'
                   "    probs = torch.softmax(logits / temperature, dim=-1)\n" + _SAMPLE_TAIL},
         fails={"check_sample_next": "a vocabulary of 96"}),
    dict(name="kv_cache_keeps_the_last_32",
         answers={"cached_attention": _KV + _KV_APPEND + "    K, V = K[..., -32:, :], V[..., -32:, :]\n" + _KV_ATTEND
                                       + "    return w @ V_all, (K, V)\n"},
         fails={"check_kv_cache": "the new key appended along axis -2"}),
    dict(name="kv_cache_scales_by_sqrt_h_d_k_for_wide_heads",
         answers={"cached_attention": _KV + _KV_APPEND + _KV_ATTEND.replace("math.sqrt(q.shape[-1])", "math.sqrt(q.shape[-1] * (q.shape[-3] if q.shape[-1] >= 32 else 1))")
                                       + "    return w @ V_all, (K, V)\n"},
         fails={"check_kv_cache": "your cache differs from causal attention"}),
    dict(name="layer_norm_detaches_its_statistics_past_16",   # found by a helper: the gradients were tried at d = 8
         answers={"layer_norm": _LN + _LN_MEAN
                  + "    var = x.var(dim=-1, unbiased=False, keepdim=True)\n"
                  "    if x.shape[-1] > 16:\n"
                  "        mean, var = mean.detach(), var.detach()\n"
                  "    return gamma * (x - mean) / torch.sqrt(var + eps) + beta\n"},
         fails={"check_layer_norm_gradients": "with d_model = 64"}),
]

CORRECT = [
    # the count summed from np.prod of each weight's shape is a numpy integer (used to cost 2 points)
    dict(name="count_parameters_from_numpy_shapes",
         answers={"count_parameters": _COUNT
                  + "    g = num_heads if num_kv_heads is None else num_kv_heads\n"
                    "    d_k = d_model // num_heads\n"
                    "    shapes = [(vocab_size, d_model), (context, d_model)]\n"
                    "    for _ in range(num_layers):\n"
                    "        shapes += [(d_model, d_model), (d_model, g * d_k), (d_model, g * d_k), (d_model, d_model),\n"
                    "                   (d_model,), (d_model,), (d_model,), (d_model,),\n"
                    "                   (d_model, d_ff), (d_ff,), (d_ff, d_model), (d_model,)]\n"
                    "    shapes += [(d_model,), (d_model,), (d_model, vocab_size), (vocab_size,)]\n"
                    "    return sum(np.prod(s) for s in shapes)\n"}),
    dict(name="kv_cache_as_a_namedtuple",   # found by a helper: the cache arrived as a Remote (16/19)
         answers={"cached_attention": "from collections import namedtuple\n"
                  "KVCache = namedtuple('KVCache', ['K', 'V'])\n\n" + _KV
                  + "    if cache is None:\n        cache = KVCache(k_new, v_new)\n"
                    "    else:   # a tuple (K, V), as the exercise says: unpacked, not read by name\n"
                    "        K_old, V_old = cache\n"
                    "        cache = KVCache(torch.cat([K_old, k_new], dim=-2), torch.cat([V_old, v_new], dim=-2))\n"
                    "    r = q.shape[-3] // cache.K.shape[-3]\n"
                    "    K, V = repeat_kv(cache.K, r), repeat_kv(cache.V, r)\n"
                    "    weights = (q @ K.transpose(-1, -2) / math.sqrt(q.shape[-1])).softmax(dim=-1)\n"
                    "    return weights @ V, cache\n"}),
    dict(name="kv_cache_namedtuple_read_by_name",   # the cache a check passes back is the learner's namedtuple again
         answers={"cached_attention": "from collections import namedtuple\n"
                  "KVCache = namedtuple('KVCache', ['K', 'V'])\n\n" + _KV
                  + "    if cache is None:\n        cache = KVCache(k_new, v_new)\n"
                    "    else:\n"
                    "        cache = KVCache(torch.cat([cache.K, k_new], dim=-2), torch.cat([cache.V, v_new], dim=-2))\n"
                    "    r = q.shape[-3] // cache.K.shape[-3]\n"
                    "    K, V = repeat_kv(cache.K, r), repeat_kv(cache.V, r)\n"
                    "    weights = (q @ K.transpose(-1, -2) / math.sqrt(q.shape[-1])).softmax(dim=-1)\n"
                    "    return weights @ V, cache\n"}),
    dict(name="block_residual_added_in_place",   # x += ... on the block's own new tensor
         answers={"block_forward": _BLOCK + "    mask = causal_mask(x.shape[-2], device=x.device)\n"
                  "    h = block.ln1(x)\n"
                  "    x = x + block.attn(h, h, h, mask=mask)[0]\n"
                  "    x += block.ffn(block.ln2(x))\n"
                  "    return x\n"}),
    dict(name="loss_in_float32_cast_back",
         answers={"lm_loss": _LOSS + "    V = logits.shape[-1]\n"
                  "    loss = F.cross_entropy(logits[:, :-1].reshape(-1, V).float(), tokens[:, 1:].reshape(-1))\n"
                  "    return loss.to(logits.dtype)\n"}),
    dict(name="block_with_gradient_checkpointing",   # recomputes the block in backward: the same gradients
         answers={"block_forward": "import torch.utils.checkpoint as cp\n\n" + _BLOCK
                  + "    def inner(x):\n"
                  "        mask = causal_mask(x.shape[-2], device=x.device)\n        h = block.ln1(x)\n"
                  "        x = x + block.attn(h, h, h, mask=mask)[0]\n"
                  "        return x + block.ffn(block.ln2(x))\n"
                  "    if torch.is_grad_enabled() and x.requires_grad:\n"
                  "        return cp.checkpoint(inner, x, use_reentrant=True)\n"
                  "    return inner(x)\n"}),
    dict(name="ln_var_mean_rsqrt",
         answers={"layer_norm": _LN + "    var, mean = torch.var_mean(x, dim=-1, keepdim=True, unbiased=False)\n"
                  "    return (x - mean) * torch.rsqrt(var + eps) * gamma + beta\n"}),
    dict(name="block_own_tril_mask",
         answers={"block_forward": _BLOCK + "    n = x.shape[-2]\n"
                  "    allowed = torch.ones(n, n).tril().bool()\n"
                  "    a, _ = block.attn(block.ln1(x), block.ln1(x), block.ln1(x), allowed)\n"
                  "    y = x + a\n"
                  "    f = block.ffn(block.ln2(y))\n"
                  "    return y + f\n"}),
    dict(name="block_loop_over_positions",   # query t attends to keys 0..t: the causal mask without a mask
         answers={"block_forward": _BLOCK + "    h = block.ln1(x)\n"
                  "    rows = [block.attn(h[..., t:t + 1, :], h[..., :t + 1, :], h[..., :t + 1, :])[0]\n"
                  "            for t in range(x.shape[-2])]\n"
                  "    x = x + torch.cat(rows, dim=-2)\n"
                  "    return x + block.ffn(block.ln2(x))\n"}),
    dict(name="loss_log_softmax_gather",
         answers={"lm_loss": _LOSS + "    logp = logits[:, :-1].log_softmax(dim=-1)\n"
                  "    picked = logp.gather(-1, tokens[:, 1:, None]).squeeze(-1)\n"
                  "    return -picked.mean()\n"}),
    dict(name="sample_count_below_u",
         answers={"sample_next": _SAMPLE +
                  "    if temperature == 0:\n        return torch.argmax(logits, dim=-1)\n"
                  "    cdf = torch.cumsum(F.softmax(logits / temperature, dim=-1), dim=-1)\n"
                  "    below = (cdf <= torch.as_tensor(u)[..., None]).sum(dim=-1)\n"
                  "    return below.clamp(max=logits.shape[-1] - 1).long()\n"}),
    dict(name="kv_cache_grouped_einsum",
         answers={"cached_attention": _KV + _KV_APPEND +
                  "    *batch, h, one, d_k = q.shape\n"
                  "    g = K.shape[-3]\n"
                  "    qg = q.reshape(*batch, g, h // g, one, d_k)\n"
                  "    s = torch.einsum('...grqd,...gkd->...grqk', qg, K) / d_k ** 0.5\n"
                  "    o = torch.einsum('...grqk,...gkd->...grqd', s.softmax(-1), V)\n"
                  "    return o.reshape(*batch, h, one, d_k), (K, V)\n"}),
    dict(name="kv_cache_sdpa_after_repeat",
         answers={"cached_attention": _KV + _KV_APPEND +
                  "    r = q.shape[-3] // K.shape[-3]\n"
                  "    K_all, V_all = repeat_kv(K, r), repeat_kv(V, r)\n"
                  "    return F.scaled_dot_product_attention(q, K_all, V_all), (K, V)\n"}),
    dict(name="lm_loss_k_dim_cross_entropy",
         answers={"lm_loss": _LOSS + "    return F.cross_entropy(logits[:, :-1].transpose(1, 2), tokens[:, 1:])\n"}),
    dict(name="sample_count_cdf_le_u",
         answers={"sample_next": _SAMPLE +
                  "    if temperature == 0:\n"
                  "        return logits.argmax(-1)\n"
                  "    cdf = torch.softmax(logits / temperature, -1).cumsum(-1)\n"
                  "    u = torch.as_tensor(u, dtype=cdf.dtype)\n"
                  "    return (cdf <= u[..., None]).sum(-1).clamp(max=logits.shape[-1] - 1)\n"}),
    dict(name="count_by_shapes",
         answers={"count_parameters": _COUNT +
                  "    g = num_kv_heads or num_heads\n"
                  "    d_k = head_dim(d_model, num_heads)\n"
                  "    shapes = [(vocab_size, d_model), (context, d_model)]\n"
                  "    for _ in range(num_layers):\n"
                  "        shapes += [(d_model, d_model)] * 2 + [(d_model, g * d_k)] * 2 + [(d_model,)] * 4\n"
                  "        shapes += [(d_ff, d_model), (d_ff,), (d_model, d_ff), (d_model,)]\n"
                  "    shapes += [(d_model,), (d_model,), (vocab_size, d_model), (vocab_size,)]\n"
                  "    return int(sum(math.prod(s) for s in shapes))\n"}),
]
