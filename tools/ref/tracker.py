"""QDTrack-style tracker of PCAN at test time (QuasiDenseSegFeatEmbedTracker), PCAN-FACTS §4.

One Tracker per video. match() returns the kept detections in descending score order with their
ids (-1 unmatched, >= 0 track id; -2 is unreachable with the released thresholds but kept) and the
reference (mask_feat, mask_pred) for the refine head; update_memo() stores the frame. Besides the
results, match() fills `self.last` with every decision it made (for fixtures and tests).
"""
import collections

import torch

from .ops import bbox_overlaps


class Tracker:
    def __init__(self, cfg):
        t = cfg['tracker']
        self.init_score_thr = t['init_score_thr']
        self.obj_score_thr = t['obj_score_thr']
        self.match_score_thr = t['match_score_thr']
        self.memo_tracklet_frames = t['memo_tracklet_frames']
        self.memo_backdrop_frames = t['memo_backdrop_frames']
        self.memo_momentum = t['memo_momentum']
        self.nms_conf_thr = t['nms_conf_thr']
        self.nms_backdrop_iou_thr = t['nms_backdrop_iou_thr']
        self.nms_class_iou_thr = t['nms_class_iou_thr']
        self.with_cats = t['with_cats']
        self.num_tracklets = 0
        self.tracklets = collections.OrderedDict()
        self.backdrops = []
        self.last = {}

    def _memo(self):
        """Tracklets in insertion order, then backdrop groups (newest first)."""
        ids, embeds, labels, feats, masks = [], [], [], [], []
        for k, v in self.tracklets.items():
            ids.append(torch.tensor([k]))
            embeds.append(v['embed'][None])
            labels.append(v['label'].view(1))
            feats.append(v['mask_feat'][None])
            masks.append(v['mask_pred'][None])
        for b in self.backdrops:
            ids.append(torch.full((b['embeds'].size(0),), -1, dtype=torch.long))
            embeds.append(b['embeds'])
            labels.append(b['labels'])
            feats.append(b['mask_feats'])
            masks.append(b['mask_preds'])
        return (torch.cat(ids), torch.cat(embeds), torch.cat(labels), torch.cat(feats),
                torch.cat(masks))

    def match(self, bboxes, labels, mask_preds, mask_feats, embeds):
        """bboxes [n,5] (x1,y1,x2,y2,score, source pixels), labels [n], mask_preds [n,C,28,28],
        mask_feats [n,Cf,14,14], embeds [n,E]; n >= 1 (the caller skips empty frames)."""
        inds = torch.sort(bboxes[:, 4], descending=True, stable=True)[1]
        bboxes, labels = bboxes[inds], labels[inds]
        mask_preds, mask_feats, embeds = mask_preds[inds], mask_feats[inds], embeds[inds]

        # duplicate removal against every earlier detection, removed ones included
        n = bboxes.size(0)
        valids = torch.ones(n, dtype=torch.bool)
        ious = bbox_overlaps(bboxes[:, :4], bboxes[:, :4])
        for i in range(1, n):
            thr = (self.nms_backdrop_iou_thr if bboxes[i, 4] < self.obj_score_thr
                   else self.nms_class_iou_thr)
            if (ious[i, :i] > thr).any():
                valids[i] = False
        bboxes, labels = bboxes[valids], labels[valids]
        mask_preds, mask_feats, embeds = mask_preds[valids], mask_feats[valids], embeds[valids]

        n = bboxes.size(0)
        ids = torch.full((n,), -1, dtype=torch.long)
        ref_feats, ref_masks = mask_feats.clone(), mask_preds.clone()
        scores = None
        memo_ids = torch.zeros(0, dtype=torch.long)
        conf = torch.zeros(n, dtype=bboxes.dtype)
        second = torch.zeros(n, dtype=bboxes.dtype)   # runner-up of the row, for margin checks
        memo_ind = torch.full((n,), -1, dtype=torch.long)
        if n > 0 and len(self.tracklets) > 0:
            memo_ids, memo_embeds, memo_labels, memo_feats, memo_masks = self._memo()
            f = embeds @ memo_embeds.t()
            scores = (f.softmax(dim=1) + f.softmax(dim=0)) / 2
            if self.with_cats:
                scores = scores * (labels[:, None] == memo_labels[None, :]).to(scores.dtype)
            raw_scores = scores.clone()
            for i in range(n):
                c, j = torch.max(scores[i], dim=0)
                conf[i], memo_ind[i] = c, j
                if scores.size(1) > 1:
                    second[i] = torch.topk(scores[i], 2)[0][1]
                if c > self.match_score_thr:
                    mid = int(memo_ids[j])
                    if mid > -1:
                        if bboxes[i, 4] > self.obj_score_thr:
                            ids[i] = mid
                            scores[:i, j] = 0
                            scores[i + 1:, j] = 0
                            ref_feats[i] = memo_feats[j]
                            ref_masks[i] = memo_masks[j]
                        elif c > self.nms_conf_thr:
                            ids[i] = -2
            scores = raw_scores
        matched = ids.clone()
        new = (ids == -1) & (bboxes[:, 4] > self.init_score_thr)
        num_new = int(new.sum())
        ids[new] = torch.arange(self.num_tracklets, self.num_tracklets + num_new)
        self.num_tracklets += num_new
        self.last = dict(inds=inds, valids=valids, match_scores=scores, memo_ids=memo_ids,
                         conf=conf, second=second, memo_ind=memo_ind, matched_ids=matched, new=new)
        return dict(bboxes=bboxes, labels=labels, mask_preds=mask_preds, mask_feats=mask_feats,
                    embeds=embeds, ids=ids, ref_feats=ref_feats, ref_masks=ref_masks,
                    inds=inds, valids=valids)

    def update_memo(self, ids, bboxes, labels, mask_preds, mask_feats, refine_preds, embeds,
                    frame_id):
        for k in range(ids.numel()):
            tid = int(ids[k])
            if tid < 0:
                continue
            if tid in self.tracklets:
                t = self.tracklets[tid]
                velocity = (bboxes[k] - t['bbox']) / (frame_id - t['last_frame'])
                t['bbox'], t['mask_pred'], t['mask_feat'] = bboxes[k], mask_preds[k], mask_feats[k]
                t['refine_pred'] = refine_preds[k]
                t['embed'] = (1 - self.memo_momentum) * t['embed'] + self.memo_momentum * embeds[k]
                t['last_frame'], t['label'] = frame_id, labels[k]
                t['velocity'] = (t['velocity'] * t['acc_frame'] + velocity) / (t['acc_frame'] + 1)
                t['acc_frame'] += 1
            else:
                self.tracklets[tid] = dict(
                    bbox=bboxes[k], mask_pred=mask_preds[k], mask_feat=mask_feats[k],
                    refine_pred=refine_preds[k], embed=embeds[k], label=labels[k],
                    last_frame=frame_id, velocity=torch.zeros_like(bboxes[k]), acc_frame=0)

        bd = torch.nonzero(ids == -1).squeeze(1)
        ious = bbox_overlaps(bboxes[bd, :4], bboxes[:, :4])
        keep = [int(ind) for i, ind in enumerate(bd)
                if not (ious[i, :ind] > self.nms_backdrop_iou_thr).any()]
        keep = torch.tensor(keep, dtype=torch.long)
        self.backdrops.insert(0, dict(bboxes=bboxes[keep], labels=labels[keep],
                                      mask_preds=mask_preds[keep], mask_feats=mask_feats[keep],
                                      refine_preds=refine_preds[keep], embeds=embeds[keep]))
        for k in [k for k, v in self.tracklets.items()
                  if frame_id - v['last_frame'] >= self.memo_tracklet_frames]:
            del self.tracklets[k]
        if len(self.backdrops) > self.memo_backdrop_frames:
            self.backdrops.pop()
        self.last['backdrop_inds'] = keep
