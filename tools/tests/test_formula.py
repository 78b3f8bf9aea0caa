"""The R50 counter-based weight formula (tools/README.md) on known values."""
import unittest

from _common import need_torch

need_torch(__file__)

import numpy as np  # noqa: E402

from ref import PCAN, named_config  # noqa: E402
from ref.init import formula_params, formula_uniform, splitmix64  # noqa: E402


class FormulaTest(unittest.TestCase):
    def test_splitmix64_reference_value(self):
        # first output of SplitMix64 seeded with 0
        self.assertEqual(splitmix64(0), 0xE220A8397B1DCDAF)

    def test_vectorised_equals_scalar(self):
        for t in (0, 5, 396):
            u = formula_uniform(t, 1000)
            for i in (0, 1, 999):
                h = splitmix64((t << 32) | i)
                self.assertEqual(u[i], (h >> 11) * 2.0 ** -53 * 2.0 - 1.0)
        self.assertTrue(((u >= -1) & (u < 1)).all())

    def test_first_values(self):
        # mu0[0,0,0] = float32(sqrt(3/256) * u(0, 0))
        u = (0xE220A8397B1DCDAF >> 11) * 2.0 ** -53 * 2.0 - 1.0
        a, b = formula_params('mu0', (1, 256, 30), 256)
        self.assertEqual(np.float32(a + b * formula_uniform(0, 1)[0]),
                         np.float32(np.sqrt(3.0 / 256) * u))

    def test_roles(self):
        m = PCAN(named_config('r50'))
        shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
        self.assertEqual(formula_params('backbone.layer1.0.bn3.weight', shapes[
            'backbone.layer1.0.bn3.weight'], 256), (0.25, 0.05))
        self.assertEqual(formula_params('backbone.bn1.running_var', (64,), 256), (1.0, 0.25))
        a, b = formula_params('backbone.conv1.weight', shapes['backbone.conv1.weight'], 256)
        self.assertEqual(b, np.sqrt(3.0) * np.sqrt(2.0 / 147))
        a, b = formula_params('roi_head.mask_head.upsample.weight', (256, 256, 2, 2), 256)
        self.assertEqual(b, np.sqrt(3.0) * np.sqrt(2.0 / 256))
        a, b = formula_params('rpn_head.rpn_reg.weight', (12, 256, 1, 1), 256)
        self.assertEqual(b, np.sqrt(3.0) * np.sqrt(2.0 / 256) * 0.05)


if __name__ == '__main__':
    unittest.main()
