"""What a learner's function did to the checker's objects, mirrored on the checker's side.

A check hands the learner's function copies (the values cross the wire, wire.py); after the call the
learner's side sends back what those copies became, and the checker's own objects are changed to match, so
that a check still sees "your function changed its input" or "your parameters are no longer float64".
"""
from __future__ import annotations

import contextlib


def copy_back(sent, after, depth: int = 0) -> None:
    """Arrays and tensors a learner function changed in place change here too (the same dtype and number of
    elements; a changed shape too)."""
    if depth > 3:
        return
    if type(sent) in (list, tuple) and type(after) in (list, tuple) and len(sent) == len(after):
        for a, b in zip(sent, after):
            copy_back(a, b, depth + 1)
    elif type(sent) is dict and type(after) is dict:
        for key in sent.keys() & after.keys():
            copy_back(sent[key], after[key], depth + 1)
    elif type(sent).__name__ == "ndarray" and type(after) is type(sent):
        if sent.shape != after.shape and sent.size == after.size and sent.flags.writeable:
            try:
                sent.shape = after.shape   # the learner's code reshaped it in place (`X.shape = ...`)
            except AttributeError:         # a view that can't take that shape in place: left as it was
                return
        if sent.shape == after.shape and sent.dtype == after.dtype and sent.flags.writeable:
            sent[...] = after
    elif type(sent).__name__ in ("Tensor", "Parameter") and hasattr(after, "shape"):
        import torch
        if isinstance(after, torch.Tensor) and sent.dtype == after.dtype and sent.numel() == after.numel():
            # (a leaf that requires grad can't be reshaped in place: RuntimeError, and it stays as it was)
            with contextlib.suppress(RuntimeError), torch.no_grad():
                if sent.shape == after.shape:
                    sent.copy_(after.to(sent.device))
                else:   # reshaped in place (`x.unsqueeze_(0)`, `x.t_()`): reshaped here too
                    sent.set_(after.to(sent.device).clone())


def load_module(module, state: dict, frozen: list | None = None) -> None:
    """A module the learner's function changed: its state, as the learner left it. `load_state_dict` alone
    would cast the values to the old dtypes, so a parameter whose dtype or shape changed (`p.data = t.float()`)
    takes the new tensor, as `.data` does; `frozen` is [names frozen, names unfrozen] (`requires_grad_`)."""
    import torch
    own = module.state_dict(keep_vars=True)
    changed = {k: v for k, v in state.items() if k in own and isinstance(v, torch.Tensor)
               and (v.dtype != own[k].dtype or v.shape != own[k].shape)}
    with contextlib.suppress(Exception), torch.no_grad():   # a state we can't load: the check sees the old one
        module.load_state_dict({k: v for k, v in state.items() if k not in changed}, strict=False)
    with torch.no_grad():
        for key, value in changed.items():
            own[key].data = value.to(own[key].device)
    if type(frozen) is list and len(frozen) == 2 and all(type(names) is list for names in frozen):
        params = dict(module.named_parameters())
        for names, requires_grad in zip(frozen, (False, True)):
            for name in names:
                if str(name) in params:
                    params[str(name)].requires_grad_(requires_grad)
