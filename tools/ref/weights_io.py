"""Reading and writing "pcan-weights" version 1 files (the contract in tools/README.md).

One HDF5 dataset per state_dict key at the root, named by the key, with the tensor's shape and
dtype (float32, int64 for num_batches_tracked; 0-dim tensors as scalar dataspaces), contiguous,
uncompressed, without object timestamps. Root attributes: format, version (int32), name, config
(YAML text), source_sha256.
"""
import collections
import hashlib

import h5py
import numpy as np
import torch

FORMAT = 'pcan-weights'
VERSION = 1


def write_weights(path, state_dict, config_text, name, source_sha256):
    with h5py.File(path, 'w', track_order=False) as f:
        f.attrs['format'] = FORMAT
        f.attrs['version'] = np.int32(VERSION)
        f.attrs['name'] = name
        f.attrs['config'] = config_text
        f.attrs['source_sha256'] = source_sha256
        for key, t in state_dict.items():
            a = t.detach().cpu().numpy()
            if a.dtype == np.float64:
                raise ValueError('%s: float64 tensor; weights are float32' % key)
            if a.dtype not in (np.float32, np.int64):
                raise ValueError('%s: unsupported dtype %s' % (key, a.dtype))
            a = np.array(a, dtype=a.dtype.newbyteorder('<'), order='C')  # keeps 0-dim
            f.create_dataset(key, data=a, track_times=False)


def _attr_str(v):
    return v.decode('utf-8') if isinstance(v, bytes) else str(v)


def read_weights(path):
    """Returns (OrderedDict key -> torch tensor, attrs dict). Raises ValueError on a bad file."""
    with h5py.File(path, 'r') as f:
        if _attr_str(f.attrs.get('format', '')) != FORMAT:
            raise ValueError('%s: not a pcan-weights file' % path)
        if int(f.attrs['version']) != VERSION:
            raise ValueError('%s: unsupported version %s' % (path, f.attrs['version']))
        attrs = {k: _attr_str(f.attrs[k]) for k in ('name', 'config', 'source_sha256')}
        sd = collections.OrderedDict()
        for key in f.keys():
            sd[key] = torch.from_numpy(np.array(f[key][()]))
    return sd, attrs


def sha256_text(text):
    return hashlib.sha256(text.encode('utf-8')).hexdigest()
