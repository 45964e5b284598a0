"""The strict reader of untrusted files (harness/strict.py): what it refuses, with what message,
and that what it accepts parses as the standard parsers do."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import HarnessError
from harness.strict import (
    MAX_DEPTH,
    load_json,
    load_yaml,
    parse_json,
    parse_yaml,
    read_bytes,
)


def _file(tmp_path: Path, text: str | bytes, name: str = "f.json") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"value": 0.1, "value": 0.9}', "the key 'value' is given twice"),
        ('{"a": {"b": 1, "b": 1}}', "the key 'b' is given twice"),
        ('{"seed": Infinity}', "Infinity is not a number"),
        ('{"v": -Infinity}', "-Infinity is not a number"),
        ("[NaN]", "NaN is not a number"),
        ('{"s": "\\ud800"}', "s holds a lone surrogate (\\ud800)"),
        ('{"\\udfff": 1}', "lone surrogate (\\udfff)"),
        ("[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2), f"more than {MAX_DEPTH} levels"),
        ("[" * 100_000 + "]" * 100_000, f"more than {MAX_DEPTH} levels"),
        ('{"a": 1e999}', "a is inf, not a finite number"),
    ],
)
def test_json_refusals_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(HarnessError) as info:
        load_json(_file(tmp_path, text), "Result file")
    assert message in str(info.value)
    assert f"Result file '{tmp_path / 'f.json'}'" in str(info.value)


def test_json_syntax_errors_and_bad_encoding(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=r"is not valid JSON .*may be truncated"):
        load_json(_file(tmp_path, '{"a": '), "Result file")
    with pytest.raises(HarnessError, match=r"is not UTF-8 text \(byte 6"):
        load_json(_file(tmp_path, b'{"a": \xff}'), "Result file")


def test_not_a_regular_file(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="is not a regular file"):
        read_bytes(Path("/dev/zero"), "Result file")
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    with pytest.raises(HarnessError, match="is not a regular file"):
        load_json(link, "Result file")
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(HarnessError, match="is not a regular file"):
        load_json(fifo, "Result file")
    with pytest.raises(HarnessError, match="is a folder"):
        load_json(tmp_path, "Result file")
    with pytest.raises(HarnessError, match="does not exist"):
        load_json(tmp_path / "missing.json", "Result file")


def test_size_limit(tmp_path: Path) -> None:
    path = _file(tmp_path, json.dumps(["x" * 100]))
    assert load_json(path, "Result file", max_bytes=200) == ["x" * 100]
    with pytest.raises(HarnessError, match="larger than the 50-byte limit"):
        load_json(path, "Result file", max_bytes=50)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", "the key 'a' is given twice in one mapping (line 3, column 1"),
        ("outer:\n  x: 1\n  x: 1\n", "the key 'x' is given twice"),
        ("lr: .nan\n", "lr is nan, not a finite number"),
        ("lr: -.inf\n", "lr is -inf, not a finite number"),
        ("[" * 5000 + "]" * 5000, "levels deep"),
        ('name: "\\ud800"\n', "lone surrogate"),
    ],
)
def test_yaml_refusals(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(HarnessError) as info:
        load_yaml(_file(tmp_path, text, "p.yaml"), "Parameters file")
    assert message in str(info.value)


def test_yaml_merge_keys_and_anchors_still_work() -> None:
    text = "base: &b {lr: 0.1, epochs: 2}\nrun:\n  <<: *b\n  epochs: 3\n"
    assert parse_yaml(text) == yaml.safe_load(text)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",))),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES)
def test_accepted_json_parses_as_the_standard_parser_does(value: object) -> None:
    text = json.dumps(value)
    assert parse_json(text) == json.loads(text)
    assert parse_json(json.dumps(value, ensure_ascii=False)) == value
