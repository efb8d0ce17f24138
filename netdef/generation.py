"""Token generation with a KV cache, over the reference interpreter (CPU) or a TensorRT engine (GPU).

A cached decoder network (``define_cached``) takes ``input_ids`` (B, S), ``past_length`` (B,) int32 and one
``past_key_values.{i}.key`` / ``.value`` cache per layer (B, kv_heads, max_context, head_dim), and returns
``logits`` (B, S, vocab) and the updated caches ``present.{i}.key`` / ``.value``. One call runs the prompt
(prefill), then one call per new token (decode, S = 1). ``generate`` and ``stream`` drive it the same way
whether the network runs in the interpreter or as an engine; engines update the caches in place (TensorRT's
KV-cache-update layer), so each cache input and its present output share one device buffer.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from netdef.errors import ArgumentError, NetdefError

_PAST = re.compile(r"past_key_values\.(\d+)\.(key|value)$")


def define_cached(model, max_context: int, max_batch: int = 1, precision: str = "fp32", **define_kwargs):
    """``netdef.define`` of a zoo decoder (``netdef.zoo.llama``, ``netdef.zoo.gpt2``) with its KV-cache inputs:
    caches of ``max_context`` slots in the network's precision, logits in float32."""
    import netdef
    from netdef.define import PRECISIONS

    if precision not in PRECISIONS:
        raise NetdefError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    dtype = PRECISIONS[precision]
    inputs = model.cache_inputs(max_context, max_batch, dtype)
    outputs = {"logits": "float32"}
    outputs.update({name.replace("past_key_values", "present"): dtype for name in inputs if _PAST.match(name)})
    return netdef.define(model, inputs, precision=precision, output_dtype=outputs, **define_kwargs)


@dataclass
class SamplingConfig:
    """How the next token is chosen from the last position's logits (transformers' order: temperature,
    top-k, top-p). ``do_sample=False`` is greedy (argmax)."""

    do_sample: bool = False
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.do_sample, (bool, np.bool_)):
            raise ArgumentError(f"do_sample must be True or False, got {self.do_sample!r}")
        if not _is_real(self.temperature) or not math.isfinite(self.temperature) or self.temperature <= 0:
            raise ArgumentError(
                f"temperature must be a finite number > 0, got {self.temperature!r} (use do_sample=False for greedy)"
            )
        if not _is_int(self.top_k) or self.top_k < 0:
            raise ArgumentError(f"top_k must be an int >= 0 (0 keeps every token), got {self.top_k!r}")
        if not _is_real(self.top_p) or not 0 < self.top_p <= 1:
            raise ArgumentError(f"top_p must be a number in (0, 1] (1 keeps every token), got {self.top_p!r}")
        if self.seed is not None and not _is_int(self.seed):
            raise ArgumentError(f"seed must be an int or None, got {self.seed!r}")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def next_tokens(logits: np.ndarray, config: SamplingConfig, rng: np.random.Generator) -> np.ndarray:
    """(B,) token ids from (B, vocab) logits."""
    logits = np.asarray(logits, np.float64)
    if not config.do_sample:
        return logits.argmax(-1)
    scores = logits / config.temperature
    if config.top_k and config.top_k < scores.shape[-1]:
        kth = np.sort(scores, axis=-1)[:, -config.top_k][:, None]
        scores = np.where(scores < kth, -np.inf, scores)
    if config.top_p < 1.0:
        order = np.argsort(-scores, axis=-1, kind="stable")
        ranked = np.take_along_axis(scores, order, -1)
        probs = np.exp(ranked - ranked[:, :1])
        probs /= probs.sum(-1, keepdims=True)
        before = np.cumsum(probs, -1) - probs  # mass of the better tokens: keep while it is below top_p
        drop = np.zeros_like(scores, dtype=bool)
        np.put_along_axis(drop, order, before >= config.top_p, -1)
        scores = np.where(drop, -np.inf, scores)
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return np.array([rng.choice(probs.shape[-1], p=p) for p in probs])


class ReferenceDecoder:
    """Runs a cached decoder network with the reference interpreter (CPU); caches are numpy arrays."""

    def __init__(self, network) -> None:
        from netdef._trt import dtype_to_numpy

        self.network = network
        net = getattr(network, "network", network)
        self.cache_specs = {}
        for i in range(net.num_inputs):
            t = net.get_input(i)
            if _PAST.match(t.name):
                self.cache_specs[t.name] = (tuple(t.shape), dtype_to_numpy(t.dtype))
        _check_cache_names(self.cache_specs)
        self.max_context = next(iter(self.cache_specs.values()))[0][2]
        specs = getattr(network, "inputs", None)
        spec = specs.get("input_ids") if isinstance(specs, Mapping) else None
        self.max_batch = max(hi[0] for _, _, hi in spec.all_profiles) if spec is not None else None
        outputs = {net.get_output(i).name: net.get_output(i) for i in range(net.num_outputs)}
        vocab = tuple(outputs["logits"].shape)[-1] if "logits" in outputs else -1
        self.vocab_size = vocab if vocab > 0 else None

    def reset(self, batch: int) -> None:
        self.caches = {n: np.zeros((batch, *s[1:]), d) for n, (s, d) in self.cache_specs.items()}

    def step(self, input_ids: np.ndarray, past_length: np.ndarray) -> np.ndarray:
        import netdef

        out = netdef.reference.run(self.network, {"input_ids": input_ids, "past_length": past_length, **self.caches})
        for name in self.caches:
            self.caches[name] = out[name.replace("past_key_values", "present")]
        return out["logits"][:, -1]


class EngineDecoder:
    """Runs a cached decoder engine on the GPU with torch CUDA buffers; each cache and its ``present`` output
    share one buffer (TensorRT updates it in place). Profile 0 serves the prompt, profile 1 (S = 1) decoding."""

    def __init__(self, engine) -> None:
        import torch

        from netdef._trt import trt
        from netdef.runtime import Engine

        if isinstance(engine, (str, os.PathLike)):
            engine = Engine.load(engine)
        self.engine = engine
        self.torch = torch
        cuda = engine.engine
        specs = {s.name: s for s in engine.specs}
        self.cache_specs = {
            n: (s.profiles[0][2] if s.profiles else s.shape, s.dtype) for n, s in specs.items() if _PAST.match(n)
        }
        _check_cache_names(self.cache_specs)
        self.max_context = next(iter(self.cache_specs.values()))[0][2]
        ids = specs["input_ids"]
        self.max_batch = max(hi[0] for _, _, hi in ids.profiles) if ids.profiles else ids.shape[0]
        self.logits_dtype = specs["logits"].dtype
        vocab = cuda.get_tensor_shape("logits")[-1]
        self.vocab_size = vocab if vocab > 0 else None
        count = cuda.num_optimization_profiles
        self.contexts = []
        self.stream = torch.cuda.Stream()
        for k in range(min(count, 2)):
            context = cuda.create_execution_context()
            context.set_optimization_profile_async(k, self.stream.cuda_stream)
            self.contexts.append(context)
        self.trt = trt

    def reset(self, batch: int) -> None:
        torch = self.torch
        self.caches = {
            n: torch.zeros((batch, *s[1:]), dtype=_torch_dtype(torch, d), device="cuda")
            for n, (s, d) in self.cache_specs.items()
        }

    def step(self, input_ids: np.ndarray, past_length: np.ndarray) -> np.ndarray:
        torch = self.torch
        context = self.contexts[1 if input_ids.shape[1] == 1 and len(self.contexts) > 1 else 0]
        ids = torch.from_numpy(np.ascontiguousarray(input_ids, np.int64)).cuda()
        past = torch.from_numpy(np.ascontiguousarray(past_length, np.int32)).cuda()
        logits = torch.empty(
            (*input_ids.shape, self.engine.engine.get_tensor_shape("logits")[-1]),
            dtype=_torch_dtype(torch, self.logits_dtype),
            device="cuda",
        )
        bindings = {"input_ids": ids, "past_length": past, "logits": logits}
        for name, cache in self.caches.items():
            bindings[name] = cache
            bindings[name.replace("past_key_values", "present")] = cache  # in place
        for name, t in bindings.items():
            if self.engine.engine.get_tensor_mode(name) == self.trt.TensorIOMode.INPUT:
                context.set_input_shape(name, tuple(t.shape))
            context.set_tensor_address(name, t.data_ptr())
        torch.cuda.current_stream().synchronize()
        if not context.execute_async_v3(self.stream.cuda_stream):
            raise NetdefError("TensorRT failed to run the decoder step (see the TensorRT messages above)")
        self.stream.synchronize()
        return logits[:, -1].float().cpu().numpy()


def _torch_dtype(torch, dtype: np.dtype):
    return torch.bfloat16 if np.dtype(dtype).name == "bfloat16" else getattr(torch, np.dtype(dtype).name)


def _check_cache_names(specs: Mapping) -> None:
    if not specs:
        raise NetdefError(
            "the network has no past_key_values.{i}.key/value inputs: define it with netdef.generation.define_cached"
        )


def decoder_for(model):
    """The decoder runner for a netdef Network or INetworkDefinition (interpreter), an Engine or engine path
    (GPU), or an object already offering ``reset`` / ``step``."""
    if hasattr(model, "step") and hasattr(model, "reset"):
        return model
    from netdef.runtime import Engine

    if isinstance(model, (Engine, str, os.PathLike)):
        return EngineDecoder(model)
    return ReferenceDecoder(model)


def prompt_ids(input_ids, vocab_size: int | None = None) -> np.ndarray:
    """``input_ids`` as a (B, S) int64 array, checked: integers (no floats, which would be truncated), one length
    for every prompt, at least one token, every id in ``[0, vocab_size)``."""
    if (
        isinstance(input_ids, (list, tuple))
        and input_ids
        and all(isinstance(p, (list, tuple, np.ndarray)) for p in input_ids)
    ):
        lengths = [len(p) for p in input_ids]
        if len(set(lengths)) > 1:
            raise ArgumentError(
                f"input_ids: the prompts have different lengths {lengths}; generate runs prompts of one length "
                "together (the cached network has no padding mask): call it once per length, or per prompt"
            )
    if hasattr(input_ids, "detach"):  # a torch tensor
        input_ids = input_ids.detach().cpu().numpy()
    ids = np.asarray(input_ids)
    if ids.dtype.kind not in "iu":
        raise ArgumentError(
            f"input_ids must be integer token ids, got dtype {ids.dtype} (a float id would be truncated): "
            "pass ints, e.g. np.asarray(ids, np.int64) after checking they are whole numbers"
        )
    ids = ids[None] if ids.ndim == 1 else ids
    if ids.ndim != 2 or ids.shape[1] == 0:
        raise ArgumentError(
            f"input_ids must be (batch, prompt_length) with a non-empty prompt, got shape {np.shape(input_ids)}"
        )
    if ids.dtype.kind == "u" and ids.size and int(ids.max()) > np.iinfo(np.int64).max:
        raise ArgumentError(f"input_ids: token id {int(ids.max())} does not fit int64")
    ids = ids.astype(np.int64)
    if vocab_size is not None:
        bad = (ids < 0) | (ids >= vocab_size)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ArgumentError(
                f"input_ids[{where[0]}, {where[1]}] is {int(ids[where])}, outside [0, {vocab_size}) (the model's "
                f"vocabulary); {int(bad.sum())} id(s) are: encode the prompt with this model's tokenizer"
            )
    return ids


def eos_ids(eos_token_id, vocab_size: int | None = None) -> list[int]:
    """``eos_token_id`` (None, an int or a list of ints) as a list of ids in ``[0, vocab_size)``."""
    if eos_token_id is None:
        return []
    many = eos_token_id if isinstance(eos_token_id, (list, tuple, set, frozenset, np.ndarray)) else [eos_token_id]
    ids = list(many)
    if not ids or not all(_is_int(i) for i in ids):
        raise ArgumentError(f"eos_token_id must be an int, a non-empty list of ints or None, got {eos_token_id!r}")
    bad = [int(i) for i in ids if i < 0 or (vocab_size is not None and i >= vocab_size)]
    if bad:
        raise ArgumentError(
            f"eos_token_id {bad[0]} is outside [0, {vocab_size}) (the model's vocabulary): no token can end "
            "generation with it; pass the tokenizer's eos id"
        )
    return [int(i) for i in ids]


def stream(
    model,
    input_ids,
    max_new_tokens: int = 32,
    *,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int | None = None,
    eos_token_id: int | list[int] | None = None,
) -> Iterator[np.ndarray]:
    """Yield the next token of every sequence, (B,) int64, as each is chosen.

    ``model`` is a cached decoder network (run by the reference interpreter) or engine (see ``decoder_for``);
    ``input_ids`` is (B, S) or (S,) integer ids in ``[0, vocab_size)`` with every prompt the same length
    (prompts of different lengths: one call per length). A sequence that produced an id of ``eos_token_id``
    (an int or a list) keeps producing that id; the stream ends when all have, or after ``max_new_tokens``.
    Every argument is checked before the model runs.
    """
    config = SamplingConfig(do_sample, temperature, top_k, top_p, seed)
    if not _is_int(max_new_tokens) or max_new_tokens < 0:
        raise ArgumentError(f"max_new_tokens must be an int >= 0, got {max_new_tokens!r}")
    decoder = decoder_for(model)
    vocab = getattr(decoder, "vocab_size", None)
    ids = prompt_ids(input_ids, vocab)
    eos = eos_ids(eos_token_id, vocab)
    return _stream(decoder, ids, int(max_new_tokens), config, eos)


def _stream(decoder, ids: np.ndarray, max_new_tokens: int, config: SamplingConfig, eos: list[int]):
    batch, prompt = ids.shape
    max_batch = getattr(decoder, "max_batch", None)
    if max_batch is not None and max_batch > 0 and batch > max_batch:
        raise NetdefError(
            f"{batch} prompts in one batch, and the network takes at most {max_batch}: define it with "
            f"define_cached(model, max_context, max_batch={batch}) (or build the engine from such a network), "
            f"or generate in batches of at most {max_batch}"
        )
    if prompt + max_new_tokens - 1 > decoder.max_context:
        raise NetdefError(
            f"a {prompt}-token prompt plus {max_new_tokens} new tokens needs {prompt + max_new_tokens - 1} cache "
            f"slots; the network holds {decoder.max_context}: define it with a larger max_context"
        )
    rng = np.random.default_rng(config.seed)
    ended = np.full(batch, -1, np.int64)  # the eos id each finished sequence produced, -1 while it runs
    decoder.reset(batch)
    past = np.zeros(batch, np.int32)
    step_ids = ids

    def run() -> Iterator[np.ndarray]:
        nonlocal past, step_ids
        for _ in range(max_new_tokens):
            logits = decoder.step(step_ids, past)
            past = past + step_ids.shape[1]
            token = next_tokens(logits, config, rng).astype(np.int64)
            if eos:
                token = np.where(ended >= 0, ended, token)
                ended[:] = np.where((ended < 0) & np.isin(token, eos), token, ended)
            yield token
            if eos and (ended >= 0).all():
                return
            step_ids = token[:, None]

    return run()


def generate(
    model,
    input_ids,
    max_new_tokens: int = 32,
    *,
    do_sample: bool = False,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int | None = None,
    eos_token_id: int | list[int] | None = None,
    streamer: Callable[[np.ndarray], None] | None = None,
) -> np.ndarray:
    """Greedy (default) or sampled generation; returns the prompts followed by the new tokens, (B, S + new).

    ``streamer(tokens)`` is called with each step's (B,) tokens as they come (or iterate ``stream``).
    Sampling is seeded by ``seed`` (numpy's Generator) and applies temperature, then top-k, then top-p.
    A sequence that ended is padded with the eos id it produced. Arguments are checked as ``stream`` does.
    """
    tokens = stream(
        model,
        input_ids,
        max_new_tokens,
        do_sample=do_sample,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        seed=seed,
        eos_token_id=eos_token_id,
    )
    ids = prompt_ids(input_ids)
    new = []
    for token in tokens:
        new.append(token)
        if streamer is not None:
            streamer(token)
    return np.concatenate([ids, np.stack(new, 1)], 1) if new else ids
