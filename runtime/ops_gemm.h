// ops_gemm — deterministic GEMM and fully connected layers on single-threaded OpenBLAS calls.
//
// OpenBLAS changes result bits with its thread count and even with how a product is split
// (ENV.md §11). So every product is cut into tiles of a fixed size (RT_GEMM_TILE_M x
// RT_GEMM_TILE_N, whole K) that do not depend on the thread count, each tile is one
// single-threaded cblas_sgemm call, and the tiles are spread over our OpenMP threads. The
// result is bit-identical for any thread count (tests/test_ops_gemm.c checks 1 vs 2).
//
//     rt_threads_set(2);                        // once per process/rank, from the main thread
//     rt_linear(x, 1000, 12544, w, b, 1024, 1, y);   // y = relu(x·wᵀ + b)
//
// Thread safety: all functions are reentrant. When called from inside an OpenMP parallel
// region they run serially on the calling thread (no nested parallelism). They allocate nothing.
#ifndef PCAN_RUNTIME_OPS_GEMM_H
#define PCAN_RUNTIME_OPS_GEMM_H

#include <stddef.h>

#include "runtime/core.h"

// Fixed tile shape. Changing these changes result bits (not correctness). 128x256 measured
// best overall on this VM for 2048³, the box/track-head FCs and the PCAM products (1 thread).
#define RT_GEMM_TILE_M 128
#define RT_GEMM_TILE_N 256

// Sets the number of threads our ops (OpenMP) and oneDNN use. OpenBLAS is set to 1 thread and
// is only ever called single-threaded on our tiles (never call cblas_* directly elsewhere: the
// OpenMP build of OpenBLAS would split a call over omp_get_max_threads() threads). n <= 0 means "all cores" (omp_get_num_procs()). Call from
// the main thread outside any parallel region, before the first op. Returns the count set.
int rt_threads_set(int n);
// The count last set (or OpenMP's default when rt_threads_set was never called).
int rt_threads_get(void);

// Row-major C[M,N] = alpha·op(A)·op(B) + beta·C, op = transpose when ta/tb is nonzero.
// A is [M,K] (or [K,M] when ta), B is [K,N] (or [N,K] when tb); lda/ldb/ldc are row strides.
// Deterministic for any thread count (see above). M, N or K may be 0 (K = 0 scales C by beta).
void rt_gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);
// The same tiling, always on the calling thread (for use inside our own parallel loops, e.g.
// one small product per RoI). Gives the same bits as rt_gemm.
void rt_gemm_serial(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc);

// Fully connected layer (PyTorch Linear): y[M,N] = x[M,K]·w[N,K]ᵀ + b[N], then ReLU when relu
// is nonzero. b may be NULL. y must not alias x or w.
void rt_linear(const float *x, int M, int K, const float *w, const float *b, int N, int relu,
               float *y);

#endif
