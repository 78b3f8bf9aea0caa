// test_ops_pcam — EM prototypes (plain and masked, single and batched), read-outs and the
// masked mean against naive double implementations; bit-identity for 1 and 2 threads.
#include "runtime/ops_gemm.h"
#include "runtime/ops_pcam.h"
#include "tests/ref_ops.h"
#include "tests/test.h"

// Naive EM in double: the equations of PCAN's _em_iter.
static void naive_em(const float *x, int C, int N, const float *mask, int invert, float *mu_f,
                     int K, int iters, double temp) {
    double *mu = malloc(sizeof(double) * C * K), *z = malloc(sizeof(double) * N * K);
    for (int i = 0; i < C * K; i++) mu[i] = mu_f[i];
    for (int it = 0; it < iters; it++) {
        for (int n = 0; n < N; n++) {
            double m = -INFINITY, s = 0;
            for (int k = 0; k < K; k++) {
                double d = 0;
                for (int c = 0; c < C; c++) d += (double)x[c * N + n] * mu[c * K + k];
                z[n * K + k] = temp * d;
                if (z[n * K + k] > m) m = z[n * K + k];
            }
            for (int k = 0; k < K; k++) s += (z[n * K + k] = exp(z[n * K + k] - m));
            double w = mask ? (invert ? 1 - mask[n] : mask[n]) : 1;
            for (int k = 0; k < K; k++) z[n * K + k] = z[n * K + k] / s * w;
        }
        for (int k = 0; k < K; k++) {
            double s = 0;
            for (int n = 0; n < N; n++) s += z[n * K + k];
            for (int n = 0; n < N; n++) z[n * K + k] /= 1e-6 + s;
        }
        for (int k = 0; k < K; k++) {
            double nrm = 0;
            for (int c = 0; c < C; c++) {
                double d = 0;
                for (int n = 0; n < N; n++) d += (double)x[c * N + n] * z[n * K + k];
                mu[c * K + k] = d;
                nrm += d * d;
            }
            for (int c = 0; c < C; c++) mu[c * K + k] /= 1e-6 + sqrt(nrm);
        }
    }
    for (int i = 0; i < C * K; i++) mu_f[i] = (float)mu[i];
    free(mu);
    free(z);
}

static void init_mu(ref_rng *rng, float *mu, int C, int K) {
    ref_fill(rng, mu, (size_t)C * K, -1, 1);
    for (int k = 0; k < K; k++) {
        double s = 0;
        for (int c = 0; c < C; c++) s += mu[c * K + k] * mu[c * K + k];
        for (int c = 0; c < C; c++) mu[c * K + k] /= (float)sqrt(s);
    }
}

static void test_em_vs_naive(void) {
    const int C = 24, N = 150, K = 6;
    ref_rng rng = {61};
    float *x = malloc(sizeof(float) * C * N), mu[24 * 6], ref[24 * 6], mask[150];
    float *work = malloc(sizeof(float) * rt_em_work_floats(N, K));
    ref_fill(&rng, x, (size_t)C * N, -0.2f, 0.3f);
    for (int n = 0; n < N; n++) mask[n] = ref_uniform(&rng, 0, 1) < 0.4f ? 1.0f : 0.0f;
    for (int masked = 0; masked < 2; masked++) {
        init_mu(&rng, mu, C, K);
        memcpy(ref, mu, sizeof mu);
        rt_em(x, C, N, masked ? mask : NULL, mu, K, 3, 20.0f, work);
        naive_em(x, C, N, masked ? mask : NULL, 0, ref, K, 3, 20.0);
        double e = ref_max_err(mu, ref, (size_t)C * K, 2e-5, 1e-4);
        CHECK_MSG(e <= 1.0, "em masked=%d: error %.3g x tol", masked, e);
    }
    // Empty mask: every responsibility is 0, so the prototypes are 0 (PCAN-FACTS §3.2).
    float zero[150] = {0};
    init_mu(&rng, mu, C, K);
    rt_em(x, C, N, zero, mu, K, 2, 20.0f, work);
    for (int i = 0; i < C * K; i++) CHECK_NEAR(mu[i], 0, 0);
    free(x);
    free(work);
}

static void test_em_batch(void) {
    const int R = 5, C = 32, N = 196, K = 10;
    ref_rng rng = {62};
    float *x = malloc(sizeof(float) * R * C * N), *mask = malloc(sizeof(float) * R * N);
    float *mu = malloc(sizeof(float) * R * C * K), init[32 * 10], one[32 * 10];
    float *work = malloc(sizeof(float) * R * rt_em_work_floats(N, K));
    ref_fill(&rng, x, (size_t)R * C * N, -1, 1);
    for (int i = 0; i < R * N; i++) mask[i] = ref_uniform(&rng, 0, 1) < 0.5f;
    init_mu(&rng, init, C, K);
    for (int inv = 0; inv < 2; inv++) {
        rt_em_batch(x, R, C, N, mask, inv, init, mu, K, 6, 20.0f, work);
        for (int r = 0; r < R; r++) {
            // Batched == one RoI at a time, bit for bit; and close to the naive version.
            float m1[150 * 2];
            for (int n = 0; n < N; n++) m1[n] = inv ? 1.0f - mask[r * N + n] : mask[r * N + n];
            memcpy(one, init, sizeof init);
            rt_em(x + (size_t)r * C * N, C, N, m1, one, K, 6, 20.0f, work);
            CHECK(memcmp(one, mu + (size_t)r * C * K, sizeof one) == 0);
            memcpy(one, init, sizeof init);
            naive_em(x + (size_t)r * C * N, C, N, mask + (size_t)r * N, inv, one, K, 6, 20.0);
            double e = ref_max_err(mu + (size_t)r * C * K, one, (size_t)C * K, 1e-4, 1e-3);
            CHECK_MSG(e <= 1.0, "batch roi %d inv %d: error %.3g x tol", r, inv, e);
        }
    }
    free(x);
    free(mask);
    free(mu);
    free(work);
}

static void test_readouts(void) {
    const int C = 16, N = 90, K = 7;
    ref_rng rng = {63};
    float *x = malloc(sizeof(float) * C * N), P[16 * 7], *r = malloc(sizeof(float) * C * N);
    float *ref = malloc(sizeof(float) * C * N), *work = malloc(sizeof(float) * rt_em_work_floats(N, K));
    ref_fill(&rng, x, (size_t)C * N, -3, 3);
    init_mu(&rng, P, C, K);
    rt_pcam_readout(x, C, N, P, K, r, work);
    for (int n = 0; n < N; n++) {
        double a[7], m = -INFINITY, s = 0;
        for (int k = 0; k < K; k++) {
            a[k] = 0;
            for (int c = 0; c < C; c++) a[k] += (double)x[c * N + n] * P[c * K + k];
            if (a[k] > m) m = a[k];
        }
        for (int k = 0; k < K; k++) s += (a[k] = exp(a[k] - m));
        for (int c = 0; c < C; c++) {
            double v = 0;
            for (int k = 0; k < K; k++) v += P[c * K + k] * a[k] / s;
            ref[c * N + n] = (float)v;
        }
    }
    CHECK(ref_max_err(r, ref, (size_t)C * N, 1e-6, 1e-5) <= 1.0);
    // fg/bg maps: 3 positive + 4 negative prototypes; pos + neg = 1.
    float pos[90], neg[90];
    rt_pcam_fg_bg(x, C, N, P, 3, 4, pos, neg, work);
    for (int n = 0; n < N; n++) {
        CHECK_NEAR(pos[n] + neg[n], 1, 1e-6);
        double a[7], m = -INFINITY, s = 0, p = 0;
        for (int k = 0; k < K; k++) {
            a[k] = 0;
            for (int c = 0; c < C; c++) a[k] += (double)x[c * N + n] * P[c * K + k];
            if (a[k] > m) m = a[k];
        }
        for (int k = 0; k < K; k++) s += (a[k] = exp(a[k] - m));
        for (int k = 0; k < 3; k++) p += a[k] / s;
        CHECK_NEAR(pos[n], p, 1e-5);
    }
    float mask[90], g[16];
    for (int n = 0; n < N; n++) mask[n] = n % 3 == 0;
    rt_masked_mean(x, C, N, mask, 1e-5f, g);
    double s = 0;
    for (int n = 0; n < N; n += 3) s += x[2 * N + n];
    CHECK_NEAR(g[2], s / (30 + 1e-5), 1e-5);
    free(x);
    free(r);
    free(ref);
    free(work);
}

static void test_pcam_threads_bits(void) {
    // A P3-like slice: C 256, N 3000, K 30; EM then read-out, 1 vs 2 threads.
    const int C = 256, N = 3000, K = 30;
    ref_rng rng = {64};
    float *x = malloc(sizeof(float) * C * N), *mu0 = malloc(sizeof(float) * C * K);
    float *mu1 = malloc(sizeof(float) * C * K), *mu2 = malloc(sizeof(float) * C * K);
    float *r1 = malloc(sizeof(float) * C * N), *r2 = malloc(sizeof(float) * C * N);
    float *work = malloc(sizeof(float) * rt_em_work_floats(N, K));
    ref_fill(&rng, x, (size_t)C * N, -2, 4);
    init_mu(&rng, mu0, C, K);
    memcpy(mu1, mu0, sizeof(float) * C * K);
    memcpy(mu2, mu0, sizeof(float) * C * K);
    rt_threads_set(1);
    rt_em(x, C, N, NULL, mu1, K, 3, 20.0f, work);
    rt_pcam_readout(x, C, N, mu1, K, r1, work);
    rt_threads_set(2);
    uint64_t a0 = rt_alloc_count();
    rt_em(x, C, N, NULL, mu2, K, 3, 20.0f, work);
    rt_pcam_readout(x, C, N, mu2, K, r2, work);
    CHECK_EQ_INT(rt_alloc_count(), a0);
    CHECK(memcmp(mu1, mu2, sizeof(float) * C * K) == 0);
    CHECK(memcmp(r1, r2, sizeof(float) * C * N) == 0);
    for (int i = 0; i < C * K; i++) CHECK(isfinite(mu2[i]));
    free(x);
    free(mu0);
    free(mu1);
    free(mu2);
    free(r1);
    free(r2);
    free(work);
}

int main(void) {
    rt_threads_set(2);
    TEST_RUN(test_em_vs_naive);
    TEST_RUN(test_em_batch);
    TEST_RUN(test_readouts);
    TEST_RUN(test_pcam_threads_bits);
    return test_finish();
}
