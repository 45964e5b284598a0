"""The one reader of untrusted files: result, difficulty and prediction files (JSON), task specs,
parameters and submissions (YAML).

Every reader here refuses, with a :class:`HarnessError` that names the file and the place:

* anything but a regular file (a FIFO, a device such as ``/dev/zero``, a folder), and a file
  over its size limit (read at most one byte past it, so a growing file is caught too);
* text that is not UTF-8, and strings holding lone surrogates (``"\\ud800"`` is valid JSON but
  no valid text: DuckDB and every UTF-8 writer fail on it later);
* nesting deeper than :data:`MAX_DEPTH` (Python's parsers would fail with ``RecursionError``);
* a key given twice in one object or mapping (JSON and YAML parsers keep the last silently);
* ``NaN``, ``Infinity`` and ``-Infinity`` in JSON, and ``.nan`` / ``.inf`` in YAML: no field
  of ours takes them.

Types (booleans are not numbers, integer ranges, date formats) are the schemas' part
(pydantic, strict where a file comes from outside).
"""

from __future__ import annotations

import json
import math
import stat
from pathlib import Path
from typing import Any

import yaml

from harness.errors import HarnessError

MAX_DEPTH = 64
"""Deepest nesting of objects and lists accepted (ours reach 5)."""
MAX_BYTES = 256 * 1024 * 1024
"""Default size limit of one file (a per-example prediction file of the paper profile is far
below; a limit keeps a mistaken path from filling memory)."""
SPEC_BYTES = 4 * 1024 * 1024
"""Size limit of one YAML file (a parameters file, a task spec, a submission)."""


def read_bytes(path: Path, what: str, max_bytes: int = MAX_BYTES) -> bytes:
    """The bytes of the regular file ``path`` (a symlink is followed), at most ``max_bytes``."""
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise HarnessError(f"{what} '{path}' does not exist.") from exc
    except OSError as exc:
        raise HarnessError(f"{what} '{path}' cannot be read: {exc.strerror or exc}.") from exc
    if stat.S_ISDIR(info.st_mode):
        raise HarnessError(f"{what} '{path}' is a folder, not a file.")
    if not stat.S_ISREG(info.st_mode):
        raise HarnessError(
            f"{what} '{path}' is not a regular file (a device, pipe or socket); give the path "
            "of a file."
        )
    too_big = (
        f"{what} '{path}' is larger than the {max_bytes:,}-byte limit of such a file; is it "
        "the right file?"
    )
    if info.st_size > max_bytes:
        raise HarnessError(too_big)
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise HarnessError(f"{what} '{path}' cannot be read: {exc.strerror or exc}.") from exc
    if len(data) > max_bytes:
        raise HarnessError(too_big)
    return data


def read_text(path: Path, what: str, max_bytes: int = MAX_BYTES) -> str:
    """The UTF-8 text of ``path`` (:func:`read_bytes`)."""
    data = read_bytes(path, what, max_bytes)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HarnessError(
            f"{what} '{path}' is not UTF-8 text (byte {exc.start}: {exc.reason})."
        ) from exc


class _Refused(ValueError):
    """A problem found while parsing, with where it is."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"the key {key!r} is given twice in one object")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number this harness accepts (write a finite number)")


def check_value(value: Any) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH`, strings (and keys) with lone surrogates and
    non-finite floats anywhere in a parsed value. Iterative: no depth makes it recurse."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _Refused(f"it is nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, str):
            _check_string(item, where)
        elif isinstance(item, float) and not math.isfinite(item):
            raise _Refused(f"{where or 'the value'} is {item}, not a finite number")
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str):
                    _check_string(key, f"a key of {where or 'the top level'}")
                stack.append((child, f"{where}.{key}" if where else str(key), depth + 1))
        elif isinstance(item, list | tuple):
            for index, child in enumerate(item):
                stack.append((child, f"{where}[{index}]", depth + 1))


def _check_string(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _Refused(
            f"{where or 'a string'} holds a lone surrogate (\\u{ord(text[exc.start]):04x}), "
            "which is no valid text"
        ) from exc


def parse_json(text: str) -> Any:
    """Parse one JSON document strictly (see the module); a problem is a ``ValueError`` whose
    message says what and where (a line and column for syntax errors)."""
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except RecursionError as exc:
        raise _Refused(f"it is nested more than {MAX_DEPTH} levels deep") from exc
    check_value(value)
    return value


def load_json(path: Path, what: str, max_bytes: int = MAX_BYTES) -> Any:
    """Read and parse the JSON file ``path`` strictly; every problem is a
    :class:`HarnessError` naming ``what`` the file is."""
    text = read_text(path, what, max_bytes)
    try:
        return parse_json(text)
    except json.JSONDecodeError as exc:
        raise HarnessError(
            f"{what} '{path}' is not valid JSON ({exc}); it may be truncated."
        ) from exc
    except ValueError as exc:
        raise HarnessError(f"{what} '{path}' is refused: {exc}.") from exc


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader that refuses a key given twice in one mapping."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:  # the keys as written, before merge keys (<<) are expanded
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            repeated = key in seen
        except TypeError:  # an unhashable key: the constructor reports it
            repeated = False
        if repeated:
            mark = key_node.start_mark
            raise _Refused(
                f"the key {key!r} is given twice in one mapping (line {mark.line + 1}, column "
                f"{mark.column + 1}; YAML would keep only the last)"
            )
        seen[key] = None
    loader.flatten_mapping(node)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse_yaml(text: str) -> Any:
    """Parse one YAML document strictly (see the module); a problem is a ``ValueError`` or a
    ``yaml.YAMLError``."""
    try:
        value = yaml.load(text, Loader=_StrictLoader)  # _StrictLoader is a SafeLoader
    except RecursionError as exc:
        raise _Refused(f"it is nested more than {MAX_DEPTH} levels deep") from exc
    check_value(value)
    return value


def load_yaml(path: Path, what: str, max_bytes: int = SPEC_BYTES) -> Any:
    """Read and parse the YAML file ``path`` strictly; every problem is a
    :class:`HarnessError` naming ``what`` the file is."""
    text = read_text(path, what, max_bytes)
    try:
        return parse_yaml(text)
    except yaml.YAMLError as exc:
        raise HarnessError(f"{what} '{path}' is not valid YAML: {exc}") from exc
    except ValueError as exc:
        raise HarnessError(f"{what} '{path}' is refused: {exc}.") from exc


def _numeric(annotation: Any) -> bool:
    """Whether a field's type takes numbers and not booleans (``int``, ``float``, ``int | None``,
    ``float | str``...)."""
    import types
    import typing

    if annotation in (int, float):
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        return bool not in args and any(a in (int, float) for a in args)
    return False


def no_bool_as_number(model: Any, data: Any) -> Any:
    """A pydantic ``model_validator(mode="before")`` body: a YAML ``true`` given for a number
    field of ``model`` is refused (lax pydantic would read it as 1)."""
    if isinstance(data, dict):
        for name, value in data.items():
            field = model.model_fields.get(name) if isinstance(name, str) else None
            if isinstance(value, bool) and field is not None and _numeric(field.annotation):
                raise ValueError(f"{name}: {value!r} is a boolean, not a number")
    return data


def field_problems(exc: Any, most: int | None = None) -> str:
    """A pydantic ``ValidationError`` as one line: ``field.path: message`` per error (the first
    ``most``), joined by semicolons."""
    errors = exc.errors()[:most] if most is not None else exc.errors()
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in errors
    )
