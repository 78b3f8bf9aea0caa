// TrackEval's per-sequence HOTA, CLEAR and Identity (METRICS.md §2.3–2.5). The arithmetic keeps
// TrackEval's operation order (numpy pairwise sums included) so the doubles agree bit for bit.
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "merge/metrics_internal.h"

#define EPS DBL_EPSILON
#define NA MERGE_HOTA_ALPHAS

void *merge_buf_get(merge_buf *b, size_t bytes) {
    if (bytes > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < bytes) cap *= 2;
        rt_free(b->p);
        b->p = rt_malloc(cap);
        b->cap = b->p ? cap : 0;
        if (!b->p) {
            rt_error_set(RT_ERR_NOMEM, "metrics: %zu bytes of scratch", cap);
            return NULL;
        }
    }
    return b->p;
}

void merge_buf_free(merge_buf *b) {
    rt_free(b->p);
    b->p = NULL;
    b->cap = 0;
}

static double pairwise(const double *a, size_t n) {
    if (n < 8) {
        double r = 0.;
        for (size_t i = 0; i < n; i++) r += a[i];
        return r;
    }
    if (n <= 128) {
        double r[8];
        size_t i;
        for (int k = 0; k < 8; k++) r[k] = a[k];
        for (i = 8; i < n - n % 8; i += 8)
            for (int k = 0; k < 8; k++) r[k] += a[i + (size_t)k];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise(a, n2) + pairwise(a + n2, n - n2);
}

double merge_np_sum(const double *a, size_t n) { return 0.0 + pairwise(a, n); }

double merge_hota_alpha(size_t a) {
    // numpy's arange writes start, start+step, then start + i*delta with delta the difference
    // of the first two; hence 0.15000000000000002 and the "≥ α − ε" comparisons.
    const double start = 0.05, second = 0.05 + 0.05, delta = second - start;
    if (a == 0) return start;
    if (a == 1) return second;
    return start + (double)a * delta;
}

static size_t max_cells(const merge_seq *s, size_t *max_g) {
    size_t m = 0, mg = 0;
    for (size_t f = 0; f < s->n_frames; f++) {
        m = RT_MAX(m, (size_t)s->fr[f].n_g * s->fr[f].n_t);
        mg = RT_MAX(mg, (size_t)RT_MAX(s->fr[f].n_g, s->fr[f].n_t));
    }
    *max_g = mg;
    return m;
}

static rt_status te_clear(const merge_seq *s, merge_eval_scratch *ws, merge_te_seq *o) {
    size_t G = s->n_gt_ids, maxg, cells = max_cells(s, &maxg);
    int64_t *cnt = merge_buf_get(&ws->b[0], 3 * G * sizeof(int64_t) + 1);
    int32_t *prev = merge_buf_get(&ws->b[1], (3 * G + 2 * maxg) * sizeof(int32_t) + 1);
    double *score = merge_buf_get(&ws->b[2], 2 * cells * sizeof(double) + 1);
    if (!cnt || !prev || !score) return RT_ERR_NOMEM;
    int64_t *matched = cnt + G, *frag = cnt + 2 * G;
    int32_t *prev_ts = prev + G, *last = prev + 2 * G, *asg = prev + 3 * G;
    int32_t *mrow = asg + maxg;
    double *cost = score + cells;
    memset(cnt, 0, 3 * G * sizeof *cnt);
    for (size_t g = 0; g < G; g++) prev[g] = prev_ts[g] = -1; // -1 plays numpy's NaN
    size_t n_last = 0;

    for (size_t f = 0; f < s->n_frames; f++) {
        const merge_seq_frame *fr = &s->fr[f];
        const int32_t *gi = s->g + fr->off_g, *ti = s->t + fr->off_t;
        const double *S = s->sim + fr->off_s;
        size_t ng = fr->n_g, nt = fr->n_t;
        // Frames with one side empty leave the previous-timestep state alone (a quirk kept).
        if (ng == 0) {
            o->clr_fp += (int64_t)nt;
            continue;
        }
        if (nt == 0) {
            o->clr_fn += (int64_t)ng;
            for (size_t i = 0; i < ng; i++) cnt[gi[i]]++;
            continue;
        }
        for (size_t i = 0; i < ng; i++) {
            for (size_t j = 0; j < nt; j++) {
                double sim = S[i * nt + j];
                double sc = sim < 0.5 - EPS ? 0.0 : (ti[j] == prev_ts[gi[i]] ? 1000.0 : 0.0) + sim;
                score[i * nt + j] = sc;
                cost[i * nt + j] = -sc;
            }
        }
        rt_status st = merge_hungarian_solve(&ws->hung, cost, ng, nt, asg);
        if (st != RT_OK) return st;
        size_t nm = 0;
        double loc = 0;
        for (size_t i = 0; i < ng; i++) {
            int32_t j = asg[i];
            if (j < 0 || !(score[i * nt + (size_t)j] > 0 + EPS)) continue;
            int32_t g = gi[i], t = ti[j];
            if (prev[g] >= 0 && prev[g] != t) o->idsw++;
            loc += S[i * nt + (size_t)j];
            mrow[nm++] = (int32_t)i;
        }
        for (size_t i = 0; i < ng; i++) cnt[gi[i]]++;
        for (size_t k = 0; k < nm; k++) {
            int32_t g = gi[mrow[k]], t = ti[asg[mrow[k]]];
            matched[g]++;
            // A gt not tracked at the previous processed timestep starts a fragment.
            if (prev_ts[g] < 0) frag[g]++;
            prev[g] = t;
        }
        for (size_t k = 0; k < n_last; k++) prev_ts[last[k]] = -1;
        n_last = 0;
        for (size_t k = 0; k < nm; k++) {
            int32_t g = gi[mrow[k]];
            prev_ts[g] = ti[asg[mrow[k]]];
            last[n_last++] = g;
        }
        o->clr_tp += (int64_t)nm;
        o->clr_fn += (int64_t)(ng - nm);
        o->clr_fp += (int64_t)(nt - nm);
        if (nm > 0) o->motp_sum += loc;
    }
    for (size_t g = 0; g < G; g++) {
        if (cnt[g] > 0) {
            double ratio = (double)matched[g] / (double)cnt[g];
            if (ratio > 0.8) o->mt++;
            else if (ratio >= 0.2) o->pt++;
        }
        if (frag[g] > 0) o->frag += frag[g] - 1;
    }
    o->ml = (int64_t)G - o->mt - o->pt;
    return RT_OK;
}

// TrackEval solves IDF1 as a (G+K)² min-cost problem with dummy rows and columns; its optimum
// is the largest Σ P(g,k) over one-to-one pairings, which merge_max_pairing finds directly.
static rt_status te_identity(const merge_seq *s, merge_eval_scratch *ws, merge_te_seq *o) {
    size_t G = s->n_gt_ids, K = s->n_tr_ids;
    double *P = merge_buf_get(&ws->b[0], (G * K + G + K) * sizeof(double) + 1);
    if (!P) return RT_ERR_NOMEM;
    double *ng = P + G * K, *nk = ng + G;
    memset(P, 0, (G * K + G + K) * sizeof *P);
    for (size_t f = 0; f < s->n_frames; f++) {
        const merge_seq_frame *fr = &s->fr[f];
        const int32_t *gi = s->g + fr->off_g, *ti = s->t + fr->off_t;
        const double *S = s->sim + fr->off_s;
        for (size_t i = 0; i < fr->n_g; i++)
            for (size_t j = 0; j < fr->n_t; j++)
                if (S[i * fr->n_t + j] >= 0.5) P[(size_t)gi[i] * K + (size_t)ti[j]] += 1;
        for (size_t i = 0; i < fr->n_g; i++) ng[gi[i]] += 1;
        for (size_t j = 0; j < fr->n_t; j++) nk[ti[j]] += 1;
    }
    double idtp = 0, total_g = 0, total_k = 0;
    rt_status st = merge_max_pairing(P, G, K, ws, &idtp);
    if (st != RT_OK) return st;
    for (size_t g = 0; g < G; g++) total_g += ng[g];
    for (size_t k = 0; k < K; k++) total_k += nk[k];
    o->idtp = (int64_t)idtp;
    o->idfn = (int64_t)(total_g - idtp);
    o->idfp = (int64_t)(total_k - idtp);
    return RT_OK;
}

rt_status merge_max_pairing(const double *P, size_t G, size_t K, merge_eval_scratch *ws,
                            double *best) {
    // Ids without any potential match cannot change the optimum: solve on the others only.
    size_t *rows = merge_buf_get(&ws->b[5], (G + K + 1) * sizeof(size_t));
    if (!rows) return RT_ERR_NOMEM;
    size_t *cols = rows + G, nr = 0, nc = 0;
    for (size_t g = 0; g < G; g++) {
        bool any = false;
        for (size_t k = 0; k < K && !any; k++) any = P[g * K + k] > 0;
        if (any) rows[nr++] = g;
    }
    for (size_t k = 0; k < K; k++) {
        bool any = false;
        for (size_t g = 0; g < G && !any; g++) any = P[g * K + k] > 0;
        if (any) cols[nc++] = k;
    }
    double *cost = merge_buf_get(&ws->b[6], (nr * nc + 1) * sizeof(double));
    int32_t *asg = merge_buf_get(&ws->b[7], (nr + 1) * sizeof(int32_t));
    if (!cost || !asg) return RT_ERR_NOMEM;
    for (size_t r = 0; r < nr; r++)
        for (size_t c = 0; c < nc; c++) cost[r * nc + c] = -P[rows[r] * K + cols[c]];
    rt_status st = merge_hungarian_solve(&ws->hung, cost, nr, nc, asg);
    if (st != RT_OK) return st;
    double sum = 0;
    for (size_t r = 0; r < nr; r++)
        if (asg[r] >= 0) sum += P[rows[r] * K + cols[asg[r]]];
    *best = sum;
    return RT_OK;
}

static rt_status te_hota(const merge_seq *s, merge_eval_scratch *ws, merge_te_seq *o) {
    size_t G = s->n_gt_ids, K = s->n_tr_ids, GK = G * K, maxg, cells = max_cells(s, &maxg);
    double *pm = merge_buf_get(&ws->b[0], ((2 + NA) * GK + G + K) * sizeof(double) + 1);
    double *score = merge_buf_get(&ws->b[2], (2 * cells + 2 * maxg) * sizeof(double) + 1);
    int32_t *asg = merge_buf_get(&ws->b[1], maxg * sizeof(int32_t) + 1);
    double *el = merge_buf_get(&ws->b[3], GK * sizeof(double) + 1);
    if (!pm || !score || !asg || !el) return RT_ERR_NOMEM;
    double *A = pm + GK, *C = A + GK, *gc = C + NA * GK, *tc = gc + G;
    double *cost = score + cells, *rs = cost + cells, *cs = rs + maxg;
    memset(pm, 0, ((2 + NA) * GK + G + K) * sizeof *pm);

    for (size_t f = 0; f < s->n_frames; f++) {
        const merge_seq_frame *fr = &s->fr[f];
        const int32_t *gi = s->g + fr->off_g, *ti = s->t + fr->off_t;
        const double *S = s->sim + fr->off_s;
        size_t ng = fr->n_g, nt = fr->n_t;
        for (size_t i = 0; i < ng; i++) rs[i] = merge_np_sum(S + i * nt, nt);
        for (size_t j = 0; j < nt; j++) {
            double acc = 0;
            for (size_t i = 0; i < ng; i++) acc += S[i * nt + j];
            cs[j] = acc;
        }
        for (size_t i = 0; i < ng; i++) {
            for (size_t j = 0; j < nt; j++) {
                double sim = S[i * nt + j], den = (cs[j] + rs[i]) - sim;
                pm[(size_t)gi[i] * K + (size_t)ti[j]] += den > 0 + EPS ? sim / den : 0.0;
            }
        }
        for (size_t i = 0; i < ng; i++) gc[gi[i]] += 1;
        for (size_t j = 0; j < nt; j++) tc[ti[j]] += 1;
    }
    for (size_t g = 0; g < G; g++)
        for (size_t k = 0; k < K; k++)
            A[g * K + k] = pm[g * K + k] / ((gc[g] + tc[k]) - pm[g * K + k]);

    double alpha[NA], loc_sum[NA] = {0};
    for (size_t a = 0; a < NA; a++) alpha[a] = merge_hota_alpha(a);
    for (size_t f = 0; f < s->n_frames; f++) {
        const merge_seq_frame *fr = &s->fr[f];
        const int32_t *gi = s->g + fr->off_g, *ti = s->t + fr->off_t;
        const double *S = s->sim + fr->off_s;
        size_t ng = fr->n_g, nt = fr->n_t;
        if (ng == 0) {
            for (size_t a = 0; a < NA; a++) o->hota_fp[a] += (int64_t)nt;
            continue;
        }
        if (nt == 0) {
            for (size_t a = 0; a < NA; a++) o->hota_fn[a] += (int64_t)ng;
            continue;
        }
        for (size_t i = 0; i < ng; i++)
            for (size_t j = 0; j < nt; j++)
                cost[i * nt + j] = -(A[(size_t)gi[i] * K + (size_t)ti[j]] * S[i * nt + j]);
        rt_status st = merge_hungarian_solve(&ws->hung, cost, ng, nt, asg);
        if (st != RT_OK) return st;
        for (size_t a = 0; a < NA; a++) {
            size_t nm = 0;
            double loc = 0;
            for (size_t i = 0; i < ng; i++) {
                if (asg[i] < 0) continue;
                double sim = S[i * nt + (size_t)asg[i]];
                if (!(sim >= alpha[a] - EPS)) continue;
                nm++;
                loc += sim;
                C[a * GK + (size_t)gi[i] * K + (size_t)ti[asg[i]]] += 1;
            }
            o->hota_tp[a] += (int64_t)nm;
            o->hota_fn[a] += (int64_t)(ng - nm);
            o->hota_fp[a] += (int64_t)(nt - nm);
            if (nm > 0) loc_sum[a] += loc;
        }
    }
    for (size_t a = 0; a < NA; a++) {
        const double *c = C + a * GK;
        double tp = fmax(1.0, (double)o->hota_tp[a]);
        for (size_t g = 0; g < G; g++)
            for (size_t k = 0; k < K; k++) {
                double m = c[g * K + k];
                el[g * K + k] = m * (m / fmax(1.0, (gc[g] + tc[k]) - m));
            }
        o->ass_a[a] = merge_np_sum(el, GK) / tp;
        for (size_t g = 0; g < G; g++)
            for (size_t k = 0; k < K; k++) {
                double m = c[g * K + k];
                el[g * K + k] = m * (m / fmax(1.0, gc[g]));
            }
        o->ass_re[a] = merge_np_sum(el, GK) / tp;
        for (size_t g = 0; g < G; g++)
            for (size_t k = 0; k < K; k++) {
                double m = c[g * K + k];
                el[g * K + k] = m * (m / fmax(1.0, tc[k]));
            }
        o->ass_pr[a] = merge_np_sum(el, GK) / tp;
        o->loc_a[a] = fmax(1e-10, loc_sum[a]) / fmax(1e-10, (double)o->hota_tp[a]);
    }
    return RT_OK;
}

rt_status merge_te_eval_seq(const merge_seq *s, int64_t frames, merge_eval_scratch *ws,
                            merge_te_seq *out) {
    memset(out, 0, sizeof *out);
    int64_t ngd = (int64_t)s->n_gt_dets, ntd = (int64_t)s->n_tr_dets;
    out->dets = ntd;
    out->gt_dets = ngd;
    out->ids = (int64_t)s->n_tr_ids;
    out->gt_ids = (int64_t)s->n_gt_ids;
    // TrackEval returns early for empty sides, before CLR_Frames and the final fields are set.
    if (ntd == 0 || ngd == 0) {
        out->early = ntd == 0 ? 1 : 2;
        if (ntd == 0) {
            out->clr_fn = ngd;
            out->ml = (int64_t)s->n_gt_ids;
            out->idfn = ngd;
        } else {
            out->clr_fp = ntd;
            out->idfp = ntd;
        }
        for (size_t a = 0; a < NA; a++) {
            out->hota_fn[a] = ntd == 0 ? ngd : 0;
            out->hota_fp[a] = ntd == 0 ? 0 : ntd;
            out->loc_a[a] = 1.0;
        }
        return RT_OK;
    }
    out->clr_frames = frames;
    rt_status st = te_clear(s, ws, out);
    if (st == RT_OK) st = te_identity(s, ws, out);
    if (st == RT_OK) st = te_hota(s, ws, out);
    return st;
}
