"""DETR (tensorrtx's detr) with transformers' ``DetrForObjectDetection`` module tree and state_dict names.

The backbone is transformers' own ResNet (``DetrConfig(use_timm_backbone=False)``, the AutoBackbone path):
``model.backbone.model.embedder.embedder.{convolution,normalization}``, ``model.backbone.model.encoder.stages.S.
layers.L.{shortcut,layer.0..2}.{convolution,normalization}`` (its BatchNorms frozen: weight, bias and running
statistics, no ``num_batches_tracked``), then ``model.input_projection``, ``model.encoder.layers.N.{self_attn.
{q,k,v,o}_proj, self_attn_layer_norm, mlp.fc1, mlp.fc2, final_layer_norm}``, ``model.decoder.layers.N`` (with
``encoder_attn``), ``model.decoder.layernorm``, ``model.query_position_embeddings``, ``class_labels_classifier``
and ``bbox_predictor.layers.{0,1,2}``.

Input ``pixel_values`` (B, 3, H, W); outputs ``logits`` (B, num_queries, num_labels + 1) and ``pred_boxes``
(B, num_queries, 4: normalized cx, cy, w, h). Batch, H and W may be dynamic: the sine position embedding is
computed in the network from the feature map's run-time size. Every pixel is real (transformers' default when no
``pixel_mask`` is given): batches padded to a common size, which transformers masks with ``pixel_mask``, are not
supported (there is no such input). Checkpoints saved with ``use_timm_backbone=True`` (the original
facebook/detr-resnet-50 configuration) hold the backbone under timm's ResNet names and do not bind here.
"""

from __future__ import annotations

import math

import numpy as np

from netdef import F, Input, nn

#: the activation_function names of transformers' ACT2FN that map onto netdef modules
ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}


class ResNetConvLayer(nn.Module):
    """Conv (no bias, 'same' padding) + BatchNorm (+ ReLU)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, act: bool = True):
        super().__init__()
        self.convolution = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride, padding=kernel_size // 2, bias=False
        )
        self.normalization = nn.BatchNorm2d(out_channels)
        self.activation = nn.ReLU() if act else nn.Identity()

    def forward(self, x):
        return self.activation(self.normalization(self.convolution(x)))


class ResNetEmbeddings(nn.Module):
    """7x7 stride-2 conv + BatchNorm + ReLU, then a 3x3 stride-2 max pool."""

    def __init__(self, num_channels: int, embedding_size: int):
        super().__init__()
        self.embedder = ResNetConvLayer(num_channels, embedding_size, kernel_size=7, stride=2)
        self.pooler = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def forward(self, x):
        return self.pooler(self.embedder(x))


class ResNetShortCut(nn.Module):
    """1x1 conv + BatchNorm projecting the residual."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.convolution = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
        self.normalization = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        return self.normalization(self.convolution(x))


class ResNetBottleNeckLayer(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand; the stride on the 3x3 (or on the first 1x1 with ``downsample_in_bottleneck``)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, downsample_in_bottleneck: bool = False):
        super().__init__()
        reduced = out_channels // 4
        self.shortcut = (
            ResNetShortCut(in_channels, out_channels, stride)
            if in_channels != out_channels or stride != 1
            else nn.Identity()
        )
        self.layer = nn.Sequential(
            ResNetConvLayer(in_channels, reduced, 1, stride=stride if downsample_in_bottleneck else 1),
            ResNetConvLayer(reduced, reduced, 3, stride=1 if downsample_in_bottleneck else stride),
            ResNetConvLayer(reduced, out_channels, 1, act=False),
        )
        self.activation = nn.ReLU()

    def forward(self, x):
        return self.activation(self.layer(x) + self.shortcut(x))


class ResNetStage(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int, depth: int, downsample_in_bottleneck: bool):
        super().__init__()
        self.layers = nn.Sequential(
            ResNetBottleNeckLayer(in_channels, out_channels, stride, downsample_in_bottleneck),
            *[ResNetBottleNeckLayer(out_channels, out_channels, 1, downsample_in_bottleneck) for _ in range(depth - 1)],
        )

    def forward(self, x):
        return self.layers(x)


class ResNetEncoder(nn.Module):
    def __init__(self, embedding_size: int, hidden_sizes, depths, downsample_in_bottleneck: bool):
        super().__init__()
        ins = [embedding_size, *hidden_sizes[:-1]]
        self.stages = nn.ModuleList(
            [
                ResNetStage(i, o, 1 if s == 0 else 2, d, downsample_in_bottleneck)
                for s, (i, o, d) in enumerate(zip(ins, hidden_sizes, depths))
            ]
        )

    def forward(self, x):
        """(last stage's map, (the embedder's map, every stage's map)), as transformers' encoder output."""
        hidden = [x]
        for stage in self.stages:
            hidden.append(stage(hidden[-1]))
        return hidden[-1], tuple(hidden)


class ResNetBackbone(nn.Module):
    """transformers' ResNetBackbone returning the last stage's map (DETR's ``out_features=["stage4"]``)."""

    def __init__(self, num_channels: int, embedding_size: int, hidden_sizes, depths, downsample_in_bottleneck: bool):
        super().__init__()
        self.embedder = ResNetEmbeddings(num_channels, embedding_size)
        self.encoder = ResNetEncoder(embedding_size, hidden_sizes, depths, downsample_in_bottleneck)

    def forward(self, x):
        return self.encoder(self.embedder(x))[0]


class DetrConvEncoder(nn.Module):
    def __init__(self, **backbone):
        super().__init__()
        self.model = ResNetBackbone(**backbone)

    def forward(self, x):
        """(feature map, its all-real mask (B, h, w) bool), as transformers' (feature_map, mask) pair."""
        feature_map = self.model(x)
        b, _, h, w = feature_map.shape
        return feature_map, F.ones(b, h, w, dtype="bool")


class DetrSinePositionEmbedding(nn.Module):
    """The normalized 2-D sine embedding of an all-real mask, (B, 2 * num_position_features, h, w), from the
    feature map's (run-time) size: per row ``y = (i + 1) / (h + 1e-6) * 2 pi``, per column the same in x; channel
    pairs (2j, 2j + 1) hold sin and cos of ``y / 10000 ** (2j / num_position_features)``; y's channels, then x's."""

    def __init__(self, num_position_features: int, temperature: float = 10000.0):
        super().__init__()
        self.num_position_features = num_position_features
        k = np.arange(num_position_features, dtype=np.float32)
        self.dim_t = (np.float32(temperature) ** (2 * np.floor(k / 2) / num_position_features)).astype(np.float32)
        self.even = (np.arange(num_position_features) % 2 == 0).astype(np.float32)

    def _axis(self, size, feature_dtype):
        """(size, num_position_features) embedding of positions 1..size along one axis."""
        positions = F.arange(1, size + 1).to(feature_dtype)
        positions = positions / (positions[-1:] + 1e-6) * (2 * math.pi)
        angle = positions[:, None] / F.as_tensor(self.dim_t)[None, :]
        even = F.as_tensor(self.even)[None, :]
        return F.sin(angle) * even + F.cos(angle) * (1.0 - even)

    def forward(self, feature_map):
        b, _, h, w = feature_map.shape
        npf = self.num_position_features
        pos_y = self._axis(h, feature_map.dtype)[:, None, :].expand(h, w, npf)
        pos_x = self._axis(w, feature_map.dtype)[None, :, :].expand(h, w, npf)
        return F.cat([pos_y, pos_x], -1).permute(2, 0, 1)[None].expand(b, -1, -1, -1)


class DetrAttention(nn.Module):
    """Multi-head attention; position embeddings are added to the query and key inputs, never to the value's."""

    def __init__(self, hidden_size: int, num_heads: int):
        super().__init__()
        if hidden_size % num_heads:
            raise ValueError(f"d_model ({hidden_size}) is not a multiple of the attention heads ({num_heads})")
        self.num_heads, self.head_dim = num_heads, hidden_size // num_heads
        self.k_proj = nn.Linear(hidden_size, hidden_size)
        self.v_proj = nn.Linear(hidden_size, hidden_size)
        self.q_proj = nn.Linear(hidden_size, hidden_size)
        self.o_proj = nn.Linear(hidden_size, hidden_size)

    def _heads(self, x):
        return x.reshape(x.shape[0], -1, self.num_heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, query, key_value, query_pos, key_pos):
        q = self._heads(self.q_proj(query + query_pos))
        k = self._heads(self.k_proj(key_value + key_pos))
        v = self._heads(self.v_proj(key_value))
        out = F.scaled_dot_product_attention(q, k, v, scale=self.head_dim**-0.5)
        out = out.permute(0, 2, 1, 3)
        return self.o_proj(out.reshape(out.shape[0], -1, self.num_heads * self.head_dim))


class DetrMLP(nn.Module):
    def __init__(self, hidden_size: int, intermediate_size: int, activation: str):
        super().__init__()
        self.fc1 = nn.Linear(hidden_size, intermediate_size)
        self.fc2 = nn.Linear(intermediate_size, hidden_size)
        self.activation_fn = ACTIVATIONS[activation]()

    def forward(self, x):
        return self.fc2(self.activation_fn(self.fc1(x)))


class DetrEncoderLayer(nn.Module):
    """Post-norm: self-attention (positions on q and k), residual, LayerNorm; MLP, residual, LayerNorm."""

    def __init__(self, d_model: int, heads: int, ffn_dim: int, activation: str):
        super().__init__()
        self.self_attn = DetrAttention(d_model, heads)
        self.self_attn_layer_norm = nn.LayerNorm(d_model)
        self.mlp = DetrMLP(d_model, ffn_dim, activation)
        self.final_layer_norm = nn.LayerNorm(d_model)

    def forward(self, x, pos):
        x = self.self_attn_layer_norm(x + self.self_attn(x, x, pos, pos))
        return self.final_layer_norm(x + self.mlp(x))


class DetrDecoderLayer(nn.Module):
    """Post-norm: self-attention over the queries, cross-attention to the encoder's memory, MLP."""

    def __init__(self, d_model: int, heads: int, ffn_dim: int, activation: str):
        super().__init__()
        self.self_attn = DetrAttention(d_model, heads)
        self.self_attn_layer_norm = nn.LayerNorm(d_model)
        self.encoder_attn = DetrAttention(d_model, heads)
        self.encoder_attn_layer_norm = nn.LayerNorm(d_model)
        self.mlp = DetrMLP(d_model, ffn_dim, activation)
        self.final_layer_norm = nn.LayerNorm(d_model)

    def forward(self, x, memory, pos, query_pos):
        x = self.self_attn_layer_norm(x + self.self_attn(x, x, query_pos, query_pos))
        x = self.encoder_attn_layer_norm(x + self.encoder_attn(x, memory, query_pos, pos))
        return self.final_layer_norm(x + self.mlp(x))


class DetrEncoder(nn.Module):
    def __init__(self, d_model: int, layers: int, heads: int, ffn_dim: int, activation: str):
        super().__init__()
        self.layers = nn.ModuleList([DetrEncoderLayer(d_model, heads, ffn_dim, activation) for _ in range(layers)])

    def forward(self, x, pos):
        for layer in self.layers:
            x = layer(x, pos)
        return x


class DetrDecoder(nn.Module):
    def __init__(self, d_model: int, layers: int, heads: int, ffn_dim: int, activation: str):
        super().__init__()
        self.layers = nn.ModuleList([DetrDecoderLayer(d_model, heads, ffn_dim, activation) for _ in range(layers)])
        self.layernorm = nn.LayerNorm(d_model)

    def forward(self, x, memory, pos, query_pos):
        for layer in self.layers:
            x = layer(x, memory, pos, query_pos)
        return self.layernorm(x)


class DetrModel(nn.Module):
    def __init__(self, d_model, encoder, decoder, num_queries: int, backbone: dict):
        super().__init__()
        self.backbone = DetrConvEncoder(**backbone)
        self.position_embedding = DetrSinePositionEmbedding(d_model // 2)
        self.query_position_embeddings = nn.Embedding(num_queries, d_model)
        self.input_projection = nn.Conv2d(backbone["hidden_sizes"][-1], d_model, 1)
        self.encoder = DetrEncoder(d_model, *encoder)
        self.decoder = DetrDecoder(d_model, *decoder)
        self.num_queries, self.d_model = num_queries, d_model

    def forward(self, pixel_values):
        """(the decoder's output, the encoder's), as transformers' DetrModelOutput holds them."""
        feature_map, _ = self.backbone(pixel_values)  # the mask is all real
        projected = self.input_projection(feature_map)
        batch = projected.shape[0]
        memory = projected.flatten(2).transpose(1, 2)  # (B, h * w, d_model)
        pos = self.position_embedding(feature_map).flatten(2).transpose(1, 2)
        memory = self.encoder(memory, pos)
        query_pos = self.query_position_embeddings(F.arange(self.num_queries)[None])  # (1, Q, d_model)
        queries = F.zeros(batch, self.num_queries, self.d_model)
        return self.decoder(queries, memory, pos, query_pos), memory


class DetrMLPPredictionHead(nn.Module):
    """Linear layers with ReLU between (the box head: 3 layers to 4 outputs)."""

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, num_layers: int):
        super().__init__()
        dims = [input_dim] + [hidden_dim] * (num_layers - 1)
        self.layers = nn.ModuleList([nn.Linear(i, o) for i, o in zip(dims, [*dims[1:], output_dim])])

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


class DetrForObjectDetection(nn.Module):
    """DETR with a ResNet bottleneck backbone; the keyword names are DetrConfig's (and its ResNetConfig's, prefixed
    ``backbone_``). Defaults: DETR-ResNet-50 (d_model 256, 6 + 6 layers, 100 queries, 91 labels)."""

    def __init__(
        self,
        d_model: int = 256,
        encoder_layers: int = 6,
        decoder_layers: int = 6,
        encoder_attention_heads: int = 8,
        decoder_attention_heads: int = 8,
        encoder_ffn_dim: int = 2048,
        decoder_ffn_dim: int = 2048,
        activation_function: str = "relu",
        num_queries: int = 100,
        num_labels: int = 91,
        num_channels: int = 3,
        backbone_embedding_size: int = 64,
        backbone_hidden_sizes: tuple[int, ...] = (256, 512, 1024, 2048),
        backbone_depths: tuple[int, ...] = (3, 4, 6, 3),
        backbone_downsample_in_bottleneck: bool = False,
    ):
        super().__init__()
        if activation_function not in ACTIVATIONS:
            raise ValueError(
                f"activation_function {activation_function!r} is not supported; use one of {', '.join(ACTIVATIONS)}"
            )
        if d_model % 2:
            raise ValueError(f"d_model ({d_model}) must be even: the sine embedding gives half to y, half to x")
        if len(backbone_hidden_sizes) != len(backbone_depths):
            raise ValueError(
                f"backbone_hidden_sizes {backbone_hidden_sizes} and backbone_depths {backbone_depths} "
                "must have one entry per stage"
            )
        backbone = {
            "num_channels": num_channels,
            "embedding_size": backbone_embedding_size,
            "hidden_sizes": tuple(backbone_hidden_sizes),
            "depths": tuple(backbone_depths),
            "downsample_in_bottleneck": backbone_downsample_in_bottleneck,
        }
        self.model = DetrModel(
            d_model,
            (encoder_layers, encoder_attention_heads, encoder_ffn_dim, activation_function),
            (decoder_layers, decoder_attention_heads, decoder_ffn_dim, activation_function),
            num_queries,
            backbone,
        )
        self.class_labels_classifier = nn.Linear(d_model, num_labels + 1)
        self.bbox_predictor = DetrMLPPredictionHead(d_model, d_model, 4, 3)

    def forward(self, pixel_values):
        hidden, _ = self.model(pixel_values)
        return self.class_labels_classifier(hidden), F.sigmoid(self.bbox_predictor(hidden))


def detr_resnet50(**kwargs) -> DetrForObjectDetection:
    """DETR-ResNet-50 (transformers' DetrConfig defaults with its own ResNet-50 backbone)."""
    return DetrForObjectDetection(**kwargs)


def example_input(height: int = 800, width: int = 1066) -> dict[str, Input]:
    """A dynamic (batch, 3, H, W) input up to ``height`` x ``width`` (DETR's usual resize)."""
    return {
        "pixel_values": Input((-1, 3, -1, -1), min=(1, 3, 64, 64), opt=(1, 3, height, width), max=(4, 3, height, width))
    }
