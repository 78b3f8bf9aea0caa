// ops_pcam — EM prototypes and cross-attention read-outs (see ops_pcam.h).
#include "runtime/ops_pcam.h"

#include <math.h>
#include <string.h>

#include "runtime/ops_gemm.h"

size_t rt_em_work_floats(int N, int K) { return (size_t)N * (size_t)K + (size_t)K; }

// Stable softmax of one row of length k, scaled by temp first (float, like F.softmax(temp*z)).
static void softmax_row(float *z, int k, float temp) {
    float m = -INFINITY;
    for (int j = 0; j < k; j++) {
        z[j] *= temp;
        if (z[j] > m) m = z[j];
    }
    if (m == -INFINITY) m = 0.0f;
    float s = 0.0f;
    for (int j = 0; j < k; j++) {
        z[j] = expf(z[j] - m);
        s += z[j];
    }
    float inv = 1.0f / s;
    for (int j = 0; j < k; j++) z[j] *= inv;
}

// Softmax rows of z [N,K] (optionally masked), parallel over row blocks when `par`.
static void e_rows(float *z, int N, int K, float temp, const float *mask, int invert, int par) {
#pragma omp parallel for schedule(static) if (par && (long)N * K > 65536)
    for (int n = 0; n < N; n++) {
        float *row = z + (size_t)n * K;
        softmax_row(row, K, temp);
        if (mask) {
            float w = invert ? 1.0f - mask[n] : mask[n];
            for (int j = 0; j < K; j++) row[j] *= w;
        }
    }
}

// z[:,k] /= 1e-6 + Σ_n z[n,k]  (sums in double, ascending n).
static void l1_cols(float *z, int N, int K, float *colsum) {
    double s[RT_PCAM_MAX_K] = {0};
    for (int n = 0; n < N; n++) // row-wise pass; each column still sums in ascending n
        for (int j = 0; j < K; j++) s[j] += z[(size_t)n * K + j];
    for (int j = 0; j < K; j++) colsum[j] = 1e-6f + (float)s[j];
    for (int n = 0; n < N; n++)
        for (int j = 0; j < K; j++) z[(size_t)n * K + j] /= colsum[j];
}

// mu[:,k] /= 1e-6 + ||mu[:,k]||₂  (double sums, ascending c).
static void l2_cols(float *mu, int C, int K) {
    for (int j = 0; j < K; j++) {
        double s = 0.0;
        for (int c = 0; c < C; c++) {
            double v = mu[(size_t)c * K + j];
            s += v * v;
        }
        float d = 1e-6f + (float)sqrt(s);
        for (int c = 0; c < C; c++) mu[(size_t)c * K + j] /= d;
    }
}

static void em_one(const float *x, int C, int N, const float *mask, int invert, float *mu, int K,
                   int iters, float temp, float *work, int par) {
    float *z = work, *colsum = work + (size_t)N * K;
    for (int it = 0; it < iters; it++) {
        // z [N,K] = xᵀ [N,C] · mu [C,K]
        if (par)
            rt_gemm(1, 0, N, K, C, 1.0f, x, N, mu, K, 0.0f, z, K);
        else
            rt_gemm_serial(1, 0, N, K, C, 1.0f, x, N, mu, K, 0.0f, z, K);
        e_rows(z, N, K, temp, mask, invert, par);
        l1_cols(z, N, K, colsum);
        // mu [C,K] = x [C,N] · z [N,K]
        if (par)
            rt_gemm(0, 0, C, K, N, 1.0f, x, N, z, K, 0.0f, mu, K);
        else
            rt_gemm_serial(0, 0, C, K, N, 1.0f, x, N, z, K, 0.0f, mu, K);
        l2_cols(mu, C, K);
    }
}

void rt_em(const float *x, int C, int N, const float *mask, float *mu, int K, int iters,
           float temp, float *work) {
    RT_ASSERT(K > 0 && K <= RT_PCAM_MAX_K);
    em_one(x, C, N, mask, 0, mu, K, iters, temp, work, 1);
}

void rt_em_batch(const float *x, int R, int C, int N, const float *mask, int invert_mask,
                 const float *init, float *mu, int K, int iters, float temp, float *work) {
    RT_ASSERT(K > 0 && K <= RT_PCAM_MAX_K);
    const size_t ck = (size_t)C * K, cn = (size_t)C * N, wf = rt_em_work_floats(N, K);
#pragma omp parallel for schedule(dynamic, 1) if (R > 1)
    for (int r = 0; r < R; r++) {
        float *m = mu + (size_t)r * ck;
        if (init) memcpy(m, init, ck * sizeof(float));
        em_one(x + (size_t)r * cn, C, N, mask ? mask + (size_t)r * N : NULL, invert_mask, m, K,
               iters, temp, work + (size_t)r * wf, 0);
    }
}

void rt_pcam_readout(const float *x, int C, int N, const float *P, int K, float *r, float *work) {
    float *a = work;
    rt_gemm(1, 0, N, K, C, 1.0f, x, N, P, K, 0.0f, a, K);
    e_rows(a, N, K, 1.0f, NULL, 0, 1);
    // r [C,N] = P [C,K] · aᵀ [K,N]
    rt_gemm(0, 1, C, N, K, 1.0f, P, K, a, K, 0.0f, r, N);
}

void rt_pcam_fg_bg(const float *x, int C, int N, const float *mu, int kpos, int kneg, float *pos,
                   float *neg, float *work) {
    const int K = kpos + kneg;
    float *s = work;
    rt_gemm_serial(1, 0, N, K, C, 1.0f, x, N, mu, K, 0.0f, s, K);
    for (int n = 0; n < N; n++) {
        float *row = s + (size_t)n * K;
        softmax_row(row, K, 1.0f);
        float p = 0.0f, q = 0.0f;
        for (int j = 0; j < kpos; j++) p += row[j];
        for (int j = kpos; j < K; j++) q += row[j];
        pos[n] = p;
        neg[n] = q;
    }
}

void rt_masked_mean(const float *x, int C, int N, const float *mask, float eps, float *g) {
    double ms = 0.0;
    for (int n = 0; n < N; n++) ms += mask[n];
    float den = (float)ms + eps;
    for (int c = 0; c < C; c++) {
        double s = 0.0;
        for (int n = 0; n < N; n++) s += (double)x[(size_t)c * N + n] * mask[n];
        g[c] = (float)s / den;
    }
}
