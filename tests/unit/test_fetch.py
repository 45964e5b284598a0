"""`harness fetch`: release files from a mirror, the download cache or a URL (resumed), checked
against their digests; conversion published whole with its record; Hub snapshots; refusals
that pin nothing. The converters of the real datasets have tests of their own
(test_fetch_tagging_retrieval, test_fetch_qa_pawsx, test_fetch_xtreme_r)."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.config import DatasetInputs, FetchParams, Params
from harness.errors import HarnessError
from harness.fetch import core
from harness.io import verify_manifest

PAYLOAD = b"".join(f"{i}\tword{i}\n".encode() for i in range(5000))
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


def _convert(release: Path, out: Path) -> dict[str, int]:
    """A converter for the tests: one line per example, copied to test.tsv."""
    lines = (release / "release.txt").read_bytes().splitlines(keepends=True)
    (out / "test.tsv").write_bytes(b"".join(lines))
    return {"test.tsv": len(lines)}


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(core.converters, "load", lambda name: _convert)
    return tmp_path


def _spec(tmp_path: Path, url: str = "http://127.0.0.1:9/release.txt", **file: Any) -> Path:
    spec = {
        "name": "demo",
        "role": "target",
        "kind": "tagging",
        "source": {
            "type": "local",
            "path": "data/xtreme/demo",
            "format": "tsv",
            "files": {"train": "test.tsv", "dev": "test.tsv", "test": "test.tsv"},
        },
        "labels": ["X", "Y"],
        "xtreme_group": "tagging",
        "fetch": [
            {
                "dataset": "data/xtreme/demo",
                "converter": "demo",
                "files": [{"name": "release.txt", "url": url, "sha256": DIGEST, **file}],
                "counts": {"test.tsv": 5000},
            }
        ],
    }
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def _inputs(spec: Path) -> DatasetInputs:
    return DatasetInputs(spec=spec, out=Path("data/xtreme/demo"))


def _mirror(tmp_path: Path, payload: bytes = PAYLOAD) -> Path:
    mirror = tmp_path / "mirror"
    mirror.mkdir(exist_ok=True)
    (mirror / "release.txt").write_bytes(payload)
    return mirror


def test_a_mirror_copy_is_checked_converted_and_recorded(tmp_path: Path) -> None:
    outcome = core.fetch_task("demo", _inputs(_spec(tmp_path)), _mirror(tmp_path))
    out = tmp_path / "data/xtreme/demo"
    assert (out / "test.tsv").read_bytes() == PAYLOAD
    assert verify_manifest(out)  # published whole, with its checksum manifest
    record = json.loads((out / core.RECORD).read_text())
    assert record == outcome.record
    (dataset,) = record["datasets"]
    assert dataset["files"] == [
        {
            "name": "release.txt",
            "url": "http://127.0.0.1:9/release.txt",
            "sha256": DIGEST,
            "pinned_in_spec": True,
        }
    ]
    assert dataset["counts"] == {"test.tsv": 5000} and dataset["counts_checked"] is True
    # a second fetch finds it done; --force fetches again, and so does a changed spec
    assert core.fetch_task("demo", _inputs(_spec(tmp_path)), None).skipped
    assert not core.fetch_task("demo", _inputs(_spec(tmp_path)), _mirror(tmp_path), True).skipped
    changed = _spec(tmp_path, note="a new note changes the spec")
    assert not core.fetch_task("demo", _inputs(changed), _mirror(tmp_path)).skipped


def test_a_file_that_is_not_the_official_one_is_refused_and_nothing_is_pinned(
    tmp_path: Path,
) -> None:
    core.fetch_task("demo", _inputs(_spec(tmp_path)), _mirror(tmp_path))
    before = (tmp_path / "data/xtreme/demo/test.tsv").read_bytes()
    truncated = _mirror(tmp_path, PAYLOAD[:-100])
    with pytest.raises(HarnessError, match=r"not the official 'release\.txt'.*sha256") as err:
        core.fetch_task("demo", _inputs(_spec(tmp_path)), truncated, force=True)
    assert DIGEST in str(err.value) and "nothing was pinned" in str(err.value)
    # the previous fetch is untouched, and no staging folder is left
    assert (tmp_path / "data/xtreme/demo/test.tsv").read_bytes() == before
    assert verify_manifest(tmp_path / "data/xtreme/demo")
    assert not (tmp_path / "data/xtreme/demo.partial").exists()


def test_an_unverified_mirror_takes_fixture_files_and_says_so(tmp_path: Path) -> None:
    """fetch.unverified_mirror (the paper-smoke profile): a mirror file unlike the pinned one
    is taken, its digest recorded, counts not checked, and the record marked; a rerun without
    the switch fetches again and refuses the file. The download cache is still checked."""
    fixture = PAYLOAD[:-100]
    outcome = core.fetch_task(
        "demo", _inputs(_spec(tmp_path)), _mirror(tmp_path, fixture), unverified_mirror=True
    )
    out = tmp_path / "data/xtreme/demo"
    assert (out / "test.tsv").read_bytes() == fixture
    record = json.loads((out / core.RECORD).read_text())
    assert record == outcome.record and record["unverified_mirror"] is True
    (dataset,) = record["datasets"]
    assert dataset["files"][0]["sha256"] == hashlib.sha256(fixture).hexdigest()
    assert dataset["files"][0]["pinned_in_spec"] is False
    assert dataset["files"][0]["differs_from_spec"] is True
    assert dataset["counts_checked"] is False  # 4999 lines, not the documented 5000
    # the official file in the mirror: verified, counted, and not marked as differing
    official = core.fetch_task(
        "demo", _inputs(_spec(tmp_path)), _mirror(tmp_path), force=True, unverified_mirror=True
    )
    assert official.record["datasets"][0]["files"][0]["pinned_in_spec"] is True
    assert "differs_from_spec" not in official.record["datasets"][0]["files"][0]
    assert official.record["datasets"][0]["counts_checked"] is True
    # without the switch the unverified fetch is not taken as done: fetched again, and refused
    again = core.fetch_task(
        "demo", _inputs(_spec(tmp_path)), _mirror(tmp_path, fixture), True, unverified_mirror=True
    )
    assert not again.skipped
    with pytest.raises(HarnessError, match=r"not the official 'release\.txt'"):
        core.fetch_task("demo", _inputs(_spec(tmp_path)), _mirror(tmp_path, fixture))
    assert (out / "test.tsv").read_bytes() == fixture  # the previous folder is kept as it was


def test_the_unverified_switch_is_a_profile_setting(tmp_path: Path) -> None:
    assert FetchParams().unverified_mirror is False
    assert FetchParams(unverified_mirror=True).unverified_mirror is True


def test_counts_unlike_the_official_release_are_refused(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    raw = yaml.safe_load(spec.read_text())
    raw["fetch"][0]["counts"] = {"test.tsv": 4999}
    spec.write_text(yaml.safe_dump(raw))
    with pytest.raises(HarnessError, match=r"test\.tsv: 5000 != 4999.*Nothing was pinned"):
        core.fetch_task("demo", _inputs(spec), _mirror(tmp_path))
    assert not (tmp_path / "data/xtreme/demo").exists()


def test_a_file_without_a_pinned_digest_is_recorded_with_the_digest_seen(
    tmp_path: Path,
) -> None:
    spec = _spec(tmp_path, sha256=None)
    other = PAYLOAD + b"extra\tline\n"  # counts are only checked against verified releases
    outcome = core.fetch_task("demo", _inputs(spec), _mirror(tmp_path, other))
    (dataset,) = outcome.record["datasets"]
    assert dataset["files"][0]["sha256"] == hashlib.sha256(other).hexdigest()
    assert dataset["files"][0]["pinned_in_spec"] is False
    assert dataset["counts"] == {"test.tsv": 5001} and dataset["counts_checked"] is False


class _Server(http.server.BaseHTTPRequestHandler):
    """Serves PAYLOAD with byte ranges; ``cut`` bytes into a fresh download it hangs up."""

    cut: int | None = None
    requests: list[str | None] = []  # noqa: RUF012 (one list per test, reset by the fixture)

    def do_GET(self) -> None:
        start = 0
        header = self.headers.get("Range")
        type(self).requests.append(header)
        if header:
            start = int(header.removeprefix("bytes=").rstrip("-"))
            self.send_response(206)
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.cut is not None and not header:
            self.wfile.write(body[: self.cut])
            self.wfile.flush()
            self.connection.close()  # the download breaks off
            return
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Server]]]:
    handler = type("Handler", (_Server,), {"cut": None, "requests": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/release.txt", handler
    httpd.shutdown()


def test_a_broken_download_resumes_where_it_stopped(
    tmp_path: Path, server: tuple[str, type[_Server]]
) -> None:
    url, handler = server
    handler.cut = 20000
    with pytest.raises(HarnessError, match="could not acquire") as err:
        core.fetch_task("demo", _inputs(_spec(tmp_path, url)), None)
    assert "rerun resumes" in str(err.value)
    part = tmp_path / ".cache/downloads/demo/release.txt.part"
    assert 0 < part.stat().st_size < len(PAYLOAD)
    have = part.stat().st_size
    assert not (tmp_path / "data/xtreme/demo").exists()  # nothing published, nothing pinned
    core.fetch_task("demo", _inputs(_spec(tmp_path, url)), None)
    assert handler.requests == [None, f"bytes={have}-"]  # the second request resumed
    assert (tmp_path / "data/xtreme/demo/test.tsv").read_bytes() == PAYLOAD
    assert not part.exists()


def test_offline_the_error_names_what_could_not_be_reached_and_how_to_supply_it(
    tmp_path: Path,
) -> None:
    with pytest.raises(HarnessError) as err:
        core.fetch_task("demo", _inputs(_spec(tmp_path, "http://127.0.0.1:9/release.txt")), None)
    message = str(err.value)
    assert "http://127.0.0.1:9/release.txt could not be reached" in message
    assert "--from DIR" in message and "Nothing was pinned" in message


def test_hub_datasets_are_snapshotted_from_the_mirror_and_read_from_there(
    tmp_path: Path,
) -> None:
    from harness.data.sources import load_examples
    from harness.tasks.registry import load_spec

    revision = "0123456789abcdef0123456789abcdef01234567"
    spec = {
        "name": "hubby",
        "role": "intermediate",
        "kind": "pair_classification",
        "source": {
            "type": "hub",
            "id": "owner/pairs",
            "revision": revision,
            "splits": {"train": "train", "dev": "validation"},
            "snapshot": "data/paper/hubby/pairs",
        },
        "labels": ["no", "yes"],
    }
    path = tmp_path / "hubby.yaml"
    path.write_text(yaml.safe_dump(spec))
    copy = tmp_path / "mirror/hub" / f"owner__pairs@{revision}"
    copy.mkdir(parents=True)
    row = {"sentence1": "a dog", "sentence2": "a cat", "label": 1}
    for split in ("train", "validation"):
        (copy / f"{split}.jsonl").write_text(json.dumps(row) + "\n")
    outcome = core.fetch_task(
        "hubby", DatasetInputs(spec=path, out=Path("data/paper/hubby")), tmp_path / "mirror"
    )
    assert outcome.record["hub"] == [
        {"id": "owner/pairs", "revision": revision, "snapshot": "data/paper/hubby/pairs"}
    ]
    (example,) = load_examples(load_spec(path), "dev", "en", root=tmp_path)
    assert (example["sentence1"], example["label"]) == ("a dog", "yes")


def test_a_hub_snapshot_not_fetched_yet_is_a_clear_error(tmp_path: Path) -> None:
    from harness.data.sources import load_examples
    from harness.tasks import TaskSpec

    spec = TaskSpec.model_validate(
        {
            "name": "hubby",
            "role": "intermediate",
            "kind": "pair_classification",
            "source": {"type": "hub", "id": "owner/pairs", "revision": "0" * 40,
                       "splits": {"train": "train", "dev": "dev"},
                       "snapshot": "data/paper/hubby/pairs"},
            "labels": ["no", "yes"],
        }
    )  # fmt: skip
    with pytest.raises(HarnessError, match=r"snapshot 'data/paper/hubby/pairs'.*harness fetch"):
        load_examples(spec, "train", "en")


def test_the_profile_level_checks(tmp_path: Path) -> None:
    toy = Params.model_validate(
        yaml.safe_load((Path(__file__).parents[2] / "profiles/toy.yaml").read_text())
    )
    with pytest.raises(HarnessError, match="acquires no data"):
        core.fetch_profile(toy, [], None)
    paper_like = toy.model_copy(
        update={"fetch": FetchParams(datasets={"demo": _inputs(_spec(tmp_path))})}
    )
    with pytest.raises(HarnessError, match=r"\['nope'\] are not in fetch.datasets"):
        core.fetch_profile(paper_like, ["nope"], None)
    with pytest.raises(HarnessError, match="mirror folder 'absent' does not exist"):
        core.fetch_profile(paper_like, [], Path("absent"))
    (outcome,) = core.fetch_profile(paper_like, [], _mirror(tmp_path))
    assert outcome.task == "demo" and not outcome.skipped


def test_everything_a_task_reads_must_be_inside_its_folder(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    with pytest.raises(HarnessError, match="not inside the task's data folder"):
        core.fetch_task("demo", DatasetInputs(spec=spec, out=Path("data/other")), None)


def test_ccgbank_comes_from_the_mirror_and_writes_its_spec(tmp_path: Path) -> None:
    from harness.data.sources import load_examples
    from harness.tasks.registry import Registry, load_spec
    from tests.unit.test_paper_tasks import _ccgbank

    inputs = DatasetInputs(spec=Path("harness/data/ccg.py"), out=Path("data/paper/ccg"))
    with pytest.raises(HarnessError, match=r"licensed by the LDC.*<DIR>/ccgbank"):
        core.fetch_task("ccg", inputs, tmp_path / "mirror")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _ccgbank(tmp_path).rename(mirror / "ccgbank")
    core.fetch_task("ccg", inputs, mirror)
    spec = load_spec(tmp_path / "data/paper/ccg/ccg.yaml")
    assert str(spec.source.path) == "data/paper/ccg"  # the published folder, not the staging one
    assert load_examples(spec, "train", "en")[0]["tokens"] == ["The", "cat", "saw", "Anna"]
    # the paper profile's task_dirs entry now holds the task
    assert "ccg" in Registry.load([Path("data/paper/ccg")]).names()
    assert verify_manifest(tmp_path / "data/paper/ccg")
