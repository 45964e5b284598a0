"""The pretrained encoder: MLM pretraining on the toy corpus, or a pinned Hub checkpoint."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace

import torch
from torch import nn
from transformers import XLMRobertaForMaskedLM

from harness.config import ModelParams, PretrainParams
from harness.errors import HarnessError
from harness.io import staged_output
from harness.modeling import new_mlm_model, save_encoder, train_tokenizer, write_phase
from harness.provenance import now
from harness.seeding import seed_everything
from harness.train import Checkpointing, clear_checkpoints, train


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


def pack(token_lists: Sequence[list[int]], block: int) -> list[list[int]]:
    """Concatenate consecutive sentences into blocks of at most ``block`` tokens."""
    blocks: list[list[int]] = []
    current: list[int] = []
    for ids in token_lists:
        ids = ids[:block]
        if len(current) + len(ids) > block:
            blocks.append(current)
            current = []
        current = current + ids
    if current:
        blocks.append(current)
    return blocks


class MaskedOnlyMlm(nn.Module):
    """MLM loss computed on the masked positions only.

    Same loss as ``XLMRobertaForMaskedLM`` (cross-entropy over masked tokens), but the output
    projection onto the vocabulary runs on ~15% of the positions instead of all of them, which
    is most of the cost of a small model's training step.
    """

    def __init__(self, model: XLMRobertaForMaskedLM) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor
    ) -> SimpleNamespace:
        hidden = self.model.roberta(input_ids=input_ids, attention_mask=attention_mask)[0]
        chosen = labels != -100
        logits = self.model.lm_head(hidden[chosen])
        return SimpleNamespace(loss=nn.functional.cross_entropy(logits.float(), labels[chosen]))


class MlmCollator:
    """Pads a batch and masks 15% of its real tokens (80% <mask>, 10% random, 10% kept),
    drawing from its own seeded generator so masking is reproducible."""

    def __init__(
        self,
        pad_id: int,
        mask_id: int,
        special_ids: Sequence[int],
        vocab_size: int,
        probability: float,
        generator: torch.Generator,
    ) -> None:
        self.pad_id, self.mask_id, self.vocab_size = pad_id, mask_id, vocab_size
        self.special = torch.tensor(sorted(set(special_ids)))
        self.probability = probability
        self.generator = generator

    def __call__(self, features: Sequence[list[int]]) -> dict[str, torch.Tensor]:
        width = max(len(f) for f in features)
        ids = torch.full((len(features), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros_like(ids)
        for row, f in enumerate(features):
            ids[row, : len(f)] = torch.tensor(f)
            attention[row, : len(f)] = 1
        candidates = attention.bool() & ~torch.isin(ids, self.special)
        draw = torch.rand(ids.shape, generator=self.generator)
        chosen = candidates & (draw < self.probability)
        labels = torch.where(chosen, ids, torch.full_like(ids, -100))
        action = torch.rand(ids.shape, generator=self.generator)
        random_tokens = torch.randint(self.vocab_size, ids.shape, generator=self.generator)
        inputs = ids.clone()
        inputs[chosen & (action < 0.8)] = self.mask_id
        swap = chosen & (action >= 0.8) & (action < 0.9)
        inputs[swap] = random_tokens[swap]
        return {"input_ids": inputs, "attention_mask": attention, "labels": labels}


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

    assert model_params.hub_id and model_params.revision  # checked by ModelParams
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
