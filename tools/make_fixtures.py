#!/usr/bin/python3
"""Writes the golden fixtures of tests/fixtures/ from the PyTorch reference (make fixtures).

Deterministic: fixed seeds, one torch thread, deterministic algorithms, HDF5 without timestamps,
so a rerun gives byte-identical files. The layout is documented in tools/README.md. The maker
asserts that every frame has 5-50 detections, that no decision sits within a margin of its
threshold, that the float64 run of the reference takes the same decisions, and that the tiny
sequence contains track births, matches, losses, re-finds and expiries.

synth.outputs.h5 runs the shipped trained model (models/pcan-synth-small.h5, its sha256 stored)
on `pcan synth` frames rendered by the C generator (build/tools/synth_frames, tools/synth_frames.c);
it picks videos whose decisions all have margins (score orders in logit space, see
score_gap_margin) and whose float64 run agrees, and fails with the reasons when none do. Rerun it
after replacing the model: `make fixtures FIXTURES_ONLY=synth`.
"""
import argparse
import copy
import hashlib
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ref import PCAN, VideoTracker, config_text, load_config, load_model  # noqa: E402
from ref import write_weights  # noqa: E402
from ref import margins, ops  # noqa: E402
from ref.init import formula_state, random_state  # noqa: E402
from ref.weights_io import sha256_text  # noqa: E402

MARGINS = dict(score=1e-6, iou=2e-6, conf=5e-6, logit=5e-6, level=1e-6)
TINY_SEED_TEXT = 'pcan tiny fixture v1: random_state(seed=%d, gains=%r, biases=%r)'
FULL_FRAMES = {(0, 0), (0, 1)}                # (video, frame) with complete feature maps
FULL_ROIS = 4                                 # per-RoI refine data of std frames: first 4 RoIs
FEAT_ROIS = 2                                 # RoI feature maps stored for the first 2 RoIs
R50_ROIS = 8                                  # R50: logits of the first 8 detections
TINY_VIDEOS = [(101, 18), (202, 6)]           # (synthetic video seed, frames)
TINY_SIZE = (80, 120)                         # source frame H, W
TINY_GAINS = {'neck.': 1.0, 'rpn_head.rpn_cls': 0.3, 'rpn_head.rpn_reg': 0.3,
              'roi_head.bbox_head.fc_cls': 1.0, 'roi_head.bbox_head.fc_reg': 0.3,
              'roi_head.mask_head.conv_logits': 4.0, 'roi_head.refine_head.conv_logits': 4.0,
              'roi_head.track_head.fc_embed': 1.5}
TINY_BIASES = {'roi_head.bbox_head.fc_cls.bias': ([0.0, 0.0, 0.0, -3.0], 0.0)}


def deterministic():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)


def synth_video(seed, T, H, W, nobj=6):
    """Textured rectangles moving over a smooth background; some leave and re-enter."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W]
    bg = np.stack([40 + 60 * xx / W, 60 + 50 * yy / H, 90 + 30 * np.sin(xx / 9.0)], -1)
    objs = []
    for _ in range(nobj):
        w, h = rng.uniform(0.12, 0.35) * W, rng.uniform(0.15, 0.45) * H
        objs.append(dict(x=rng.uniform(0, W - w), y=rng.uniform(0, H - h), w=w, h=h,
                         vx=rng.uniform(-0.04, 0.04) * W, vy=rng.uniform(-0.03, 0.03) * H,
                         col=rng.uniform(0, 255, 3), f=rng.uniform(0.3, 1.2),
                         hide=rng.integers(3, T + 3)))
    frames = []
    for t in range(T):
        img = bg.copy()
        for o in objs:
            if o['hide'] <= t < o['hide'] + 3:   # occluded for 3 frames
                continue
            x, y = o['x'] + o['vx'] * t, o['y'] + o['vy'] * t
            m = (xx >= x) & (xx < x + o['w']) & (yy >= y) & (yy < y + o['h'])
            tex = 30 * np.sin(o['f'] * (xx + yy))[..., None]
            img = np.where(m[..., None], o['col'][None, None] + tex, img)
        img = img + rng.normal(0, 4, img.shape)
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return np.stack(frames)


def run_videos(model, videos, mode, record=True):
    """[[frame result]] per video, plus tracker events per video."""
    vt = VideoTracker(model, mode)
    out, events = [], []
    for v, frames in enumerate(videos):
        if v:
            vt.begin_video()
        res, ev = [], dict(births=0, matches=0, lost=0, refound=0, expired=0)
        for f in frames:
            before = {k: t['last_frame'] for k, t in vt.tracker.tracklets.items()}
            fid = vt.frame_id
            r = vt.step(f, record=record)
            res.append(r)
            k = r['inter'].get('track') if record else None
            if k is None:
                continue
            ids = k['ids'].tolist()
            ev['births'] += int(k['new'].sum())
            for tid in before:
                if tid in ids:
                    ev['matches'] += 1
                    ev['refound'] += int(fid - before[tid] > 1)
                else:
                    ev['lost'] += 1
                    ev['expired'] += int(tid not in vt.tracker.tracklets)
        out.append(res)
        events.append(ev)
    return out, events


def check_run(model, res, lo=5, hi=50):
    v = []
    for vi, frames in enumerate(res):
        for fi, r in enumerate(frames):
            n = r['inter']['det_bboxes'].size(0)
            if not lo <= n <= hi:
                v.append('v%d f%d: %d detections' % (vi, fi, n))
            v += ['v%d f%d %s' % (vi, fi, s)
                  for s in margins.frame_margins(r['inter'], model.cfg, MARGINS)]
    return v


# ---- what is stored per frame ----
def frame_tensors(r, level, first=False):
    """name -> tensor for one frame; level 'full' > 'std' > 'final'. See tools/README.md."""
    it = r['inter']
    d = {}
    if level == 'full':
        if first:
            d['input'] = it['input']
            d['resized'] = torch.from_numpy(np.ascontiguousarray(it['resized']))
            d['stem'] = it['stem']
            for i, c in enumerate(it['backbone']):
                d['c%d' % (i + 2)] = c
            for i, p in enumerate(it['fpn']):
                d['p%d' % (i + 2)] = p
        for i in range(len(it['frame_protos'])):
            d['fused_p%d' % (i + 2)] = it['fused'][i]
            d['bank_p%d' % (i + 2)] = it['banks'][i]
    if level != 'final':
        for i, p in enumerate(it['fpn']):
            d['p%d_chmean' % (i + 2)] = p.mean(dim=(1, 2))
        for i in range(len(it['frame_protos'])):
            d['fused_p%d_chmean' % (i + 2)] = it['fused'][i].mean(dim=(1, 2))
        d['frame_protos'] = torch.stack(it['frame_protos'])
        d['frame_mus'] = torch.stack(it['frame_mus'])
        d['proposals'] = it['proposals']
        d['proposal_levels'] = it['roi_levels'].int()
    d['det_bboxes'] = it['det_bboxes']
    d['det_labels'] = it['det_labels'].int()
    if 'track' not in it:
        return d
    k, ref = it['track'], it['refine']
    if level != 'final':
        n = it['det_bboxes'].size(0)
        if level == 'full':
            d['mask_logits'] = it['mask_pred'][torch.arange(n), it['det_labels']]
            d['mask_feats'] = it['mask_feats'][:FEAT_ROIS]
            d['ref_feats'] = k['ref_feats'][:FEAT_ROIS]
            d['refine_logits'] = ref['refine_pred'][:, 0]
            for name in ('pos_pre', 'neg_pre'):
                d['refine_' + name] = ref[name]
        d['embeds'] = it['embeds']
        d['track_order'] = k['inds'].int()
        d['track_valid'] = k['valids'].to(torch.uint8)
        d['track_matched'] = k['matched_ids'].int()
        if k['match_scores'] is not None:
            d['match_scores'] = k['match_scores']
            d['match_memo_ids'] = k['memo_ids'].int()
            d['match_conf'] = k['conf']
        d['backdrop_index'] = k['backdrop_inds'].int()
        rows = slice(None) if level == 'full' else slice(0, FULL_ROIS)   # std: first 4 RoIs
        d['refine_m_a'] = ref['m_a'][rows, 0]
        d['refine_m_b'] = ref['m_b'][rows, 0]
        for name in ('pos', 'neg'):
            d['refine_' + name] = ref[name][rows]
        d['refine_pos_z'] = ref['pos_z'][rows, 0]
        d['refine_context'] = ref['context'][rows]
    d['track_ids'] = k['ids'].int()
    d['refine_pos_mu'] = ref['pos_mu'][0]
    d['refine_neg_mu'] = ref['neg_mu'][0]
    d['mask_ambiguous'] = ((it['mask_probs'] - 0.5).abs() < 1e-4).sum(dim=(1, 2)).int()
    d['masks'] = it['masks'].to(torch.uint8)
    d['out_ids'] = r['ids'].int()
    d['out_labels'] = r['labels'].int()
    d['out_scores'] = r['scores']
    d['out_boxes'] = r['boxes']
    return d


def tolerances(d32, d64, name):
    """Per float dataset: 10x the float32-vs-float64 difference plus a relative floor."""
    tol = {}
    for k, a in d32.items():
        b = d64[k]
        if a.dtype in (torch.float32, torch.float64):
            if a.shape != b.shape:
                raise SystemExit('%s %s: float32 and float64 runs disagree in shape %s vs %s'
                                 % (name, k, tuple(a.shape), tuple(b.shape)))
            diff = (a.double() - b).abs().max().item() if a.numel() else 0.0
            ref = b.abs().max().item() if b.numel() else 0.0
            tol[k] = 10 * diff + 1e-6 * max(ref, 1e-3)
        elif k == 'masks':
            # binary masks may differ only at pixels whose probability is within 1e-4 of 0.5;
            # the per-mask count of those is stored as mask_ambiguous
            diff = (a != b).sum(dim=(1, 2))
            amb = torch.minimum(d32['mask_ambiguous'], d64['mask_ambiguous'])
            if (diff > amb).any():
                raise SystemExit('%s masks: float32/float64 differ beyond ambiguous pixels' % name)
        elif k == 'mask_ambiguous':
            continue
        elif not torch.equal(a.to(b.dtype), b):
            raise SystemExit('%s %s: float32 and float64 runs take different decisions'
                             % (name, k))
    return tol


def write_group(g, d, tol):
    for k, t in d.items():
        a = t.detach().cpu().numpy()
        if a.dtype == np.float64:
            raise AssertionError(k)
        kw = dict(track_times=False)
        if a.dtype == np.uint8 and a.size > 64:
            kw.update(compression='gzip', compression_opts=4, shuffle=False)
        ds = g.create_dataset(k, data=np.array(a, order='C'), **kw)
        if k in tol:
            ds.attrs['tol'] = np.float64(tol[k])


def new_h5(path, kind, cfg_text, extra):
    f = h5py.File(path, 'w', track_order=False)
    f.attrs['format'] = 'pcan-fixture'
    f.attrs['version'] = np.int32(1)
    f.attrs['kind'] = kind
    f.attrs['config'] = cfg_text
    for k, v in extra.items():
        f.attrs[k] = v
    return f


# ---- tiny ----
def tiny_model(seed):
    cfg = load_config(config_text('tiny'))
    m = PCAN(cfg)
    sd = random_state(m, seed, TINY_GAINS, TINY_BIASES)
    m.load_state_dict(sd)
    return m, sd


def make_tiny(out, seeds):
    H, W = TINY_SIZE
    videos = [synth_video(s, T, H, W) for s, T in TINY_VIDEOS]
    for seed in seeds:
        m, sd = tiny_model(seed)
        res, events = run_videos(m, videos, 'video')
        bad = check_run(m, res)
        ev = events[0]
        for key in ('births', 'matches', 'lost', 'refound', 'expired'):
            if ev[key] == 0:
                bad.append('video 0 has no %s' % key)
        print('tiny seed %d: %d problems %s; events %s' % (seed, len(bad), bad[:3], events))
        if not bad:
            break
    else:
        raise SystemExit('no tiny seed satisfies the fixture constraints')
    res_rank, _ = run_videos(m, videos, 'rank')
    m64 = copy.deepcopy(m).double()
    res64, _ = run_videos(m64, videos, 'video')
    res64_rank, _ = run_videos(m64, videos, 'rank')
    # first video: both modes identical; second: they must differ
    a = res[1][-1]['inter']['refine']['pos_mu']
    b = res_rank[1][-1]['inter']['refine']['pos_mu']
    if torch.equal(a, b):
        raise SystemExit('prototype_memory modes do not differ on video 1')
    bad = check_run(m, res_rank)
    if bad:
        raise SystemExit('rank mode margins: %s' % bad[:3])

    text = TINY_SEED_TEXT % (seed, TINY_GAINS, TINY_BIASES)
    write_weights(os.path.join(out, 'tiny.weights.h5'), sd, config_text('tiny'),
                  'pcan-tiny-test', sha256_text(text))
    with new_h5(os.path.join(out, 'tiny.frames.h5'), 'frames', config_text('tiny'),
                dict(recipe=text)) as f:
        for v, fr in enumerate(videos):
            f.create_dataset('v%d' % v, data=fr, track_times=False, compression='gzip',
                             compression_opts=4)
    with new_h5(os.path.join(out, 'tiny.outputs.h5'), 'outputs', config_text('tiny'),
                dict(weights='tiny.weights.h5', frames='tiny.frames.h5', recipe=text)) as f:
        for mode, r32, r64, vids in (('video', res, res64, (0, 1)),
                                     ('rank', res_rank, res64_rank, (1,))):
            for v in vids:
                for i, (a, b) in enumerate(zip(r32[v], r64[v])):
                    lv = 'final' if mode == 'rank' else 'full' if (v, i) in FULL_FRAMES else 'std'
                    first = (v, i) == (0, 0)
                    d32, d64 = frame_tensors(a, lv, first), frame_tensors(b, lv, first)
                    g = f.create_group('%s/v%d/f%03d' % (mode, v, i))
                    write_group(g, d32, tolerances(d32, d64, '%s/v%d/f%03d' % (mode, v, i)))
    return events


# ---- R50 with formula weights ----
R50_SCALE = [640, 384]
R50_FRAME = (180, 320)
R50_NMS_PRE = 300
# class logits centred so that a few percent of the RoIs pass score_thr (set from a first run)
R50_BIASES = {'roi_head.bbox_head.fc_cls.bias':
              list(enumerate([-7.67, -3.87, -5.44, -1.52, -5.74, -4.42, -5.03, -3.02, 0.0]))}


def r50_config_text():
    t = config_text('r50').replace('scale: [1296, 720]', 'scale: [%d, %d]' % tuple(R50_SCALE))
    return t.replace('nms_pre: 1000,', 'nms_pre: %d,' % R50_NMS_PRE)


def make_r50(out, frame_seeds):
    cfg = load_config(r50_config_text())
    m = PCAN(cfg)
    m.load_state_dict(formula_state(m, R50_BIASES))
    for fseed in frame_seeds:
        frames = synth_video(fseed, 2, *R50_FRAME, nobj=6)
        res, _ = run_videos(m, [frames], 'video')
        bad = check_run(m, res)
        for fi, r in enumerate(res[0]):
            it = r['inter']
            names = [('input', it['input']), ('stem', it['stem'])]
            names += [('c%d' % (i + 2), c) for i, c in enumerate(it['backbone'])]
            names += [('p%d' % (i + 2), c) for i, c in enumerate(it['fpn'])]
            names += [('fused_p%d' % (i + 2), c) for i, c in enumerate(it['fused'][:2])]
            for k in ('mask_pred', 'embeds', 'mask_feats'):
                if k in it:
                    names.append((k, it[k]))
            for nm, t in names:
                bad += ['f%d %s' % (fi, s) for s in margins.check_finite_o1(nm, t, 1e-2, 1e2)]
            lv = it['roi_levels'].bincount(minlength=4).tolist()
            if sum(c > 0 for c in lv) < 3:
                bad.append('f%d: proposals per level %s' % (fi, lv))
            print('r50 frames %d f%d: %d proposals, per level %s, %d detections, ids %s'
                  % (fseed, fi, it['proposals'].size(0), lv, it['det_bboxes'].size(0),
                     r['ids'].tolist()))
        print('r50 frames %d: %d problems %s' % (fseed, len(bad), bad[:3]))
        if not bad:
            break
    else:
        raise SystemExit('r50 fixture: no frame seed satisfies the constraints')
    res64, _ = run_videos(copy.deepcopy(m).double(), [frames], 'video')
    with new_h5(os.path.join(out, 'r50.outputs.h5'), 'outputs', r50_config_text(),
                dict(weights='formula (tools/README.md)', frames='frames',
                     recipe='synth_video(%d, 2, 180, 320, nobj=6)' % fseed)) as f:
        f.create_dataset('frames', data=frames, track_times=False, compression='gzip',
                         compression_opts=4)
        for i, (a, b) in enumerate(zip(res[0], res64[0])):
            d32, d64 = r50_tensors(a), r50_tensors(b)
            g = f.create_group('video/v0/f%03d' % i)
            write_group(g, d32, tolerances(d32, d64, 'r50 f%d' % i))


def r50_tensors(r):
    """Summaries instead of full maps: channel means and a 4x4 crop of every stage."""
    it = r['inter']
    d = frame_tensors(r, 'std')
    if 'track' in it:
        n = min(it['det_bboxes'].size(0), R50_ROIS)
        d['mask_logits'] = it['mask_pred'][torch.arange(n), it['det_labels'][:n]]
        d['refine_logits'] = it['refine']['refine_pred'][:R50_ROIS, 0]
    maps = [('stem', it['stem'])] + [('c%d' % (i + 2), c) for i, c in enumerate(it['backbone'])]
    maps += [('p%d' % (i + 2), c) for i, c in enumerate(it['fpn'])]
    maps += [('fused_p%d' % (i + 2), c) for i, c in enumerate(it['fused'][:2])]
    for nm, t in maps:
        d[nm + '_chmean'] = t.mean(dim=(1, 2))
        d[nm + '_crop'] = t[:, 1:3, 1:3].contiguous()
    d['input_crop'] = it['input'][:, 100:116, 200:216].contiguous()
    return d


# ---- synth: the shipped trained model on `pcan synth` frames ----
SYNTH_MODEL = 'models/pcan-synth-small.h5'
SYNTH_DIFFICULTY = 'normal'
SYNTH_FRAMES = 14           # frames per video (the set's --frames; the scene depends on it)
SYNTH_SET = 4               # videos rendered per seed; candidates are collected until this many
                            # pass (one re-identifying a track), then the two richest are used
SYNTH_SIZE = (192, 320)     # pcan synth's default frame, the model's input scale
SYNTH_CROP_FRAMES = 2       # first frames of each video that also get stage crops and logits
SYNTH_ROWS = 2              # later frames: per-RoI refine data of the first 2 kept detections
SYNTH_ROWS_CUT = ('refine_m_a', 'refine_m_b', 'refine_pos', 'refine_neg', 'refine_pos_z',
                  'refine_context')
SYNTH_SCORE_LOGIT = 1e-4    # RPN and class NMS orders: margin in logit space, at least 10x
                            # the float32 rounding of the logits (measured per video)
SAT_LOGIT = 18.0            # sigmoid rounds to exactly 1.0 in float32 from ~16.6: surely from 18
SYNTH_AGREE = 1e-3          # every float dataset: |float32 - float64| <= this x its magnitude
SYNTH_MAX_BYTES = 2 << 20


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for b in iter(lambda: f.read(1 << 20), b''):
            h.update(b)
    return h.hexdigest()


def synth_frames(tool, seed, index, tmp):
    """uint8 [F,H,W,3]: video `index` of `pcan synth --seed seed --frames F --difficulty normal`
    as the C generator renders it (no codec), and the ground-truth objects visible per frame."""
    path = os.path.join(tmp, 'frames.rgb')
    out = subprocess.run([tool, str(seed), SYNTH_DIFFICULTY, str(SYNTH_FRAMES), str(index), path],
                         check=True, capture_output=True, text=True).stdout
    visible = [int(line.split()[3]) for line in out.splitlines()]
    frames = np.fromfile(path, np.uint8).reshape(SYNTH_FRAMES, *SYNTH_SIZE, 3)
    os.remove(path)
    return frames, visible


def score_gap_margin(s, m_logit):
    """The smallest safe gap below float32 sigmoid scores s: m_logit in logit space (a trained
    RPN puts most anchors near 0 or 1, where an absolute score margin means nothing), and at
    least 4 float32 ulps (saturated scores round to the same float)."""
    s64 = s.double()
    ulp = torch.from_numpy(np.atleast_1d(np.spacing(s.float().numpy())).astype(np.float64))
    ulp = ulp.reshape(s.shape)
    return torch.maximum(s64 * (1 - s64) * m_logit, 4 * ulp)


def nms_gap_margins(b, scores, deep, thr, m_iou, m_logit, what, max_keep):
    """margins.nms_margin with score_gap_margin for the order of overlapping boxes and the cut;
    two scores that are both `deep` (exactly 1.0 in float32 whatever the rounding) tie in every
    implementation and are broken by index, as the reference and pcan both sort stably."""
    v = margins.nms_margin(b, scores, thr, m_iou, 0.0, what)   # the IoU checks only
    order = torch.sort(scores, descending=True, stable=True)[1]
    sb, ss, sd = b[order], scores[order], deep[order]
    gap = (ss.double()[:, None] - ss.double()[None, :]).abs()
    close = (gap < score_gap_margin(ss, m_logit)[:, None]) & ~(sd[:, None] & sd[None, :])
    same = (ss[:, None] == ss[None, :]) & (sb[:, None, :] == sb[None, :, :]).all(-1)
    iou = margins.iou_matrix(sb)
    bad = torch.triu(close & ~same & (iou > thr - m_iou), diagonal=1)
    if bad.any():
        i, j = torch.nonzero(bad)[0].tolist()
        v.append('%s: scores %.9g/%.9g of overlapping %d,%d too close' % (what, ss[i], ss[j], i, j))
    keep = ops.nms(b, scores, thr)
    if keep.numel() > max_keep:
        ks, ko = torch.sort(scores[keep], descending=True, stable=True)
        kd = deep[keep][ko]
        if (ks[max_keep - 1].double() - ks[max_keep].double()
                < score_gap_margin(ks[max_keep - 1], m_logit)) and not (kd[max_keep - 1]
                                                                        and kd[max_keep]):
            v.append('%s: cut at %d between close scores' % (what, max_keep))
    return v


def rpn_cand_logits(inter, cfg):
    """The RPN logit of every candidate of inter['rpn_cand'], in its order (per level the
    anchors of the stable top-nms_pre sort by sigmoid score, as model.rpn_candidates)."""
    k = cfg['rpn']['nms_pre']
    out = []
    for c in inter['rpn_cls']:
        lg = c.permute(1, 2, 0).reshape(-1)
        if lg.numel() > k:
            lg = lg[torch.sort(lg.sigmoid(), descending=True, stable=True)[1][:k]]
        out.append(lg)
    out = torch.cat(out)
    # (a vectorised and a scalar sigmoid may differ in the last bit)
    if not torch.allclose(out.sigmoid(), inter['rpn_cand'][1], rtol=1e-6, atol=0):
        raise AssertionError('rpn_cand_logits: the candidates are not the top-k anchors')
    return out


def prob_deep(p32, p64):
    """Probabilities that are exactly 1.0 in float32 with room: 1 - p (float64 run) under half of
    the rounding threshold 2^-25, i.e. 0.69 in logit from the edge."""
    return (p32 == 1.0) & ((1 - p64.double()) < 2.0 ** -26)


def score_margins(inter, inter64, cfg, m, m_logit):
    """margins.py's RPN top-k, RPN NMS, class NMS and tracker sort checks with score_gap_margin
    (and saturated ties allowed). RPN decisions below the last proposal's score cannot change the
    proposals (greedy NMS: a box only suppresses lower ones), so only candidates above it (less
    the margin) are checked."""
    v = []
    r, t = cfg['rpn'], cfg['test']
    boxes, scores, ids = inter['rpn_cand']
    deep = (scores == 1.0) & (rpn_cand_logits(inter, cfg) >= SAT_LOGIT)
    b = boxes + (ids.to(boxes) * (boxes.max() + 1))[:, None]
    keep = ops.nms(b, scores, r['nms_thr'])
    floor = -1.0
    if keep.numel() > r['max_per_img']:
        last = torch.sort(scores[keep], descending=True)[0][r['max_per_img'] - 1]
        floor = last.double() - score_gap_margin(last, m_logit)
    for lvl, c in enumerate(inter['rpn_cls']):
        lg = torch.sort(c.reshape(-1), descending=True)[0]
        s = lg.sigmoid()
        k = r['nms_pre']
        if (s.numel() > k and s[k - 1].double() >= floor
                and s[k - 1].double() - s[k].double() < score_gap_margin(s[k - 1], m_logit)
                and not lg[k] >= SAT_LOGIT):
            v.append('rpn top-k L%d: scores %.9g/%.9g at the cut too close' % (lvl, s[k - 1], s[k]))
    sub = scores.double() >= floor
    v += nms_gap_margins(b[sub], scores[sub], deep[sub], r['nms_thr'], m['iou'], m_logit,
                         'rpn nms', r['max_per_img'])
    sc = inter['scores'][:, :-1]
    sc64 = inter64['scores'][:, :-1]
    if sc.shape != sc64.shape:
        return v + ['float32 and float64 runs have different proposals']
    nc = sc.size(1)
    cand = torch.nonzero(sc.reshape(-1) > t['score_thr']).squeeze(1)
    if cand.numel():
        b = inter['det_all_bboxes'].reshape(-1, nc, 4).reshape(-1, 4)[cand]
        lab = torch.arange(nc).repeat(sc.size(0))[cand]
        b = b + (lab.to(b) * (b.max() + 1))[:, None]
        s, s64 = sc.reshape(-1)[cand], sc64.reshape(-1)[cand]
        v += nms_gap_margins(b, s, prob_deep(s, s64), t['nms_iou'], m['iou'], m_logit, 'det nms',
                             t['max_per_img'])
    if 'track' in inter:
        d, d64 = inter['det_bboxes'][:, 4], inter64['det_bboxes'][:, 4]
        if d.shape != d64.shape:
            return v + ['float32 and float64 runs have different detections']
        inds = inter['track']['inds']
        s, dp = d[inds], prob_deep(d[inds], d64[inds])
        gap = s[:-1].double() - s[1:].double()
        bad = (gap < score_gap_margin(s[:-1], m_logit)) & ~(dp[:-1] & dp[1:])
        if bad.any():
            i = int(torch.nonzero(bad)[0])
            v.append('tracker: detection scores %.9g/%.9g too close to sort' % (s[i], s[i + 1]))
    return v


def synth_check(model, frames_res, frames_res64, m_logit):
    """Violations of one video's frames: at least one detection per frame, every margin."""
    v = []
    for fi, (r, r64) in enumerate(zip(frames_res, frames_res64)):
        it = r['inter']
        if it['det_bboxes'].size(0) == 0:
            v.append('f%d: no detection' % fi)
            continue
        ms = [s for s in margins.frame_margins(it, model.cfg, MARGINS)
              if not s.startswith(('rpn top-k', 'rpn nms', 'det nms', 'tracker: detection scores'))]
        ms += score_margins(it, r64['inter'], model.cfg, MARGINS, m_logit)
        v += ['f%d %s' % (fi, s) for s in ms]
    return v


def synth_tensors(r, fi, mode):
    if mode == 'rank':
        return frame_tensors(r, 'final')
    if fi < SYNTH_CROP_FRAMES:
        return r50_tensors(r)
    d = frame_tensors(r, 'std')
    for k in SYNTH_ROWS_CUT:       # R' = the first SYNTH_ROWS kept detections, to stay small
        d[k] = d[k][:SYNTH_ROWS]
    return d


def synth_tolerances(r32, r64, mode, where):
    """Per-frame tolerances (float32 vs float64 as for tiny); raises ValueError when the two
    runs take different decisions or differ by more than SYNTH_AGREE of a dataset's magnitude."""
    out = []
    for fi, (a, b) in enumerate(zip(r32, r64)):
        d32, d64 = synth_tensors(a, fi, mode), synth_tensors(b, fi, mode)
        if set(d32) != set(d64):
            raise ValueError('%s f%d: float32/float64 store different datasets' % (where, fi))
        try:
            tol = tolerances(d32, d64, '%s f%d' % (where, fi))
        except SystemExit as e:
            raise ValueError(str(e))
        for k, t in tol.items():
            mag = d64[k].abs().max().item() if d64[k].numel() else 0.0
            if t > 10 * SYNTH_AGREE * max(mag, 1e-3):
                raise ValueError('%s f%d %s: float32 and float64 differ by %.3g (magnitude %.3g)'
                                 % (where, fi, k, t / 10, mag))
        out.append((d32, tol))
    return out


def logit_noise(r32, r64):
    """Largest |float32 - float64| of the RPN logits over a video's frames (they depend on no
    decision): the scale of the rounding a float32 port adds to the scores that decide orders."""
    worst = 0.0
    for a, b in zip(r32, r64):
        for x, y in zip(a['inter']['rpn_cls'], b['inter']['rpn_cls']):
            worst = max(worst, (x.double() - y).abs().max().item())
    return worst


def logit_margin(r32, r64):
    """The logit margin of score orders: SYNTH_SCORE_LOGIT or 10x the float32 logit rounding."""
    return max(SYNTH_SCORE_LOGIT, 10 * logit_noise(r32, r64))


def video_summary(frames_res):
    dets = [int(r['inter']['det_bboxes'].size(0)) for r in frames_res]
    tracks = [int(r['ids'].numel()) for r in frames_res]
    life = {}
    for r in frames_res:
        for i in r['ids'].tolist():
            life[i] = life.get(i, 0) + 1
    return dets, tracks, max(life.values()) if life else 0


def make_synth(out, model_path, tool, seeds):
    """Two videos of pcan synth through the shipped model: picks, over seeds and the videos of
    each set, videos whose every decision has a margin and whose float64 run agrees, preferring
    one with a re-identified track; then video mode for both, rank mode for the second."""
    if not os.path.exists(tool):
        raise SystemExit('synth fixture: %s missing (make fixtures builds it)' % tool)
    m = load_model(model_path)
    m64 = copy.deepcopy(m).double()
    F = SYNTH_FRAMES
    good = []
    tmpdir = tempfile.TemporaryDirectory(prefix='pcan-synth-fixture-')
    tmp = tmpdir.name
    for seed in seeds:
        for index in range(SYNTH_SET):
            frames, visible = synth_frames(tool, seed, index, tmp)
            res, ev = run_videos(m, [frames], 'video')
            res, ev = res[0], ev[0]
            dets, tracks, longest = video_summary(res)
            res64 = run_videos(m64, [frames], 'video')[0][0]
            try:
                m_logit = logit_margin(res, res64)
                bad = synth_check(m, res, res64, m_logit)
                if not bad and longest < F // 2:
                    bad = ['no track lives %d frames (longest %d)' % (F // 2, longest)]
                if not bad:
                    synth_tolerances(res, res64, 'video', 'seed %d video %d' % (seed, index))
            except ValueError as e:
                m_logit, bad = float('nan'), [str(e)]
            print('synth seed %d video %d: %d problems %s; detections %s, tracks %s, longest '
                  'track %d, events %s, logit margin %.3g'
                  % (seed, index, len(bad), bad[:2], dets, tracks, longest, ev, m_logit))
            sys.stdout.flush()
            if not bad:
                good.append(dict(seed=seed, index=index, frames=frames, visible=visible, res=res,
                                 res64=res64, events=ev, dets=dets, tracks=tracks,
                                 m_logit=m_logit))
        if len(good) >= SYNTH_SET and any(g['events']['refound'] for g in good):
            break
    tmpdir.cleanup()
    if len(good) < 2:
        raise SystemExit('synth fixture: only %d of the videos of seeds %s..%s satisfy the '
                         'constraints (margins, float64 agreement, a track of %d frames); try '
                         'more seeds (--synth-seeds) or a longer video (SYNTH_FRAMES)'
                         % (len(good), seeds[0], seed, F // 2))
    if not any(g['events']['refound'] for g in good):
        print('synth fixture: WARNING no candidate video re-identifies a track; the fixture '
              'has births, matches and losses only')
    # the richest tracker sequences first: re-identification, expiry, then most decisions
    good.sort(key=lambda g: (-(g['events']['refound'] > 0), -(g['events']['expired'] > 0),
                             -(g['events']['births'] + g['events']['matches'])))
    first = good[0]
    vids = good
    # rank mode: the second video after the first in one process; try partners in order
    for second in vids[1:]:
        pair = [first, second]
        rank, _ = run_videos(m, [g['frames'] for g in pair], 'rank')
        rank64, _ = run_videos(m64, [g['frames'] for g in pair], 'rank')
        try:
            rank_logit = logit_margin(rank[1], rank64[1])
            bad = synth_check(m, rank[1], rank64[1], rank_logit)
            if not bad:
                rank_tol = synth_tolerances(rank[1], rank64[1], 'rank', 'rank v1')
        except ValueError as e:
            bad = [str(e)]
        print('synth rank mode, seed %d video %d after seed %d video %d: %d problems %s'
              % (second['seed'], second['index'], first['seed'], first['index'], len(bad),
                 bad[:2]))
        if not bad:
            break
    else:
        raise SystemExit('synth fixture: no second video passes in rank mode')
    a = rank[1][-1]['inter']['refine']['pos_mu']
    b = second['res'][-1]['inter']['refine']['pos_mu']
    modes_differ = not torch.equal(a, b)

    weights_sha = sha256_file(model_path)
    cfg_text = m.cfg['_text']
    extra = dict(weights=os.path.basename(model_path), weights_sha256=weights_sha,
                 frames='pcan synth (tools/synth_frames.c), see v<i>_* attributes',
                 recipe='make fixtures (tools/make_fixtures.py make_synth)',
                 synth_difficulty=SYNTH_DIFFICULTY, synth_frames=np.int32(F),
                 prototype_memory_modes_differ=np.int32(modes_differ))
    for v, g in enumerate(pair):
        extra.update({'v%d_seed' % v: np.int64(g['seed']), 'v%d_index' % v: np.int32(g['index']),
                      'v%d_frames_sha256' % v: hashlib.sha256(g['frames'].tobytes()).hexdigest(),
                      'v%d_detections' % v: np.array(g['dets'], np.int32),
                      'v%d_tracks' % v: np.array(g['tracks'], np.int32),
                      'v%d_gt_visible' % v: np.array(g['visible'], np.int32),
                      'v%d_events' % v: repr(g['events']),
                      'v%d_logit_margin' % v: np.float64(g['m_logit'])})
    extra['rank_v1_logit_margin'] = np.float64(rank_logit)
    path = os.path.join(out, 'synth.outputs.h5')
    with new_h5(path, 'outputs', cfg_text, extra) as f:
        for v, g in enumerate(pair):
            for fi, (d, tol) in enumerate(synth_tolerances(g['res'], g['res64'], 'video',
                                                             'video v%d' % v)):
                write_group(f.create_group('video/v%d/f%03d' % (v, fi)), d, tol)
        for fi, (d, tol) in enumerate(rank_tol):
            write_group(f.create_group('rank/v1/f%03d' % fi), d, tol)
    size = os.path.getsize(path)
    print('synth fixture: seed %d video %d + seed %d video %d, %d bytes; modes differ: %s'
          % (pair[0]['seed'], pair[0]['index'], pair[1]['seed'], pair[1]['index'], size,
             modes_differ))
    for v, g in enumerate(pair):
        print('  v%d detections %s tracks %s gt %s events %s'
              % (v, g['dets'], g['tracks'], g['visible'], g['events']))
    if size > SYNTH_MAX_BYTES:
        raise SystemExit('synth fixture: %s is %d bytes, over %d; lower SYNTH_FRAMES or SYNTH_ROWS'
                         % (path, size, SYNTH_MAX_BYTES))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default='tests/fixtures')
    ap.add_argument('--only', choices=['tiny', 'r50', 'synth'])
    ap.add_argument('--seeds', type=int, nargs='+', default=list(range(4, 60)))
    ap.add_argument('--r50-frame-seeds', type=int, nargs='+', default=list(range(306, 320)))
    ap.add_argument('--synth-model', default=SYNTH_MODEL)
    ap.add_argument('--synth-frames', default='build/tools/synth_frames',
                    help='the frame dumper built by make (tools/synth_frames.c)')
    ap.add_argument('--synth-seeds', type=int, nargs='+', default=list(range(1, 16)))
    a = ap.parse_args()
    deterministic()
    os.makedirs(a.out, exist_ok=True)
    if a.only in (None, 'tiny'):
        make_tiny(a.out, a.seeds)
    if a.only in (None, 'r50'):
        make_r50(a.out, a.r50_frame_seeds)
    if a.only in (None, 'synth'):
        make_synth(a.out, a.synth_model, a.synth_frames, a.synth_seeds)


if __name__ == '__main__':
    main()
