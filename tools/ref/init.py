"""Synthetic weights: a seeded random state for the tiny test model, and the counter-based R50
formula that the C side reproduces bit for bit (documented in tools/README.md, "R50 weights").
"""
import math

import numpy as np
import torch

from .model import l2norm

MASK64 = (1 << 64) - 1


def _fan_in(shape):
    if len(shape) == 4:   # Conv2d [out,in,kh,kw]; ConvTranspose2d is [in,out,kh,kw] (see below)
        return shape[1] * shape[2] * shape[3]
    return shape[1]


def _role(key):
    """What kind of tensor a state_dict key names."""
    last = key.rsplit('.', 1)[-1]
    if key.startswith('mu') or last in ('pos_mu', 'neg_mu'):
        return 'proto'
    if last == 'num_batches_tracked':
        return 'count'
    if '.bn' in key or '.downsample.1.' in key or '.gn.' in key:
        return 'norm_' + last
    return last  # weight / bias


def random_state(model, seed, gains=None, biases=None):
    """Seeded Gaussian state for `model` (tiny tests). Weights ~ N(0, gain^2 / fan_in) with gain
    sqrt(2) by default; `gains` maps a key prefix to another gain (the longest prefix wins) and
    `biases` maps a key to (mean, std) of its bias. BN running stats near identity; prototypes
    l2-normalised as in the official initialisation."""
    g = torch.Generator().manual_seed(seed)
    gains, biases = gains or {}, biases or {}
    out = {}
    for key, t in model.state_dict().items():
        role = _role(key)
        shape = tuple(t.shape)
        if role == 'count':
            v = torch.zeros((), dtype=torch.int64)
        elif role == 'proto':
            v = l2norm(torch.randn(shape, generator=g) * math.sqrt(2.0 / shape[2]), 1)
        elif role == 'norm_weight':
            v = 1 + 0.2 * (torch.rand(shape, generator=g) - 0.5)
            if '.bn3.' in key:
                v = v * 0.5
        elif role == 'norm_bias' or role == 'norm_running_mean':
            v = 0.1 * torch.randn(shape, generator=g)
        elif role == 'norm_running_var':
            v = 0.75 + 0.5 * torch.rand(shape, generator=g)
        elif role == 'weight':
            fan = shape[0] if 'upsample' in key else int(np.prod(shape[1:]))
            pref = [p for p in gains if key.startswith(p)]
            gain = gains[max(pref, key=len)] if pref else math.sqrt(2.0)
            v = torch.randn(shape, generator=g) * (gain / math.sqrt(fan))
        elif role == 'bias':
            mean, std = biases.get(key, (0.0, 0.05))   # mean: a number or one per element
            v = torch.tensor(mean, dtype=torch.float32) + std * torch.randn(shape, generator=g)
        else:
            raise KeyError(key)
        out[key] = v.to(t.dtype).reshape(t.shape)
    return out


# ---- the R50 counter-based formula ----
def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def _splitmix64_np(x):
    x = x + np.uint64(0x9E3779B97F4A7C15)
    z = x
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def formula_uniform(tensor_index, count):
    """u[i] in [-1, 1): u = (splitmix64((t << 32) | i) >> 11) * 2^-53 * 2 - 1, in double."""
    i = np.arange(count, dtype=np.uint64)
    with np.errstate(over='ignore'):
        h = _splitmix64_np((np.uint64(tensor_index) << np.uint64(32)) | i)
    return (h >> np.uint64(11)).astype(np.float64) * (2.0 ** -53) * 2.0 - 1.0


# Output layers whose He scale would saturate scores or blow up box deltas: b is multiplied by
# these factors (in double), part of the documented formula.
FORMULA_GAINS = {
    'rpn_head.rpn_cls.weight': 0.25,
    'rpn_head.rpn_reg.weight': 0.05,
    'roi_head.bbox_head.fc_cls.weight': 0.25,
    'roi_head.bbox_head.fc_reg.weight': 0.1,
    'roi_head.track_head.fc_embed.weight': 0.25,
}


def formula_params(key, shape, fpn_channels):
    """(a, b) such that value = float32(a + b * u) for the R50 formula (see tools/README.md)."""
    a, b = _formula_params(key, shape)
    return a, b * FORMULA_GAINS.get(key, 1.0)


def _formula_params(key, shape):
    role = _role(key)
    last = key.rsplit('.', 1)[-1]
    if role == 'proto':
        return 0.0, math.sqrt(3.0 / shape[1])
    if role == 'norm_weight':
        # residual branch's last BN small so 16 blocks keep activations O(1)
        return (0.25, 0.05) if '.bn3.' in key else (1.0, 0.1)
    if role in ('norm_bias', 'norm_running_mean'):
        return 0.0, 0.1
    if role == 'norm_running_var':
        return 1.0, 0.25
    if last == 'weight':
        if 'upsample' in key:           # ConvTranspose2d [in,out,kh,kw]: fan = in
            fan = shape[0]
        else:
            fan = int(np.prod(shape[1:]))
        return 0.0, math.sqrt(3.0) * math.sqrt(2.0 / fan)
    if last == 'bias':
        return 0.0, 0.05
    raise KeyError(key)


def formula_state(model, bias_overrides=None):
    """The R50 formula state for `model` (key order = state_dict order = tensor index).

    bias_overrides: key -> list of (element index, value) added after the formula (documented).
    """
    out = {}
    for t_idx, (key, t) in enumerate(model.state_dict().items()):
        shape = tuple(t.shape)
        if _role(key) == 'count':
            out[key] = torch.zeros((), dtype=torch.int64)
            continue
        n = int(np.prod(shape))
        a, b = formula_params(key, shape, model.cfg['fpn']['out_channels'])
        v = (a + b * formula_uniform(t_idx, n)).astype(np.float32)
        for i, val in (bias_overrides or {}).get(key, []):
            v[i] = np.float32(val)
        out[key] = torch.from_numpy(v.reshape(shape))
    return out
