"""Render a text line with Pillow's bundled font and read it with the CRNN: through netdef's CPU reference
interpreter (and the engine, on a GPU the installed TensorRT supports), then CTC greedy decoding.

    python examples/crnn/recognize.py --text "netdef 2026" [--image line.png] [--save line.png]

With the random weights of export_wts.py the recognized text is garbage: the network computes what torch
computes (the script checks that against the twin), but only trained weights (crnn.pytorch's checkpoint,
export_wts.py --from-checkpoint) read text. The alphabet is tensorrtx's: blank, 0-9, a-z.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from common import ENGINE, MAX_WIDTH, MIN_WIDTH, WEIGHTS, input_spec, normalize, render

import netdef
from netdef.zoo.crnn import ALPHABET, crnn, ctc_greedy_decode
from netdef.zoo.twins.crnn import crnn as torch_crnn


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", default="netdef 2026", help="the text to render (a line)")
    parser.add_argument("--image", type=Path, help="read this image instead (converted to gray, scaled to 32 high)")
    parser.add_argument("--save", type=Path, help="write the rendered line here (PNG)")
    parser.add_argument("--weights", type=Path, default=WEIGHTS)
    parser.add_argument("--engine", type=Path, default=ENGINE)
    args = parser.parse_args()
    if not args.weights.is_file():
        print(f"{args.weights} not found: export it first with python examples/crnn/export_wts.py", file=sys.stderr)
        return 1

    line = read_line(args.image) if args.image is not None else render(args.text)
    if not MIN_WIDTH <= line.shape[1] <= MAX_WIDTH:
        print(f"the line is {line.shape[1]} pixels wide; the network takes {MIN_WIDTH}..{MAX_WIDTH}", file=sys.stderr)
        return 1
    if args.save is not None:
        from PIL import Image

        Image.fromarray(line).save(args.save)
    x = normalize(line)
    weights = netdef.load_wts(args.weights)
    model = crnn()
    model.load_weights(weights)
    network = netdef.define(model, {"x": input_spec()})
    scores = netdef.reference.run(network, {"x": x})["output"]  # (W / 4 + 1, 1, 37)

    twin = torch_crnn().eval()
    netdef.weights.load_into_torch(twin, weights)
    with torch.no_grad():
        expected = twin(torch.from_numpy(x)).numpy()
    print(f"line: {line.shape[1]}x{line.shape[0]} pixels -> {scores.shape[0]} time steps x {len(ALPHABET)} classes")
    print(
        f"max |reference - torch| = {np.abs(scores - expected).max():.3g} (of max |torch| {np.abs(expected).max():.3g})"
    )
    source = f"rendered {args.text!r}" if args.image is None else str(args.image)
    print(f"{'netdef reference (CPU)':>24}: {ctc_greedy_decode(scores)[0]!r}  ({source})")
    print(f"{'torch twin':>24}: {ctc_greedy_decode(expected)[0]!r}")
    print("(export_wts.py's random weights read garbage; a trained checkpoint, --from-checkpoint, reads the line)")

    gpu = netdef.runtime.current_gpu()
    if gpu is None:
        print("engine: not run (no GPU here; build.py's engine runs on a GPU that the installed TensorRT supports)")
    elif not args.engine.is_file():
        print(f"engine: not run ({args.engine} not found: python examples/crnn/build.py)")
    else:
        try:
            engine = netdef.Engine.load(args.engine)
            print(f"{'TensorRT engine':>24}: {ctc_greedy_decode(engine.infer({'x': x})['output'])[0]!r}  ({gpu.name})")
        except netdef.EngineError as exc:
            print(f"engine: not run on {gpu.name}: {exc}")
    return 0


def read_line(path: Path) -> np.ndarray:
    """An image file as a (32, W) uint8 gray line, its aspect kept (W rounded to a multiple of 4)."""
    from PIL import Image

    image = Image.open(path).convert("L")
    width = max(4, round(image.width * 32 / image.height / 4) * 4)
    return np.asarray(image.resize((width, 32), Image.Resampling.BILINEAR))


if __name__ == "__main__":
    sys.exit(main())
