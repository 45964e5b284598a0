"""Sentence vectors from an encoder: the attention-mask weighted mean of one layer's hidden
states (special tokens included, as XTREME's ``mean_pool_embedding``), what retrieval targets
are scored with (:mod:`harness.kinds.retrieval`).

Each distinct text is encoded once per :class:`SentenceEncoder` (one per cell), whichever
languages and splits it appears in; batches are built from length-sorted inputs with dynamic
padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from harness.device import pick_device
from harness.errors import HarnessError
from harness.progress import progress_bar


class SentenceEncoder:
    """Mean-pooled hidden states of ``layer`` (0 = embeddings, ``L`` = last layer), cached by
    text: each distinct text runs through the model once."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        layer: int,
        batch_size: int,
        max_length: int,
        description: str = "encode",
    ) -> None:
        layers = int(model.config.num_hidden_layers)
        if not 0 <= layer <= layers:
            raise HarnessError(
                f"retrieval.layer {layer} is out of range: the encoder has {layers} layers "
                f"(0 = embedding output ... {layers} = last layer); fix retrieval.layer in "
                "params.yaml (null = the middle layer)."
            )
        self.layer = layer
        self.device = pick_device()
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_length = max_length
        self.description = description
        self._rows: dict[str, int] = {}
        self._matrix = torch.zeros(0, int(model.config.hidden_size))
        self.encoded = 0
        """Texts run through the model so far."""
        self.forward_calls = 0

    def forget(self) -> None:
        """Drop the cache (the texts seen so far will not be asked for again)."""
        self._rows = {}
        self._matrix = torch.zeros(0, self._matrix.shape[1])

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """(len(texts), hidden) float32 vectors on the CPU, not normalised."""
        new = list(dict.fromkeys(t for t in texts if t not in self._rows))
        if new:
            vectors = self._run(new)
            start = self._matrix.shape[0]
            self._matrix = torch.cat([self._matrix, vectors])
            self._rows.update({t: start + i for i, t in enumerate(new)})
        index = torch.tensor([self._rows[t] for t in texts], dtype=torch.long)
        return self._matrix[index]

    def _run(self, texts: list[str]) -> torch.Tensor:
        ids = self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        out = torch.zeros(len(texts), self._matrix.shape[1])
        pad = self.tokenizer.pad_token_id
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        with torch.no_grad(), progress_bar(self.description, len(batches)) as advance:
            for batch in batches:
                width = max(len(ids[i]) for i in batch)
                input_ids = torch.full((len(batch), width), pad, dtype=torch.long)
                mask = torch.zeros(len(batch), width, dtype=torch.long)
                for row, i in enumerate(batch):
                    input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
                    mask[row, : len(ids[i])] = 1
                out[batch] = self._pool(input_ids.to(self.device), mask.to(self.device)).cpu()
                advance(None)
        self.encoded += len(texts)
        return out

    def _pool(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        self.forward_calls += 1
        outputs = self.model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
        states = outputs.hidden_states[self.layer].float()
        weights = mask.unsqueeze(-1).to(states.dtype)
        return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def resolve_layer(layer: int | None, num_layers: int) -> int:
    """``retrieval.layer``, or the middle layer when it is None."""
    return num_layers // 2 if layer is None else layer
