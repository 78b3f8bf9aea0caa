"""The tracker on hand-crafted scenarios (PCAN-FACTS §4) and the empty-frame path of the runner."""
import unittest

import sys

from _common import TOOLS, need_torch

sys.path.insert(0, TOOLS)

need_torch(__file__)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ref import PCAN, VideoTracker, named_config  # noqa: E402
from ref.init import random_state  # noqa: E402
from ref.tracker import Tracker  # noqa: E402

CFG = named_config('r50')   # the released tracker thresholds (memo_tracklet_frames 10)
E = 8                       # embedding width in these scenarios


def emb(k, scale=10.0):
    v = torch.zeros(E)
    v[k] = scale
    return v


def box(x, y, w=10.0, h=10.0):
    return [x, y, x + w, y + h]


class Frame:
    """Detections: list of (box, score, label, embedding)."""

    def __init__(self, dets):
        n = len(dets)
        self.bboxes = torch.tensor([d[0] + [d[1]] for d in dets], dtype=torch.float32)
        self.labels = torch.tensor([d[2] for d in dets], dtype=torch.long)
        self.embeds = torch.stack([d[3] for d in dets])
        # mask_preds/feats carry the detection's index so references can be traced
        self.mask_preds = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 2, 2, 2)
        self.mask_feats = self.mask_preds.clone() + 100


def step(tr, frame, fid):
    r = tr.match(frame.bboxes, frame.labels, frame.mask_preds, frame.mask_feats, frame.embeds)
    refine = torch.zeros(r['ids'].numel(), 1, 2, 2)
    tr.update_memo(r['ids'], r['bboxes'], r['labels'], r['mask_preds'], r['mask_feats'], refine,
                   r['embeds'], fid)
    return r


class TrackerTest(unittest.TestCase):
    def test_births_matches_and_sorting(self):
        tr = Tracker(CFG)
        f0 = Frame([(box(0, 0), 0.6, 0, emb(2)), (box(50, 0), 0.9, 0, emb(0)),
                    (box(100, 0), 0.8, 1, emb(1))])
        r = step(tr, f0, 0)
        # sorted by score; only scores > 0.7 are born, in sorted order
        self.assertEqual(r['bboxes'][:, 4].tolist(), [0.8999999761581421, 0.800000011920929,
                                                      0.6000000238418579])
        self.assertEqual(r['ids'].tolist(), [0, 1, -1])
        self.assertEqual(list(tr.tracklets), [0, 1])
        f1 = Frame([(box(101, 0), 0.85, 1, emb(1)), (box(52, 0), 0.95, 0, emb(0))])
        r = step(tr, f1, 1)
        self.assertEqual(r['ids'].tolist(), [0, 1])
        # references: the matched tracks' stored mask feat/pred (frame-0 input indices 1 and 2)
        self.assertEqual(r['ref_masks'][:, 0, 0, 0].tolist(), [1.0, 2.0])
        self.assertEqual(r['ref_feats'][:, 0, 0, 0].tolist(), [101.0, 102.0])

    def test_init_threshold_is_strict(self):
        tr = Tracker(CFG)
        r = step(tr, Frame([(box(0, 0), 0.7, 0, emb(0)), (box(50, 0), 0.7001, 0, emb(1))]), 0)
        self.assertEqual(r['ids'].tolist(), [0, -1])
        self.assertEqual(r['bboxes'][0, 4].item(), np.float32(0.7001))

    def test_class_gating(self):
        tr = Tracker(CFG)
        step(tr, Frame([(box(0, 0), 0.9, 0, emb(0))]), 0)
        r = step(tr, Frame([(box(0, 0), 0.9, 1, emb(0))]), 1)   # same embedding, other class
        self.assertEqual(r['ids'].tolist(), [1])
        self.assertEqual(tr.last['conf'].tolist(), [0.0])

    def test_bisoftmax_values(self):
        tr = Tracker(CFG)
        step(tr, Frame([(box(0, 0), 0.9, 0, emb(0, 1.0)), (box(50, 0), 0.9, 0, emb(1, 1.0))]), 0)
        e = torch.tensor([0.5, 0.2] + [0.0] * (E - 2))
        r = step(tr, Frame([(box(0, 0), 0.8, 0, e)]), 1)
        # n = 1: t2d = 1; d2t = softmax([0.5, 0.2]); S = (d2t + 1) / 2
        d2t = torch.softmax(torch.tensor([0.5, 0.2]), 0)
        want = (d2t + 1) / 2
        self.assertTrue(torch.allclose(tr.last['match_scores'][0], want))
        self.assertEqual(r['ids'].tolist(), [0])

    def test_column_zeroed_after_match(self):
        tr = Tracker(CFG)
        step(tr, Frame([(box(0, 0), 0.9, 0, emb(0))]), 0)
        # two detections both closest to track 0: the higher score takes it, the other is born
        r = step(tr, Frame([(box(0, 0), 0.95, 0, emb(0)), (box(60, 0), 0.9, 0, emb(0))]), 1)
        self.assertEqual(r['ids'].tolist(), [0, 1])

    def test_duplicate_removal(self):
        tr = Tracker(CFG)
        # b overlaps a with IoU 0.8 > 0.7 (removed); c overlaps b (removed) with IoU > 0.7 but a
        # with IoU < 0.7: removed anyway, removed detections still suppress later ones
        a, b, c = box(0, 0, 100, 10), box(10, 0, 100, 10), box(21, 0, 100, 10)
        r = step(tr, Frame([(a, 0.9, 0, emb(0)), (b, 0.8, 1, emb(1)), (c, 0.75, 2, emb(2)),
                            (box(300, 0), 0.72, 0, emb(3))]), 0)
        self.assertEqual(tr.last['valids'].tolist(), [True, False, False, True])
        self.assertEqual(r['ids'].tolist(), [0, 1])

    def test_backdrops(self):
        tr = Tracker(CFG)
        # frame 0: one track, two unmatched low-score detections; the second overlaps the track
        # with IoU 0.5 > 0.3 and is not kept as a backdrop (it is no duplicate: 0.5 < 0.7)
        r = step(tr, Frame([(box(0, 0), 0.9, 0, emb(0)), (box(200, 0), 0.6, 0, emb(1)),
                            (box(5, 0, 10, 10), 0.55, 0, emb(2))]), 0)
        self.assertEqual(r['ids'].tolist(), [0, -1, -1])
        self.assertEqual(tr.last['backdrop_inds'].tolist(), [1])
        self.assertEqual(len(tr.backdrops), 1)
        # frame 1: a detection matching the backdrop keeps -1 at score 0.65, starts a track at 0.8
        r = step(tr, Frame([(box(0, 0), 0.9, 0, emb(0)), (box(200, 0), 0.65, 0, emb(1))]), 1)
        self.assertEqual(r['ids'].tolist(), [0, -1])
        self.assertEqual(int(tr.last['memo_ids'][tr.last['memo_ind'][1]]), -1)
        self.assertGreater(tr.last['conf'][1].item(), 0.5)
        r = step(tr, Frame([(box(0, 0), 0.9, 0, emb(0)), (box(200, 0), 0.8, 0, emb(1))]), 2)
        self.assertEqual(r['ids'].tolist(), [0, 1])
        # only the newest backdrop group is kept (memo_backdrop_frames 1)
        self.assertEqual(len(tr.backdrops), 1)

    def test_backdrops_alone_do_not_match(self):
        tr = Tracker(CFG)
        step(tr, Frame([(box(0, 0), 0.6, 0, emb(0))]), 0)
        self.assertEqual(len(tr.tracklets), 0)
        r = step(tr, Frame([(box(0, 0), 0.6, 0, emb(0))]), 1)
        self.assertIsNone(tr.last['match_scores'])
        self.assertEqual(r['ids'].tolist(), [-1])

    def test_expiry_and_refind(self):
        tr = Tracker(CFG)
        step(tr, Frame([(box(0, 0), 0.9, 0, emb(0))]), 0)
        other = Frame([(box(300, 0), 0.9, 1, emb(5))])
        for fid in range(1, 10):
            step(tr, other, fid)
        self.assertIn(0, tr.tracklets)          # 9 frames missed: still there
        r = step(tr, Frame([(box(0, 0), 0.9, 0, emb(0))]), 10)
        self.assertEqual(r['ids'].tolist(), [0])   # re-found after 10 frames gap (last seen 0)
        for fid in range(11, 21):
            step(tr, other, fid)
        self.assertNotIn(0, tr.tracklets)       # 20 - 10 >= 10: expired
        r = step(tr, Frame([(box(0, 0), 0.9, 0, emb(0))]), 21)
        self.assertEqual(r['ids'].tolist(), [2])

    def test_embedding_momentum(self):
        tr = Tracker(CFG)
        step(tr, Frame([(box(0, 0), 0.9, 0, emb(0, 10.0))]), 0)
        new = emb(0, 10.0) + emb(1, 2.0)
        step(tr, Frame([(box(0, 0), 0.9, 0, new)]), 1)
        want = 0.2 * emb(0, 10.0) + 0.8 * new
        self.assertTrue(torch.allclose(tr.tracklets[0]['embed'], want))
        self.assertEqual(tr.tracklets[0]['last_frame'], 1)


class EmptyFrameTest(unittest.TestCase):
    def test_empty_frame_skips_tracker(self):
        m = PCAN(named_config('tiny'))
        m.load_state_dict(random_state(m, 1))
        # background wins everywhere: no detections
        with torch.no_grad():
            m.roi_head.bbox_head.fc_cls.bias[-1] = 50.0
        vt = VideoTracker(m)
        rgb = np.random.default_rng(0).integers(0, 255, (80, 120, 3), dtype=np.uint8)
        vt.tracker.num_tracklets = 7     # sentinel: must survive untouched
        pos = vt.pos_mu.clone()
        r = vt.step(rgb)
        self.assertEqual(r['ids'].numel(), 0)
        self.assertEqual(tuple(r['masks'].shape), (0, 80, 120))
        self.assertEqual(vt.tracker.num_tracklets, 7)
        self.assertEqual(len(vt.tracker.backdrops), 0)
        self.assertTrue(torch.equal(vt.pos_mu, pos))
        self.assertEqual(vt.frame_id, 1)
        banks0 = [b.clone() for b in vt.banks]
        vt.step(rgb)
        self.assertFalse(torch.equal(banks0[0], vt.banks[0]))   # the frame memory still moves



class PrototypeMemoryTest(unittest.TestCase):
    def test_modes(self):
        import make_fixtures as mf
        m, _ = mf.tiny_model(4)
        frames = mf.synth_video(101, 2, 80, 120)
        loaded = m.roi_head.refine_head.pos_mu.clone()
        for mode in ('video', 'rank'):
            vt = VideoTracker(m, mode)
            for f in frames:
                r = vt.step(f)
            self.assertGreater(r['ids'].numel(), 0)
            moved = vt.pos_mu.clone()
            self.assertFalse(torch.equal(moved, loaded))
            vt.begin_video()
            self.assertEqual(vt.frame_id, 0)
            self.assertEqual(vt.tracker.num_tracklets, 0)
            self.assertTrue(torch.equal(vt.pos_mu, loaded if mode == 'video' else moved))
        # the module's own buffers are never modified
        self.assertTrue(torch.equal(m.roi_head.refine_head.pos_mu, loaded))


if __name__ == '__main__':
    unittest.main()
