"""A small causal transformer language model: the baseline an auto-regressive tree is compared with.

Token and position embeddings, pre-norm transformer blocks with a causal mask, a linear read-out.
Trained on random windows of a token stream with AdamW; evaluated by next-token accuracy and
perplexity; sampled ancestrally.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


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
        t = tokens.shape[1]
        if t > self.context:
            raise ValueError(f"at most {self.context} tokens fit the context, got {t}")
        x = self.embed(tokens) + self.position(torch.arange(t, device=tokens.device))
        mask = nn.Transformer.generate_square_subsequent_mask(t, device=tokens.device)
        return self.head(self.norm(self.blocks(x, mask=mask, is_causal=True)))


def train_lm(model: CausalLM, sequences: Sequence[np.ndarray], steps: int, batch_size: int = 32,
             lr: float = 3e-3, seed: int = 0) -> np.ndarray:
    """AdamW on random windows of `model.context` + 1 tokens of the concatenated sequences; the losses."""
    stream = torch.as_tensor(np.concatenate(list(sequences)))
    device = next(model.parameters()).device
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        starts = torch.randint(0, len(stream) - model.context - 1, (batch_size,), generator=g)
        chunk = torch.stack([stream[s:s + model.context + 1] for s in starts]).to(device)
        logits = model(chunk[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses)


@torch.no_grad()
def evaluate_lm(model: CausalLM, sequences: Sequence[np.ndarray]) -> tuple[float, float]:
    """Next-token accuracy and perplexity over every position after the first of each sequence, each
    predicted from (at most `context` of) the tokens before it within the sequence."""
    model.eval()
    device = next(model.parameters()).device
    correct = nll = count = 0.0
    for seq in sequences:
        tokens = torch.as_tensor(seq, device=device)
        for end in range(1, len(seq), model.context):  # predict positions end..end+context-1
            stop = min(end + model.context, len(seq))
            lo = max(0, stop - 1 - model.context)
            logits = model(tokens[None, lo:stop - 1])[0, end - 1 - lo:]
            target = tokens[end:stop]
            correct += (logits.argmax(-1) == target).sum().item()
            nll += F.cross_entropy(logits, target, reduction="sum").item()
            count += len(target)
    model.train()
    return correct / count, float(np.exp(nll / count))


@torch.no_grad()
def sample_lm(model: CausalLM, prompt: np.ndarray, steps: int, seed: int = 0, stop: int | None = None) -> np.ndarray:
    """Up to `steps` tokens after `prompt`, sampled from the model's next-token distribution."""
    model.eval()
    g = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    text = list(prompt)
    for _ in range(steps):
        context = torch.as_tensor(text[-model.context:], device=device)[None]
        probs = torch.softmax(model(context)[0, -1].float().cpu(), -1)
        token = int(torch.multinomial(probs, 1, generator=g))
        text.append(token)
        if token == stop:
            break
    model.train()
    return np.array(text)
