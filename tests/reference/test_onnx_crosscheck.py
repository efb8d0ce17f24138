"""Cross-check of the reference interpreter against NVIDIA's ONNX parser.

Each torch model below is exported to ONNX (the legacy TorchScript exporter and the dynamo exporter),
parsed by the installed TensorRT's ``OnnxParser`` into a network netdef did not write, run by
``netdef.reference.run`` and compared with torch. The parser's choices (shape-tensor arithmetic, slices
with tensor starts, reshapes from tensors, fills, gathers, casts between int32 and int64) exercise the
interpreter independently of netdef's own emitters.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import netdef
from netdef._trt import trt
from netdef.zoo.twins.lenet import LeNet
from netdef.zoo.twins.mlp import MLP

# -- the models ---------------------------------------------------------------------------------------


class ResNetish(nn.Module):
    """Stem, a BasicBlock with a downsample, global pooling and a classifier (torchvision's names)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.downsample = nn.Sequential(nn.Conv2d(8, 16, 1, 2, bias=False), nn.BatchNorm2d(16))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.relu(self.bn2(self.conv2(x)) + self.downsample(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class ConvVariants(nn.Module):
    """Depthwise, dilated, strided, 'same'-padded (asymmetric), 1-D, 3-D and transposed convolutions."""

    def __init__(self) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.dilated = nn.Conv2d(4, 6, 3, padding=2, dilation=2)
        self.grouped = nn.Conv2d(6, 6, 3, stride=2, padding=(1, 0), groups=2, bias=False)
        self.same = nn.Conv2d(4, 3, 4, padding="same")
        self.up = nn.ConvTranspose2d(6, 3, 3, stride=2, padding=1, output_padding=1)
        self.conv1d = nn.Conv1d(4, 5, 3, stride=2, padding=1)
        self.conv3d = nn.Conv3d(1, 2, 3, padding=1)

    def forward(self, x):
        y = self.dilated(self.depthwise(x))
        n, c, h, w = x.shape
        seq = self.conv1d(x.reshape(n, c, h * w))
        vol = self.conv3d(x.unsqueeze(1))
        return self.grouped(y), self.same(x), self.up(y), seq, vol


class Pooling(nn.Module):
    def forward(self, x):
        return (
            F.max_pool2d(x, 3, 2, 1, ceil_mode=True),
            F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
            F.avg_pool2d(x, 3, 2, 1, count_include_pad=True),
            F.avg_pool2d(x, 2, ceil_mode=True),
            F.adaptive_avg_pool2d(x, 1),
            F.adaptive_max_pool2d(x, 1),
            F.max_pool1d(x.flatten(2), 4),
        )


class Norms(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(6)
        self.gn = nn.GroupNorm(3, 6)
        self.inorm = nn.InstanceNorm2d(6, affine=True)
        self.ln = nn.LayerNorm([5, 5])
        self.bn1d = nn.BatchNorm1d(6)

    def forward(self, x):
        return self.bn(x), self.gn(x), self.inorm(x), self.ln(x), self.bn1d(x.flatten(2))


class Attention(nn.Module):
    """nn.MultiheadAttention (self-attention, key padding free) with a residual and LayerNorm."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(16, 4, batch_first=True)
        self.norm = nn.LayerNorm(16)

    def forward(self, x):
        return self.norm(x + self.attn(x, x, x, need_weights=False)[0])


class Encoder(nn.Module):
    """A pre-norm transformer encoder layer (GELU) and causal scaled-dot-product attention."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, activation="gelu", batch_first=True)
        self.layer.norm_first = True
        self.qkv = nn.Linear(16, 48)

    def forward(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, 2, 8).permute(2, 0, 3, 1, 4)
        causal = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.layer(x), causal.transpose(1, 2).reshape(b, t, 16)


class Resize(nn.Module):
    def forward(self, x):
        return (
            F.interpolate(x, scale_factor=2, mode="nearest"),
            F.interpolate(x, size=(7, 9), mode="nearest"),
            F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False),
            F.interpolate(x, size=(9, 7), mode="bilinear", align_corners=True),
            F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False),
        )


class Slicing(nn.Module):
    def forward(self, x):
        n = x.shape[0]
        flat = x.reshape(n, -1)
        half = x.shape[-1] // 2
        return (
            flat[:, 1:7:2],
            x[:, -2:, ::2, 1:],
            torch.flip(x, dims=[-1]),
            x[..., :half],
            x[:, 1],
            x.narrow(2, 1, 2),
            F.pad(x, (1, 2, 0, 1)),
            F.pad(x, (2, 2, 1, 1), mode="reflect"),
            F.pad(x, (1, 1, 2, 0), mode="replicate"),
        )


class Reductions(nn.Module):
    def forward(self, x):
        return (
            x.sum(1),
            x.mean((2, 3), keepdim=True),
            x.amax(-1),
            x.amin(1, keepdim=True),
            (x * 0.5).prod(-1),
            x.var(1, unbiased=False),
            torch.logsumexp(x, -1),
            x.norm(dim=1),
            x.argmax(1),
            x.argmin(-1, keepdim=True),
            x.abs().sum(),
        )


class Gathers(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(11, 6)
        self.register_buffer("index", torch.tensor([3, 0, 2]))

    def forward(self, ids, x):
        rows = torch.tensor([[0, 2, 1], [1, 1, 0]])
        return (
            self.embed(ids),
            x.index_select(1, self.index),
            torch.gather(x, 2, rows.expand(x.shape[0], 2, 3)),
            x[:, self.index, -1],
            torch.gather(x, -1, x.argmax(-1, keepdim=True)),
        )


class ShapeArithmetic(nn.Module):
    """Shapes read at run time (dynamic batch) and computed with: view, expand, repeat, arange, fills."""

    def forward(self, x):
        b, c, h, w = x.shape
        tokens = x.reshape(b, c, h * w).transpose(1, 2)
        pos = torch.arange(h * w, dtype=torch.float32).reshape(1, h * w, 1)
        ones = torch.ones_like(x[:, :1])
        full = x.new_full((b, 2), 3.5)
        grid = x.mean(1, keepdim=True).expand(b, c, h, w)
        tiled = x[:, :1].repeat(1, 2, 1, 2)
        return tokens + pos, ones * x, full * b, grid - x, tiled, x.view(b, -1)[:, : c * h].unsqueeze(-1).squeeze(-1)


class ConcatSplit(nn.Module):
    def forward(self, x, y):
        a, b = torch.split(x, [2, 4], dim=1)
        c0, c1, c2 = torch.chunk(y, 3, dim=-1)
        return torch.cat([b, a, x], 1), torch.stack([c0, c2, c1], 0), torch.cat([x[:, :1] * 2, y[:, :1]], -1)


class MatMul(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(6, 4)
        self.register_buffer("w", torch.randn(6, 3))

    def forward(self, a, b):
        return (
            torch.bmm(a, b),
            a @ self.w,
            self.proj(a),
            torch.einsum("bij,bjk->bik", a, b),
            torch.einsum("bid,bjd->bij", a, a),
            a[:, 0].unsqueeze(-1) * a[:, 1].unsqueeze(-2),
        )


class Softmaxes(nn.Module):
    def forward(self, x):
        return F.softmax(x, 1), F.softmax(x, -1), F.log_softmax(x, -1), F.softmin(x, 2), F.softmax(x, 0)


class Activations(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.prelu = nn.PReLU(4, init=0.2)

    def forward(self, x):
        return torch.stack(
            [
                F.relu(x),
                F.relu6(x * 4),
                F.leaky_relu(x, 0.1),
                F.elu(x, 0.7),
                F.selu(x),
                F.celu(x, 1.3),
                F.gelu(x),
                F.gelu(x, approximate="tanh"),
                F.silu(x),
                F.hardswish(x * 3),
                F.hardsigmoid(x * 3),
                F.mish(x),
                F.softplus(x, beta=2.0),
                F.softsign(x),
                torch.sigmoid(x),
                torch.tanh(x),
                F.hardtanh(x, -0.5, 0.5),
                F.logsigmoid(x),
                self.prelu(x),
            ]
        )


class Elementwise(nn.Module):
    def forward(self, x, y):
        mask = x > y
        return (
            torch.where(mask, x, y * 2),
            x.clamp(-0.5, 0.7),
            torch.sqrt(x.abs()) + torch.exp(-x) + torch.log(y.abs() + 1),
            torch.pow(x.abs(), 1.5) + x**2,
            torch.floor(x * 3) + torch.ceil(y * 3) + torch.round(x * 5) + torch.sign(y),
            torch.remainder(x * 7, 3) + torch.fmod(y * 7, 3),
            x.masked_fill(mask, -1.0),
            (mask & (y > 0)) | ~(x > 0),
            torch.maximum(x, y) - torch.minimum(x, y) / (y.abs() + 1),
            torch.erf(x) + torch.sin(x) * torch.cos(y) + torch.reciprocal(y.abs() + 1),
            torch.div((x * 10).to(torch.int32), 3, rounding_mode="trunc"),
            (x.abs() * 10).to(torch.int32) // 3,  # the legacy exporter writes // as ONNX Div (truncating)
        )


class IntPipeline(nn.Module):
    """int64 inputs through arithmetic, casts to int32, comparisons and back to float."""

    def forward(self, ids, x):
        shifted = (ids * 3 + 1) % 7
        small = shifted.to(torch.int32) - 2
        keep = (small > 0) & (ids != 4)
        return shifted, small.abs(), keep, x * keep.to(x.dtype), torch.cumsum(ids, 1)


class Misc(nn.Module):
    """Cumulative sums, one-hot, scatters, triangular masks, LRN and grid sampling."""

    def __init__(self) -> None:
        super().__init__()
        self.lrn = nn.LocalResponseNorm(3, alpha=0.3, beta=0.75, k=1.5)

    def forward(self, x, ids):
        b, t = ids.shape
        hot = F.one_hot(ids, 5).to(x.dtype)
        scattered = torch.zeros(b, 5).scatter(1, ids[:, :1], x[:, :1, 0])
        rows = torch.tensor([1, 3])
        placed = (x[0] + 1).index_put((rows,), x[1, :2] * 3)  # ONNX ScatterND
        causal = torch.ones(t, t).tril().bool()
        masked = x.masked_fill(~causal, float("-inf")).softmax(-1)
        grid = torch.tanh(x[:, :3].reshape(b, 2, 3, 2)) * 1.1
        image = self.lrn(x.unsqueeze(1).expand(b, 4, t, t) * torch.arange(1.0, 5.0).reshape(1, 4, 1, 1))
        return (
            torch.cumsum(x, -1),
            torch.cumsum(x.flip(1), 1).flip(1),
            hot,
            scattered,
            placed,
            masked,
            x.triu(1),
            image,
            F.grid_sample(image, grid, "bilinear", "zeros", align_corners=False),
            F.grid_sample(image, grid, "bilinear", "border", align_corners=True),
        )


# -- the cases ----------------------------------------------------------------------------------------


class Recurrent(nn.Module):
    """A two-layer bidirectional LSTM feeding a GRU (batch_first): TensorRT's parser makes loops of them."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True)
        self.gru = nn.GRU(12, 5, batch_first=True)

    def forward(self, x):
        y, (h, c) = self.lstm(x)
        z, hz = self.gru(y)
        return z, h, c, hz


@dataclass
class Case:
    """A torch model, example inputs, and which input dims are dynamic (run at ``batches`` too)."""

    make: Callable[[], nn.Module]
    inputs: list[torch.Tensor]
    dynamic: dict[int, list[int]] = field(default_factory=dict)
    #: other sizes of dynamic dim 0 to run the same network at
    batches: tuple[int, ...] = ()


def cases() -> dict[str, Case]:
    g = torch.Generator().manual_seed(0)

    def r(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g)

    def _ids(*shape: int, high: int = 5) -> torch.Tensor:
        return torch.randint(0, high, shape, generator=g)

    return {
        "resnet_block": Case(ResNetish, [r(2, 3, 16, 16)], {0: [0]}, (1, 3)),
        "conv_variants": Case(ConvVariants, [r(2, 4, 8, 8)]),
        "pooling": Case(Pooling, [r(2, 3, 9, 8)]),
        "norms": Case(Norms, [r(2, 6, 5, 5) * 2 + 0.5]),
        "attention": Case(Attention, [r(2, 5, 16)], {0: [0]}, (1, 4)),
        "encoder_sdpa": Case(Encoder, [r(2, 6, 16)]),
        "resize": Case(Resize, [r(1, 2, 4, 5)]),
        "slicing": Case(Slicing, [r(2, 4, 5, 6)], {0: [0]}, (3,)),
        "reductions": Case(Reductions, [r(2, 3, 4, 5)]),
        "gather": Case(Gathers, [_ids(2, 7, high=11), r(2, 4, 5)], {0: [0], 1: [0]}, (3,)),
        "shape_arithmetic": Case(ShapeArithmetic, [r(2, 3, 4, 5)], {0: [0]}, (1, 5)),
        "concat_split": Case(ConcatSplit, [r(2, 6, 3), r(2, 6, 9)], {0: [0], 1: [0]}, (4,)),
        "matmul": Case(MatMul, [r(2, 5, 6), r(2, 6, 3)]),
        "softmax": Case(Softmaxes, [r(2, 3, 4) * 3]),
        "activations": Case(Activations, [r(2, 4, 5) * 2]),
        "elementwise": Case(Elementwise, [r(2, 3, 4), r(2, 3, 4)]),
        "int_pipeline": Case(IntPipeline, [_ids(2, 6, high=9), r(2, 6)], {0: [0], 1: [0]}, (5,)),
        "misc": Case(Misc, [r(2, 4, 4), _ids(2, 4)]),
        "lenet": Case(LeNet, [r(2, 1, 32, 32)], {0: [0]}, (1, 7)),
        "mlp": Case(MLP, [r(4, 64)], {0: [0]}, (1,)),
        "recurrent": Case(Recurrent, [r(2, 7, 4)], {0: [0]}, (1, 3)),
    }


CASES = cases()


# -- export, parse, run, compare ----------------------------------------------------------------------


def build(name: str) -> tuple[nn.Module, list[torch.Tensor]]:
    case = CASES[name]
    torch.manual_seed(0)
    model = case.make().eval()
    with torch.no_grad():  # non-trivial batch-norm statistics
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.normal_(0, 0.3)
                m.running_var.uniform_(0.3, 2.0)
    return model, [x.clone() for x in case.inputs]


def export(model: nn.Module, inputs: list[torch.Tensor], exporter: str, dynamic: dict[int, list[int]]) -> bytes:
    names = [f"x{i}" for i in range(len(inputs))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "legacy":
            f = io.BytesIO()
            axes = {names[i]: {d: f"d{i}_{d}" for d in dims} for i, dims in dynamic.items()}
            torch.onnx.export(
                model, tuple(inputs), f, dynamo=False, opset_version=17, input_names=names, dynamic_axes=axes
            )
            return f.getvalue()
        batch = torch.export.Dim("batch", min=1, max=16)
        shapes = tuple({d: batch for d in dynamic.get(i, [])} or None for i in range(len(inputs)))
        program = torch.onnx.export(
            model, tuple(inputs), dynamo=True, input_names=names, dynamic_shapes=shapes if dynamic else None
        )
        return program.model_proto.SerializeToString()


def flatten(value) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    return [t for v in value for t in flatten(v)]


def resized(inputs: list[torch.Tensor], dynamic: dict[int, list[int]], batch: int) -> list[torch.Tensor]:
    """The inputs with their dynamic dim 0 changed to ``batch`` (fresh values of the same kind)."""
    out = []
    for i, x in enumerate(inputs):
        if 0 not in dynamic.get(i, []):
            out.append(x)
        elif x.is_floating_point():
            out.append(torch.randn(batch, *x.shape[1:]) * x.std())
        else:
            out.append(torch.randint(0, int(x.max()) + 1, (batch, *x.shape[1:])))
    return out


def check(network, model: nn.Module, inputs: list[torch.Tensor], parity) -> None:
    with torch.no_grad():
        want = flatten(model(*inputs))
    feeds = {f"x{i}": x.numpy() for i, x in enumerate(inputs)}
    got = netdef.reference.run(network, feeds)
    assert len(got) == len(want)
    for (name, g), w in zip(got.items(), want):
        try:
            if g.dtype != w.numpy().dtype:  # the parser may store int64 and bool outputs as other types
                assert np.issubdtype(g.dtype, np.integer) or g.dtype == np.bool_, (g.dtype, w.dtype)
                g = g.astype(w.numpy().dtype)
            parity.assert_close(g, w)
        except AssertionError as exc:
            raise AssertionError(f"output {name}: {exc}") from None


@pytest.fixture(scope="module")
def legacy_networks():
    """Every case exported by the legacy exporter and parsed (shared by the coverage test)."""
    out = {}
    for name, case in CASES.items():
        model, inputs = build(name)
        out[name] = netdef.onnx.parse(export(model, inputs, "legacy", case.dynamic))
    return out


@pytest.mark.parametrize("exporter", ["legacy", "dynamo"])
@pytest.mark.parametrize("name", list(CASES))
def test_interpreter_matches_torch_on_parsed_onnx(name, exporter, parity):
    case = CASES[name]
    model, inputs = build(name)
    network = netdef.onnx.parse(export(model, inputs, exporter, case.dynamic))
    check(network, model, inputs, parity)
    for batch in case.batches:
        check(network, model, resized(inputs, case.dynamic, batch), parity)


def test_crosscheck_covers_shape_tensor_and_tensor_input_layers(legacy_networks):
    """The parsed networks use the layer types the issue names, tensor-valued parameters and slice modes."""
    kinds: set[str] = set()
    tensor_params: set[str] = set()
    slice_modes: set[str] = set()
    for net in legacy_networks.values():
        for i in range(net.num_layers):
            layer = net.get_layer(i)
            kinds.add(layer.type.name)
            if layer.type.name in ("SLICE", "SHUFFLE", "FILL", "RESIZE") and layer.num_inputs > 1:
                if any(layer.get_input(j) is not None for j in range(1, layer.num_inputs)):
                    tensor_params.add(layer.type.name)
            if layer.type.name == "SLICE":
                layer.__class__ = trt.ISliceLayer
                slice_modes.add(layer.mode.name)
    expected = {"CONVOLUTION", "DECONVOLUTION", "POOLING", "NORMALIZATION", "SCALE", "RESIZE", "SLICE", "REDUCE"}
    expected |= {"GATHER", "SHAPE", "CONCATENATION", "MATRIX_MULTIPLY", "SOFTMAX", "ACTIVATION", "TOPK", "FILL"}
    expected |= {"ELEMENTWISE", "UNARY", "SELECT", "CAST", "SHUFFLE", "SQUEEZE", "UNSQUEEZE", "IDENTITY", "CONSTANT"}
    expected |= {"CUMULATIVE", "ONE_HOT", "SCATTER", "EINSUM", "GRID_SAMPLE", "PARAMETRIC_RELU", "CONDITION"}
    expected |= {"CONDITIONAL_INPUT", "CONDITIONAL_OUTPUT", "TRIP_LIMIT", "ITERATOR", "RECURRENCE", "LOOP_OUTPUT"}
    assert expected <= kinds, f"not exercised: {sorted(expected - kinds)}"
    assert tensor_params == {"SLICE", "SHUFFLE", "FILL", "RESIZE"}
    assert {"STRICT_BOUNDS", "FILL", "REFLECT", "CLAMP"} <= slice_modes, slice_modes


def test_parser_errors_are_netdef_errors(tmp_path):
    with pytest.raises(netdef.NetdefError, match="ONNX parser rejected the ONNX model"):
        netdef.onnx.parse(b"not an onnx model")
    with pytest.raises(netdef.NetdefError, match="no such ONNX file"):
        netdef.onnx.parse(tmp_path / "missing.onnx")


def test_parse_from_file_keeps_weights_alive(tmp_path, parity):
    model, inputs = build("lenet")
    path = tmp_path / "lenet.onnx"
    path.write_bytes(export(model, inputs, "legacy", {}))
    network = netdef.onnx.parse(path)
    import gc

    gc.collect()  # the parser owns the constant weights; parse() keeps it alive with the network
    check(network, model, inputs, parity)
