// py-motmetrics accumulator semantics for BDD100K MOTS (METRICS.md §3.3): carry-over of the last
// match, then an assignment of the rest with scipy (non-finite distances replaced by
// 2·max(valid)+1 and dropped afterwards), MATCH/SWITCH/MISS/FP events, and from them MOTA, MOTP,
// IDF1 (global min-cost identity assignment), MT/PT/ML (≥ 0.8 / < 0.2) and FM.
#include <math.h>
#include <string.h>

#include "merge/metrics_internal.h"

// motmetrics takes a pair only when 1 − IoU ≤ 1 − 0.5, computed in floating point.
static inline bool pair_ok(double iou) { return !(1.0 - iou > 1.0 - 0.5); }

rt_status merge_bdd_eval_seq(const merge_seq *s, merge_eval_scratch *ws, merge_bdd_seq *o) {
    memset(o, 0, sizeof *o);
    size_t G = s->n_gt_ids, K = s->n_tr_ids, maxc = 0, maxg = 0;
    for (size_t f = 0; f < s->n_frames; f++) {
        maxc = RT_MAX(maxc, (size_t)s->fr[f].n_g * s->fr[f].n_t);
        maxg = RT_MAX(maxg, (size_t)RT_MAX(s->fr[f].n_g, s->fr[f].n_t));
    }
    o->has_events = s->n_frames > 0;
    // Per object: last matched hypothesis, occurrences, tracked occurrences, FM state.
    int64_t *st = merge_buf_get(&ws->b[0], (4 * G + K + G * K) * sizeof(int64_t) + 1);
    int32_t *asg = merge_buf_get(&ws->b[1], 3 * maxg * sizeof(int32_t) + 1);
    double *cost = merge_buf_get(&ws->b[2], maxc * sizeof(double) + 1);
    if (!st || !asg || !cost) return RT_ERR_NOMEM;
    int64_t *last_h = st, *freq = st + G, *tracked = st + 2 * G, *fm = st + 3 * G;
    int64_t *hfreq = st + 4 * G, *pairs = hfreq + K;
    uint8_t *omask = (uint8_t *)(asg + maxg), *hmask = omask + maxg;
    memset(st, 0, (4 * G + K + G * K) * sizeof *st);
    for (size_t g = 0; g < G; g++) last_h[g] = -1;

    for (size_t f = 0; f < s->n_frames; f++) {
        const merge_seq_frame *fr = &s->fr[f];
        const int32_t *gi = s->g + fr->off_g, *ti = s->t + fr->off_t;
        const double *S = s->sim + fr->off_s;
        size_t ng = fr->n_g, nt = fr->n_t;
        memset(omask, 0, ng);
        memset(hmask, 0, nt);
        for (size_t i = 0; i < ng; i++) {
            freq[gi[i]]++;
            for (size_t j = 0; j < nt; j++)
                if (pair_ok(S[i * nt + j])) pairs[(size_t)gi[i] * K + (size_t)ti[j]]++;
        }
        for (size_t j = 0; j < nt; j++) hfreq[ti[j]]++;
        if (ng * nt > 0) {
            // 1. Re-establish the last match of each object if still possible.
            for (size_t i = 0; i < ng; i++) {
                int64_t h = last_h[gi[i]];
                if (h < 0) continue;
                for (size_t j = 0; j < nt; j++) {
                    if (hmask[j] || ti[j] != h) continue;
                    if (pair_ok(S[i * nt + j])) {
                        omask[i] = hmask[j] = 1;
                        o->matches++;
                        o->d_sum += 1.0 - S[i * nt + j];
                        tracked[gi[i]]++;
                    }
                    break;
                }
            }
            // 2. Assign the rest (masked rows/columns stay in the matrix as non-edges).
            double vmax = -INFINITY;
            for (size_t i = 0; i < ng; i++)
                for (size_t j = 0; j < nt; j++)
                    if (!omask[i] && !hmask[j] && pair_ok(S[i * nt + j]))
                        vmax = fmax(vmax, 1.0 - S[i * nt + j]);
            double inv = vmax == -INFINITY ? 1.0 : 2 * vmax + 1;
            for (size_t i = 0; i < ng; i++)
                for (size_t j = 0; j < nt; j++)
                    cost[i * nt + j] = !omask[i] && !hmask[j] && pair_ok(S[i * nt + j])
                                           ? 1.0 - S[i * nt + j]
                                           : inv;
            rt_status rs = merge_hungarian_solve(&ws->hung, cost, ng, nt, asg);
            if (rs != RT_OK) return rs;
            for (size_t i = 0; i < ng; i++) {
                int32_t j = asg[i];
                if (j < 0 || omask[i] || hmask[j] || !pair_ok(S[i * nt + (size_t)j])) continue;
                int32_t g = gi[i], h = ti[j];
                if (last_h[g] >= 0 && last_h[g] != h) o->switches++;
                else o->matches++;
                o->d_sum += 1.0 - S[i * nt + (size_t)j];
                last_h[g] = h;
                tracked[g]++;
                omask[i] = hmask[j] = 1;
            }
        }
        // 3./4. Leftovers are misses and false positives. FM counts tracked → missed changes
        // inside an object's tracked span: fm[] holds 1 once tracked, 2 while in a miss after.
        for (size_t i = 0; i < ng; i++) {
            int32_t g = gi[i];
            if (!omask[i]) {
                o->misses++;
                if (fm[g] == 1) fm[g] = 2;
            } else if (fm[g] == 2) {
                o->frag++;
                fm[g] = 1;
            } else {
                fm[g] = 1;
            }
        }
        for (size_t j = 0; j < nt; j++)
            if (!hmask[j]) o->fps++;
    }
    for (size_t g = 0; g < G; g++) {
        if (freq[g] == 0) continue;
        double r = (double)tracked[g] / (double)freq[g];
        if (r >= 0.8) o->mt++;
        else if (r >= 0.2) o->pt++;
        else o->ml++;
    }
    o->objects = o->matches + o->switches + o->misses;
    o->predictions = o->matches + o->switches + o->fps;

    // IDF1: the same identity optimum as TrackEval's, on frame counts and the number of frames
    // each pair had a finite distance.
    double *pd = merge_buf_get(&ws->b[3], (G * K + 1) * sizeof(double));
    if (!pd) return RT_ERR_NOMEM;
    for (size_t i = 0; i < G * K; i++) pd[i] = (double)pairs[i];
    double best = 0;
    rt_status rs = merge_max_pairing(pd, G, K, ws, &best);
    if (rs != RT_OK) return rs;
    o->idtp = (int64_t)best;
    return RT_OK;
}
