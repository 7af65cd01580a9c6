"""BigGAN-deep generator (Brock et al. 2019), inference only, loading the published checkpoints.

Written for ganpage from the paper and the published checkpoint layout: parameter names match
the state dicts of the ``pytorch-pretrained-biggan`` release (``generator.layers.3.bn_1.scale.
weight_orig`` ...) so its ``pytorch_model.bin`` files load strictly. Spectral norm is folded
into plain weights once after loading (W / sigma, sigma from the stored u and v, as torch's
spectral_norm computes it in eval mode), so sampling pays nothing for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ganpage.configs import known_fields

# (upsample?, in multiplier, out multiplier) per block, times channel_width; attention at 64 px
LAYERS_128 = [(False, 16, 16), (True, 16, 16), (False, 16, 16), (True, 16, 8), (False, 8, 8),
              (True, 8, 4), (False, 4, 4), (True, 4, 2), (False, 2, 2), (True, 2, 1)]
LAYERS_256 = [(False, 16, 16), (True, 16, 16), (False, 16, 16), (True, 16, 8), (False, 8, 8),
              (True, 8, 8), (False, 8, 8), (True, 8, 4), (False, 4, 4), (True, 4, 2),
              (False, 2, 2), (True, 2, 1)]
LAYERS_512 = [(False, 16, 16), (True, 16, 16), (False, 16, 16), (True, 16, 8), (False, 8, 8),
              (True, 8, 8), (False, 8, 8), (True, 8, 4), (False, 4, 4), (True, 4, 2),
              (False, 2, 2), (True, 2, 1), (False, 1, 1), (True, 1, 1)]


@dataclass
class BigGANConfig:
    """The published ``config.json`` of BigGAN-deep checkpoints, field for field."""

    output_dim: int = 128
    z_dim: int = 128
    class_embed_dim: int = 128
    channel_width: int = 128
    num_classes: int = 1000
    layers: list = field(default_factory=lambda: list(LAYERS_128))
    attention_layer_position: int = 8
    eps: float = 1e-4
    n_stats: int = 51

    @classmethod
    def from_dict(cls, raw: dict) -> BigGANConfig:
        config = cls(**known_fields(cls, raw, "BigGAN config"))
        config.layers = [(bool(u), int(i), int(o)) for u, i, o in config.layers]
        return config

    def to_dict(self) -> dict:
        return asdict(self)


# |sigma - 1| below which weights count as folded already (saved folded in float32: 3e-7 at 128 px);
# a division by it would move them by less than the rounding of the products they take part in
FOLDED_SIGMA_TOLERANCE = 1e-5


class SpectralNormed(nn.Module):
    """Holds ``weight_orig``, ``weight_u``, ``weight_v`` (the checkpoint's names) and serves the
    normalised weight; ``fold()`` computes it once for inference."""

    def __init__(self, weight_shape: tuple[int, ...]):
        super().__init__()
        self.weight_orig = nn.Parameter(torch.empty(weight_shape))
        rows = weight_shape[0]
        self.register_buffer("weight_u", torch.empty(rows))
        self.register_buffer("weight_v", torch.empty(math.prod(weight_shape[1:])))
        self.folded: torch.Tensor | None = None

    def normalised_weight(self) -> torch.Tensor:
        if self.folded is not None:
            return self.folded
        return self.weight_orig / self.sigma()

    def sigma(self) -> torch.Tensor:
        matrix = self.weight_orig.flatten(1)  # (out, in * k * k)
        return torch.dot(self.weight_u, torch.mv(matrix, self.weight_v))

    def fold(self) -> None:
        """Divide ``weight_orig`` by sigma in place and serve it from then on; 3x3 conv weights
        as a channels_last copy, the layout oneDNN convolves fastest on CPU (measured 1.4x over
        NCHW for BigGAN-deep 128). The stored u and v then give sigma 1 (u.(W/s)v = s/s), so the
        state dict stays a checkpoint of the same network. In place because fresh copies of
        BigGAN-deep 128's 200 MB took 0.9-1.5 s of a fresh process (page faults); now 0.2-0.4.
        Weights saved folded (converted checkpoints are) have sigma 1 and are left as they are:
        writing them would copy every page of the loaded file (0.27-0.32 s at 128 px)."""
        with torch.no_grad():
            self.folded = None
            sigma = self.sigma()
            if abs(float(sigma) - 1.0) > FOLDED_SIGMA_TOLERANCE:
                self.weight_orig.div_(sigma)
            weight = self.weight_orig.detach()  # a plain tensor: a Parameter would register
            self.folded = weight.contiguous(memory_format=torch.channels_last) \
                if weight.dim() == 4 else weight

    def _apply(self, fn, recurse=True):  # keep the folded weight on the module's device/dtype
        shared = self.folded is not None and self.folded.data_ptr() == self.weight_orig.data_ptr()
        super()._apply(fn, recurse)
        if shared:
            self.folded = self.weight_orig.detach()
        elif self.folded is not None:
            self.folded = fn(self.folded)
        return self


class SNLinear(SpectralNormed):
    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__((out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.normalised_weight(), self.bias)


class SNConv2d(SpectralNormed):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True):
        super().__init__((out_channels, in_channels, kernel_size, kernel_size))
        self.padding = kernel_size // 2
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.normalised_weight(), self.bias, padding=self.padding)


class TruncationBatchNorm(nn.Module):
    """Batch norm with stored statistics for ``n_stats`` truncation values on a grid over [0, 1],
    linearly interpolated between grid points, optionally with class-conditional gain/bias."""

    def __init__(self, channels: int, cond_dim: int | None, n_stats: int, eps: float):
        super().__init__()
        self.eps = eps
        self.step = 1.0 / (n_stats - 1)
        self.register_buffer("running_means", torch.zeros(n_stats, channels))
        self.register_buffer("running_vars", torch.ones(n_stats, channels))
        if cond_dim is not None:
            self.scale = SNLinear(cond_dim, channels, bias=False)
            self.offset = SNLinear(cond_dim, channels, bias=False)
        else:
            self.weight = nn.Parameter(torch.ones(channels))
            self.bias = nn.Parameter(torch.zeros(channels))

    def statistics(self, truncation: float | torch.Tensor
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance (C,) for ``truncation``; the weighting between the two neighbouring
        grid points reproduces the published reference implementation exactly."""
        if isinstance(truncation, torch.Tensor):
            return self.traceable_statistics(truncation)
        coef, start = math.modf(truncation / self.step)
        start = int(start)
        if coef == 0.0:
            return self.running_means[start], self.running_vars[start]
        mean = self.running_means[start] * coef + self.running_means[start + 1] * (1 - coef)
        var = self.running_vars[start] * coef + self.running_vars[start + 1] * (1 - coef)
        return mean, var

    def traceable_statistics(self, truncation: torch.Tensor
                             ) -> tuple[torch.Tensor, torch.Tensor]:
        """``statistics`` for a (1,) float64 tensor, as a graph an exporter can trace (ONNX).

        The grid position is computed in float64 and by true division, as Python computes it
        (the step as a tensor: torch's ONNX exporter rounds a Python float constant to float32,
        which moved 0.7's grid position from 35.0 to 35.0000008, picking other statistics)."""
        step = torch.tensor([self.step], dtype=torch.float64, device=truncation.device)
        position = truncation.to(torch.float64).reshape(1) / step
        start = position.floor()
        coef = position - start  # exact, as math.modf's fraction
        lower = start.long()
        upper = (lower + 1).clamp(max=self.running_means.shape[0] - 1)
        stats = []
        for table in (self.running_means, self.running_vars):
            table64 = table.to(torch.float64)
            low, high = table64.index_select(0, lower)[0], table64.index_select(0, upper)[0]
            mixed = torch.where(coef == 0, low, low * coef + high * (1 - coef))  # (C,)
            stats.append(mixed.to(table.dtype))
        return stats[0], stats[1]

    def projection_weights(self) -> list[torch.Tensor]:
        """The scale and offset projections, (C, cond_dim) each: the generator stacks every
        conditional batch norm's to compute them all in one matrix product."""
        return [self.scale.normalised_weight(), self.offset.normalised_weight()]

    def forward(self, x: torch.Tensor, truncation: float | torch.Tensor,
                projected: torch.Tensor | None = None, overwrite: bool = False) -> torch.Tensor:
        """``projected``: (B, 2 C), the conditioning vector through ``projection_weights``;
        returns ReLU(batch norm(x)), the only way the generator uses it. ``overwrite``: into
        x's memory, for an x nothing else reads (a fresh 100-200 MB tensor per layer at 128
        px and batch 24 costs its page faults)."""
        mean, var = self.statistics(truncation)
        inv_std = torch.rsqrt(var + self.eps)  # (C,)
        if projected is not None:
            scale, offset = projected.chunk(2, dim=1)
            gain = (1 + scale) * inv_std  # (B, C)
            shift = offset - mean * gain
        else:
            gain = (self.weight * inv_std).unsqueeze(0)
            shift = (self.bias - mean * gain[0]).unsqueeze(0)
        return torch.addcmul(shift[:, :, None, None], x, gain[:, :, None, None],
                             out=x if overwrite else None).relu_()


class SelfAttention(nn.Module):
    """SAGAN self-attention (Zhang et al. 2019) with 2x2 max-pooled keys and values."""

    def __init__(self, channels: int):
        super().__init__()
        self.snconv1x1_theta = SNConv2d(channels, channels // 8, 1, bias=False)
        self.snconv1x1_phi = SNConv2d(channels, channels // 8, 1, bias=False)
        self.snconv1x1_g = SNConv2d(channels, channels // 2, 1, bias=False)
        self.snconv1x1_o_conv = SNConv2d(channels // 2, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(1))
        # gamma * the output conv's weight, by fold(); not in checkpoints
        self.register_buffer("output_weight", None, persistent=False)

    def fold(self) -> None:
        """Scale the output conv by gamma once, so the residual is one conv and one add."""
        with torch.no_grad():
            weight = self.snconv1x1_o_conv.normalised_weight() * self.gamma
            self.output_weight = weight.contiguous(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        query = self.snconv1x1_theta(x).flatten(2).transpose(1, 2)  # (B, HW, C/8)
        key = F.max_pool2d(self.snconv1x1_phi(x), 2).flatten(2)  # (B, C/8, HW/4)
        value = F.max_pool2d(self.snconv1x1_g(x), 2).flatten(2).transpose(1, 2)  # (B, HW/4, C/2)
        # (B, HW, C/2) -> (B, C/2, H, W) laid out channels_last, as x and the convs are: the
        # output conv and the add on mixed layouts took 0.6 s of 4.6 (24 pictures, 128 px)
        out = attend(query, key, value).view(b, h, w, c // 2).permute(0, 3, 1, 2)
        if self.output_weight is not None:
            return F.conv2d(out, self.output_weight).add_(x)
        return x + self.gamma * self.snconv1x1_o_conv(out)


def attend(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """softmax(query @ key) @ value for (B, N, D), (B, D, M), (B, M, E) -> (B, N, E).

    On the CPU one picture at a time: its (N, M) attention matrix (16 MB at 64 px) stays in
    cache where the batch's (400 MB for 24 pictures) went through memory twice; the same
    values, 0.5 s instead of 0.8-0.95 (2-core AVX2 EPYC). Batched elsewhere, and when traced
    for export (a loop over a symbolic batch size cannot be exported)."""
    if query.device.type != "cpu" or torch.compiler.is_compiling():  # compile or export
        return torch.softmax(query @ key, dim=-1) @ value
    out = query.new_empty(query.shape[0], query.shape[1], value.shape[2])
    for i in range(query.shape[0]):
        torch.mm(torch.softmax(query[i] @ key[i], dim=-1), value[i], out=out[i])
    return out


class DeepBlock(nn.Module):
    """BigGAN-deep residual bottleneck block: 1x1 down to C/4, two 3x3, 1x1 up; optional 2x
    nearest upsampling; the skip drops channels when the block halves them."""

    def __init__(self, in_channels: int, out_channels: int, cond_dim: int, upsample: bool,
                 n_stats: int, eps: float):
        super().__init__()
        middle = in_channels // 4
        self.upsample = upsample
        self.bn_0 = TruncationBatchNorm(in_channels, cond_dim, n_stats, eps)
        self.conv_0 = SNConv2d(in_channels, middle, 1)
        self.bn_1 = TruncationBatchNorm(middle, cond_dim, n_stats, eps)
        self.conv_1 = SNConv2d(middle, middle, 3)
        self.bn_2 = TruncationBatchNorm(middle, cond_dim, n_stats, eps)
        self.conv_2 = SNConv2d(middle, middle, 3)
        self.bn_3 = TruncationBatchNorm(middle, cond_dim, n_stats, eps)
        self.conv_3 = SNConv2d(middle, out_channels, 1)
        self.out_channels = out_channels
        # conv_1 after the upsampling as one transposed convolution (fold); not in checkpoints
        self.register_buffer("upsample_weight", None, persistent=False)

    def norms(self) -> list[TruncationBatchNorm]:
        return [self.bn_0, self.bn_1, self.bn_2, self.bn_3]

    def fold(self) -> None:
        """Precompute conv_1 of an upsampling block as a transposed convolution."""
        if self.upsample:
            self.upsample_weight = transposed_kernel(self.conv_1.normalised_weight().detach())

    def forward(self, x: torch.Tensor, projected: Sequence[torch.Tensor],
                truncation: float | torch.Tensor) -> torch.Tensor:
        """``projected``: the four batch norms' (B, 2 C) conditioning (``norms()`` order)."""
        h = self.conv_0(self.bn_0(x, truncation, projected[0]))  # x is the skip: kept
        h = self.bn_1(h, truncation, projected[1], overwrite=True)
        if self.upsample and self.upsample_weight is not None:
            h = F.conv_transpose2d(h, self.upsample_weight, self.conv_1.bias, stride=2,
                                   padding=1)
        elif self.upsample:
            h = self.conv_1(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        else:
            h = self.conv_1(h)
        h = self.conv_2(self.bn_2(h, truncation, projected[2], overwrite=True))
        h = self.conv_3(self.bn_3(h, truncation, projected[3], overwrite=True))
        skip = x[:, : self.out_channels]  # BigGAN-deep drops channels rather than projecting
        if not self.upsample:
            return h.add_(skip)
        # nearest 2x upsampling of the skip as a broadcast over each 2x2 cell of h: no copy
        b, c, height, width = skip.shape
        h.view(b, c, height, 2, width, 2).add_(skip[:, :, :, None, :, None])
        return h


def transposed_kernel(weight: torch.Tensor) -> torch.Tensor:
    """(O, I, 3, 3) kernel of conv3x3(nearest_upsample_2x(x)) -> the (I, O, 4, 4) kernel of the
    equal ``conv_transpose2d(x, kernel, stride=2, padding=1)``: 2.25x fewer FLOPs, no
    upsampled copy, exact up to rounding.

    Along each axis, output 2i reads input rows i-1 and i with taps (w0, w1 + w2), output 2i+1
    reads rows i and i+1 with taps (w0 + w1, w2); a stride-2 transposed convolution with a
    4-tap kernel (w2, w1 + w2, w0 + w1, w0) and padding 1 does exactly that.
    """
    taps = TRANSPOSED_TAPS.to(weight)  # (4, 3)
    kernel = torch.einsum("ak,bl,oikl->ioab", taps, taps, weight)  # (I, O, 4, 4)
    return kernel.contiguous(memory_format=torch.channels_last)


# Which 3x3 taps add up to each of the four transposed-kernel taps (see transposed_kernel).
TRANSPOSED_TAPS = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0],
                                [1.0, 0.0, 0.0]])


class BigGANDeepGenerator(nn.Module):
    """The network under ``generator.`` in the checkpoints: cond (B, 2 z_dim) -> (B, 3, S, S)."""

    def __init__(self, config: BigGANConfig):
        super().__init__()
        ch = config.channel_width
        cond_dim = config.z_dim * 2
        self.stem_channels = 16 * ch
        self.gen_z = SNLinear(cond_dim, 4 * 4 * 16 * ch)
        layers: list[nn.Module] = []
        for index, (upsample, in_mult, out_mult) in enumerate(config.layers):
            if index == config.attention_layer_position:
                layers.append(SelfAttention(ch * in_mult))
            layers.append(DeepBlock(ch * in_mult, ch * out_mult, cond_dim, upsample,
                                    config.n_stats, config.eps))
        self.layers = nn.ModuleList(layers)
        self.bn = TruncationBatchNorm(ch, None, config.n_stats, config.eps)
        self.conv_to_rgb = SNConv2d(ch, ch, 3)
        # Derived once after loading by fold(), not in checkpoints: every conditional batch
        # norm's projection stacked into one matrix, and the RGB conv cut to its 3 used outputs.
        self.register_buffer("projection_weight", None, persistent=False)
        self.register_buffer("rgb_weight", None, persistent=False)
        self.register_buffer("rgb_bias", None, persistent=False)

    def conditional_norms(self) -> list[TruncationBatchNorm]:
        return [norm for layer in self.layers if isinstance(layer, DeepBlock)
                for norm in layer.norms()]

    def fold(self) -> None:
        """Stack the batch norms' projections; keep the RGB conv's 3 used outputs of ch (at
        128 px that conv was the costliest layer: 0.75 s of 4.8 for 24 pictures, now 0.1)."""
        with torch.no_grad():
            self.projection_weight = torch.cat(
                [w for norm in self.conditional_norms() for w in norm.projection_weights()])
            weight = self.conv_to_rgb.normalised_weight()[:3]
            self.rgb_weight = weight.contiguous(memory_format=torch.channels_last)
            self.rgb_bias = self.conv_to_rgb.bias[:3].clone()

    def forward(self, cond: torch.Tensor, truncation: float | torch.Tensor) -> torch.Tensor:
        """``truncation``: a float, or a (1,) float64 tensor for a traced graph (ONNX)."""
        norms = self.conditional_norms()
        weight = self.projection_weight if self.projection_weight is not None else torch.cat(
            [w for norm in norms for w in norm.projection_weights()])
        projected = F.linear(cond, weight).split(  # (B, 2 C) per conditional batch norm
            [2 * norm.running_means.shape[1] for norm in norms], dim=1)
        # (B, 16ch, 4, 4), channels_last in memory: the checkpoint's stem is laid out NHWC
        h = self.gen_z(cond).view(-1, 4, 4, self.stem_channels).permute(0, 3, 1, 2)
        blocks = 0
        for layer in self.layers:
            if isinstance(layer, DeepBlock):
                h = layer(h, projected[4 * blocks:4 * blocks + 4], truncation)
                blocks += 1
            else:
                h = layer(h)
        h = self.bn(h, truncation, overwrite=True)
        if self.rgb_weight is not None:
            return torch.tanh(F.conv2d(h, self.rgb_weight, self.rgb_bias, padding=1))
        return torch.tanh(self.conv_to_rgb(h)[:, :3])  # the checkpoint's has ch outputs


class BigGANDeep(nn.Module):
    """Class embedding + generator, with the checkpoint's top-level names."""

    def __init__(self, config: BigGANConfig):
        super().__init__()
        self.config = config
        self.embeddings = nn.Linear(config.num_classes, config.z_dim, bias=False)
        self.generator = BigGANDeepGenerator(config)

    def fold_spectral_norm(self) -> BigGANDeep:
        """Compute every normalised weight once (call after loading weights)."""
        for module in self.modules():
            if isinstance(module, SpectralNormed):
                module.fold()
        for module in self.modules():
            if isinstance(module, DeepBlock | SelfAttention):
                module.fold()
        self.generator.fold()
        return self

    def prepare_for_inference(self) -> BigGANDeep:
        """Called by the loader after the weights are in: fold what can be folded."""
        return self.fold_spectral_norm()

    def class_embedding(self, labels: torch.Tensor) -> torch.Tensor:
        """(B,) class ids -> (B, z_dim), equal to the Linear layer applied to one-hot vectors."""
        return self.embeddings.weight.t()[labels]

    def generate_embedded(self, z: torch.Tensor, embedding: torch.Tensor,
                          truncation: float) -> torch.Tensor:
        """Like ``generate`` with a class embedding (mixtures of classes, for morphs)."""
        return self.generator(torch.cat([z, embedding], dim=1), truncation)

    def generate(self, z: torch.Tensor, labels: torch.Tensor, truncation: float) -> torch.Tensor:
        """(B, z_dim) truncated noise + (B,) class ids -> (B, 3, S, S) in [-1, 1]."""
        return self.generate_embedded(z, self.class_embedding(labels), truncation)

    def forward(self, z: torch.Tensor, class_vector: torch.Tensor,
                truncation: float) -> torch.Tensor:
        """The reference signature: ``class_vector`` is (B, num_classes), e.g. one-hot."""
        return self.generator(torch.cat([z, self.embeddings(class_vector)], dim=1), truncation)
