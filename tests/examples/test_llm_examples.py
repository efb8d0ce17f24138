"""examples/llm: export a random tiny transformers checkpoint, build its cached engine, chat through the
reference interpreter (run in-process: each script's ``main(argv)``)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

if importlib.util.find_spec("transformers") is None:
    pytest.skip("the LLM examples read and write transformers checkpoints", allow_module_level=True)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "llm"


@pytest.fixture
def scripts(monkeypatch):
    """The example scripts as modules (their ``common`` is examples/llm's, not another example's)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    saved = sys.modules.pop("common", None)
    try:
        yield {name: importlib.import_module(name) for name in ("export", "build", "chat")}
    finally:
        for name in ("common", "export", "build", "chat"):
            sys.modules.pop(name, None)
        if saved is not None:
            sys.modules["common"] = saved


def test_export_build_and_chat(tmp_path, scripts, capsys, monkeypatch):
    checkpoint = tmp_path / "tiny-gpt2"
    assert scripts["export"].main(["--family", "gpt2", "-o", str(checkpoint), "--max-shard-size", "30KB"]) == 0
    assert (checkpoint / "model.safetensors.index.json").is_file() and (checkpoint / "config.json").is_file()
    engine = tmp_path / "tiny.engine"
    assert scripts["build"].main([str(checkpoint), "--max-context", "32", "-o", str(engine)]) == 0
    assert engine.is_file() and Path(f"{engine}.json").is_file()
    capsys.readouterr()
    assert scripts["chat"].main([str(checkpoint), "--prompt", "Hi there", "--max-new-tokens", "6"]) == 0
    out = capsys.readouterr().out
    assert "tensors bound (memory-mapped)" in out
    reply = out.split("model> ", 1)[1].rstrip("\n")
    assert len(reply) == 6  # one printable character per streamed token (the byte tokenizer of a random model)
    turns = iter(["hello", "again", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(turns))
    assert scripts["chat"].main([str(checkpoint), "--sample", "--seed", "0", "--max-new-tokens", "4"]) == 0
    assert capsys.readouterr().out.count("model> ") == 2
