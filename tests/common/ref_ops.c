// ref_ops.c — naive references for the op tests (see tests/ref_ops.h).
#include "tests/ref_ops.h"

#include <math.h>

float ref_uniform(ref_rng *r, float lo, float hi) {
    uint64_t x = r->s ? r->s : 0x9E3779B97F4A7C15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    r->s = x;
    return lo + (hi - lo) * (float)((double)(x >> 11) / 9007199254740992.0);
}

void ref_fill(ref_rng *r, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = ref_uniform(r, lo, hi);
}

void ref_conv2d(const float *x, int N, int C, int H, int W, const float *w, const float *b,
                int K, int kh, int kw, int stride, int pad, int dil, const float *residual,
                int relu, float *y, int OH, int OW) {
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    double s = b ? b[k] : 0.0;
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < kh; i++) {
                            int iy = oy * stride - pad + i * dil;
                            if (iy < 0 || iy >= H) continue;
                            for (int j = 0; j < kw; j++) {
                                int ix = ox * stride - pad + j * dil;
                                if (ix < 0 || ix >= W) continue;
                                s += (double)x[(((size_t)n * C + c) * H + iy) * W + ix] *
                                     w[(((size_t)k * C + c) * kh + i) * kw + j];
                            }
                        }
                    size_t o = (((size_t)n * K + k) * OH + oy) * OW + ox;
                    if (residual) s += residual[o];
                    if (relu && s < 0) s = 0;
                    y[o] = (float)s;
                }
}

void ref_deconv2d(const float *x, int N, int C, int H, int W, const float *w, const float *b,
                  int K, int kh, int kw, int stride, int pad, int dil, int relu, float *y,
                  int OH, int OW) {
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    double s = b ? b[k] : 0.0;
                    // oy = iy*stride - pad + i*dil
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < kh; i++) {
                            int ty = oy + pad - i * dil;
                            if (ty < 0 || ty % stride) continue;
                            int iy = ty / stride;
                            if (iy >= H) continue;
                            for (int j = 0; j < kw; j++) {
                                int tx = ox + pad - j * dil;
                                if (tx < 0 || tx % stride) continue;
                                int ix = tx / stride;
                                if (ix >= W) continue;
                                s += (double)x[(((size_t)n * C + c) * H + iy) * W + ix] *
                                     w[(((size_t)c * K + k) * kh + i) * kw + j];
                            }
                        }
                    if (relu && s < 0) s = 0;
                    y[(((size_t)n * K + k) * OH + oy) * OW + ox] = (float)s;
                }
}

void ref_gemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
              int ldb, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) {
                double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double bb = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += a * bb;
            }
            C[(size_t)i * ldc + j] = (float)s;
        }
}

double ref_max_err(const float *a, const float *b, size_t n, double atol, double rtol) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / (atol + rtol * fabs((double)b[i]));
        if (isnan(e)) return INFINITY;
        if (e > m) m = e;
    }
    return m;
}
