// tensor — float32 activations in NCHW or oneDNN's channel-blocked nChw8c layout.
//
// An rt_tensor is a view: it never owns its data. Per-frame tensors are carved from the video
// stream's arena, so the frame path never calls malloc:
//
//     rt_tensor x;
//     if (rt_tensor_alloc(&x, &stream->arena, 1, 256, 184, 320, RT_LAYOUT_NCHW8C) != RT_OK) ...
//     rt_conv_forward(&conv, &in, NULL, &x);    // oneDNN reads/writes the blocked layout directly
//
// Layouts. RT_LAYOUT_NCHW is plain [N][C][H][W]. RT_LAYOUT_NCHW8C is oneDNN's nChw8c
// (`aBcd8b`): [N][ceil(C/8)][H][W][8], channel c of pixel (y,x) at block c/8, lane c%8; lanes
// beyond C in the last block are padding and must hold zeros (oneDNN relies on it). Chains of
// convolutions (backbone, FPN, RPN conv, mask/refine heads) keep activations blocked; our own
// ops that need plain matrices (frame-level PCAM, box-head flatten, decoding) reorder at that
// boundary with rt_tensor_reorder. Ops that handle both layouts say so in ops.h.
//
// Thread safety: plain data; functions here are reentrant. rt_tensor_reorder is single-threaded
// unless stated otherwise and allocates nothing.
#ifndef PCAN_RUNTIME_TENSOR_H
#define PCAN_RUNTIME_TENSOR_H

#include <stddef.h>

#include "runtime/core.h"

typedef enum rt_layout {
    RT_LAYOUT_NCHW = 0,   // [N][C][H][W]
    RT_LAYOUT_NCHW8C = 1, // [N][ceil(C/8)][H][W][8], zero padded channels
} rt_layout;

#define RT_BLOCK 8 // channel block of RT_LAYOUT_NCHW8C

typedef struct rt_tensor {
    float *data; // borrowed
    int n, c, h, w;
    rt_layout layout;
} rt_tensor;

// A plain NCHW view of `data` (borrowed).
rt_tensor rt_tensor_view(float *data, int n, int c, int h, int w);
// Logical element count n*c*h*w.
size_t rt_tensor_numel(const rt_tensor *t);
// Stored floats, including block padding (what the buffer must hold).
size_t rt_tensor_size(const rt_tensor *t);
size_t rt_tensor_bytes(const rt_tensor *t);
// Channel count as stored: c for NCHW, c rounded up to 8 for NCHW8C.
int rt_tensor_cpad(const rt_tensor *t);
// Floats between consecutive images of the batch.
size_t rt_tensor_image_size(const rt_tensor *t);
// Index of element (n,c,y,x) in data, for either layout (slow path; tests and edge code).
size_t rt_tensor_index(const rt_tensor *t, int n, int c, int y, int x);
// View of images [i, i+count) of the batch (same layout, borrowed data).
rt_tensor rt_tensor_slice(const rt_tensor *t, int i, int count);
// 1 when both have the same n,c,h,w and layout.
int rt_tensor_same_shape(const rt_tensor *a, const rt_tensor *b);

// Arena bytes rt_tensor_alloc takes for this shape (data plus alignment slack): sum these to
// size a stream's arena for the worst case.
size_t rt_tensor_alloc_size(int n, int c, int h, int w, rt_layout layout);
// Sets *t to a tensor of the given shape whose data comes from the arena (64-byte aligned).
// Block padding is zeroed; other values are undefined. RT_ERR_NOMEM when the arena is
// exhausted (a sizing bug of the caller), RT_ERR_SHAPE for negative dimensions.
rt_status rt_tensor_alloc(rt_tensor *t, rt_arena *a, int n, int c, int h, int w, rt_layout layout);
// Zeroes the whole buffer (padding included).
void rt_tensor_zero(rt_tensor *t);
// Copies src into dst: same shape, any pair of layouts (a reorder when they differ). Writes the
// block padding of a blocked dst as zeros. RT_ERR_SHAPE when the shapes differ. Parallel over
// images and channel blocks with OpenMP; deterministic (pure data movement).
rt_status rt_tensor_reorder(const rt_tensor *src, rt_tensor *dst);

#endif
