"""PCAN (fixed_pcan, test time) as plain PyTorch modules with the official state_dict key names.

`PCAN(cfg)` holds the weights only (immutable while a video runs). The per-video state (frame
memory, prototype initialisers, refine buffers, tracker) lives in video.VideoTracker, which calls
the stage functions below in the order of PCAN-FACTS.md §2. All stage functions work in the
model's dtype (float32 normally, float64 for the tolerance run) and never modify the module.
"""
import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import ops

EM_TEMPERATURE = 20.0      # E-step logits scale (frame-level and refine EM)
FUSE_KEEP = 0.75           # P_i <- 0.75 P_i + 0.25 R; memory <- 0.75 fused + 0.25 memory
INIT_KEEP = 0.5            # frame-level initialiser U <- 0.5 U + 0.5 protos
REFINE_MOMENTUM = 0.95     # pos_mu/neg_mu <- 0.95 old + 0.05 mean(new)


class ConvModule(nn.Module):
    """mmcv ConvModule: conv (bias unless normalised) [+ GroupNorm] [+ ReLU]; keys .conv/.gn."""

    def __init__(self, cin, cout, k, padding=0, gn_groups=0, act=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, padding=padding, bias=gn_groups == 0)
        if gn_groups:
            self.gn = nn.GroupNorm(gn_groups, cout)
        self.act = act

    def forward(self, x):
        x = self.conv(x)
        if hasattr(self, 'gn'):
            x = self.gn(x)
        return F.relu(x) if self.act else x


class Bottleneck(nn.Module):
    """mmdet Bottleneck, style pytorch: the stride sits on the 3x3 conv."""

    def __init__(self, inplanes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        if stride != 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes * 4))
        else:
            self.downsample = None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        idt = x if self.downsample is None else self.downsample(x)
        return F.relu(y + idt)


class ResNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        b = cfg['backbone']
        stem, base = b['stem_channels'], b['base_channels']
        self.conv1 = nn.Conv2d(3, stem, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        inplanes = stem
        self.num_stages = len(b['stage_blocks'])
        for i, nb in enumerate(b['stage_blocks']):
            planes = base * 2 ** i
            blocks = []
            for j in range(nb):
                blocks.append(Bottleneck(inplanes, planes, (1 if i == 0 else 2) if j == 0 else 1))
                inplanes = planes * 4
            self.add_module('layer%d' % (i + 1), nn.Sequential(*blocks))

    def forward(self, x):
        """[1,3,H,W] -> (stem [1,stem,H/4,W/4], [C2, C3, C4, C5])"""
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(x, 3, 2, 1)
        stem = x
        outs = []
        for i in range(self.num_stages):
            x = getattr(self, 'layer%d' % (i + 1))(x)
            outs.append(x)
        return stem, outs


class FPN(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        f = cfg['fpn']
        c = f['out_channels']
        self.num_outs = f['num_outs']
        self.lateral_convs = nn.ModuleList(ConvModule(ci, c, 1, act=False)
                                           for ci in f['in_channels'])
        self.fpn_convs = nn.ModuleList(ConvModule(c, c, 3, padding=1, act=False)
                                       for _ in f['in_channels'])

    def forward(self, inputs):
        lat = [conv(x) for conv, x in zip(self.lateral_convs, inputs)]
        for i in range(len(lat) - 1, 0, -1):
            lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], size=lat[i - 1].shape[2:],
                                                    mode='nearest')
        outs = [conv(x) for conv, x in zip(self.fpn_convs, lat)]
        while len(outs) < self.num_outs:  # no extra convs: P6 = max-pool k1 s2 of P5
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return outs


class RPNHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        r = cfg['rpn']
        c = cfg['fpn']['out_channels']
        a = len(r['anchor_scales']) * len(r['anchor_ratios'])
        self.rpn_conv = nn.Conv2d(c, r['feat_channels'], 3, padding=1)
        self.rpn_cls = nn.Conv2d(r['feat_channels'], a, 1)
        self.rpn_reg = nn.Conv2d(r['feat_channels'], 4 * a, 1)

    def forward(self, feats):
        cls, reg = [], []
        for f in feats:
            x = F.relu(self.rpn_conv(f))
            cls.append(self.rpn_cls(x))
            reg.append(self.rpn_reg(x))
        return cls, reg


class BBoxHead(nn.Module):
    """Shared2FCBBoxHead; fc_cls has num_classes+1 outputs, background last."""

    def __init__(self, cfg):
        super().__init__()
        r = cfg['roi']
        nc = len(cfg['classes'])
        fc = r['bbox_fc_channels']
        self.fc_cls = nn.Linear(fc, nc + 1)
        self.fc_reg = nn.Linear(fc, 4 * nc)
        cin = cfg['fpn']['out_channels'] * r['bbox_roi_size'] ** 2
        self.shared_fcs = nn.ModuleList(nn.Linear(cin if i == 0 else fc, fc)
                                        for i in range(r['bbox_num_fcs']))

    def forward(self, x):
        x = x.flatten(1)
        for fc in self.shared_fcs:
            x = F.relu(fc(x))
        return self.fc_cls(x), self.fc_reg(x)


class MaskHead(nn.Module):
    """FCN mask head: convs 3x3 + ReLU, deconv 2x2 s2 + ReLU, 1x1 logits per class."""

    def __init__(self, cfg):
        super().__init__()
        r = cfg['roi']
        c, cin = r['mask_channels'], cfg['fpn']['out_channels']
        self.convs = nn.ModuleList(ConvModule(cin if i == 0 else c, c, 3, padding=1)
                                   for i in range(r['mask_num_convs']))
        self.upsample = nn.ConvTranspose2d(c, c, 2, stride=2)
        self.conv_logits = nn.Conv2d(c, len(cfg['classes']), 1)

    def forward(self, x):
        for conv in self.convs:
            x = conv(x)
        return self.conv_logits(F.relu(self.upsample(x)))


class TrackHead(nn.Module):
    """QuasiDenseEmbedHead: convs 3x3 (no bias) + GN + ReLU, FCs + ReLU, fc_embed."""

    def __init__(self, cfg):
        super().__init__()
        r = cfg['roi']
        c, cin, fc = r['track_channels'], cfg['fpn']['out_channels'], r['track_fc_channels']
        self.convs = nn.ModuleList(
            ConvModule(cin if i == 0 else c, c, 3, padding=1, gn_groups=r['track_gn_groups'])
            for i in range(r['track_num_convs']))
        flat = (c if r['track_num_convs'] else cin) * r['bbox_roi_size'] ** 2
        self.fcs = nn.ModuleList(nn.Linear(flat if i == 0 else fc, fc)
                                 for i in range(r['track_num_fcs']))
        self.fc_embed = nn.Linear(fc if r['track_num_fcs'] else flat, r['embed_channels'])

    def forward(self, x):
        for conv in self.convs:
            x = conv(x)
        x = x.flatten(1)
        for fc in self.fcs:
            x = F.relu(fc(x))
        return self.fc_embed(x)


def l1norm(z, dim):
    return z / (1e-6 + z.sum(dim=dim, keepdim=True))


def l2norm(v, dim):
    return v / (1e-6 + v.norm(dim=dim, keepdim=True))


def em(x, mu, iters, mask=None):
    """EM prototypes: x [R,C,N], mu [R,C,K] (initialiser), mask [R,1,N] or None -> [R,C,K].

    E: z = softmax_k(20 x.mu) [R,N,K], times the pixel mask, l1-normalised over pixels;
    M: mu = x z, l2-normalised over channels.
    """
    for _ in range(iters):
        z = F.softmax(EM_TEMPERATURE * torch.bmm(x.transpose(1, 2), mu), dim=2)
        if mask is not None:
            z = z * mask.transpose(1, 2)
        z = l1norm(z, 1)
        mu = l2norm(torch.bmm(x, z), 1)
    return mu


class RefineHead(nn.Module):
    """EMMatchHeadPlus (instance-level PCAM), with_mask_ref False, with_mask_key True."""

    def __init__(self, cfg):
        super().__init__()
        f = cfg['refine']
        cin, c = cfg['fpn']['out_channels'], f['channels']
        self.register_buffer('pos_mu', torch.zeros(1, cin, f['pos_protos']))
        self.register_buffer('neg_mu', torch.zeros(1, cin, f['neg_protos']))
        self.stages = f['stages']
        self.conv1 = ConvModule(cin + 3, c, 3, padding=1, act=False)
        self.conv2 = ConvModule(cin, c, 1, act=False)
        self.convs = nn.ModuleList(ConvModule(c, c, 3, padding=1)
                                   for _ in range(f['num_convs'] - 1))
        self.upsample = nn.ConvTranspose2d(c, c, 2, stride=2)
        self.conv_logits = nn.Conv2d(c, 1, 1)

    def run(self, feat_a, mask_a, feat_b, mask_b, pos_mu, neg_mu):
        """feat_* [R,C,14,14], mask_* [R,1,28,28] logits, pos_mu/neg_mu [1,C,K] (the current
        buffers) -> dict with refine_pred [R,1,28,28] logits, the new buffers and intermediates."""
        R, C, H, W = feat_b.shape
        m_a = F.interpolate(mask_a, size=(H, W), mode='bilinear', align_corners=False)
        m_b = F.interpolate(mask_b, size=(H, W), mode='bilinear', align_corners=False)
        b_a = (m_a.sigmoid() >= 0.5).to(feat_a.dtype)
        b_b = (m_b.sigmoid() >= 0.5).to(feat_b.dtype)
        g = (feat_a * b_a).view(R, C, -1).sum(2) / (b_a.view(R, 1, -1).sum(2) + 1e-5)
        xa, xb = feat_a.view(R, C, -1), feat_b.view(R, C, -1)
        ma, mb = b_a.view(R, 1, -1), b_b.view(R, 1, -1)
        pos_pre = em(xa, pos_mu.repeat(R, 1, 1), self.stages, ma)
        neg_pre = em(xa, neg_mu.repeat(R, 1, 1), self.stages, 1 - ma)
        pos = em(xb, pos_pre, self.stages, mb)
        neg = em(xb, neg_pre, self.stages, 1 - mb)
        # In-place momentum update of the module buffers in the original; here returned.
        new_pos_mu = pos_mu * REFINE_MOMENTUM + pos.mean(0, keepdim=True) * (1 - REFINE_MOMENTUM)
        new_neg_mu = neg_mu * REFINE_MOMENTUM + neg.mean(0, keepdim=True) * (1 - REFINE_MOMENTUM)
        mu = torch.cat([pos, neg], dim=2)
        s = F.softmax(torch.bmm(mu.transpose(1, 2), xb), dim=1)  # [R,2K,N], over prototypes
        kp = pos.size(2)
        pos_z = s[:, :kp].sum(1).view(R, 1, H, W)
        neg_z = s[:, kp:].sum(1).view(R, 1, H, W)
        x = torch.cat([feat_b, pos_z, neg_z, m_b], dim=1)
        x = self.conv1(x) + self.conv2(g.view(R, C, 1, 1))
        for conv in self.convs:
            x = conv(x)
        pred = self.conv_logits(F.relu(self.upsample(x)))
        return dict(refine_pred=pred, pos_mu=new_pos_mu, neg_mu=new_neg_mu, pos_pre=pos_pre,
                    neg_pre=neg_pre, pos=pos, neg=neg, pos_z=pos_z, neg_z=neg_z, m_a=m_a,
                    m_b=m_b, context=g)


class RoIHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.bbox_head = BBoxHead(cfg)
        self.mask_head = MaskHead(cfg)
        self.track_head = TrackHead(cfg)
        self.refine_head = RefineHead(cfg)


class PCAN(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        c, k = cfg['fpn']['out_channels'], cfg['pcam']['prototypes']
        for i in range(5):  # mu0..mu4 exist in the checkpoint; only levels < pcam.levels are used
            self.register_buffer('mu%d' % i, torch.zeros(1, c, k))
        self.backbone = ResNet(cfg)
        self.neck = FPN(cfg)
        self.rpn_head = RPNHead(cfg)
        self.roi_head = RoIHead(cfg)
        self.eval()

    @property
    def dtype(self):
        return self.mu0.dtype

    # ---- preprocessing (PCAN-FACTS §1.4) ----
    def preprocess(self, rgb):
        """RGB uint8 [H,W,3] (our C input order) -> (img [1,3,Hp,Wp], meta).

        The official pipeline decodes BGR, resizes, then converts to RGB; resizing is per channel,
        so resizing the RGB frame directly gives identical pixels. Keep-ratio scale
        s = min(long/max(h,w), short/min(h,w)) in double; size int(x*s + 0.5); cv2 bilinear;
        (x - mean) / std as a true division in the model dtype; zero pad bottom/right.
        """
        inp = self.cfg['input']
        h, w = rgb.shape[:2]
        long_e, short_e = max(inp['scale']), min(inp['scale'])
        s = min(long_e / max(h, w), short_e / min(h, w))
        nw, nh = int(w * float(s) + 0.5), int(h * float(s) + 0.5)
        img = rgb if (nw, nh) == (w, h) else cv2.resize(rgb, (nw, nh),
                                                         interpolation=cv2.INTER_LINEAR)
        sf = np.array([nw / w, nh / h, nw / w, nh / h], dtype=np.float32)
        dt = self.dtype
        x = torch.from_numpy(np.ascontiguousarray(img)).to(dt).permute(2, 0, 1)
        mean = torch.tensor(inp['mean'], dtype=torch.float32).to(dt)[:, None, None]
        std = torch.tensor(inp['std'], dtype=torch.float32).to(dt)[:, None, None]
        # mean/std rounded to float32 first, as mmcv's Normalize holds them
        x = (x - mean) / std
        d = inp['pad_divisor']
        ph, pw = -(-nh // d) * d, -(-nw // d) * d
        x = F.pad(x, (0, pw - nw, 0, ph - nh))[None]
        meta = dict(ori_shape=(h, w), img_shape=(nh, nw), pad_shape=(ph, pw),
                    scale_factor=torch.from_numpy(sf).to(dt), resized=img)
        return x, meta

    # ---- frame-level PCAM (§3.1) ----
    def frame_pcam(self, feats, banks, mus):
        """feats P2..P6 -> (fused feats, new banks, new mus, protos per level)."""
        feats = list(feats)
        banks, mus, protos_out = list(banks), list(mus), []
        it = self.cfg['pcam']['iterations']
        for i in range(self.cfg['pcam']['levels']):
            B, C, H, W = banks[i].shape
            protos = em(banks[i].view(B, C, -1), mus[i], it)                 # [1,C,K]
            x = feats[i].view(B, C, -1)
            a = F.softmax(torch.bmm(x.transpose(1, 2), protos), dim=2)       # [1,N,K]
            r = torch.bmm(protos, a.transpose(1, 2)).view(B, C, H, W)       # [1,C,N]
            feats[i] = feats[i] * FUSE_KEEP + r * (1 - FUSE_KEEP)
            banks[i] = feats[i] * FUSE_KEEP + banks[i] * (1 - FUSE_KEEP)
            mus[i] = mus[i] * INIT_KEEP + protos * (1 - INIT_KEEP)
            protos_out.append(protos)
        return feats, banks, mus, protos_out

    # ---- RPN (§A.1-A.3, A.5) ----
    def rpn_candidates(self, feats, meta):
        """Per level top nms_pre by sigmoid score, decoded and clipped: (boxes, scores, level)."""
        r = self.cfg['rpn']
        cls, reg = self.rpn_head(feats)
        scores_l, deltas_l, anchors_l, ids_l = [], [], [], []
        for lvl, (c, d) in enumerate(zip(cls, reg)):
            s = c[0].permute(1, 2, 0).reshape(-1).sigmoid()
            dl = d[0].permute(1, 2, 0).reshape(-1, 4)
            an = ops.grid_anchors(r['anchor_strides'][lvl], c.size(2), c.size(3),
                                  r['anchor_scales'], r['anchor_ratios'], self.dtype)
            if s.numel() > r['nms_pre']:
                s, order = torch.sort(s, descending=True, stable=True)
                s, order = s[:r['nms_pre']], order[:r['nms_pre']]
                dl, an = dl[order], an[order]
            scores_l.append(s)
            deltas_l.append(dl)
            anchors_l.append(an)
            ids_l.append(torch.full((s.numel(),), lvl, dtype=torch.long))
        boxes = ops.delta2bbox(torch.cat(anchors_l), torch.cat(deltas_l), [1.0] * 4,
                               meta['img_shape'])
        return boxes, torch.cat(scores_l), torch.cat(ids_l), dict(rpn_cls=cls, rpn_reg=reg)

    def rpn_proposals(self, feats, meta):
        """-> proposals [P,5] (x1,y1,x2,y2,score; network-input pixels), extras."""
        boxes, scores, ids, extra = self.rpn_candidates(feats, meta)
        dets, _ = ops.batched_nms(boxes, scores, ids, self.cfg['rpn']['nms_thr'])
        extra.update(cand_boxes=boxes, cand_scores=scores, cand_ids=ids)
        return dets[:self.cfg['rpn']['max_per_img']], extra

    # ---- box head + multiclass NMS ----
    def detect(self, feats, proposals, meta):
        """-> det_bboxes [n,5] in source pixels, det_labels [n], extras."""
        r, t = self.cfg['roi'], self.cfg['test']
        boxes = proposals[:, :4]
        roi_feats, lvls = ops.roi_extract(feats[:4], boxes, r['bbox_roi_size'],
                                          r['featmap_strides'], r['finest_scale'])
        cls_score, bbox_pred = self.roi_head.bbox_head(roi_feats)
        scores = F.softmax(cls_score, dim=1)
        bboxes = ops.delta2bbox(boxes, bbox_pred, r['bbox_stds'], meta['img_shape'])
        n = bboxes.size(0)
        bboxes = (bboxes.view(n, -1, 4) / meta['scale_factor']).view(n, -1)
        dets, labels = ops.multiclass_nms(bboxes, scores, t['score_thr'], t['nms_iou'],
                                          t['max_per_img'])
        return dets, labels, dict(roi_levels=lvls, cls_score=cls_score, bbox_pred=bbox_pred,
                                  scores=scores, bboxes=bboxes)

    def net_boxes(self, det_bboxes, meta):
        """Original-image boxes back to network-input pixels, as the heads' RoIs."""
        return det_bboxes[:, :4] * meta['scale_factor']

    def mask_forward(self, feats, det_bboxes, meta):
        r = self.cfg['roi']
        mf, _ = ops.roi_extract(feats[:4], self.net_boxes(det_bboxes, meta), r['mask_roi_size'],
                                r['featmap_strides'], r['finest_scale'])
        return mf, self.roi_head.mask_head(mf)

    def track_forward(self, feats, det_bboxes, meta):
        r = self.cfg['roi']
        tf, _ = ops.roi_extract(feats[:4], self.net_boxes(det_bboxes, meta), r['bbox_roi_size'],
                                r['featmap_strides'], r['finest_scale'])
        return self.roi_head.track_head(tf)

    def paste(self, logits, det_bboxes, meta):
        """logits [R,1,28,28] -> probabilities [R,H,W] at source resolution (boxes go through
        x*scale_factor/scale_factor as in simple_test_refine)."""
        sf = meta['scale_factor']
        boxes = (det_bboxes[:, :4] * sf) / sf
        h, w = meta['ori_shape']
        return ops.paste_masks(logits[:, 0].sigmoid(), boxes, h, w)
