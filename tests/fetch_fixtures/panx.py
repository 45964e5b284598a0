"""A small ``AmazonPhotos.zip`` as XTREME's download script expects it: one ``<lang>.tar.gz``
per language of XTREME and XTREME-R (in a ``panx_dataset/`` folder: the script unzips with
``-j``, so the folder's name does not matter), each holding ``train``, ``dev`` and ``test`` with
``<lang>:<token><TAB><tag>`` lines and a blank line between sentences.

English, German and Chinese hold a few sentences with the tricky cases (a token holding a
``:``, trailing spaces, several blank lines in a row, a last sentence without a blank line
after it, tags on the test split); every other language one sentence per split.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

from harness.fetch.converters.panx import LANGUAGES, SPLITS

MTIME = 1_570_000_000
DATE = (2019, 10, 2, 12, 0, 0)

DETAILED: dict[str, dict[str, str]] = {
    "en": {
        "train": (
            "en:Rick\tB-PER\nen:Astley\tI-PER\nen:sings\tO\n\n"
            "en:He\tO\nen:visited\tO\nen:New\tB-LOC\nen:York\tI-LOC\n\n\n"
            "en:http://example.org\tO  \nen:UNICEF\tB-ORG\n\n"
        ),
        "dev": "en:Paris\tB-LOC\n\nen:The\tO\nen:BBC\tB-ORG\n\n",
        "test": "en:Obama\tB-PER\nen:spoke\tO\n\nen:in\tO\nen:Berlin\tB-LOC",
    },
    "de": {
        "train": "de:Angela\tB-PER\nde:Merkel\tI-PER\n\nde:in\tO\nde:Bonn\tB-LOC\n\n",
        "dev": "de:Die\tO\nde:Linke\tB-ORG\n\n",
        "test": "de:Köln\tB-LOC\n\n",
    },
    "zh": {
        "train": "zh:北\tB-LOC\nzh:京\tI-LOC\n\n",
        "dev": "zh:李\tB-PER\nzh:白\tI-PER\n\n",
        "test": "zh:联\tB-ORG\nzh:合\tI-ORG\nzh:国\tI-ORG\n\n",
    },
}

EXPECTED_DETAILED: dict[str, int] = {
    "en/train": 3, "en/dev": 2, "en/test": 2,
    "de/train": 2, "de/dev": 1, "de/test": 1,
    "zh/train": 1, "zh/dev": 1, "zh/test": 1,
}  # fmt: skip


def _files(lang: str) -> dict[str, str]:
    if lang in DETAILED:
        return DETAILED[lang]
    return {split: f"{lang}:w{split}\tO\n{lang}:x\tB-LOC\n\n" for split in SPLITS}


COUNTS: dict[str, int] = {
    f"{lang}/{split}": EXPECTED_DETAILED.get(f"{lang}/{split}", 1)
    for lang in sorted(LANGUAGES)
    for split in SPLITS
}


def tgz(files: dict[str, str]) -> bytes:
    """A gzip-compressed tar of top-level members with fixed metadata."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name in ("dev", "test", "train"):
            if name not in files:
                continue
            data = files[name].encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), MTIME, 0o644
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        folder = zipfile.ZipInfo("panx_dataset/", DATE)
        folder.external_attr = 0o40755 << 16
        archive.writestr(folder, b"")
        for name, data in members.items():
            info = zipfile.ZipInfo(f"panx_dataset/{name}", DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)


def build(release: Path) -> None:
    release.mkdir(parents=True, exist_ok=True)
    write_zip(
        release / "AmazonPhotos.zip",
        {f"{lang}.tar.gz": tgz(_files(lang)) for lang in sorted(LANGUAGES)},
    )
