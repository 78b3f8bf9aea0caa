#include "merge/vis.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "merge/metrics_internal.h"

enum { NT = 10, NR = 101, NAR = 4, NM = 3, MAXDET = 100 };

static const int max_dets[NM] = {1, 10, 100};
static const double area_lo[NAR] = {0, 0, 128.0 * 128.0, 256.0 * 256.0};
static const double area_hi[NAR] = {1e10, 128.0 * 128.0, 256.0 * 256.0, 1e10};

// One detection of one (category, area range) as YTVOSeval.evaluateVid leaves it.
typedef struct det_rec {
    double score;
    uint64_t seq;     // position in video order, then score order within the video
    uint16_t rank;    // index within its video's score-sorted detections
    uint16_t matched; // bit t: matched at threshold t
    uint16_t ignored; // bit t: ignored at threshold t
} det_rec;

typedef struct det_vec {
    det_rec *r;
    size_t n, cap;
} det_vec;

struct merge_vis {
    size_t n_cats;
    int32_t *cats;
    det_vec *dets;  // [n_cats * NAR]
    int64_t *npig;  // [n_cats * NAR] non-ignored GT
    int64_t last_video;
    int any_video;
    uint64_t seq;
    merge_buf b[6];
};

const char *merge_vis_stat_name(int i) {
    static const char *names[MERGE_VIS_NSTATS] = {"AP",   "AP50",  "AP75", "APs", "APm", "APl",
                                                  "AR1",  "AR10",  "AR100", "ARs", "ARm", "ARl"};
    return i >= 0 && i < MERGE_VIS_NSTATS ? names[i] : "?";
}

// numpy linspace: start + k·((stop − start)/(n − 1)), the last point set to stop.
static double iou_thr(int t) {
    return t == NT - 1 ? 0.95 : (double)t * ((0.95 - 0.5) / (NT - 1)) + 0.5;
}
static double rec_thr(int r) { return r == NR - 1 ? 1.0 : (double)r * (1.0 / (NR - 1)) + 0.0; }

rt_status merge_vis_init(merge_vis **out, const int32_t *cat_ids, size_t n_cats) {
    *out = NULL;
    merge_vis *e = rt_calloc(1, sizeof *e);
    if (!e) return rt_error_set(RT_ERR_NOMEM, "vis: evaluator");
    e->n_cats = n_cats;
    e->cats = rt_malloc((n_cats + 1) * sizeof *e->cats);
    e->dets = rt_calloc(n_cats * NAR + 1, sizeof *e->dets);
    e->npig = rt_calloc(n_cats * NAR + 1, sizeof *e->npig);
    if (!e->cats || !e->dets || !e->npig) {
        merge_vis_free(&e);
        return rt_error_set(RT_ERR_NOMEM, "vis: %zu categories", n_cats);
    }
    if (n_cats) memcpy(e->cats, cat_ids, n_cats * sizeof *cat_ids);
    *out = e;
    return RT_OK;
}

void merge_vis_free(merge_vis **pe) {
    if (!pe || !*pe) return;
    merge_vis *e = *pe;
    if (e->dets)
        for (size_t i = 0; i < e->n_cats * NAR; i++) rt_free(e->dets[i].r);
    rt_free(e->dets);
    rt_free(e->npig);
    rt_free(e->cats);
    for (size_t i = 0; i < RT_COUNTOF(e->b); i++) merge_buf_free(&e->b[i]);
    rt_free(e);
    *pe = NULL;
}

static double track_area(const merge_vis_track *t) {
    if (t->avg_area >= 0) return t->avg_area;
    double a[64] = {0}, sum = 0;
    size_t n = 0, k = 0;
    // The mean of the non-zero areas (numpy: a pairwise sum in blocks, then the division).
    for (size_t f = 0; f < t->n_frames; f++) {
        uint64_t ar = t->masks[f] ? rt_rle_area(t->masks[f]) : 0;
        if (!ar) continue;
        a[k++] = (double)ar;
        n++;
        if (k == RT_COUNTOF(a)) {
            sum += merge_np_sum(a, k);
            k = 0;
        }
    }
    // Areas are integers far below 2^53, so the blocking does not change the sum.
    sum += merge_np_sum(a, k);
    return n ? sum / (double)n : 0.0;
}

static double track_iou(const merge_vis_track *d, const merge_vis_track *g) {
    double i = 0, u = 0;
    size_t n = RT_MIN(d->n_frames, g->n_frames);
    for (size_t f = 0; f < n; f++) {
        const rt_rle *dm = d->masks[f], *gm = g->masks[f];
        if (dm && gm) {
            if (dm->h != gm->h || dm->w != gm->w) continue; // pycocotools merge gives 0×0
            uint64_t in = rt_rle_intersection(dm, gm);
            i += (double)in;
            u += (double)(rt_rle_area(dm) + rt_rle_area(gm) - in);
        } else if (gm) {
            u += (double)rt_rle_area(gm);
        } else if (dm) {
            u += (double)rt_rle_area(dm);
        }
    }
    return u > 0 ? i / u : 0.0;
}

typedef struct ord {
    double key;
    size_t idx;
} ord;

static int cmp_ord(const void *a, const void *b) {
    const ord *x = a, *y = b;
    if (x->key < y->key) return -1;
    if (x->key > y->key) return 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

static rt_status push(det_vec *v, det_rec r) {
    if (v->n == v->cap) {
        size_t c = v->cap ? 2 * v->cap : 64;
        det_rec *q = rt_realloc(v->r, c * sizeof *q);
        if (!q) return rt_error_set(RT_ERR_NOMEM, "vis: %zu detections", c);
        v->r = q;
        v->cap = c;
    }
    v->r[v->n++] = r;
    return RT_OK;
}

rt_status merge_vis_add_video(merge_vis *e, int64_t video_id, const merge_vis_track *gt,
                              size_t n_gt, const merge_vis_track *res, size_t n_res) {
    if (e->any_video && video_id <= e->last_video)
        return rt_error_set(RT_ERR_INVAL, "vis: video %lld after video %lld (ascending ids)",
                            (long long)video_id, (long long)e->last_video);
    e->any_video = 1;
    e->last_video = video_id;
    for (size_t i = 0; i < n_gt + n_res; i++) {
        int32_t c = i < n_gt ? gt[i].cls : res[i - n_gt].cls;
        size_t k = 0;
        while (k < e->n_cats && e->cats[k] != c) k++;
        if (k == e->n_cats)
            return rt_error_set(RT_ERR_INVAL, "vis: video %lld: unknown category %d",
                                (long long)video_id, (int)c);
    }
    size_t n = n_gt + n_res + 1;
    ord *od = merge_buf_get(&e->b[0], n * sizeof(ord));
    size_t *gi = merge_buf_get(&e->b[1], n * sizeof(size_t));
    double *area = merge_buf_get(&e->b[2], n * sizeof(double));
    double *iou = merge_buf_get(&e->b[3], (RT_MIN(n_res, (size_t)MAXDET) + 1) * n * sizeof(double));
    uint8_t *flags = merge_buf_get(&e->b[4], 4 * n);
    ord *og = merge_buf_get(&e->b[5], n * sizeof(ord));
    if (!od || !gi || !area || !iou || !flags || !og) return RT_ERR_NOMEM;
    for (size_t k = 0; k < e->n_cats; k++) {
        size_t ng = 0, nd = 0;
        for (size_t i = 0; i < n_gt; i++)
            if (gt[i].cls == e->cats[k]) gi[ng++] = i;
        for (size_t i = 0; i < n_res; i++)
            if (res[i].cls == e->cats[k]) od[nd++] = (ord){-res[i].score, i};
        if (ng == 0 && nd == 0) continue;
        qsort(od, nd, sizeof *od, cmp_ord); // stable: ties keep the results' order
        if (nd > MAXDET) nd = MAXDET;
        double *ga = area, *da = area + ng;
        for (size_t g = 0; g < ng; g++) ga[g] = track_area(&gt[gi[g]]);
        for (size_t d = 0; d < nd; d++) da[d] = track_area(&res[od[d].idx]);
        for (size_t d = 0; d < nd; d++)
            for (size_t g = 0; g < ng; g++)
                iou[d * ng + g] = track_iou(&res[od[d].idx], &gt[gi[g]]);
        for (int a = 0; a < NAR; a++) {
            // Ignored GT (crowd or outside the range) go last, stably.
            uint8_t *gig = flags, *gm = flags + ng, *crowd = flags + 2 * ng;
            for (size_t g = 0; g < ng; g++) {
                const merge_vis_track *t = &gt[gi[g]];
                og[g] = (ord){(t->iscrowd || ga[g] < area_lo[a] || ga[g] > area_hi[a]) ? 1 : 0, g};
            }
            qsort(og, ng, sizeof *og, cmp_ord);
            int64_t npig = 0;
            for (size_t g = 0; g < ng; g++) {
                gig[g] = (uint8_t)og[g].key;
                crowd[g] = gt[gi[og[g].idx]].iscrowd;
                npig += !gig[g];
            }
            e->npig[k * NAR + (size_t)a] += npig;
            uint16_t dm[MAXDET] = {0}, di[MAXDET] = {0};
            for (int t = 0; t < NT; t++) {
                memset(gm, 0, ng);
                double thr = fmin(iou_thr(t), 1 - 1e-10);
                for (size_t d = 0; d < nd; d++) {
                    double best = thr;
                    long m = -1;
                    for (size_t g = 0; g < ng; g++) {
                        if (gm[g] && !crowd[g]) continue;
                        if (m > -1 && gig[m] == 0 && gig[g] == 1) break;
                        double v = iou[d * ng + og[g].idx];
                        if (v < best) continue;
                        best = v;
                        m = (long)g;
                    }
                    if (m == -1) continue;
                    if (gig[m]) di[d] |= (uint16_t)(1u << t);
                    dm[d] |= (uint16_t)(1u << t);
                    gm[m] = 1;
                }
            }
            for (size_t d = 0; d < nd; d++) {
                // Unmatched detections outside the area range are ignored too.
                if (da[d] < area_lo[a] || da[d] > area_hi[a]) di[d] |= (uint16_t)~dm[d] & 0x3ff;
                det_rec r = {res[od[d].idx].score, e->seq + d, (uint16_t)d, dm[d], di[d]};
                rt_status st = push(&e->dets[k * NAR + (size_t)a], r);
                if (st != RT_OK) return st;
            }
        }
        e->seq += nd;
    }
    return RT_OK;
}

static int cmp_rec(const void *a, const void *b) {
    const det_rec *x = a, *y = b;
    if (x->score > y->score) return -1;
    if (x->score < y->score) return 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

// Mean of the entries > −1 (numpy boolean selection then mean); −1 when there are none.
static double mean_defined(const double *x, size_t n, double *tmp) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (x[i] > -1) tmp[k++] = x[i];
    return k ? merge_np_sum(tmp, k) / (double)k : -1;
}

rt_status merge_vis_summarize(merge_vis *e, merge_vis_stats *out) {
    size_t K = e->n_cats, maxn = 1;
    for (size_t i = 0; i < K * NAR; i++) maxn = RT_MAX(maxn, e->dets[i].n);
    // precision [T][R][K][A][M], recall [T][K][A][M], as YTVOSeval.accumulate lays them out.
    size_t np = (size_t)NT * NR * K * NAR * NM, nr = (size_t)NT * K * NAR * NM;
    double *prec = merge_buf_get(&e->b[0], (np + nr + (size_t)NT * NR * (K + 1)) * sizeof(double));
    det_rec *sel = merge_buf_get(&e->b[1], maxn * sizeof(det_rec));
    double *pr = merge_buf_get(&e->b[2], 2 * maxn * sizeof(double));
    if (!prec || !sel || !pr) return RT_ERR_NOMEM;
    double *rec = prec + np, *tmp = rec + nr, *rc = pr + maxn;
    for (size_t i = 0; i < np + nr; i++) prec[i] = -1;
#define P(t, r, k, a, m) prec[(((((size_t)(t) * NR + (r)) * K + (k)) * NAR + (a)) * NM + (m))]
#define RC(t, k, a, m) rec[((((size_t)(t) * K + (k)) * NAR + (a)) * NM + (m))]
    for (size_t k = 0; k < K; k++) {
        for (int a = 0; a < NAR; a++) {
            const det_vec *v = &e->dets[k * NAR + (size_t)a];
            int64_t npig = e->npig[k * NAR + (size_t)a];
            if (npig == 0) continue;
            for (int m = 0; m < NM; m++) {
                size_t nd = 0;
                for (size_t i = 0; i < v->n; i++)
                    if (v->r[i].rank < max_dets[m]) sel[nd++] = v->r[i];
                qsort(sel, nd, sizeof *sel, cmp_rec); // numpy's stable mergesort on −score
                for (int t = 0; t < NT; t++) {
                    double tp = 0, fp = 0;
                    for (size_t i = 0; i < nd; i++) {
                        int ig = (sel[i].ignored >> t) & 1, mt = (sel[i].matched >> t) & 1;
                        tp += mt && !ig;
                        fp += !mt && !ig;
                        rc[i] = tp / (double)npig;
                        pr[i] = tp / (fp + tp + DBL_EPSILON);
                    }
                    RC(t, k, a, m) = nd ? rc[nd - 1] : 0;
                    for (size_t i = nd; i-- > 1;)
                        if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
                    size_t i = 0;
                    for (int r = 0; r < NR; r++) {
                        double thr = rec_thr(r);
                        while (i < nd && rc[i] < thr) i++;
                        // Recall points beyond the reachable recall keep precision 0.
                        P(t, r, k, a, m) = i < nd ? pr[i] : 0.0;
                    }
                }
            }
        }
    }
    // Summaries (YTVOSeval.summarize): AP over (t, r, k), AR over (t, k), entries > −1 only.
    double *buf = tmp;
    size_t cnt;
    for (int s = 0; s < MERGE_VIS_NSTATS; s++) {
        int ap = s < MERGE_VIS_AR1, a = 0, m = 2, tsel = -1;
        if (s == MERGE_VIS_AP50) tsel = 0;
        if (s == MERGE_VIS_AP75) {
            for (int t = 0; t < NT; t++)
                if (iou_thr(t) == 0.75) tsel = t;
            if (tsel < 0) {
                out->v[s] = -1;
                continue;
            }
        }
        if (s == MERGE_VIS_APS || s == MERGE_VIS_ARS) a = 1;
        if (s == MERGE_VIS_APM || s == MERGE_VIS_ARM) a = 2;
        if (s == MERGE_VIS_APL || s == MERGE_VIS_ARL) a = 3;
        if (s == MERGE_VIS_AR1) m = 0;
        if (s == MERGE_VIS_AR10) m = 1;
        cnt = 0;
        for (int t = 0; t < NT; t++) {
            if (tsel >= 0 && t != tsel) continue;
            if (ap) {
                for (int r = 0; r < NR; r++)
                    for (size_t k = 0; k < K; k++) buf[cnt++] = P(t, r, k, a, m);
            } else {
                for (size_t k = 0; k < K; k++) buf[cnt++] = RC(t, k, a, m);
            }
        }
        out->v[s] = mean_defined(buf, cnt, buf);
    }
#undef P
#undef RC
    return RT_OK;
}

void merge_vis_track_label_score(const int16_t *labels, const float *scores, size_t n,
                                 int16_t *label, double *score) {
    RT_ASSERT(n > 0);
    size_t best_count = 0;
    int16_t best = labels[0];
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += scores[i];
        size_t j = 0;
        while (j < i && labels[j] != labels[i]) j++;
        if (j < i) continue; // counted at its first occurrence
        size_t c = 0;
        for (size_t k = i; k < n; k++) c += labels[k] == labels[i];
        if (c > best_count || (c == best_count && labels[i] < best)) {
            best_count = c;
            best = labels[i];
        }
    }
    *label = best;
    *score = sum / (double)n;
}
