"""Retrieval targets from a phase-1 encoder: pooling, caching, layers, the three metrics, the
`harness retrieve` command and its result file."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from harness.config import ModelParams, load_params
from harness.data.pools import map_pool
from harness.errors import HarnessError
from harness.kinds.retrieval import (
    best_threshold,
    bitext_accuracy,
    margin_candidates,
    topk_cosine,
)
from harness.model.encoders import load_encoder
from harness.model.pooling import SentenceEncoder
from harness.stages.retrieve import retrieve_cell, score_bucc, score_mean_ap
from tests.conftest import REPO, write_jsonl

SENTENCES = [
    "the dog saw a cat",
    "a big red dog chased the small cat near the river",
    "Anna Berg saw New Harbor",
    "the teacher did not see the dog",
    "the cat",
]


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from harness.model.encoders import new_mlm_model, save_encoder, train_tokenizer, write_phase

    words = "the a dog cat teacher saw chased big small red river near did not Anna Berg New Harbor"
    lines = [" ".join(words.split()[i:] + words.split()[:i]) for i in range(len(words.split()))]
    tok = train_tokenizer(lines * 10, vocab_size=120)
    torch.manual_seed(0)
    params = ModelParams(
        name="t", source="pretrain", hidden_size=16, num_layers=2, num_heads=2,
        intermediate_size=32, max_position=64, dropout=0.0,
    )  # fmt: skip
    model = new_mlm_model(params, tok)
    out = tmp_path_factory.mktemp("enc") / "encoder"
    save_encoder(model, tok, out)
    write_phase(out, {"phase": 1, "train": {"seconds": 1.5}})
    return out


def _encoder(encoder_dir: Path, layer: int = 1, batch_size: int = 8) -> SentenceEncoder:
    model, tok, _ = load_encoder(encoder_dir)
    return SentenceEncoder(model, tok, layer, batch_size, 32)


# ------------------------------------------------------------------------------------------
# encoding


def test_mean_pooling_ignores_padding(encoder_dir: Path) -> None:
    alone = _encoder(encoder_dir).encode([SENTENCES[0]])[0]
    batched = _encoder(encoder_dir, batch_size=8).encode(SENTENCES)  # one padded batch
    assert torch.allclose(alone, batched[0], atol=1e-6)
    assert not torch.allclose(batched[0], batched[1], atol=1e-3)


def test_each_distinct_sentence_is_encoded_once(encoder_dir: Path) -> None:
    enc = _encoder(encoder_dir, batch_size=2)
    first = enc.encode([SENTENCES[0], SENTENCES[1], SENTENCES[0]])
    assert enc.encoded == 2 and enc.forward_calls == 1
    second = enc.encode([SENTENCES[1], SENTENCES[2]])
    assert enc.encoded == 3 and enc.forward_calls == 2
    assert torch.equal(first[0], first[2]) and torch.equal(first[1], second[0])


def test_the_chosen_layer_is_pooled(encoder_dir: Path) -> None:
    model, tok, _ = load_encoder(encoder_dir)
    batch = tok([SENTENCES[1]], return_tensors="pt")
    with torch.no_grad():
        states = model(**batch, output_hidden_states=True).hidden_states
    layer0 = _encoder(encoder_dir, layer=0).encode([SENTENCES[1]])[0]
    layer2 = _encoder(encoder_dir, layer=2).encode([SENTENCES[1]])[0]
    assert torch.allclose(layer0, states[0][0].mean(dim=0), atol=1e-6)
    assert torch.allclose(layer2, states[2][0].mean(dim=0), atol=1e-6)
    assert not torch.allclose(layer0, layer2, atol=1e-3)
    with pytest.raises(HarnessError, match="out of range"):
        _encoder(encoder_dir, layer=3)


# ------------------------------------------------------------------------------------------
# metrics on hand-made embeddings


def test_accuracy_on_hand_made_embeddings() -> None:
    queries = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.2]])
    targets = torch.tensor([[1.0, 0.1], [0.1, 1.0], [1.0, 0.0]])
    # q0 -> t2 (cos 1.0 > 0.995): wrong; q1 -> t1 (0.995): right; q2 -> t1 (cos > 0): wrong
    assert bitext_accuracy(queries, targets) == [0.0, 1.0, 0.0]
    assert bitext_accuracy(targets, targets) == [1.0, 1.0, 1.0]


def test_blocked_topk_equals_dense() -> None:
    gen = torch.Generator().manual_seed(3)
    q, c = torch.randn(11, 5, generator=gen), torch.randn(23, 5, generator=gen)
    sims, idx = topk_cosine(q, c, 4, block=3)
    dense = torch.nn.functional.normalize(q, dim=1) @ torch.nn.functional.normalize(c, dim=1).T
    ref_s, ref_i = dense.topk(4, dim=1)
    assert torch.equal(idx, ref_i) and torch.allclose(sims, ref_s, atol=1e-6)


def test_margin_mining_finds_the_parallel_pairs() -> None:
    x = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    y = torch.tensor([[0.0, 1.0, 0.1], [1.0, 0.1, 0.0], [0.2, 0.2, 1.0], [0.6, 0.6, 0.5]])
    mined = margin_candidates(x, y, k=2)
    assert {(s, t) for s, t, _ in mined} == {(0, 1), (1, 0), (2, 2)}
    # the ratio margin by hand: cos / mean(mean top-2 cos of x_i, mean top-2 cos of y_j)
    xn = x.numpy() / np.linalg.norm(x.numpy(), axis=1, keepdims=True)
    yn = y.numpy() / np.linalg.norm(y.numpy(), axis=1, keepdims=True)
    cos = xn @ yn.T
    fwd = np.sort(cos, axis=1)[:, -2:].mean(axis=1)
    bwd = np.sort(cos.T, axis=1)[:, -2:].mean(axis=1)
    expected = {(s, t): cos[s, t] / ((fwd[s] + bwd[t]) / 2) for s, t in [(0, 1), (1, 0), (2, 2)]}
    for s, t, score in mined:
        assert math.isclose(score, expected[(s, t)], rel_tol=1e-5)
    assert [score for *_, score in mined] == sorted((sc for *_, sc in mined), reverse=True)


def test_best_threshold_maximises_f1() -> None:
    candidates = {("a", "1"): 3.0, ("b", "2"): 2.0, ("c", "3"): 1.5, ("d", "4"): 1.0}
    gold = [("a", "1"), ("c", "3"), ("e", "5")]
    # prefix F1: 2/4, 2/5, 4/6 (best), 4/7 -> midpoint of 1.5 and 1.0
    assert best_threshold(candidates, gold) == 1.25
    assert best_threshold(candidates, [("x", "y")]) == 0.0


def test_mining_real_sentences_drops_texts_under_several_ids(encoder_dir: Path) -> None:
    from harness.kinds.retrieval import mine_pairs

    src = {"d1": SENTENCES[0], "d2": SENTENCES[1], "d3": SENTENCES[2], "d4": SENTENCES[2]}
    eng = {"e1": SENTENCES[0], "e2": SENTENCES[1], "e3": SENTENCES[2], "e4": SENTENCES[3]}
    enc = _encoder(encoder_dir)
    mined = mine_pairs(enc, src, eng, k=2)
    # identical texts have cosine 1 and are mined; SENTENCES[2] has two source ids (dropped,
    # as XTREME's read_sent2id); e4's best source is already taken (one-to-one)
    assert set(mined) == {("d1", "e1"), ("d2", "e2")}
    assert all(score > 0 for score in mined.values())
    assert enc.encoded == 4  # the distinct texts of both sides, once


def _bucc_files(root: Path, stem: str, src: dict[str, str], eng: dict[str, str], gold: Any) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for suffix, rows in (("de", src), ("en", eng)):
        text = "".join(f"{k}\t{v}\n" for k, v in rows.items())
        (root / f"{stem}.{suffix}").write_text(text, encoding="utf-8")
    (root / f"{stem}.gold").write_text("".join(f"{s}\t{t}\n" for s, t in gold), encoding="utf-8")


def _spec(
    name: str, path: Path, metric: str, files: dict[str, str], fmt: str = "jsonl",
    languages: tuple[str, ...] = ("en", "de", "xa", "xb"),
) -> Any:  # fmt: skip
    from harness.tasks import TaskSpec

    return TaskSpec.model_validate(
        {
            "name": name, "role": "target", "kind": "retrieval", "metric": metric,
            "xtreme_group": "retrieval", "languages": list(languages),
            "source": {"type": "local", "path": str(path), "format": fmt, "files": files},
        }
    )  # fmt: skip


def test_bucc_applies_the_dev_threshold_to_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.stages.retrieve as retrieve

    data = tmp_path / "bucc"
    sents = {f"s{i}": f"s{i}" for i in range(5)}
    _bucc_files(data, "de-en.sample", sents, sents, [("s0", "s0"), ("s2", "s2"), ("s4", "s4")])
    _bucc_files(data, "de-en.training", sents, sents, [("s0", "s0"), ("s1", "s1")])
    mined = {
        "sample": {("s0", "s0"): 3.0, ("s1", "s1"): 2.0, ("s2", "s2"): 1.5, ("s3", "s3"): 1.0},
        # dev threshold 1.25 keeps s0, s1, s3 here; tuned on test itself it would keep 2.
        "training": {("s0", "s0"): 3.0, ("s1", "s1"): 1.2, ("s3", "s3"): 2.0},
    }

    calls: list[int] = []

    def fake_mine(encoder: Any, source: dict[str, str], english: Any, k: int, block: int) -> Any:
        calls.append(1)
        return mined["sample" if len(calls) == 1 else "training"]

    monkeypatch.setattr(retrieve, "mine_pairs", fake_mine)
    spec = _spec(
        "tiny_bucc", data, "f1", {"dev": "{language}-en.sample", "test": "{language}-en.training"},
        fmt="bucc",
    )  # fmt: skip

    class NoEncoder:
        def forget(self) -> None:
            pass

    params = load_params(REPO / "params.yaml")
    out = score_bucc(params, spec, NoEncoder(), ["dev", "test"], "de")  # type: ignore[arg-type]
    dev_values, metric, ids, rows, n = out["dev"]
    assert metric == "f1" and math.isclose(dev_values["f1"], 2 / 3)
    test_values, _, ids, rows, n = out["test"]
    # predicted {s0, s3} (>= 1.25), gold {s0, s1}: P = R = 1/2
    assert math.isclose(test_values["f1"], 0.5) and math.isclose(test_values["precision"], 0.5)
    assert ids == list(sents) and n == 5
    sums = np.asarray(rows).sum(axis=0)
    assert list(sums) == [1.0, 2.0, 2.0]
    from harness.results.stats import metric_of

    assert math.isclose(metric_of("f1", np.asarray(rows)), test_values["f1"])


# ------------------------------------------------------------------------------------------
# mAP@20 and accuracy through the real encoder


def _write_toy(root: Path) -> None:
    """dev and test share sentences; xa and xb share English targets."""
    for split in ("dev", "test"):
        for lang in ("en", "de", "xa", "xb"):
            rows = [
                {"id": f"{split}-{lang}-{i}", "query": f"{lang} {s}", "target": s}
                for i, s in enumerate(SENTENCES)
            ]
            if lang == "xb":
                rows[0]["query"] = f"xa {SENTENCES[0]}"  # the same query text as xa's
            write_jsonl(root / f"{split}.{lang}.jsonl", rows)


def test_map_at_20_equals_the_metric_module(tmp_path: Path, encoder_dir: Path) -> None:
    from harness.metrics.retrieval import mean_average_precision_at_k

    _write_toy(tmp_path / "d")
    spec = _spec("tiny_map", tmp_path / "d", "map@20", {"test": "test.{language}.jsonl"})
    params = load_params(REPO / "params.yaml")
    enc = _encoder(encoder_dir)
    scored = score_mean_ap(params, spec, enc, "test")
    pool = list(SENTENCES)
    ref_enc = _encoder(encoder_dir)
    p = torch.nn.functional.normalize(ref_enc.encode(pool), dim=1).numpy()
    for lang in ("en", "de", "xa", "xb"):
        queries = json.loads(
            "[" + ",".join((tmp_path / "d" / f"test.{lang}.jsonl").read_text().splitlines()) + "]"
        )
        q = torch.nn.functional.normalize(ref_enc.encode([r["query"] for r in queries]), dim=1)
        order = np.argsort(-(q.numpy() @ p.T), axis=1, kind="stable")
        golds = {r["id"]: [r["target"]] for r in queries}
        preds = {r["id"]: [pool[j] for j in row] for r, row in zip(queries, order, strict=True)}
        values, metric, ids, rows, n = scored[lang]
        assert ids == [r["id"] for r in queries]
        expected = mean_average_precision_at_k(golds, preds, 20)
        assert metric == "map@20" and math.isclose(values["map@20"], expected, abs_tol=1e-9)
        assert n == 5 and [r[1] for r in rows] == [1.0] * 5
        assert math.isclose(float(np.mean([r[0] for r in rows])), expected)


def _dense_ranking(enc: SentenceEncoder, queries: list[str], pool: list[str]) -> np.ndarray:
    q = torch.nn.functional.normalize(enc.encode(queries), dim=1).numpy()
    p = torch.nn.functional.normalize(enc.encode(pool), dim=1).numpy()
    return np.argsort(-(q @ p.T), axis=1, kind="stable")


def test_lareqa_pools_every_sentence_of_every_language(tmp_path: Path, encoder_dir: Path) -> None:
    from harness.metrics.retrieval import average_precision_at_k

    def paragraph(prefix: str) -> dict[str, Any]:
        first, second = f"{prefix} the dog saw a cat.", f"{prefix} the teacher did not see it."
        context = f"{first} {second}"
        start2 = len(first) + 1
        return {
            "context": context,
            "sentence_breaks": [[0, len(first)], [start2, len(context)]],
            "qas": [
                {"id": "q1", "question": f"{prefix} who saw the cat",
                 "answers": [{"text": "dog", "answer_start": context.index("dog")}]},
                {"id": "q2", "question": f"{prefix} who did not see it",
                 "answers": [{"text": "teacher", "answer_start": context.index("teacher")}]},
                {"id": "q3", "question": f"{prefix} between",
                 "answers": [{"text": " ", "answer_start": len(first)}]},  # in no sentence
            ],
        }  # fmt: skip

    folder = tmp_path / "xquad-r"
    folder.mkdir()
    for lang in ("en", "de"):
        doc = {"data": [{"title": "t", "paragraphs": [paragraph(lang)]}]}
        (folder / f"{lang}.json").write_text(json.dumps(doc), encoding="utf-8")
    spec = _spec(
        "tiny_lareqa", folder, "map@20", {"test": "{language}.json"}, "squad_json", ("en", "de")
    )
    params = load_params(REPO / "params.yaml")
    enc = _encoder(encoder_dir)
    queries, pool_ids, pool_texts = map_pool(spec, "test")
    assert pool_ids == ["en_1_0", "en_1_1", "de_1_0", "de_1_1"]
    # a candidate is its sentence followed by its paragraph (XTREME-R's evaluate_retrieval.py)
    de = paragraph("de")["context"]
    assert pool_texts[3] == "de the teacher did not see it." + de
    assert [(q, gold) for q, _, gold in queries["de"]] == [
        ("q1", {"en_1_0", "de_1_0"}),
        ("q2", {"en_1_1", "de_1_1"}),
    ]
    scored = score_mean_ap(params, spec, enc, "test")
    ref = _encoder(encoder_dir)
    for lang in ("en", "de"):
        order = _dense_ranking(ref, [text for _, text, _ in queries[lang]], pool_texts)
        aps = [
            average_precision_at_k(sorted(gold), [pool_ids[j] for j in row], 20)
            for (_, _, gold), row in zip(queries[lang], order, strict=True)
        ]
        values, _, ids, rows, n = scored[lang]
        assert ids == ["q1", "q2"] and n == 2
        assert math.isclose(values["map@20"], float(np.mean(aps)), abs_tol=1e-9)
        assert [r[0] for r in rows] == pytest.approx(aps)


def test_mewslix_ranks_the_candidate_entities(tmp_path: Path, encoder_dir: Path) -> None:
    from harness.metrics.retrieval import mewslix_map_at_k

    folder = tmp_path / "mewslix"
    entities = {"Q1": "a big red dog", "Q2": "the river near New Harbor", "Q3": "Anna Berg"}
    write_jsonl(
        folder / "candidate_set_entities.jsonl",
        [{"entity_id": k, "title": k, "description": v} for k, v in entities.items()],
    )
    mentions = []
    for i, (lang, text, (start, end), entity) in enumerate(
        [
            ("en", "the dog saw Anna Berg", (12, 21), "Q3"),
            ("en", "the big dog saw a cat", (8, 11), "Q1"),
            ("de", "der Hund sah New Harbor", (13, 23), "Q2"),
        ]
    ):
        mentions.append(
            {
                "context": {"language": lang, "text": text, "sentence_spans": []},
                "mention": {
                    "example_id": f"m{i}",
                    "mention_span": {"start": start, "end": end, "text": text[start:end]},
                    "entity_id": entity,
                },
            }
        )
    write_jsonl(folder / "mentions-test.jsonl", mentions)
    spec = _spec(
        "tiny_mewslix", folder, "map@20", {"test": "mentions-test.jsonl"}, "mewslix", ("en", "de")
    )
    params = load_params(REPO / "params.yaml")
    enc = _encoder(encoder_dir)
    queries, pool_ids, pool_texts = map_pool(spec, "test")
    assert pool_ids == list(entities) and pool_texts == list(entities.values())
    assert [(q, gold) for q, _, gold in queries["en"]] == [("m0", {"Q3"}), ("m1", {"Q1"})]
    scored = score_mean_ap(params, spec, enc, "test")
    ref = _encoder(encoder_dir)
    for lang in ("en", "de"):
        order = _dense_ranking(ref, [text for _, text, _ in queries[lang]], pool_texts)
        golds = {q: sorted(gold) for q, _, gold in queries[lang]}
        ranked = [[pool_ids[j] for j in row] for row in order]
        preds = {q: top for (q, _, _), top in zip(queries[lang], ranked, strict=True)}
        assert math.isclose(
            scored[lang][0]["map@20"], mewslix_map_at_k(golds, preds, 20), abs_tol=1e-9
        )


# ------------------------------------------------------------------------------------------
# the command and its result file


def _workspace(tmp_path: Path, encoder_dir: Path, **retrieval: Any) -> Path:
    from tests.unit.test_store import LANGS

    ws = tmp_path / "ws"
    _write_toy(ws / "data" / "tiny")
    (ws / "data" / "toy").mkdir(parents=True)
    (ws / "data" / "toy" / "languages.json").write_text(json.dumps(LANGS), encoding="utf-8")
    specs = ws / "specs"
    specs.mkdir()
    spec = {
        "name": "tiny_retrieval", "role": "target", "kind": "retrieval", "metric": "accuracy",
        "xtreme_group": "retrieval", "languages": ["en", "xa", "xb"],
        "source": {"type": "local", "path": "data/tiny",
                   "files": {"dev": "dev.{language}.jsonl", "test": "test.{language}.jsonl"}},
    }  # fmt: skip
    (specs / "tiny_retrieval.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    params["task_dirs"] = ["specs"]
    if retrieval:
        params["retrieval"] = retrieval
    (ws / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    shutil.copytree(encoder_dir, ws / "enc")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(ws)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "ws"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    return ws


def test_retrieve_writes_a_valid_result_file(
    tmp_path: Path, encoder_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import harness.model.pooling as retrieval
    from harness.cli import app

    ws = _workspace(tmp_path, encoder_dir)
    monkeypatch.chdir(ws)
    texts: list[str] = []
    run = retrieval.SentenceEncoder._run

    def counting(self: SentenceEncoder, batch: list[str]) -> torch.Tensor:
        texts.extend(batch)
        return run(self, batch)

    monkeypatch.setattr(retrieval.SentenceEncoder, "_run", counting)
    runner = CliRunner()
    args = ["retrieve", "--task", "tiny_retrieval", "--intermediate", "none"]
    done = runner.invoke(app, [*args, "--encoder", "enc", "--out", "cells/r.json"])
    assert done.exit_code == 0, done.output
    # every distinct query and target once, across both languages and both splits
    distinct = {f"{lang} {s}" for lang in ("xa",) for s in SENTENCES} | set(SENTENCES)
    distinct |= {f"xb {s}" for s in SENTENCES[1:]}
    assert sorted(texts) == sorted(distinct)

    result = json.loads((ws / "cells" / "r.json").read_text(encoding="utf-8"))
    assert result["seed"] == 13 and result["primary_metric"] == "accuracy"
    keys = {(s["language"], s["split"]) for s in result["scores"]}
    assert keys == {(lang, split) for lang in ("xa", "xb") for split in ("dev", "test")}
    assert all(s["n_examples"] == 5 and 0 <= s["value"] <= 1 for s in result["scores"])
    prov = result["provenance"]
    assert set(prov["inputs"]) == {"enc", "data/tiny"} and prov["params"]["layer"] == 1
    assert prov["timings"]["phase1_train"] == 1.5 and "retrieve" in prov["timings"]
    lines = [json.loads(x) for x in (ws / "cells" / "r.examples.jsonl").read_text().splitlines()]
    assert len(lines) == 4 and all(len(x["stats"]) == 5 for x in lines)
    by_key = {(s["language"], s["split"]): s["value"] for s in result["scores"]}
    for line in lines:
        mean = float(np.mean([r[0] for r in line["stats"]]))
        assert math.isclose(mean, by_key[(line["language"], line["split"])])

    checked = runner.invoke(app, ["validate", "cells/r.json"])
    assert checked.exit_code == 0, checked.output


@pytest.mark.parametrize(
    ("task", "encoder", "retrieval_params", "evaluation", "needle"),
    [
        ("tiny_retrieval", "missing", {}, None, "does not exist"),
        ("toy_nli", "enc", {}, None, "retrieval tasks only"),
        ("tiny_retrieval", "enc", {}, ["dev"], "test split"),
        ("tiny_retrieval", "enc", {"layer": 7}, None, "out of range"),
    ],
)
def test_user_errors(
    tmp_path: Path,
    encoder_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    task: str,
    encoder: str,
    retrieval_params: dict[str, Any],
    evaluation: list[str] | None,
    needle: str,
) -> None:
    from harness.tasks import Registry

    ws = _workspace(tmp_path, encoder_dir, **retrieval_params)
    monkeypatch.chdir(ws)
    params = load_params(ws / "params.yaml")
    if evaluation is not None:
        params = params.model_copy(
            update={"evaluation": params.evaluation.model_copy(update={"splits": evaluation})}
        )
    with pytest.raises(HarnessError, match=needle):
        retrieve_cell(
            params, Registry.for_params(params), "none", task, Path(encoder), Path("out.json")
        )
    assert not Path("out.json").exists()
