"""Stage ``pretrain``: the pretrained encoder. Toy: a tokenizer and a small XLM-R-style encoder
trained with MLM on the toy corpus; paper: the pinned Hub checkpoint, snapshotted."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from harness.config import ModelParams, Params, PretrainParams
from harness.errors import HarnessError
from harness.io import staged_output
from harness.model.encoders import new_mlm_model, save_encoder, train_tokenizer, write_phase
from harness.model.mlm import MaskedOnlyMlm, MlmCollator, pack
from harness.model.train import Checkpointing, clear_checkpoints, train
from harness.provenance import now
from harness.results.languages import toy_languages
from harness.seeding import seed_everything
from harness.stages.common import checkpointing


def run_pretrain(params: Params, out_dir: Path) -> dict[str, object]:
    """The ``pretrain`` stage: snapshot the Hub checkpoint (``model.source: hub``) or pretrain
    the toy encoder on the toy corpus."""
    if params.model.source == "hub":
        return snapshot_hub(params.model, out_dir)
    assert params.pretrain is not None  # checked by Params
    languages = [lang["code"] for lang in toy_languages(params)]
    return pretrain_toy(
        params.paths.data / "toy" / "corpus",
        languages,
        params.model,
        params.pretrain,
        params.seed,
        out_dir,
        checkpointing(params, out_dir),
    )


def read_corpus(corpus_dir: Path, languages: Sequence[str]) -> dict[str, list[str]]:
    corpus = {}
    for lang in languages:
        path = corpus_dir / f"{lang}.txt"
        if not path.is_file():
            raise HarnessError(
                f"Pretraining corpus '{path}' is missing. Run `harness data` to generate the toy "
                "benchmark (or `dvc pull` the data snapshot)."
            )
        corpus[lang] = [
            line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    return corpus


def pretrain_toy(
    corpus_dir: Path,
    languages: Sequence[str],
    model_params: ModelParams,
    params: PretrainParams,
    seed: int,
    out_dir: Path,
    checkpointing: Checkpointing | None = None,
) -> dict[str, object]:
    """Train a tokenizer and a small XLM-R-style encoder with MLM on the multilingual corpus
    (resuming from ``checkpointing``'s newest valid checkpoint, if any)."""
    started = now()
    corpus = read_corpus(corpus_dir, languages)
    all_lines = [line for lang in languages for line in corpus[lang]]
    tokenizer = train_tokenizer(all_lines, model_params.vocab_size)
    generator = seed_everything(seed)
    model = new_mlm_model(model_params, tokenizer)
    block = min(params.max_length, model_params.max_position) - 2
    features: list[list[int]] = []
    for lang in languages:
        encoded = tokenizer(corpus[lang], add_special_tokens=False)["input_ids"]
        for chunk in pack(encoded, block):
            features.append([tokenizer.bos_token_id, *chunk, tokenizer.eos_token_id])
    mask_generator = torch.Generator()
    mask_generator.manual_seed(seed + 1)
    collator = MlmCollator(
        pad_id=tokenizer.pad_token_id,
        mask_id=tokenizer.mask_token_id,
        special_ids=tokenizer.all_special_ids,
        vocab_size=len(tokenizer),
        probability=params.mlm_probability,
        generator=mask_generator,
    )
    summary = train(
        MaskedOnlyMlm(model),
        features,
        collator,
        params,
        generator,
        "pretrain (MLM)",
        checkpointing=checkpointing,
        extra_generators={"mlm_masking": mask_generator},
    )
    info = {
        "phase": 0,
        "source": "pretrain",
        "model": model_params.name,
        "languages": list(languages),
        "sequences": len(features),
        "train": summary.as_dict(),
        "started_at": started,
        "finished_at": now(),
    }
    with staged_output(out_dir) as partial:
        save_encoder(model, tokenizer, partial)
        write_phase(partial, info)
    clear_checkpoints(out_dir)
    return info


def snapshot_hub(model_params: ModelParams, out_dir: Path) -> dict[str, object]:
    """Save the pinned Hub checkpoint (tokenizer + encoder) as this stage's output."""
    from transformers import AutoModel, AutoTokenizer

    assert model_params.hub_id  # checked by ModelParams
    if model_params.revision is None and not Path(model_params.hub_id).is_dir():
        lookup = (
            f'python -c "import huggingface_hub as h; '
            f"print(h.model_info('{model_params.hub_id}').sha)\""
        )
        raise HarnessError(
            f"model.revision is not pinned for '{model_params.hub_id}': every run of a profile "
            f"must use the same weights. Look up the commit on a machine with Hub access "
            f"(`{lookup}`) and set model.revision to it in the profile, or point model.hub_id at "
            "a local folder holding the checkpoint."
        )
    started = now()
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            model_params.hub_id, revision=model_params.revision
        )
        model = AutoModel.from_pretrained(
            model_params.hub_id, revision=model_params.revision, add_pooling_layer=False
        )
    except (OSError, ValueError) as exc:
        raise HarnessError(
            f"Could not load model '{model_params.hub_id}' at revision {model_params.revision}: "
            f"{exc}. Without Hub access, download it on a machine that has access "
            "(`huggingface-cli download ID --revision REV`) into the Hugging Face cache, or set "
            "model.hub_id to a local folder holding the checkpoint."
        ) from exc
    info = {
        "phase": 0,
        "source": "hub",
        "model": model_params.name,
        "hub_id": model_params.hub_id,
        "revision": model_params.revision,
        "started_at": started,
        "finished_at": now(),
    }
    with staged_output(out_dir) as partial:
        model.save_pretrained(str(partial))
        tokenizer.save_pretrained(str(partial))
        write_phase(partial, info)
    return info
