"""transformers as the zoo's oracle for decoder LLMs: import it without a broken torchvision, and tiny configs."""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType


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


def tiny_pair(family: str, seed: int = 0, **overrides):
    """A random transformers model of a tiny config (eval, fp32) and the netdef model of the same config,
    bound to its state_dict. ``family`` is 'llama' or 'gpt2'."""
    import torch

    transformers = import_transformers()
    if family == "llama":
        from netdef.zoo.llama import LlamaForCausalLM as Netdef

        config = transformers.LlamaConfig(**{**TINY_LLAMA, **overrides})
        cls = transformers.LlamaForCausalLM
    elif family == "gpt2":
        from netdef.zoo.gpt2 import GPT2LMHeadModel as Netdef

        config = transformers.GPT2Config(**{**TINY_GPT2, **overrides})
        cls = transformers.GPT2LMHeadModel
    else:
        raise ValueError(f"family must be 'llama' or 'gpt2', got {family!r}")
    torch.manual_seed(seed)
    twin = cls(config).eval()
    model = Netdef(**config.to_dict())
    model.load_weights({k: v.detach().numpy() for k, v in twin.state_dict().items()})
    return model, twin
