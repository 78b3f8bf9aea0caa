"""pcan's PyTorch reference of PCAN inference (fixed_pcan, test time). See tools/README.md."""
from .config import load_config, named_config, config_text  # noqa: F401
from .model import PCAN  # noqa: F401
from .video import VideoTracker  # noqa: F401
from .weights_io import read_weights, write_weights  # noqa: F401


def load_model(path, dtype=None):
    """A PCAN model from a pcan-weights file (strict: every key must match)."""
    import torch
    sd, attrs = read_weights(path)
    model = PCAN(load_config(attrs['config']))
    model.load_state_dict(sd, strict=True)
    if dtype is not None and dtype != torch.float32:
        model = model.to(dtype)
    return model.eval()
