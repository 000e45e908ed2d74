"""A small causal transformer language model: the baseline an auto-regressive tree is compared with.

Token and position embeddings, pre-norm transformer blocks with a causal mask, a linear read-out.
Trained on random windows of a token stream with AdamW. `lm_next_word` turns it into a next-word
distribution (companion.science.next_word) for sampling and scoring, and `hidden_states` reads its last
layer, on which other models (trees, linear probes) can be trained.

Used in the chapters: decision-trees-lm.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from companion.science.next_word import NextWord


class CausalLM(nn.Module):
    """A GPT-style model over `vocabulary` tokens that reads at most `context` tokens."""

    def __init__(self, vocabulary: int, context: int, dim: int = 64, depth: int = 2, heads: int = 4) -> None:
        super().__init__()
        self.context = context
        self.embed, self.position = nn.Embedding(vocabulary, dim), nn.Embedding(context, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, vocabulary)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (N, T, vocabulary) of the next token at every position of `tokens` (N, T <= context)."""
        return self.head(self.hidden(tokens))

    def hidden(self, tokens: torch.Tensor) -> torch.Tensor:
        """The normalised last-layer states (N, T, dim) that the read-out maps to logits."""
        t = tokens.shape[1]
        if t > self.context:
            raise ValueError(f"at most {self.context} tokens fit the context, got {t}")
        x = self.embed(tokens) + self.position(torch.arange(t, device=tokens.device))
        mask = nn.Transformer.generate_square_subsequent_mask(t, device=tokens.device)
        return self.norm(self.blocks(x, mask=mask, is_causal=True))


def train_lm(model: CausalLM, sequences: Sequence[np.ndarray], steps: int, batch_size: int = 32,
             lr: float = 3e-3, seed: int = 0) -> np.ndarray:
    """AdamW on random windows of `model.context` + 1 tokens of the concatenated sequences; the losses."""
    device = next(model.parameters()).device
    stream = torch.as_tensor(np.concatenate(list(sequences))).to(device)  # the corpus moves to the device once
    window = torch.arange(model.context + 1, device=device)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        starts = torch.randint(0, len(stream) - model.context - 1, (batch_size,), generator=g)
        chunk = stream[starts.to(device)[:, None] + window]  # the windows, cut out on the device
        logits = model(chunk[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.detach())  # read once at the end: no wait for the GPU on every step
    return torch.stack(losses).cpu().numpy().astype(np.float64)


@torch.no_grad()
def _at_last_position(model: CausalLM, contexts: np.ndarray, read: Callable[[torch.Tensor], torch.Tensor],
                      chunk: int = 4096) -> np.ndarray:
    """read(states at the last position) for each row of `contexts` (M, C; ids, -1 = left padding),
    each row cut to its real tokens and to the model's context; rows are grouped by length."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    contexts = contexts[:, -model.context:]
    lengths = (contexts >= 0).sum(1)
    if (lengths == 0).any():
        raise ValueError("a context with no words has no last position: start texts with a prompt")
    out: np.ndarray | None = None
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        for part in np.array_split(rows, max(1, len(rows) // chunk)):
            tokens = torch.as_tensor(contexts[part, contexts.shape[1] - length:], device=device)
            values = read(model.hidden(tokens)[:, -1]).float().cpu().numpy()
            if out is None:
                out = np.empty((len(contexts), values.shape[1]), dtype=np.float64)
            out[part] = values
    model.train(was_training)
    return out


def lm_next_word(model: CausalLM) -> NextWord:
    """The model's next-word distribution (softmax of its logits at the last word of each context)."""
    return lambda contexts: _at_last_position(model, contexts, lambda h: torch.softmax(model.head(h), -1))


def hidden_states(model: CausalLM, contexts: np.ndarray) -> np.ndarray:
    """The last-layer state at the last word of each context (M, dim): features for other models."""
    return _at_last_position(model, contexts, lambda h: h)
