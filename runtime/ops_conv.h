// ops_conv — convolution and transposed convolution layers on oneDNN 2.6 (CPU, OpenMP).
//
// A layer is created once when the model loads, from PyTorch-layout weights with BatchNorm
// already folded in by the loader; the weights are reordered once to the layout oneDNN prefers.
// The primitive for a given input shape is created on the first forward call with that shape
// (or by rt_conv_prepare) and cached; a change of input shape re-creates it, which allocates
// (a rare event: the network runs at one padded size per video). The thread count
// (rt_threads_set) is part of the key, because oneDNN fixes its work split at creation. Execution works on the
// caller's buffers and allocates nothing (oneDNN's scratchpad is owned by the cache entry).
//
//     rt_conv_params p = rt_conv_default_params();
//     p.in_channels = 256; p.out_channels = 256; p.kernel = 3; p.pad = 1; p.relu = 1;
//     rt_conv *conv = NULL;
//     if (rt_conv_init(&conv, &p, w, b) != RT_OK) ...   // w [256,256,3,3], b [256]; copied
//     rt_conv_forward(conv, &x, NULL, &y);                // x, y: rt_tensor (see tensor.h)
//     rt_conv_free(&conv);
//
// Layout decision: activations stay in oneDNN's nChw8c (RT_LAYOUT_NCHW8C) between consecutive
// convolutions — PERF.md measured 1.26–1.36x over im2col+OpenBLAS on the whole backbone this
// way, against 1.05x with a reorder around every layer. The block is fixed at 8 (oneDNN's AVX2
// choice) rather than "whatever oneDNN prefers", so that our own blocked-layout ops have one
// layout to handle; on AVX-512 machines oneDNN then uses its AVX2 kernels. The input may be
// either layout (the stem reads the plain preprocessed image); the output layout is a layer
// parameter (RT_LAYOUT_NCHW for layers feeding our own plain-layout code, e.g. RPN heads).
//
// Fused epilogue: y = relu?(conv(x) + bias + residual?), in that order — the ResNet bottleneck's
// "conv3 + BN + identity, then ReLU". With p.residual the residual tensor (same shape and layout
// as y) is copied into y first unless it already is y (in-place accumulate).
//
// Transposed convolution (p.transposed): PyTorch ConvTranspose2d semantics and weight layout
// [in, out, kh, kw]; output size (h-1)*stride - 2*pad + dilation*(k-1) + 1 (no output_padding).
//
// Determinism: oneDNN's direct convolution gives the same bits for 1 and 2 threads (ENV.md §11,
// tests/test_conv.c). Results may differ across CPUs with different ISA kernels.
//
// Thread safety: an rt_conv is not safe for concurrent forward calls (the cache and oneDNN
// memory handles are mutated); one video stream at a time per layer object.
#ifndef PCAN_RUNTIME_OPS_CONV_H
#define PCAN_RUNTIME_OPS_CONV_H

#include "runtime/core.h"
#include "runtime/tensor.h"

typedef struct rt_conv_params {
    int in_channels, out_channels;
    int kernel_h, kernel_w;   // kernel size
    int stride, pad, dilation; // the same for both spatial axes; dilation 1 = none
    int groups;               // must be 1 (no grouped layer in PCAN)
    int relu;                 // fused ReLU
    int residual;             // fused sum with a residual tensor (see above)
    int transposed;           // ConvTranspose2d
    rt_layout out_layout;     // layout of the output (default RT_LAYOUT_NCHW8C)
    // Run batches in chunks of this many images (0 = whole batch in one primitive). Layers on
    // RoI batches whose size changes every frame set it, so that no frame re-creates a
    // primitive: full chunks use one primitive, the remainder images a batch-1 primitive.
    int batch_chunk;
    const char *name;         // for error messages (copied; may be NULL)
} rt_conv_params;

// in/out channels 0, kernel 1x1, stride 1, pad 0, dilation 1, groups 1, no fusion,
// out_layout RT_LAYOUT_NCHW8C, batch_chunk 0, name NULL.
rt_conv_params rt_conv_default_params(void);

typedef struct rt_conv rt_conv;

// Creates the layer. weights: [out,in,kh,kw] (or [in,out,kh,kw] when transposed), bias: [out]
// or NULL; both are copied (the caller keeps ownership). Returns RT_ERR_CONFIG for invalid
// parameters, RT_ERR_NOMEM, or RT_ERR_CONFIG when oneDNN cannot be initialised.
rt_status rt_conv_init(rt_conv **conv, const rt_conv_params *p, const float *weights,
                       const float *bias);
// Frees the layer and its cached primitives; accepts NULL and sets *conv to NULL.
void rt_conv_free(rt_conv **conv);
// The parameters the layer was created with.
const rt_conv_params *rt_conv_get_params(const rt_conv *conv);
// Output spatial size for an input of h x w; 0 when the input is too small.
void rt_conv_out_size(const rt_conv *conv, int h, int w, int *oh, int *ow);
// Creates (or finds) the primitives for input x (shape and layout; data unused). Allocates.
// Call once per video so that the first frame does not pay for it. RT_ERR_SHAPE for a wrong
// channel count or an input too small for the kernel; RT_ERR_CONFIG when oneDNN refuses.
rt_status rt_conv_prepare(rt_conv *conv, const rt_tensor *x);
// y = conv(x) with the fused epilogue. x: [N,in,H,W] in either layout. y: [N,out,OH,OW] in
// p.out_layout, preallocated by the caller, not overlapping x. residual: NULL unless
// p.residual, then y's shape and layout (may be y itself). N = 0 is a no-op.
// RT_ERR_SHAPE on any shape mismatch (message names the layer); allocates only when the input
// shape is new (see rt_conv_prepare).
rt_status rt_conv_forward(rt_conv *conv, const rt_tensor *x, const rt_tensor *residual,
                          rt_tensor *y);
// Implementation name oneDNN chose for the most recent primitive ("jit:avx2", ...); "" if none.
const char *rt_conv_impl(const rt_conv *conv);

#endif
