"""What both zoo example scripts share: the registry entry with extra constructor arguments, seeded inputs."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

from netdef import testing
from netdef.zoo import zoo

ROOT = Path(__file__).resolve().parents[2]


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, choices=zoo.names(), metavar="NAME", help=", ".join(zoo.names()))
    parser.add_argument(
        "--kwargs",
        type=json.loads,
        default={},
        help="extra constructor arguments as JSON for both the netdef model and its twin, e.g. '{\"num_classes\": 10}'",
    )


def entry_for(args: argparse.Namespace) -> zoo.ZooEntry:
    """The registry entry of ``--model`` with ``--kwargs`` merged into its constructor arguments."""
    entry = zoo.get(args.model)
    if not isinstance(args.kwargs, dict):
        raise SystemExit(f"--kwargs must be a JSON object, got {args.kwargs!r}")
    return dataclasses.replace(entry, kwargs={**entry.kwargs, **args.kwargs})


def seeded_inputs(entry: zoo.ZooEntry, full_size: bool, seed: int) -> dict[str, np.ndarray]:
    """Random inputs of the registry's test (or, with ``full_size``, usual) shapes: normal floats, token ids
    below each integer input's bound."""
    return testing.random_feeds(entry.full_inputs if full_size else entry.test_inputs, seed, entry.int_bound)
