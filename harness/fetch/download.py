"""Locating one official release file: in a mirror folder, in the download cache, or from its
URL (resumed where an interrupted download stopped), always checked against its digest."""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from harness.errors import HarnessError
from harness.io import sha256_file
from harness.progress import console
from harness.tasks.spec import FetchFile

CHUNK = 1 << 20


class Unreachable(HarnessError):
    """A file that is in no mirror and whose URL could not be read (offline, dead link)."""


@dataclass(frozen=True)
class Located:
    """A release file on disk, where it came from, and its digest."""

    path: Path
    origin: str
    """``mirror`` (a copy the user supplied), ``cache`` (downloaded before) or ``url``."""
    sha256: str
    verified: bool
    """The digest equals the spec's (False: the spec has no digest, or an unverified mirror's
    file differs from it; the one seen is recorded)."""
    differs: bool = False
    """An unverified mirror's file whose digest is not the spec's (``fetch.unverified_mirror``)."""


def _check(file: FetchFile, path: Path, origin: str, unverified: bool = False) -> Located:
    digest = sha256_file(path)
    if unverified and origin == "mirror":
        pinned = file.sha256 is not None and digest == file.sha256
        return Located(path, origin, digest, pinned, file.sha256 is not None and not pinned)
    if file.sha256 is not None and digest != file.sha256:
        where = {"mirror": "the mirror's copy", "cache": "the cached download"}.get(origin, "")
        raise HarnessError(
            f"'{path}' ({where or 'downloaded from ' + file.url}) is not the official "
            f"'{file.name}': its sha256 is {digest}, the spec pins {file.sha256}. It is "
            "truncated, corrupt or another version; nothing was pinned. Delete it and fetch "
            "again, or supply the official file (--from DIR)."
        )
    return Located(path, origin, digest, file.sha256 is not None)


def locate(
    file: FetchFile,
    mirror: Path | None,
    cache: Path,
    offline: bool = False,
    unverified_mirror: bool = False,
) -> Located:
    """The release file ``file``: from ``mirror`` if it holds it (in the subfolder named like
    the download cache, ``<mirror>/<converter>/``, else at its top level), else from the
    download cache, else downloaded from its URL into the cache (a partial download
    resumes). ``unverified_mirror``: the mirror's copy is taken whatever its digest."""
    if mirror is not None:
        for candidate in (mirror / cache.name / file.name, mirror / file.name):
            if candidate.is_file():
                return _check(file, candidate, "mirror", unverified_mirror)
    cached = cache / file.name
    if file.manual:
        if cached.is_file():
            return _check(file, cached, "cache")
        how = f"{file.url}: {file.note}" if file.note else file.url
        raise Unreachable(
            f"'{file.name}' is made by hand, not downloaded ({how}); put it in the mirror "
            f"(<DIR>/{cache.name}/{file.name})"
        )
    if cached.is_file():
        try:
            return _check(file, cached, "cache")
        except HarnessError:
            cached.unlink()  # a bad cached copy is downloaded again
    if offline:
        raise Unreachable(f"'{file.name}' is in no mirror and downloads are off")
    cache.mkdir(parents=True, exist_ok=True)
    _download(file.url, cached)
    try:
        return _check(file, cached, "url")
    except HarnessError:
        cached.unlink(missing_ok=True)  # never kept, never pinned
        raise


def _download(url: str, target: Path) -> None:
    """Download ``url`` to ``target`` through ``target.part``, resuming a previous part."""
    part = target.with_name(target.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "xtransfer-fetch"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=60)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # the part is already whole
            os.replace(part, target)
            return
        raise Unreachable(f"{url} answered HTTP {err.code} ({err.reason})") from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise Unreachable(f"{url} could not be reached ({reason})") from None
    with response:
        resumed = have and response.status == 206
        mode = "ab" if resumed else "wb"
        length = response.headers.get("Content-Length")
        total = (int(length) + (have if resumed else 0)) if length else None
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with (
            Progress(*columns, console=console, transient=False) as progress,
            part.open(mode) as handle,
        ):
            task = progress.add_task(
                f"download {target.name}", total=total, completed=have if resumed else 0
            )
            got = have if resumed else 0
            try:
                for block in iter(lambda: response.read(CHUNK), b""):
                    handle.write(block)
                    got += len(block)
                    progress.update(task, advance=len(block))
            except (OSError, http.client.HTTPException) as err:
                raise Unreachable(
                    f"{url}: the download broke off ({err}); run the fetch again to resume it"
                ) from None
    if total is not None and got < total:  # the server hung up early: keep the part
        raise Unreachable(
            f"{url}: the download broke off after {got:,} of {total:,} bytes; run the fetch "
            "again to resume it"
        )
    os.replace(part, target)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def copy_tree(source: Path, target: Path) -> None:
    """Copy a folder (a mirror's Hub snapshot) into place."""
    shutil.copytree(source, target, dirs_exist_ok=False)
