"""Decoding release files, with errors that name the file and the place (shared by the
converters; not a converter itself: a spec's converter name cannot start with '_')."""

from __future__ import annotations

import json
from typing import Any

from harness.errors import HarnessError


def utf8(data: bytes, where: str) -> str:
    """``data`` as UTF-8 text; ``where`` names the file (and line) in the error."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise HarnessError(f"{where} is not valid UTF-8 (line {line}, byte {exc.start}).") from exc


def lines(data: bytes, where: str) -> list[str]:
    """The lines of a text file: split on newlines (a final one ends the last line, a CR
    before it is dropped)."""
    found = utf8(data, where).split("\n")
    if found and found[-1] == "":
        found.pop()
    return [line.removesuffix("\r") for line in found]


def json_value(text: str | bytes, where: str) -> Any:
    """One JSON document (a file, or a line of a JSONL file named in ``where``)."""
    if isinstance(text, bytes):
        text = utf8(text, where)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise HarnessError(
            f"{where} is not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})."
        ) from exc
