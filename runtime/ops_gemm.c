// ops_gemm — fixed-tile GEMM over OpenMP threads with single-threaded OpenBLAS (see ops_gemm.h).
#include "runtime/ops_gemm.h"

#include <cblas.h>
#include <omp.h>

// Provided by OpenBLAS (not in every cblas.h).
void openblas_set_num_threads(int num_threads);

int rt_threads_set(int n) {
    if (n <= 0) n = omp_get_num_procs();
    // Order matters: OpenBLAS's OpenMP build forwards its count to omp_set_num_threads, so set
    // it first and ours afterwards. (That build still follows omp_get_max_threads() at call
    // time; gemm_run makes each call single-threaded itself.)
    openblas_set_num_threads(1);
    omp_set_num_threads(n);
    return n;
}

int rt_threads_get(void) { return omp_get_max_threads(); }

static void gemm_tile(int ta, int tb, int mt, int nt, int i0, int j0, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc) {
    const float *a = ta ? A + i0 : A + (size_t)i0 * (size_t)lda;
    const float *b = tb ? B + (size_t)j0 * (size_t)ldb : B + j0;
    float *c = C + (size_t)i0 * (size_t)ldc + j0;
    if (K == 0) {
        for (int i = 0; i < mt; i++)
            for (int j = 0; j < nt; j++) {
                float *p = c + (size_t)i * (size_t)ldc + j;
                *p = beta == 0.0f ? 0.0f : beta * *p;
            }
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                mt, nt, K, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void gemm_run(int parallel, int ta, int tb, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta, float *C,
                     int ldc) {
    if (M <= 0 || N <= 0) return;
    const int tm = (M + RT_GEMM_TILE_M - 1) / RT_GEMM_TILE_M;
    const int tn = (N + RT_GEMM_TILE_N - 1) / RT_GEMM_TILE_N;
    const long tiles = (long)tm * tn;
    parallel = parallel && tiles > 1 && !omp_in_parallel() && omp_get_max_threads() > 1;
#pragma omp parallel if (parallel)
    {
        // OpenBLAS's OpenMP build ignores openblas_set_num_threads and splits a call over
        // omp_get_max_threads() threads unless it runs inside an active parallel region. This
        // ICV belongs to the implicit task of this (possibly inactive) region, so setting it
        // here makes every tile call single-threaded without touching the caller's setting.
        omp_set_num_threads(1);
#pragma omp for schedule(dynamic, 1)
        for (long t = 0; t < tiles; t++) {
            int i0 = (int)(t / tn) * RT_GEMM_TILE_M, j0 = (int)(t % tn) * RT_GEMM_TILE_N;
            gemm_tile(ta, tb, RT_MIN(RT_GEMM_TILE_M, M - i0), RT_MIN(RT_GEMM_TILE_N, N - j0), i0,
                      j0, K, alpha, A, lda, B, ldb, beta, C, ldc);
        }
    }
}

void rt_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
    gemm_run(1, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void rt_gemm_serial(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc) {
    gemm_run(0, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void rt_linear(const float *x, int M, int K, const float *w, const float *b, int N, int relu,
               float *y) {
    rt_gemm(0, 1, M, N, K, 1.0f, x, K, w, K, 0.0f, y, N);
    if (!b && !relu) return;
    for (int i = 0; i < M; i++) {
        float *r = y + (size_t)i * (size_t)N;
        for (int j = 0; j < N; j++) {
            float v = b ? r[j] + b[j] : r[j];
            r[j] = relu && v < 0.0f ? 0.0f : v;
        }
    }
}
