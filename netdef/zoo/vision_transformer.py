"""Vision Transformer (ViT-B/L/H, any size) with torchvision's module tree and state_dict names.

``conv_proj`` patchifies, ``class_token`` is prepended, ``encoder`` adds ``pos_embedding`` and runs
``encoder.layers.encoder_layer_N`` (pre-norm: ln_1, self_attention, ln_2, mlp.0 / mlp.3), then ``encoder.ln``;
``heads.head`` classifies the class token.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial

from netdef import F, Input, nn
from netdef.zoo.misc import MLP


class MLPBlock(MLP):
    """Linear(hidden -> mlp_dim), GELU, Dropout, Linear(mlp_dim -> hidden), Dropout (names mlp.0 and mlp.3)."""

    def __init__(self, in_dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__(in_dim, [mlp_dim, in_dim], activation_layer=nn.GELU, dropout=dropout)


class EncoderBlock(nn.Module):
    """Pre-norm transformer block: x + attention(ln_1(x)), then + mlp(ln_2(.))."""

    def __init__(
        self, num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float, attention_dropout: float, norm_layer
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.ln_1 = norm_layer(hidden_dim)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads, dropout=attention_dropout, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = norm_layer(hidden_dim)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, input):
        if input.ndim != 3:
            raise input.ctx.error("encoder_block", f"expected (batch, seq_length, hidden_dim), got shape {input.shape}")
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x) + input
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    """Adds the learned ``pos_embedding`` (1, seq_length, hidden_dim), runs the blocks, then LayerNorm ``ln``."""

    def __init__(
        self,
        seq_length: int,
        num_layers: int,
        num_heads: int,
        hidden_dim: int,
        mlp_dim: int,
        dropout: float,
        attention_dropout: float,
        norm_layer,
    ) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(1, seq_length, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        layers = OrderedDict(
            (f"encoder_layer_{i}", EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout, attention_dropout, norm_layer))
            for i in range(num_layers)
        )
        self.layers = nn.Sequential(layers)
        self.ln = norm_layer(hidden_dim)

    def forward(self, input):
        if input.ndim != 3 or input.shape[1:] != self.pos_embedding.shape[1:]:
            raise input.ctx.error(
                "encoder",
                f"input of shape {input.shape} does not match pos_embedding {self.pos_embedding.shape}: "
                "the image size must be the one the model was built for",
            )
        x = input + self.pos_embedding
        return self.ln(self.layers(self.dropout(x)))


class VisionTransformer(nn.Module):
    """torchvision.models.VisionTransformer for a fixed ``image_size`` (the position embedding's length)."""

    def __init__(
        self,
        image_size: int,
        patch_size: int,
        num_layers: int,
        num_heads: int,
        hidden_dim: int,
        mlp_dim: int,
        dropout: float = 0.0,
        attention_dropout: float = 0.0,
        num_classes: int = 1000,
        representation_size: int | None = None,
        norm_layer=None,
    ) -> None:
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"image_size {image_size} is not divisible by patch_size {patch_size}")
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-6)
        self.image_size, self.patch_size, self.hidden_dim = image_size, patch_size, hidden_dim
        self.conv_proj = nn.Conv2d(3, hidden_dim, kernel_size=patch_size, stride=patch_size)
        self.seq_length = (image_size // patch_size) ** 2 + 1
        self.class_token = nn.Parameter(1, 1, hidden_dim)
        self.encoder = Encoder(
            self.seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout, attention_dropout, norm_layer
        )
        heads: OrderedDict[str, nn.Module] = OrderedDict()
        if representation_size is None:
            heads["head"] = nn.Linear(hidden_dim, num_classes)
        else:
            heads["pre_logits"] = nn.Linear(hidden_dim, representation_size)
            heads["act"] = nn.Tanh()
            heads["head"] = nn.Linear(representation_size, num_classes)
        self.heads = nn.Sequential(heads)

    def _process_input(self, x):
        n, _, h, w = x.shape
        if (h, w) != (self.image_size, self.image_size):
            raise x.ctx.error(
                "vit", f"expected {self.image_size}x{self.image_size} images, got {h}x{w} (input shape {x.shape})"
            )
        p = self.patch_size
        x = self.conv_proj(x)  # (n, hidden_dim, n_h, n_w)
        return x.reshape(n, self.hidden_dim, (h // p) * (w // p)).permute(0, 2, 1)

    def forward(self, x):
        n = x.shape[0]  # an int, or a symbolic size for a dynamic batch
        x = self._process_input(x)
        batch_class_token = self.class_token.expand(n, -1, -1)
        x = self.encoder(F.cat([batch_class_token, x], 1))
        return self.heads(x[:, 0])

    def default_inputs(self, batch: int = 1) -> dict[str, Input]:
        return {"x": Input((batch, 3, self.image_size, self.image_size))}


def _vit(patch_size, num_layers, num_heads, hidden_dim, mlp_dim, image_size=224, **kwargs) -> VisionTransformer:
    return VisionTransformer(image_size, patch_size, num_layers, num_heads, hidden_dim, mlp_dim, **kwargs)


def vit_b_16(image_size: int = 224, num_classes: int = 1000) -> VisionTransformer:
    return _vit(16, 12, 12, 768, 3072, image_size, num_classes=num_classes)


def vit_b_32(image_size: int = 224, num_classes: int = 1000) -> VisionTransformer:
    return _vit(32, 12, 12, 768, 3072, image_size, num_classes=num_classes)


def vit_l_16(image_size: int = 224, num_classes: int = 1000) -> VisionTransformer:
    return _vit(16, 24, 16, 1024, 4096, image_size, num_classes=num_classes)


def vit_l_32(image_size: int = 224, num_classes: int = 1000) -> VisionTransformer:
    return _vit(32, 24, 16, 1024, 4096, image_size, num_classes=num_classes)


def vit_h_14(image_size: int = 518, num_classes: int = 1000) -> VisionTransformer:
    return _vit(14, 32, 16, 1280, 5120, image_size, num_classes=num_classes)
