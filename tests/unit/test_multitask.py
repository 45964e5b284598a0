"""Multi-task intermediate training: sampling, batching, per-task heads, the phase-1 run."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from harness.config import ModelParams, Params
from harness.data.mixture import mixture, pooled_batches, sampling_weights, slot_counts
from harness.errors import HarnessError
from harness.kinds.base import IGNORE_INDEX, Feature
from harness.model.heads import MultitaskModel, TaskFeature, collate_multitask
from harness.stages.phase1 import run_multitask
from harness.tasks import Registry, TaskSpec, setting_spec
from tests.conftest import tiny_pretrained, write_jsonl


def test_proportional_and_temperature_weights() -> None:
    assert sampling_weights([100, 300], "proportional", 5.0) == pytest.approx([0.25, 0.75])
    # T = 2: proportional to the square roots, 10 : 20
    assert sampling_weights([100, 400], "temperature", 2.0) == pytest.approx([1 / 3, 2 / 3])
    # T = 1 is proportional; a large T approaches uniform
    assert sampling_weights([100, 300], "temperature", 1.0) == pytest.approx([0.25, 0.75])
    flat = sampling_weights([100, 10000], "temperature", 1000.0)
    assert flat[0] == pytest.approx(0.5, abs=0.01)
    with pytest.raises(HarnessError, match="needs examples"):
        sampling_weights([0, 5], "proportional", 1.0)


def test_slot_counts_sum_to_total() -> None:
    for weights in ([1 / 3, 2 / 3], [0.2, 0.3, 0.5], [0.999, 0.001]):
        counts = slot_counts(weights, 101)
        assert sum(counts) == 101
        assert all(abs(c - w * 101) < 1 for c, w in zip(counts, weights, strict=True))


def test_mixture_is_seeded_and_repeats_only_when_oversampled() -> None:
    def draw(seed: int) -> list[tuple[int, int]]:
        generator = torch.Generator()
        generator.manual_seed(seed)
        return mixture([4, 10], [9, 5], generator)

    first = draw(1)
    assert first == draw(1)
    assert first != draw(2)
    task0 = [i for t, i in first if t == 0]
    task1 = [i for t, i in first if t == 1]
    assert len(task0) == 9 and len(task1) == 5
    # the oversampled task uses every example before repeating one
    assert set(task0[:4]) == {0, 1, 2, 3} and set(task0[4:8]) == {0, 1, 2, 3}
    assert len(set(task1)) == 5  # the undersampled one never repeats


def test_collate_mixes_sequence_and_token_labels() -> None:
    items = [
        TaskFeature(0, Feature(input_ids=[0, 5, 6, 2], label=1)),
        TaskFeature(1, Feature(input_ids=[0, 7, 2], label=[IGNORE_INDEX, 3, IGNORE_INDEX])),
    ]
    batch = collate_multitask(items, pad_id=1)
    assert batch["input_ids"].tolist() == [[0, 5, 6, 2], [0, 7, 2, 1]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert batch["task"].tolist() == [0, 1]
    assert batch["labels"].tolist() == [
        [1, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX],
        [IGNORE_INDEX, 3, IGNORE_INDEX, IGNORE_INDEX],
    ]


def _spec(name: str, kind: str, labels: list[str], folder: str) -> dict[str, Any]:
    return {
        "name": name,
        "role": "intermediate",
        "kind": kind,
        "source": {
            "type": "local",
            "path": folder,
            "files": {"train": "train.jsonl", "dev": "dev.jsonl"},
        },
        "labels": labels,
    }


@pytest.fixture
def setup(tmp_path: Path, tokenizer: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Two small intermediate tasks (pair classification and tagging) and a tiny encoder."""

    monkeypatch.chdir(tmp_path)
    pairs = [
        {"sentence1": f"the dog saw the cat {i}", "sentence2": "the cat", "label": "ab"[i % 2]}
        for i in range(24)
    ]
    tags = [
        {"tokens": ["Anna", "Berg", "saw", "the", "dog"], "tags": ["B", "I", "O", "O", "O"]}
        for _ in range(8)
    ]
    write_jsonl(tmp_path / "data/pairs/train.jsonl", pairs)
    write_jsonl(tmp_path / "data/pairs/dev.jsonl", pairs[:6])
    write_jsonl(tmp_path / "data/tags/train.jsonl", tags)
    write_jsonl(tmp_path / "data/tags/dev.jsonl", tags[:3])
    (tmp_path / "specs").mkdir()
    for spec in (
        _spec("pairs", "pair_classification", ["a", "b"], "data/pairs"),
        _spec("tags", "tagging", ["O", "B", "I"], "data/tags"),
    ):
        (tmp_path / "specs" / f"{spec['name']}.yaml").write_text(yaml.safe_dump(spec))
    model_params = tiny_pretrained(tmp_path, tokenizer)
    encoder = tmp_path / "encoders" / "none"
    train = {"epochs": 2, "learning_rate": 1e-3, "batch_size": 8, "max_length": 32}
    params = Params.model_validate(
        {
            "profile": "toy",
            "seed": 5,
            "paths": {"cache": None},
            "model": model_params.model_dump(),
            "pretrain": {**train, "max_length": 32},
            "grid": {"intermediate": ["none", "pairs", "tags", "multi"], "target": []},
            "phase1": {"pairs": train, "tags": train},
            "phase2": {},
            "task_dirs": ["specs"],
            "multitask": {
                "multi": {
                    **train,
                    "tasks": ["pairs", "tags"],
                    "temperature": 2.0,
                    "specs": "specs",
                    "data": "data",
                }
            },
        }
    )
    registry = Registry.for_params(params)
    return {"params": params, "registry": registry, "encoder": encoder, "root": tmp_path}


def test_registry_lists_the_setting_as_an_intermediate_task(setup: dict[str, Any]) -> None:
    spec: TaskSpec = setup["registry"].get("multi", role="intermediate")
    assert "pairs, tags" in spec.description and "T=2" in spec.description
    assert str(setup["registry"].origins["multi"]) == "params.yaml#multitask.multi"


def test_setting_names_must_be_valid(setup: dict[str, Any]) -> None:
    raw = setup["params"].model_dump(mode="json")
    raw["multitask"]["multi"]["tasks"] = ["pairs", "none"]
    with pytest.raises(ValueError, match="not single tasks"):
        Params.model_validate(raw)
    raw["multitask"]["multi"]["tasks"] = ["pairs"]
    with pytest.raises(ValueError, match="at least 2"):
        Params.model_validate(raw)
    raw["multitask"]["multi"]["tasks"] = ["pairs", "tags"]
    raw["grid"]["intermediate"] = ["none", "pairs", "tags"]
    with pytest.raises(ValueError, match=r"not listed in grid\.intermediate"):
        Params.model_validate(raw)
    # the setting's phase-1 parameters (used in the cell's provenance) include its tasks
    dumped = setup["params"].phase1_params("multi").model_dump()
    assert dumped["tasks"] == ["pairs", "tags"] and dumped["temperature"] == 2.0


def test_loss_is_the_row_weighted_mean_of_each_tasks_loss(
    setup: dict[str, Any], tokenizer: Any
) -> None:
    from transformers import AutoModel

    registry = setup["registry"]
    specs = [registry.get("pairs"), registry.get("tags")]
    encoder = AutoModel.from_pretrained(str(setup["encoder"]), add_pooling_layer=False)
    model = MultitaskModel(encoder, specs, seed=3).eval()
    tagged = tokenizer("Anna saw")["input_ids"]
    token_labels = [IGNORE_INDEX] * len(tagged)
    token_labels[1] = 1
    items = [
        TaskFeature(0, Feature(input_ids=tokenizer("the dog")["input_ids"], label=1)),
        TaskFeature(1, Feature(input_ids=tagged, label=token_labels)),
        TaskFeature(0, Feature(input_ids=tokenizer("a big cat .")["input_ids"], label=0)),
    ]
    with torch.no_grad():
        mixed = model(**collate_multitask(items, tokenizer.pad_token_id)).loss
        only0 = model(**collate_multitask([items[0], items[2]], tokenizer.pad_token_id)).loss
        only1 = model(**collate_multitask([items[1]], tokenizer.pad_token_id)).loss
    assert mixed.item() == pytest.approx((2 * only0.item() + only1.item()) / 3, rel=1e-4)


def _digest(folder: Path) -> str:
    return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()


def test_run_trains_one_encoder_on_both_tasks_reproducibly(setup: dict[str, Any]) -> None:
    params, registry, encoder = setup["params"], setup["registry"], setup["encoder"]
    out = setup["root"] / "encoders" / "multi"
    info = run_multitask(params, registry, "multi", encoder, out)
    assert set(info["dev"]) == {"pairs", "tags"}
    assert "accuracy" in info["dev"]["pairs"] and "f1" in info["dev"]["tags"]
    mix = info["multitask"]
    assert mix["train_sizes"] == {"pairs": 24, "tags": 8}
    # T = 2: weights proportional to sqrt(24) : sqrt(8)
    assert mix["weights"]["pairs"] == pytest.approx(24**0.5 / (24**0.5 + 8**0.5))
    assert sum(mix["examples_per_epoch"].values()) == 32
    assert info["train"]["steps"] == 8  # 2 epochs of 32 mixed examples in batches of 8
    phase = json.loads((out / "phase.json").read_text())
    assert phase["task"] == "multi" and phase["phase"] == 1
    # the saved encoder has no heads and loads as the next phase's encoder
    from harness.model.heads import head_model

    assert head_model(out, registry.get("pairs"), 1) is not None
    assert _digest(out) != _digest(encoder)
    first = _digest(out)
    run_multitask(params, registry, "multi", encoder, out)
    assert _digest(out) == first  # same seed, bit-identical on CPU


def test_shared_head_needs_one_kind_and_label_set(setup: dict[str, Any]) -> None:
    from transformers import AutoModel

    registry = setup["registry"]
    pairs = registry.get("pairs")
    twin = pairs.model_copy(update={"name": "pairs_again"})
    encoder = AutoModel.from_pretrained(str(setup["encoder"]), add_pooling_layer=False)
    model = MultitaskModel(encoder, [pairs, twin], seed=3, shared_head=True)
    assert len(model.heads) == 1 and model.head_of == [0, 0]
    separate = MultitaskModel(encoder, [pairs, twin], seed=3)
    assert len(separate.heads) == 2
    with pytest.raises(HarnessError, match=r"shared_head needs tasks of one kind.*\['tags'\]"):
        MultitaskModel(encoder, [pairs, registry.get("tags")], seed=3, shared_head=True)


def test_setting_refuses_only_kinds_without_a_task_head(setup: dict[str, Any]) -> None:
    registry = setup["registry"]
    pairs = registry.get("pairs")
    specs = {n: registry.get(n) for n in registry.names() if n != "multi"}
    specs["choices"] = pairs.model_copy(update={"name": "choices", "kind": "multiple_choice"})
    specs["spans"] = pairs.model_copy(update={"name": "spans", "kind": "extractive_qa"})
    specs["found"] = pairs.model_copy(update={"name": "found", "kind": "retrieval"})
    mixed = Registry(specs, dict(registry.origins))
    setting = setup["params"].multitask["multi"]
    # multiple choice and extractive QA join a setting, as classification and tagging do
    every = setting.model_copy(update={"tasks": ["pairs", "tags", "choices", "spans"]})
    assert setting_spec("multi", every, mixed).name == "multi"
    with pytest.raises(HarnessError, match=r"found \(retrieval\) cannot join it.*task head"):
        setting_spec("multi", setting.model_copy(update={"tasks": ["pairs", "found"]}), mixed)


# --- every trained kind in one setting -------------------------------------------------------


def test_pooled_batches_keep_choices_and_spans_apart_and_are_seeded() -> None:
    # features of tasks 0, 1 (rows that share batches), 2 and 3 (batches of their own)
    tasks = [0] * 7 + [1] * 3 + [2] * 5 + [3] * 4
    shares = [True, True, False, False]
    order = pooled_batches(tasks, shares, [1] * len(tasks), batch_size=4)
    assert order is not None
    assert order.batches_per_epoch == 3 + 2 + 1  # ceil(10/4) + ceil(5/4) + ceil(4/4)

    def epoch(seed: int) -> list[list[int]]:
        generator = torch.Generator()
        generator.manual_seed(seed)
        return order(generator)

    batches = epoch(1)
    assert len(batches) == order.batches_per_epoch
    assert sorted(i for batch in batches for i in batch) == list(range(len(tasks)))
    for batch in batches:  # one pool per batch: tasks 0 and 1 together, 2 and 3 alone
        assert len({-1 if tasks[i] < 2 else tasks[i] for i in batch}) == 1
    assert epoch(1) == batches and epoch(2) != batches
    # every task in one pool: the training loop's own batches (as before)
    assert pooled_batches([0, 1, 1], [True, True], [1, 1, 1], 2) is None
    assert pooled_batches([0, 0], [False], [1, 1], 2) is None


def write_every_kind(root: Path, tokenizer: Any, seed: int = 5, every_steps: int = 0) -> Params:
    """Four small intermediate tasks, one per trained kind (pair classification, tagging,
    multiple choice, extractive QA), a tiny encoder in ``encoders/none`` and the parameters of
    a setting ``every`` over all four; returns the parameters (the working directory must be
    ``root``)."""
    from harness.model.encoders import new_mlm_model, save_encoder, write_phase

    names = ["Anna Berg", "the dog", "a cat", "New Harbor"]
    rows: dict[str, list[dict[str, Any]]] = {
        "pairs": [
            {"sentence1": f"the dog saw the cat {i}", "sentence2": "the cat", "label": "ab"[i % 2]}
            for i in range(12)
        ],
        "tags": [
            {"tokens": ["Anna", "Berg", "saw", "the", "dog"], "tags": ["B", "I", "O", "O", "O"]}
            for _ in range(6)
        ],
        "choices": [
            {"context": "the dog saw", "question": names[i % 4],
             "choices": ["the cat", "a red river", "Anna Berg"], "label": i % 3}
            for i in range(9)
        ],
        "spans": [
            {"context": f"the teacher saw {name} near the river .", "question": "who saw ?",
             "answers": {"text": [name], "answer_start": [16]}}
            for name in names * 2
        ],
    }  # fmt: skip
    kinds = {
        "pairs": ("pair_classification", ["a", "b"]),
        "tags": ("tagging", ["O", "B", "I"]),
        "choices": ("multiple_choice", ["0", "1", "2"]),
        "spans": ("extractive_qa", []),
    }
    (root / "specs").mkdir(exist_ok=True)
    for name, examples in rows.items():
        write_jsonl(root / f"data/{name}/train.jsonl", examples)
        write_jsonl(root / f"data/{name}/dev.jsonl", examples[:4])
        spec = _spec(name, kinds[name][0], kinds[name][1], f"data/{name}")
        (root / "specs" / f"{name}.yaml").write_text(yaml.safe_dump(spec))
    torch.manual_seed(0)
    model_params = ModelParams(
        name="t", source="pretrain", vocab_size=len(tokenizer), hidden_size=32, num_layers=2,
        num_heads=2, intermediate_size=64, max_position=60, dropout=0.1,
    )  # fmt: skip
    encoder = root / "encoders" / "none"
    encoder.mkdir(parents=True, exist_ok=True)
    save_encoder(new_mlm_model(model_params, tokenizer), tokenizer, encoder)
    write_phase(encoder, {"phase": 0})
    train = {"epochs": 2, "learning_rate": 1e-3, "batch_size": 4, "max_length": 32,
             "doc_stride": 8, "max_query_length": 8}  # fmt: skip
    raw: dict[str, Any] = {
        "profile": "toy",
        "seed": seed,
        "paths": {"cache": None},
        "model": model_params.model_dump(),
        "pretrain": train,
        "grid": {"intermediate": ["none", *rows, "every"], "target": []},
        "phase1": {name: train for name in rows},
        "phase2": {},
        "task_dirs": ["specs"],
        "checkpoint": {"every_steps": every_steps},
        "multitask": {"every": {**train, "tasks": list(rows), "specs": "specs", "data": "data"}},
    }
    return Params.model_validate(raw)


@pytest.fixture
def every_kind(tmp_path: Path, tokenizer: Any, monkeypatch: pytest.MonkeyPatch) -> Params:
    monkeypatch.chdir(tmp_path)
    return write_every_kind(tmp_path, tokenizer)


def test_collate_and_forward_of_choices_and_spans(every_kind: Params, tokenizer: Any) -> None:
    from harness.data.cache import featurize
    from harness.kinds.base import FeatureSettings
    from harness.model.encoders import load_encoder

    registry = Registry.for_params(every_kind)
    specs = [registry.get(n) for n in every_kind.multitask["every"].tasks]
    encoder, _, _ = load_encoder(Path("encoders/none"))
    model = MultitaskModel(encoder, specs, seed=3).eval()
    assert [type(h).__name__ for h in model.heads] == [
        "SequenceHead", "TokenHead", "SequenceHead", "SpanHead"
    ]  # fmt: skip
    scorer = model.heads[2].out_proj
    assert isinstance(scorer, torch.nn.Linear) and scorer.out_features == 1  # one per choice
    pad = tokenizer.pad_token_id
    settings = FeatureSettings(8, 8)

    def items(task: int, n: int) -> list[TaskFeature]:
        spec = specs[task]
        lines = Path(f"data/{spec.name}/train.jsonl").read_text().splitlines()
        examples = [json.loads(x) for x in lines[:n]]
        return [TaskFeature(task, f) for f in featurize(spec, examples, tokenizer, 32, settings)]

    choices = model.collate(items(2, 3), pad)
    assert choices["input_ids"].shape[:2] == (3, 3) and choices["task"].tolist() == [2, 2, 2]
    spans = model.collate(items(3, 2), pad)
    assert {"start_positions", "end_positions"} <= set(spans)
    with torch.no_grad():
        out = model(**choices)
        assert out.logits.shape == (3, 3) and torch.isfinite(out.loss)
        expected = torch.nn.functional.cross_entropy(out.logits, choices["labels"])
        assert out.loss.item() == pytest.approx(expected.item())
        out = model(**spans)
        width = spans["input_ids"].shape[1]
        assert out.start_logits.shape == out.end_logits.shape == (len(spans["task"]), width)
        assert torch.isfinite(out.loss)
    # rows of the classification and tagging tasks still share a batch
    assert model.collate(items(0, 2) + items(1, 2), pad)["task"].tolist() == [0, 0, 1, 1]
    with pytest.raises(HarnessError, match=r"mixes the tasks \['pairs', 'choices'\]"):
        model.collate(items(0, 2) + items(2, 2), pad)


def test_setting_over_every_trained_kind_trains_scores_each_and_is_seeded(
    every_kind: Params, tmp_path: Path, tokenizer: Any
) -> None:
    registry = Registry.for_params(every_kind)
    encoder = Path("encoders/none")
    info = run_multitask(every_kind, registry, "every", encoder, Path("encoders/every"))
    assert set(info["dev"]["pairs"]) == {"accuracy"}
    assert set(info["dev"]["tags"]) == {"f1", "token_accuracy"}
    assert set(info["dev"]["choices"]) == {"accuracy"}
    assert set(info["dev"]["spans"]) == {"f1", "exact_match"}
    assert all(0 <= v <= 1 for scores in info["dev"].values() for v in scores.values())
    slots = info["multitask"]["examples_per_epoch"]
    assert sum(slots.values()) == sum(info["multitask"]["train_sizes"].values())
    # batches per epoch: classification and tagging rows together, each other task alone
    per_epoch = sum(
        -(-n // 4) for n in (slots["pairs"] + slots["tags"], slots["choices"], slots["spans"])
    )
    assert info["train"]["steps"] == 2 * per_epoch
    first = _digest(Path("encoders/every"))
    assert first != _digest(encoder)
    again = run_multitask(every_kind, registry, "every", encoder, Path("encoders/every"))
    assert _digest(Path("encoders/every")) == first  # same seed: bit-identical on CPU
    assert again["dev"] == info["dev"]
    other = every_kind.model_copy(update={"seed": 6})
    run_multitask(other, registry, "every", encoder, Path("encoders/other"))
    assert _digest(Path("encoders/other")) != first
    assert not Path("encoders/every.ckpt").exists()
