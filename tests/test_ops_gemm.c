// test_ops_gemm — tiled deterministic GEMM and the fully connected layer against a naive double
// reference; bit-identity for 1 and 2 threads and for serial vs parallel; no allocation.
#include <omp.h>

#include "runtime/ops_gemm.h"
#include "tests/ref_ops.h"
#include "tests/test.h"

int openblas_get_num_threads(void);

static void test_gemm_vs_reference(void) {
    // M, N, K chosen to hit partial tiles in both directions and tiny/degenerate cases.
    static const int shapes[][3] = {{1, 1, 1},     {3, 5, 7},     {129, 257, 33},
                                    {300, 70, 1},  {17, 600, 300}, {256, 30, 1000},
                                    {1000, 30, 256}, {64, 1, 513}};
    ref_rng rng = {7};
    for (size_t s = 0; s < RT_COUNTOF(shapes); s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
                size_t an = (size_t)(ta ? K : M) * lda, bn = (size_t)(tb ? N : K) * ldb;
                float *A = malloc(an * 4), *B = malloc(bn * 4);
                float *C = malloc((size_t)M * ldc * 4), *R = malloc((size_t)M * ldc * 4);
                ref_fill(&rng, A, an, -1, 1);
                ref_fill(&rng, B, bn, -1, 1);
                ref_fill(&rng, C, (size_t)M * ldc, -1, 1);
                memcpy(R, C, (size_t)M * ldc * 4); // padding columns must survive
                ref_gemm(ta, tb, M, N, K, A, lda, B, ldb, R, ldc);
                rt_gemm(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
                double e = ref_max_err(C, R, (size_t)M * ldc, 1e-6 * K + 1e-6, 1e-5);
                CHECK_MSG(e <= 1.0, "gemm %dx%dx%d ta %d tb %d: error %.3g x tol", M, N, K, ta,
                          tb, e);
                free(A);
                free(B);
                free(C);
                free(R);
            }
}

static void test_gemm_alpha_beta(void) {
    float A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, 0, 0, 1, 1, 1}; // [2,3] x [3,2]
    float C[4] = {10, 20, 30, 40};
    rt_gemm(0, 0, 2, 2, 3, 2.0f, A, 3, B, 2, 0.5f, C, 2);
    // A·B = [[4,5],[10,11]]
    CHECK_NEAR(C[0], 2 * 4 + 5, 0);
    CHECK_NEAR(C[1], 2 * 5 + 10, 0);
    CHECK_NEAR(C[2], 2 * 10 + 15, 0);
    CHECK_NEAR(C[3], 2 * 11 + 20, 0);
    rt_gemm(0, 0, 2, 2, 0, 1.0f, A, 1, B, 2, 0.0f, C, 2); // K = 0: C = 0
    for (int i = 0; i < 4; i++) CHECK_NEAR(C[i], 0, 0);
}

static void test_linear(void) {
    const int M = 37, K = 1254, N = 102;
    ref_rng rng = {99};
    float *x = malloc((size_t)M * K * 4), *w = malloc((size_t)N * K * 4), *b = malloc(N * 4);
    float *y = malloc((size_t)M * N * 4), *r = malloc((size_t)M * N * 4);
    ref_fill(&rng, x, (size_t)M * K, -1, 1);
    ref_fill(&rng, w, (size_t)N * K, -0.05f, 0.05f);
    ref_fill(&rng, b, N, -1, 1);
    ref_gemm(0, 1, M, N, K, x, K, w, K, r, N);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float v = r[i * N + j] + b[j];
            r[i * N + j] = v < 0 ? 0 : v;
        }
    uint64_t a0 = rt_alloc_count();
    rt_linear(x, M, K, w, b, N, 1, y);
    CHECK_EQ_INT(rt_alloc_count(), a0);
    CHECK(ref_max_err(y, r, (size_t)M * N, 1e-5, 1e-5) <= 1.0);
    int zeros = 0;
    for (int i = 0; i < M * N; i++) zeros += y[i] == 0.0f;
    CHECK(zeros > 0 && zeros < M * N); // the ReLU did something, not everything
    free(x);
    free(w);
    free(b);
    free(y);
    free(r);
}

static void test_gemm_threads_bits(void) {
    // A box-head-like FC big enough to have many tiles, plus an attention-like skinny product.
    const int M = 300, K = 1500, N = 700;
    ref_rng rng = {5};
    float *x = malloc((size_t)M * K * 4), *w = malloc((size_t)N * K * 4);
    float *y1 = malloc((size_t)M * N * 4), *y2 = malloc((size_t)M * N * 4);
    float *y3 = malloc((size_t)M * N * 4);
    ref_fill(&rng, x, (size_t)M * K, -1, 1);
    ref_fill(&rng, w, (size_t)N * K, -1, 1);
    CHECK_EQ_INT(rt_threads_set(1), 1);
    CHECK_EQ_INT(rt_threads_get(), 1);
    rt_linear(x, M, K, w, NULL, N, 0, y1);
    CHECK_EQ_INT(rt_threads_set(2), 2);
    CHECK_EQ_INT(rt_threads_get(), 2);
    CHECK_EQ_INT(openblas_get_num_threads(), 1);
    rt_linear(x, M, K, w, NULL, N, 0, y2);
    CHECK(memcmp(y1, y2, (size_t)M * N * 4) == 0);
    rt_gemm_serial(0, 1, M, N, K, 1.0f, x, K, w, K, 0.0f, y3, N);
    CHECK(memcmp(y1, y3, (size_t)M * N * 4) == 0);
    // Inside our own parallel region rt_gemm runs serially and still gives the same bits.
#pragma omp parallel num_threads(2)
    {
#pragma omp single
        rt_gemm(0, 1, M, N, K, 1.0f, x, K, w, K, 0.0f, y3, N);
    }
    CHECK(memcmp(y1, y3, (size_t)M * N * 4) == 0);
    // Skinny: [N=3000, C=256] x [256, 30] (E-step shape), transposed A.
    const int P = 3000, C = 256, Kp = 30;
    float *m = malloc((size_t)C * P * 4), *mu = malloc((size_t)C * Kp * 4);
    float *z1 = malloc((size_t)P * Kp * 4), *z2 = malloc((size_t)P * Kp * 4);
    ref_fill(&rng, m, (size_t)C * P, -3, 3);
    ref_fill(&rng, mu, (size_t)C * Kp, -1, 1);
    rt_threads_set(1);
    rt_gemm(1, 0, P, Kp, C, 1.0f, m, P, mu, Kp, 0.0f, z1, Kp);
    rt_threads_set(2);
    rt_gemm(1, 0, P, Kp, C, 1.0f, m, P, mu, Kp, 0.0f, z2, Kp);
    CHECK(memcmp(z1, z2, (size_t)P * Kp * 4) == 0);
    free(m);
    free(mu);
    free(z1);
    free(z2);
    free(x);
    free(w);
    free(y1);
    free(y2);
    free(y3);
}

int main(void) {
    rt_threads_set(2);
    TEST_RUN(test_gemm_vs_reference);
    TEST_RUN(test_gemm_alpha_beta);
    TEST_RUN(test_linear);
    TEST_RUN(test_gemm_threads_bits);
    return test_finish();
}
