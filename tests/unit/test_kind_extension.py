"""A task kind defined only here, in the test suite, runs through the normal stages: phase 2
trains it, the evaluate stage scores it on every language, and the result file validates and
ingests. Adding a kind is one module (this class) and one ``kinds.register`` call."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import duckdb
import pytest
import torch
import yaml

from harness import kinds
from harness.config import ModelParams, Params
from harness.errors import HarnessError
from harness.kinds.base import Example, Feature, FeatureSettings, TaskKind
from harness.model.encoders import new_mlm_model, save_encoder, write_phase
from harness.results.languages import language_rows
from harness.results.schema import examples_path, read_result
from harness.results.stats import metric_of
from harness.results.store import ingest
from harness.stages.evaluate import evaluate_cell
from harness.stages.phase2 import run_target
from harness.tasks import Registry
from tests.conftest import write_jsonl


class Keyword(TaskKind):
    """Does a text mention the keyword? One text per example (field ``text``, not the built-in
    kinds' ``sentence1``), a yes/no label, scored by accuracy and by the recall of ``yes``."""

    name = "keyword"
    fields = ("text", "label")
    field_types = MappingProxyType({"text": "text", "label": "label"})
    labelled = True
    primary_metrics = ("accuracy", "yes_recall")
    reported_metrics = frozenset({"accuracy", "yes_recall"})
    fixed_label_set = True

    def head_class(self, spec: Any) -> Any:
        from transformers import AutoModelForSequenceClassification

        return AutoModelForSequenceClassification

    def featurize(
        self,
        spec: Any,
        examples: Sequence[Example],
        tokenizer: Any,
        max_length: int,
        settings: FeatureSettings,
    ) -> list[Any]:
        label_ids = {label: i for i, label in enumerate(spec.labels)}
        encoded = tokenizer([ex["text"] for ex in examples], truncation=True, max_length=max_length)
        return [
            Feature(input_ids=ids, label=label_ids[ex["label"]])
            for ids, ex in zip(encoded["input_ids"], examples, strict=True)
        ]

    def score(
        self,
        spec: Any,
        predictions: Sequence[Any],
        golds: Sequence[Any],
        language: str | None = None,
    ) -> dict[str, float]:
        stats = self.example_stats(spec, predictions, golds, language)
        return {
            metric: metric_of(metric, torch.tensor(rows).numpy()) for metric, rows in stats.items()
        }

    def example_stats(
        self,
        spec: Any,
        predictions: Sequence[Any],
        golds: Sequence[Any],
        language: str | None = None,
    ) -> dict[str, list[list[float]]]:
        pairs = list(zip(predictions, golds, strict=True))
        return {
            "accuracy": [[float(p == g)] for p, g in pairs],
            # [recalled yes, gold yes]: the column sums' ratio is the recall of "yes"
            "yes_recall": [[float(p == g == "yes"), float(g == "yes")] for p, g in pairs],
        }


@pytest.fixture
def keyword_kind() -> Iterator[TaskKind]:
    kind = kinds.register(Keyword())
    yield kind
    kinds.unregister(kind.name)


def _rows(n: int, language: str) -> list[dict[str, Any]]:
    words = ["dog", "cat", "teacher", "river", "Anna"]
    rows = []
    for i in range(n):
        yes = i % 2 == 0
        text = f"the {'red' if yes else 'big'} {words[i % len(words)]} saw a cat"
        rows.append({"id": f"{language}-{i}", "text": text, "label": "yes" if yes else "no"})
    return rows


@pytest.fixture
def workspace(tmp_path: Path, tokenizer: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "data/kw/train.jsonl", _rows(32, "en"))
    for language in ("en", "xx"):
        write_jsonl(tmp_path / f"data/kw/test.{language}.jsonl", _rows(10, language))
    spec = {
        "name": "t_keyword", "role": "target", "kind": "keyword", "labels": ["no", "yes"],
        "metric": "yes_recall", "xtreme_group": "classification", "languages": ["en", "xx"],
        "source": {"type": "local", "path": "data/kw",
                   "files": {"train": "train.jsonl", "dev": "train.jsonl",
                             "test": "test.{language}.jsonl"}},
    }  # fmt: skip
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs/t_keyword.yaml").write_text(yaml.safe_dump(spec))
    torch.manual_seed(0)
    model_params = ModelParams(
        name="t", source="pretrain", vocab_size=len(tokenizer), hidden_size=32, num_layers=2,
        num_heads=2, intermediate_size=64, max_position=60,
    )  # fmt: skip
    encoder = tmp_path / "encoders/none"
    save_encoder(new_mlm_model(model_params, tokenizer), tokenizer, encoder)
    write_phase(encoder, {"phase": 0})
    train = {"epochs": 3, "learning_rate": 2e-3, "batch_size": 8, "max_length": 32}
    params = Params.model_validate(
        {
            "profile": "paper", "seed": 5, "paths": {"cache": None},
            "model": model_params.model_dump(), "pretrain": train,
            "grid": {"intermediate": ["none"], "target": ["t_keyword"]},
            "phase1": {}, "phase2": {"t_keyword": train},
            "evaluation": {"max_length": 32, "splits": ["test"]}, "task_dirs": ["specs"],
        }
    )  # fmt: skip
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "workspace"]):
        subprocess.run([*git, *args], check=True, capture_output=True)  # provenance needs a commit
    return {"params": params, "encoder": encoder, "root": tmp_path}


def test_a_kind_defined_in_a_test_trains_evaluates_scores_and_ingests(
    keyword_kind: TaskKind, workspace: dict[str, Any]
) -> None:
    params, root = workspace["params"], workspace["root"]
    registry = Registry.for_params(params)
    spec = registry.get("t_keyword")
    assert kinds.of(spec) is keyword_kind and spec.primary_metric == "yes_recall"

    model_dir = root / "models/none-t_keyword"
    info = run_target(params, registry, "none", "t_keyword", workspace["encoder"], model_dir)
    assert info["train"]["examples_seen"] == 3 * 32
    assert (model_dir / "config.json").is_file()

    out = root / "results/none-t_keyword-s5.json"
    result = evaluate_cell(params, registry, "none", "t_keyword", model_dir, out)
    scores = {(s["language"], s["metric"]): s for s in result["scores"]}
    assert set(scores) == {(lang, m) for lang in ("en", "xx") for m in ("accuracy", "yes_recall")}
    assert all(s["n_examples"] == 10 and 0.0 <= s["value"] <= 1.0 for s in scores.values())
    # the per-example statistics recompute each score
    lines = [yaml.safe_load(line) for line in examples_path(out).read_text().splitlines()]
    for line in lines:
        value = scores[(line["language"], line["metric"])]["value"]
        assert metric_of(line["metric"], torch.tensor(line["stats"]).numpy()) == pytest.approx(
            value
        )

    # the result file validates against the kind's metrics and loads into the database
    assert read_result(out).primary_metric == "yes_recall"
    languages = language_rows([{"code": "xx", "name": "Pseudo"}])
    db = root / "results.duckdb"
    counts = ingest(db, [out], languages, registry.specs(), quarantine_dir=root / "quarantine")
    assert counts["added"] == 1 and counts["quarantined"] == 0
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("SELECT count(*), min(metric) FROM scores").fetchone()
    assert stored == (4, "accuracy")


def test_an_unregistered_kind_is_refused_with_the_known_kinds(workspace: dict[str, Any]) -> None:
    with pytest.raises(HarnessError, match=r"kind.*Input should be 'classification'"):
        Registry.for_params(workspace["params"])


def test_a_kind_is_registered_once(keyword_kind: TaskKind) -> None:
    with pytest.raises(ValueError, match="registered already"):
        kinds.register(Keyword())
