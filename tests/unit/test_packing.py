"""Padding-free (packed) batches: the layout, the mask, and equality with padded batches.

The equality tests compare the packed path with the padded one on the same tiny XLM-R head
models, with dropout off (the two layouts draw dropout masks over different tensors): the loss,
every parameter's gradient and the logits must agree within float32 rounding, in eager and SDPA
attention; a whole training run must end in the same weights.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import torch
from transformers import (
    XLMRobertaConfig,
    XLMRobertaForSequenceClassification,
    XLMRobertaForTokenClassification,
)

from harness import kinds
from harness.config import TrainParams
from harness.errors import HarnessError
from harness.kinds.base import IGNORE_INDEX, Feature
from harness.model.packing import PackedForward, block_mask, collate_packed, pack_rows
from harness.model.predict import predict
from harness.model.train import train

PAD = 1
TOL = {"atol": 2e-5, "rtol": 1e-4}


def _config(attention: str) -> XLMRobertaConfig:
    config = XLMRobertaConfig(
        vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=80, pad_token_id=PAD, bos_token_id=0,
        eos_token_id=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
        num_labels=3, type_vocab_size=1,
    )  # fmt: skip
    config._attn_implementation = attention
    return config


def _model(token_level: bool, attention: str = "eager") -> Any:
    torch.manual_seed(0)
    cls = XLMRobertaForTokenClassification if token_level else XLMRobertaForSequenceClassification
    return cls(_config(attention))


def _features(n: int, token_level: bool, seed: int = 0, longest: int = 30) -> list[Feature]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        length = rng.randint(3, longest)
        ids = [0] + [rng.randint(5, 49) for _ in range(length - 2)] + [2]
        if token_level:
            label: Any = [IGNORE_INDEX] + [rng.randint(0, 2) for _ in range(length - 2)]
            label += [IGNORE_INDEX]
            if length > 4:
                label[3] = IGNORE_INDEX  # a sub-token after a word's first
        else:
            label = rng.randint(0, 2)
        out.append(Feature(input_ids=ids, label=label))
    return out


def _kind(token_level: bool) -> Any:
    return kinds.get("tagging" if token_level else "pair_classification")


# --- layout -------------------------------------------------------------------------------


def test_rows_hold_every_sequence_once_and_never_overflow() -> None:
    rng = random.Random(1)
    lengths = [rng.randint(1, 64) for _ in range(200)]
    rows = pack_rows(lengths, 64)
    assert sorted(i for row in rows for i in row) == list(range(200))
    assert all(sum(lengths[i] for i in row) <= 64 for row in rows)
    # first-fit decreasing needs at most 11/9 OPT + 1 rows; the sum bound is OPT's floor
    assert len(rows) <= 11 / 9 * (-(-sum(lengths) // 64)) + 1
    assert pack_rows(lengths, 64) == rows  # a pure function of the lengths


def test_a_sequence_longer_than_a_row_is_a_clear_error() -> None:
    with pytest.raises(HarnessError, match="packing to at least max_length"):
        pack_rows([10, 70], 64)


def test_collated_rows_keep_each_sequence_its_own_positions_and_labels() -> None:
    features = [
        Feature(input_ids=[0, 7, 8, 2], label=[IGNORE_INDEX, 1, 2, IGNORE_INDEX]),
        Feature(input_ids=[0, 9, 2], label=[IGNORE_INDEX, 0, IGNORE_INDEX]),
        Feature(input_ids=[0, 5, 6, 7, 2], label=[IGNORE_INDEX, 2, 1, 0, IGNORE_INDEX]),
    ]
    batch = collate_packed(features, 8, PAD, token_level=True)
    assert batch["input_ids"].shape == (2, 8)  # 5 + 3 in one row, 4 in the other
    assert batch["input_ids"][0].tolist() == [0, 5, 6, 7, 2, 0, 9, 2]
    assert batch["position_ids"][0].tolist() == [2, 3, 4, 5, 6, 2, 3, 4]
    assert batch["segments"][0].tolist() == [2, 2, 2, 2, 2, 1, 1, 1]
    assert batch["segments"][1].tolist() == [0, 0, 0, 0, -1, -1, -1, -1]
    assert batch["position_ids"][1, 4:].tolist() == [PAD] * 4
    assert int(batch["attention_mask"].sum()) == 12
    flat = batch["input_ids"].reshape(-1)
    for i, feature in enumerate(features):
        n = len(feature.input_ids)
        assert flat[batch["gather"][i, :n]].tolist() == feature.input_ids
        assert batch["labels"][i, :n].tolist() == feature.label
        assert (batch["labels"][i, n:] == IGNORE_INDEX).all()
    sequence_level = collate_packed(
        [Feature(input_ids=f.input_ids, label=i) for i, f in enumerate(features)],
        8,
        PAD,
        token_level=False,
        rows_multiple=4,
    )
    assert sequence_level["input_ids"].shape == (4, 8)  # two empty rows
    assert sequence_level["gather"].shape == (3, 1)
    assert sequence_level["labels"][:, 0].tolist() == [0, 1, 2]
    assert flat[sequence_level["gather"][:, 0]].tolist() == [0, 0, 0]  # each one's <s>


def test_the_mask_confines_attention_to_each_sequence() -> None:
    segments = torch.tensor([[0, 0, 1, -1]])
    allowed = block_mask(segments, additive=False, dtype=torch.float32)[0, 0]
    assert allowed.tolist() == [
        [True, True, False, False],
        [True, True, False, False],
        [False, False, True, False],
        [False, False, False, True],  # padding sees itself only
    ]
    additive = block_mask(segments, additive=True, dtype=torch.float32)[0, 0]
    assert (additive[allowed] == 0).all()
    assert (additive[~allowed] == torch.finfo(torch.float32).min).all()


def test_kinds_that_cannot_be_packed_say_so() -> None:
    with pytest.raises(HarnessError, match="packing: 0"):
        PackedForward(_model(False), kinds.get("extractive_qa"))
    with pytest.raises(ValueError, match="at least max_length"):
        TrainParams(epochs=1, learning_rate=1e-3, batch_size=4, max_length=64, packing=32)


# --- equality with padded batches ---------------------------------------------------------


def _padded_forward(model: Any, kind: Any, features: list[Feature]) -> Any:
    batch = kind.collate(features, PAD)
    return model(**batch)


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
@pytest.mark.parametrize("token_level", [False, True])
def test_loss_gradients_and_logits_equal_the_padded_batch(
    token_level: bool, attention: str
) -> None:
    kind = _kind(token_level)
    features = _features(13, token_level)
    padded_model, packed_model = _model(token_level, attention), _model(token_level, attention)
    padded = _padded_forward(padded_model, kind, features)
    packed = PackedForward(packed_model, kind)(**collate_packed(features, 64, PAD, token_level))
    assert packed.loss.item() == pytest.approx(padded.loss.item(), rel=1e-5)
    if token_level:
        for i, feature in enumerate(features):
            n = len(feature.input_ids)
            torch.testing.assert_close(packed.logits[i, :n], padded.logits[i, :n], **TOL)
    else:
        torch.testing.assert_close(packed.logits, padded.logits, **TOL)
    padded.loss.backward()
    packed.loss.backward()
    grads = dict(padded_model.named_parameters())
    for name, param in packed_model.named_parameters():
        if grads[name].grad is None:
            assert param.grad is None or not param.grad.any(), name
            continue
        torch.testing.assert_close(param.grad, grads[name].grad, **TOL, msg=name)


@pytest.mark.parametrize("token_level", [False, True])
def test_a_packed_training_run_ends_where_the_padded_one_does(token_level: bool) -> None:
    kind = _kind(token_level)
    features = _features(48, token_level, seed=3)
    tp = TrainParams(
        epochs=2, learning_rate=1e-3, batch_size=8, max_length=32, warmup_ratio=0.0,
        group_by_length=4,
    )  # fmt: skip
    packed_tp = tp.model_copy(update={"packing": 64})
    padded_model, packed_model = _model(token_level), _model(token_level)
    padded = train(
        padded_model,
        features,
        lambda fs: kind.collate(fs, PAD),
        tp,
        torch.Generator().manual_seed(0),
        "padded",
        device=torch.device("cpu"),
    )
    packed = train(
        packed_model,
        features,
        lambda fs: collate_packed(fs, 64, PAD, token_level),
        packed_tp,
        torch.Generator().manual_seed(0),
        "packed",
        device=torch.device("cpu"),
        forward_module=PackedForward(packed_model, kind),
    )
    assert packed.steps == padded.steps == 12
    assert packed.tokens_seen == padded.tokens_seen  # the same batches, every real token
    assert packed.padded_tokens < padded.padded_tokens * 1.5  # rows of 64: little padding
    assert packed.final_loss == pytest.approx(padded.final_loss, rel=1e-4)
    weights = padded_model.state_dict()
    for name, value in packed_model.state_dict().items():
        torch.testing.assert_close(value, weights[name], atol=1e-4, rtol=1e-3, msg=name)
    # predictions of the trained models: packed prediction equals padded prediction
    padded_logits = predict(
        padded_model, features, PAD, 16, "p", lambda fs: kind.collate(fs, PAD), quiet=True
    )
    packed_logits = predict(
        PackedForward(padded_model, kind),
        features,
        PAD,
        16,
        "q",
        lambda fs: collate_packed(fs, 64, PAD, token_level),
        quiet=True,
    )
    for a, b in zip(packed_logits, padded_logits, strict=True):
        torch.testing.assert_close(a, b, **TOL)


def test_a_multitask_batch_of_classification_and_tagging_rows_packs_exactly() -> None:
    from transformers import XLMRobertaModel

    from harness.model.heads import MultitaskModel, TaskFeature
    from tests.conftest import kind_spec

    specs = [
        kind_spec("pair_classification", "nli", ["a", "b", "c"]),
        kind_spec("tagging", "pos", ["X", "Y", "Z"]),
    ]
    models = []
    for _ in range(2):
        torch.manual_seed(0)
        encoder = XLMRobertaModel(_config("eager"), add_pooling_layer=False)
        models.append(MultitaskModel(encoder, specs, seed=1))
    items = [TaskFeature(0, f) for f in _features(7, token_level=False, seed=8)]
    items += [TaskFeature(1, f) for f in _features(6, token_level=True, seed=9)]
    padded = models[0](**models[0].collate(items, PAD))
    packed_batch = models[1].collate(items, PAD, packing=64)
    assert "segments" in packed_batch and packed_batch["task"].tolist() == [0] * 7 + [1] * 6
    packed = models[1](**packed_batch)
    assert packed.loss.item() == pytest.approx(padded.loss.item(), rel=1e-5)
    packed.loss.backward()
    padded.loss.backward()
    grads = dict(models[0].named_parameters())
    for name, param in models[1].named_parameters():
        if param.grad is not None:
            torch.testing.assert_close(param.grad, grads[name].grad, **TOL, msg=name)
