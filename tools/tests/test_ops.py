"""Known-value tests of the detection operators (PCAN-FACTS §9 A.1-A.7)."""
import math
import unittest

from _common import need_torch

need_torch(__file__)

import torch  # noqa: E402
import torchvision  # noqa: E402

from ref import ops  # noqa: E402

F32 = torch.float32


def T(x, dt=F32):
    return torch.tensor(x, dtype=dt)


class AnchorTest(unittest.TestCase):
    def test_base_anchors(self):
        a = ops.base_anchors(16, [8], [0.5, 1.0, 2.0]).double()
        w = 16 * 8 * math.sqrt(2.0)   # ratio 0.5: w = s*8/sqrt(0.5), h = s*8*sqrt(0.5)
        h = 16 * 8 / math.sqrt(2.0)
        want = [[-w / 2, -h / 2, w / 2, h / 2], [-64, -64, 64, 64], [-h / 2, -w / 2, h / 2, w / 2]]
        self.assertTrue(torch.allclose(a, T(want, torch.float64), atol=1e-4))

    def test_grid_order(self):
        a = ops.grid_anchors(16, 2, 3, [8], [0.5, 1.0, 2.0])
        self.assertEqual(tuple(a.shape), (2 * 3 * 3, 4))
        # location (y=1, x=2), anchor 1 (ratio 1): centred at (32, 16), not at the cell centre
        self.assertEqual(a[(1 * 3 + 2) * 3 + 1].tolist(), [32 - 64, 16 - 64, 32 + 64, 16 + 64])
        self.assertEqual(a[0 * 3 + 1].tolist(), [-64, -64, 64, 64])


class DeltaTest(unittest.TestCase):
    def test_decode(self):
        rois = T([[10, 20, 30, 60]])
        d = T([[0.1, -0.2, math.log(2.0), 0.0]])
        b = ops.delta2bbox(rois, d, [1, 1, 1, 1], (1000, 1000))
        # px=20 py=40 pw=20 ph=40 (no +1): gx=22 gy=32 gw=40 gh=40
        self.assertTrue(torch.allclose(b, T([[2, 12, 42, 52]]), atol=1e-5))

    def test_stds_clamp_and_clip(self):
        rois = T([[10, 20, 30, 60]])
        d = T([[0.0, 0.0, 100.0, -100.0]])
        b = ops.delta2bbox(rois, d, [0.1, 0.1, 0.2, 0.2], (50, 25))
        r = abs(math.log(16 / 1000))
        gw, gh = 20 * math.exp(r), 40 * math.exp(-r)
        want = [max(20 - gw / 2, 0), 40 - gh / 2, min(20 + gw / 2, 25), 40 + gh / 2]
        self.assertTrue(torch.allclose(b, T([want]), atol=1e-4), (b, want))

    def test_class_specific(self):
        rois = T([[0, 0, 10, 10]])
        d = T([[0, 0, 0, 0, 1, 0, 0, 0]])     # class 1 shifts by 1 * 0.1 * w = 1
        b = ops.delta2bbox(rois, d, [0.1, 0.1, 0.2, 0.2], (100, 100))
        self.assertEqual(b.tolist(), [[0, 0, 10, 10, 1, 0, 11, 10]])


class LevelTest(unittest.TestCase):
    def test_levels(self):
        sides = [10, 111.9, 112, 223.9, 224, 447.9, 448, 1000]
        boxes = T([[0, 0, s, s] for s in sides])
        self.assertEqual(ops.map_roi_levels(boxes, 56, 4).tolist(), [0, 0, 1, 1, 2, 2, 3, 3])


class RoIAlignTest(unittest.TestCase):
    def test_torchvision_matches_rules(self):
        g = torch.Generator().manual_seed(0)
        feat = torch.randn(3, 9, 11, generator=g, dtype=torch.float64)
        boxes = [[0, 0, 4, 4], [1.3, 2.7, 30.1, 20.2], [-10, -6, 8, 5], [30, 20, 60, 50],
                 [5.5, 5.5, 5.6, 5.6], [2, 3, 2, 9], [0, 0, 44, 36]]
        for scale in (0.25, 0.5):
            for out in (2, 7):
                for b in boxes:
                    want = ops.roi_align_naive(feat, b, out, scale)
                    got = torchvision.ops.roi_align(feat[None], T([[0] + b], torch.float64),
                                                    out, scale, 0, True)[0]
                    self.assertTrue(torch.allclose(got, want, atol=1e-12), (b, scale, out))

    def test_known_ramp(self):
        feat = torch.arange(64, dtype=torch.float64).view(1, 8, 8)
        # aligned: start -0.5; roi 0..4 at scale 1, 2x2 bins of 2 px, 2x2 samples per bin
        got = ops.roi_align_naive(feat, [0, 0, 4, 4], 2, 1.0)
        # sample x in {0, 1} (after the -0.5 shift, 0.5 and 1.5 - 0.5); mean of a 2x2 block
        self.assertEqual(got[0].tolist(), [[4.5, 6.5], [20.5, 22.5]])

    def test_extract_levels(self):
        feats = [torch.full((1, 2, 1024 // s, 1024 // s), float(s)) for s in (4, 8, 16, 32)]
        boxes = T([[0, 0, 50, 50], [0, 0, 150, 150], [0, 0, 300, 300], [0, 0, 500, 500]])
        out, lv = ops.roi_extract(feats, boxes, 2, [4, 8, 16, 32], 56)
        self.assertEqual(lv.tolist(), [0, 1, 2, 3])
        self.assertEqual(out[:, 0, 0, 0].tolist(), [4.0, 8.0, 16.0, 32.0])


class NMSTest(unittest.TestCase):
    def test_strict_vs_ge(self):
        boxes = T([[0, 0, 3, 1], [1, 0, 4, 1]])      # IoU exactly 2/4 = 0.5
        s = T([0.9, 0.8])
        self.assertEqual(ops.nms(boxes, s, 0.5, strict=True).tolist(), [0, 1])
        self.assertEqual(ops.nms(boxes, s, 0.5, strict=False).tolist(), [0])
        self.assertEqual(ops.nms(boxes, s, 0.49, strict=True).tolist(), [0])

    def test_order_and_chain(self):
        boxes = T([[0, 0, 10, 10], [1, 0, 11, 10], [2, 0, 12, 10], [50, 50, 60, 60]])
        s = T([0.5, 0.9, 0.3, 0.7])
        # 1 (0.9) suppresses 0 (IoU 9/11) and 2 (IoU 9/11); 3 is separate
        self.assertEqual(ops.nms(boxes, s, 0.7).tolist(), [1, 3])
        self.assertEqual(ops.nms(boxes, s, 0.85).tolist(), [1, 3, 0, 2])

    def test_suppressed_box_does_not_suppress(self):
        boxes = T([[0, 0, 10, 10], [3, 0, 13, 10], [6, 0, 16, 10]])  # IoU(a,b)=IoU(b,c)=7/13
        self.assertEqual(ops.nms(boxes, T([0.9, 0.8, 0.7]), 0.5).tolist(), [0, 2])

    def test_matches_torchvision_away_from_ties(self):
        g = torch.Generator().manual_seed(1)
        xy = torch.rand(200, 2, generator=g) * 100
        wh = torch.rand(200, 2, generator=g) * 30 + 1
        boxes = torch.cat([xy, xy + wh], 1)
        s = torch.rand(200, generator=g)
        self.assertEqual(ops.nms(boxes, s, 0.5).tolist(),
                         torchvision.ops.nms(boxes, s, 0.5).tolist())

    def test_batched_offsets(self):
        boxes = T([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 9]])
        s = T([0.9, 0.8, 0.7])
        dets, keep = ops.batched_nms(boxes, s, torch.tensor([0, 1, 0]), 0.5)
        self.assertEqual(keep.tolist(), [0, 1])
        self.assertEqual(dets[:, 4].tolist(), [s[0].item(), s[1].item()])


class MulticlassNMSTest(unittest.TestCase):
    def test_known(self):
        # 3 rois, 2 classes (+ background last); boxes per class
        bboxes = T([[0, 0, 10, 10, 0, 0, 10, 10],
                    [1, 0, 11, 10, 50, 50, 60, 60],
                    [0, 0, 10, 10, 0, 0, 10, 10]])
        scores = T([[0.6, 0.3, 0.1],
                    [0.7, 0.2, 0.1],
                    [0.5, 0.45, 0.05]])   # 0.5 is not > 0.5: dropped
        dets, labels = ops.multiclass_nms(bboxes, scores, 0.5, 0.5, 100)
        # class 0: roi1 (0.7) suppresses roi0 (IoU 9/11); nothing of class 1 passes 0.5
        self.assertEqual(labels.tolist(), [0])
        self.assertTrue(torch.allclose(dets, T([[1, 0, 11, 10, 0.7]])))
        scores[0, 1] = 0.65
        dets, labels = ops.multiclass_nms(bboxes, scores, 0.5, 0.5, 100)
        self.assertEqual(labels.tolist(), [0, 1])
        dets, labels = ops.multiclass_nms(bboxes, scores, 0.5, 0.5, 1)
        self.assertEqual(labels.tolist(), [0])

    def test_empty(self):
        dets, labels = ops.multiclass_nms(torch.zeros(2, 8), torch.full((2, 3), 0.1), 0.5, 0.5,
                                          100)
        self.assertEqual(tuple(dets.shape), (0, 5))
        self.assertEqual(labels.numel(), 0)


class OverlapTest(unittest.TestCase):
    def test_iou(self):
        a = T([[0, 0, 10, 10], [0, 0, 0, 0]])
        b = T([[5, 0, 15, 10], [0, 0, 0, 0]])
        iou = ops.bbox_overlaps(a, b)
        self.assertAlmostEqual(iou[0, 0].item(), 50 / 150, places=6)
        self.assertEqual(iou[1, 1].item(), 0.0)   # union clamped to 1e-6, no NaN


class PasteTest(unittest.TestCase):
    def test_vs_grid_sample(self):
        g = torch.Generator().manual_seed(2)
        probs = torch.rand(4, 28, 28, generator=g)
        boxes = T([[3.3, 4.1, 20.7, 17.2], [-5, -3, 10, 12], [30, 25, 45.5, 41], [10, 10, 11, 11]])
        a = ops.paste_masks(probs, boxes, 36, 40)
        b = ops.paste_masks_grid_sample(probs, boxes, 36, 40)
        self.assertLess((a - b).abs().max().item(), 1e-6)
        self.assertTrue(torch.equal(a >= 0.5, b >= 0.5))

    def test_constant_mask_fills_box(self):
        probs = torch.ones(1, 28, 28)
        m = ops.paste_masks(probs, T([[2, 3, 10, 7]]), 12, 14)[0] >= 0.5
        # inner pixels are 1; the half-pixel border around the box fades through 0.5
        self.assertTrue(m[3:7, 2:10].all())
        self.assertFalse(m[:2].any() or m[8:].any() or m[:, :1].any() or m[:, 11:].any())


if __name__ == '__main__':
    unittest.main()
