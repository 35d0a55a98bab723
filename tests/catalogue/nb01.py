"""Wrong answers and correct variants for 01_projections (see tests/test_catalogue.py)."""
NOTEBOOK = "01_projections.ipynb"

_SPLIT_HEAD = "def split_heads(X, num_heads):\n"


def _message(message):
    """A head_dim that is right but for its error message, an f-string of d_model and num_heads."""
    return {"head_dim": "def head_dim(d_model, num_heads):\n"
                        "    if num_heads < 1 or d_model % num_heads:\n"
                        f"        raise ValueError(f{message!r})\n"
                        "    return d_model // num_heads\n"}

WRONG = [
    dict(name="head_dim_no_divisibility_check",
         answers={"head_dim": "def head_dim(d_model, num_heads):\n    return d_model // num_heads\n"},
         fails={"check_head_dim": "must be divisible"}),
    dict(name="head_dim_float",
         answers={"head_dim": "def head_dim(d_model, num_heads):\n"
                              "    if num_heads < 1 or d_model % num_heads:\n"
                              "        raise ValueError(f'd_model={d_model} must be divisible by num_heads={num_heads}')\n"
                              "    return d_model / num_heads\n"},
         fails={"check_head_dim": "return an int"}),
    dict(name="head_dim_assert_instead_of_valueerror",
         answers={"head_dim": "def head_dim(d_model, num_heads):\n"
                              "    assert d_model % num_heads == 0, 'd_model must be divisible by num_heads'\n"
                              "    return d_model // num_heads\n"},
         fails={"check_head_dim": "raised AssertionError: raise ValueError instead"}),
    dict(name="head_dim_message_without_numbers",
         answers={"head_dim": "def head_dim(d_model, num_heads):\n"
                              "    if num_heads < 1 or d_model % num_heads:\n"
                              "        raise ValueError('d_model must be divisible by num_heads')\n"
                              "    return d_model // num_heads\n"},
         fails={"check_head_dim": "should name both numbers"}),
    dict(name="head_dim_no_num_heads_check",
         answers={"head_dim": "def head_dim(d_model, num_heads):\n"
                              "    if d_model % num_heads:\n"
                              "        raise ValueError(f'd_model={d_model} must be divisible by num_heads={num_heads}')\n"
                              "    return d_model // num_heads\n"},
         fails={"check_head_dim": "num_heads must be at least 1"}),
    dict(name="split_reshape_without_transpose",
         answers={"split_heads": _SPLIT_HEAD + "    *batch, n, d_model = X.shape\n"
                                 "    return X.reshape(*batch, num_heads, n, head_dim(d_model, num_heads))\n"},
         fails={"check_split_heads_batched": 'with leading axes, head i of every sentence', "check_split_heads": "mix tokens"}),
    dict(name="split_interleaved_columns",
         answers={"split_heads": _SPLIT_HEAD + "    *batch, n, d_model = X.shape\n"
                                 "    d_k = head_dim(d_model, num_heads)\n"
                                 "    return np.moveaxis(X.reshape(*batch, n, d_k, num_heads), -1, -3)\n"},
         fails={"check_split_heads_batched": 'with leading axes, head i of every sentence', "check_split_heads": "every num_heads-th column"}),
    dict(name="split_only_2d",
         answers={"split_heads": _SPLIT_HEAD + "    n, d_model = X.shape\n"
                                 "    d_k = head_dim(d_model, num_heads)\n"
                                 "    return X.reshape(n, num_heads, d_k).transpose(1, 0, 2)\n"},
         fails={"check_split_heads_batched": "negative axes"}),
    dict(name="split_merges_batch_into_tokens",
         answers={"split_heads": _SPLIT_HEAD + "    d_k = head_dim(X.shape[-1], num_heads)\n"
                                 "    return X.reshape(-1, num_heads, d_k).transpose(1, 0, 2)\n"},
         fails={"check_split_heads_batched": "(batch, num_heads, n, d_k)"}),
    dict(name="split_float_d_k",
         answers={"split_heads": _SPLIT_HEAD + "    *batch, n, d_model = X.shape\n"
                                 "    d_k = d_model / num_heads\n"
                                 "    return np.swapaxes(X.reshape(*batch, n, num_heads, d_k), -3, -2)\n"},
         fails={"check_split_heads_batched": 'split_heads fails on a batch of shape (2, 3, 4)', "check_split_heads": "float"}),
    dict(name="split_transposes_every_axis",
         answers={"split_heads": _SPLIT_HEAD + "    *batch, n, d_model = X.shape\n"
                                 "    return X.reshape(*batch, n, num_heads, head_dim(d_model, num_heads)).T\n"},
         fails={"check_split_heads_batched": 'sentence 1 of the batch should be split exactly', "check_split_heads": "should have shape (2, 3, 2)"}),
    dict(name="split_without_head_dim",
         answers={"split_heads": _SPLIT_HEAD + "    *batch, n, d_model = X.shape\n"
                                 "    d_k = d_model // num_heads\n"
                                 "    return np.swapaxes(X.reshape(*batch, n, num_heads, d_k), -3, -2)\n"},
         fails={"check_split_heads_batched": "call head_dim"}),
    dict(name="score_cost_uses_d_model_per_head",
         answers={"score_cost": "def score_cost(n, d_model, num_heads):\n    return num_heads * n * n * d_model\n"},
         fails={"check_score_cost": "should be 8 * 10 * 10 * 64"}),
    # divisibility tested as d_model % d_k with d_k = d_model // num_heads: right for 7 and 2, wrong for 10 and 4 (d_k = 2)
    dict(name="head_dim_mod_d_k_instead_of_num_heads",
         answers={"head_dim": "def head_dim(d_model, num_heads):\n"
                              "    if num_heads < 1:\n"
                              "        raise ValueError(f'num_heads must be at least 1, got {num_heads}')\n"
                              "    d_k = d_model // num_heads\n"
                              "    if d_k == 0 or d_model % d_k:\n"
                              "        raise ValueError(f'd_model={d_model} must be divisible by num_heads={num_heads}')\n"
                              "    return d_k\n"},
         fails={"check_head_dim": "head_dim(10, 4) returned 2 instead of raising ValueError: d_model must be "
                                  "divisible by num_heads"}),
    # parity instead of divisibility: 7 and 9 are odd, 10 (4 heads) is even
    dict(name="head_dim_parity_check",
         answers={"head_dim": "def head_dim(d_model, num_heads):\n"
                              "    if num_heads < 1 or d_model % 2:\n"
                              "        raise ValueError(f'd_model={d_model} must be divisible by num_heads={num_heads}')\n"
                              "    return d_model // num_heads\n"},
         fails={"check_head_dim": "head_dim(10, 4) returned 2 instead of raising ValueError"}),
    # found by attacking the grader: a wrong split that rewrites its (batched) input so that the columns of the
    # input match its output; the checks pass copies, so what they expect comes from the input as it was
    dict(name="split_mix_tokens_rewrites_its_input",
         answers={"split_heads": _SPLIT_HEAD + "    *batch, n, d_model = X.shape\n"
                                 "    out = X.reshape(*batch, num_heads, n, head_dim(d_model, num_heads)).copy()\n"
                                 "    if X.ndim >= 4:\n"
                                 "        X[...] = np.swapaxes(out, -3, -2).reshape(X.shape)\n"
                                 "    return out\n"},
         fails={"check_split_heads_batched": 'with leading axes, head i of every sentence', "check_split_heads": "mix tokens"}),
    # found by a helper attacking the grader (2026-12-04); each kept full marks
    dict(name="split_heads_sets_the_callers_shape",
         answers={"split_heads": _SPLIT_HEAD + "    *batch, n, d_model = X.shape\n"
                                 "    d_k = head_dim(d_model, num_heads)\n"
                                 "    X.shape = (*batch, n, num_heads, d_k)\n"
                                 "    return np.swapaxes(X, -3, -2)\n"},
         fails={"check_split_heads": "split_heads changed its input X (now of shape (3, 2, 2))"}),
    dict(name="score_cost_floor_division",
         answers={"score_cost": "def score_cost(n, d_model, num_heads):\n"
                                "    d_k = d_model // num_heads\n"
                                "    return num_heads * n * n * d_k\n"},
         fails={"check_score_cost": "score_cost(10, 7, 2) returned 600 instead of raising ValueError"}),
    dict(name="score_cost_without_head_dim",
         answers={"score_cost": "def score_cost(n, d_model, num_heads):\n    return n * n * d_model\n"},
         fails={"check_score_cost": "score_cost(10, 7, 2) returned 700 instead of raising ValueError"}),
    dict(name="score_cost_float",
         answers={"score_cost": "def score_cost(n, d_model, num_heads):\n"
                                "    return num_heads * n * n * (d_model / num_heads)\n"},
         fails={"check_score_cost": "a count of multiply-adds is an int"}),
    # found by a helper (wrong answers that kept their points)
    dict(name="split_heads_casts_to_float32",   # 8/8: it rounds every number
         answers={"split_heads": _SPLIT_HEAD + "    *batch, n, d_model = X.shape\n"
                                 "    d_k = head_dim(d_model, num_heads)\n"
                                 "    return np.swapaxes(X.reshape(*batch, n, num_heads, d_k), -3, -2).astype(np.float32)\n"},
         fails={"check_split_heads": "returned float32 numbers for an X of float64"}),
    # found by a helper attacking this stop's own checks
    dict(name="split_heads_rounds_through_float32",   # 8/8: float32 on the way, the dtype restored
         answers={"split_heads": _SPLIT_HEAD + "    dt = X.dtype\n    X = X.astype(np.float32)\n"
                                 "    *batch, n, d_model = X.shape\n"
                                 "    d_k = head_dim(d_model, num_heads)\n"
                                 "    return np.swapaxes(X.reshape(*batch, n, num_heads, d_k), -3, -2).astype(dt)\n"},
         fails={"check_split_heads": "not exactly X's (rounded on the way?)"}),
    dict(name="head_dim_relation_reversed",   # 8/8: "num_heads=2 must be divisible by d_model=7"
         answers={"head_dim": "def head_dim(d_model, num_heads):\n"
                              "    if num_heads < 1 or d_model % num_heads:\n"
                              "        raise ValueError(f'num_heads={num_heads} must be divisible by d_model={d_model}')\n"
                              "    return d_model // num_heads\n"},
         fails={"check_head_dim": "the wrong way round"}),
    # found by a helper attacking this stop's own checks (second round)
    dict(name="head_dim_says_must_not_be_divisible",
         answers={"head_dim": "def head_dim(d_model, num_heads):\n"
                              "    if num_heads < 1 or d_model % num_heads:\n"
                              "        raise ValueError(f'd_model={d_model} must not be divisible by num_heads={num_heads}')\n"
                              "    return d_model // num_heads\n"},
         fails={"check_head_dim": "the opposite of the rule"}),
    dict(name="head_dim_relation_reversed_in_names",
         answers={"head_dim": "def head_dim(d_model, num_heads):\n"
                              "    if num_heads < 1 or d_model % num_heads:\n"
                              "        raise ValueError(f'num_heads must be divisible by d_model (got d_model={d_model}, num_heads={num_heads})')\n"
                              "    return d_model // num_heads\n"},
         fails={"check_head_dim": "the wrong way round"}),
    # found by a helper: only batched input is changed in place (the batched checks passed copies)
    dict(name="split_heads_reshapes_a_batched_x_in_place",
         answers={"split_heads": _SPLIT_HEAD + "    d_k = head_dim(X.shape[-1], num_heads)\n"
                                 "    if X.ndim >= 3:\n"
                                 "        X.shape = (*X.shape[:-1], num_heads, d_k)\n"
                                 "        return np.swapaxes(X, -3, -2)\n"
                                 "    return np.swapaxes(X.reshape(*X.shape[:-1], num_heads, d_k), -3, -2)\n"},
         fails={"check_split_heads_batched": "with leading axes, split_heads changed its input X"}),
    # found by a helper: messages that name both numbers but state another rule, or none
    dict(name="head_dim_says_they_must_be_equal",
         answers=_message("d_model={d_model} and num_heads={num_heads} must be equal"),
         fails={"check_head_dim": "can't tell that it states the rule"}),
    dict(name="head_dim_says_d_model_must_be_a_factor",
         answers=_message("d_model={d_model} must be a factor of num_heads={num_heads}"),
         fails={"check_head_dim": "the wrong way round"}),
    dict(name="head_dim_says_d_model_is_divisible",
         answers=_message("d_model={d_model} is divisible by num_heads={num_heads}"),
         fails={"check_head_dim": "IS divisible"}),
    dict(name="head_dim_numbers_glued_together",
         answers=_message("bad sizes {d_model}{num_heads}: must be divisible"),
         fails={"check_head_dim": "should name both numbers"}),
    dict(name="head_dim_says_d_model_must_be_whole",
         answers=_message("d_model={d_model} must be a whole number (num_heads={num_heads})"),
         fails={"check_head_dim": "can't tell that it states the rule"}),
    dict(name="split_heads_returns_x_for_one_head",   # found by a helper: no head axis for num_heads == 1
         answers={"split_heads": _SPLIT_HEAD + "    if num_heads == 1:\n        return X\n"
                                 "    d_k = head_dim(X.shape[-1], num_heads)\n"
                                 "    return np.swapaxes(X.reshape(*X.shape[:-1], num_heads, d_k), -3, -2)\n"},
         fails={"check_split_heads": "keep the head axis for one head too"}),
]

CORRECT = [
    dict(name="head_dim_says_cannot_split",   # found by a helper (fairness)
         answers=_message("can't split d_model={d_model} into num_heads={num_heads} heads of the same number of columns")),
    dict(name="head_dim_says_must_be_an_int",
         answers=_message("d_model/num_heads = {d_model}/{num_heads} must be an int")),
    # found by a helper (fairness): the rule in other words
    dict(name="head_dim_says_mod",
         answers=_message("d_model ({d_model}) mod num_heads ({num_heads}) is not 0")),
    dict(name="head_dim_says_not_an_integer",
         answers=_message("d_k = {d_model}/{num_heads} is not an integer")),
    dict(name="head_dim_says_same_width",
         answers=_message("{d_model} columns can't be cut into {num_heads} heads of the same width")),
    dict(name="head_dim_says_leftover",
         answers=_message("{d_model} columns can't be shared among {num_heads} heads without a leftover")),
    dict(name="head_dim_says_goes_into",
         answers=_message("num_heads={num_heads} does not go into d_model={d_model}")),
    dict(name="head_dim_says_uneven",
         answers=_message("with d_model={d_model} and num_heads={num_heads} the heads would be uneven")),
    # found by a helper (fairness): messages that say it in other words were refused ("name both numbers")
    dict(name="head_dim_says_equal_parts",
         answers=_message("d_model={d_model} can't be split into num_heads={num_heads} equal parts")),
    dict(name="head_dim_says_remainder",
         answers=_message("d_model={d_model} / num_heads={num_heads} leaves a remainder")),
    dict(name="head_dim_says_whole_number",
         answers=_message("d_model={d_model}, num_heads={num_heads}: {d_model}/{num_heads} is not a whole number of "
                          "columns per head")),
    # found by a helper attacking this stop's own checks (third round)
    dict(name="head_dim_says_divisor",
         answers=_message("num_heads={num_heads} must be a divisor of d_model={d_model}")),
    dict(name="head_dim_says_which_numbers_divide",   # "is divisible only by": refused as "it says d_model is divisible"
         answers={"head_dim": "def head_dim(d_model, num_heads):\n"
                              "    if num_heads < 1 or d_model % num_heads:\n"
                              "        raise ValueError(f'd_model={d_model} must be divisible by num_heads={num_heads}; '\n"
                              "                         f'{d_model} is divisible only by '\n"
                              "                         f'{[k for k in range(1, d_model + 1) if d_model % k == 0]}')\n"
                              "    return d_model // num_heads\n"}),
    # found by a helper attacking this stop's own checks (second round)
    dict(name="head_dim_says_does_not_divide",
         answers=_message("num_heads ({num_heads}) does not divide d_model ({d_model})")),
    dict(name="head_dim_says_it_with_percent",
         answers={"head_dim": "def head_dim(d_model, num_heads):\n"
                              "    if num_heads < 1:\n"
                              "        raise ValueError(f'num_heads must be at least 1, got {num_heads}')\n"
                              "    if d_model % num_heads:\n"
                              "        raise ValueError(f'expected d_model % num_heads == 0, got {d_model} % {num_heads} = '\n"
                              "                         f'{d_model % num_heads}')\n"
                              "    return d_model // num_heads\n"}),
    dict(name="split_heads_always_float64",   # its numbers exactly, in more bits: not charged
         answers={"split_heads": _SPLIT_HEAD + "    X = np.asarray(X, dtype=float)\n"
                                 "    *batch, n, d_model = X.shape\n"
                                 "    d_k = head_dim(d_model, num_heads)\n"
                                 "    return np.swapaxes(X.reshape(*batch, n, num_heads, d_k), -3, -2)\n"}),
    # found by a helper: "must be a multiple of" says what "must be divisible by" says (it cost 2 points)
    dict(name="head_dim_says_multiple_of",
         answers={"head_dim": "def head_dim(d_model, num_heads):\n"
                              "    if num_heads < 1:\n"
                              "        raise ValueError(f'num_heads must be at least 1, got {num_heads}')\n"
                              "    if d_model % num_heads != 0:\n"
                              "        raise ValueError(f'd_model={d_model} must be a multiple of num_heads={num_heads}')\n"
                              "    return d_model // num_heads\n"}),
    # numpy integers are ints: d_k from numpy arithmetic used to cost 2 points ("return an int")
    dict(name="head_dim_a_numpy_integer",
         answers={"head_dim": "def head_dim(d_model, num_heads):\n"
                              "    if num_heads < 1 or d_model % num_heads:\n"
                              "        raise ValueError(f'd_model={d_model} must be divisible by num_heads={num_heads}')\n"
                              "    return np.int64(d_model) // num_heads\n"}),
    dict(name="head_dim_raises_a_subclass_of_value_error",
         answers={"head_dim": "class HeadSizeError(ValueError):\n    pass\n\n"
                              "def head_dim(d_model, num_heads):\n"
                              "    if num_heads < 1:\n"
                              "        raise HeadSizeError(f'num_heads must be at least 1, got num_heads={num_heads}')\n"
                              "    if d_model % num_heads != 0:\n"
                              "        raise HeadSizeError(f'd_model={d_model} must be divisible by num_heads={num_heads}')\n"
                              "    return d_model // num_heads\n"}),
    dict(name="score_cost_n_squared_d_model_after_head_dim",
         answers={"score_cost": "def score_cost(n, d_model, num_heads):\n"
                                "    head_dim(d_model, num_heads)   # raises for a bad num_heads\n"
                                "    return n ** 2 * d_model\n"}),
    dict(name="split_stack_of_column_slices",
         answers={"split_heads": _SPLIT_HEAD + "    d_k = head_dim(X.shape[-1], num_heads)\n"
                                 "    return np.stack([X[..., i*d_k:(i+1)*d_k] for i in range(num_heads)], axis=-3)\n"}),
    dict(name="split_einsum_and_divmod",
         answers={"split_heads": _SPLIT_HEAD + "    d_k = head_dim(X.shape[-1], num_heads)\n"
                                 "    return np.einsum('...nhd->...hnd', X.reshape(*X.shape[:-1], num_heads, d_k))\n",
                  "head_dim": "def head_dim(d_model, num_heads):\n"
                              "    if num_heads <= 0:\n"
                              "        raise ValueError(f'need num_heads >= 1, not {num_heads}')\n"
                              "    d_k, rest = divmod(d_model, num_heads)\n"
                              "    if rest:\n"
                              "        raise ValueError(f'd_model ({d_model}) is not divisible by num_heads ({num_heads})')\n"
                              "    return d_k\n"}),
    dict(name="score_cost_as_n2_d_model",
         answers={"score_cost": "def score_cost(n, d_model, num_heads):\n"
                                "    head_dim(d_model, num_heads)  # validates\n"
                                "    return n * n * d_model\n"}),
]
