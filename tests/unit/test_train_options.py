"""Training options of TrainParams that change how the loop computes, not what it learns."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

from harness.config import TrainParams
from harness.seeding import configure_compute, seed_everything
from harness.train import train
from tests.reliability.test_resume import _collate


def _run(params: TrainParams) -> tuple[float, dict[str, torch.Tensor]]:
    generator = seed_everything(3)
    config = XLMRobertaConfig(
        vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=40, num_labels=2, pad_token_id=1,
    )  # fmt: skip
    model = XLMRobertaForSequenceClassification(config)
    features = [([5 + i % 7] * (4 + i % 5), i % 2) for i in range(48)]

    summary = train(model, features, _collate, params, generator, "t", torch.device("cpu"))
    return summary.final_loss, {k: v.clone() for k, v in model.state_dict().items()}


PARAMS = TrainParams(epochs=2, learning_rate=1e-3, batch_size=8, max_length=16)


def test_compile_trains_the_same_model_through_the_compiled_forward(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`compile: true` runs every forward through torch.compile's wrapper of the model and
    updates the model's own parameters. (Inductor itself takes minutes to compile on this CPU,
    so the wrapper here is torch.compile with the eager backend, which traces with Dynamo.)"""
    calls: list[Any] = []
    real_compile = torch.compile

    def eager_compile(model: Any, **kwargs: Any) -> Any:
        calls.append(model)
        return real_compile(model, backend="eager")

    monkeypatch.setattr(torch, "compile", eager_compile)
    eager_loss, eager_weights = _run(PARAMS)
    assert calls == []
    compiled_loss, compiled_weights = _run(PARAMS.model_copy(update={"compile": True}))
    assert len(calls) == 1 and isinstance(calls[0], XLMRobertaForSequenceClassification)
    assert compiled_loss == pytest.approx(eager_loss, abs=1e-5)
    assert all(
        torch.allclose(compiled_weights[k], eager_weights[k], atol=1e-5) for k in eager_weights
    )


def test_thread_count_is_set_and_same_count_is_bit_identical() -> None:
    before = torch.get_num_threads()
    try:
        configure_compute(1, tf32=True)
        assert torch.get_num_threads() == 1
        assert torch.backends.cuda.matmul.allow_tf32
        # cuDNN attention replans for every new shape: off, so SDPA uses flash / mem-efficient
        assert not torch.backends.cuda.cudnn_sdp_enabled()
        first = _run(PARAMS)[1]
        second = _run(PARAMS)[1]
        assert all(torch.equal(first[k], second[k]) for k in first)
        configure_compute(1, tf32=False)
        assert not torch.backends.cuda.matmul.allow_tf32
    finally:
        configure_compute(before, tf32=False)
