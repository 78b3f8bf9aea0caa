// preprocess — a uint8 RGB frame into the network's input tensor, exactly as the official
// test pipeline (PCAN-FACTS §1.4): keep-ratio resize with OpenCV's INTER_LINEAR, (x - mean) / std
// as a float32 true division, zero padding at the bottom/right to a multiple of pad_divisor.
//
//     rt_preprocess pp;
//     rt_preprocess_init(&pp, &cfg->input, 1280, 720);    // tables and scratch for this size
//     rt_preprocess_run(&pp, &frame, input_nchw);          // [1,3,pad_h,pad_w] floats; no malloc
//     rt_preprocess_free(&pp);
//
// The resize reproduces OpenCV 4.6's uint8 bilinear path bit for bit (11-bit fixed-point
// coefficients, its SSE2 vertical pass with 16-bit high multiplies and the scalar tail, the
// exact-2x fast path that averages 2x2 blocks), checked against cv2.resize outputs in
// tests/data/resize_golden.bin. Frames whose keep-ratio size equals their own size (BDD100K's
// 1280x720) are not resized at all. The frame is RGB; the official pipeline converts BGR to RGB
// before normalising, so the normalised tensor is the same.
// Not thread-safe per object; rt_preprocess_run is single-threaded and allocates nothing.
#ifndef PCAN_RUNTIME_PREPROCESS_H
#define PCAN_RUNTIME_PREPROCESS_H

#include <stdint.h>

#include "runtime/core.h"
#include "runtime/model.h"

typedef struct rt_preprocess_params {
    int scale[2];  // (long side, short side) limits
    float mean[3]; // RGB, float32 as mmcv holds them
    float std[3];
    int pad_divisor;
} rt_preprocess_params;

typedef struct rt_preprocess {
    rt_preprocess_params p;
    int src_w, src_h;
    int new_w, new_h;      // after the keep-ratio resize
    int pad_w, pad_h;      // after padding: the network input size
    float scale_factor[4]; // new_w/src_w, new_h/src_h, new_w/src_w, new_h/src_h (float32)
    // OpenCV resize tables and scratch (NULL when no resize is needed)
    int mode; // 0 none, 1 bilinear, 2 2x2 area average
    int *xofs;
    int16_t *alpha;
    int *yofs;
    int16_t *beta;
    int xmax;
    int *rows;        // two horizontally resized rows
    uint8_t *resized; // new_h * new_w * 3
} rt_preprocess;

// Computes the keep-ratio size as mmcv's rescale_size does (scale in double, int(x*s + 0.5)).
void rt_preprocess_size(const rt_preprocess_params *p, int src_w, int src_h, int *new_w,
                        int *new_h);

// Prepares for frames of src_w x src_h. RT_ERR_INVAL for sizes below 1 or a resize to 0 pixels,
// RT_ERR_NOMEM.
rt_status rt_preprocess_init(rt_preprocess *pp, const rt_preprocess_params *p, int src_w,
                             int src_h);
void rt_preprocess_free(rt_preprocess *pp);

// Writes [3, pad_h, pad_w] floats (channel-major) to `out`. The frame must have the size given
// at init (asserted).
void rt_preprocess_run(rt_preprocess *pp, const rt_image *frame, float *out);

// OpenCV-exact INTER_LINEAR resize of a packed uint8 image with `cn` channels, for tests and
// tools. Allocates its tables (RT_ERR_NOMEM).
rt_status rt_resize_linear_u8(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh,
                              int cn);

#endif
