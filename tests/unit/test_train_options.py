"""Training options of TrainParams that change how the loop computes, not what it learns."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

from harness.config import TrainParams
from harness.model.train import train
from harness.seeding import configure_compute, seed_everything
from tests.reliability.test_resume import _collate


def _run(
    params: TrainParams,
    shapes: list[tuple[int, ...]] | None = None,
    pad_token_id: int | None = 1,
    dropout: float = 0.1,
) -> tuple[float, dict[str, torch.Tensor]]:
    """Train a tiny classifier; ``shapes`` collects the shape of every ``input_ids`` it sees."""
    generator = seed_everything(3)
    config = XLMRobertaConfig(
        vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=40, num_labels=2,
        pad_token_id=pad_token_id, hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )  # fmt: skip
    model = XLMRobertaForSequenceClassification(config)
    if shapes is not None:

        def record(module: Any, args: Any, kwargs: dict[str, Any]) -> None:
            shapes.append(tuple(kwargs["input_ids"].shape))

        model.register_forward_pre_hook(record, with_kwargs=True)
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
        calls.append((model, kwargs))
        return real_compile(model, backend="eager")

    monkeypatch.setattr(torch, "compile", eager_compile)
    eager_loss, eager_weights = _run(PARAMS)
    assert calls == []
    compiled_loss, compiled_weights = _run(PARAMS.model_copy(update={"compile": True}))
    assert len(calls) == 1 and isinstance(calls[0][0], XLMRobertaForSequenceClassification)
    assert calls[0][1] == {"mode": None}
    # the CUDA-graph mode reaches torch.compile (off a GPU the loop marks no graph steps)
    _run(PARAMS.model_copy(update={"compile": True, "compile_mode": "reduce-overhead"}))
    assert calls[1][1] == {"mode": "reduce-overhead"}
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


def test_pad_to_multiple_bounds_the_shapes_and_learns_the_same() -> None:
    """Lengths 4-8 in batches of 2: padded to their longest, the model sees widths 4-8; rounded
    up to multiples of 5 it sees only 5 and 10, and max_length (16) caps a multiple of 32. The
    extra positions are masked: without dropout (whose random masks are drawn over the wider
    tensors) the loss and weights match to float rounding."""
    ragged = PARAMS.model_copy(update={"batch_size": 2})
    shapes: list[tuple[int, ...]] = []
    loss, weights = _run(ragged, shapes, dropout=0.0)
    assert {width for _, width in shapes} == {4, 5, 6, 7, 8}
    shapes.clear()
    padded = ragged.model_copy(update={"pad_to_multiple": 5})
    padded_loss, padded_weights = _run(padded, shapes, dropout=0.0)
    assert {width for _, width in shapes} == {5, 10}
    assert padded_loss == pytest.approx(loss, abs=1e-5)
    assert all(torch.allclose(padded_weights[k], weights[k], atol=1e-5) for k in weights)
    shapes.clear()
    _run(ragged.model_copy(update={"pad_to_multiple": 32}), shapes)
    assert {width for _, width in shapes} == {16}


def test_pad_to_multiple_needs_the_models_pad_id() -> None:
    from harness.errors import HarnessError

    with pytest.raises(HarnessError, match="pad_to_multiple needs the padding token id"):
        _run(PARAMS.model_copy(update={"pad_to_multiple": 8}), pad_token_id=None)


def test_compile_mode_without_compile_is_refused() -> None:
    with pytest.raises(ValueError, match="compile_mode is 'reduce-overhead' but compile is false"):
        TrainParams(epochs=1, learning_rate=1e-3, batch_size=8, max_length=16,
                    compile_mode="reduce-overhead")  # fmt: skip
