"""Per-video runner: VideoTracker(model).step(rgb) -> results of one frame (PCAN-FACTS §2).

A VideoTracker owns all state that changes while videos play: the frame-level memory banks and
prototype initialisers (reset at every video start), the tracker (reset at every video start) and
the refine head's pos_mu/neg_mu buffers:
  prototype_memory='video'  reset them to the loaded values at every video start (pcan default;
                            a documented deviation from the official code),
  prototype_memory='rank'   never reset them: the official drift across the videos one process
                            runs, in order.
Call begin_video() before the first frame of each video (the constructor starts the first one).
step() returns a dict: ids (track id + 1, >= 1), labels, scores, boxes [n,4] (source pixels),
masks [n,H,W] bool, in the tracker's order (descending score), only detections with a track id;
with record=True also 'inter', a dict of every intermediate tensor (see make_fixtures.py).
"""
import torch

from .tracker import Tracker


class VideoTracker:
    def __init__(self, model, prototype_memory='video'):
        if prototype_memory not in ('video', 'rank'):
            raise ValueError('prototype_memory must be video or rank')
        self.model = model
        self.mode = prototype_memory
        rh = model.roi_head.refine_head
        self.pos_mu, self.neg_mu = rh.pos_mu.clone(), rh.neg_mu.clone()
        self.begin_video()

    def begin_video(self):
        self.frame_id = 0
        self.tracker = Tracker(self.model.cfg)
        self.banks = self.mus = None
        if self.mode == 'video':
            rh = self.model.roi_head.refine_head
            self.pos_mu, self.neg_mu = rh.pos_mu.clone(), rh.neg_mu.clone()

    @torch.no_grad()
    def step(self, rgb, record=False):
        m = self.model
        cfg = m.cfg
        inter = {}
        img, meta = m.preprocess(rgb)
        stem, cs = m.backbone(img)
        feats = m.neck(cs)
        if self.frame_id == 0:
            nl = cfg['pcam']['levels']
            self.banks = feats[:nl]
            self.mus = [getattr(m, 'mu%d' % i) for i in range(nl)]
        fused, self.banks, self.mus, protos = m.frame_pcam(feats, self.banks, self.mus)
        proposals, rpn_out = m.rpn_proposals(fused, meta)
        dets, labels, det_out = m.detect(fused, proposals, meta)
        if record:
            inter.update(input=img[0], resized=meta['resized'], stem=stem[0],
                         backbone=[c[0] for c in cs], fpn=[f[0] for f in feats],
                         fused=[f[0] for f in fused], frame_protos=[p[0] for p in protos],
                         frame_mus=[u[0] for u in self.mus], banks=[b[0] for b in self.banks],
                         rpn_cls=[c[0] for c in rpn_out['rpn_cls']],
                         rpn_reg=[r[0] for r in rpn_out['rpn_reg']], proposals=proposals,
                         rpn_cand=(rpn_out['cand_boxes'], rpn_out['cand_scores'],
                                   rpn_out['cand_ids']),
                         det_bboxes=dets, det_labels=labels, scores=det_out['scores'],
                         det_all_bboxes=det_out['bboxes'], roi_levels=det_out['roi_levels'],
                         cls_score=det_out['cls_score'],
                         meta=meta)
        h, w = meta['ori_shape']
        empty = dict(ids=torch.zeros(0, dtype=torch.long), labels=torch.zeros(0, dtype=torch.long),
                     scores=dets.new_zeros(0), boxes=dets.new_zeros((0, 4)),
                     masks=torch.zeros((0, h, w), dtype=torch.bool))
        if dets.size(0) == 0:
            # no detections: the tracker is neither matched nor updated, buffers untouched
            self.frame_id += 1
            if record:
                empty['inter'] = inter
            return empty
        mask_feats, mask_pred = m.mask_forward(fused, dets, meta)
        embeds = m.track_forward(fused, dets, meta)
        r = self.tracker.match(dets, labels, mask_pred, mask_feats, embeds)
        kl = r['labels']
        idx = torch.arange(kl.numel())
        ref = m.roi_head.refine_head.run(r['ref_feats'], r['ref_masks'][idx, kl][:, None],
                                         r['mask_feats'], r['mask_preds'][idx, kl][:, None],
                                         self.pos_mu, self.neg_mu)
        self.pos_mu, self.neg_mu = ref['pos_mu'], ref['neg_mu']
        probs = m.paste(ref['refine_pred'], r['bboxes'], meta)
        masks = probs >= cfg['test']['mask_thr']
        self.tracker.update_memo(r['ids'], r['bboxes'], kl, r['mask_preds'], r['mask_feats'],
                                 ref['refine_pred'], r['embeds'], self.frame_id)
        if record:
            inter.update(mask_feats=mask_feats, mask_pred=mask_pred, embeds=embeds,
                         track=dict(r, **self.tracker.last), refine=ref, mask_probs=probs,
                         masks=masks)
        self.frame_id += 1
        out = r['ids'] >= 0
        res = dict(ids=r['ids'][out] + 1, labels=kl[out], scores=r['bboxes'][out, 4],
                   boxes=r['bboxes'][out, :4], masks=masks[out])
        if record:
            res['inter'] = inter
        return res
