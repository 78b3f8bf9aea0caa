"""Decision-margin checks for fixtures: every discrete decision of a recorded frame must be farther
than a margin from its threshold, so that the C port (whose float32 results differ by rounding)
takes the same decisions. Each function returns a list of violation strings (empty = fine)."""
import math

import torch

from . import ops


def iou_matrix(b):
    b = b.double()
    return ops.bbox_overlaps(b, b)


def nms_margin(boxes, scores, thr, m_iou, m_s, what, max_keep=None):
    """boxes as the NMS sees them (offsets added), scores; greedy strict NMS."""
    v = []
    keep = ops.nms(boxes, scores, thr)
    order = torch.sort(scores, descending=True, stable=True)[1]
    kept = torch.zeros(scores.numel(), dtype=torch.bool)
    kept[keep] = True
    b, s, k = boxes[order], scores[order].double(), kept[order]
    iou = iou_matrix(b)
    near = (iou - thr).abs() < m_iou
    near &= k[:, None]                                   # only kept boxes suppress
    near = torch.triu(near, diagonal=1)
    if near.any():
        i, j = torch.nonzero(near)[0].tolist()
        v.append('%s: IoU %.7f of kept %d vs %d near %g' % (what, iou[i, j], i, j, thr))
    # near-equal scores whose order matters (they overlap enough to interact)
    # (exact duplicates - same box, same score - are harmless: either one gives the same output)
    ds = (s[:, None] - s[None, :]).abs() < m_s
    same = (s[:, None] == s[None, :]) & (b[:, None, :] == b[None, :, :]).all(-1)
    inter = torch.triu(ds & ~same & (iou > thr - m_iou), diagonal=1)
    if inter.any():
        i, j = torch.nonzero(inter)[0].tolist()
        v.append('%s: scores %.8f/%.8f of overlapping %d,%d too close' % (what, s[i], s[j], i, j))
    if max_keep is not None and keep.numel() > max_keep:
        ks = scores[keep].double()
        if ks[max_keep - 1] - ks[max_keep] < m_s:
            v.append('%s: cut at %d between close scores' % (what, max_keep))
    return v


def topk_margin(scores, k, m_s, what):
    if scores.numel() <= k:
        return []
    s = torch.sort(scores.double(), descending=True)[0]
    return [] if s[k - 1] - s[k] >= m_s else ['%s: top-%d cut between close scores' % (what, k)]


def threshold_margin(values, thr, m, what):
    d = (values.double() - thr).abs()
    if d.numel() and d.min() < m:
        return ['%s: value %.8f within %g of %g' % (what, values.reshape(-1)[d.argmin()], m, thr)]
    return []


def level_margin(boxes, finest, num_levels, m, what):
    """RoI level = floor(log2(sqrt(area)/finest + 1e-6)) must not sit at an integer."""
    b = boxes.double()
    x = torch.log2(torch.sqrt((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])) / finest + 1e-6)
    x = x[(x > 0.5) & (x < num_levels - 0.5)]
    d = (x - torch.round(x)).abs()
    if d.numel() and d.min() < m:
        return ['%s: RoI level value %.8f at a level boundary' % (what, x[d.argmin()])]
    return []


def sample_count_margin(boxes, strides, lvls, out, m, what):
    """RoIAlign's adaptive sample count ceil(roi/out) must not sit at an integer."""
    v = []
    for i, s in enumerate(strides):
        b = boxes[lvls == i].double() / s
        for x in ((b[:, 2] - b[:, 0]) / out, (b[:, 3] - b[:, 1]) / out):
            x = x[x > 0.5]
            d = (x - torch.round(x)).abs()
            if d.numel() and d.min() < m:
                v.append('%s: RoIAlign grid size %.8f near an integer' % (what, x[d.argmin()]))
    return v


def frame_margins(inter, cfg, m):
    """All checks for one recorded frame. m: dict with keys score, iou, conf, logit, level."""
    v = []
    r, roi, t, tr = cfg['rpn'], cfg['roi'], cfg['test'], cfg['tracker']
    for lvl, c in enumerate(inter['rpn_cls']):
        v += topk_margin(c.reshape(-1).sigmoid(), r['nms_pre'], m['score'], 'rpn top-k L%d' % lvl)
    boxes, scores, ids = inter['rpn_cand']
    off = ids.to(boxes) * (boxes.max() + 1)
    v += nms_margin(boxes + off[:, None], scores, r['nms_thr'], m['iou'], m['score'], 'rpn nms',
                    r['max_per_img'])
    props = inter['proposals'][:, :4]
    v += level_margin(props, roi['finest_scale'], 4, m['level'], 'bbox rois')
    v += sample_count_margin(props, roi['featmap_strides'], inter['roi_levels'],
                             roi['bbox_roi_size'], m['level'], 'bbox rois')
    sc = inter['scores'][:, :-1]
    v += threshold_margin(sc, t['score_thr'], m['score'], 'det score_thr')
    nc = sc.size(1)
    cand = torch.nonzero(sc.reshape(-1) > t['score_thr']).squeeze(1)
    if cand.numel():
        b = inter['det_all_bboxes'].reshape(-1, nc, 4).reshape(-1, 4)[cand]
        s = sc.reshape(-1)[cand]
        lab = torch.arange(nc).repeat(sc.size(0))[cand]
        off = lab.to(b) * (b.max() + 1)
        v += nms_margin(b + off[:, None], s, t['nms_iou'], m['iou'], m['score'], 'det nms',
                        t['max_per_img'])
    if 'track' not in inter:
        return v
    dets = inter['det_bboxes']
    sf = inter['meta']['scale_factor']
    nb = dets[:, :4] * sf
    lv = ops.map_roi_levels(nb, roi['finest_scale'], 4)
    v += level_margin(nb, roi['finest_scale'], 4, m['level'], 'det rois')
    v += sample_count_margin(nb, roi['featmap_strides'], lv, roi['mask_roi_size'], m['level'],
                             'mask rois')
    v += sample_count_margin(nb, roi['featmap_strides'], lv, roi['bbox_roi_size'], m['level'],
                             'track rois')
    k = inter['track']
    s = dets[k['inds'], 4].double()
    if s.numel() > 1 and (s[:-1] - s[1:]).min() < m['score']:
        v.append('tracker: detection scores too close to sort')
    iou = iou_matrix(dets[k['inds'], :4])
    v += threshold_margin(torch.triu(iou, 1)[torch.triu(torch.ones_like(iou), 1) > 0],
                          tr['nms_class_iou_thr'], m['iou'], 'tracker duplicate IoU')
    v += threshold_margin(k['bboxes'][:, 4], tr['init_score_thr'], m['score'], 'tracker init')
    v += threshold_margin(k['bboxes'][:, 4], tr['obj_score_thr'], m['score'], 'tracker obj')
    if k['match_scores'] is not None:
        v += threshold_margin(k['conf'], tr['match_score_thr'], m['conf'], 'match conf')
        gap = k['conf'].double() - k['second'].double()
        hot = k['conf'] > tr['match_score_thr']
        if hot.any() and gap[hot].min() < m['conf']:
            v.append('match: best and second-best memo entries too close')
    bd = torch.nonzero(k['ids'] == -1).squeeze(1)
    if bd.numel():
        kiou = iou_matrix(k['bboxes'][:, :4])
        for i in bd.tolist():
            v += threshold_margin(kiou[i, :i], tr['nms_backdrop_iou_thr'], m['iou'],
                                  'backdrop IoU')
    ref = inter['refine']
    v += threshold_margin(ref['m_a'], 0.0, m['logit'], 'refine ref-mask binarisation')
    v += threshold_margin(ref['m_b'], 0.0, m['logit'], 'refine key-mask binarisation')
    return v


def check_finite_o1(name, t, lo=1e-3, hi=1e3):
    """Activations finite with an RMS in [lo, hi]."""
    t = t.double()
    if not torch.isfinite(t).all():
        return ['%s: not finite' % name]
    rms = math.sqrt(float((t * t).mean())) if t.numel() else 0.0
    return [] if lo <= rms <= hi else ['%s: RMS %.3g outside [%g, %g]' % (name, rms, lo, hi)]
