"""The course's reference code that bench/mha_bench.py times, written by `python -m autograder release`
from solutions/ (don't edit: edit the solution notebooks)."""
import math

import torch
import torch.nn as nn


# ---- 01_projections ----
def head_dim(d_model, num_heads):
    """d_k = d_model / num_heads as an int; ValueError if the columns can't be shared out evenly."""
    if num_heads < 1:
        raise ValueError(f"num_heads must be at least 1, got num_heads={num_heads}")
    if d_model % num_heads != 0:
        raise ValueError(f"d_model={d_model} must be divisible by num_heads={num_heads} "
                         f"({d_model}/{num_heads} is not a whole number of columns per head)")
    return d_model // num_heads

# ---- 04_output_projection ----
class MultiHeadAttention(nn.Module):
    """Multi-head attention with weights (d_model, d_model) applied as x @ W, no biases."""

    def __init__(self, d_model, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.d_k = head_dim(d_model, num_heads)
        scale = 1 / math.sqrt(d_model)
        self.W_Q = nn.Parameter(torch.randn(d_model, d_model) * scale)
        self.W_K = nn.Parameter(torch.randn(d_model, d_model) * scale)
        self.W_V = nn.Parameter(torch.randn(d_model, d_model) * scale)
        self.W_O = nn.Parameter(torch.randn(d_model, d_model) * scale)

    def split(self, x):
        """(..., n, d_model) -> (..., num_heads, n, d_k): split_heads of notebook 01, in PyTorch (given)."""
        return x.unflatten(-1, (self.num_heads, self.d_k)).transpose(-3, -2)

    def forward(self, query, key, value, mask=None):
        """mask: bool, broadcastable to (..., n_q, n_k), True = may attend. Returns (output, weights)."""
        Q, K, V = self.split(query @ self.W_Q), self.split(key @ self.W_K), self.split(value @ self.W_V)
        scores = Q @ K.transpose(-1, -2) / math.sqrt(self.d_k)   # (..., h, n_q, n_k)
        if mask is not None:
            scores = scores.masked_fill(~mask.unsqueeze(-3), float("-inf"))
        weights = scores.softmax(dim=-1)
        heads = weights @ V                                       # (..., h, n_q, d_k)
        out = heads.transpose(-3, -2).flatten(-2)                 # (..., n_q, d_model)
        return out @ self.W_O, weights
