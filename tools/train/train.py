"""Train the reference PCAN (tools/ref) on `pcan synth --jpeg` data; see tools/README.md.

    /usr/bin/python3 tools/train/train.py --data DIR[,DIR...] --work WORKDIR [--iters N]
        [--minutes 45] [--seed 0] [--config tools/train/synth-small.yaml]
    stage 2: ... --init STAGE1/ckpt.pt --only-refine --bn-freeze-iter 0 (the refine head alone)

Every iteration takes `--pairs` key/reference frame pairs (same video, |dt| <= 3, both flipped or
not), runs both frames through the backbone/FPN, the frame-level PCAM (the reference frame's
features are the key frame's memory; a reference frame is its own memory, as a video's first
frame), and sums the official training losses on both frames:
  RPN   sigmoid CE on 256 sampled anchors (IoU >= 0.7 / < 0.3, best anchor per object), smooth L1
  box   softmax CE + smooth L1 on 128 sampled RoIs (IoU >= 0.5, 25 % positive, GT boxes added)
  mask  per-pixel BCE of the GT-class channel on the positive RoIs (at most 16 per frame),
        28x28 RoIAligned GT targets
  track quasi-dense: up to 16 key RoIs with IoU >= 0.7 against 64 sampled reference RoIs
        (positive: same object, IoU >= 0.7; negative: IoU < 0.3), multi-positive cross-entropy (x0.25) + L2 on cosine
        similarity with at most 3 negatives per positive (QDTrack)
  refine instance PCAM (EMMatchHeadPlus): up to 16 key positive RoIs + a reference positive RoI of the same
        object, FCN mask logits of both (detached), BCE of the refined 28x28 logits
BatchNorm trains in batch mode (2 frames of one video) for --bn-freeze-iter iterations; then its
statistics are recalibrated over 192 frames and BN stays in eval mode (batch statistics of two
frames of one video are far from the population's, and inference uses the latter).
The refine head's pos_mu/neg_mu follow the inference momentum update while training; the frame
memory initialisers mu0..mu4 stay at their l2-normalised random initial values.
Checkpoints (WORKDIR/ckpt.pt, every --ckpt-minutes and at the end) hold model, optimiser, RNG
states and the iteration; rerunning the same command resumes. WORKDIR/train.log gets the losses.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
from ref import PCAN, load_config  # noqa: E402
from ref import ops  # noqa: E402
from ref.model import em, l2norm  # noqa: E402
import data as synthdata  # noqa: E402


# ---------------------------------------------------------------- targets
def encode(rois, gt, stds):
    """Inverse of ops.delta2bbox (mmdet DeltaXYWHBBoxCoder, means 0)."""
    pw, ph = rois[:, 2] - rois[:, 0], rois[:, 3] - rois[:, 1]
    px, py = rois[:, 0] + 0.5 * pw, rois[:, 1] + 0.5 * ph
    gw, gh = gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]
    gx, gy = gt[:, 0] + 0.5 * gw, gt[:, 1] + 0.5 * gh
    d = torch.stack([(gx - px) / pw, (gy - py) / ph, torch.log(gw / pw), torch.log(gh / ph)], 1)
    return d / d.new_tensor(stds)


def assign(boxes, gt, pos_thr, neg_thr, min_pos=None):
    """-> gt index per box (-1 negative, -2 ignored between thresholds), max IoU."""
    n = boxes.size(0)
    if gt.size(0) == 0:
        return torch.full((n,), -1, dtype=torch.long), boxes.new_zeros(n)
    iou = torchvision.ops.box_iou(boxes, gt)
    best, arg = iou.max(1)
    a = torch.full((n,), -2, dtype=torch.long)
    a[best < neg_thr] = -1
    a[best >= pos_thr] = arg[best >= pos_thr]
    if min_pos is not None:  # every object gets its best anchors (mmdet gt_max_assign_all)
        gbest = iou.max(0).values
        for g in range(gt.size(0)):
            if gbest[g] >= min_pos:
                hit = iou[:, g] == gbest[g]
                a[hit] = g
    return a, best


def sample(a, num, pos_frac, gen):
    pos = torch.nonzero(a >= 0).squeeze(1)
    neg = torch.nonzero(a == -1).squeeze(1)
    npos = min(pos.numel(), int(num * pos_frac))
    pos = pos[torch.randperm(pos.numel(), generator=gen)[:npos]]
    neg = neg[torch.randperm(neg.numel(), generator=gen)[:num - npos]]
    return pos, neg


# ---------------------------------------------------------------- one image's ground truth
def frame_gt(ids):
    """int16 id map [H,W] -> boxes [G,4] (x1,y1,x2,y2 px, exclusive), labels [G] (0-based),
    object ids [G], masks [G,H,W] float."""
    boxes, labels, oids, masks = [], [], [], []
    for oid in np.unique(ids):
        if oid == 0 or oid >= 10000:
            continue
        m = ids == oid
        ys, xs = np.nonzero(m)
        if ys.size < 8:
            continue
        boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        labels.append(oid // 1000 - 1)
        oids.append(int(oid))
        masks.append(m)
    h, w = ids.shape
    if not boxes:
        return (torch.zeros(0, 4), torch.zeros(0, dtype=torch.long),
                torch.zeros(0, dtype=torch.long), torch.zeros(0, h, w))
    return (torch.tensor(boxes, dtype=torch.float32), torch.tensor(labels),
            torch.tensor(oids), torch.from_numpy(np.stack(masks).astype(np.float32)))


# ---------------------------------------------------------------- the trainer
class Trainer:
    def __init__(self, model, cfg):
        self.m, self.cfg = model, cfg
        self.mean = torch.tensor(cfg['input']['mean'], dtype=torch.float32)[:, None, None]
        self.std = torch.tensor(cfg['input']['std'], dtype=torch.float32)[:, None, None]

    def features(self, imgs):
        """imgs uint8 [B,H,W,3] (pairs: key, ref, key, ref, ...) -> fused P2..P6."""
        x = torch.from_numpy(np.ascontiguousarray(imgs)).float().permute(0, 3, 1, 2)
        x = (x - self.mean) / self.std
        d = self.cfg['input']['pad_divisor']
        h, w = x.shape[2:]
        x = F.pad(x, (0, -(-w // d) * d - w, 0, -(-h // d) * d - h))
        _, cs = self.m.backbone(x)
        feats = list(self.m.neck(cs))
        pc = self.cfg['pcam']
        for lvl in range(pc['levels']):
            f = feats[lvl]
            B, C, H, W = f.shape
            with torch.no_grad():  # memory: the reference frame (its own for reference frames)
                bank = f.detach().view(B // 2, 2, C, H * W)[:, 1]
                bank = bank.repeat_interleave(2, 0)
                mu = getattr(self.m, 'mu%d' % lvl).expand(B, C, -1)
                protos = em(bank, mu, pc['iterations'])
            xf = f.view(B, C, -1)
            att = F.softmax(torch.bmm(xf.transpose(1, 2), protos), dim=2)
            r = torch.bmm(protos, att.transpose(1, 2)).view(B, C, H, W)
            feats[lvl] = f * 0.75 + r * 0.25
        return feats

    def rpn(self, feats, gts, gen, img_shape):
        r = self.cfg['rpn']
        cls, reg = self.m.rpn_head(feats)
        anchors = [ops.grid_anchors(r['anchor_strides'][i], c.size(2), c.size(3),
                                    r['anchor_scales'], r['anchor_ratios']) for i, c in
                   enumerate(cls)]
        all_a = torch.cat(anchors)
        B = cls[0].size(0)
        cls_f = torch.cat([c.permute(0, 2, 3, 1).reshape(B, -1) for c in cls], 1)
        reg_f = torch.cat([d.permute(0, 2, 3, 1).reshape(B, -1, 4) for d in reg], 1)
        lc, lr = 0.0, 0.0
        proposals = []
        for b in range(B):
            gb = gts[b][0]
            a, _ = assign(all_a, gb, 0.7, 0.3, min_pos=0.3)
            pos, neg = sample(a, 256, 0.5, gen)
            idx = torch.cat([pos, neg])
            tgt = torch.zeros(idx.numel())
            tgt[:pos.numel()] = 1
            lc = lc + F.binary_cross_entropy_with_logits(cls_f[b, idx], tgt, reduction='sum') / 256
            if pos.numel():
                t = encode(all_a[pos], gb[a[pos]], [1.0] * 4)
                lr = lr + F.smooth_l1_loss(reg_f[b, pos], t, beta=1 / 9, reduction='sum') / 256
            with torch.no_grad():  # proposals: per level top 400, NMS 0.7, 300 kept
                bs, ss, ls = [], [], []
                start = 0
                for lvl, an in enumerate(anchors):
                    n = an.size(0)
                    s = cls_f[b, start:start + n].sigmoid()
                    k = min(400, n)
                    s, o = s.topk(k)
                    bs.append(ops.delta2bbox(an[o], reg_f[b, start:start + n][o], [1.0] * 4,
                                             img_shape))
                    ss.append(s)
                    ls.append(torch.full((k,), lvl))
                    start += n
                bx, sc, lv = torch.cat(bs), torch.cat(ss), torch.cat(ls)
                ok = ((bx[:, 2] - bx[:, 0]) > 1) & ((bx[:, 3] - bx[:, 1]) > 1)
                bx, sc, lv = bx[ok], sc[ok], lv[ok]
                keep = torchvision.ops.batched_nms(bx, sc, lv, 0.7)[:300]
                proposals.append(torch.cat([bx[keep], gb]))
        return lc / B, lr / B, proposals

    def roi_losses(self, feats, gts, proposals, gen):
        r = self.cfg['roi']
        nc = len(self.cfg['classes'])
        B = len(gts)
        rois, bidx, labels, tdeltas, pos_mask = [], [], [], [], []
        trk = []  # per image: (boxes, object id or -1) for the track head
        for b in range(B):
            gb, gl, go, _ = gts[b]
            p = proposals[b]
            a, iou = assign(p, gb, 0.5, 0.5)
            pos, neg = sample(a, 128, 0.25, gen)
            idx = torch.cat([pos, neg])
            rois.append(p[idx])
            bidx.append(torch.full((idx.numel(),), b))
            lab = torch.full((idx.numel(),), nc, dtype=torch.long)
            lab[:pos.numel()] = gl[a[pos]]
            labels.append(lab)
            td = torch.zeros(idx.numel(), 4)
            if pos.numel():
                td[:pos.numel()] = encode(p[pos], gb[a[pos]], r['bbox_stds'])
            tdeltas.append(td)
            pm = torch.zeros(idx.numel(), dtype=torch.long) - 1
            pm[:pos.numel()] = a[pos]
            pos_mask.append(pm)
            # track RoIs: positives IoU >= 0.7, negatives < 0.3 (QDTrack's track sampler)
            ta, _ = assign(p, gb, 0.7, 0.3)
            tp, tn = sample(ta, 64, 0.5, gen)
            tid = torch.full((tp.numel() + tn.numel(),), -1, dtype=torch.long)
            tid[:tp.numel()] = go[ta[tp]]
            trk.append((p[torch.cat([tp, tn])], tid, tp.numel()))
        # box head
        feats4 = feats[:4]
        loss = {}
        bf = self.extract(feats4, rois, bidx, r['bbox_roi_size'])
        cls_score, bbox_pred = self.m.roi_head.bbox_head(bf)
        lab = torch.cat(labels)
        loss['cls'] = F.cross_entropy(cls_score, lab)
        posi = torch.nonzero(lab < nc).squeeze(1)
        if posi.numel():
            bp = bbox_pred.view(-1, nc, 4)[posi, lab[posi]]
            loss['box'] = F.smooth_l1_loss(bp, torch.cat(tdeltas)[posi], beta=1.0,
                                           reduction='sum') / lab.numel()
        # mask head on the positives (at most 16 per image)
        mrois, mb, mgi = [], [], []
        for b in range(B):
            pm = pos_mask[b]
            k = torch.nonzero(pm >= 0).squeeze(1)[:16]
            mrois.append(rois[b][k])
            mb.append(torch.full((k.numel(),), b))
            mgi.append(pm[k])
        mfeat = self.extract(feats4, mrois, mb, r['mask_roi_size'])
        mask_pred = self.m.roi_head.mask_head(mfeat) if mfeat.size(0) else None
        mlab, mtgt = [], []
        for b in range(B):
            gb, gl, go, gm = gts[b]
            if mrois[b].size(0) == 0:
                continue
            mlab.append(gl[mgi[b]])
            nb = mrois[b].size(0)
            boxes = torch.cat([torch.arange(nb, dtype=torch.float32)[:, None], mrois[b]], 1)
            t = torchvision.ops.roi_align(gm[mgi[b]][:, None], boxes, 28, 1.0, 0, True)
            mtgt.append((t[:, 0] >= 0.5).float())
        info = dict(mfeat=mfeat, mask_pred=mask_pred, mrois=mrois, mb=mb)
        if mask_pred is not None:
            ml = torch.cat(mlab)
            mt = torch.cat(mtgt)
            mp = mask_pred[torch.arange(ml.numel()), ml]
            loss['mask'] = F.binary_cross_entropy_with_logits(mp, mt)
            info.update(mlab=ml, mtgt=mt,
                        moid=torch.cat([gts[b][2][mgi[b]] for b in range(B)]))
        # quasi-dense embeddings: pairs (key 2i, ref 2i+1)
        lt = []
        for i in range(B // 2):
            kb, kid, kp = trk[2 * i]
            rb, rid, _ = trk[2 * i + 1]
            kp = min(kp, 16)
            kb, kid = kb[:kp], kid[:kp]
            if kp == 0 or rb.size(0) == 0:
                continue
            ke = self.m.roi_head.track_head(self.extract(feats4, [kb], [torch.full((kp,), 2 * i)],
                                                          r['bbox_roi_size']))
            re = self.m.roi_head.track_head(self.extract(
                feats4, [rb], [torch.full((rb.size(0),), 2 * i + 1)], r['bbox_roi_size']))
            tgt = (kid[:, None] == rid[None, :]) & (rid[None, :] >= 0)
            ok = tgt.any(1)
            if not ok.any():
                continue
            ke, tgt = ke[ok], tgt[ok].float()
            dots = ke @ re.t()
            # multi-positive CE: log(1 + sum_{p,n} exp(s_n - s_p))
            pos_t = dots.masked_fill(tgt == 0, float('inf'))
            neg_t = dots.masked_fill(tgt == 1, float('-inf'))
            diff = neg_t[:, None, :] - pos_t[:, :, None]  # [K,P,N] (inf-masked -> -inf)
            diff = diff.flatten(1)
            diff = torch.cat([diff, diff.new_zeros(diff.size(0), 1)], 1)
            lce = torch.logsumexp(diff, 1).mean()
            cos = l2norm(ke, 1) @ l2norm(re, 1).t()
            npos = int(tgt.sum())
            negs = cos[tgt == 0]
            negs = negs.topk(min(negs.numel(), 3 * npos)).values
            l2 = (torch.cat([(cos[tgt == 1] - 1) ** 2, negs ** 2])).mean()
            lt.append(0.25 * lce + l2)
        if lt:
            loss['track'] = sum(lt) / len(lt)
        return loss, info

    @staticmethod
    def extract(feats4, rois, bidx, size):
        """RoIAlign over a batch: like ops.roi_extract (same level mapping), batch index kept."""
        r = torch.cat(rois)
        b = torch.cat(bidx).float()
        out = feats4[0].new_zeros((r.size(0), feats4[0].size(1), size, size))
        if r.size(0) == 0:
            return out
        lv = ops.map_roi_levels(r, 56, 4)
        for i in range(4):
            k = torch.nonzero(lv == i).squeeze(1)
            if k.numel():
                out[k] = torchvision.ops.roi_align(feats4[i], torch.cat([b[k, None], r[k]], 1),
                                                   size, 1.0 / (4 * 2 ** i), 0, True)
        return out

    def refine_loss(self, info, gen):
        """Instance PCAM on (key positive RoI, reference positive RoI of the same object)."""
        if info.get('mask_pred') is None:
            return None
        mb = torch.cat(info['mb'])
        oid = info['moid']
        ka, ra = [], []
        for i in range(int(mb.max()) // 2 + 1):
            kk = torch.nonzero(mb == 2 * i).squeeze(1)
            rr = torch.nonzero(mb == 2 * i + 1).squeeze(1)
            for k in kk.tolist():
                same = rr[oid[rr] == oid[k]]
                if same.numel():
                    ka.append(k)
                    ra.append(int(same[torch.randint(same.numel(), (1,), generator=gen)]))
        if not ka:
            return None
        ka, ra = torch.tensor(ka[:16]), torch.tensor(ra[:16])
        lab = info['mlab']
        mp = info['mask_pred']
        rh = self.m.roi_head.refine_head
        out = rh.run(info['mfeat'][ra], mp[ra, lab[ra]][:, None].detach(),
                     info['mfeat'][ka], mp[ka, lab[ka]][:, None].detach(), rh.pos_mu, rh.neg_mu)
        with torch.no_grad():
            rh.pos_mu.copy_(out['pos_mu'].detach())
            rh.neg_mu.copy_(out['neg_mu'].detach())
        return F.binary_cross_entropy_with_logits(out['refine_pred'][:, 0], info['mtgt'][ka])


def init_model(cfg, seed):
    torch.manual_seed(seed)
    m = PCAN(cfg)
    for mod in m.modules():
        if isinstance(mod, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            torch.nn.init.kaiming_normal_(mod.weight, mode='fan_out', nonlinearity='relu')
            if mod.bias is not None:
                torch.nn.init.zeros_(mod.bias)
        elif isinstance(mod, torch.nn.Linear):
            torch.nn.init.normal_(mod.weight, 0, 0.01)
            torch.nn.init.zeros_(mod.bias)
    # RPN objectness prior, zero-init the last BN of each residual block (mmdet zero_init_residual
    # is off; keep 1), box head: standard.
    torch.nn.init.normal_(m.rpn_head.rpn_cls.weight, 0, 0.01)
    torch.nn.init.normal_(m.rpn_head.rpn_reg.weight, 0, 0.01)
    torch.nn.init.normal_(m.roi_head.bbox_head.fc_reg.weight, 0, 0.001)
    torch.nn.init.normal_(m.roi_head.mask_head.conv_logits.weight, 0, 0.001)
    torch.nn.init.normal_(m.roi_head.refine_head.conv_logits.weight, 0, 0.001)
    with torch.no_grad():
        k = cfg['pcam']['prototypes']
        for i in range(5):
            mu = getattr(m, 'mu%d' % i)
            mu.copy_(l2norm(torch.randn_like(mu) * math.sqrt(2.0 / k), 1))
        rh = m.roi_head.refine_head
        for buf in (rh.pos_mu, rh.neg_mu):
            buf.copy_(l2norm(torch.randn_like(buf) * math.sqrt(2.0 / buf.size(2)), 1))
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True, help='comma-separated pcan synth --jpeg dirs')
    ap.add_argument('--work', required=True)
    ap.add_argument('--config', default=os.path.join(HERE, 'synth-small.yaml'))
    ap.add_argument('--iters', type=int, default=3000)
    ap.add_argument('--minutes', type=float, default=45.0, help='training wall-time budget')
    ap.add_argument('--pairs', type=int, default=1)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--ckpt-minutes', type=float, default=4.0)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--init', help='stage 2: start from this checkpoint\'s model with BN frozen')
    ap.add_argument('--only-refine', action='store_true',
                    help='train the refine head alone (everything else frozen, refine loss only)')
    ap.add_argument('--bn-freeze-iter', type=int, default=150,
                    help='recalibrate BN statistics here, then keep BN in eval mode')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.work, exist_ok=True)
    cfg = load_config(open(a.config).read())
    splits = [synthdata.cache(d, os.path.join(a.work, 'cache', os.path.basename(d.rstrip('/'))))
              for d in a.data.split(',')]
    vids = [(s, i) for s in splits for i in range(len(s['starts']) - 1)]
    model = init_model(cfg, a.seed)
    bn_frozen = False
    if a.init:
        model.load_state_dict(torch.load(a.init)['model'])
        bn_frozen = True  # the first stage's recalibrated statistics stay
    params = list(model.parameters())
    if a.only_refine:
        # The official recipe trains the instance-level PCAM on top of a converged model.
        for q in model.parameters():
            q.requires_grad_(False)
        params = list(model.roi_head.refine_head.parameters())
        for q in params:
            q.requires_grad_(True)
    model.train()
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=1e-4)
    ck = os.path.join(a.work, 'ckpt.pt')
    it, spent = 0, 0.0
    gen = torch.Generator().manual_seed(a.seed)
    rng = np.random.RandomState(a.seed)
    if os.path.exists(ck):
        st = torch.load(ck)
        model.load_state_dict(st['model'])
        opt.load_state_dict(st['opt'])
        it, spent, bn_frozen = st['iter'], st['spent'], st.get('bn_frozen', False)
        gen.set_state(st['gen'])
        rng.set_state(st['rng'])
        torch.set_rng_state(st['torch'])
        print('resumed at iteration %d (%.1f min spent)' % (it, spent / 60), flush=True)
    log = open(os.path.join(a.work, 'train.log'), 'a')
    tr = Trainer(model, cfg)

    def save():
        st = dict(model=model.state_dict(), opt=opt.state_dict(), iter=it, spent=spent,
                  gen=gen.get_state(), rng=rng.get_state(), torch=torch.get_rng_state(),
                  config=cfg['_text'], bn_frozen=bn_frozen)
        torch.save(st, ck + '.tmp')
        os.replace(ck + '.tmp', ck)

    bns = [mod for mod in model.modules() if isinstance(mod, torch.nn.BatchNorm2d)]

    def recalibrate_bn():
        # Population statistics of the backbone's BN layers over many frames (cumulative
        # average), so that eval mode (inference) sees what training sees from then on.
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None
        model.train()
        cal = np.random.RandomState(a.seed + 1)
        with torch.no_grad():
            for _ in range(48):
                ims = []
                for _ in range(4):
                    s, v = vids[cal.randint(len(vids))]
                    ims.append(np.asarray(s['frames'][cal.randint(int(s['starts'][v]),
                                                                  int(s['starts'][v + 1]))]))
                x = torch.from_numpy(np.stack(ims)).float().permute(0, 3, 1, 2)
                model.backbone((x - tr.mean) / tr.std)
        for bn in bns:
            bn.momentum = 0.1

    last_ck = time.time()
    avg = {}
    while it < a.iters and spent < a.minutes * 60:
        t0 = time.time()
        if it >= a.bn_freeze_iter:
            # BN trained in batch mode on 2 frames of one video drifts far from population
            # statistics; from here on BN is frozen (eval mode, affine parameters still learn).
            if not bn_frozen:
                recalibrate_bn()
                bn_frozen = True
                print('BN statistics recalibrated and frozen at iteration %d' % it, flush=True)
            model.train()
            for bn in bns:
                bn.eval()
        # lr: linear warm-up 100 iterations, cosine to 5 % over --iters or the time budget,
        # whichever runs out first
        frac = min(1.0, max(it / a.iters, spent / (a.minutes * 60)))
        lr = a.lr * min(1.0, (it + 1) / 100) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g['lr'] = lr
        imgs, gts = [], []
        for _ in range(a.pairs):
            s, v = vids[rng.randint(len(vids))]
            f0, f1 = int(s['starts'][v]), int(s['starts'][v + 1])
            k = rng.randint(f0, f1)
            r = int(np.clip(k + rng.choice([-3, -2, -1, 1, 2, 3]), f0, f1 - 1))
            if r == k:
                r = k + 1 if k + 1 < f1 else k - 1
            flip = rng.rand() < 0.5
            for fi in (k, r):
                im, ids = np.asarray(s['frames'][fi]), np.asarray(s['ids'][fi])
                if flip:
                    im, ids = im[:, ::-1], ids[:, ::-1]
                imgs.append(im)
                gts.append(frame_gt(ids))
        img_shape = imgs[0].shape[:2]
        feats = tr.features(np.stack(imgs))
        lc, lr_, props = tr.rpn(feats, gts, gen, img_shape)
        losses, info = tr.roi_losses(feats, gts, props, gen)
        losses['rpn_cls'], losses['rpn_box'] = lc, lr_
        rl = tr.refine_loss(info, gen)
        if rl is not None:
            losses['refine'] = rl
        if a.only_refine:
            losses = {'refine': rl} if rl is not None else {}
            if not losses:
                it += 1
                continue
        total = sum(losses.values())
        opt.zero_grad()
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 35.0)
        opt.step()
        it += 1
        spent += time.time() - t0
        for k, v in losses.items():
            avg[k] = avg.get(k, 0.0) * 0.9 + float(v) * 0.1
        if it % 20 == 0:
            msg = 'it %d lr %.5f %.1fmin %.2fs/it ' % (it, lr, spent / 60, time.time() - t0) + \
                ' '.join('%s %.3f' % (k, v) for k, v in sorted(avg.items()))
            print(msg, flush=True)
            log.write(msg + '\n')
            log.flush()
        if time.time() - last_ck > a.ckpt_minutes * 60:
            save()
            last_ck = time.time()
    save()
    print('done: %d iterations, %.1f min' % (it, spent / 60), flush=True)


if __name__ == '__main__':
    main()
