"""Padding-free batches: the sequences of a batch packed into rows of a fixed width.

A dynamically padded batch computes ``batch x longest`` positions; a packed one computes
``rows x width``, where the rows hold several sequences each, so almost every position is a real
token and every batch of a run has the same width (a compiled model and its CUDA graphs meet
few shapes: the width is fixed, the number of rows varies little). Each sequence keeps its own
positions (``padding_idx + 1 ...`` as XLM-R numbers them) and attends only to itself: the
encoder gets a block-diagonal attention mask, built on the device from the rows' segment ids
(:class:`PackedForward`). The hidden states are then gathered back into one row per sequence,
and the kind's head and loss run on them as on a padded batch, so the loss, the gradients and
the predictions equal the padded path's up to floating-point rounding (tested). Which kinds can
be packed, and their heads over gathered states, is the kind's
(:attr:`~harness.kinds.base.TaskKind.packable`, :meth:`~harness.kinds.base.TaskKind.packed_head`).

The batches themselves (which examples are trained together, in which order) do not change:
packing is a layout of a batch, not a different sampler, so a run's schedule, loss weighting
and checkpoints are those of the padded run.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import torch
from torch import nn

from harness.errors import HarnessError
from harness.kinds.base import IGNORE_INDEX, TaskKind

Batch = dict[str, torch.Tensor]


def pack_rows(lengths: Sequence[int], width: int) -> list[list[int]]:
    """Sequences (by index) per row: first-fit decreasing, longest first, ties by index, so the
    layout is a pure function of the lengths. Every length must fit ``width``."""
    too_long = [n for n in lengths if n > width]
    if too_long:
        raise HarnessError(
            f"A sequence of {max(too_long)} tokens does not fit a packed row of {width}: set "
            f"packing to at least max_length ({max(too_long)} or more), or 0 to turn it off."
        )
    rows: list[list[int]] = []
    free: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: (-lengths[i], i)):
        for row, room in enumerate(free):
            if lengths[i] <= room:
                rows[row].append(i)
                free[row] -= lengths[i]
                break
        else:
            rows.append([i])
            free.append(width - lengths[i])
    return rows


def collate_packed(
    features: Sequence[Any], width: int, pad_id: int, token_level: bool, rows_multiple: int = 1
) -> Batch:
    """A packed batch of one-sequence features (``input_ids``, ``label``: a class, or one per
    token). Keys: ``input_ids``, ``position_ids``, ``segments`` (the sequence's index in the
    batch at each position, -1 at padding) and ``attention_mask`` (1 at real tokens), all
    (rows, width); ``gather`` (sequences, positions): the flat row-major position of each
    sequence's tokens (only its first, ``<s>``, unless ``token_level``), padded with the
    position of its first token; ``labels`` (sequences, positions) as
    :meth:`~harness.kinds.base.TaskKind.shared_loss` reads them: a class at position 0 (a
    feature labelled by a class), or one per token (labelled per token; needs
    ``token_level``), :data:`IGNORE_INDEX` elsewhere. A multi-task batch may mix both.
    ``rows_multiple`` rounds the rows up with empty rows (fewer shapes)."""
    lengths = [len(f.input_ids) for f in features]
    if not token_level and any(isinstance(f.label, list) for f in features):
        raise ValueError("a feature with per-token labels in a sequence-level packed batch")
    layout = pack_rows(lengths, width)
    n_rows = -(-len(layout) // rows_multiple) * rows_multiple
    input_ids = torch.full((n_rows, width), pad_id, dtype=torch.long)
    # padding positions get padding_idx (XLM-R's positions of padding), real ones from pad + 1
    position_ids = torch.full((n_rows, width), pad_id, dtype=torch.long)
    segments = torch.full((n_rows, width), -1, dtype=torch.long)
    positions = max(lengths) if token_level else 1
    gather = torch.zeros((len(features), positions), dtype=torch.long)
    labels = torch.full((len(features), positions), IGNORE_INDEX, dtype=torch.long)
    for row, members in enumerate(layout):
        start = 0
        for i in members:
            n = lengths[i]
            input_ids[row, start : start + n] = torch.tensor(features[i].input_ids)
            position_ids[row, start : start + n] = torch.arange(pad_id + 1, pad_id + 1 + n)
            segments[row, start : start + n] = i
            flat = row * width + start
            gather[i, :] = flat
            label = features[i].label
            if token_level:
                gather[i, :n] = torch.arange(flat, flat + n)
            if isinstance(label, list):
                labels[i, :n] = torch.tensor(label, dtype=torch.long)
            else:
                labels[i, 0] = int(label)
            start += n
    return {
        "input_ids": input_ids,
        "position_ids": position_ids,
        "segments": segments,
        "attention_mask": (segments >= 0).long(),
        "gather": gather,
        "labels": labels,
    }


def block_mask(segments: torch.Tensor, additive: bool, dtype: torch.dtype) -> torch.Tensor:
    """(rows, 1, width, width) attention mask: a position attends to the positions of its own
    sequence; a padding position to itself only (a row of nothing would give NaN). Boolean
    (True: attend) for SDPA; ``additive``: 0 / the dtype's minimum, for eager attention."""
    same = segments.unsqueeze(2) == segments.unsqueeze(1)
    real = (segments >= 0).unsqueeze(2)
    eye = torch.eye(segments.shape[1], dtype=torch.bool, device=segments.device)
    allowed = (same & real) | eye
    allowed = allowed.unsqueeze(1)
    if not additive:
        return allowed
    mask = torch.zeros(allowed.shape, dtype=dtype, device=segments.device)
    return mask.masked_fill(~allowed, torch.finfo(dtype).min)


def packed_states(
    encoder: Any,
    input_ids: torch.Tensor,
    position_ids: torch.Tensor | None,
    segments: torch.Tensor,
    gather: torch.Tensor,
) -> torch.Tensor:
    """The encoder's last hidden states on a packed batch, gathered per sequence: (sequences,
    positions, hidden)."""
    config: Any = encoder.config
    additive = getattr(config, "_attn_implementation", "eager") != "sdpa"
    mask = block_mask(segments, additive, encoder.embeddings.word_embeddings.weight.dtype)
    states = encoder(input_ids=input_ids, attention_mask=mask, position_ids=position_ids)[0]
    flat = states.reshape(-1, states.shape[-1])
    return flat[gather.reshape(-1)].reshape(*gather.shape, -1)


class PackedForward(nn.Module):
    """The forward pass of a single-task head model (``AutoModelFor...`` of a packable kind)
    on packed batches (:func:`collate_packed`): the encoder over the rows with a block-diagonal
    mask and per-sequence positions, the states gathered per sequence, the kind's head and
    loss on them. Holds the model (no parameters of its own): train and save ``model``."""

    def __init__(self, model: nn.Module, kind: TaskKind) -> None:
        super().__init__()
        if not kind.packable:
            raise HarnessError(
                f"Kind '{kind.name}' cannot be trained on packed batches; set packing: 0 for it."
            )
        self.model = model
        self.kind = kind
        self.head = kind.packed_head(model)

    def forward(
        self,
        input_ids: torch.Tensor,
        position_ids: torch.Tensor,
        segments: torch.Tensor,
        gather: torch.Tensor,
        labels: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,  # the real-token mask: counted, not used
    ) -> SimpleNamespace:
        per_sequence = packed_states(
            self.model.base_model, input_ids, position_ids, segments, gather
        )
        logits = self.head(per_sequence)
        loss = self.kind.shared_loss(logits, labels) if labels is not None else None
        return SimpleNamespace(loss=loss, logits=logits)
