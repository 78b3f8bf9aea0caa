// ops_pcam — building blocks of PCAN's prototypical cross-attention (PCAN-FACTS.md §3):
// the EM (GMM-style) prototype iterations and the attention read-outs, on plain row-major
// matrices. Features x are [C,N] (C channels, N = H·W pixels: one NCHW image), prototypes
// mu are [C,K].
//
//     // frame-level PCAM at P2 (C 256, N 58880, K 30, 3 iterations, temperature 20):
//     memcpy(mu, init, C*K*4);
//     rt_em(mem, C, N, NULL, mu, K, 3, 20.0f, work);              // work: rt_em_work_floats
//     rt_pcam_readout(cur, C, N, mu, K, r, work);                 // r [C,N]
//     rt_axpby(0.25f, r, 0.75f, cur, (size_t)C*N);                // P ← 0.75·P + 0.25·R
//
// E-step: z[n,k] = softmax_k(temp·Σ_c x[c,n]·mu[c,k]); optionally z[n,k] *= mask[n]; then
// z[:,k] /= 1e-6 + Σ_n z[n,k]. M-step: mu = x·z, then mu[:,k] /= 1e-6 + ||mu[:,k]||₂.
// Products use the deterministic tiled GEMM (ops_gemm.h); reductions run in double, in a fixed
// order; so results are bit-identical for any thread count. Nothing allocates (the caller
// passes a float workspace). Reentrant.
#ifndef PCAN_RUNTIME_OPS_PCAM_H
#define PCAN_RUNTIME_OPS_PCAM_H

#include <stddef.h>

#include "runtime/core.h"

// Largest prototype count K for rt_em/rt_em_batch (asserted; a model constant, not input):
// PCAN uses 30 at frame level and 10 per EM in the refine head.
#define RT_PCAM_MAX_K 64

// Workspace floats for rt_em / rt_pcam_readout / rt_pcam_fg_bg on N pixels and K prototypes.
size_t rt_em_work_floats(int N, int K);

// `iters` EM iterations in place on mu [C,K] (the initialiser on entry, the prototypes on
// return). mask: [N] pixel weights (e.g. a binary foreground mask) or NULL for none.
void rt_em(const float *x, int C, int N, const float *mask, float *mu, int K, int iters,
           float temp, float *work);

// Batched EM over R RoIs (refine head): x [R,C,N]; mask [R,N] or NULL; with invert_mask the
// weights are 1 − mask (background prototypes). mu [R,C,K] holds the initialisers on entry
// unless init is non-NULL, in which case init [C,K] is copied to every RoI first. Parallel over
// RoIs. work: R · rt_em_work_floats(N, K) floats.
void rt_em_batch(const float *x, int R, int C, int N, const float *mask, int invert_mask,
                 const float *init, float *mu, int K, int iters, float temp, float *work);

// Frame-level read-out: a[n,k] = softmax_k(Σ_c x[c,n]·P[c,k]) (no temperature), then
// r[c,n] = Σ_k P[c,k]·a[n,k]. r [C,N] must not alias x.
void rt_pcam_readout(const float *x, int C, int N, const float *P, int K, float *r, float *work);

// Refine-head attention maps: s[k,n] = softmax over all K = kpos + kneg prototypes of
// Σ_c mu[c,k]·x[c,n]; pos[n] = Σ_{k<kpos} s[k,n], neg[n] = Σ_{k≥kpos} s[k,n] (ascending k).
// mu [C,K] is the concatenation [pos | neg] along K. Single-threaded (one RoI; call it from a
// parallel loop over RoIs).
void rt_pcam_fg_bg(const float *x, int C, int N, const float *mu, int kpos, int kneg, float *pos,
                   float *neg, float *work);

// Masked mean over pixels: g[c] = Σ_n x[c,n]·mask[n] / (Σ_n mask[n] + eps) (refine-head
// context vector, eps 1e-5). Sums in double, ascending n. Single-threaded.
void rt_masked_mean(const float *x, int C, int N, const float *mask, float eps, float *g);

#endif
