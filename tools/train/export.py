"""Export a training checkpoint to a pcan-weights v1 file (tools/README.md, weight-file contract).

    /usr/bin/python3 tools/train/export.py --ckpt WORKDIR/ckpt.pt --out models/pcan-synth-small.h5

The state_dict is the reference PCAN's (official key names, BN running statistics, the frame
memory initialisers mu0..mu4 and the refine head's pos_mu/neg_mu as trained); it is checked by
loading it back with ref.load_model (strict). source_sha256 = sha256 of the checkpoint file.
"""
import argparse
import hashlib
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from ref import PCAN, load_config, load_model, write_weights  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ckpt', required=True)
    ap.add_argument('--out', required=True)
    a = ap.parse_args()
    st = torch.load(a.ckpt)
    cfg = load_config(st['config'])
    m = PCAN(cfg)
    m.load_state_dict(st['model'], strict=True)
    h = hashlib.sha256(open(a.ckpt, 'rb').read()).hexdigest()
    sd = {k: v.float() if v.is_floating_point() else v for k, v in m.state_dict().items()}
    write_weights(a.out, sd, st['config'], cfg['name'], h)
    load_model(a.out)
    print('%s: %d tensors, iteration %d, %.1f min of training, %d bytes'
          % (a.out, len(sd), st['iter'], st['spent'] / 60, os.path.getsize(a.out)))


if __name__ == '__main__':
    main()
