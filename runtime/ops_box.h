// ops_box — anchors, box delta decoding, IoU matrix and NMS with mmdet 2.10 / mmcv 1.2.7
// semantics (PCAN-FACTS.md §A.1, A.3, A.5, A.7). Boxes are float32 [x1,y1,x2,y2] rows.
//
//     float anchors[H*W*3*4];
//     rt_anchors(stride, scales, 1, ratios, 3, H, W, anchors);
//     rt_delta_decode(anchors, deltas, n, 1, means, stds, 1280, 720, boxes);
//     size_t ws = rt_nms_workspace_size(n);           // bytes; take from the arena
//     int kept = rt_nms(boxes, scores, levels, n, 0.7f, keep, ws_ptr);
//
// All float arithmetic is float32 in PyTorch's order of operations. Nothing allocates; NMS takes
// a caller workspace. Reentrant; single-threaded (NMS is sequential by nature).
#ifndef PCAN_RUNTIME_OPS_BOX_H
#define PCAN_RUNTIME_OPS_BOX_H

#include <stddef.h>

#include "runtime/core.h"

// mmdet AnchorGenerator (v2, center_offset 0) for one level: base size = stride; per ratio r
// (outer) and scale s (inner): h_ratio = sqrt(r), w_ratio = 1/h_ratio, w = stride*w_ratio*s,
// h = stride*h_ratio*s, box [-w/2,-h/2,w/2,h/2] shifted by (x*stride, y*stride). Output order:
// y outer, x, then anchor (ratio-major) innermost: out[((y*fw + x)*A + a)*4], A = nratio*nscale.
void rt_anchors(float stride, const float *scales, int nscale, const float *ratios, int nratio,
                int fh, int fw, float *out);

// DeltaXYWHBBoxCoder.decode (mmdet 2.10): for box i and class j < k, d = delta·std + mean with
// deltas[(i*k + j)*4 + 0..3] = dx,dy,dw,dh; dw/dh clamped to ±|ln(16/1000)|; px=(x1+x2)/2,
// pw=x2-x1 (no +1); gw = pw·exp(dw); gx = px + pw·dx; box = [gx-gw/2, ...] clipped to
// [0,max_w] x [0,max_h] when max_w > 0 (no clipping otherwise). out[(i*k + j)*4], n*k boxes.
void rt_delta_decode(const float *boxes, const float *deltas, int n, int k, const float means[4],
                     const float stds[4], float max_w, float max_h, float *out);

// mmdet bbox_overlaps(a, b) mode 'iou': no +1, union clamped to >= 1e-6. out [n, m] row-major.
void rt_box_iou(const float *a, int n, const float *b, int m, float *out);

// Bytes of workspace rt_nms needs for n boxes (64-byte multiple).
size_t rt_nms_workspace_size(int n);
// NMS as mmcv 1.2.7's CUDA kernel (the official GPU run): boxes visited in descending score;
// box j is suppressed by a kept box i when inter > thr·(area_i + area_j − inter) (strict
// IoU > thr, areas without +1). With idxs (class or level per box; may be NULL) boxes are
// first offset by idx·(max coordinate + 1) in float32, as mmcv batched_nms does, so that
// different idxs never suppress each other. Ties in score keep the lower index first (a stable
// sort; CUDA's sort is unstable, so exact-tie order may differ from the official run).
// Writes the kept indices into keep (capacity n) in descending score order and returns their
// count. workspace: rt_nms_workspace_size(n) bytes, any alignment >= 8.
int rt_nms(const float *boxes, const float *scores, const int *idxs, int n, float thr, int *keep,
           void *workspace);

// Indices 0..n-1 sorted by descending score, ties by ascending index (stable merge sort).
// tmp: n ints of scratch.
void rt_argsort_desc(const float *scores, int n, int *order, int *tmp);

#endif
