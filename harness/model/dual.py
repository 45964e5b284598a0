"""Dual encoders for retrieval targets fine-tuned on English pairs (LAReQA on SQuAD v1.1,
Mewsli-X on English Wikipedia mention-entity pairs), as XTREME-R's ``run_retrieval_qa.py`` /
``run_retrieval_el.py`` train them.

One encoder (both towers share it) with a fresh pooler: a text's vector is the L2-normalised
``tanh(W h_<s> + b)`` of its first token (the XLM-R pooler the reference's
``XLMRobertaForRetrieval`` reads, which an MLM checkpoint does not train). Training is in-batch
softmax: each query of a micro-batch must pick its own candidate among the batch's candidates,
by cosine similarity times a learned scale (initialised to 100, as the reference); the
cross-entropy of the query -> candidate direction is the loss. Queries are cut to
``max_query_length`` tokens, candidates to ``max_length``. Scoring encodes queries and the
candidate pool with the same tower (:class:`DualTextEncoder`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from harness.device import pick_device
from harness.progress import progress_bar


@dataclass
class PairFeature:
    """A training pair: the query's and its gold candidate's token ids."""

    query_ids: list[int]
    candidate_ids: list[int]

    @property
    def input_ids(self) -> list[int]:
        return self.query_ids  # the length the batching groups by


@dataclass
class DualOutput:
    loss: torch.Tensor
    logits: torch.Tensor


class DualEncoder(nn.Module):
    """Shared-tower dual encoder over ``encoder`` (a bare transformer encoder)."""

    def __init__(self, encoder: Any, seed: int) -> None:
        super().__init__()
        self.encoder = encoder
        hidden = int(encoder.config.hidden_size)
        generator = torch.Generator().manual_seed(seed)
        self.pooler = nn.Linear(hidden, hidden)
        std = float(getattr(encoder.config, "initializer_range", 0.02))
        with torch.no_grad():
            self.pooler.weight.copy_(torch.randn(hidden, hidden, generator=generator) * std)
            self.pooler.bias.zero_()
        self.logit_scale = nn.Parameter(torch.tensor(100.0))
        self.config = encoder.config

    def embed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """L2-normalised pooled vectors of a padded batch."""
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask)
        first = states.last_hidden_state[:, 0]
        return nn.functional.normalize(torch.tanh(self.pooler(first)).float(), p=2, dim=-1)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        candidate_ids: torch.Tensor,
        candidate_mask: torch.Tensor,
    ) -> DualOutput:
        queries = self.embed(input_ids, attention_mask)
        candidates = self.embed(candidate_ids, candidate_mask)
        logits = queries @ candidates.T * self.logit_scale
        labels = torch.arange(logits.shape[0], device=logits.device)
        return DualOutput(nn.functional.cross_entropy(logits, labels), logits)


def _pad(rows: Sequence[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return ids, mask


def collate_pairs(features: Sequence[PairFeature], pad_id: int) -> dict[str, torch.Tensor]:
    """Both sides padded to their own longest; ``attention_mask`` is the queries' (the
    training loop counts its tokens)."""
    ids, mask = _pad([f.query_ids for f in features], pad_id)
    c_ids, c_mask = _pad([f.candidate_ids for f in features], pad_id)
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "candidate_ids": c_ids,
        "candidate_mask": c_mask,
    }


def featurize_pairs(
    pairs: Sequence[tuple[str, str]], tokenizer: Any, max_query_length: int, max_length: int
) -> list[PairFeature]:
    """Token ids of each (query, candidate) pair, each side cut to its length."""
    if not pairs:
        return []
    queries = tokenizer([q for q, _ in pairs], truncation=True, max_length=max_query_length)
    candidates = tokenizer([c for _, c in pairs], truncation=True, max_length=max_length)
    return [
        PairFeature(list(q), list(c))
        for q, c in zip(queries["input_ids"], candidates["input_ids"], strict=True)
    ]


class DualTextEncoder:
    """Vectors of texts from a :class:`DualEncoder` (already normalised), queries and
    candidates each cut to their length; each distinct text is encoded once."""

    def __init__(
        self, model: DualEncoder, tokenizer: Any, batch_size: int, max_length: int, label: str
    ) -> None:
        self.device = pick_device()
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_length = max_length
        self.label = label
        self._cache: dict[str, torch.Tensor] = {}

    def forget(self) -> None:
        """Drop the cache (the texts seen so far will not be asked for again)."""
        self._cache = {}

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        new = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if new:
            ids = self.tokenizer(new, truncation=True, max_length=self.max_length)["input_ids"]
            order = sorted(range(len(new)), key=lambda i: len(ids[i]))
            batches = [
                order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)
            ]
            pad = self.tokenizer.pad_token_id
            with torch.no_grad(), progress_bar(self.label, len(batches)) as advance:
                for batch in batches:
                    input_ids, mask = _pad([ids[i] for i in batch], pad)
                    vectors = self.model.embed(input_ids.to(self.device), mask.to(self.device))
                    for row, i in enumerate(batch):
                        self._cache[new[i]] = vectors[row].cpu()
                    advance(None)
        if not texts:
            return torch.zeros(0, int(self.model.config.hidden_size))
        return torch.stack([self._cache[t] for t in texts])
