// ops — the small dense ops of the PCAN network: pooling, resizing, GroupNorm, elementwise,
// sigmoid and softmax. Box ops are in ops_box.h, RoI ops in ops_roi.h, PCAM in ops_pcam.h,
// convolution in ops_conv.h, GEMM in ops_gemm.h.
//
//     rt_maxpool2d(&c1, 3, 2, 1, &stem);           // [1,64,368,640] -> [1,64,184,320]
//     rt_upsample_nearest_add(&p5, &lat4);         // FPN top-down: lat4 += nearest(p5)
//     rt_softmax(z, n, k, 1);                      // rows of z [n,k] along k
//
// Tensor ops accept RT_LAYOUT_NCHW and RT_LAYOUT_NCHW8C unless stated; input and output must
// then share the layout. Shape mismatches return RT_ERR_SHAPE with a message; nothing here
// allocates. Parallel loops (OpenMP) split work by output element or by channel group only, so
// every result is bit-identical for any thread count. Reentrant; call from outside any parallel
// region for parallel speed (inside one they run on the calling thread).
#ifndef PCAN_RUNTIME_OPS_H
#define PCAN_RUNTIME_OPS_H

#include <stddef.h>

#include "runtime/core.h"
#include "runtime/tensor.h"

// PyTorch output size of a pooling/conv window, floor mode: (in + 2*pad - k) / stride + 1.
int rt_pool_out_size(int in, int k, int stride, int pad);

// Max pooling (PyTorch max_pool2d, padding counts as -inf, floor mode): y [N,C,OH,OW] with
// OH = rt_pool_out_size(H, k, stride, pad). Stem: k3 s2 p1; FPN P6: k1 s2 p0.
rt_status rt_maxpool2d(const rt_tensor *x, int k, int stride, int pad, rt_tensor *y);

// Nearest resize to y's size (PyTorch F.interpolate(size=..., mode='nearest')): source index
// min(floor(dst * (float)in/out), in-1) per axis. x [N,C,H,W] -> y [N,C,OH,OW].
rt_status rt_upsample_nearest(const rt_tensor *x, rt_tensor *y);
// y += nearest(x) resized to y's size (mmdet FPN top-down pathway).
rt_status rt_upsample_nearest_add(const rt_tensor *x, rt_tensor *y);

// Bilinear resize to y's size, align_corners=False (PyTorch): src = max((dst+0.5)*in/out - 0.5,
// 0), neighbours clamped at the last pixel. Used by the refine head (28x28 -> 14x14).
rt_status rt_resize_bilinear(const rt_tensor *x, rt_tensor *y);

// GroupNorm in place over x [N,C,H,W] with `groups` groups (C % groups == 0), per-channel
// affine gamma/beta (may be NULL = 1/0), eps (PyTorch default 1e-5), then ReLU when relu.
// Statistics in double; y = x*s + (beta - s*mean) with s = gamma/sqrt(var+eps) (biased var).
rt_status rt_group_norm(rt_tensor *x, int groups, const float *gamma, const float *beta,
                        float eps, int relu);

// y = a + b, same shape and layout (y may alias a or b).
rt_status rt_add(const rt_tensor *a, const rt_tensor *b, rt_tensor *y);
// Raw-array helpers (n floats): y = alpha*x + beta*y; x *= s; y = sigmoid(x) (x == y allowed);
// x = max(x, 0).
void rt_axpby(float alpha, const float *x, float beta, float *y, size_t n);
void rt_scale(float *x, size_t n, float s);
void rt_sigmoid(const float *x, float *y, size_t n);
void rt_relu(float *x, size_t n);

// Numerically stable softmax in place along the middle axis of x viewed as [outer, len, inner]:
// subtract the max, expf, multiply by 1/sum (sum in float, ascending index order). len 0 is a
// no-op. Logits of any magnitude (e.g. 20·mᵀμ of raw FPN features) give finite results.
void rt_softmax(float *x, size_t outer, size_t len, size_t inner);

#endif
