"""Build what ``profiles/paper-smoke.yaml`` reads instead of the network:

* ``<root>/mirror``: every release file of the paper profile's datasets, written by the
  fixture modules of :mod:`tests.fetch_fixtures` in the upstream formats and covering every
  language of each task, the Hub datasets as ``hub/<owner>__<name>@<revision>/``
  (:func:`tests.fetch_fixtures.hub.build_hub_mirror`), and a CCGbank folder (``ccgbank/``);
* ``<root>/hub``: a Hugging Face cache (``HF_HUB_CACHE``) holding a tiny, randomly initialised
  XLM-R-shaped encoder and a tokenizer trained here, as the Hub repository
  :data:`MODEL_ID` at commit :data:`MODEL_REVISION`, so the pretrain stage loads it through
  ``from_pretrained(id, revision=...)`` offline, exactly as it loads XLM-R large.

Run ``python -m tests.smoke.build .cache/paper-smoke`` (what ``harness profile use
paper-smoke`` expects) before ``harness sweep`` on that profile. Deterministic: the same bytes
every time.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import shutil
import tempfile
from pathlib import Path

MODEL_ID = "xtransfer-smoke/tiny-xlm-roberta"
MODEL_REVISION = hashlib.sha1(b"xtransfer paper-smoke tiny-xlm-roberta 1").hexdigest()
"""The commit the profile pins (a stand-in: the repository exists only in the local cache)."""

FIXTURES = ["bucc2018", "copa", "lareqa", "mewslix", "mlqa", "panx", "pawsx", "siqa",
            "squad_v1_1", "tatoeba", "tydiqa", "udpos", "xcopa"]  # fmt: skip
"""The modules of :mod:`tests.fetch_fixtures` that write release files (hub.py aside)."""
EXTENDED = {"lareqa", "mewslix", "udpos", "xcopa"}
"""Those whose default miniature covers only some languages: built with ``every_language=True``
(the others already cover every language of their specs)."""

#: the tiny encoder: XLM-R's architecture (and its 514 positions), a few thousand times smaller
HIDDEN, LAYERS, HEADS, INTERMEDIATE, POSITIONS, VOCAB = 32, 2, 2, 64, 514, 1000


def build_mirror(mirror: Path) -> None:
    from tests.fetch_fixtures.hub import build_hub_mirror
    from tests.unit.test_paper_tasks import _ccgbank

    for name in FIXTURES:  # in <mirror>/<converter>/, where harness fetch looks first
        module = importlib.import_module(f"tests.fetch_fixtures.{name}")
        (mirror / name).mkdir(parents=True, exist_ok=True)
        if name in EXTENDED:
            module.build(mirror / name, every_language=True)
        else:
            module.build(mirror / name)
    build_hub_mirror(mirror)
    shutil.rmtree(mirror / "ccgbank", ignore_errors=True)
    _ccgbank(mirror)


def _corpus() -> list[str]:
    from tests.fetch_fixtures.hub import WORDS

    return [words for _, words in sorted(WORDS.items())] * 4


def build_model_cache(cache: Path) -> Path:
    """Write the model into the Hugging Face cache ``cache`` (the layout huggingface_hub reads:
    ``models--<owner>--<name>/{refs/main,snapshots/<revision>/}``); return the snapshot."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from harness.model.encoders import train_tokenizer

    tokenizer = train_tokenizer(_corpus(), VOCAB)
    torch.manual_seed(0)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=INTERMEDIATE,
        max_position_embeddings=POSITIONS,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        type_vocab_size=1,
    )
    model = XLMRobertaModel(config, add_pooling_layer=False)
    repo = cache / f"models--{MODEL_ID.replace('/', '--')}"
    snapshot = repo / "snapshots" / MODEL_REVISION
    with tempfile.TemporaryDirectory(dir=cache.parent if cache.parent.is_dir() else None) as tmp:
        staged = Path(tmp) / "snapshot"
        model.save_pretrained(str(staged))
        tokenizer.save_pretrained(str(staged))
        shutil.rmtree(repo, ignore_errors=True)
        snapshot.parent.mkdir(parents=True)
        shutil.move(str(staged), snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(MODEL_REVISION)
    return snapshot


def build(root: Path) -> None:
    """The mirror (``root/mirror``) and the model cache (``root/hub``), made anew."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(root / "mirror", ignore_errors=True)
    build_mirror(root / "mirror")
    (root / "hub").mkdir(exist_ok=True)
    build_model_cache(root / "hub")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="where to write mirror/ and hub/")
    args = parser.parse_args(argv)
    build(args.root)
    print(f"paper-smoke stand-ins in {args.root}: mirror/ (datasets), hub/ ({MODEL_ID})")


if __name__ == "__main__":
    main()
