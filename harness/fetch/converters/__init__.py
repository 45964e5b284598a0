"""Converters from official release files to the layout a task spec's ``source`` reads.

A converter is the module ``harness.fetch.converters.<name>`` (named by a spec's
``fetch[].converter``) defining::

    def convert(release: Path, out: Path) -> dict[str, int]

``release`` is a folder holding the spec's ``fetch[].files`` under their ``name`` (archives
whole, as published); ``out`` is an empty folder (the dataset folder being built). The converter
writes the files the spec's ``source`` names, and returns the number of examples of each file
it wrote (path relative to ``out``, POSIX separators). It reads only ``release``, writes only
under ``out``, never touches the network, and raises :class:`harness.errors.HarnessError` with
the file and what is wrong when a release file is not in the expected format.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from harness.errors import HarnessError

Converter = Callable[[Path, Path], dict[str, int]]


def load(name: str) -> Converter:
    """The ``convert`` function of converter ``name``."""
    try:
        module: ModuleType = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as err:
        if err.name != f"{__name__}.{name}":
            raise
        raise HarnessError(
            f"no converter {name!r}: a spec's fetch[].converter names a module of "
            "harness/fetch/converters/"
        ) from None
    convert = getattr(module, "convert", None)
    if not callable(convert):
        raise HarnessError(f"harness/fetch/converters/{name}.py defines no convert(release, out)")
    return convert
