"""Wrong answers and correct variants for 06_heads_in_action (see tests/test_catalogue.py)."""
NOTEBOOK = "06_heads_in_action.ipynb"

_ABLATE = "def ablate_heads(concat, keep):\n"
_WITHOUT = "def without_heads(mha, keep):\n"
_IMPORTANCE = "def head_importance(loss_fn, num_heads):\n"
_PRUNE = "def prune_mask(importance, num_keep):\n"
_MCQ = "answer_many_heads = {!r}\n"

# The reference without_heads, with {zero} for the statement that zeroes weights of the dropped heads.
_WITHOUT_BODY = (
    "    pruned = copy.deepcopy(mha)\n"
    "    keep = torch.as_tensor(np.asarray(keep, dtype=bool))\n"
    "    mask = keep.repeat_interleave(mha.d_k).to(mha.W_O.dtype)   # (d_model,)\n"
    "    with torch.no_grad():\n"
    "        {zero}\n"
    "    return pruned\n"
)


def _without(zero):
    return _WITHOUT + _WITHOUT_BODY.format(zero=zero)


# The reference head_importance, with {removed} for the keep mask that is evaluated for head i.
def _importance(removed="[j != i for j in range(num_heads)]", result="loss_fn(keep) - base"):
    return (_IMPORTANCE
            + "    base = loss_fn([True] * num_heads)\n"
            "    importance = np.zeros(num_heads)\n"
            "    for i in range(num_heads):\n"
            f"        keep = {removed}\n"
            f"        importance[i] = {result}\n"
            "    return importance\n")


WRONG = [
    # ---- Exercise 1: ablate_heads ----
    dict(name="ablate_interleaved_columns",
         answers={"ablate_heads": _ABLATE
                  + "    h = len(keep)\n"
                  "    out = concat.clone()\n"
                  "    for i, k in enumerate(keep):\n"
                  "        if not k:\n"
                  "            out[..., i::h] = 0   # every h-th column: the wrong columns\n"
                  "    return out\n"},
         fails={"check_ablate_heads": "NEIGHBOURING columns"}),
    dict(name="ablate_keep_is_false",   # right for a list only: it was named 'the head before each dropped one'
         answers={"ablate_heads": "def ablate_heads(concat, keep):\n"
                  "    d_k = head_dim(concat.shape[-1], len(keep))\n"
                  "    out = concat.clone()\n"
                  "    for i in range(len(keep)):\n"
                  "        if keep[i] is False:\n"
                  "            out[..., i * d_k:(i + 1) * d_k] = 0\n"
                  "    return out\n"},
         fails={"check_ablate_heads": "`keep[i] is False` holds only for Python's own False"}),
    dict(name="ablate_kept_heads",
         answers={"ablate_heads": _ABLATE
                  + "    keep = torch.as_tensor(np.asarray(keep, dtype=bool))\n"
                  "    d_k = head_dim(concat.shape[-1], len(keep))\n"
                  "    return concat * (~keep).repeat_interleave(d_k).to(concat.dtype)\n"},
         fails={"check_ablate_heads": "the heads you were told to keep"}),
    dict(name="ablate_in_place",
         answers={"ablate_heads": _ABLATE
                  + "    d_k = head_dim(concat.shape[-1], len(keep))\n"
                  "    for i, k in enumerate(keep):\n"
                  "        if not k:\n"
                  "            concat[..., i * d_k:(i + 1) * d_k] = 0\n"
                  "    return concat\n"},
         fails={"check_ablate_heads": "changed its input"}),
    dict(name="ablate_token_rows",
         answers={"ablate_heads": _ABLATE
                  + "    out = concat.clone()\n"
                  "    for i, k in enumerate(keep):\n"
                  "        if not k:\n"
                  "            out[..., i, :] = 0   # a row is a token, not a head\n"
                  "    return out\n"},
         fails={"check_ablate_heads": "you zeroed a token"}),
    # pitfall 1 of notebook 01: floor division instead of head_dim, no divisibility check
    dict(name="ablate_floor_division_no_divisibility_check",
         answers={"ablate_heads": _ABLATE
                  + "    keep = [bool(k) for k in keep]\n"
                  "    d_k = concat.shape[-1] // len(keep)\n"
                  "    out = concat.clone()\n"
                  "    for i, k in enumerate(keep):\n"
                  "        if not k:\n"
                  "            out[..., i * d_k:(i + 1) * d_k] = 0\n"
                  "    return out\n"},
         fails={"check_ablate_heads": "d_model=5 must be divisible by the number of heads len(keep)=2"}),
    dict(name="ablate_floor_division_crashes_on_broadcast",
         answers={"ablate_heads": _ABLATE
                  + "    keep = torch.as_tensor(np.asarray(keep, dtype=bool))\n"
                  "    d_k = concat.shape[-1] // len(keep)\n"
                  "    return concat * keep.repeat_interleave(d_k).to(concat.dtype)\n"},
         fails={"check_ablate_heads": "d_model=5 is not divisible by len(keep)=2, so raise ValueError"}),
    # ---- Exercise 2: without_heads ----
    dict(name="ablate_gradients_off_until_it_returns",   # a ValueError leaves them off
         answers={"ablate_heads": _ABLATE
                  + "    torch.set_grad_enabled(False)\n"
                  "    keep = torch.as_tensor(np.asarray(keep, dtype=bool), device=concat.device)\n"
                  "    d_k = head_dim(concat.shape[-1], len(keep))\n"
                  "    torch.set_grad_enabled(True)\n"
                  "    return concat * keep.repeat_interleave(d_k).to(concat.dtype)\n"},
         fails={"check_ablate_heads": "ablate_heads left PyTorch's gradients switched off"}),
    dict(name="ablate_mask_of_float64",
         answers={"ablate_heads": _ABLATE
                  + "    keep = np.asarray(keep, dtype=bool)\n"
                  "    d_k = head_dim(concat.shape[-1], len(keep))\n"
                  "    return concat * torch.tensor(np.repeat(keep, d_k).astype(np.float64))\n"},
         fails={"check_ablate_heads": "turned a torch.float32 concat into torch.float64"}),
    dict(name="ablate_returns_numpy",
         answers={"ablate_heads": _ABLATE
                  + "    keep = np.asarray(keep, dtype=bool)\n"
                  "    d_k = head_dim(concat.shape[-1], len(keep))\n"
                  "    return concat.detach().cpu().numpy() * np.repeat(keep, d_k)\n"},
         fails={"check_ablate_heads": "ablate_heads returned a ndarray: return a torch tensor"}),
    dict(name="without_heads_freezes_the_original",
         answers={"without_heads": _WITHOUT
                  + "    mha.W_O.requires_grad_(False)   # so that the copy can be changed in place\n"
                  "    pruned = copy.deepcopy(mha)\n"
                  "    for i, k in enumerate(keep):\n"
                  "        if not bool(k):\n"
                  "            pruned.W_O[i * pruned.d_k:(i + 1) * pruned.d_k, :] = 0\n"
                  "    return pruned\n"},
         fails={"check_without_heads": "turned off requires_grad of the module it was given (W_O)"}),
    dict(name="without_heads_switches_gradients_off",
         answers={"without_heads": _WITHOUT
                  + "    torch.set_grad_enabled(False)\n"
                  "    pruned = copy.deepcopy(mha)\n"
                  "    rows = torch.as_tensor(np.asarray(keep, dtype=bool)).repeat_interleave(mha.d_k).to(mha.W_O.dtype)\n"
                  "    pruned.W_O.mul_(rows[:, None])\n"
                  "    return pruned\n"},
         fails={"check_without_heads": "without_heads left PyTorch's gradients switched off"}),
    dict(name="without_heads_after_W_O",
         answers={"without_heads": _without("pruned.W_O.mul_(mask[None, :])   # columns: after W_O")},
         fails={"check_without_heads": "you ablated after W_O"}),
    dict(name="without_heads_zero_query_key_weights",
         answers={"without_heads": _without("pruned.W_Q.mul_(mask[None, :]); pruned.W_K.mul_(mask[None, :])")},
         fails={"check_without_heads": "query/key weights"}),
    dict(name="without_heads_changes_original",
         answers={"without_heads": _WITHOUT
                  + "    keep = torch.as_tensor(np.asarray(keep, dtype=bool))\n"
                  "    with torch.no_grad():\n"
                  "        mha.W_O.mul_(keep.repeat_interleave(mha.d_k).to(mha.W_O.dtype)[:, None])\n"
                  "    return mha\n"},
         fails={"check_without_heads": "changed the module it was given"}),
    # ---- Exercise 3: head_importance ----
    # found by a helper attacking the grader: every loss had a head whose removal cost 0, so the smallest loss
    # without one head was the loss with all heads, and this got full marks
    dict(name="importance_minus_smallest_removal",
         answers={"head_importance": _IMPORTANCE +
                  "    losses = np.array([loss_fn([j != i for j in range(num_heads)]) for i in range(num_heads)])\n"
                  "    return losses - losses.min()\n"},
         fails={"check_head_importance": "the baseline is the loss with all heads kept"}),
    dict(name="importance_only_head_i_kept",
         answers={"head_importance": _importance(removed="[j == i for j in range(num_heads)]")},
         fails={"check_head_importance": "ONLY head i kept"}),
    dict(name="importance_no_baseline",
         answers={"head_importance": _importance(result="loss_fn(keep)")},
         fails={"check_head_importance": "subtract the loss with all heads kept"}),
    dict(name="importance_wrong_sign",
         answers={"head_importance": _importance(result="base - loss_fn(keep)")},
         fails={"check_head_importance": "wrong sign"}),
    # found by a helper attacking notebook 06: every loss the checks used had a base of 1.0
    dict(name="importance_baseline_assumed_1",
         answers={"head_importance": _importance(result="loss_fn(keep) - 1.0")},
         fails={"check_head_importance": "not assumed to be 1"}),
    dict(name="importance_relative_increase",
         answers={"head_importance": _importance(result="(loss_fn(keep) - base) / base")},
         fails={"check_head_importance": "relative increase"}),
    dict(name="importance_returns_a_list",
         answers={"head_importance": _IMPORTANCE
                  + "    base = loss_fn([True] * num_heads)\n"
                  "    return [loss_fn([j != i for j in range(num_heads)]) - base for i in range(num_heads)]\n"},
         fails={"check_head_importance": "head_importance returned a list"}),
    # ---- Exercise 4: prune_mask ----
    dict(name="prune_mask_of_ints",
         answers={"prune_mask": _PRUNE
                  + "    importance = np.asarray(importance, dtype=float)\n"
                  "    keep = np.zeros(len(importance), dtype=int)\n"
                  "    if num_keep:\n"
                  "        keep[np.argsort(-importance, kind='stable')[:num_keep]] = 1\n"
                  "    return keep\n"},
         fails={"check_prune_mask": "picks the positions 0 and 1"}),
    dict(name="prune_overwrites_the_importances",
         answers={"prune_mask": _PRUNE
                  + "    imp = np.asarray(importance, dtype=float)\n"
                  "    keep = np.zeros(len(imp), dtype=bool)\n"
                  "    for _ in range(num_keep):\n"
                  "        best = int(np.argmax(imp))\n"
                  "        keep[best] = True\n"
                  "        imp[best] = -np.inf          # don't pick it again\n"
                  "    return keep\n"},
         fails={"check_prune_mask": "prune_mask changed its input"}),
    dict(name="prune_keeps_least_important",
         answers={"prune_mask": _PRUNE
                  + "    keep = np.zeros(len(importance), dtype=bool)\n"
                  "    keep[np.argsort(importance)[:num_keep]] = True   # ranked the wrong way round\n"
                  "    return keep\n"},
         fails={"check_prune_mask": "LEAST important"}),
    dict(name="prune_returns_indices",
         answers={"prune_mask": _PRUNE + "    return np.argsort(importance)[::-1][:num_keep]\n"},
         fails={"check_prune_mask": "not the indices"}),
    dict(name="prune_num_keep_zero_keeps_all",
         answers={"prune_mask": _PRUNE
                  + "    importance = np.asarray(importance, dtype=float)\n"
                  "    keep = np.zeros(len(importance), dtype=bool)\n"
                  "    keep[np.argsort(importance)[-num_keep:]] = True\n"
                  "    return keep\n"},
         fails={"check_prune_mask": "num_keep = 0"}),
    # a threshold keeps every head tied with the num_keep-th largest importance: more than num_keep heads
    dict(name="prune_threshold_keeps_ties",
         answers={"prune_mask": _PRUNE
                  + "    importance = np.asarray(importance, dtype=float)\n"
                  "    if num_keep == 0:\n"
                  "        return np.zeros(len(importance), dtype=bool)\n"
                  "    threshold = np.sort(importance)[-num_keep]\n"
                  "    return importance >= threshold\n"},
         fails={"check_prune_mask": "keep exactly num_keep heads, even when importances are tied"}),
    # ---- Exercise 5: the question on the heads-vs-accuracy plot ----
    dict(name="many_heads_more_weights",
         answers={"many_heads_question": _MCQ.format("A")},
         fails={"check_many_heads_question": "not A"}),
    dict(name="many_heads_scaling",
         answers={"many_heads_question": _MCQ.format("D")},
         fails={"check_many_heads_question": "not D"}),
    # divisibility tested as d_model % d_k with d_k = d_model // len(keep): 5 % 2 raises, 6 columns / 4 heads doesn't
    dict(name="ablate_mod_d_k_instead_of_num_heads",
         answers={"ablate_heads": _ABLATE
                  + "    keep = [bool(k) for k in keep]\n"
                    "    d_model = concat.shape[-1]\n"
                    "    d_k = d_model // len(keep)\n"
                    "    if d_model % d_k:\n"
                    "        raise ValueError(f'{d_model} is not a multiple of {d_k}')\n"
                    "    out = concat.clone()\n"
                    "    for i, k in enumerate(keep):\n"
                    "        if not k:\n"
                    "            out[..., i * d_k:(i + 1) * d_k] = 0\n"
                    "    return out\n"},
         fails={"check_ablate_heads": "6 columns are not divisible by 4 heads (6 / 4 = 1.5 columns per head), so the "
                                      "heads can't own equal groups of columns (pitfall 1). Test d_model % len(keep) "
                                      "itself"}),
    # parity instead of divisibility: on 6 columns and 4 heads the mask has the wrong length and torch raises
    dict(name="ablate_parity_check",
         answers={"ablate_heads": _ABLATE
                  + "    if concat.shape[-1] % 2:\n"
                    "        raise ValueError('odd width')\n"
                    "    keep = torch.as_tensor(np.asarray(keep, dtype=bool))\n"
                    "    d_k = concat.shape[-1] // len(keep)\n"
                    "    return concat * keep.repeat_interleave(d_k).to(concat.dtype)\n"},
         fails={"check_ablate_heads": "d_model=6 is not divisible by len(keep)=4, so raise ValueError"}),
    # parity, then a loop that never fails: 6 columns and 4 heads return a tensor
    dict(name="ablate_parity_check_loop",
         answers={"ablate_heads": _ABLATE
                  + "    if concat.shape[-1] % 2:\n"
                    "        raise ValueError('odd width')\n"
                    "    d_k = concat.shape[-1] // len(keep)\n"
                    "    out = concat.clone()\n"
                    "    for i, k in enumerate(keep):\n"
                    "        if not bool(k):\n"
                    "            out[..., i * d_k:(i + 1) * d_k] = 0\n"
                    "    return out\n"},
         fails={"check_ablate_heads": "ablate_heads(concat of shape (2, 6), keep of 4 heads) returned instead of "
                                      "raising ValueError: 6 columns are not divisible by 4 heads"}),
    # ranks by |importance|: a head whose removal lowers the loss (negative importance) is kept
    dict(name="prune_by_absolute_importance",
         answers={"prune_mask": _PRUNE
                  + "    imp = np.abs(np.asarray(importance, dtype=float))\n"
                    "    keep = np.zeros(len(imp), dtype=bool)\n"
                    "    if num_keep:\n"
                    "        keep[np.argsort(imp, kind='stable')[-num_keep:]] = True\n"
                    "    return keep\n"},
         fails={"check_prune_mask": "importance is signed: a negative importance means the model does better without "
                                    "the head"}),
    # |importance| only for torch tensors (the visible checks pass lists)
    dict(name="prune_abs_only_for_tensors",
         answers={"prune_mask": _PRUNE
                  + "    imp = importance.abs().numpy() if torch.is_tensor(importance) else np.asarray(importance, dtype=float)\n"
                    "    keep = np.zeros(len(imp), dtype=bool)\n"
                    "    if num_keep:\n"
                    "        keep[np.argsort(imp, kind='stable')[-num_keep:]] = True\n"
                    "    return keep\n"},
         fails={"check_prune_mask": "with importances [-3.0, 0.5, 0.1, -0.2, 1.1] you kept head 0, whose importance "
                                    "is -3.0: importance is signed"}),
    dict(name="prune_threshold_trim_first_tie_only",
         answers={"prune_mask": _PRUNE
                  + "    imp = np.asarray(importance, dtype=float)\n"
                    "    if num_keep == 0:\n"
                    "        return np.zeros(len(imp), dtype=bool)\n"
                    "    t = np.sort(imp)[-num_keep]\n"
                    "    keep = imp >= t\n"
                    "    if keep.sum() > num_keep:\n"
                    "        keep[np.flatnonzero(imp == t)[0]] = False   # drops ONE tied head only\n"
                    "    return keep\n"},
         fails={"check_prune_mask": "keep exactly num_keep heads"}),
    # found by a helper attacking notebook 06: the first five kept 8/8; the last two lost points under another name
    dict(name="importance_absolute_value",
         answers={"head_importance": _IMPORTANCE + "    base = loss_fn([True] * num_heads)\n"
                  "    return np.array([abs(loss_fn([j != i for j in range(num_heads)]) - base) for i in range(num_heads)])\n"},
         fails={"check_head_importance": "Importance is signed"}),
    dict(name="importance_clipped_at_0",
         answers={"head_importance": _IMPORTANCE + "    base = loss_fn([True] * num_heads)\n"
                  "    return np.array([max(0.0, loss_fn([j != i for j in range(num_heads)]) - base)\n"
                  "                     for i in range(num_heads)])\n"},
         fails={"check_head_importance": "Importance is signed"}),
    dict(name="without_heads_d_k_fixed_at_4",
         answers={"without_heads": _WITHOUT + "    pruned = copy.deepcopy(mha)\n    d_k = 4\n"
                  "    with torch.no_grad():\n        for i, k in enumerate(keep):\n            if not k:\n"
                  "                pruned.W_O[i * d_k:(i + 1) * d_k, :] = 0\n    return pruned\n"},
         fails={"check_without_heads": "not a fixed number"}),
    dict(name="without_heads_cached_by_keep",
         answers={"without_heads": "_wo_cache = {}\n\n" + _WITHOUT + "    key = tuple(bool(k) for k in keep)\n"
                  "    if key not in _wo_cache:\n        pruned = copy.deepcopy(mha)\n"
                  "        with torch.no_grad():\n            for i, k in enumerate(key):\n                if not k:\n"
                  "                    pruned.W_O[i * mha.d_k:(i + 1) * mha.d_k, :] = 0\n"
                  "        _wo_cache[key] = pruned\n    return copy.deepcopy(_wo_cache[key])\n"},
         fails={"check_without_heads": "made from the mha it is given"}),
    dict(name="ablate_cached_by_shape_and_keep",
         answers={"ablate_heads": "_ab_cache = {}\n\n" + _ABLATE
                  + "    key = (tuple(concat.shape), tuple(bool(k) for k in keep))\n"
                  "    if key not in _ab_cache:\n        d_k = head_dim(concat.shape[-1], len(keep))\n"
                  "        _ab_cache[key] = concat * torch.tensor(key[1], dtype=concat.dtype).repeat_interleave(d_k)\n"
                  "    return _ab_cache[key].clone()\n"},
         fails={"check_ablate_heads": "don't keep results from earlier calls"}),
    dict(name="ablate_one_head_early",
         answers={"ablate_heads": _ABLATE + "    d_k = head_dim(concat.shape[-1], len(keep))\n    out = concat.clone()\n"
                  "    for i, k in enumerate(keep):\n        if not k:\n            out[..., (i - 1) * d_k:i * d_k] = 0\n"
                  "    return out\n"},
         fails={"check_ablate_heads": "the head before the dropped one"}),
    dict(name="prune_mask_drops_all_but_num_keep_by_negative_slice",
         answers={"prune_mask": _PRUNE + "    imp = np.array(importance, dtype=float)\n"
                  "    mask = np.ones(len(imp), dtype=bool)\n    mask[np.argsort(imp)[:-num_keep]] = False\n    return mask\n"},
         fails={"check_prune_mask": "x[:-0] is EMPTY"}),
    # ---- found by a helper attacking the grader (3rd round): right score, a message that named nothing ----
    dict(name="without_heads_keep_tiled",
         answers={"without_heads": _WITHOUT + "    pruned = copy.deepcopy(mha)\n"
                  "    rows = torch.tensor([float(bool(k)) for k in keep]).repeat(mha.d_k)\n"
                  "    with torch.no_grad():\n        pruned.W_O.mul_(rows[:, None])\n    return pruned\n"},
         fails={"check_without_heads": "you kept every other row of W_O (keep tiled"}),
    dict(name="without_heads_keep_is_false",
         answers={"without_heads": _WITHOUT + "    pruned = copy.deepcopy(mha)\n"
                  "    with torch.no_grad():\n        for i in range(len(keep)):\n"
                  "            if keep[i] is False:\n"
                  "                pruned.W_O[i * mha.d_k:(i + 1) * mha.d_k] = 0\n    return pruned\n"},
         fails={"check_without_heads": "`keep[i] is False` holds only for Python's own False"}),
    # found by a helper (wrong answers that kept their points)
    dict(name="ablate_heads_indexes_axis_1",   # was told to test keep's entries by truth (it did)
         answers={"ablate_heads": _ABLATE + "    d_k = head_dim(concat.shape[-1], len(keep))\n"
                                  "    out = concat.clone()\n"
                                  "    for i, k in enumerate(keep):\n"
                                  "        if not k:\n"
                                  "            out[:, i * d_k:(i + 1) * d_k] = 0\n"
                                  "    return out\n"},
         fails={"check_ablate_heads": "indexes the columns as axis 1"}),
    # found by a helper: with every head kept, the input itself is handed back (not a new tensor, not a copy)
    dict(name="ablate_returns_concat_when_all_kept",
         answers={"ablate_heads": _ABLATE
                  + "    d_k = head_dim(concat.shape[-1], len(keep))\n"
                  "    if all(bool(k) for k in keep):\n"
                  "        return concat\n"
                  "    mask = torch.as_tensor(np.asarray(keep, dtype=bool), device=concat.device).repeat_interleave(d_k)\n"
                  "    return concat * mask.to(concat.dtype)\n"},
         fails={"check_ablate_heads": "returned concat itself"}),
    dict(name="without_returns_mha_when_all_kept",
         answers={"without_heads": _WITHOUT
                  + "    if all(bool(k) for k in keep):\n"
                  "        return mha\n"
                  + _WITHOUT_BODY.format(zero="pruned.W_O.mul_(mask[:, None])")},
         fails={"check_without_heads": "returned mha itself"}),
]

CORRECT = [
    dict(name="many_heads_question_in_brackets",   # "(B)" and "B." were refused
         answers={"many_heads_question": _MCQ.format("(B)")}),
    dict(name="importance_in_a_thread_pool",   # found by a helper: loss_fn's answers swapped between threads
         answers={"head_importance": "from concurrent.futures import ThreadPoolExecutor\n\n" + _IMPORTANCE
                  + "    keeps = [[True] * num_heads] + [[j != i for j in range(num_heads)] for i in range(num_heads)]\n"
                    "    with ThreadPoolExecutor(max_workers=4) as pool:\n"
                    "        losses = list(pool.map(loss_fn, keeps))\n"
                    "    return np.array(losses[1:], dtype=float) - losses[0]\n"}),
    dict(name="ablate_loop_over_heads_with_clone",
         answers={"ablate_heads": _ABLATE
                  + "    if concat.shape[-1] % len(keep):\n"
                  "        raise ValueError('d_model must be divisible by the number of heads')\n"
                  "    d_k = concat.shape[-1] // len(keep)\n"
                  "    out = concat.clone()\n"
                  "    for i in range(len(keep)):\n"
                  "        if not bool(keep[i]):\n"
                  "            out[..., i * d_k:(i + 1) * d_k] = 0.0\n"
                  "    return out\n"}),
    dict(name="ablate_unflatten_heads",
         answers={"ablate_heads": _ABLATE
                  + "    h = len(keep)\n"
                  "    k = torch.tensor([float(bool(x)) for x in keep], dtype=concat.dtype)\n"
                  "    per_head = concat.unflatten(-1, (h, head_dim(concat.shape[-1], h)))   # (..., n, h, d_k)\n"
                  "    return (per_head * k[:, None]).flatten(-2)\n"}),
    dict(name="without_heads_zero_value_columns",
         answers={"without_heads": _without("pruned.W_V.mul_(mask[None, :])   # no value, no output")}),
    dict(name="without_heads_new_parameter",
         answers={"without_heads": _WITHOUT
                  + "    pruned = copy.deepcopy(mha)\n"
                  "    rows = np.repeat(np.asarray(keep, dtype=bool), mha.d_k)\n"
                  "    W_O = pruned.W_O.detach().clone()\n"
                  "    W_O[torch.as_tensor(~rows)] = 0\n"
                  "    pruned.W_O = torch.nn.Parameter(W_O)\n"
                  "    return pruned\n"}),
    dict(name="importance_eye_masks",
         answers={"head_importance": _IMPORTANCE
                  + "    drop = np.eye(num_heads, dtype=bool)\n"
                  "    base = loss_fn([True] * num_heads)\n"
                  "    return np.array([loss_fn(list(~drop[i])) for i in range(num_heads)]) - base\n"}),
    dict(name="prune_sorted_descending",
         answers={"prune_mask": _PRUNE
                  + "    order = sorted(range(len(importance)), key=lambda i: float(importance[i]), reverse=True)\n"
                  "    return np.array([i in order[:num_keep] for i in range(len(importance))])\n"}),
    dict(name="ablate_torch_where",
         answers={"ablate_heads": _ABLATE
                  + "    keep = torch.as_tensor(list(map(bool, keep)))\n"
                  "    d_k = head_dim(concat.shape[-1], len(keep))\n"
                  "    cols = keep.repeat_interleave(d_k).to(concat.device)\n"
                  "    return torch.where(cols, concat, torch.zeros_like(concat))\n"}),
    dict(name="prune_argsort_descending_stable",   # ties: the lower index is kept
         answers={"prune_mask": _PRUNE
                  + "    imp = np.asarray(importance, dtype=float)\n"
                  "    order = np.argsort(-imp, kind='stable')\n"
                  "    keep = np.zeros(imp.shape, dtype=bool)\n"
                  "    keep[order[:num_keep]] = True\n"
                  "    return keep\n"}),
    dict(name="prune_torch_topk",                  # ties: whichever topk picks
         answers={"prune_mask": _PRUNE
                  + "    imp = torch.as_tensor(np.asarray(importance, dtype=float))\n"
                  "    keep = torch.zeros(len(imp), dtype=torch.bool)\n"
                  "    keep[torch.topk(imp, num_keep).indices] = True\n"
                  "    return keep.numpy()\n"}),
    dict(name="prune_rank_below_num_keep",         # rank of each head by descending importance, ties by index
         answers={"prune_mask": _PRUNE
                  + "    imp = np.asarray(importance, dtype=float)\n"
                  "    rank = np.empty(len(imp), dtype=int)\n"
                  "    rank[np.lexsort((np.arange(len(imp)), -imp))] = np.arange(len(imp))\n"
                  "    return rank < num_keep\n"}),
    dict(name="many_heads_lower_case",
         answers={"many_heads_question": _MCQ.format(" b ")}),
    dict(name="ablate_own_value_error",
         answers={"ablate_heads": _ABLATE
                  + "    h = len(keep)\n"
                    "    if concat.shape[-1] % h:\n"
                    "        raise ValueError('cannot share the columns out evenly')\n"
                    "    keep = torch.tensor([bool(k) for k in keep])\n"
                    "    return concat * keep.repeat_interleave(concat.shape[-1] // h).to(concat.dtype)\n"}),
    # unflatten raises RuntimeError on 5 or 6 columns; converted to ValueError
    dict(name="ablate_unflatten_reraised",
         answers={"ablate_heads": _ABLATE
                  + "    keep = torch.as_tensor(np.asarray(keep, dtype=bool))\n"
                    "    try:\n"
                    "        heads = concat.unflatten(-1, (len(keep), -1))\n"
                    "    except RuntimeError as err:\n"
                    "        raise ValueError(str(err)) from err\n"
                    "    return (heads * keep[:, None].to(concat.dtype)).flatten(-2)\n"}),
    dict(name="prune_torch_bool_tensor",
         answers={"prune_mask": _PRUNE
                  + "    imp = torch.as_tensor(np.asarray(importance, dtype=float))\n"
                    "    keep = torch.zeros(len(imp), dtype=torch.bool)\n"
                    "    keep[imp.argsort(descending=True, stable=True)[:num_keep]] = True\n"
                    "    return keep\n"}),
    dict(name="prune_list_of_bools",
         answers={"prune_mask": _PRUNE
                  + "    imp = [float(v) for v in importance]\n"
                    "    chosen = sorted(range(len(imp)), key=lambda j: -imp[j])[:num_keep]\n"
                    "    return [j in chosen for j in range(len(imp))]\n"}),
    dict(name="prune_argpartition",
         answers={"prune_mask": _PRUNE
                  + "    imp = np.asarray(importance, dtype=float)\n"
                    "    keep = np.zeros(imp.shape, dtype=bool)\n"
                    "    if 0 < num_keep < len(imp):\n"
                    "        keep[np.argpartition(-imp, num_keep - 1)[:num_keep]] = True\n"
                    "    elif num_keep >= len(imp):\n"
                    "        keep[:] = True\n"
                    "    return keep\n"}),
]
