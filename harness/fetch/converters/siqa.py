"""Social IQa (Sap et al. 2019) as AI2 distributes it: ``socialiqa-train-dev.zip``.

The archive holds ``socialiqa-train-dev/{train,dev}.jsonl`` (one question a line: ``context``,
``question``, ``answerA``, ``answerB``, ``answerC``) and ``{train,dev}-labels.lst`` (the right
answer of each line, ``1``/``2``/``3``, one a line). Each label is merged into its line as
``label`` (the string, as the spec's labels ``['1', '2', '3']`` name it) and the lines are
written to ``train.jsonl`` (33,410) and ``dev.jsonl`` (1,954); a label file whose length is
not the question file's, or a label that is not 1-3, is an error.

XTREME's download fetches ``socialIQa_v1.4.tgz`` instead, whose lines carry the answer as
``correct`` (``A``/``B``/``C``), and its loader turns it into an index 0-2; the questions and
answers are the same, and the label here names the same choice.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import HarnessError
from harness.fetch.converters.copa import open_zip, read_member
from harness.fetch.converters.xcopa import jsonl_lines, write_lines

ARCHIVE = "socialiqa-train-dev.zip"
SPLITS = {"train": "train", "dev": "dev"}
FIELDS = ("context", "question", "answerA", "answerB", "answerC")
LABELS = ("1", "2", "3")


def convert(release: Path, out: Path) -> dict[str, int]:
    path = release / ARCHIVE
    counts: dict[str, int] = {}
    with open_zip(path) as archive:
        for split in SPLITS:
            member = f"socialiqa-train-dev/{split}.jsonl"
            label_member = f"socialiqa-train-dev/{split}-labels.lst"
            where = f"{path}:{member}"
            lines = jsonl_lines(read_member(archive, member, path), where)
            label_where = f"{path}:{label_member}"
            raw_labels = read_member(archive, label_member, path)
            try:
                labels = [x.strip() for x in raw_labels.decode("utf-8").splitlines()]
            except UnicodeDecodeError as exc:
                raise HarnessError(f"'{label_where}' is not UTF-8 text.") from exc
            while labels and not labels[-1]:
                labels.pop()
            if not lines:
                raise HarnessError(f"'{where}' holds no examples.")
            if len(labels) != len(lines):
                raise HarnessError(
                    f"'{label_where}' has {len(labels)} labels but '{where}' has {len(lines)} "
                    "questions: each question line needs one label line."
                )
            rows: list[bytes] = []
            for number, ((_, record), label) in enumerate(zip(lines, labels, strict=True), 1):
                if not isinstance(record, dict):
                    raise HarnessError(f"'{where}' line {number} is not a JSON object.")
                missing = [f for f in FIELDS if not isinstance(record.get(f), str)]
                if missing:
                    raise HarnessError(
                        f"'{where}' line {number} has no text field(s) {missing} "
                        f"(keys: {sorted(record)})."
                    )
                if label not in LABELS:
                    raise HarnessError(
                        f"'{label_where}' line {number} is {label!r}, not one of {list(LABELS)}."
                    )
                if "label" in record and str(record["label"]) != label:
                    raise HarnessError(
                        f"'{where}' line {number} already has label {record['label']!r}, which "
                        f"disagrees with '{label_where}' ({label!r})."
                    )
                merged = {**record, "label": label}
                rows.append(json.dumps(merged, ensure_ascii=False).encode("utf-8"))
            target = f"{SPLITS[split]}.jsonl"
            write_lines(out / target, rows)
            counts[target] = len(rows)
    return counts
