"""Featurisation of examples by their task's kind, through a content-addressed cache.

The same task data is tokenised by the same tokenizer many times over a grid: every phase-2 run of
a target task (one per intermediate setting and seed), every evaluation. The key hashes what the
features depend on — the examples themselves, the tokenizer's full definition, the task's kind and
label set, ``max_length``, the settings the kind reads (extractive QA: ``doc_stride`` and
``max_query_length``; :meth:`~harness.kinds.base.TaskKind.feature_key`), and
:data:`FEATURES_VERSION` — so a hit is exact and a change anywhere
misses. Entries are written atomically; an unreadable entry is recomputed and overwritten, never
trusted. The cache is an accelerator outside DVC: deleting it changes no result.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import kinds
from harness.kinds.base import Example, FeatureSettings
from harness.tasks import TaskSpec

FEATURES_VERSION = 3  # 2: tagging windows, multiple choice, extractive QA; 3: QA token strings
"""Bump when featurisation changes what it produces for the same inputs."""


def featurize(
    spec: TaskSpec,
    examples: Sequence[Example],
    tokenizer: Any,
    max_length: int,
    settings: FeatureSettings | None = None,
) -> list[Any]:
    """The model inputs of ``examples`` as ``spec``'s kind makes them (refused for a kind
    without a task head)."""
    kind = kinds.of(spec)
    kind.check_trainable(spec)
    return kind.featurize(spec, examples, tokenizer, max_length, settings or FeatureSettings())


def _tokenizer_fingerprint(tokenizer: Any) -> str:
    """Hash of the tokenizer's definition: vocabulary, model, normalisation, pre- and
    post-processing, special tokens. The truncation and padding state, which every call with
    ``truncation=True`` rewrites, is left out."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        definition = json.loads(backend.to_str())
        definition.pop("truncation", None)
        definition.pop("padding", None)
    else:
        definition = {"vocab": tokenizer.get_vocab()}
    definition["class"] = type(tokenizer).__name__
    definition["special"] = list(tokenizer.all_special_tokens)
    text = json.dumps(definition, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_key(
    spec: TaskSpec,
    examples: Sequence[Example],
    tokenizer: Any,
    max_length: int,
    settings: FeatureSettings | None = None,
) -> str:
    digest = hashlib.sha256()
    header: dict[str, Any] = {"version": FEATURES_VERSION, "kind": spec.kind, "labels": spec.labels,
              "max_length": max_length, "tokenizer": _tokenizer_fingerprint(tokenizer)}  # fmt: skip
    settings_key = kinds.of(spec).feature_key(settings or FeatureSettings())
    if settings_key is not None:  # only for the kinds the settings change
        header["settings"] = settings_key
    digest.update(json.dumps(header, sort_keys=True).encode("utf-8"))
    for example in examples:
        digest.update(json.dumps(example, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def cached_featurize(
    spec: TaskSpec,
    examples: Sequence[Example],
    tokenizer: Any,
    max_length: int,
    cache_dir: Path | None,
    settings: FeatureSettings | None = None,
) -> list[Any]:
    """:func:`featurize`, through the cache in ``cache_dir`` (None: off).
    Entries hold ``(number of examples, features)``: tagging and QA give several features (windows)
    to a long example."""
    if cache_dir is None:
        return featurize(spec, examples, tokenizer, max_length, settings)
    path = cache_dir / f"{cache_key(spec, examples, tokenizer, max_length, settings)}.pkl"
    try:
        with path.open("rb") as handle:
            entry = pickle.load(handle)  # our own cache files only
        if (
            isinstance(entry, tuple)
            and len(entry) == 2
            and entry[0] == len(examples)
            and isinstance(entry[1], list)
        ):
            features: list[Any] = entry[1]
            return features
    except FileNotFoundError:
        pass
    except Exception:  # a damaged or unreadable entry is recomputed, never trusted
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
    features = featurize(spec, examples, tokenizer, max_length, settings)
    _write(path, (len(examples), features))
    return features


def _write(path: Path, entry: tuple[int, list[Any]]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError:
        return  # a read-only or full disk only costs the speed-up
    try:
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(entry, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
