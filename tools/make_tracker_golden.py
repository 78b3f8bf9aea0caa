#!/usr/bin/python3
"""Writes tests/data/tracker_golden.txt: random multi-video detection streams run through the
Python reference tracker (tools/ref/tracker.py, PCAN-FACTS §4), for tests/test_tracker.c.

Objects with a latent embedding, label and drifting box appear and vanish at random (some twice
in one frame, some with a wrong label), frames are skipped or empty, and the videos vary
memo_tracklet_frames, memo_backdrop_frames, with_cats and the score range (down to 0.2, so the
obj_score_thr branches and the -2 ids occur). A frame is redrawn when any decision lies within a
margin of its threshold (scores, pairwise IoUs, match confidences, the runner-up of a match), so
last-bit differences between PyTorch and C cannot flip the golden result.

make test needs no Python. Regenerate with: /usr/bin/python3 tools/make_tracker_golden.py

Format (text, one record per line; floats with 9 significant digits, exact for float32):
  video <T> <B> <with_cats> <D> <frames>
  frame <frame_id> <n>
  det <x1> <y1> <x2> <y2> <score> <label> <embed x D>        (n lines, detector order)
  sorted <n ints>   valid <n ints>   ids <kept ints>   ref <kept ints>
  track <id> <label> <last_frame> <embed x D> <mask_feat tag> <refine tag>   (memo order)
  backdrop <label> <embed x D>                                                (memo order)
  end
Payload tags: detection i of the video's frame index f has mask_feat = 1000 f + i, mask_pred =
-(1000 f + i), refine_pred = 1000 f + i + 0.5; `ref` lists the mask_feat tag of each reference.
"""
import copy
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ref.ops import bbox_overlaps  # noqa: E402
from ref.tracker import Tracker  # noqa: E402

D = 8
MAX_DET = 12
MARGIN = 1e-4


def g(x):
    return '%.9g' % float(x)


def frame_ok(tr, boxes, scores):
    """Scores and IoUs away from every threshold the tracker compares them with."""
    for s in scores:
        if min(abs(s - 0.3), abs(s - 0.7)) < MARGIN:
            return False
    if len(scores) > 1:
        t = torch.from_numpy(boxes)
        ious = bbox_overlaps(t, t).numpy()
        off = ious[~np.eye(len(scores), dtype=bool)]
        if np.min(np.minimum(np.abs(off - 0.3), np.abs(off - 0.7))) < MARGIN:
            return False
    return True


def match_ok(tr):
    """Every greedy decision clear of match_score_thr, and no near-tie for the maximum."""
    last = tr.last
    if last.get('match_scores') is None:
        return True
    s = last['match_scores']
    for i, c in enumerate(last['conf'].tolist()):
        if abs(c - 0.5) < MARGIN:
            return False
        row = sorted(s[i].tolist(), reverse=True)
        if c > 0.5 and len(row) > 1 and row[0] - row[1] < MARGIN and row[1] > 0.5 - MARGIN:
            return False
    return True


def video(rng, v, out):
    T = int(rng.choice([10, 3]))
    B = int(rng.choice([1, 2]))
    with_cats = v % 3 != 2
    lo = 0.5 if v % 2 == 0 else 0.2
    cfg = dict(init_score_thr=0.7, obj_score_thr=0.3, match_score_thr=0.5,
               memo_tracklet_frames=T, memo_backdrop_frames=B, memo_momentum=0.8,
               nms_conf_thr=0.5, nms_backdrop_iou_thr=0.3, nms_class_iou_thr=0.7,
               with_cats=with_cats)
    tr = Tracker({'tracker': cfg})
    nf = int(rng.integers(12, 24))
    K = int(rng.integers(3, 9))
    centers = rng.normal(0, 1, (K, D)) * rng.uniform(0.7, 3)
    klabel = rng.integers(0, 3, K)
    kbox = np.stack([rng.uniform(0, 200, K), rng.uniform(0, 100, K)], 1)
    ksize = rng.uniform(10, 60, (K, 2))
    out.append('video %d %d %d %d %d' % (T, B, int(with_cats), D, nf))
    frame_id = 0
    for f in range(nf):
        if f:
            frame_id += int(rng.choice([1, 1, 1, 2, 4]))
        for _attempt in range(1000):
            rows = []
            if rng.random() >= 0.08:
                for k in range(K):
                    if rng.random() >= 0.6:
                        continue
                    for _ in range(2 if rng.random() < 0.15 else 1):
                        c = kbox[k] + rng.normal(0, 3, 2)
                        s = ksize[k] * rng.uniform(0.9, 1.1, 2)
                        e = centers[k] + rng.normal(0, rng.uniform(0.1, 1.5), D)
                        lab = klabel[k] if rng.random() < 0.9 else rng.integers(0, 3)
                        rows.append(([c[0], c[1], c[0] + s[0], c[1] + s[1]],
                                     rng.uniform(lo, 1.0), int(lab), e))
            rows = rows[:MAX_DET]
            n = len(rows)
            boxes = np.array([r[0] for r in rows], np.float32).reshape(n, 4)
            scores = np.array([r[1] for r in rows], np.float32).reshape(n)
            labels = np.array([r[2] for r in rows], np.int64).reshape(n)
            embeds = np.array([r[3] for r in rows], np.float32).reshape(n, D)
            if not frame_ok(tr, boxes, scores.tolist()):
                continue
            if n == 0:
                break
            saved = copy.deepcopy(tr)
            tag = torch.arange(n, dtype=torch.float32) + 1000 * f
            bb = torch.cat([torch.from_numpy(boxes), torch.from_numpy(scores)[:, None]], 1)
            r = tr.match(bb, torch.from_numpy(labels), (-tag)[:, None].clone(),
                         tag[:, None].clone(), torch.from_numpy(embeds))
            if match_ok(tr):
                break
            tr = saved
        else:
            raise RuntimeError('no frame clear of the thresholds')
        kbox += rng.normal(0, 3, kbox.shape)
        out.append('frame %d %d' % (frame_id, n))
        for i in range(n):
            out.append('det ' + ' '.join(g(x) for x in list(boxes[i]) + [scores[i]]) +
                       ' %d ' % labels[i] + ' '.join(g(x) for x in embeds[i]))
        if n == 0:
            continue   # the runner skips the tracker on empty frames
        out.append('sorted ' + ' '.join(str(int(x)) for x in r['inds']))
        out.append('valid ' + ' '.join(str(int(x)) for x in r['valids']))
        out.append('ids ' + ' '.join(str(int(x)) for x in r['ids']))
        out.append('ref ' + ' '.join(str(int(x)) for x in r['ref_feats'][:, 0]))
        refine = r['mask_feats'] + 0.5
        tr.update_memo(r['ids'], r['bboxes'], r['labels'], r['mask_preds'], r['mask_feats'],
                       refine, r['embeds'], frame_id)
        for k, t in tr.tracklets.items():
            out.append('track %d %d %d ' % (k, int(t['label']), t['last_frame']) +
                       ' '.join(g(x) for x in t['embed']) +
                       ' %s %s' % (g(t['mask_feat'][0]), g(t['refine_pred'][0])))
        for b in tr.backdrops:
            for i in range(b['embeds'].size(0)):
                out.append('backdrop %d ' % int(b['labels'][i]) +
                           ' '.join(g(x) for x in b['embeds'][i]))
        out.append('end')


def main(path):
    torch.set_num_threads(1)
    rng = np.random.default_rng(20211206)
    out = ['# tracker golden: tools/make_tracker_golden.py with tools/ref/tracker.py']
    for v in range(6):
        video(rng, v, out)
    with open(path, 'w') as f:
        f.write('\n'.join(out) + '\n')


if __name__ == '__main__':
    main(sys.argv[1] if len(sys.argv) > 1 else 'tests/data/tracker_golden.txt')
