// ops_roi — RoI feature extraction (mmcv 1.2.7 RoIAlign, mmdet SingleRoIExtractor level mapping)
// and mask pasting (mmdet _do_paste_mask) — PCAN-FACTS.md §A.4 and §A.6.
//
//     int lv[R];
//     rt_roi_levels(boxes, R, 56.0f, 4, lv);
//     rt_roi_align_fpn(fpn, strides, 4, boxes, R, 56.0f, 0, &out);   // out [R,256,7,7]
//     rt_mask_paste(prob28, 28, 28, box, 720, 1280, 0.5f, mask);      // uint8 [720,1280]
//
// Feature maps may be in either layout; the RoI output layout is chosen by the caller (plain
// for the box-head flatten, blocked for the mask-head convolutions). Float arithmetic follows the
// mmcv CUDA kernels' order (official numbers came from GPU runs). Nothing allocates. Parallel
// over RoIs (RoIAlign) or image rows (paste), bit-identical for any thread count. Reentrant.
#ifndef PCAN_RUNTIME_OPS_ROI_H
#define PCAN_RUNTIME_OPS_ROI_H

#include <stdint.h>

#include "runtime/core.h"
#include "runtime/tensor.h"

// Largest RoIAlign output (out_h·out_w); PCAN uses 7x7 and 14x14.
#define RT_ROI_MAX_BINS 1024

// mmdet map_roi_levels: lvl = clamp(floor(log2(sqrt(w·h)/finest_scale + 1e-6)), 0, nlevels-1)
// in float32, w = x2-x1, h = y2-y1 in network-input pixels.
void rt_roi_levels(const float *boxes, int n, float finest_scale, int nlevels, int *levels);

// RoIAlign, avg mode, on one feature map feat [1,C,H,W] (image 0 of the batch): for each box
// i (network-input coordinates [x1,y1,x2,y2]) writes image out_index[i] (or i when out_index is
// NULL) of out [R,C,out_h,out_w]. aligned=1: coordinates shift by −0.5 and no minimum size
// (mmcv default, used by PCAN); aligned=0: no shift, size ≥ 1. sampling_ratio 0 = adaptive
// ceil(roi_size/out) samples per bin axis. Samples with y < −1, y > H, x < −1 or x > W count as 0.
// RT_ERR_SHAPE when channels differ, an index is out of range or the output has more than
// RT_ROI_MAX_BINS bins.
rt_status rt_roi_align(const rt_tensor *feat, float spatial_scale, const float *boxes, int n,
                       const int *out_index, int sampling_ratio, int aligned, rt_tensor *out);

// SingleRoIExtractor: maps each box to a level (rt_roi_levels) and RoIAligns it from
// feats[level] with scale 1/strides[level], aligned=1; output image i is box i. `levels` (n
// ints) receives the chosen levels (may be NULL).
rt_status rt_roi_align_fpn(const rt_tensor *feats, const float *strides, int nlevels,
                           const float *boxes, int n, float finest_scale, int sampling_ratio,
                           rt_tensor *out, int *levels);

// Pastes one probability map prob [mh,mw] (after sigmoid) into a binary mask [img_h,img_w]
// (uint8 0/1, row-major): the value at pixel (px,py) is grid_sample(bilinear, zero padding,
// align_corners=False) of prob at u = (px+0.5−x0)/(x1−x0)·2−1 (likewise v), thresholded
// value ≥ thr. Pixels outside [floor(x0)−1, ceil(x1)+1) x [floor(y0)−1, ceil(y1)+1) are 0 (they
// cannot reach the threshold). box in output-image coordinates.
void rt_mask_paste(const float *prob, int mh, int mw, const float box[4], int img_h, int img_w,
                   float thr, uint8_t *mask);
// The same sampling without threshold into a float image (tests, soft masks).
void rt_mask_paste_float(const float *prob, int mh, int mw, const float box[4], int img_h,
                         int img_w, float *out);

#endif
