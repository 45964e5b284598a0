"""Encoders and their folders: the toy tokenizer and MLM encoder, loading, saving, and the
``phase.json`` record that carries an encoder from phase to phase.

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

from transformers import (
    PreTrainedModel,
    PreTrainedTokenizerFast,
    XLMRobertaConfig,
    XLMRobertaForMaskedLM,
)

from harness.config import ModelParams
from harness.device import attention_implementation
from harness.errors import HarnessError
from harness.io import atomic_write_text, verify_manifest

PHASE_FILE = "phase.json"
SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # XLM-R's ids 0..3, then mask


ORACLE_DIR = "oracle"
"""Subfolder of a phase-2 model folder holding the target-dev oracle's model (``selection.oracle``:
the check with the best mean target-language dev score), beside the English-dev selected one."""


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


def load_tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        raise HarnessError(
            f"No usable tokenizer in '{path}': {exc}. Run `harness pretrain` (or `dvc repro "
            "pretrain`) first."
        ) from exc


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


def load_encoder(encoder_dir: Path) -> tuple[Any, Any, dict[str, Any]]:
    """(model, tokenizer, phase record) of an encoder folder (pretrained or after phase 1):
    the bare encoder, without a pooler (sentences are mean-pooled, heads read the states)."""
    from transformers import AutoModel

    if not encoder_dir.is_dir():
        raise HarnessError(
            f"Encoder folder '{encoder_dir}' does not exist. Pass the phase-1 encoder "
            "(models/encoders/<intermediate>) and run the stage that writes it first."
        )
    info = read_phase(encoder_dir)
    tokenizer = load_tokenizer(encoder_dir)
    try:
        model = AutoModel.from_pretrained(
            str(encoder_dir),
            attn_implementation=attention_implementation(),
            add_pooling_layer=False,  # the encoder was saved without a pooler
        )
    except (OSError, ValueError) as exc:
        raise HarnessError(
            f"No encoder checkpoint in '{encoder_dir}': {exc}. Rerun the stage that writes it."
        ) from exc
    return model, tokenizer, info
