// Frame preprocessing (de-overlap, validation, IoU, ignore-region removal), per-video storage,
// totals and tables. The per-sequence metrics are in metrics_te.c and metrics_bdd.c.
#include "merge/metrics.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge/metrics_internal.h"

#define EPS DBL_EPSILON
#define NA MERGE_HOTA_ALPHAS

merge_metrics_params merge_metrics_default_params(merge_protocol protocol) {
    merge_metrics_params p;
    memset(&p, 0, sizeof p);
    p.protocol = protocol;
    p.deoverlap = true;
    for (size_t i = 0; i < MERGE_MAX_CLASSES; i++) p.group_of_class[i] = -1;
    if (protocol == MERGE_PROTOCOL_BDD100K) {
        static const char *names[] = {"pedestrian", "rider", "car",        "truck",
                                      "bus",        "train", "motorcycle", "bicycle"};
        static const int group[] = {0, 0, 1, 1, 1, 1, 2, 2};
        p.n_classes = 8;
        for (size_t i = 0; i < 8; i++) {
            p.class_id[i] = (int32_t)i + 1;
            snprintf(p.class_name[i], MERGE_NAME_MAX, "%s", names[i]);
            p.group_of_class[i] = group[i];
        }
        p.n_groups = 3;
        snprintf(p.group_name[0], MERGE_NAME_MAX, "human");
        snprintf(p.group_name[1], MERGE_NAME_MAX, "vehicle");
        snprintf(p.group_name[2], MERGE_NAME_MAX, "bike");
        p.max_det = 100;
        p.check_gt_overlap = false;
    } else {
        p.n_classes = 2;
        p.class_id[0] = 1;
        p.class_id[1] = 2;
        snprintf(p.class_name[0], MERGE_NAME_MAX, "car");
        snprintf(p.class_name[1], MERGE_NAME_MAX, "pedestrian");
        p.check_gt_overlap = true;
    }
    return p;
}

// ---- Growable arrays --------------------------------------------------------------------------

static rt_status vec_reserve(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return RT_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = rt_realloc(*p, c * elem);
    if (!q) return rt_error_set(RT_ERR_NOMEM, "metrics: cannot grow to %zu entries", c);
    *p = q;
    *cap = c;
    return RT_OK;
}

// One class of the current video: the frames that have anything of the class.
typedef struct class_store {
    merge_seq_frame *fr;
    size_t n_fr, cap_fr;
    int64_t *gid, *tid;
    size_t n_gid, cap_gid, n_tid, cap_tid;
    double *sim;
    size_t n_sim, cap_sim;
} class_store;

struct merge_video {
    merge_metrics_params p;
    int64_t video_id, frames;
    class_store cls[MERGE_MAX_CLASSES];
    // Frame scratch.
    rt_rle *dv; // de-overlapped results
    size_t cap_dv;
    rt_rle cover, tmp, ign;
    merge_buf fb[8];
    // Finish scratch.
    merge_buf rb[4];
    merge_eval_scratch ev;
};

rt_status merge_video_init(merge_video **out, const merge_metrics_params *params) {
    *out = NULL;
    if (params->n_classes > MERGE_MAX_CLASSES || params->n_groups > MERGE_MAX_GROUPS)
        return rt_error_set(RT_ERR_CONFIG, "metrics: %zu classes / %zu groups (max %d / %d)",
                            params->n_classes, params->n_groups, MERGE_MAX_CLASSES,
                            MERGE_MAX_GROUPS);
    merge_video *v = rt_calloc(1, sizeof *v);
    if (!v) return rt_error_set(RT_ERR_NOMEM, "metrics: video state");
    v->p = *params;
    rt_rle_init(&v->cover);
    rt_rle_init(&v->tmp);
    rt_rle_init(&v->ign);
    merge_hungarian_init(&v->ev.hung);
    *out = v;
    return RT_OK;
}

void merge_video_free(merge_video **pv) {
    if (!pv || !*pv) return;
    merge_video *v = *pv;
    for (size_t c = 0; c < MERGE_MAX_CLASSES; c++) {
        rt_free(v->cls[c].fr);
        rt_free(v->cls[c].gid);
        rt_free(v->cls[c].tid);
        rt_free(v->cls[c].sim);
    }
    for (size_t i = 0; i < v->cap_dv; i++) rt_rle_free(&v->dv[i]);
    rt_free(v->dv);
    rt_rle_free(&v->cover);
    rt_rle_free(&v->tmp);
    rt_rle_free(&v->ign);
    for (size_t i = 0; i < RT_COUNTOF(v->fb); i++) merge_buf_free(&v->fb[i]);
    for (size_t i = 0; i < RT_COUNTOF(v->rb); i++) merge_buf_free(&v->rb[i]);
    for (size_t i = 0; i < RT_COUNTOF(v->ev.b); i++) merge_buf_free(&v->ev.b[i]);
    merge_hungarian_free(&v->ev.hung);
    rt_free(v);
    *pv = NULL;
}

void merge_video_begin(merge_video *v, int64_t video_id) {
    v->video_id = video_id;
    v->frames = 0;
    for (size_t c = 0; c < MERGE_MAX_CLASSES; c++)
        v->cls[c].n_fr = v->cls[c].n_gid = v->cls[c].n_tid = v->cls[c].n_sim = 0;
}

static rt_status dv_reserve(merge_video *v, size_t n) {
    if (n <= v->cap_dv) return RT_OK;
    size_t c = RT_MAX(n, 2 * v->cap_dv);
    rt_rle *q = rt_realloc(v->dv, c * sizeof *q);
    if (!q) return rt_error_set(RT_ERR_NOMEM, "metrics: %zu result masks", c);
    for (size_t i = v->cap_dv; i < c; i++) rt_rle_init(&q[i]);
    v->dv = q;
    v->cap_dv = c;
    return RT_OK;
}

// ---- Mask helpers -----------------------------------------------------------------------------

// cover ∪= m (cover must be sized like m, or 0×0 with no counts to start).
static rt_status cover_add(merge_video *v, const rt_rle *m) {
    if (v->cover.n == 0) return rt_rle_copy(&v->cover, m);
    rt_rle pair[2] = {v->cover, *m};
    rt_status st = rt_rle_merge(&v->tmp, pair, 2, false);
    if (st != RT_OK) return st;
    rt_rle t = v->cover;
    v->cover = v->tmp;
    v->tmp = t;
    return RT_OK;
}

typedef struct ord_item {
    double score;
    size_t idx;
} ord_item;

static int cmp_ord(const void *a, const void *b) {
    const ord_item *x = a, *y = b;
    if (x->score < y->score) return -1;
    if (x->score > y->score) return 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx; // stable: later index painted later
}

// Paints in ascending score order; walking that order backwards, each mask loses the pixels
// already claimed by the masks painted after it.
static rt_status deoverlap(merge_video *v, const rt_rle *const *in, const double *score, size_t n,
                          rt_rle *out, ord_item *ord) {
    for (size_t i = 0; i < n; i++) ord[i] = (ord_item){score[i], i};
    qsort(ord, n, sizeof *ord, cmp_ord);
    v->cover.n = 0;
    for (size_t k = n; k-- > 0;) {
        size_t i = ord[k].idx;
        rt_status st = v->cover.n ? rt_rle_subtract(&out[i], in[i], &v->cover)
                                  : rt_rle_copy(&out[i], in[i]);
        if (st == RT_OK && k > 0) st = cover_add(v, in[i]);
        if (st != RT_OK) return st;
    }
    return RT_OK;
}

rt_status merge_masks_deoverlap(const rt_rle *const *in, const double *score, size_t n,
                                rt_rle *out) {
    merge_metrics_params p = merge_metrics_default_params(MERGE_PROTOCOL_TRACKEVAL);
    merge_video *v = NULL;
    ord_item *ord = rt_malloc((n ? n : 1) * sizeof *ord);
    rt_status st = ord ? merge_video_init(&v, &p) : rt_error_set(RT_ERR_NOMEM, "deoverlap");
    if (st != RT_OK) goto fail;
    for (size_t i = 1; i < n; i++)
        if (in[i]->h != in[0]->h || in[i]->w != in[0]->w) {
            st = rt_error_set(RT_ERR_SHAPE, "deoverlap: mask %zu is %ux%u, mask 0 is %ux%u", i,
                              in[i]->h, in[i]->w, in[0]->h, in[0]->w);
            goto fail;
        }
    st = deoverlap(v, in, score, n, out, ord);
fail:
    merge_video_free(&v);
    rt_free(ord);
    return st;
}

// pycocotools iou() for one pair given precomputed boxes and areas; crowd = IoA over `a`.
static double pair_iou(const rt_rle *a, const double *ba, uint64_t aa, const rt_rle *b,
                       const double *bb, uint64_t ab, bool crowd) {
    double iw = fmin(ba[0] + ba[2], bb[0] + bb[2]) - fmax(ba[0], bb[0]);
    double ih = fmin(ba[1] + ba[3], bb[1] + bb[3]) - fmax(ba[1], bb[1]);
    if (iw <= 0 || ih <= 0) return 0;
    uint64_t i = rt_rle_intersection(a, b);
    if (i == 0) return 0;
    return (double)i / (double)(crowd ? aa : aa + ab - i);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

// ---- Frames -----------------------------------------------------------------------------------

static rt_status store_frame(class_store *cs, size_t ng, size_t nt, const int64_t *gid,
                             const int64_t *tid, const double *S, size_t s_stride,
                             const size_t *tcols) {
    rt_status st;
    if ((st = vec_reserve((void **)&cs->fr, &cs->cap_fr, cs->n_fr + 1, sizeof *cs->fr)) ||
        (st = vec_reserve((void **)&cs->gid, &cs->cap_gid, cs->n_gid + ng, sizeof *cs->gid)) ||
        (st = vec_reserve((void **)&cs->tid, &cs->cap_tid, cs->n_tid + nt, sizeof *cs->tid)) ||
        (st = vec_reserve((void **)&cs->sim, &cs->cap_sim, cs->n_sim + ng * nt, sizeof *cs->sim)))
        return st;
    cs->fr[cs->n_fr++] = (merge_seq_frame){(uint32_t)ng, (uint32_t)nt, cs->n_gid, cs->n_tid,
                                           cs->n_sim};
    if (ng) memcpy(cs->gid + cs->n_gid, gid, ng * sizeof *gid);
    for (size_t j = 0; j < nt; j++) cs->tid[cs->n_tid + j] = tid[tcols[j]];
    for (size_t i = 0; i < ng; i++)
        for (size_t j = 0; j < nt; j++)
            cs->sim[cs->n_sim + i * nt + j] = S[i * s_stride + tcols[j]];
    cs->n_gid += ng;
    cs->n_tid += nt;
    cs->n_sim += ng * nt;
    return RT_OK;
}

// Index of class id `cls` in params, or -1.
static int class_slot(const merge_metrics_params *p, int32_t cls) {
    for (size_t i = 0; i < p->n_classes; i++)
        if (p->class_id[i] == cls) return (int)i;
    return -1;
}

rt_status merge_video_add_frame(merge_video *v, const merge_frame *f) {
    const merge_metrics_params *p = &v->p;
    size_t ngt = f->n_gt, nres = f->n_res, nall = ngt + nres;
    long frame = (long)v->frames;
    v->frames++;
    if (nall == 0) return RT_OK;
    // Validation: one mask size per frame, unique ids, classes known or ignorable.
    const rt_rle *first = ngt ? f->gt[0].mask : f->res[0].mask;
    for (size_t i = 0; i < nall; i++) {
        const rt_rle *m = i < ngt ? f->gt[i].mask : f->res[i - ngt].mask;
        if (m->h != first->h || m->w != first->w)
            return rt_error_set(RT_ERR_SHAPE,
                                "video %lld frame %ld: %s mask %zu is %ux%u, not %ux%u",
                                (long long)v->video_id, frame, i < ngt ? "gt" : "result",
                                i < ngt ? i : i - ngt, m->h, m->w, first->h, first->w);
    }
    // Frame scratch: boxes and areas [nall], ids [nall], de-overlap order, index lists, IoU.
    size_t bytes0 = nall * (4 * sizeof(double) + sizeof(uint64_t) + sizeof(int64_t));
    uint8_t *b0 = merge_buf_get(&v->fb[0], bytes0 + 64);
    ord_item *ord = merge_buf_get(&v->fb[1], (nres + 1) * sizeof(ord_item));
    const rt_rle **rm = merge_buf_get(&v->fb[2], (nall + 1) * sizeof(rt_rle *));
    size_t *idx = merge_buf_get(&v->fb[3], (2 * nall + 1) * sizeof(size_t));
    double *S = merge_buf_get(&v->fb[4], (ngt * nres + 1) * 2 * sizeof(double));
    int32_t *asg = merge_buf_get(&v->fb[5], (nall + 1) * (sizeof(int32_t) + 1));
    if (!b0 || !ord || !rm || !idx || !S || !asg) return RT_ERR_NOMEM;
    double *bb = (double *)b0;
    uint64_t *area = (uint64_t *)(bb + 4 * nall);
    int64_t *ids = (int64_t *)(area + nall);
    const rt_rle **ign = rm + nres;
    double *cost = S + ngt * nres;
    uint8_t *keep = (uint8_t *)(asg + nall);

    size_t n = 0;
    for (size_t i = 0; i < ngt; i++)
        if (!f->gt[i].ignore) ids[n++] = f->gt[i].id;
    qsort(ids, n, sizeof *ids, cmp_i64);
    for (size_t i = 1; i < n; i++)
        if (ids[i] == ids[i - 1])
            return rt_error_set(RT_ERR_FORMAT, "video %lld frame %ld: gt id %lld twice",
                                (long long)v->video_id, frame, (long long)ids[i]);
    for (size_t i = 0; i < nres; i++) ids[i] = f->res[i].id;
    qsort(ids, nres, sizeof *ids, cmp_i64);
    for (size_t i = 1; i < nres; i++)
        if (ids[i] == ids[i - 1])
            return rt_error_set(RT_ERR_FORMAT, "video %lld frame %ld: result id %lld twice",
                                (long long)v->video_id, frame, (long long)ids[i]);

    // Results: keep the max_det smallest ids (BDD), then de-overlap or insist on no overlap.
    size_t nr = 0;
    int64_t id_cut = INT64_MAX;
    if (p->max_det && nres > p->max_det) id_cut = ids[p->max_det - 1];
    for (size_t i = 0; i < nres; i++)
        if (f->res[i].id <= id_cut) idx[nr++] = i;
    size_t *ridx = idx, *gidx = idx + nall;
    if (p->deoverlap && nr > 1) {
        double *scores = merge_buf_get(&v->fb[6], nr * sizeof(double));
        if (!scores || dv_reserve(v, nr) != RT_OK) return RT_ERR_NOMEM;
        for (size_t k = 0; k < nr; k++) {
            rm[k] = f->res[ridx[k]].mask;
            scores[k] = f->res[ridx[k]].score;
        }
        rt_status st = deoverlap(v, rm, scores, nr, v->dv, ord);
        if (st != RT_OK) return st;
        for (size_t k = 0; k < nr; k++) rm[k] = &v->dv[k];
    } else {
        bool bdd = p->protocol == MERGE_PROTOCOL_BDD100K;
        for (size_t k = 0; k < nr; k++) rm[k] = f->res[ridx[k]].mask;
        if (nr > 1) {
            // BDD (scalabel) looks at the evaluated categories only and drops every prediction
            // of a frame where two overlap; TrackEval refuses the file.
            uint64_t sum = 0;
            v->cover.n = 0;
            for (size_t k = 0; k < nr; k++) {
                if (bdd && class_slot(p, f->res[ridx[k]].cls) < 0) continue;
                sum += rt_rle_area(rm[k]);
                if (cover_add(v, rm[k]) != RT_OK) return RT_ERR_NOMEM;
            }
            if (rt_rle_area(&v->cover) != sum) {
                if (!bdd)
                    return rt_error_set(RT_ERR_FORMAT, "video %lld frame %ld: result masks "
                                        "overlap", (long long)v->video_id, frame);
                nr = 0;
            }
        }
    }
    if (p->deoverlap) {
        // A result whose whole mask went to higher scores is not in the painted map that the
        // reference converters (and pcan export) write: it is no detection at all, not an FP.
        size_t kept = 0;
        for (size_t k = 0; k < nr; k++) {
            if (rt_rle_area(rm[k]) == 0) continue;
            ridx[kept] = ridx[k];
            rm[kept++] = rm[k];
        }
        nr = kept;
    }
    // Ignore regions: TrackEval compares with their union, BDD with each one.
    size_t nign = 0, ng_all = 0;
    for (size_t i = 0; i < ngt; i++) {
        if (f->gt[i].ignore) ign[nign++] = f->gt[i].mask;
        else gidx[ng_all++] = i;
    }
    v->cover.n = 0;
    for (size_t k = 0; k < nign; k++)
        if (cover_add(v, ign[k]) != RT_OK) return RT_ERR_NOMEM;
    rt_status st = rt_rle_copy(&v->ign, &v->cover);
    if (st != RT_OK) return st;
    if (nign == 0) {
        v->ign.h = v->ign.w = 0; // pycocotools merge([]): an empty 0x0 region, IoA 0
        v->ign.n = 0;
    }
    if (p->check_gt_overlap && ng_all + (nign > 0) > 1) {
        uint64_t sum = rt_rle_area(&v->ign);
        for (size_t k = 0; k < ng_all; k++) {
            const rt_rle *m = f->gt[gidx[k]].mask;
            sum += rt_rle_area(m);
            if (cover_add(v, m) != RT_OK) return RT_ERR_NOMEM;
        }
        if (rt_rle_area(&v->cover) != sum)
            return rt_error_set(RT_ERR_FORMAT, "video %lld frame %ld: ground-truth masks overlap",
                                (long long)v->video_id, frame);
    }
    // Boxes and areas: gt [0, ng_all), results [ng_all, ng_all + nr), ignore union last.
    for (size_t k = 0; k < ng_all; k++) {
        rt_rle_bbox(f->gt[gidx[k]].mask, bb + 4 * k);
        area[k] = rt_rle_area(f->gt[gidx[k]].mask);
    }
    for (size_t k = 0; k < nr; k++) {
        rt_rle_bbox(rm[k], bb + 4 * (ng_all + k));
        area[ng_all + k] = rt_rle_area(rm[k]);
    }
    double ign_bb[4];
    rt_rle_bbox(&v->ign, ign_bb);
    uint64_t ign_area = rt_rle_area(&v->ign);

    // Per class.
    int64_t *gid = merge_buf_get(&v->rb[0], (nall + 1) * 2 * sizeof(int64_t));
    size_t *cols = merge_buf_get(&v->rb[1], (nall + 1) * 3 * sizeof(size_t));
    if (!gid || !cols) return RT_ERR_NOMEM;
    int64_t *tid = gid + nall + 1;
    size_t *gsel = cols + nall + 1, *tsel = gsel + nall + 1;
    for (size_t c = 0; c < p->n_classes; c++) {
        size_t ng = 0, nt = 0;
        for (size_t k = 0; k < ng_all; k++)
            if (f->gt[gidx[k]].cls == p->class_id[c]) gsel[ng++] = k;
        for (size_t k = 0; k < nr; k++)
            if (f->res[ridx[k]].cls == p->class_id[c]) tsel[nt++] = k;
        if (ng == 0 && nt == 0) continue;
        for (size_t i = 0; i < ng; i++) gid[i] = f->gt[gidx[gsel[i]]].id;
        for (size_t j = 0; j < nt; j++) tid[j] = f->res[ridx[tsel[j]]].id;
        for (size_t i = 0; i < ng; i++) {
            size_t a = gsel[i];
            for (size_t j = 0; j < nt; j++) {
                size_t b = ng_all + tsel[j];
                S[i * nt + j] = pair_iou(f->gt[gidx[a]].mask, bb + 4 * a, area[a], rm[tsel[j]],
                                         bb + 4 * b, area[b], false);
            }
        }
        // Unmatched results mostly inside ignore regions are removed.
        memset(keep, 1, nt);
        bool bdd = p->protocol == MERGE_PROTOCOL_BDD100K;
        if (nt > 0 && (bdd ? nign > 0 : true)) {
            memset(asg, 0xff, nt * sizeof *asg); // column → row, -1 unmatched
            if (ng > 0) {
                // TrackEval: scores below 0.5 − ε become −10000 and a match needs > ε.
                // scalabel: distances above 0.5 are non-edges (2·max+1), dropped afterwards.
                double vmax = -INFINITY;
                if (bdd)
                    for (size_t k = 0; k < ng * nt; k++)
                        if (!(1.0 - S[k] > 0.5)) vmax = fmax(vmax, 1.0 - S[k]);
                double inv = vmax == -INFINITY ? 1.0 : 2 * vmax + 1;
                for (size_t k = 0; k < ng * nt; k++) {
                    if (bdd) cost[k] = !(1.0 - S[k] > 0.5) ? 1.0 - S[k] : inv;
                    else cost[k] = -(S[k] < 0.5 - EPS ? -10000.0 : S[k]);
                }
                int32_t *c_of_r = asg + nt; // ng more entries: ng + nt <= nall
                st = merge_hungarian_solve(&v->ev.hung, cost, ng, nt, c_of_r);
                if (st != RT_OK) return st;
                for (size_t i = 0; i < ng; i++) {
                    int32_t j = c_of_r[i];
                    if (j < 0) continue;
                    bool m = bdd ? !(1.0 - S[i * nt + (size_t)j] > 0.5)
                                 : -cost[i * nt + (size_t)j] > 0 + EPS;
                    if (m) asg[j] = (int32_t)i;
                }
            }
            for (size_t j = 0; j < nt; j++) {
                if (asg[j] >= 0) continue;
                size_t b = ng_all + tsel[j];
                bool drop = false;
                if (bdd) {
                    for (size_t k = 0; k < nign && !drop; k++) {
                        double rb[4];
                        rt_rle_bbox(ign[k], rb);
                        drop = pair_iou(rm[tsel[j]], bb + 4 * b, area[b], ign[k], rb,
                                        rt_rle_area(ign[k]), true) > 0.5;
                    }
                } else if (nign > 0) {
                    drop = pair_iou(rm[tsel[j]], bb + 4 * b, area[b], &v->ign, ign_bb, ign_area,
                                    true) > 0.5 + EPS;
                }
                if (drop) keep[j] = 0;
            }
        }
        size_t nk = 0;
        for (size_t j = 0; j < nt; j++)
            if (keep[j]) cols[nk++] = j;
        if (ng == 0 && nk == 0) continue;
        st = store_frame(&v->cls[c], ng, nk, gid, tid, S, nt, cols);
        if (st != RT_OK) return st;
    }
    return RT_OK;
}

// ---- Finishing a video ------------------------------------------------------------------------

// Sorted unique ids of src into u (returns the count) and each src entry's index into rel.
static size_t relabel(const int64_t *src, size_t n, int64_t *u, int32_t *rel) {
    if (n) memcpy(u, src, n * sizeof *u);
    qsort(u, n, sizeof *u, cmp_i64);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || u[i] != u[k - 1]) u[k++] = u[i];
    for (size_t i = 0; i < n; i++) {
        size_t lo = 0, hi = k;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (u[mid] < src[i]) lo = mid + 1;
            else hi = mid;
        }
        rel[i] = (int32_t)lo;
    }
    return k;
}

rt_status merge_video_finish(merge_video *v, merge_video_result *out) {
    memset(out, 0, sizeof *out);
    out->video_id = v->video_id;
    out->frames = v->frames;
    for (size_t c = 0; c < v->p.n_classes; c++) {
        class_store *cs = &v->cls[c];
        size_t n = cs->n_gid + cs->n_tid;
        int64_t *u = merge_buf_get(&v->rb[2], (n + 1) * sizeof(int64_t));
        int32_t *rel = merge_buf_get(&v->rb[3], (n + 1) * sizeof(int32_t));
        if (!u || !rel) return RT_ERR_NOMEM;
        merge_seq s = {
            .n_frames = cs->n_fr,
            .fr = cs->fr,
            .g = rel,
            .t = rel + cs->n_gid,
            .sim = cs->sim,
            .n_gt_dets = cs->n_gid,
            .n_tr_dets = cs->n_tid,
        };
        s.n_gt_ids = relabel(cs->gid, cs->n_gid, u, rel);
        s.n_tr_ids = relabel(cs->tid, cs->n_tid, u, rel + cs->n_gid);
        rt_status st = v->p.protocol == MERGE_PROTOCOL_BDD100K
                           ? merge_bdd_eval_seq(&s, &v->ev, &out->bdd[c])
                           : merge_te_eval_seq(&s, v->frames, &v->ev, &out->te[c]);
        if (st != RT_OK)
            return rt_error_wrap(st, "video %lld class %s", (long long)v->video_id,
                                 v->p.class_name[c]);
    }
    return RT_OK;
}

// ---- Totals -----------------------------------------------------------------------------------

void merge_totals_init(merge_totals *t, const merge_metrics_params *params) {
    memset(t, 0, sizeof *t);
    t->params = *params;
}

static void te_total_add_seq(merge_te_total *t, const merge_te_seq *s) {
    t->dets += s->dets;
    t->gt_dets += s->gt_dets;
    t->ids += s->ids;
    t->gt_ids += s->gt_ids;
    t->clr_tp += s->clr_tp;
    t->clr_fn += s->clr_fn;
    t->clr_fp += s->clr_fp;
    t->idsw += s->idsw;
    t->mt += s->mt;
    t->pt += s->pt;
    t->ml += s->ml;
    t->frag += s->frag;
    t->clr_frames += s->clr_frames;
    t->motp_sum += s->motp_sum;
    t->idtp += s->idtp;
    t->idfn += s->idfn;
    t->idfp += s->idfp;
    for (size_t a = 0; a < NA; a++) {
        double tp = (double)s->hota_tp[a];
        t->hota_tp[a] += s->hota_tp[a];
        t->hota_fn[a] += s->hota_fn[a];
        t->hota_fp[a] += s->hota_fp[a];
        t->ass_a_w[a] += s->ass_a[a] * tp;
        t->ass_re_w[a] += s->ass_re[a] * tp;
        t->ass_pr_w[a] += s->ass_pr[a] * tp;
        t->loc_a_w[a] += s->loc_a[a] * tp;
    }
}

static void te_total_add_total(merge_te_total *t, const merge_te_total *s) {
    t->dets += s->dets;
    t->gt_dets += s->gt_dets;
    t->ids += s->ids;
    t->gt_ids += s->gt_ids;
    t->clr_tp += s->clr_tp;
    t->clr_fn += s->clr_fn;
    t->clr_fp += s->clr_fp;
    t->idsw += s->idsw;
    t->mt += s->mt;
    t->pt += s->pt;
    t->ml += s->ml;
    t->frag += s->frag;
    t->clr_frames += s->clr_frames;
    t->motp_sum += s->motp_sum;
    t->idtp += s->idtp;
    t->idfn += s->idfn;
    t->idfp += s->idfp;
    for (size_t a = 0; a < NA; a++) {
        t->hota_tp[a] += s->hota_tp[a];
        t->hota_fn[a] += s->hota_fn[a];
        t->hota_fp[a] += s->hota_fp[a];
        t->ass_a_w[a] += s->ass_a_w[a];
        t->ass_re_w[a] += s->ass_re_w[a];
        t->ass_pr_w[a] += s->ass_pr_w[a];
        t->loc_a_w[a] += s->loc_a_w[a];
    }
}

static void bdd_total_add(merge_bdd_total *t, const merge_bdd_total *s) {
    t->accs += s->accs;
    t->matches += s->matches;
    t->switches += s->switches;
    t->misses += s->misses;
    t->fps += s->fps;
    t->mt += s->mt;
    t->pt += s->pt;
    t->ml += s->ml;
    t->frag += s->frag;
    t->idtp += s->idtp;
    t->objects += s->objects;
    t->predictions += s->predictions;
    t->motp_w += s->motp_w;
}

void merge_totals_add(merge_totals *t, const merge_video_result *r) {
    t->videos++;
    for (size_t c = 0; c < t->params.n_classes; c++) {
        if (t->params.protocol != MERGE_PROTOCOL_BDD100K) {
            te_total_add_seq(&t->te[c], &r->te[c]);
            continue;
        }
        const merge_bdd_seq *s = &r->bdd[c];
        if (!s->has_events) continue;
        int64_t det = s->matches + s->switches;
        merge_bdd_total one = {
            .accs = 1,
            .matches = s->matches,
            .switches = s->switches,
            .misses = s->misses,
            .fps = s->fps,
            .mt = s->mt,
            .pt = s->pt,
            .ml = s->ml,
            .frag = s->frag,
            .idtp = s->idtp,
            .objects = s->objects,
            .predictions = s->predictions,
            // motmetrics pools MOTP as Σ motp_v·det_v over accumulators with detections.
            .motp_w = det > 0 ? s->d_sum / (double)det * (double)det : 0.0,
        };
        bdd_total_add(&t->bdd[c], &one);
    }
}

void merge_totals_combine(merge_totals *a, const merge_totals *b) {
    a->videos += b->videos;
    for (size_t c = 0; c < a->params.n_classes; c++) {
        te_total_add_total(&a->te[c], &b->te[c]);
        bdd_total_add(&a->bdd[c], &b->bdd[c]);
    }
}

// ---- TrackEval rows ---------------------------------------------------------------------------

static double mean19(const double *x) { return merge_np_sum(x, NA) / NA; }

// Fills every derived field of a row from its counts, MOTP_sum and the per-α AssA, AssRe,
// AssPr and LocA (TrackEval's _compute_final_fields of the three metrics).
static void te_row_finish(merge_te_row *r) {
    double tp = (double)r->CLR_TP, fn = (double)r->CLR_FN, fp = (double)r->CLR_FP;
    double gts = fmax(1.0, tp + fn), ids = fmax(1.0, (double)(r->MT + r->ML + r->PT));
    r->MTR = (double)r->MT / ids;
    r->MLR = (double)r->ML / ids;
    r->PTR = (double)r->PT / ids;
    r->CLR_Re = tp / gts;
    r->CLR_Pr = tp / fmax(1.0, tp + fp);
    r->MODA = (double)(r->CLR_TP - r->CLR_FP) / gts;
    r->MOTA = (double)(r->CLR_TP - r->CLR_FP - r->IDSW) / gts;
    r->MOTP = r->MOTP_sum / fmax(1.0, tp);
    r->sMOTA = (r->MOTP_sum - fp - (double)r->IDSW) / gts;
    r->CLR_F1 = tp / fmax(1.0, tp + 0.5 * fn + 0.5 * fp);
    r->FP_per_frame = fp / fmax(1.0, (double)r->CLR_Frames);
    double log_idsw = r->IDSW > 0 ? log10((double)r->IDSW) : 0.0;
    r->MOTAL = ((double)(r->CLR_TP - r->CLR_FP) - log_idsw) / gts;
    double idtp = (double)r->IDTP, idfn = (double)r->IDFN, idfp = (double)r->IDFP;
    r->IDR = idtp / fmax(1.0, idtp + idfn);
    r->IDP = idtp / fmax(1.0, idtp + idfp);
    r->IDF1 = idtp / fmax(1.0, idtp + 0.5 * idfp + 0.5 * idfn);
    for (size_t a = 0; a < NA; a++) {
        double t = (double)r->HOTA_TP[a], n = (double)r->HOTA_FN[a], p = (double)r->HOTA_FP[a];
        r->a_DetRe[a] = t / fmax(1.0, t + n);
        r->a_DetPr[a] = t / fmax(1.0, t + p);
        r->a_DetA[a] = t / fmax(1.0, t + n + p);
        r->a_HOTA[a] = sqrt(r->a_DetA[a] * r->a_AssA[a]);
        r->a_OWTA[a] = sqrt(r->a_DetRe[a] * r->a_AssA[a]);
    }
    r->HOTA0 = r->a_HOTA[0];
    r->LocA0 = r->a_LocA[0];
    r->HOTALocA0 = r->HOTA0 * r->LocA0;
}

// The means over α that TrackEval reports.
static void te_row_means(merge_te_row *r) {
    r->HOTA = mean19(r->a_HOTA);
    r->DetA = mean19(r->a_DetA);
    r->AssA = mean19(r->a_AssA);
    r->DetRe = mean19(r->a_DetRe);
    r->DetPr = mean19(r->a_DetPr);
    r->AssRe = mean19(r->a_AssRe);
    r->AssPr = mean19(r->a_AssPr);
    r->LocA = mean19(r->a_LocA);
    r->OWTA = mean19(r->a_OWTA);
}

static void te_row_counts(merge_te_row *r, const merge_te_total *t) {
    memset(r, 0, sizeof *r);
    r->CLR_TP = t->clr_tp;
    r->CLR_FN = t->clr_fn;
    r->CLR_FP = t->clr_fp;
    r->IDSW = t->idsw;
    r->MT = t->mt;
    r->PT = t->pt;
    r->ML = t->ml;
    r->Frag = t->frag;
    r->CLR_Frames = t->clr_frames;
    r->MOTP_sum = t->motp_sum;
    r->IDTP = t->idtp;
    r->IDFN = t->idfn;
    r->IDFP = t->idfp;
    r->Dets = t->dets;
    r->GT_Dets = t->gt_dets;
    r->IDs = t->ids;
    r->GT_IDs = t->gt_ids;
    memcpy(r->HOTA_TP, t->hota_tp, sizeof r->HOTA_TP);
    memcpy(r->HOTA_FN, t->hota_fn, sizeof r->HOTA_FN);
    memcpy(r->HOTA_FP, t->hota_fp, sizeof r->HOTA_FP);
}

void merge_totals_te_row(const merge_totals *t, size_t cls, merge_te_row *row) {
    const merge_te_total *s = &t->te[cls];
    te_row_counts(row, s);
    for (size_t a = 0; a < NA; a++) {
        double tp = (double)s->hota_tp[a];
        row->a_AssA[a] = s->ass_a_w[a] / fmax(1.0, tp);
        row->a_AssRe[a] = s->ass_re_w[a] / fmax(1.0, tp);
        row->a_AssPr[a] = s->ass_pr_w[a] / fmax(1.0, tp);
        row->a_LocA[a] = fmax(1e-10, s->loc_a_w[a]) / fmax(1e-10, tp);
    }
    te_row_finish(row);
    te_row_means(row);
}

void merge_video_te_row(const merge_video_result *r, size_t cls, merge_te_row *row) {
    const merge_te_seq *s = &r->te[cls];
    merge_te_total one;
    memset(&one, 0, sizeof one);
    te_total_add_seq(&one, s);
    te_row_counts(row, &one);
    for (size_t a = 0; a < NA; a++) {
        row->a_AssA[a] = s->ass_a[a];
        row->a_AssRe[a] = s->ass_re[a];
        row->a_AssPr[a] = s->ass_pr[a];
        row->a_LocA[a] = s->loc_a[a];
    }
    if (s->early) {
        // TrackEval returns before its final fields: only the counts, MLR = 1, LocA = 1.
        row->MLR = 1.0;
        row->LocA0 = 1.0;
    } else {
        te_row_finish(row);
    }
    te_row_means(row);
}

void merge_te_class_average(const merge_te_row *rows, size_t n, bool ignore_empty,
                            merge_te_row *out) {
    memset(out, 0, sizeof *out);
    // Which classes take part, per metric (TrackEval filters each metric on its own counts).
    enum { MAXN = MERGE_MAX_CLASSES * 4 };
    bool use_clr[MAXN], use_id[MAXN], use_h[MAXN];
    size_t n_clr = 0, n_id = 0, n_h = 0;
    RT_ASSERT(n <= RT_COUNTOF(use_clr));
    for (size_t c = 0; c < n; c++) {
        const merge_te_row *r = &rows[c];
        bool any_h = false;
        for (size_t a = 0; a < NA; a++)
            any_h |= (double)(r->HOTA_TP[a] + r->HOTA_FN[a] + r->HOTA_FP[a]) > 0 + EPS;
        use_clr[c] = !ignore_empty || r->CLR_TP + r->CLR_FN + r->CLR_FP > 0;
        use_id[c] = !ignore_empty || r->IDTP + r->IDFN + r->IDFP > 0;
        use_h[c] = !ignore_empty || any_h;
        n_clr += use_clr[c];
        n_id += use_id[c];
        n_h += use_h[c];
    }
    double buf[MERGE_MAX_CLASSES * 4] = {0};
#define MEAN_OF(field, use, cnt)                                                   \
    do {                                                                           \
        size_t k_ = 0;                                                             \
        for (size_t c_ = 0; c_ < n; c_++)                                          \
            if (use[c_]) buf[k_++] = rows[c_].field;                               \
        out->field = merge_np_sum(buf, k_) / (double)(cnt);                        \
    } while (0)
#define SUM_OF(field, use)                                                         \
    do {                                                                           \
        for (size_t c_ = 0; c_ < n; c_++)                                          \
            if (use[c_]) out->field += rows[c_].field;                             \
    } while (0)
    SUM_OF(CLR_TP, use_clr);
    SUM_OF(CLR_FN, use_clr);
    SUM_OF(CLR_FP, use_clr);
    SUM_OF(IDSW, use_clr);
    SUM_OF(MT, use_clr);
    SUM_OF(PT, use_clr);
    SUM_OF(ML, use_clr);
    SUM_OF(Frag, use_clr);
    SUM_OF(CLR_Frames, use_clr);
    MEAN_OF(MOTA, use_clr, n_clr);
    MEAN_OF(MOTP, use_clr, n_clr);
    MEAN_OF(MODA, use_clr, n_clr);
    MEAN_OF(CLR_Re, use_clr, n_clr);
    MEAN_OF(CLR_Pr, use_clr, n_clr);
    MEAN_OF(MTR, use_clr, n_clr);
    MEAN_OF(PTR, use_clr, n_clr);
    MEAN_OF(MLR, use_clr, n_clr);
    MEAN_OF(sMOTA, use_clr, n_clr);
    MEAN_OF(CLR_F1, use_clr, n_clr);
    MEAN_OF(FP_per_frame, use_clr, n_clr);
    MEAN_OF(MOTAL, use_clr, n_clr);
    MEAN_OF(MOTP_sum, use_clr, n_clr);
    SUM_OF(IDTP, use_id);
    SUM_OF(IDFN, use_id);
    SUM_OF(IDFP, use_id);
    bool all[MAXN];
    for (size_t c = 0; c < n; c++) all[c] = true;
    SUM_OF(Dets, all); // Count sums every class whatever ignore_empty says
    SUM_OF(GT_Dets, all);
    SUM_OF(IDs, all);
    SUM_OF(GT_IDs, all);
    MEAN_OF(IDF1, use_id, n_id);
    MEAN_OF(IDR, use_id, n_id);
    MEAN_OF(IDP, use_id, n_id);
    MEAN_OF(HOTA0, use_h, n_h);
    MEAN_OF(LocA0, use_h, n_h);
    MEAN_OF(HOTALocA0, use_h, n_h);
#undef MEAN_OF
#undef SUM_OF
    for (size_t a = 0; a < NA; a++) {
        // np.mean(list of arrays, axis=0): a running sum over classes, then the division.
        double h = 0, d = 0, as = 0, dr = 0, dp = 0, ar = 0, ap = 0, l = 0, o = 0;
        for (size_t c = 0; c < n; c++) {
            if (!use_h[c]) continue;
            const merge_te_row *r = &rows[c];
            h += r->a_HOTA[a], d += r->a_DetA[a], as += r->a_AssA[a], dr += r->a_DetRe[a];
            dp += r->a_DetPr[a], ar += r->a_AssRe[a], ap += r->a_AssPr[a], l += r->a_LocA[a];
            o += r->a_OWTA[a];
            out->HOTA_TP[a] += r->HOTA_TP[a];
            out->HOTA_FN[a] += r->HOTA_FN[a];
            out->HOTA_FP[a] += r->HOTA_FP[a];
        }
        double k = (double)n_h;
        out->a_HOTA[a] = h / k, out->a_DetA[a] = d / k, out->a_AssA[a] = as / k;
        out->a_DetRe[a] = dr / k, out->a_DetPr[a] = dp / k, out->a_AssRe[a] = ar / k;
        out->a_AssPr[a] = ap / k, out->a_LocA[a] = l / k, out->a_OWTA[a] = o / k;
    }
    te_row_means(out);
}

void merge_totals_te_det_average(const merge_totals *t, merge_te_row *row) {
    merge_te_total sum;
    memset(&sum, 0, sizeof sum);
    double wa[NA] = {0}, wr[NA] = {0}, wp[NA] = {0}, wl[NA] = {0};
    for (size_t c = 0; c < t->params.n_classes; c++) {
        merge_te_row r;
        merge_totals_te_row(t, c, &r);
        merge_te_total s = t->te[c];
        memset(s.ass_a_w, 0, sizeof s.ass_a_w);
        memset(s.ass_re_w, 0, sizeof s.ass_re_w);
        memset(s.ass_pr_w, 0, sizeof s.ass_pr_w);
        memset(s.loc_a_w, 0, sizeof s.loc_a_w);
        te_total_add_total(&sum, &s);
        for (size_t a = 0; a < NA; a++) {
            double tp = (double)r.HOTA_TP[a];
            wa[a] += r.a_AssA[a] * tp;
            wr[a] += r.a_AssRe[a] * tp;
            wp[a] += r.a_AssPr[a] * tp;
            wl[a] += r.a_LocA[a] * tp;
        }
    }
    te_row_counts(row, &sum);
    for (size_t a = 0; a < NA; a++) {
        double tp = (double)sum.hota_tp[a];
        row->a_AssA[a] = wa[a] / fmax(1.0, tp);
        row->a_AssRe[a] = wr[a] / fmax(1.0, tp);
        row->a_AssPr[a] = wp[a] / fmax(1.0, tp);
        row->a_LocA[a] = fmax(1e-10, wl[a]) / fmax(1e-10, tp);
    }
    te_row_finish(row);
    te_row_means(row);
}

// ---- BDD100K rows -----------------------------------------------------------------------------

static void bdd_row(const merge_bdd_total *t, merge_bdd_row *r) {
    memset(r, 0, sizeof *r);
    // motmetrics' quiet division: 0/0 is NaN, x/0 is ±inf.
    double obj = (double)t->objects, det = (double)(t->matches + t->switches);
    double err = (double)(t->misses + t->switches + t->fps);
    r->MOTA = 100 * (1.0 - err / obj);
    r->MOTP = 100 * (1.0 - t->motp_w / det);
    r->IDF1 = 100 * (2.0 * (double)t->idtp / (obj + (double)t->predictions));
    if (t->accs == 0) r->MOTA = r->MOTP = r->IDF1 = NAN;
    r->FP = t->fps;
    r->FN = t->misses;
    r->IDSw = t->switches;
    r->MT = t->mt;
    r->PT = t->pt;
    r->ML = t->ml;
    r->FM = t->frag;
}

static double finite_or_zero(double x) { return isfinite(x) ? x : 0.0; }

void merge_totals_bdd_rows(const merge_totals *t, merge_bdd_row *rows) {
    const merge_metrics_params *p = &t->params;
    size_t nc = p->n_classes, ng = p->n_groups;
    merge_bdd_total all;
    memset(&all, 0, sizeof all);
    for (size_t c = 0; c < nc; c++) {
        bdd_row(&t->bdd[c], &rows[c]);
        bdd_total_add(&all, &t->bdd[c]);
    }
    for (size_t g = 0; g < ng; g++) {
        merge_bdd_total grp;
        memset(&grp, 0, sizeof grp);
        for (size_t c = 0; c < nc; c++)
            if (p->group_of_class[c] == (int)g) bdd_total_add(&grp, &t->bdd[c]);
        bdd_row(&grp, &rows[nc + g]);
    }
    merge_bdd_row *avg = &rows[nc + ng];
    memset(avg, 0, sizeof *avg);
    double m[3][MERGE_MAX_CLASSES];
    for (size_t c = 0; c < nc; c++) {
        // numpy nan_to_num then mean (pairwise sum); ±inf counted as 0 as METRICS.md §3.4 says.
        m[0][c] = finite_or_zero(rows[c].MOTA);
        m[1][c] = finite_or_zero(rows[c].MOTP);
        m[2][c] = finite_or_zero(rows[c].IDF1);
        avg->FP += rows[c].FP;
        avg->FN += rows[c].FN;
        avg->IDSw += rows[c].IDSw;
        avg->MT += rows[c].MT;
        avg->PT += rows[c].PT;
        avg->ML += rows[c].ML;
        avg->FM += rows[c].FM;
    }
    avg->MOTA = nc ? merge_np_sum(m[0], nc) / (double)nc : NAN;
    avg->MOTP = nc ? merge_np_sum(m[1], nc) / (double)nc : NAN;
    avg->IDF1 = nc ? merge_np_sum(m[2], nc) / (double)nc : NAN;
    bdd_row(&all, &rows[nc + ng + 1]);
}

// ---- Field tables -----------------------------------------------------------------------------

#define TF(field, mots, type) {#field, mots, offsetof(merge_te_row, field), type}
#define TN(label, field, mots, type) {label, mots, offsetof(merge_te_row, field), type}
static const merge_field te_fields[] = {
    TF(HOTA, "HOTA", 'f'),       TF(DetA, "DetA", 'f'),      TF(AssA, "AssA", 'f'),
    TF(DetRe, "DetRe", 'f'),     TF(DetPr, "DetPr", 'f'),    TF(AssRe, "AssRe", 'f'),
    TF(AssPr, "AssPr", 'f'),     TF(LocA, "LocA", 'f'),      TF(OWTA, "OWTA", 'f'),
    TN("HOTA(0)", HOTA0, "HOTA(0)", 'f'),     TN("LocA(0)", LocA0, "LocA(0)", 'f'),
    TN("HOTALocA(0)", HOTALocA0, "HOTALocA(0)", 'f'),
    TF(MOTA, "MOTSA", 'f'),      TF(MOTP, "MOTSP", 'f'),     TF(MODA, "MODSA", 'f'),
    TF(CLR_Re, "CLR_Re", 'f'),   TF(CLR_Pr, "CLR_Pr", 'f'),  TF(MTR, "MTR", 'f'),
    TF(PTR, "PTR", 'f'),         TF(MLR, "MLR", 'f'),        TF(sMOTA, "sMOTSA", 'f'),
    TF(CLR_F1, "CLR_F1", 'f'),   TF(FP_per_frame, "FP_per_frame", 'f'),
    TF(MOTAL, "MOTSAL", 'f'),    TF(MOTP_sum, "MOTSP_sum", 'f'),
    TF(CLR_TP, "TP", 'i'),       TF(CLR_FN, "FN", 'i'),      TF(CLR_FP, "FP", 'i'),
    TF(IDSW, "IDSW", 'i'),       TF(MT, "MT", 'i'),          TF(PT, "PT", 'i'),
    TF(ML, "ML", 'i'),           TF(Frag, "Frag", 'i'),      TF(CLR_Frames, "CLR_Frames", 'i'),
    TF(IDF1, "IDF1", 'f'),       TF(IDR, "IDR", 'f'),        TF(IDP, "IDP", 'f'),
    TF(IDTP, "IDTP", 'i'),       TF(IDFN, "IDFN", 'i'),      TF(IDFP, "IDFP", 'i'),
    TF(Dets, "Dets", 'i'),       TF(GT_Dets, "GT_Dets", 'i'), TF(IDs, "IDs", 'i'),
    TF(GT_IDs, "GT_IDs", 'i'),
};
#undef TF
#undef TN

#define BF(field, mots, type) {#field, mots, offsetof(merge_bdd_row, field), type}
static const merge_field bdd_fields[] = {
    BF(MOTA, "MOTSA", 'f'), BF(MOTP, "MOTSP", 'f'), BF(IDF1, "IDF1", 'f'), BF(FP, "FP", 'i'),
    BF(FN, "FN", 'i'),      BF(IDSw, "IDSw", 'i'),  BF(MT, "MT", 'i'),     BF(PT, "PT", 'i'),
    BF(ML, "ML", 'i'),      BF(FM, "FM", 'i'),
};
#undef BF

const merge_field *merge_te_fields(size_t *n) {
    *n = RT_COUNTOF(te_fields);
    return te_fields;
}

const merge_field *merge_bdd_fields(size_t *n) {
    *n = RT_COUNTOF(bdd_fields);
    return bdd_fields;
}

double merge_field_value(const merge_field *f, const void *row) {
    const char *p = (const char *)row + f->offset;
    if (f->type == 'i') {
        int64_t v;
        memcpy(&v, p, sizeof v);
        return (double)v;
    }
    double d;
    memcpy(&d, p, sizeof d);
    return d;
}
