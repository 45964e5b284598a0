"""Task heads over a shared encoder's hidden states, for multi-task training (single-task
training uses the encoder's own ``AutoModelFor...`` heads). A kind's
:meth:`~harness.kinds.base.TaskKind.shared_encoder_head` picks one; this module is imported
only when a head is built (it needs torch)."""

from __future__ import annotations

import torch
from torch import nn


class SequenceHead(nn.Module):
    """As XLM-R's classification head: dropout, dense + tanh over the ``<s>`` state, dropout,
    then the output layer."""

    def __init__(self, hidden: int, labels: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden, hidden)
        self.out_proj = nn.Linear(hidden, labels)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        x = self.dropout(states[:, 0])
        x = torch.tanh(self.dense(x))
        return torch.as_tensor(self.out_proj(self.dropout(x)))


class TokenHead(nn.Module):
    """A label per token: dropout, then the output layer."""

    def __init__(self, hidden: int, labels: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden, labels)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.classifier(self.dropout(states)))


class SpanHead(nn.Module):
    """As XLM-R's question-answering head: a start and an end logit per token (no dropout)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.qa_outputs = nn.Linear(hidden, 2)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.qa_outputs(states))
