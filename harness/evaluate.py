"""Zero-shot evaluation on every language of a target task, and the per-cell result file."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from harness.config import BASELINE, EvalParams, Params, TrainParams, stable_hash
from harness.data.cache import cached_featurize
from harness.data.features import Feature, collate
from harness.data.sources import Example, load_examples
from harness.errors import HarnessError
from harness.io import atomic_write_text
from harness.metrics import score
from harness.metrics.qa import MLQA_LANGUAGES, Normalisation
from harness.progress import progress_bar
from harness.provenance import changed_files, collect, now, replication_check
from harness.results.files import with_checksum
from harness.tasks import LocalSource, Registry, TaskSpec
from harness.train import pick_device

RESULT_SCHEMA_VERSION = 3  # 3: a checksum over the canonical content


def _length(feature: Any) -> int:
    ids = feature.input_ids
    return sum(len(x) for x in ids) if ids and isinstance(ids[0], list) else len(ids)


@torch.no_grad()
def predict(
    model: Any,
    features: Sequence[Any],
    pad_id: int,
    batch_size: int,
    description: str,
    collate_fn: Callable[[Sequence[Any]], dict[str, torch.Tensor]] | None = None,
) -> list[torch.Tensor]:
    """Model outputs per feature; batches are built from length-sorted features (little
    padding). Sequence heads: (labels,) logits; multiple choice: (choices,); token heads:
    (tokens, labels); extractive QA: (tokens, 2), the start and end logits."""
    device = pick_device()
    model.to(device)
    model.eval()
    collate_fn = collate_fn or (lambda fs: collate(fs, pad_id))
    order = sorted(range(len(features)), key=lambda i: _length(features[i]))
    out: list[torch.Tensor | None] = [None] * len(features)
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    with progress_bar(description, len(batches)) as advance:
        for indices in batches:
            batch = collate_fn([features[i] for i in indices])
            output = model(
                input_ids=batch["input_ids"].to(device),
                attention_mask=batch["attention_mask"].to(device),
            )
            if getattr(output, "start_logits", None) is not None:
                logits = torch.stack([output.start_logits, output.end_logits], dim=-1)
            else:
                logits = output.logits
            logits = logits.float().cpu()
            for row, i in enumerate(indices):
                out[i] = (
                    logits[row, : len(features[i].input_ids)] if logits.dim() == 3 else logits[row]
                )
            advance(None)
    return [t for t in out if t is not None]


def qa_normalisation(spec: TaskSpec) -> Normalisation:
    """The answer normalisation of a QA task, chosen as :func:`harness.scoring.score_files`
    chooses it: MLQA's language-specific one for MLQA, SQuAD v1.1's for every other task."""
    return "mlqa" if spec.name == "mlqa" else "squad"


def predict_and_score(
    model: Any,
    tokenizer: Any,
    spec: TaskSpec,
    examples: Sequence[Example],
    batch_size: int,
    max_length: int,
    description: str,
    cache_dir: Path | None = None,
    per_example: dict[str, list[list[float]]] | None = None,
    settings: EvalSettings | None = None,
    language: str | None = None,
    predictions_out: list[Any] | None = None,
) -> dict[str, float]:
    """Scores of ``examples`` (of ``language``; MLQA's normalisation depends on it); when
    ``per_example`` is given, it receives each metric's per-example sufficient statistics
    (:func:`harness.analysis.example_stats`); ``predictions_out`` receives the prediction of
    every example, in order, as the XTREME submission layout takes it
    (:func:`harness.scoring.export_xtreme`): a label (multiple choice: the spec's label of the
    chosen choice, XCOPA's ``0``/``1``), a tag list, or an answer text."""
    from harness.data.features import FeatureSettings, collate_for

    settings = settings or EvalSettings()
    feature_settings = FeatureSettings(settings.doc_stride, settings.max_query_length)
    features = cached_featurize(spec, examples, tokenizer, max_length, cache_dir, feature_settings)
    logits = predict(
        model,
        features,
        tokenizer.pad_token_id,
        batch_size,
        description,
        collate_for(spec.kind, tokenizer.pad_token_id),
    )
    labels = spec.labels
    options: dict[str, Any] = {}
    if spec.kind == "tagging":
        golds: list[Any] = [ex["tags"] for ex in examples]
        predictions: list[Any] = _word_tags(features, logits, labels, [len(g) for g in golds])
    elif spec.kind == "extractive_qa":
        from harness.kinds.qa import decode_answers

        predictions = decode_answers(
            features, logits, examples, settings.max_answer_length, settings.n_best
        )
        golds = [list(ex["answers"]["text"]) for ex in examples]
        normalisation = qa_normalisation(spec)
        answer_language = (language or spec.train_language) if normalisation == "mlqa" else None
        if normalisation == "mlqa" and answer_language not in MLQA_LANGUAGES:
            raise HarnessError(
                f"MLQA is scored for {', '.join(MLQA_LANGUAGES)}, not '{answer_language}'; "
                "remove that language from the task's languages."
            )
        options = {"normalisation": normalisation, "language": answer_language}
    else:
        predictions = [
            labels[int(lg.argmax())] if int(lg.argmax()) < len(labels) else str(int(lg.argmax()))
            for lg in logits
        ]
        golds = [ex["label"] for ex in examples]
    if predictions_out is not None:
        predictions_out.extend(predictions)
    if per_example is not None:
        from harness.analysis import example_stats

        per_example.update(example_stats(spec.kind, predictions, golds, **options))
    return score(spec.kind, predictions, golds, **options)


@dataclass(frozen=True)
class EvalSettings:
    """Evaluation settings of extractive QA (the defaults of :class:`harness.config.EvalParams`)."""

    doc_stride: int = 128
    max_query_length: int = 64
    max_answer_length: int = 30
    n_best: int = 20

    @classmethod
    def of(cls, tp: TrainParams, evaluation: EvalParams) -> EvalSettings:
        """A task's evaluation settings: its windows as it was trained (``tp``: max_length is
        passed separately, doc_stride and max_query_length here), as the reference scripts
        window a context the same way for training and prediction; the answer decoding from
        ``evaluation``."""
        return cls(
            doc_stride=tp.doc_stride,
            max_query_length=tp.max_query_length,
            max_answer_length=evaluation.max_answer_length,
            n_best=evaluation.n_best,
        )


def eval_max_length(spec: TaskSpec, tp: TrainParams, evaluation: EvalParams) -> int:
    """Tokens per evaluated sequence: ``evaluation.max_length``, except for extractive QA, whose
    context windows are those of training (``tp.max_length``)."""
    return tp.max_length if spec.kind == "extractive_qa" else evaluation.max_length


def _word_tags(
    features: Sequence[Feature],
    logits: Sequence[torch.Tensor],
    labels: Sequence[str],
    n_words: Sequence[int],
) -> list[list[str]]:
    """The tag of each word of every sentence: the prediction at its first sub-token, taken,
    when the sentence was split into windows, from the window where that first sub-token has
    the most context: the largest ``min(tokens before it, tokens after it)`` within the window
    (ties: the earlier window)."""
    best: list[dict[int, tuple[int, str]]] = [{} for _ in n_words]
    for feature, lg in zip(features, logits, strict=True):
        assert feature.word_ids is not None
        content = [k for k, w in enumerate(feature.word_ids) if w is not None]
        if not content:
            continue
        first, last = content[0], content[-1]
        chosen = best[feature.example]
        previous = None
        for position, word in enumerate(feature.word_ids):
            if word is not None and word != previous:
                context = min(position - first, last - position)
                if word not in chosen or context > chosen[word][0]:
                    chosen[word] = (context, labels[int(lg[position].argmax())])
            previous = word
    # a word without any token (one the tokenizer drops entirely) has nothing to predict from:
    # it gets "O", and the words after it keep their own predictions
    return [
        [chosen[word][1] if word in chosen else "O" for word in range(n)]
        for chosen, n in zip(best, n_words, strict=True)
    ]


def evaluate_cell(
    params: Params,
    registry: Registry,
    intermediate: str,
    task: str,
    model_dir: Path,
    out_file: Path,
    predictions_dir: Path | None = None,
) -> dict[str, Any]:
    """Score the phase-2 model of one grid cell on every language and write its result file;
    with ``predictions_dir``, also every test example's prediction, one file per language at
    ``predictions_dir/{task}/{language}.jsonl`` (``{"id", "prediction"}`` per line, in test
    order), which ``harness export --format xtreme`` turns into an XTREME submission."""
    from harness.modeling import head_class, load_tokenizer, read_phase

    started, clock = now(), time.monotonic()
    spec = registry.get(task, role="target")
    phase2 = read_phase(model_dir)
    tp = params.phase2_params(task)
    tokenizer = load_tokenizer(model_dir)
    model = head_class(spec).from_pretrained(str(model_dir))
    splits = _splits(spec, params.evaluation.splits)
    scores = []
    example_lines: list[str] = []
    for language in spec.languages:
        for split in splits:
            examples = load_examples(spec, split, language)
            if not examples:
                raise HarnessError(f"Task '{task}' has no {split} examples for '{language}'.")
            stats: dict[str, list[list[float]]] = {}
            predicted: list[Any] = []
            values = predict_and_score(
                model,
                tokenizer,
                spec,
                examples,
                params.evaluation.batch_size,
                eval_max_length(spec, tp, params.evaluation),
                f"eval {task} {split} {language}",
                params.paths.cache,
                stats,
                EvalSettings.of(tp, params.evaluation),
                language,
                predicted,
            )
            if predictions_dir is not None and split == "test":
                rows = [
                    json.dumps({"id": str(ex.get("id", i)), "prediction": p}, ensure_ascii=False)
                    for i, (ex, p) in enumerate(zip(examples, predicted, strict=True))
                ]
                path = predictions_dir / task / f"{language}.jsonl"
                atomic_write_text(path, "".join(row + "\n" for row in rows))
            example_lines += [
                json.dumps(
                    {
                        "language": language,
                        "split": split,
                        "metric": metric,
                        "ids": [str(ex.get("id", i)) for i, ex in enumerate(examples)],
                        "stats": rows,
                    },
                    sort_keys=True,
                    separators=(",", ":"),
                )
                for metric, rows in stats.items()
            ]
            scores += [
                {
                    "language": language,
                    "split": split,
                    "metric": metric,
                    "value": value,
                    "n_examples": len(examples),
                }
                for metric, value in values.items()
            ]
    return write_cell_result(
        params,
        registry,
        intermediate,
        spec,
        [model_dir],
        scores,
        example_lines,
        out_file,
        started,
        {**_training_seconds(phase2), "evaluate": round(time.monotonic() - clock, 3)},
        cell_params(params, intermediate, task),
    )


def write_cell_result(
    params: Params,
    registry: Registry,
    intermediate: str,
    spec: TaskSpec,
    model_dirs: Sequence[Path],
    scores: Sequence[dict[str, Any]],
    example_lines: Sequence[str],
    out_file: Path,
    started: str,
    timings: dict[str, float],
    parameters: dict[str, Any],
) -> dict[str, Any]:
    """Write one cell's result file (and its per-example file beside it) with its provenance:
    parameters (``parameters``, hashed into the run id), DVC md5 of the input folders
    (``model_dirs`` and the task's local data), the replication check, timings and checksum.
    Every evaluated cell (:func:`evaluate_cell`, :func:`harness.retrieval.retrieve_cell`)
    writes through here, so result files share one schema. Returns the result."""
    task = spec.name
    params_hash = stable_hash(parameters)
    inputs = _input_hashes(spec, *model_dirs)
    provenance = collect(params_hash, started)
    provenance["replication"] = replication_check(
        provenance["git_commit"],
        changed_files(),
        params.paths.data,
        Path("data.dvc"),
        _revisions(
            params, [spec] if intermediate == BASELINE else [spec, registry.get(intermediate)]
        ),
    )
    provenance.update(
        inputs=inputs,
        dvc_stage_hash=stable_hash({"inputs": inputs, "params_hash": params_hash}),
        container_image=os.environ.get("XTRANSFER_IMAGE_DIGEST") or None,
        timings=timings,
        params=parameters,
    )
    result = {
        "schema_version": RESULT_SCHEMA_VERSION,
        "run_id": run_id(params.model.name, intermediate, task, params.seed, params_hash),
        "model": params.model.name,
        "intermediate_task": None if intermediate == BASELINE else intermediate,
        "target_task": task,
        "seed": params.seed,
        "primary_metric": spec.primary_metric,
        "scores": list(scores),
        "provenance": provenance,
    }
    atomic_write_text(examples_path(out_file), "".join(line + "\n" for line in example_lines))
    result = with_checksum(result)
    atomic_write_text(out_file, json.dumps(result, indent=2, sort_keys=True) + "\n")
    return result


def example_line(
    language: str, split: str, metric: str, ids: Sequence[str], rows: Sequence[Sequence[float]]
) -> str:
    """One line of the per-example file: the statistics rows of one language, split, metric."""
    return json.dumps(
        {
            "language": language,
            "split": split,
            "metric": metric,
            "ids": list(ids),
            "stats": [list(r) for r in rows],
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def examples_path(result_file: Path) -> Path:
    """The per-example file beside a result file: ``X.json`` -> ``X.examples.jsonl`` (one line
    per language, split and metric, with every example's sufficient statistics)."""
    return result_file.with_name(result_file.stem + ".examples.jsonl")


def _input_hashes(spec: TaskSpec, *model_dirs: Path) -> dict[str, str]:
    """DVC md5 of the cell's input folders, equal to what dvc.lock records for them."""
    from harness.data.snapshot import directory_md5

    folders = list(model_dirs)
    if isinstance(spec.source, LocalSource):
        folders.append(Path(spec.source.path))
    return {folder.as_posix(): directory_md5(folder)[0] for folder in folders}


def _revisions(params: Params, specs: Sequence[TaskSpec]) -> list[tuple[str, str | None]]:
    """The Hub revisions a cell depends on (model, task data), for the replication check."""
    revisions: list[tuple[str, str | None]] = []
    if params.model.source == "hub":
        revisions.append((f"model {params.model.hub_id}", params.model.revision))
    for spec in specs:
        if not isinstance(spec.source, LocalSource):
            revisions.append((f"dataset {spec.source.id}", spec.source.revision))
    return revisions


def _training_seconds(phase2: dict[str, Any]) -> dict[str, float]:
    """Training time of phase 2 and, when the encoder came from phase 1, of phase 1."""
    from harness.modeling import read_phase

    seconds = {"phase2_train": float(phase2["train"]["seconds"])}
    encoder = Path(str(phase2.get("from", "")))
    if (encoder / "phase.json").is_file():
        phase1 = read_phase(encoder)
        if phase1.get("phase") == 1:
            seconds["phase1_train"] = float(phase1["train"]["seconds"])
    return seconds


def _splits(spec: TaskSpec, wanted: Sequence[str]) -> list[str]:
    available = spec.source.files if isinstance(spec.source, LocalSource) else spec.source.splits
    return [s for s in wanted if s in available and s != "train"]


def cell_params_hash(params: Params, intermediate: str, task: str) -> str:
    """Hash of every parameter that can change this cell's scores."""
    return stable_hash(cell_params(params, intermediate, task))


def encoder_params(params: Params, intermediate: str) -> dict[str, Any]:
    """Every parameter that can change the phase-1 encoder of ``intermediate``."""
    return {
        "seed": params.seed,
        "model": params.model.model_dump(mode="json"),
        "pretrain": params.pretrain.model_dump(mode="json") if params.pretrain else None,
        "toy_data": params.toy_data.model_dump(mode="json") if params.profile == "toy" else None,
        "phase1": (
            None
            if intermediate == BASELINE
            else params.phase1_params(intermediate).model_dump(mode="json")
        ),
    }


def cell_params(params: Params, intermediate: str, task: str) -> dict[str, Any]:
    """Every parameter that can change this cell's scores."""
    return {
        **encoder_params(params, intermediate),
        "phase2": params.phase2_params(task).model_dump(mode="json"),
        "evaluation": params.evaluation.model_dump(mode="json"),
    }


def run_id(model: str, intermediate: str, task: str, seed: int, params_hash: str) -> str:
    return f"{model}/{intermediate}/{task}/s{seed}/{params_hash}"
