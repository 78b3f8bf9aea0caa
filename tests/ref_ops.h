// ref_ops.h — naive reference implementations (double accumulation) that the optimised ops in
// runtime/ are tested against, and small helpers for random test data. Tests only.
#ifndef PCAN_TESTS_REF_OPS_H
#define PCAN_TESTS_REF_OPS_H

#include <stddef.h>
#include <stdint.h>

// Deterministic xorshift generator; uniform in [lo, hi).
typedef struct ref_rng {
    uint64_t s;
} ref_rng;
float ref_uniform(ref_rng *r, float lo, float hi);
void ref_fill(ref_rng *r, float *x, size_t n, float lo, float hi);

// Plain NCHW direct convolution: x [N,C,H,W], w [K,C,kh,kw], b [K] or NULL, residual
// [N,K,OH,OW] or NULL, y [N,K,OH,OW]; y = relu?(conv + b + residual).
void ref_conv2d(const float *x, int N, int C, int H, int W, const float *w, const float *b,
                int K, int kh, int kw, int stride, int pad, int dil, const float *residual,
                int relu, float *y, int OH, int OW);
// PyTorch ConvTranspose2d: w [C,K,kh,kw]; OH = (H-1)*stride - 2*pad + dil*(kh-1) + 1.
void ref_deconv2d(const float *x, int N, int C, int H, int W, const float *w, const float *b,
                  int K, int kh, int kw, int stride, int pad, int dil, int relu, float *y,
                  int OH, int OW);
// Row-major C[M,N] = op(A)·op(B) in double, then rounded.
void ref_gemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
              int ldb, float *C, int ldc);
// Largest |a-b| / (atol + rtol·|b|) over n values (≤ 1 means within tolerance).
double ref_max_err(const float *a, const float *b, size_t n, double atol, double rtol);

#endif
