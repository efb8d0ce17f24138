"""Shared by the LLM examples: read a transformers checkpoint directory into a netdef decoder, and a tokenizer."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from netdef.zoo import hf  # noqa: E402


def load_checkpoint(directory: Path):
    """The netdef decoder described by ``directory/config.json`` (its class picked by ``model_type``: Llama,
    Mistral, Qwen2/3, Gemma/Gemma 2, Phi-3, GPT-2), bound to the directory's safetensors (``model.safetensors``
    or shards with ``model.safetensors.index.json``, memory-mapped)."""
    config = json.loads((directory / "config.json").read_text())
    try:
        model = hf.from_pretrained(directory)  # config.json checked field by field, weights bound strictly
    except Exception as exc:
        raise SystemExit(f"{directory}: {exc}") from None
    print(f"{directory}: {config.get('model_type')}, {len(model.state_dict())} tensors bound (memory-mapped)")
    return model, config


class ByteTokenizer:
    """Stand-in for a checkpoint without a tokenizer (the random tiny ones): printable ASCII, one id per
    character modulo the vocabulary. Enough to drive generation; the text of a random model is noise."""

    def __init__(self, vocab_size: int) -> None:
        self.vocab_size = vocab_size

    def encode(self, text: str) -> list[int]:
        return [(ord(c) - 32) % self.vocab_size for c in text if 32 <= ord(c) < 127] or [0]

    def decode(self, ids) -> str:
        return "".join(chr(32 + int(i) % 95) for i in ids)


def tokenizer_for(directory: Path, vocab_size: int):
    """transformers' tokenizer saved in ``directory`` (local files only), else a ByteTokenizer."""
    if not any((directory / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json")):
        return ByteTokenizer(vocab_size)
    from netdef.zoo.hf import import_transformers

    return import_transformers().AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
