"""Scoring prediction files in the XTREME submission layout, and writing that layout.

The layout is the one the official XTREME ``evaluate.py`` reads: one folder per task, one
file per language, ``{task}/test-{language}.{suffix}``:

* ``tsv`` for xnli, pawsx, tatoeba (one label per line, in test order), udpos, panx
  (one tag per line, a blank line after each sentence) and bucc2018 (``source-id<TAB>target-id``
  per line, any order);
* ``jsonl`` for xcopa (XTREME-R's multi_choice group: one JSON object per line, in test order,
  whose ``label`` is the right choice's index; the label file is the XCOPA test file itself);
* ``json`` for xquad, mlqa, tydiqa (predictions: ``{question id: answer text}``; labels: the
  SQuAD-format test file, ``{"data": [...]}`` or the bare list) and for mewslix and lareqa
  (``{query id: [candidate ids, best first]}``; labels: ``{query id: [gold ids]}``).

Scores come out on the official 0-100 scale with the official keys (``accuracy``; ``f1``,
``precision``, ``recall``; ``exact_match``, ``f1``; ``map@20``). Structural problems in a file
(unreadable JSON, an empty line where a label belongs, a tag line with spaces, a BUCC line that
is not two tab-separated ids, different numbers of examples) raise :class:`HarnessError` naming
the file, the line and the problem. Content the official scorer accepts (an unknown label, a
missing QA prediction) is scored as it would score it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.io import atomic_write_text
from harness.metrics.benchmark import (
    TASK_LANGUAGES,
    Version,
    benchmark_summary,
    languages,
    task_average,
)
from harness.metrics.qa import answers_from_squad, qa_scores
from harness.metrics.retrieval import bucc_scores, mean_average_precision_at_k, mewslix_map_at_k
from harness.metrics.tagging import seqeval_scores
from harness.strict import parse_json, read_bytes

LABEL_TASKS = frozenset({"xnli", "pawsx", "tatoeba"})
CHOICE_TASKS = frozenset({"xcopa"})
TAG_TASKS = frozenset({"udpos", "panx"})
SQUAD_TASKS = frozenset({"xquad", "tydiqa"})
RANKING_TASKS = frozenset({"mewslix", "lareqa"})
TASKS = tuple(TASK_LANGUAGES)


def suffix(task: str) -> str:
    _known(task)
    if task in CHOICE_TASKS:
        return "jsonl"
    return "json" if task in SQUAD_TASKS | {"mlqa"} | RANKING_TASKS else "tsv"


def submission_path(root: Path, task: str, language: str) -> Path:
    return root / task / f"test-{language}.{suffix(task)}"


def _known(task: str) -> None:
    if task not in TASK_LANGUAGES:
        raise HarnessError(f"Unknown XTREME task '{task}'; choose one of {', '.join(TASKS)}.")


# --- readers -------------------------------------------------------------------------------


def _text(path: Path, what: str) -> str:
    if not path.exists():
        raise HarnessError(
            f"{what} file '{path}' does not exist; check the path and the layout "
            "{task}/test-{language}.{tsv|json|jsonl}."
        )
    data = read_bytes(path, f"{what} file")  # regular files only, within the size limit
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise HarnessError(
            f"{what} file '{path}' line {line} is not valid UTF-8; save the file as UTF-8."
        ) from exc


def _lines(path: Path, what: str) -> list[str]:
    # str.splitlines would also split on \x1c, \u2028 ...; the official reader splits on \n
    text = _text(path, what)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_labels(path: Path, what: str = "Prediction") -> list[str]:
    """One stripped label per line; an empty line is an error."""
    labels = []
    for number, line in enumerate(_lines(path, what), start=1):
        value = line.strip()
        if not value:
            raise HarnessError(
                f"{what} file '{path}' line {number} is empty; write exactly one label per line "
                "(no blank lines)."
            )
        labels.append(value)
    return labels


def read_choices(path: Path, what: str = "Prediction") -> list[Any]:
    """The ``label`` of every line of a JSON-lines file (XCOPA), as JSON values: the official
    scorer compares them with Python's ``==`` (the index 1 and the string "1" differ)."""
    labels = []
    for number, line in enumerate(_lines(path, what), start=1):
        where = f"{what} file '{path}' line {number}"
        if not line.strip():
            raise HarnessError(f"{where} is empty; write one JSON object per line.")
        try:
            record = parse_json(line)
        except ValueError as exc:
            raise HarnessError(
                f"{where} is not JSON ({exc}); write one JSON object per line."
            ) from exc
        if not isinstance(record, dict) or "label" not in record:
            raise HarnessError(
                f"{where} has no 'label'; write one JSON object per line with the index of the "
                'right choice, e.g. {"label": 1}.'
            )
        labels.append(record["label"])
    return labels


@dataclass(frozen=True)
class Tagged:
    tags: list[list[str]]
    first_lines: list[int]
    """the file line of each sentence's first tag (or of its blank line when empty)"""


def read_tags(path: Path, what: str = "Prediction") -> Tagged:
    """Sentences of one tag per line, separated by blank lines. As in the official reader,
    every blank line ends a sentence, so two blank lines in a row make an empty sentence."""
    sentences: list[list[str]] = []
    starts: list[int] = []
    current: list[str] = []
    start = 1
    for number, line in enumerate(_lines(path, what), start=1):
        tag = line.strip()
        if not tag:
            sentences.append(current)
            starts.append(start)
            current = []
            start = number + 1
            continue
        if len(tag.split()) != 1:
            raise HarnessError(
                f"{what} file '{path}' line {number} holds {tag!r}: write exactly one tag per "
                "line (no tokens, no spaces)."
            )
        if not current:
            start = number
        current.append(tag)
    if current:
        sentences.append(current)
        starts.append(start)
    return Tagged(sentences, starts)


def read_pairs(path: Path, what: str = "Prediction") -> list[tuple[str, str]]:
    """BUCC id pairs, ``source<TAB>target`` per line."""
    pairs = []
    for number, line in enumerate(_lines(path, what), start=1):
        fields = line.strip().split("\t")
        if len(fields) != 2 or not all(fields):
            raise HarnessError(
                f"{what} file '{path}' line {number} is {line.strip()!r}: write one "
                "'source-id<TAB>target-id' pair per line."
            )
        pairs.append((fields[0], fields[1]))
    return pairs


def _json(path: Path, what: str) -> Any:
    text = _text(path, what)
    try:
        return parse_json(text)
    except json.JSONDecodeError as exc:
        raise HarnessError(
            f"{what} file '{path}' line {exc.lineno} column {exc.colno} is not valid JSON "
            f"({exc.msg}); fix the file."
        ) from exc
    except ValueError as exc:
        raise HarnessError(f"{what} file '{path}' is refused: {exc}; fix the file.") from exc


def read_answers(path: Path, what: str = "Prediction") -> dict[str, str]:
    data = _json(path, what)
    if isinstance(data, dict) and "data" in data:  # the official reader accepts both shapes
        data = data["data"]
    if not isinstance(data, dict):
        raise HarnessError(
            f"{what} file '{path}' must hold one JSON object mapping question id to answer text."
        )
    for qid, answer in data.items():
        if not isinstance(answer, str):
            raise HarnessError(
                f"{what} file '{path}': the answer of question {qid!r} is "
                f"{type(answer).__name__}, not a string; write the answer text."
            )
    return data


def read_squad_labels(path: Path, what: str = "Label") -> list[tuple[str, list[str]]]:
    data = _json(path, what)
    if isinstance(data, dict) and "data" in data:
        data = data["data"]
    if not isinstance(data, list):
        raise HarnessError(
            f"{what} file '{path}' must be a SQuAD-format file: {{\"data\": [articles]}} or a "
            "list of articles."
        )
    try:
        golds = answers_from_squad(data)
    except (KeyError, TypeError) as exc:
        raise HarnessError(
            f"{what} file '{path}' is not in SQuAD format (articles -> paragraphs -> qas -> "
            f"answers with 'id' and 'text'): missing or wrong {exc}."
        ) from exc
    for qid, answers in golds:
        if not answers:
            raise HarnessError(f"{what} file '{path}': question {qid!r} has no gold answer.")
        if not all(isinstance(a, str) for a in answers):
            raise HarnessError(f"{what} file '{path}': question {qid!r} has a non-text answer.")
    if not golds:
        raise HarnessError(f"{what} file '{path}' holds no questions.")
    return golds


def read_rankings(path: Path, what: str = "Prediction") -> dict[str, list[str]]:
    data = _json(path, what)
    if not isinstance(data, dict):
        raise HarnessError(
            f"{what} file '{path}' must hold one JSON object mapping each query id to a list "
            "of candidate ids."
        )
    for qid, ids in data.items():
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise HarnessError(
                f"{what} file '{path}': the value of {qid!r} must be a list of id strings."
            )
    return data


# --- scoring -------------------------------------------------------------------------------


def _same_count(n_pred: int, n_gold: int, pred: Path, gold: Path, unit: str) -> None:
    if n_pred != n_gold:
        raise HarnessError(
            f"Prediction file '{pred}' has {n_pred} {unit}, label file '{gold}' has {n_gold}; "
            f"write one prediction per test {unit.rstrip('s')}, in test order."
        )


def _percent(scores: Mapping[str, float]) -> dict[str, float]:
    return {k: v * 100 for k, v in scores.items()}


def score_files(task: str, language: str, predictions: Path, labels: Path) -> dict[str, float]:
    """Score one task and language; values on the official 0-100 scale."""
    _known(task)
    if task in LABEL_TASKS | CHOICE_TASKS:
        read = read_labels if task in LABEL_TASKS else read_choices
        pred, gold = read(predictions), read(labels, "Label")
        _same_count(len(pred), len(gold), predictions, labels, "lines")
        if not gold:
            raise HarnessError(f"Label file '{labels}' is empty.")
        correct = sum(p == g for p, g in zip(pred, gold, strict=True))
        return {"accuracy": correct / len(pred) * 100}
    if task in TAG_TASKS:
        tp, tg = read_tags(predictions), read_tags(labels, "Label")
        _same_count(len(tp.tags), len(tg.tags), predictions, labels, "sentences")
        for i, (p, g) in enumerate(zip(tp.tags, tg.tags, strict=True)):
            if len(p) != len(g):
                raise HarnessError(
                    f"Prediction file '{predictions}' sentence {i + 1} (from line "
                    f"{tp.first_lines[i]}) has {len(p)} tags, label file '{labels}' sentence "
                    f"{i + 1} (from line {tg.first_lines[i]}) has {len(g)}; write one tag per "
                    "token."
                )
        return _percent(seqeval_scores(tp.tags, tg.tags))
    if task == "bucc2018":
        return _percent(bucc_scores(read_pairs(predictions), read_pairs(labels, "Label")))
    if task in SQUAD_TASKS or task == "mlqa":
        if task == "mlqa" and language not in TASK_LANGUAGES["mlqa"]["xtreme"]:
            raise HarnessError(
                f"MLQA is scored for {', '.join(TASK_LANGUAGES['mlqa']['xtreme'])}; "
                f"not for '{language}'."
            )
        golds = read_squad_labels(labels)
        answers = read_answers(predictions)
        if task == "mlqa":
            return _percent(qa_scores(golds, answers, "mlqa", language))
        return _percent(qa_scores(golds, answers, "squad"))
    rank_golds = read_rankings(labels, "Label")
    if not rank_golds:
        raise HarnessError(f"Label file '{labels}' holds no queries.")
    for qid, ids in rank_golds.items():
        if not ids:
            raise HarnessError(f"Label file '{labels}': query {qid!r} has no gold id.")
    ranked = read_rankings(predictions)
    if task == "mewslix":
        return {"map@20": mewslix_map_at_k(rank_golds, ranked, 20) * 100}
    return {"map@20": mean_average_precision_at_k(rank_golds, ranked, 20) * 100}


def resolve(path: Path, task: str, language: str) -> Path:
    """A file as given, or the file of ``task`` and ``language`` under a submission folder."""
    return submission_path(path, task, language) if path.is_dir() else path


def score_folder(
    predictions: Path, labels: Path, version: Version
) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """Score every task of ``version`` whose folder exists under both roots (every language
    of the task must be there), as the official ``evaluate()`` does. Returns (group and
    overall scores, per-task scores: metric -> language -> value plus the ``avg_*`` keys)."""
    detailed: dict[str, dict[str, Any]] = {}
    for task in TASK_LANGUAGES:
        if version not in TASK_LANGUAGES[task]:
            continue
        if not ((predictions / task).is_dir() and (labels / task).is_dir()):
            continue
        per_language = {
            lang: score_files(
                task,
                lang,
                submission_path(predictions, task, lang),
                submission_path(labels, task, lang),
            )
            for lang in languages(task, version)
        }
        table: dict[str, Any] = {}
        for lang, scores in per_language.items():
            for metric, value in scores.items():
                table.setdefault(metric, {})[lang] = value
        table.update(task_average(task, per_language))
        detailed[task] = table
    if not detailed:
        raise HarnessError(
            f"No task folder of {version} is present under both '{predictions}' and '{labels}'."
        )
    summary = benchmark_summary(version, {t: s["avg_metric"] for t, s in detailed.items()})
    return summary, detailed


# --- writing the layout --------------------------------------------------------------------


def format_predictions(task: str, predictions: Sequence[Any] | Mapping[str, Any]) -> str:
    """The file text of one task and language in the submission layout.

    ``predictions``: label strings (xnli, pawsx, tatoeba: in test order); choice indices
    (xcopa: integers, or their decimal strings, in test order); tag lists
    (udpos, panx: one list per sentence); (source id, target id) pairs (bucc2018); a mapping
    question id -> answer text (QA); a mapping query id -> ranked candidate ids (mewslix,
    lareqa)."""
    _known(task)
    if task in LABEL_TASKS:
        values = [str(p) for p in predictions]
        for i, v in enumerate(values):
            if not v.strip() or "\n" in v:
                raise ValueError(f"prediction {i + 1} ({v!r}) is not a one-line label")
        return "".join(f"{v}\n" for v in values)
    if task in CHOICE_TASKS:
        indices = []
        for i, p in enumerate(predictions):
            index = _choice_index(p)
            if index is None:
                raise ValueError(f"prediction {i + 1} ({p!r}) is not a choice index")
            indices.append(index)
        return "".join(json.dumps({"label": index}) + "\n" for index in indices)
    if task in TAG_TASKS:
        out = []
        for i, sentence in enumerate(predictions):
            tags = [str(t) for t in sentence]
            if any(len(t.split()) != 1 for t in tags):
                raise ValueError(f"sentence {i + 1} has a tag that is empty or holds spaces")
            out.append("".join(f"{t}\n" for t in tags) + "\n")
        return "".join(out)
    if task == "bucc2018":
        lines = []
        for i, pair in enumerate(predictions):
            fields = [str(x) for x in pair]
            if len(fields) != 2 or any(not f or "\t" in f or "\n" in f for f in fields):
                raise ValueError(f"prediction {i + 1} ({pair!r}) is not a (source, target) id pair")
            lines.append(f"{fields[0]}\t{fields[1]}\n")
        return "".join(lines)
    if not isinstance(predictions, Mapping):
        raise ValueError(f"{task} predictions must map ids to predictions")
    return json.dumps(dict(predictions), ensure_ascii=False, indent=1) + "\n"


def write_predictions(
    root: Path, task: str, language: str, predictions: Sequence[Any] | Mapping[str, Any]
) -> Path:
    """Write one task and language to ``root/{task}/test-{language}.{suffix}`` (atomically)."""
    path = submission_path(root, task, language)
    atomic_write_text(path, format_predictions(task, predictions))
    return path


def export_xtreme(source: Path, out: Path) -> list[Path]:
    """Convert per-example prediction files ``source/{task}/{language}.jsonl`` (one JSON
    object per line: ``{"id": ..., "prediction": ...}``, in test order) into the submission
    layout under ``out``. The prediction is a label (a string, or an integer index), a list of
    tags, an answer text, a list of ranked ids, or for bucc2018 a [source id, target id] pair; a
    prediction of another type is refused with its file and line, and nothing is written."""
    if not source.is_dir():
        raise HarnessError(
            f"Prediction folder '{source}' does not exist; point --predictions at the folder "
            "with {task}/{language}.jsonl files written by evaluation."
        )
    # every file is read and checked before the first is written: a bad prediction anywhere
    # leaves the output folder as it was
    checked: list[tuple[str, Path, list[tuple[int, dict[str, Any]]]]] = []
    for task_dir in sorted(p for p in source.iterdir() if p.is_dir()):
        task = task_dir.name
        _known(task)
        for file in sorted(task_dir.glob("*.jsonl")):
            rows = _jsonl_rows(file)
            for number, row in rows:
                problem = prediction_problem(task, row["prediction"])
                if problem is None and not _scalar_id(row["id"]):
                    problem = f"has the id {row['id']!r}, not a string"
                if problem is not None:
                    raise HarnessError(
                        f"'{file}' line {number}: the {task} prediction {problem}; write "
                        f"{EXPECTED[_family(task)]}. Nothing was exported."
                    )
            checked.append((task, file, rows))
    if not checked:
        raise HarnessError(f"No {{task}}/{{language}}.jsonl prediction files under '{source}'.")
    written: list[Path] = []
    for task, file, rows in checked:
        preds: Sequence[Any] | Mapping[str, Any]
        if task in SQUAD_TASKS | {"mlqa"} | RANKING_TASKS:
            preds = {str(r["id"]): r["prediction"] for _, r in rows}
        else:
            preds = [r["prediction"] for _, r in rows]
        try:
            written.append(write_predictions(out, task, file.stem, preds))
        except (ValueError, TypeError) as exc:
            raise HarnessError(f"'{file}': {exc}; fix the predictions.") from exc
    return written


def _choice_index(value: Any) -> int | None:
    """A choice index from an integer or its decimal string (XCOPA's labels are "0", "1")."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value.strip())
    return None


EXPECTED = {
    "label": "one label per line: a string, or an integer index",
    "choice": "the right choice's index: an integer, or its decimal string",
    "tags": "a list of tag strings, one per token",
    "answer": "the answer text (a string)",
    "ranking": "a list of candidate id strings, best first",
    "pair": "a [source id, English id] pair of strings",
}
"""What a prediction of each task family must be."""


def _family(task: str) -> str:
    if task in LABEL_TASKS:
        return "label"
    if task in CHOICE_TASKS:
        return "choice"
    if task in TAG_TASKS:
        return "tags"
    if task in SQUAD_TASKS or task == "mlqa":
        return "answer"
    if task in RANKING_TASKS:
        return "ranking"
    return "pair"


def _scalar_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def prediction_problem(task: str, value: Any) -> str | None:
    """What is wrong with one prediction of ``task`` (None: it has the right type)."""
    family = _family(task)
    shown = f"{type(value).__name__} {json.dumps(value, ensure_ascii=False)[:60]}"
    if family == "label":
        if isinstance(value, int) and not isinstance(value, bool):
            return None
        if isinstance(value, str):
            one_line = value.strip() and "\n" not in value
            return None if one_line else f"is {value!r}, not a one-line label"
        return f"is {shown}, not a label"
    if family == "choice":
        return None if _choice_index(value) is not None else f"is {shown}, not a choice index"
    if family == "tags":
        if isinstance(value, str):
            return f"is the string {value!r}, not a list of tags"
        if not _strings(value):
            return f"is {shown}, not a list of tag strings"
        bad = next((t for t in value if len(t.split()) != 1), None)
        return None if bad is None else f"has the tag {bad!r}, which is empty or holds spaces"
    if family == "answer":
        return None if isinstance(value, str) else f"is {shown}, not an answer text"
    if family == "ranking":
        return None if _strings(value) else f"is {shown}, not a list of candidate ids"
    if _strings(value) and len(value) == 2:
        return None
    return f"is {shown}, not a [source id, English id] pair"


def _jsonl_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, row) of every non-blank line of a prediction file."""
    rows = []
    for number, line in enumerate(_lines(path, "Prediction"), start=1):
        if not line.strip():
            continue
        try:
            row = parse_json(line)
        except json.JSONDecodeError as exc:
            raise HarnessError(f"'{path}' line {number} is not valid JSON ({exc.msg}).") from exc
        except ValueError as exc:
            raise HarnessError(f"'{path}' line {number} is refused: {exc}.") from exc
        if not isinstance(row, dict) or "id" not in row or "prediction" not in row:
            raise HarnessError(
                f"'{path}' line {number} must be an object with 'id' and 'prediction'."
            )
        rows.append((number, row))
    return rows


def score_submission(
    predictions: Path,
    labels: Path,
    task: str | None = None,
    language: str | None = None,
    benchmark: str = "xtreme",
) -> dict[str, Any]:
    """``harness score``: with ``task`` and ``language``, one file pair (metric -> value);
    without, every task folder present under both submission folders, as ``{"summary": group
    and overall scores, "tasks": per-task tables}``. Values on the official 0-100 scale."""
    from harness.metrics.benchmark import VERSIONS

    if benchmark not in VERSIONS:
        raise HarnessError(f"Unknown --benchmark '{benchmark}'; choose xtreme or xtreme_r.")
    if task is not None:
        if language is None:
            raise HarnessError("--task needs --language (the language code of the files).")
        return score_files(
            task, language, resolve(predictions, task, language), resolve(labels, task, language)
        )
    if not (predictions.is_dir() and labels.is_dir()):
        raise HarnessError("Without --task, --predictions and --labels must be submission folders.")
    summary, detailed = score_folder(predictions, labels, benchmark)
    return {"summary": summary, "tasks": detailed}


def score_lines(result: dict[str, Any], one_task: bool) -> list[str]:
    """The lines ``harness score`` prints for ``result`` (:func:`score_submission`)."""
    if one_task:
        return [f"{metric}: {value:.2f}" for metric, value in result.items()]
    lines = []
    for name, table in result["tasks"].items():
        avgs = ", ".join(f"{k}={v:.2f}" for k, v in table.items() if k.startswith("avg"))
        lines.append(f"{name}: {avgs}")
    lines += [f"{group}: {value:.2f}" for group, value in result["summary"].items()]
    return lines
