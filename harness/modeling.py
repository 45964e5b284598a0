"""Encoders, task heads, and carrying the encoder from phase to phase.

Every model folder holds a Hugging Face checkpoint (``save_pretrained``), the tokenizer, and a
``phase.json`` describing how it was made. Encoders live in ``models/encoders/{intermediate}``:
``none`` is the pretrained encoder itself (the baseline's phase-1 encoder), every other one is
the pretrained encoder after phase-1 training on that task.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForMultipleChoice,
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    XLMRobertaConfig,
    XLMRobertaForMaskedLM,
)

from harness.config import ModelParams
from harness.errors import HarnessError
from harness.io import atomic_write_text, verify_manifest
from harness.tasks import TaskSpec

PHASE_FILE = "phase.json"
SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's ids 0..3, then mask


def train_tokenizer(lines: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A subword tokenizer with XLM-R's special tokens and input format, trained on ``lines``.

    XLM-R uses a SentencePiece unigram model; we use BPE over SentencePiece-style
    (metaspace) pre-tokenisation because the unigram trainer of ``tokenizers`` is not
    deterministic when multi-threaded, and the toy profile must be bit-reproducible.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import BpeTrainer

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False)
    tok.train_from_iterator(lines, trainer)
    bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", bos), ("</s>", eos)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
    )


def new_mlm_model(params: ModelParams, tokenizer: PreTrainedTokenizerFast) -> XLMRobertaForMaskedLM:
    """A freshly initialised XLM-R-style encoder with an MLM head (call after seeding)."""
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=params.hidden_size,
        num_hidden_layers=params.num_layers,
        num_attention_heads=params.num_heads,
        intermediate_size=params.intermediate_size,
        max_position_embeddings=params.max_position + 2,  # RoBERTa offsets positions by pad+1
        hidden_dropout_prob=params.dropout,
        attention_probs_dropout_prob=params.dropout,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        type_vocab_size=1,
    )
    config._attn_implementation = attention_implementation()
    return XLMRobertaForMaskedLM(config)


def attention_implementation() -> str:
    """SDPA on CUDA; the eager kernel on CPU, where SDPA with a padding mask measured up to 4x
    slower for the toy model's short sequences (forward + backward, 2 cores)."""
    return "sdpa" if torch.cuda.is_available() else "eager"


def load_tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        raise HarnessError(
            f"No usable tokenizer in '{path}': {exc}. Run `harness pretrain` (or `dvc repro "
            "pretrain`) first."
        ) from exc


HEAD_CLASSES: dict[str, Any] = {
    "classification": AutoModelForSequenceClassification,
    "pair_classification": AutoModelForSequenceClassification,
    "tagging": AutoModelForTokenClassification,
    "multiple_choice": AutoModelForMultipleChoice,
    "extractive_qa": AutoModelForQuestionAnswering,
}


def head_class(spec: TaskSpec) -> Any:
    """The ``AutoModelFor...`` class of ``spec``'s kind (the only place that chooses it)."""
    if spec.kind not in HEAD_CLASSES:
        raise HarnessError(
            f"Task '{spec.name}' is of kind '{spec.kind}', which has no task head (heads exist "
            f"for {', '.join(sorted(HEAD_CLASSES))}); retrieval tasks are evaluated from the "
            "encoder. Leave it out of the training grid in params.yaml."
        )
    return HEAD_CLASSES[spec.kind]


def head_model(encoder_dir: Path, spec: TaskSpec, seed: int) -> PreTrainedModel:
    """The encoder in ``encoder_dir`` with a fresh, seeded head for ``spec``'s kind."""
    auto = head_class(spec)
    # the head's outputs, set for every kind: an encoder saved after phase 1 carries the label
    # set of its intermediate task in its config (a 3-way NLI head would give a QA head 3
    # outputs); QA has two (span start, end), multiple choice scores each choice with one output
    labels = ["start", "end"] if spec.kind == "extractive_qa" else list(spec.labels)
    kwargs: dict[str, Any] = {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {label: i for i, label in enumerate(labels)},
    }
    torch.manual_seed(seed)
    try:
        model: PreTrainedModel = auto.from_pretrained(
            str(encoder_dir), attn_implementation=attention_implementation(), **kwargs
        )
    except OSError as exc:
        raise HarnessError(
            f"No encoder checkpoint in '{encoder_dir}': {exc}. Run the stage that produces it "
            "first (`dvc repro` runs stages in order)."
        ) from exc
    return model


def write_phase(out_dir: Path, info: dict[str, Any]) -> None:
    atomic_write_text(out_dir / PHASE_FILE, json.dumps(info, indent=2, sort_keys=True) + "\n")


def read_phase(phase_dir: Path) -> dict[str, Any]:
    path = phase_dir / PHASE_FILE
    if path.is_file():
        # a folder written before manifests existed has none; one that has it must match it
        verify_manifest(phase_dir, required=False, what="Model folder")
    if not path.is_file():
        raise HarnessError(
            f"'{phase_dir}' is not a finished training output (no {PHASE_FILE}). Rerun the "
            "stage that writes it."
        )
    try:
        info: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise HarnessError(
            f"'{path}' is corrupt ({exc.msg}); rerun the stage that writes it."
        ) from exc
    return info


def save_encoder(model: PreTrainedModel, tokenizer: Any, out_dir: Path) -> None:
    """Save only the encoder (no task head), so the next phase starts with a fresh head, and the
    tokenizer beside it."""
    base = getattr(model, model.base_model_prefix)
    base.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
