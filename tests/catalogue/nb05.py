"""Wrong answers and correct variants for 05_gpu_speed (see tests/test_catalogue.py)."""
NOTEBOOK = "05_gpu_speed.ipynb"

_SDPA = "def sdpa_mha(mha, query, key, value, mask=None):\n"
_SPLIT = ("    Q = mha.split(query @ mha.W_Q)\n"
          "    K = mha.split(key @ mha.W_K)\n"
          "    V = mha.split(value @ mha.W_V)\n")


def _sdpa(mask="mask.unsqueeze(-3)", call="F.scaled_dot_product_attention(Q, K, V, attn_mask=mask)",
          ret="heads.transpose(-3, -2).flatten(-2) @ mha.W_O"):
    return (_SDPA + _SPLIT
            + "    if mask is not None:\n"
            f"        mask = {mask}\n"
            f"    heads = {call}\n"
            f"    return {ret}\n")


_FLOPS = "def mha_flops(batch, n, d_model, num_heads):\n"
_BYTES = "def scores_bytes(batch, num_heads, n, bytes_per_element=4):\n"
_TIME = "def time_fn(fn, sync, warmup=2, repeat=5, clock=time.perf_counter):\n"


def _time(body):
    return _TIME + body


_TIME_OK_LOOP = ("    for _ in range(warmup):\n"
                 "        fn()\n"
                 "    out = []\n"
                 "    for _ in range(repeat):\n"
                 "{before}"
                 "        start = {clock}\n"
                 "        fn()\n"
                 "{after}"
                 "        out.append({clock} - start)\n"
                 "    return np.array(out)\n")


def _time_loop(before="        sync()\n", after="        sync()\n", clock="clock()", warm=True):
    body = _TIME_OK_LOOP.format(before=before, after=after, clock=clock)
    if not warm:
        body = body.replace("    for _ in range(warmup):\n        fn()\n", "")
    return _time(body)


WRONG = [
    # ---- sdpa_mha ----
    dict(name="sdpa_no_transpose",
         answers={"sdpa_mha": _sdpa(ret="heads.reshape(*heads.shape[:-3], heads.shape[-2], -1) @ mha.W_O")},
         fails={"check_sdpa_mha": "mixes heads and tokens"}),
    dict(name="sdpa_no_output_projection",
         answers={"sdpa_mha": _sdpa(ret="heads.transpose(-3, -2).flatten(-2)")},
         fails={"check_sdpa_mha": "without the output projection"}),
    dict(name="sdpa_scale_sqrt_d_model",
         answers={"sdpa_mha": _sdpa(call="F.scaled_dot_product_attention(Q, K, V, attn_mask=mask, "
                                         "scale=1 / math.sqrt(query.shape[-1]))")},
         fails={"check_sdpa_mha": "1/sqrt(d_model)"}),
    dict(name="sdpa_one_big_head",
         answers={"sdpa_mha": _SDPA
                  + "    heads = F.scaled_dot_product_attention(query @ mha.W_Q, key @ mha.W_K, value @ mha.W_V,\n"
                    "                                           attn_mask=mask)\n"
                    "    return heads @ mha.W_O\n"},
         fails={"check_sdpa_mha": "one single head"}),
    dict(name="sdpa_summed_heads",
         answers={"sdpa_mha": _sdpa(ret="heads.sum(dim=-3)")},
         fails={"check_sdpa_mha": "summed, not concatenated"}),
    dict(name="sdpa_mask_without_head_axis",
         answers={"sdpa_mha": _sdpa(mask="mask")},
         fails={"check_sdpa_mha": "unsqueeze(-3)"}),
    dict(name="sdpa_any_mask_as_causal",   # is_causal=True in place of the mask it is given
         answers={"sdpa_mha": _sdpa(call="F.scaled_dot_product_attention(Q, K, V, is_causal=mask is not None)")},
         fails={"check_sdpa_mha": "treats the mask as causal"}),
    dict(name="sdpa_square_2d_mask_as_causal",   # found by attacking the grader: only the square (n, n) mask
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    if mask is not None and mask.dim() == 2 and mask.shape[-1] == mask.shape[-2]:\n"
                    "        heads = F.scaled_dot_product_attention(Q, K, V, is_causal=True)\n"
                    "    else:\n"
                    "        heads = F.scaled_dot_product_attention(\n"
                    "            Q, K, V, attn_mask=None if mask is None else mask.unsqueeze(-3))\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"},
         fails={"check_sdpa_mha": "treats the mask as causal"}),
    dict(name="sdpa_head_axis_counted_from_the_left",   # found by attacking the grader: named 'use negative axes'
         answers={"sdpa_mha": _sdpa(mask="mask.unsqueeze(1)")},
         fails={"check_sdpa_mha": "not unsqueeze(1)"}),   # a crash on the mask is charged once, there
    dict(name="sdpa_mask_by_hand_crashes_when_watched",   # computes masked attention itself, and hides it by crashing
         answers={"sdpa_mha": _SDPA + _SPLIT                # while a TorchFunctionMode (the fused check's spy) is on
                  + "    if mask is not None:\n"
                    "        if torch._C._is_torch_function_mode_enabled():\n"
                    "            raise RuntimeError('shape mismatch')\n"
                    "        scores = Q @ K.transpose(-1, -2) / math.sqrt(mha.d_k)\n"
                    "        scores = scores.masked_fill(~mask.unsqueeze(-3), float('-inf'))\n"
                    "        return (scores.softmax(dim=-1) @ V).transpose(-3, -2).flatten(-2) @ mha.W_O\n"
                    "    heads = F.scaled_dot_product_attention(Q, K, V)\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"},
         fails={"check_sdpa_mha_fused": "while this check watched its SDPA calls"}),
    dict(name="sdpa_keys_and_values_swapped",
         answers={"sdpa_mha": _sdpa(call="F.scaled_dot_product_attention(Q, V, K, attn_mask=mask)")},
         fails={"check_sdpa_mha": "keys and values are swapped"}),
    dict(name="sdpa_mask_inverted",
         answers={"sdpa_mha": _sdpa(mask="~mask.unsqueeze(-3)")},
         fails={"check_sdpa_mha": "inverted"}),
    dict(name="sdpa_mask_ignored",
         answers={"sdpa_mha": _sdpa(call="F.scaled_dot_product_attention(Q, K, V)")},
         fails={"check_sdpa_mha": "no effect"}),
    dict(name="sdpa_by_hand_no_fused_kernel",     # right numbers, but the n x n weights are stored
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    scores = Q @ K.transpose(-1, -2) / math.sqrt(mha.d_k)\n"
                    "    if mask is not None:\n"
                    "        scores = scores.masked_fill(~mask.unsqueeze(-3), float('-inf'))\n"
                    "    heads = scores.softmax(dim=-1) @ V\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"},
         fails={"check_sdpa_mha_fused": "never calls F.scaled_dot_product_attention"}),
    # a throw-away SDPA call on one query and one key satisfies a call counter; the attention is done by hand
    dict(name="sdpa_decoy_call_on_a_slice_attention_by_hand",
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    F.scaled_dot_product_attention(Q[..., :1, :], K[..., :1, :], V[..., :1, :])\n"
                    "    scores = Q @ K.transpose(-1, -2) / math.sqrt(Q.shape[-1])\n"
                    "    if mask is not None:\n"
                    "        scores = scores.masked_fill(~mask.unsqueeze(-3), float('-inf'))\n"
                    "    heads = scores.softmax(-1) @ V\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"},
         fails={"check_sdpa_mha_fused": "you called scaled_dot_product_attention on a slice, but computed the "
                                        "attention yourself"}),
    # SDPA called on everything, its result thrown away, the output computed by hand
    dict(name="sdpa_full_call_discarded_attention_by_hand",
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    m = None if mask is None else mask.unsqueeze(-3)\n"
                    "    _ = F.scaled_dot_product_attention(Q, K, V, attn_mask=m)\n"
                    "    scores = Q @ K.transpose(-1, -2) / math.sqrt(Q.shape[-1])\n"
                    "    if m is not None:\n"
                    "        scores = scores.masked_fill(~m, float('-inf'))\n"
                    "    heads = scores.softmax(-1) @ V\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"},
         fails={"check_sdpa_mha_fused": "you called scaled_dot_product_attention, but computed the attention "
                                        "yourself"}),
    # a 0/1 float mask: SDPA adds it to the scores (+1 for allowed keys, +0 for blocked ones), nothing is blocked
    dict(name="sdpa_float_0_1_mask",
         answers={"sdpa_mha": _sdpa(mask="mask.unsqueeze(-3).float()")},
         fails={"check_sdpa_mha": "a float attn_mask is added to the scores"}),
    dict(name="sdpa_float_inverted_mask",
         answers={"sdpa_mha": _sdpa(mask="(~mask).unsqueeze(-3).to(Q.dtype)")},
         fails={"check_sdpa_mha": "a float attn_mask is added to the scores"}),
    # ---- mha_flops ----
    dict(name="flops_multiply_adds",
         answers={"mha_flops": _FLOPS + "    return 2 * batch * n * n * d_model + 4 * batch * n * d_model ** 2\n"},
         fails={"check_mha_flops": "multiply-adds"}),
    dict(name="flops_no_projections",
         answers={"mha_flops": _FLOPS + "    return 4 * batch * n * n * d_model\n"},
         fails={"check_mha_flops": "left out the four projections"}),
    dict(name="flops_three_projections",
         answers={"mha_flops": _FLOPS + "    return 4 * batch * n * n * d_model + 6 * batch * n * d_model ** 2\n"},
         fails={"check_mha_flops": "output projection"}),
    dict(name="flops_heads_times_d_model",
         answers={"mha_flops": _FLOPS
                  + "    return 4 * batch * num_heads * n * n * d_model + 8 * batch * n * d_model ** 2\n"},
         fails={"check_mha_flops": "grows with num_heads"}),
    dict(name="flops_no_batch",
         answers={"mha_flops": _FLOPS + "    return 4 * n * n * d_model + 8 * n * d_model ** 2\n"},
         fails={"check_mha_flops": "ignores the batch"}),
    # ---- scores_bytes ----
    dict(name="bytes_no_heads",
         answers={"scores_bytes": _BYTES + "    return batch * n * n * bytes_per_element\n"},
         fails={"check_scores_bytes": "own n x n score matrix"}),
    dict(name="bytes_counts_elements",
         answers={"scores_bytes": _BYTES + "    return batch * num_heads * n * n\n"},
         fails={"check_scores_bytes": "multiply by bytes_per_element"}),
    dict(name="bytes_linear_in_n",
         answers={"scores_bytes": _BYTES + "    return batch * num_heads * n * bytes_per_element\n"},
         fails={"check_scores_bytes": "n x n per head"}),
    # ---- time_fn ----
    dict(name="time_no_sync_after",
         answers={"time_fn": _time_loop(after="")},
         fails={"check_time_fn": "you timed the launch"}),
    dict(name="time_no_sync_before",
         answers={"time_fn": _time_loop(before="")},
         fails={"check_time_fn": "sync() before starting the clock"}),
    dict(name="time_no_warmup",
         answers={"time_fn": _time_loop(warm=False)},
         fails={"check_time_fn": "no warm-up"}),
    dict(name="time_perf_counter",
         answers={"time_fn": _time_loop(clock="time.perf_counter()")},
         fails={"check_time_fn": "clock argument"}),
    dict(name="time_total_not_per_run",
         answers={"time_fn": _time("    for _ in range(warmup):\n        fn()\n"
                                   "    sync()\n    start = clock()\n"
                                   "    for _ in range(repeat):\n        fn()\n"
                                   "    sync()\n    return (clock() - start) / repeat\n")},
         fails={"check_time_fn": "one duration per timed run"}),
    # one clock reading around all the runs, the mean copied repeat times: no spread, not per-run durations
    dict(name="time_block_mean_copied_per_run",
         answers={"time_fn": _time("    for _ in range(warmup):\n        fn()\n"
                                   "    sync()\n    start = clock()\n"
                                   "    for _ in range(repeat):\n        fn()\n"
                                   "    sync()\n"
                                   "    return np.full(repeat, (clock() - start) / repeat)\n")},
         fails={"check_time_fn": "timing all the runs as one block and returning its mean for every run"}),
    # ---- the question ----
    dict(name="answer_fused_is_linear",
         answers={"answer_plots": 'answer_plots = "D"\n'},
         fails={"check_answer_plots": "same FLOPs"}),
    dict(name="answer_more_heads_faster",
         answers={"answer_plots": 'answer_plots = "C"\n'},
         fails={"check_answer_plots": "same FLOPs as one wide head"}),
    dict(name="answer_not_a_letter",
         answers={"answer_plots": "answer_plots = 2\n"},
         fails={"check_answer_plots": "one of the letters"}),
    # one clock around all the runs, sync() after each run, the block mean given to every run: on a pretend GPU
    # whose runs all took the same time this was exact; the check's runs differ (1.002, 1.005, 1.003 s)
    dict(name="time_block_mean_sync_each_run",
         answers={"time_fn": _time("    for _ in range(warmup):\n        fn()\n"
                                   "    sync()\n    start = clock()\n"
                                   "    for _ in range(repeat):\n        fn()\n        sync()\n"
                                   "    return np.full(repeat, (clock() - start) / repeat)\n")},
         fails={"check_time_fn": "gave the block mean to every run"}),
    # one block without a sync per run, extra clock readings to look like per-run timing
    dict(name="time_block_extra_clock_reads",
         answers={"time_fn": _time("    for _ in range(warmup):\n        fn()\n"
                                   "    sync()\n    start = clock()\n"
                                   "    for _ in range(repeat):\n        fn()\n        clock()\n"
                                   "    sync()\n"
                                   "    return np.full(repeat, (clock() - start) / repeat)\n")},
         fails={"check_time_fn": "timing all the runs as one block"}),
    # every run timed right, then one summary value copied to every run: no spread left
    dict(name="time_median_copied_per_run",
         answers={"time_fn": _time_loop().replace("    return np.array(out)\n",
                                                  "    return np.full(repeat, np.median(out))\n")},
         fails={"check_time_fn": "you copied one summary value (a median, a mean, a minimum) to every run"}),
    dict(name="time_mean_copied_per_run",
         answers={"time_fn": _time_loop().replace("    return np.array(out)\n",
                                                  "    return np.ones(repeat) * np.mean(out)\n")},
         fails={"check_time_fn": "copied one summary value"}),
    # chained clock readings (right), then the median for every run
    dict(name="time_chained_readings_median_copied",
         answers={"time_fn": _time("    for _ in range(warmup):\n        fn()\n"
                                   "    sync()\n    t = clock()\n    out = []\n"
                                   "    for _ in range(repeat):\n"
                                   "        fn()\n        sync()\n        now = clock()\n"
                                   "        out.append(now - t)\n        t = now\n"
                                   "    return np.array([np.median(out)] * repeat)\n")},
         fails={"check_time_fn": "copied one summary value"}),
    # ---- found by a helper attacking the grader (2026-12-04) ----
    dict(name="sdpa_as_a_copy_of_attention_by_hand",   # SDPA with zero Q, K and an identity mask returns V: 11/11
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    scores = Q @ K.transpose(-1, -2) / math.sqrt(mha.d_k)\n"
                    "    if mask is not None:\n"
                    "        scores = scores.masked_fill(~mask.unsqueeze(-3), float('-inf'))\n"
                    "    heads = scores.softmax(-1) @ V\n"
                    "    zeros = torch.zeros_like(heads)\n"
                    "    eye = torch.eye(heads.shape[-2], dtype=torch.bool, device=heads.device)\n"
                    "    heads = F.scaled_dot_product_attention(zeros, zeros, heads, attn_mask=eye)\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"},
         fails={"check_sdpa_mha_fused": "computes attention weights itself"}),
    dict(name="sdpa_mask_unsqueezed_in_place",   # the check's own reference call crashed: a raw RuntimeError
         answers={"sdpa_mha": _sdpa(mask="mask.unsqueeze_(-3)")},
         fails={"check_sdpa_mha": "sdpa_mha changed its mask argument in place"}),
    dict(name="sdpa_with_dropout",   # was named 'computed the attention yourself'
         answers={"sdpa_mha": _sdpa(call="F.scaled_dot_product_attention(Q, K, V, attn_mask=mask, dropout_p=0.1)")},
         fails={"check_sdpa_mha": "leave SDPA's dropout_p at 0",
                "check_sdpa_mha_fused": "computed the attention yourself"}),
    dict(name="sdpa_squeezes_a_batch_of_one",   # was named 'heads summed' (one head: d_k = d_model)
         answers={"sdpa_mha": _SDPA
                  + "    if query.dim() == 2:\n"
                    "        query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)\n"
                  + _SPLIT
                  + "    m = None if mask is None else mask.unsqueeze(-3)\n"
                    "    heads = F.scaled_dot_product_attention(Q, K, V, attn_mask=m)\n"
                    "    return (heads.transpose(-3, -2).flatten(-2) @ mha.W_O).squeeze(0)\n"},
         fails={"check_sdpa_mha": "you removed the batch axis of size 1"}),
    # ---- found by a third helper (2026-12-04) ----
    dict(name="sdpa_only_without_a_mask",   # the masked attention by hand: 11/11 (the spy ran without a mask)
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    if mask is None:\n"
                    "        heads = F.scaled_dot_product_attention(Q, K, V)\n"
                    "    else:\n"
                    "        s = (Q @ K.transpose(-1, -2) / math.sqrt(mha.d_k)).masked_fill(~mask.unsqueeze(-3), float('-inf'))\n"
                    "        heads = s.softmax(-1) @ V\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"},
         fails={"check_sdpa_mha_fused": "with a mask, sdpa_mha's output is not made of what F.scaled_dot_product_attention"}),
    dict(name="sdpa_square_masks_made_causal",   # every square mask taken for a causal one: 11/11
         answers={"sdpa_mha": _sdpa(mask="(mask & torch.ones(mask.shape[-2:], dtype=torch.bool).tril() "
                                         "if mask.shape[-1] == mask.shape[-2] else mask).unsqueeze(-3)")},
         fails={"check_sdpa_mha": "square but not causal"}),
    dict(name="sdpa_head_axis_only_for_3d_masks",   # a 4-D mask (two leading axes) went in unchanged: 11/11
         answers={"sdpa_mha": _sdpa(mask="mask.unsqueeze(1) if mask.dim() == 3 else mask")},
         fails={"check_sdpa_mha": "two leading axes"}),
    dict(name="sdpa_scales_W_Q_in_place",   # named 'computed the attention yourself'
         answers={"sdpa_mha": _SDPA
                  + "    with torch.no_grad():\n        mha.W_Q.mul_(1 / math.sqrt(mha.d_k))\n"
                  + _SPLIT
                  + "    m = None if mask is None else mask.unsqueeze(-3)\n"
                    "    heads = F.scaled_dot_product_attention(Q, K, V, attn_mask=m, scale=1.0)\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"},
         fails={"check_sdpa_mha": "sdpa_mha changed mha.W_Q in place"}),
    # found by a helper: a function that assumes a batch axis crashed on one sentence, and the message blamed the mask
    dict(name="sdpa_assumes_a_batch_axis",
         answers={"sdpa_mha": _SDPA
                  + "    B, n_q, d = query.shape\n    h, d_k = mha.num_heads, d // mha.num_heads\n"
                  "    Q = (query @ mha.W_Q).view(B, n_q, h, d_k).transpose(1, 2)\n"
                  "    K = (key @ mha.W_K).view(B, key.shape[1], h, d_k).transpose(1, 2)\n"
                  "    V = (value @ mha.W_V).view(B, value.shape[1], h, d_k).transpose(1, 2)\n"
                  "    if mask is not None:\n        mask = mask.unsqueeze(-3)\n"
                  "    heads = F.scaled_dot_product_attention(Q, K, V, attn_mask=mask)\n"
                  "    return heads.transpose(1, 2).reshape(B, n_q, d) @ mha.W_O\n"},
         fails={"check_sdpa_mha": "split Q, K and V with mha.split and use negative axes"}),
    # found by a helper (wrong answers that kept their points)
    dict(name="sdpa_mha_by_hand_rescaled_to_follow_sdpa",   # 11/11: the doubling check followed the rescaling
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    s = Q @ K.transpose(-1, -2) / math.sqrt(Q.shape[-1])\n"
                    "    m = None if mask is None else mask.unsqueeze(-3)\n"
                    "    if m is not None:\n        s = s.masked_fill(~m, float('-inf'))\n"
                    "    heads = s.softmax(dim=-1) @ V\n"
                    "    ref = F.scaled_dot_product_attention(Q, K, V, attn_mask=m)\n"
                    "    heads = heads * (ref.abs().sum() / heads.abs().sum())\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"},
         fails={"check_sdpa_mha_fused": "sdpa_mha computes attention weights itself: matmul made a tensor"}),
    dict(name="mha_flops_one_head",   # was told it counted only Q K^T (the same count when num_heads = 2)
         answers={"mha_flops": _FLOPS + "    d_k = d_model // num_heads\n"
                               "    return 8 * batch * n * d_model ** 2 + 4 * batch * n * n * d_k\n"},
         fails={"check_mha_flops": "you counted the attention of one head"}),
    # found by a helper attacking this stop's own checks
    dict(name="sdpa_mha_numpy_attention_rescaled_to_follow_sdpa",   # weights made in NumPy, out of the spy's sight
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    q, k, v = (t.detach().double().numpy() for t in (Q, K, V))\n"
                    "    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])\n"
                    "    m = None if mask is None else mask.unsqueeze(-3)\n"
                    "    if m is not None:\n        s = np.where(m.numpy(), s, -np.inf)\n"
                    "    w = np.exp(s - s.max(-1, keepdims=True))\n"
                    "    heads = torch.from_numpy(w / w.sum(-1, keepdims=True) @ v).to(Q.dtype)\n"
                    "    ref = F.scaled_dot_product_attention(Q, K, V, attn_mask=m)\n"
                    "    heads = heads * (ref.abs().sum() / heads.abs().sum())\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"},
         fails={"check_sdpa_mha_fused": "follows SDPA's numbers but is not made of them"}),
    dict(name="sdpa_mha_by_hand_when_sdpa_agrees",   # 11/11: SDPA's output used only when it disagrees
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    m = None if mask is None else mask.unsqueeze(-3)\n"
                    "    s = Q @ K.transpose(-1, -2) / math.sqrt(Q.shape[-1])\n"
                    "    if m is not None:\n        s = s.masked_fill(~m, float('-inf'))\n"
                    "    h = s.softmax(dim=-1) @ V\n"
                    "    ref = F.scaled_dot_product_attention(Q, K, V, attn_mask=m)\n"
                    "    heads = h if torch.allclose(ref, h, atol=1e-6) else ref\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"},
         fails={"check_sdpa_mha_fused": "sdpa_mha computes attention weights itself"}),
    dict(name="sdpa_as_a_copy_of_numpy_attention",   # weights out of the spy's sight, passed through SDPA as V
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    q, k, v = (t.detach().double().numpy() for t in (Q, K, V))\n"
                    "    s = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])\n"
                    "    if mask is not None:\n        s = np.where(mask.unsqueeze(-3).numpy(), s, -np.inf)\n"
                    "    w = np.exp(s - s.max(-1, keepdims=True))\n"
                    "    heads = torch.from_numpy(w / w.sum(-1, keepdims=True) @ v).to(Q.dtype)\n"
                    "    zeros = torch.zeros_like(heads)\n"
                    "    eye = torch.eye(heads.shape[-2], dtype=torch.bool)\n"
                    "    heads = F.scaled_dot_product_attention(zeros, zeros, heads, attn_mask=eye)\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"},
         fails={"check_sdpa_mha_fused": "SDPA left sdpa_mha's output unchanged"}),
    # found by a helper attacking this stop's own checks (second round)
    dict(name="sdpa_mha_weights_by_hand_per_head_in_2d",   # torch.mm per head: 2-D (n_q, n_k) weights, unseen
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    Qf, Kf = Q.reshape(-1, *Q.shape[-2:]), K.reshape(-1, *K.shape[-2:])\n"
                    "    w = [torch.mm(Qf[j], Kf[j].T).div(math.sqrt(Q.shape[-1])).softmax(-1) for j in range(len(Qf))]\n"
                    "    m = None if mask is None else mask.unsqueeze(-3)\n"
                    "    heads = F.scaled_dot_product_attention(Q, K, V, attn_mask=m)\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"},
         fails={"check_sdpa_mha_fused": "computes attention weights itself"}),
    dict(name="sdpa_mha_weights_by_hand_with_mean_and_in_place_ops",
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    w = (Q.unsqueeze(-2) * K.unsqueeze(-3)).mean(-1)\n"
                    "    w.mul_(math.sqrt(Q.shape[-1])).exp_()\n"
                    "    w = F.normalize(w, p=1, dim=-1)\n"
                    "    m = None if mask is None else mask.unsqueeze(-3)\n"
                    "    heads = F.scaled_dot_product_attention(Q, K, V, attn_mask=m)\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"},
         fails={"check_sdpa_mha_fused": "computes attention weights itself"}),
    # found by a helper attacking this stop's own checks (third round)
    dict(name="sdpa_mha_weights_by_hand_transposed",   # (n_k, n_q) weights: unseen
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    w = torch.einsum('...kd,...qd->...kq', K, Q).softmax(-2)\n"
                    "    m = None if mask is None else mask.unsqueeze(-3)\n"
                    "    heads = F.scaled_dot_product_attention(Q, K, V, attn_mask=m)\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"},
         fails={"check_sdpa_mha_fused": "computes attention weights itself"}),
]

CORRECT = [
    dict(name="answer_plots_in_brackets",   # "(B)" and "B." were refused
         answers={"answer_plots": 'answer_plots = "(b)"\n'}),
    # found by a helper attacking this stop's own checks (third round)
    dict(name="sdpa_mha_additive_mask_from_full",   # torch.full(-1e9) then masked_fill: it lost the point
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    if mask is None:\n"
                    "        mask = torch.ones(query.shape[-2], key.shape[-2], dtype=torch.bool)\n"
                    "    bias = torch.full(mask.shape, -1e9, dtype=Q.dtype).masked_fill(mask, 0.0)\n"
                    "    heads = F.scaled_dot_product_attention(Q, K, V, attn_mask=bias.unsqueeze(-3))\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"}),
    # found by a helper attacking this stop's own checks (second round)
    dict(name="sdpa_mha_all_true_mask_by_broadcast_mul",   # a mask, not weights: it lost the point
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    if mask is None:\n"
                    "        mask = (torch.ones(*query.shape[:-1], 1) * torch.ones(1, key.shape[-2])).bool()\n"
                    "    heads = F.scaled_dot_product_attention(Q, K, V, attn_mask=mask.unsqueeze(-3))\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"}),
    dict(name="sdpa_view_permute",            # own head split with view/permute, reshape after contiguous
         answers={"sdpa_mha": _SDPA
                  + "    *lead, n_q, d_model = query.shape\n"
                    "    n_k = key.shape[-2]\n"
                    "    h, d_k = mha.num_heads, mha.d_k\n"
                    "    Q = (query @ mha.W_Q).reshape(*lead, n_q, h, d_k).transpose(-3, -2)\n"
                    "    K = (key @ mha.W_K).reshape(*lead, n_k, h, d_k).transpose(-3, -2)\n"
                    "    V = (value @ mha.W_V).reshape(*lead, n_k, h, d_k).transpose(-3, -2)\n"
                    "    attn_mask = None if mask is None else mask[..., None, :, :]\n"
                    "    out = torch.nn.functional.scaled_dot_product_attention(Q, K, V, attn_mask=attn_mask)\n"
                    "    out = out.transpose(-3, -2).contiguous().reshape(*lead, n_q, d_model)\n"
                    "    return torch.matmul(out, mha.W_O)\n"}),
    dict(name="sdpa_float_mask_explicit_scale",   # additive -inf mask, scale passed explicitly as 1/sqrt(d_k)
         answers={"sdpa_mha": _sdpa(mask="torch.zeros(mask.shape, dtype=query.dtype, device=query.device)"
                                         ".masked_fill(~mask, float('-inf'))"
                                         ".unsqueeze(-3)",
                                    call="F.scaled_dot_product_attention(Q, K, V, attn_mask=mask, "
                                         "scale=1 / math.sqrt(mha.d_k))")}),
    dict(name="sdpa_loop_over_heads",          # one SDPA call per head, then concatenation
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    m = None if mask is None else mask\n"
                    "    heads = [F.scaled_dot_product_attention(Q[..., i, :, :], K[..., i, :, :], V[..., i, :, :],\n"
                    "                                            attn_mask=m) for i in range(mha.num_heads)]\n"
                    "    return torch.cat(heads, dim=-1) @ mha.W_O\n"}),
    dict(name="sdpa_mask_none_passthrough_uses_mha_attrs",   # own head split, mask[..., None, :, :]
         answers={"sdpa_mha": _SDPA
                  + "    B = query.shape[:-2]\n"
                    "    def heads_of(x, W):\n"
                    "        return (x @ W).reshape(*x.shape[:-1], mha.num_heads, mha.d_k).transpose(-3, -2)\n"
                    "    Q, K, V = heads_of(query, mha.W_Q), heads_of(key, mha.W_K), heads_of(value, mha.W_V)\n"
                    "    m = None if mask is None else mask[..., None, :, :]\n"
                    "    heads = F.scaled_dot_product_attention(Q, K, V, attn_mask=m)\n"
                    "    return heads.transpose(-3, -2).reshape(*B, query.shape[-2], -1) @ mha.W_O\n"}),
    dict(name="sdpa_is_causal_for_a_causal_mask",   # section 10b: is_causal=True when the mask is the causal one
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    n_q, n_k = Q.shape[-2], K.shape[-2]\n"
                    "    tril = torch.ones(n_q, n_k, dtype=torch.bool, device=Q.device).tril()\n"
                    "    if mask is not None and n_q == n_k and mask.shape == tril.shape and torch.equal(mask, tril):\n"
                    "        heads = F.scaled_dot_product_attention(Q, K, V, is_causal=True)\n"
                    "    else:\n"
                    "        m = None if mask is None else mask.unsqueeze(-3)\n"
                    "        heads = F.scaled_dot_product_attention(Q, K, V, attn_mask=m)\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"}),
    dict(name="sdpa_loop_over_queries",        # one SDPA call per query row, over every key
         answers={"sdpa_mha": _SDPA + _SPLIT
                  + "    rows = []\n"
                    "    for i in range(Q.shape[-2]):\n"
                    "        m = None if mask is None else mask[..., i:i + 1, :].unsqueeze(-3)\n"
                    "        rows.append(F.scaled_dot_product_attention(Q[..., i:i + 1, :], K, V, attn_mask=m))\n"
                    "    heads = torch.cat(rows, dim=-2)\n"
                    "    return heads.transpose(-3, -2).flatten(-2) @ mha.W_O\n"}),
    dict(name="sdpa_einsum_output_projection",  # W_O applied per head with einsum, no merge
         answers={"sdpa_mha": _sdpa(ret="torch.einsum('...hqd,hdm->...qm', heads, "
                                        "mha.W_O.reshape(mha.num_heads, mha.d_k, -1))")}),
    dict(name="flops_by_parts",
         answers={"mha_flops": _FLOPS
                  + "    d_k = d_model // num_heads\n"
                    "    total = 0\n"
                    "    for _ in range(4):\n"
                    "        total += 2 * (batch * n) * d_model * d_model\n"
                    "    for _ in range(num_heads):\n"
                    "        total += 2 * batch * n * d_k * n + 2 * batch * n * n * d_k\n"
                    "    return float(total)\n"}),
    dict(name="bytes_element_size",
         answers={"scores_bytes": _BYTES
                  + "    import math\n"
                    "    return math.prod((batch, num_heads, n, n)) * bytes_per_element\n"}),
    dict(name="time_sync_once_after_warmup",   # empty the queue once, then start, fn, sync, stop
         answers={"time_fn": _time("    for _ in range(warmup):\n        fn()\n    sync()\n"
                                   "    durations = []\n"
                                   "    for _ in range(repeat):\n"
                                   "        t0 = clock()\n        fn()\n        sync()\n        t1 = clock()\n"
                                   "        durations.append(t1 - t0)\n"
                                   "    return durations\n")}),
    dict(name="time_fn_perf_counter_ns_style_list_comprehension",
         answers={"time_fn": _time("    [fn() for _ in range(warmup)]\n"
                                   "    def one():\n"
                                   "        sync()\n"
                                   "        t = clock()\n"
                                   "        fn()\n"
                                   "        sync()\n"
                                   "        return clock() - t\n"
                                   "    return np.array([one() for _ in range(repeat)], dtype=np.float64)\n")}),
    dict(name="answer_lowercase",
         answers={"answer_plots": "answer_plots = 'b'\n"}),
    # each run's start is the previous run's end: repeat + 1 clock readings
    dict(name="time_chained_clock_readings",
         answers={"time_fn": _time("    for _ in range(warmup):\n        fn()\n"
                                   "    sync()\n    t = clock()\n    out = []\n"
                                   "    for _ in range(repeat):\n"
                                   "        fn()\n        sync()\n        now = clock()\n"
                                   "        out.append(now - t)\n        t = now\n"
                                   "    return np.array(out)\n")}),
    # (start, stop) pairs, then their differences
    dict(name="time_pairs_diff",
         answers={"time_fn": _time("    for _ in range(warmup):\n        fn()\n"
                                   "    stamps = []\n"
                                   "    for _ in range(repeat):\n"
                                   "        sync(); a = clock(); fn(); sync(); b = clock()\n"
                                   "        stamps.append((a, b))\n"
                                   "    return np.diff(np.array(stamps, dtype=float), axis=1)[:, 0]\n")}),
]
