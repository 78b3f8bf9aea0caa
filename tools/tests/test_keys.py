"""The reference's state_dict equals the official checkpoint's key list (order, shape, dtype),
the tiny configuration keeps the key set, and pcan-weights files round-trip."""
import os
import tempfile
import unittest

from _common import ROOT, need_torch

need_torch(__file__)

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from ref import PCAN, config_text, load_config, load_model, named_config, write_weights  # noqa
from ref.init import random_state  # noqa: E402

TSV = os.path.join(ROOT, 'tests', 'data', 'pcan-r50-bdd100k-mots.keys.tsv')


def rows(sd):
    return [(k, ','.join(map(str, v.shape)), str(v.dtype).replace('torch.', ''))
            for k, v in sd.items()]


class KeyTest(unittest.TestCase):
    def test_r50_matches_official_tsv(self):
        with open(TSV) as f:
            want = [tuple(line.rstrip('\n').split('\t')) for line in f if line.strip()]
        got = rows(PCAN(named_config('r50')).state_dict())
        self.assertEqual(len(want), 397)
        self.assertEqual(got, want)

    def test_r50_parameter_count(self):
        m = PCAN(named_config('r50'))
        self.assertEqual(sum(p.numel() for p in m.parameters()), 62174337)

    def test_tiny_same_keys(self):
        a = PCAN(named_config('r50')).state_dict()
        b = PCAN(named_config('tiny')).state_dict()
        # fewer blocks per stage drop whole blocks; every remaining key keeps name and rank
        self.assertEqual([k for k in a if k in b], list(b))
        for k in b:
            self.assertEqual(a[k].dim(), b[k].dim(), k)
        self.assertEqual(len(b), 397 - 12 * 18)  # 12 plain blocks of 3 convs + 3 BNs

    def test_config_rejects_missing_key(self):
        text = config_text('tiny').replace('pad_divisor: 32', 'pad_div: 32')
        with self.assertRaises(ValueError):
            load_config(text)

    def test_weights_roundtrip(self):
        m = PCAN(named_config('tiny'))
        sd = random_state(m, 3)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, 'w.h5')
            write_weights(p, sd, config_text('tiny'), 'tiny', '0' * 64)
            with h5py.File(p, 'r') as f:
                self.assertEqual(f.attrs['format'], 'pcan-weights')
                self.assertEqual(f.attrs['version'].dtype, np.int32)
                self.assertEqual(f['backbone.bn1.num_batches_tracked'].shape, ())
                self.assertEqual(f['backbone.bn1.num_batches_tracked'].dtype, np.int64)
                self.assertEqual(f['mu0'].dtype, np.float32)
                self.assertIsNone(f['mu0'].compression)
                self.assertIsNone(f['mu0'].chunks)
            m2 = load_model(p)
            for k, v in m2.state_dict().items():
                self.assertTrue(torch.equal(v, sd[k]), k)


if __name__ == '__main__':
    unittest.main()
