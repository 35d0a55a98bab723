"""Wrong answers and correct variants for 03_concat_vs_sum (see tests/test_catalogue.py)."""
NOTEBOOK = "03_concat_vs_sum.ipynb"

_COMBINE = "def combine_heads(H):\n"
_RECOVER = "def recover_head(concat, num_heads, i):\n"
_SUM = "def sum_matrix(num_heads, d_k):\n"

WRONG = [
    dict(name="combine_summed",
         answers={"combine_heads": _COMBINE + "    return H.sum(axis=-3)\n"},
         fails={"check_combine_heads": "the heads were summed",
                "check_combine_heads_batched": "summed, averaged"}),
    dict(name="combine_averaged",
         answers={"combine_heads": _COMBINE + "    return H.mean(axis=-3)\n"},
         fails={"check_combine_heads_batched": 'with a batch axis your output has d_k = 2', "check_combine_heads": "the heads were averaged"}),
    dict(name="combine_first_head_only",
         answers={"combine_heads": _COMBINE + "    return H[..., 0, :, :]\n"},
         fails={"check_combine_heads_batched": 'with a batch axis your output has d_k = 2', "check_combine_heads": "must be concatenated side by side"}),
    dict(name="combine_reshape_without_transpose",
         answers={"combine_heads": _COMBINE + "    *batch, num_heads, n, d_k = H.shape\n"
                                   "    return H.reshape(*batch, n, num_heads * d_k)\n"},
         fails={"check_combine_heads_batched": 'combine_heads(split_heads(X, 3)) should give X', "check_combine_heads": "rows mix tokens"}),
    dict(name="combine_along_token_axis",
         answers={"combine_heads": _COMBINE + "    return np.concatenate(list(H), axis=0)\n"},
         fails={"check_combine_heads_batched": 'combine_heads(H of shape (2, 3, 4, 2)) should', "check_combine_heads": "along the token axis"}),
    dict(name="combine_only_2d_transpose",
         answers={"combine_heads": _COMBINE + "    num_heads, n, d_k = H.shape\n"
                                   "    return H.transpose(1, 0, 2).reshape(n, num_heads * d_k)\n"},
         fails={"check_combine_heads_batched": "use negative axes"}),
    dict(name="combine_only_2d_hstack",
         answers={"combine_heads": _COMBINE + "    return np.hstack(H)\n"},
         fails={"check_combine_heads_batched": "treat axis 0 as the heads axis"}),
    dict(name="combine_swapaxes_0_and_1",
         answers={"combine_heads": _COMBINE + "    *batch, num_heads, n, d_k = H.shape\n"
                                   "    return np.swapaxes(H, 0, 1).reshape(*batch, n, num_heads * d_k)\n"},
         fails={"check_combine_heads_batched": "works on one sentence but not on a batch"}),
    dict(name="combine_heads_reversed",
         answers={"combine_heads": _COMBINE + "    return np.concatenate([H[..., i, :, :] for i in reversed(range(H.shape[-3]))], axis=-1)\n"},
         fails={"check_combine_heads_batched": 'combine_heads(split_heads(X, 3)) should give X', "check_combine_heads": "reverse order"}),
    dict(name="combine_interleaved_columns",
         answers={"combine_heads": _COMBINE + "    *batch, num_heads, n, d_k = H.shape\n"
                                   "    return np.moveaxis(H, -3, -1).reshape(*batch, n, num_heads * d_k)\n"},
         fails={"check_combine_heads_batched": 'combine_heads(split_heads(X, 3)) should give X', "check_combine_heads": "interleave the heads"}),
    # ---- recover_head ----
    dict(name="recover_rows_instead_of_columns",
         answers={"recover_head": _RECOVER + "    d_k = head_dim(concat.shape[-1], num_heads)\n"
                                  "    return concat[i * d_k:(i + 1) * d_k]\n"},
         fails={"check_recover_head": "rows (tokens)"}),
    dict(name="recover_every_num_heads_th_column",
         answers={"recover_head": _RECOVER + "    return concat[..., i::num_heads]\n"},
         fails={"check_recover_head": "every num_heads-th column"}),
    dict(name="recover_heads_counted_from_1",
         answers={"recover_head": _RECOVER + "    d_k = head_dim(concat.shape[-1], num_heads)\n"
                                  "    return concat[..., (i - 1) * d_k:i * d_k]\n"},
         fails={"check_recover_head": "numbered from 0"}),
    dict(name="recover_width_num_heads",
         answers={"recover_head": _RECOVER + "    return concat[..., i * num_heads:(i + 1) * num_heads]\n"},
         fails={"check_recover_head": "used num_heads as the width"}),
    dict(name="recover_only_2d",
         answers={"recover_head": _RECOVER + "    d_k = head_dim(concat.shape[-1], num_heads)\n"
                                  "    return concat[:, i * d_k:(i + 1) * d_k]\n"},
         fails={"check_recover_head": "batch axis"}),
    dict(name="recover_split_then_index_axis_0",
         answers={"recover_head": _RECOVER + "    return split_heads(concat, num_heads)[i]\n"},
         fails={"check_recover_head": "batch axis"}),
    # pitfall 1: floor division instead of head_dim; recover_head(concat of width 7, 2, 0) silently returns 3 columns
    dict(name="recover_floor_division_no_divisibility_check",
         answers={"recover_head": _RECOVER + "    d_k = concat.shape[-1] // num_heads\n"
                                  "    return concat[..., i * d_k:(i + 1) * d_k]\n"},
         fails={"check_recover_head": "recover_head(C of shape (4, 7), 2, 0) returned an array of shape (4, 3) instead "
                                      "of raising ValueError: d_model = 7 is not divisible by num_heads = 2"}),
    dict(name="recover_int_true_division",
         answers={"recover_head": _RECOVER + "    d_k = int(concat.shape[-1] / num_heads)\n"
                                  "    return concat[..., i * d_k:(i + 1) * d_k]\n"},
         fails={"check_recover_head": "is not divisible by num_heads"}),
    dict(name="recover_raises_only_for_the_visible_widths",   # found by attacking the grader: 10/10
         answers={"recover_head": _RECOVER + "    if concat.shape[-1] == 7 or (concat.shape[-1], num_heads) == (6, 4):\n"
                                  "        raise ValueError('not divisible')\n"
                                  "    d_k = concat.shape[-1] // num_heads\n"
                                  "    return concat[..., i * d_k:(i + 1) * d_k]\n"},
         fails={"check_recover_head": "not only the widths of the checks above"}),
    dict(name="recover_assert_instead_of_value_error",
         answers={"recover_head": _RECOVER + "    assert concat.shape[-1] % num_heads == 0, 'd_model must be divisible by num_heads'\n"
                                  "    d_k = concat.shape[-1] // num_heads\n"
                                  "    return concat[..., i * d_k:(i + 1) * d_k]\n"},
         fails={"check_recover_head": "raised AssertionError: d_model must be divisible by num_heads. It should raise "
                                      "ValueError, because d_model = 7 is not divisible by num_heads = 2"}),
    # ---- sum_matrix ----
    dict(name="sum_matrix_transposed",
         answers={"sum_matrix": _SUM + "    return np.tile(np.eye(d_k), (1, num_heads))\n"},
         fails={"check_sum_matrix": "S is transposed"}),
    dict(name="sum_matrix_averages",
         answers={"sum_matrix": _SUM + "    return np.tile(np.eye(d_k), (num_heads, 1)) / num_heads\n"},
         fails={"check_sum_matrix": "averages the heads"}),
    dict(name="sum_matrix_all_ones",
         answers={"sum_matrix": _SUM + "    return np.ones((num_heads * d_k, d_k))\n"},
         fails={"check_sum_matrix": "all ones"}),
    dict(name="sum_matrix_first_head_only",
         answers={"sum_matrix": _SUM + "    S = np.zeros((num_heads * d_k, d_k))\n"
                                "    S[:d_k] = np.eye(d_k)\n"
                                "    return S\n"},
         fails={"check_sum_matrix": "keeps only head 0"}),
    # ---- question ----
    dict(name="question_w_o_can_undo_sum",
         answers={"question_sum": 'answer = "A"\n'},
         fails={"check_question_sum": "no W_O can tell them apart"}),
    dict(name="question_averaging_fixes_it",
         answers={"question_sum": 'answer = "C"\n'},
         fails={"check_question_sum": "averaging is the sum divided by num_heads"}),
    dict(name="question_unanswered",
         answers={"question_sum": "# YOUR CODE HERE\n"},
         fails={"check_question_sum": "not answered yet"}),
    # divisibility tested as d_model % d_k with d_k = d_model // num_heads: 7 % 3 raises, 6 columns / 4 heads (d_k = 1) doesn't
    dict(name="recover_mod_d_k_instead_of_num_heads",
         answers={"recover_head": _RECOVER
                  + "    d_model = concat.shape[-1]\n"
                    "    d_k = d_model // num_heads\n"
                    "    if d_model % d_k:\n"
                    "        raise ValueError(f'{d_model} columns are not a multiple of d_k={d_k}')\n"
                    "    return concat[..., i * d_k:(i + 1) * d_k]\n"},
         fails={"check_recover_head": "6 columns are not divisible by 4 heads (6 / 4 = 1.5 columns per head), so there "
                                      "are no 4 equal heads to read back (pitfall 1). Test d_model % num_heads itself"}),
    # parity instead of divisibility: 7 is odd, 6 is even
    dict(name="recover_parity_check",
         answers={"recover_head": _RECOVER
                  + "    d_model = concat.shape[-1]\n"
                    "    if d_model % 2:\n"
                    "        raise ValueError(f'd_model={d_model} is odd')\n"
                    "    d_k = d_model // num_heads\n"
                    "    return concat[..., i * d_k:(i + 1) * d_k]\n"},
         fails={"check_recover_head": "d_model % d_k with d_k = 6 // 4 = 1 is 0, and 6 is even, so neither of those "
                                      "tests sees it"}),
    dict(name="recover_array_split",
         answers={"recover_head": _RECOVER + "    return np.array_split(concat, num_heads, axis=-1)[i]\n"},
         fails={"check_recover_head": "recover_head(C of shape (4, 7), 2, 0) returned an array of shape (4, 4) instead "
                                      "of raising ValueError"}),
    # found by attacking the grader: a wrong combine that writes its output's column blocks back into its input
    # H, so that a check building what it expects from H afterwards would agree (the checks pass copies)
    dict(name="combine_mix_tokens_rewrites_its_input",
         answers={"combine_heads": _COMBINE + "    *batch, num_heads, n, d_k = H.shape\n"
                                   "    out = H.reshape(*batch, n, num_heads * d_k).copy()\n"
                                   "    for j in range(num_heads):\n"
                                   "        H[..., j, :, :] = out[..., j * d_k:(j + 1) * d_k]\n"
                                   "    return out\n"},
         fails={"check_combine_heads_batched": "should give X back for every sentence of a batch",
                "check_combine_heads": "changed its input H"}),
    # found by a helper attacking the grader (2026-12-04); each got full marks
    dict(name="recover_zeroes_the_heads_before_it",
         answers={"recover_head": _RECOVER + "    d_k = head_dim(concat.shape[-1], num_heads)\n"
                                  "    out = concat[..., i * d_k:(i + 1) * d_k]\n"
                                  "    concat[..., :i * d_k] = 0\n"
                                  "    return out\n"},
         fails={"check_recover_head": "changed its input concat"}),
    dict(name="recover_refuses_one_column_heads",
         answers={"recover_head": _RECOVER + "    d_model = concat.shape[-1]\n"
                                  "    if d_model % num_heads != 0 or num_heads >= d_model:\n"
                                  "        raise ValueError('bad number of heads')\n"
                                  "    d_k = d_model // num_heads\n"
                                  "    return concat[..., i * d_k:(i + 1) * d_k]\n"},
         fails={"check_recover_head": "num_heads = d_model is allowed"}),
    dict(name="combine_up_to_two_batch_axes",
         answers={"combine_heads": _COMBINE + "    if H.ndim == 3:\n"
                                   "        h, n, d = H.shape\n"
                                   "        return H.transpose(1, 0, 2).reshape(n, h * d)\n"
                                   "    if H.ndim == 4:\n"
                                   "        b, h, n, d = H.shape\n"
                                   "        return H.transpose(0, 2, 1, 3).reshape(b, n, h * d)\n"
                                   "    b, c, h, n, d = H.shape\n"
                                   "    return H.transpose(0, 1, 3, 2, 4).reshape(b, c, n, h * d)\n"},
         fails={"check_combine_heads_batched": "(3 batch axes) raised ValueError"}),
    dict(name="combine_float32",
         answers={"combine_heads": _COMBINE + "    *batch, h, n, d_k = H.shape\n"
                                   "    return np.swapaxes(H, -3, -2).reshape(*batch, n, h * d_k).astype(np.float32)\n"},
         fails={"check_combine_heads": "returned float32 numbers for an H of float64"}),
    dict(name="combine_zeroes_a_batched_input",   # found by a helper: only H without batch axes was compared after
         answers={"combine_heads": _COMBINE + "    out = np.swapaxes(H, -3, -2).reshape(*H.shape[:-3], H.shape[-2], -1).copy()\n"
                                   "    if H.ndim > 3:\n        H *= 0\n    return out\n"},
         fails={"check_combine_heads_batched": "changed its input H when it has batch axes"}),
    dict(name="recover_slice_one_column_late",   # found by a helper: named "used num_heads as the width" (3 = d_k + 1)
         answers={"recover_head": _RECOVER + "    d_k = head_dim(concat.shape[-1], num_heads)\n"
                                   "    return concat[..., i * d_k:(i + 1) * d_k + 1]\n"},
         fails={"check_recover_head": "ended the slice one column late"}),
    dict(name="combine_returns_a_list",
         answers={"combine_heads": _COMBINE + "    *batch, h, n, d_k = H.shape\n"
                                   "    return np.swapaxes(H, -3, -2).reshape(*batch, n, h * d_k).tolist()\n"},
         fails={"check_combine_heads": "returned a list, not a NumPy array"}),
    dict(name="combine_zeroes_its_input",
         answers={"combine_heads": _COMBINE + "    *batch, h, n, d_k = H.shape\n"
                                   "    out = np.swapaxes(H, -3, -2).reshape(*batch, n, h * d_k).copy()\n"
                                   "    H *= 0\n"
                                   "    return out\n"},
         fails={"check_combine_heads": "changed its input H"}),
    # ---- combine_heads ----
    # found by a helper (wrong answers that kept their points)
    dict(name="recover_head_casts_to_float32",   # 10/10: it rounds every number
         answers={"recover_head": _RECOVER + "    d_k = head_dim(concat.shape[-1], num_heads)\n"
                                  "    return concat[..., i * d_k:(i + 1) * d_k].astype(np.float32)\n"},
         fails={"check_recover_head": "numbers for a concat of float64"}),
    dict(name="combine_heads_cached_by_shape",   # 10/10: new heads of a shape seen before got the old result
         answers={"combine_heads": "_seen = {}\n\n" + _COMBINE
                  + "    if H.shape not in _seen:\n"
                    "        _seen[H.shape] = np.swapaxes(H, -3, -2).reshape(*H.shape[:-3], H.shape[-2], -1)\n"
                    "    return _seen[H.shape]\n"},
         fails={"check_combine_heads": "gave a result that belongs to an earlier call"}),
    # found by a helper attacking this stop's own checks
    dict(name="recover_head_rounds_through_float32",   # 10/10: float32 on the way, the dtype restored
         answers={"recover_head": _RECOVER + "    d_k = head_dim(concat.shape[-1], num_heads)\n"
                                  "    return concat.astype(np.float32)[..., i * d_k:(i + 1) * d_k].astype(concat.dtype)\n"},
         fails={"check_recover_head": "numbers for a concat of float64"}),
    dict(name="combine_heads_cached_by_shape_and_sum",   # 10/10
         answers={"combine_heads": "_seen = {}\n\n" + _COMBINE
                  + "    key = (H.shape, float(np.sum(H)))\n"
                    "    if key not in _seen:\n"
                    "        _seen[key] = np.swapaxes(H, -3, -2).reshape(*H.shape[:-3], H.shape[-2], -1)\n"
                    "    return _seen[key]\n"},
         fails={"check_combine_heads": "gave a result that belongs to an earlier call"}),
    dict(name="combine_heads_rounds_through_float32",   # 10/10: the dtype restored after rounding (a helper)
         answers={"combine_heads": _COMBINE + "    dt = H.dtype\n    H = H.astype(np.float32)\n"
                                   "    return np.swapaxes(H, -3, -2).reshape(*H.shape[:-3], H.shape[-2], -1).astype(dt)\n"},
         fails={"check_combine_heads": "not exactly H's (rounded on the way?)"}),
    dict(name="question_two_letters",   # two letters for a one-letter question: not read as either
         answers={"question_sum": 'answer = "A, B"\n'},
         fails={"check_question_sum": "set answer to one of"}),
]

CORRECT = [
    dict(name="question_answer_colon",   # found by a helper: "Answer: B", "[B]", "'B'" were refused
         answers={"question_sum": 'answer = "Answer: B"\n'}),
    dict(name="question_in_brackets",   # found by a helper: "(B)" and "B." were refused
         answers={"question_sum": 'answer = "(B)"\n'}),
    dict(name="combine_longdouble",   # its numbers exactly, in more bits: not charged (it arrived as a Remote once)
         answers={"combine_heads": _COMBINE + "    *batch, h, n, d_k = H.shape\n"
                                   "    return np.swapaxes(H, -3, -2).reshape(*batch, n, h * d_k).astype(np.longdouble)\n"}),
    dict(name="combine_heads_always_float64",   # its numbers exactly, in more bits: not charged
         answers={"combine_heads": _COMBINE + "    H = np.asarray(H, dtype=float)\n"
                                   "    return np.swapaxes(H, -3, -2).reshape(*H.shape[:-3], H.shape[-2], -1)\n"}),
    # found by a helper: an ndarray subclass and an extended-precision array arrived as Remotes (8/10)
    dict(name="sum_matrix_as_np_matrix",
         answers={"sum_matrix": _SUM + "    return np.asmatrix(np.tile(np.eye(d_k), (num_heads, 1)))\n"}),
    dict(name="sum_matrix_longdouble",
         answers={"sum_matrix": _SUM + "    return np.tile(np.eye(d_k, dtype=np.longdouble), (num_heads, 1))\n"}),
    dict(name="combine_concatenate_list_of_heads",
         answers={"combine_heads": _COMBINE + "    return np.concatenate([H[..., i, :, :] for i in range(H.shape[-3])], axis=-1)\n"}),
    dict(name="combine_loop_filling_output",
         answers={"combine_heads": _COMBINE + "    *batch, num_heads, n, d_k = H.shape\n"
                                   "    out = np.zeros((*batch, n, num_heads * d_k))\n"
                                   "    for i in range(num_heads):\n"
                                   "        out[..., i * d_k:(i + 1) * d_k] = H[..., i, :, :]\n"
                                   "    return out\n"}),
    dict(name="combine_einsum",
         answers={"combine_heads": _COMBINE + "    return np.einsum('...hnd->...nhd', H).reshape(*H.shape[:-3], H.shape[-2], -1)\n"}),
    dict(name="combine_moveaxis",
         answers={"combine_heads": _COMBINE + "    n = H.shape[-2]\n"
                                   "    return np.moveaxis(H, -3, -2).reshape(*H.shape[:-3], n, -1)\n"}),
    dict(name="combine_masked_array",
         answers={"combine_heads": _COMBINE + "    *batch, h, n, d_k = H.shape\n"
                                   "    return np.ma.masked_array(np.swapaxes(H, -3, -2).reshape(*batch, n, h * d_k))\n"}),
    dict(name="recover_copy_of_the_band",
         answers={"recover_head": _RECOVER + "    d_k = head_dim(concat.shape[-1], num_heads)\n"
                                  "    return concat[..., i * d_k:(i + 1) * d_k].copy()\n"}),
    dict(name="combine_torch_then_numpy",
         answers={"combine_heads": "import torch\n\n" + _COMBINE
                                   + "    return torch.as_tensor(H).transpose(-3, -2).flatten(-2).numpy()\n"}),
    dict(name="recover_via_split_heads",
         answers={"recover_head": _RECOVER + "    return split_heads(concat, num_heads)[..., i, :, :]\n",
                  "sum_matrix": _SUM + "    return np.vstack([np.eye(d_k)] * num_heads)\n",
                  "question_sum": "answer = ' b '\n"}),
    dict(name="recover_np_split",
         answers={"recover_head": _RECOVER + "    return np.split(concat, num_heads, axis=-1)[i]\n"}),
    dict(name="recover_own_value_error",
         answers={"recover_head": _RECOVER + "    d_model = concat.shape[-1]\n"
                                  "    if d_model % num_heads:\n"
                                  "        raise ValueError(f'{d_model} columns do not split into {num_heads} heads')\n"
                                  "    d_k = d_model // num_heads\n"
                                  "    return concat[..., i * d_k:(i + 1) * d_k]\n"}),
    dict(name="recover_reshape_loop_free",
         answers={"recover_head": _RECOVER + "    d_k = head_dim(concat.shape[-1], num_heads)\n"
                                  "    return concat.reshape(*concat.shape[:-1], num_heads, d_k)[..., i, :]\n"}),
    dict(name="recover_np_take",
         answers={"recover_head": _RECOVER + "    d_k = head_dim(concat.shape[-1], num_heads)\n"
                                  "    return np.take(concat, np.arange(i * d_k, (i + 1) * d_k), axis=-1)\n"}),
    dict(name="combine_heads_torch_style_transpose_flatten_numpy",
         answers={"combine_heads": "def combine_heads(H):\n"
                                   "    H = np.asarray(H)\n"
                                   "    return H.swapaxes(-3, -2).reshape(H.shape[:-3] + (H.shape[-2], H.shape[-3] * H.shape[-1]))\n"}),
    dict(name="sum_matrix_float32_blocks",
         answers={"sum_matrix": "def sum_matrix(num_heads, d_k):\n"
                                "    return np.concatenate([np.eye(d_k, dtype=np.float32)] * num_heads, axis=0)\n"}),
    dict(name="sum_matrix_kron_int",
         answers={"sum_matrix": _SUM + "    return np.kron(np.ones((num_heads, 1), dtype=int), np.eye(d_k, dtype=int))\n"}),
    dict(name="recover_reshape_heads_axis",
         answers={"recover_head": _RECOVER
                  + "    *lead, n, d_model = concat.shape\n"
                    "    return np.asarray(concat).reshape(*lead, n, num_heads, -1)[..., i, :] if d_model % num_heads == 0 "
                    "else np.asarray(concat).reshape(*lead, n, num_heads, d_model // num_heads)\n"}),
    dict(name="recover_divmod_own_error_copy",
         answers={"recover_head": _RECOVER
                  + "    d_k, rest = divmod(concat.shape[-1], num_heads)\n"
                    "    if rest:\n"
                    "        raise ValueError('uneven heads')\n"
                    "    return concat[..., i * d_k:(i + 1) * d_k].copy()\n"}),
]
