"""Known values for the frame-level PCAM (EM, read-out, fusion) and the refine head's masked EM."""
import math
import unittest

from _common import need_torch

need_torch(__file__)

import torch  # noqa: E402

from ref import PCAN, named_config  # noqa: E402
from ref.init import random_state  # noqa: E402
from ref.model import em, l2norm  # noqa: E402

D = torch.float64


class EMTest(unittest.TestCase):
    def test_one_step_by_hand(self):
        # C=2, N=3, K=2; one iteration computed with the formulas by hand
        x = torch.tensor([[[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]]], dtype=D)      # [1,C,N]
        mu = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], dtype=D)               # [1,C,K]
        # E: logits 20*x.mu: pixel0 (20,0), pixel1 (0,20), pixel2 (10,10)
        e = math.exp(-20)
        z = torch.tensor([[1 / (1 + e), e / (1 + e)], [e / (1 + e), 1 / (1 + e)], [0.5, 0.5]],
                         dtype=D)
        z = z / (1e-6 + z.sum(0, keepdim=True))
        m = x[0] @ z
        m = m / (1e-6 + m.norm(dim=0, keepdim=True))
        got = em(x, mu, 1)[0]
        self.assertTrue(torch.allclose(got, m, atol=1e-12))
        # and the structure: proto 0 leans to channel 0
        self.assertGreater(got[0, 0].item(), got[1, 0].item())

    def test_clusters_converge_to_means(self):
        x = torch.tensor([[[2.0, 2.0, 0.0, 0.0], [0.0, 0.0, 3.0, 3.0]]], dtype=D)
        mu = torch.tensor([[[0.9, 0.1], [0.1, 0.9]]], dtype=D)
        got = em(x, mu, 3)[0]
        want = torch.tensor([[2 / (2 + 1e-6), 0], [0, 3 / (3 + 1e-6)]], dtype=D)
        self.assertTrue(torch.allclose(got, want, atol=1e-9), got)

    def test_frame_pcam_readout_and_memory(self):
        m = PCAN(named_config('tiny')).to(D)
        C = m.cfg['fpn']['out_channels']
        H, W = 2, 3
        g = torch.Generator().manual_seed(0)
        feats = [torch.randn(1, C, H, W, generator=g, dtype=D) for _ in range(5)]
        banks = [torch.randn(1, C, H, W, generator=g, dtype=D) for _ in range(2)]
        mus = [l2norm(torch.randn(1, C, 8, generator=g, dtype=D), 1) for _ in range(2)]
        fused, nb, nm, protos = m.frame_pcam(feats, banks, mus)
        for i in range(2):
            P = em(banks[i].view(1, C, -1), mus[i], 3)[0]          # [C,K]
            X = feats[i].view(C, -1)                                # [C,N]
            a = torch.softmax(X.t() @ P, dim=1)                     # [N,K], no temperature
            R = (P @ a.t()).view(1, C, H, W)
            want = 0.75 * feats[i] + 0.25 * R
            self.assertTrue(torch.allclose(fused[i], want, atol=1e-12))
            self.assertTrue(torch.allclose(nb[i], 0.75 * want + 0.25 * banks[i], atol=1e-12))
            self.assertTrue(torch.allclose(nm[i], 0.5 * mus[i] + 0.5 * P[None], atol=1e-12))
        for i in range(2, 5):
            self.assertIs(fused[i], feats[i])

    def test_readout_hand_value(self):
        P = torch.eye(2, dtype=D)[None]                              # protos e1, e2
        x = torch.tensor([[[1.0], [0.0]]], dtype=D)                  # one pixel (1, 0)
        a = torch.softmax(torch.bmm(x.transpose(1, 2), P), dim=2)
        r = torch.bmm(P, a.transpose(1, 2))[0, :, 0]
        e = math.e
        self.assertTrue(torch.allclose(r, torch.tensor([e / (e + 1), 1 / (e + 1)], dtype=D)))


class RefineTest(unittest.TestCase):
    def setUp(self):
        self.m = PCAN(named_config('tiny'))
        self.m.load_state_dict(random_state(self.m, 5))
        self.m = self.m.to(D)
        self.rh = self.m.roi_head.refine_head
        self.C = self.m.cfg['fpn']['out_channels']
        g = torch.Generator().manual_seed(1)
        self.fa = torch.randn(2, self.C, 14, 14, generator=g, dtype=D)
        self.fb = torch.randn(2, self.C, 14, 14, generator=g, dtype=D)

    def masks(self, fill_a, fill_b):
        ma = torch.full((2, 1, 28, 28), -5.0, dtype=D)
        mb = torch.full((2, 1, 28, 28), -5.0, dtype=D)
        if fill_a:
            ma[:, :, 4:20, 6:22] = 5.0
        if fill_b:
            mb[:, :, 8:24, 2:18] = 5.0
        return ma, mb

    def test_masked_em_equals_em_on_foreground_pixels(self):
        ma, mb = self.masks(True, True)
        out = self.rh.run(self.fa, ma, self.fb, mb, self.rh.pos_mu, self.rh.neg_mu)
        # the 28->14 bilinear resize of a 2x2-aligned block mask is the block halved
        ba = torch.zeros(14, 14, dtype=torch.bool)
        ba[2:10, 3:11] = True
        xa = self.fa[0].view(self.C, -1)[:, ba.view(-1)][None]
        want = em(xa, self.rh.pos_mu, 6)
        self.assertTrue(torch.allclose(out['pos_pre'][0:1], want, atol=1e-9))
        # context = masked mean of the reference features
        g = self.fa[0][:, ba].sum(1) / (ba.sum() + 1e-5)
        self.assertTrue(torch.allclose(out['context'][0], g, atol=1e-12))
        self.assertTrue(torch.allclose(out['pos_z'] + out['neg_z'],
                                       torch.ones_like(out['pos_z']), atol=1e-12))
        # buffer momentum
        self.assertTrue(torch.allclose(out['pos_mu'], 0.95 * self.rh.pos_mu
                                       + 0.05 * out['pos'].mean(0, keepdim=True), atol=1e-12))
        self.assertEqual(tuple(out['refine_pred'].shape), (2, 1, 28, 28))

    def test_empty_reference_mask(self):
        ma, mb = self.masks(False, True)
        out = self.rh.run(self.fa, ma, self.fb, mb, self.rh.pos_mu, self.rh.neg_mu)
        self.assertEqual(out['pos_pre'].abs().max().item(), 0.0)
        # from a zero initialiser every prototype becomes the normalised foreground mean of F_b
        bb = torch.zeros(14, 14, dtype=torch.bool)
        bb[4:12, 1:9] = True
        mean = self.fb[0][:, bb].mean(1)
        p = out['pos'][0]
        for k in range(1, p.size(1)):
            self.assertTrue(torch.allclose(p[:, k], p[:, 0], atol=1e-12))
        self.assertTrue(torch.allclose(p[:, 0], mean / mean.norm(), atol=1e-6))

    def test_both_masks_empty(self):
        ma, mb = self.masks(False, False)
        out = self.rh.run(self.fa, ma, self.fb, mb, self.rh.pos_mu, self.rh.neg_mu)
        self.assertEqual(out['pos'].abs().max().item(), 0.0)
        self.assertEqual(out['context'].abs().max().item(), 0.0)
        self.assertGreater(out['neg'].abs().max().item(), 0.1)

    def test_tiny_negative_logit_is_foreground(self):
        # sigmoid(-1e-9) rounds to 0.5 in float32 -> foreground; the sign test would say no
        m = self.m.float()
        rh = m.roi_head.refine_head
        fa, fb = self.fa.float(), self.fb.float()
        ma = torch.full((2, 1, 28, 28), -1e-9)
        mb = torch.full((2, 1, 28, 28), -5.0)
        out = rh.run(fa, ma, fb, mb, rh.pos_mu, rh.neg_mu)
        want = fa.view(2, self.C, -1).sum(2) / (196 + 1e-5)      # every pixel is foreground
        self.assertTrue(torch.allclose(out['context'], want, atol=1e-5))


if __name__ == '__main__':
    unittest.main()
