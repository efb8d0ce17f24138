"""transformers as the zoo's oracle for decoder LLMs: import it without a broken torchvision, and tiny configs."""

from __future__ import annotations

import importlib
import importlib.util
import os
from types import ModuleType

from netdef.errors import ArgumentError


def import_transformers() -> ModuleType:
    """``import transformers``; a torchvision whose compiled ops fail to load next to this torch (a CPU-only
    torch with a CUDA torchvision, say) is hidden from it, since the language models never use it."""
    try:
        import torchvision  # noqa: F401
    except ImportError:
        pass
    except RuntimeError:  # its C++ ops did not load: let transformers believe it is absent
        real = importlib.util.find_spec

        def find_spec(name, package=None):
            return None if name.split(".")[0] == "torchvision" else real(name, package)

        importlib.util.find_spec = find_spec
        try:
            transformers = importlib.import_module("transformers")
            check = transformers.utils.import_utils.is_torchvision_available
            if hasattr(check, "cache_clear"):  # transformers may have looked before this function ran
                check.cache_clear()
            check()
            return transformers
        finally:
            importlib.util.find_spec = real
    return importlib.import_module("transformers")


TINY_LLAMA = {
    "vocab_size": 96,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 64,
}
#: GPT2Config's bos/eos (50256) would be outside the tiny vocabulary: its last id stands in
TINY_GPT2 = {
    "vocab_size": 96,
    "n_positions": 64,
    "n_embd": 32,
    "n_layer": 2,
    "n_head": 4,
    "bos_token_id": 95,
    "eos_token_id": 95,
}


#: transformers' model_type -> (netdef module, class): the decoder ``from_pretrained`` builds for it
MODELS = {
    "llama": ("netdef.zoo.llama", "LlamaForCausalLM"),
    "mistral": ("netdef.zoo.llama", "MistralForCausalLM"),
    "qwen2": ("netdef.zoo.qwen2", "Qwen2ForCausalLM"),
    "qwen3": ("netdef.zoo.qwen3", "Qwen3ForCausalLM"),
    "gemma": ("netdef.zoo.gemma", "GemmaForCausalLM"),
    "gemma2": ("netdef.zoo.gemma", "Gemma2ForCausalLM"),
    "gemma3_text": ("netdef.zoo.gemma", "Gemma3ForCausalLM"),
    "phi3": ("netdef.zoo.phi3", "Phi3ForCausalLM"),
    "gpt2": ("netdef.zoo.gpt2", "GPT2LMHeadModel"),
}
#: tiny configs per family (transformers' config fields), for tests and examples
TINY = {"llama": TINY_LLAMA, "mistral": TINY_LLAMA, "qwen2": TINY_LLAMA, "qwen3": {**TINY_LLAMA, "head_dim": 8}}
TINY["gemma"] = {**TINY_LLAMA, "head_dim": 8, "bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0}
TINY["phi3"] = {
    **TINY_LLAMA,
    "original_max_position_embeddings": 64,
    "bos_token_id": 1,
    "eos_token_id": 95,
    "pad_token_id": 95,
}
TINY["gemma2"] = {**TINY["gemma"], "query_pre_attn_scalar": 8, "sliding_window": 4}
TINY["gemma3_text"] = {**TINY["gemma2"], "num_hidden_layers": 3, "sliding_window_pattern": 3}
TINY["gpt2"] = TINY_GPT2


def model_class(model_type: str, source: str = "config.json"):
    """The netdef decoder class of a transformers ``model_type``; ArgumentError naming it and the families
    netdef has otherwise."""
    if not isinstance(model_type, str) or model_type not in MODELS:
        raise ArgumentError(
            f"{source}: model_type {model_type!r} has no netdef decoder; netdef.zoo implements "
            f"{', '.join(MODELS)}: define the model with netdef.nn (see netdef/zoo/llama.py for the pattern)"
        )
    module, name = MODELS[model_type]
    return getattr(importlib.import_module(module), name)


def from_pretrained(path: str | os.PathLike, strict: bool = True):
    """The decoder of a ``save_pretrained`` directory (or its config.json), its class picked by config.json's
    ``model_type``; a model type netdef does not implement is refused by name. Then as the class's
    ``from_pretrained``: every field checked, the safetensors bound."""
    from netdef.zoo._decoder import read_config

    fields, source = read_config(path)
    if "model_type" not in fields:
        raise ArgumentError(
            f"{source}: no model_type field, so the family is unknown: load it with the model class "
            "(e.g. netdef.zoo.llama.LlamaForCausalLM.from_pretrained) or add model_type"
        )
    return model_class(fields["model_type"], source).from_pretrained(path, strict=strict)


def tiny_pair(family: str, seed: int = 0, **overrides):
    """A random transformers model of a tiny config (eval, fp32) and the netdef model of the same config,
    bound to its state_dict. ``family`` is a ``model_type`` of ``MODELS``."""
    import torch

    transformers = import_transformers()
    netdef_cls = model_class(family, "tiny_pair")
    config_name = netdef_cls.config_class.__name__ if hasattr(netdef_cls, "config_class") else "GPT2Config"
    config = getattr(transformers, config_name)(**{**TINY[family], **overrides})  # netdef's names are theirs
    torch.manual_seed(seed)
    twin = getattr(transformers, netdef_cls.__name__)(config).eval()
    model = netdef_cls(**config.to_dict())
    model.load_weights({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    return model, twin
