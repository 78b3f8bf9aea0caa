"""Detection operators with the exact test-time semantics of mmdet 2.10 / mmcv 1.2.7 (CUDA).

PCAN-FACTS.md §9 (A.1-A.6) is the specification; each function names its section. Everything works
in the dtype of its inputs (float32 for the reference, float64 for the tolerance run).
"""
import math

import torch
import torch.nn.functional as F
import torchvision

WH_RATIO_CLIP = 16 / 1000  # mmdet DeltaXYWHBBoxCoder: dw, dh clamped to +-|ln(0.016)|


def base_anchors(stride, scales, ratios, dtype=torch.float32):
    """A.1: anchors at the origin, [len(ratios)*len(scales), 4], ratio outer, scale inner."""
    ratios = torch.tensor(ratios, dtype=dtype)
    scales = torch.tensor(scales, dtype=dtype)
    h_ratios = torch.sqrt(ratios)
    w_ratios = 1 / h_ratios
    # Same operation order as mmdet (base * w_ratio) * scale, so float32 bits agree.
    ws = (float(stride) * w_ratios[:, None] * scales[None, :]).reshape(-1)
    hs = (float(stride) * h_ratios[:, None] * scales[None, :]).reshape(-1)
    return torch.stack([-0.5 * ws, -0.5 * hs, 0.5 * ws, 0.5 * hs], dim=-1)


def grid_anchors(stride, feat_h, feat_w, scales, ratios, dtype=torch.float32):
    """A.1: all anchors of a level, [H*W*A, 4]; locations row-major, anchor index innermost."""
    base = base_anchors(stride, scales, ratios, dtype)
    sx = torch.arange(0, feat_w, dtype=dtype) * stride
    sy = torch.arange(0, feat_h, dtype=dtype) * stride
    yy, xx = torch.meshgrid(sy, sx, indexing='ij')
    xx, yy = xx.reshape(-1), yy.reshape(-1)
    shifts = torch.stack([xx, yy, xx, yy], dim=-1)
    return (base[None, :, :] + shifts[:, None, :]).reshape(-1, 4)


def delta2bbox(rois, deltas, stds, max_shape):
    """A.3: rois [N,4], deltas [N,4k] -> boxes [N,4k], clipped to max_shape = (H, W)."""
    stds_t = deltas.new_tensor(stds).repeat(deltas.size(1) // 4)
    d = deltas * stds_t  # means are all 0
    dx, dy, dw, dh = d[:, 0::4], d[:, 1::4], d[:, 2::4], d[:, 3::4]
    max_ratio = abs(math.log(WH_RATIO_CLIP))
    dw = dw.clamp(min=-max_ratio, max=max_ratio)
    dh = dh.clamp(min=-max_ratio, max=max_ratio)
    px = ((rois[:, 0] + rois[:, 2]) * 0.5)[:, None]
    py = ((rois[:, 1] + rois[:, 3]) * 0.5)[:, None]
    pw = (rois[:, 2] - rois[:, 0])[:, None]
    ph = (rois[:, 3] - rois[:, 1])[:, None]
    gw = pw * dw.exp()
    gh = ph * dh.exp()
    gx = px + pw * dx
    gy = py + ph * dy
    x1 = (gx - gw * 0.5).clamp(min=0, max=max_shape[1])
    y1 = (gy - gh * 0.5).clamp(min=0, max=max_shape[0])
    x2 = (gx + gw * 0.5).clamp(min=0, max=max_shape[1])
    y2 = (gy + gh * 0.5).clamp(min=0, max=max_shape[0])
    return torch.stack([x1, y1, x2, y2], dim=-1).reshape(deltas.shape)


def nms(boxes, scores, thr, strict=True):
    """A.5: greedy NMS; returns kept indices in descending score order.

    strict=True is the CUDA rule the official GPU run used: suppress when
    inter > thr * (area_a + area_b - inter), evaluated in the boxes' dtype. strict=False is
    mmcv's CPU rule (IoU >= thr). Ties in score keep the lower index first (stable sort); the
    official CUDA sort is unstable, so fixtures avoid exact score ties.
    """
    order = torch.sort(scores, descending=True, stable=True)[1]
    b = boxes[order]
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    n = b.size(0)
    removed = torch.zeros(n, dtype=torch.bool)
    keep = []
    for i in range(n):
        if removed[i]:
            continue
        keep.append(i)
        if i + 1 == n:
            break
        r = b[i + 1:]
        w = (torch.minimum(b[i, 2], r[:, 2]) - torch.maximum(b[i, 0], r[:, 0])).clamp(min=0)
        h = (torch.minimum(b[i, 3], r[:, 3]) - torch.maximum(b[i, 1], r[:, 1])).clamp(min=0)
        inter = w * h
        union = area[i] + area[i + 1:] - inter
        sup = inter > thr * union if strict else inter >= thr * union
        removed[i + 1:] |= sup
    return order[torch.tensor(keep, dtype=torch.long)]


def batched_nms(boxes, scores, idxs, thr, strict=True):
    """A.5: mmcv batched_nms: offset boxes by idx*(max_coord+1), added in the boxes' dtype.

    Returns (dets [K,5] with the un-offset boxes and scores, keep [K]) sorted by score.
    """
    if boxes.numel() == 0:
        return boxes.new_zeros((0, 5)), torch.zeros(0, dtype=torch.long)
    max_coord = boxes.max()
    offsets = idxs.to(boxes) * (max_coord + boxes.new_tensor(1))
    keep = nms(boxes + offsets[:, None], scores, thr, strict)
    return torch.cat([boxes[keep], scores[keep][:, None]], dim=1), keep


def multiclass_nms(bboxes, scores, score_thr, iou_thr, max_num, strict=True):
    """A.5: bboxes [N, 4C], scores [N, C+1] (background last) -> dets [K,5], labels [K]."""
    n, c = scores.size(0), scores.size(1) - 1
    b = bboxes.reshape(n, c, 4).reshape(-1, 4)
    s = scores[:, :c].reshape(-1)
    labels = torch.arange(c).repeat(n)
    inds = torch.nonzero(s > score_thr).squeeze(1)
    b, s, labels = b[inds], s[inds], labels[inds]
    if inds.numel() == 0:
        return bboxes.new_zeros((0, 5)), torch.zeros(0, dtype=torch.long)
    dets, keep = batched_nms(b, s, labels, iou_thr, strict)
    return dets[:max_num], labels[keep[:max_num]]


def bbox_overlaps(a, b):
    """A.7: mmdet bbox_overlaps (IoU, no +1, union clamped to >= 1e-6), [N,4] x [M,4] -> [N,M]."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = (area_a[:, None] + area_b[None, :] - inter).clamp(min=1e-6)
    return inter / union


def map_roi_levels(boxes, finest_scale, num_levels):
    """A.4: level = clamp(floor(log2(sqrt(w*h)/finest + 1e-6)), 0, num_levels-1)."""
    scale = torch.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
    lvl = torch.floor(torch.log2(scale / finest_scale + 1e-6))
    return lvl.clamp(min=0, max=num_levels - 1).long()


def roi_extract(feats, boxes, out_size, strides, finest_scale):
    """A.4: SingleRoIExtractor: boxes [R,4] (network-input pixels) -> [R,C,out,out], levels [R].

    RoIAlign is torchvision's (aligned=True, sampling_ratio=0 = adaptive), whose kernel has the
    same sampling, boundary and averaging rules as mmcv 1.2.7 (checked in tools/tests).
    """
    n = len(strides)
    lvls = map_roi_levels(boxes, finest_scale, n)
    out = feats[0].new_zeros((boxes.size(0), feats[0].size(1), out_size, out_size))
    for i in range(n):
        inds = torch.nonzero(lvls == i).squeeze(1)
        if inds.numel() == 0:
            continue
        rois = torch.cat([boxes.new_zeros((inds.numel(), 1)), boxes[inds]], dim=1)
        out[inds] = torchvision.ops.roi_align(feats[i], rois, out_size, 1.0 / strides[i], 0, True)
    return out, lvls


def roi_align_naive(feat, box, out_size, scale):
    """Plain loop RoIAlign (avg, aligned, adaptive sampling), [C,H,W] x box -> [C,out,out].

    Written from the A.4 rules to check torchvision's kernel; slow, for tests only.
    """
    C, H, W = feat.shape
    x0, y0 = box[0] * scale - 0.5, box[1] * scale - 0.5
    rw, rh = (box[2] - box[0]) * scale, (box[3] - box[1]) * scale
    bw, bh = rw / out_size, rh / out_size
    gw, gh = int(math.ceil(rw / out_size)), int(math.ceil(rh / out_size))
    out = feat.new_zeros((C, out_size, out_size))
    cnt = max(gw * gh, 1)
    for py in range(out_size):
        for px in range(out_size):
            acc = feat.new_zeros(C)
            for iy in range(gh):
                y = y0 + py * bh + (iy + 0.5) * bh / gh
                for ix in range(gw):
                    x = x0 + px * bw + (ix + 0.5) * bw / gw
                    acc += _bilinear(feat, y, x)
            out[:, py, px] = acc / cnt
    return out


def _bilinear(feat, y, x):
    C, H, W = feat.shape
    if y < -1.0 or y > H or x < -1.0 or x > W:
        return feat.new_zeros(C)
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= H - 1:
        y0 = y1 = H - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= W - 1:
        x0 = x1 = W - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    hy, hx = 1 - ly, 1 - lx
    return (hy * hx * feat[:, y0, x0] + hy * lx * feat[:, y0, x1]
            + ly * hx * feat[:, y1, x0] + ly * lx * feat[:, y1, x1])


def paste_masks(probs, boxes, img_h, img_w):
    """A.6: probs [N,h,w] (sigmoid already applied), boxes [N,4] in image pixels -> [N,H,W].

    Bilinear sampling at mask coordinate (p + 0.5 - x0) * w / (x1 - x0) - 0.5 with zero outside
    (= F.grid_sample, align_corners=False, zero padding, which tools/tests checks).
    """
    N, mh, mw = probs.shape
    dt = probs.dtype
    out = probs.new_zeros((N, img_h, img_w))
    for i in range(N):
        x0, y0, x1, y1 = boxes[i]
        gx = ((torch.arange(img_w, dtype=dt) + 0.5 - x0) / (x1 - x0) * 2 - 1)
        gy = ((torch.arange(img_h, dtype=dt) + 0.5 - y0) / (y1 - y0) * 2 - 1)
        # grid_sample's unnormalisation: ((g + 1) * size - 1) / 2
        ux = ((gx + 1) * mw - 1) / 2
        uy = ((gy + 1) * mh - 1) / 2
        out[i] = _sample_zero_pad(probs[i], uy, ux)
    return out


def _sample_zero_pad(m, uy, ux):
    h, w = m.shape
    fy, fx = torch.floor(uy), torch.floor(ux)
    # Weights as grid_sample forms them: (floor + 1 - u) and (u - floor).
    wy0, wx0 = (fy + 1) - uy, (fx + 1) - ux
    wy1, wx1 = uy - fy, ux - fx
    iy0, ix0 = fy.long(), fx.long()
    res = m.new_zeros((uy.numel(), ux.numel()))
    for dy, wy in ((0, wy0), (1, wy1)):
        yi = iy0 + dy
        vy = (yi >= 0) & (yi < h)
        for dx, wx in ((0, wx0), (1, wx1)):
            xi = ix0 + dx
            vx = (xi >= 0) & (xi < w)
            v = m[yi.clamp(0, h - 1)][:, xi.clamp(0, w - 1)]
            v = v * (vy[:, None] & vx[None, :]).to(m.dtype)
            res += wy[:, None] * wx[None, :] * v
    return res


def paste_masks_grid_sample(probs, boxes, img_h, img_w):
    """The mmdet formulation (_do_paste_mask over the full image), for tests."""
    N = probs.size(0)
    dt = probs.dtype
    x0, y0, x1, y1 = [boxes[:, i:i + 1] for i in range(4)]
    img_y = (torch.arange(img_h, dtype=dt) + 0.5 - y0) / (y1 - y0) * 2 - 1
    img_x = (torch.arange(img_w, dtype=dt) + 0.5 - x0) / (x1 - x0) * 2 - 1
    gx = img_x[:, None, :].expand(N, img_h, img_w)
    gy = img_y[:, :, None].expand(N, img_h, img_w)
    grid = torch.stack([gx, gy], dim=3)
    return F.grid_sample(probs[:, None], grid, align_corners=False)[:, 0]
