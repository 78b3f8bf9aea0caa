"""The backbone and FPN against torchvision's independent implementations with the same weights
(torchvision's ResNet-50 is the same "pytorch style" bottleneck net with the same key names)."""
import unittest

from _common import need_torch

need_torch(__file__)

import torch  # noqa: E402
import torchvision  # noqa: E402
from torchvision.ops import FeaturePyramidNetwork  # noqa: E402
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool  # noqa: E402

from ref import PCAN, named_config  # noqa: E402
from ref.init import random_state  # noqa: E402


class IndependentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(1)
        cls.m = PCAN(named_config('r50'))
        cls.m.load_state_dict(random_state(cls.m, 7, {"neck.": 1.0}))
        g = torch.Generator().manual_seed(0)
        cls.x = torch.randn(1, 3, 96, 128, generator=g)

    def test_resnet50_vs_torchvision(self):
        tv = torchvision.models.resnet50(weights=None).eval()
        sd = {k[len('backbone.'):]: v for k, v in self.m.state_dict().items()
              if k.startswith('backbone.')}
        missing, unexpected = tv.load_state_dict(sd, strict=False)
        self.assertEqual(sorted(missing), ['fc.bias', 'fc.weight'])
        self.assertEqual(unexpected, [])
        with torch.no_grad():
            _, cs = self.m.backbone(self.x)
            y = tv.maxpool(tv.relu(tv.bn1(tv.conv1(self.x))))
            for i, layer in enumerate((tv.layer1, tv.layer2, tv.layer3, tv.layer4)):
                y = layer(y)
                self.assertEqual(y.shape, cs[i].shape)
                self.assertLess((y - cs[i]).abs().max().item(), 1e-4 * y.abs().max().item())

    def test_fpn_vs_torchvision(self):
        fpn = FeaturePyramidNetwork([256, 512, 1024, 2048], 256,
                                    extra_blocks=LastLevelMaxPool()).eval()
        sd = self.m.state_dict()
        tsd = {}
        for i in range(4):
            for p in ('weight', 'bias'):
                tsd['inner_blocks.%d.0.%s' % (i, p)] = sd['neck.lateral_convs.%d.conv.%s' % (i, p)]
                tsd['layer_blocks.%d.0.%s' % (i, p)] = sd['neck.fpn_convs.%d.conv.%s' % (i, p)]
        fpn.load_state_dict(tsd)
        with torch.no_grad():
            _, cs = self.m.backbone(self.x)
            ours = self.m.neck(cs)
            theirs = list(fpn({str(i): c for i, c in enumerate(cs)}).values())
        self.assertEqual(len(ours), len(theirs))
        for a, b in zip(ours, theirs):
            self.assertEqual(a.shape, b.shape)
            self.assertLess((a - b).abs().max().item(), 1e-4 * b.abs().max().item())


if __name__ == '__main__':
    unittest.main()
