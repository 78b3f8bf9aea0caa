// The dataset/archive → metrics adapter (see evaluate.h).
#include "merge/evaluate.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shard/mpiutil.h"

merge_eval_params merge_eval_default_params(merge_protocol protocol) {
    merge_eval_params p = {0};
    p.protocol = protocol;
    return p;
}

void merge_eval_summary_free(merge_eval_summary **s) {
    if (!s || !*s) return;
    rt_free(*s);
    *s = NULL;
}

static int find_name(char *const *names, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return (int)i;
    return -1;
}

static bool wanted(const merge_eval_params *ep, const char *name) {
    if (ep->n_classes == 0) return true;
    for (size_t i = 0; i < ep->n_classes; i++)
        if (!strcmp(ep->classes[i], name)) return true;
    return false;
}

// The classes to evaluate, with class_id = dataset class index + 1: for trackeval and
// youtube-vis every class of the dataset (TrackEval's formulas per class; KITTI-MOTS/MOTS20
// datasets have just car and pedestrian), for bdd100k the protocol's 8 classes; then only those
// params->classes names.
static rt_status build_params(const shard_dataset *ds, const merge_eval_params *ep,
                              merge_metrics_params *out) {
    merge_protocol protocol = ep->protocol;
    for (size_t i = 0; i < ep->n_classes; i++)
        if (find_name(ds->classes, ds->n_classes, ep->classes[i]) < 0)
            return rt_error_set(RT_ERR_CONFIG, "metrics class '%s' is not a class of the dataset",
                                ep->classes[i]);
    merge_metrics_params d = merge_metrics_default_params(protocol);
    merge_metrics_params p = d;
    p.n_classes = 0;
    if (protocol != MERGE_PROTOCOL_BDD100K) {
        for (size_t k = 0; k < ds->n_classes; k++) {
            if (!wanted(ep, ds->classes[k])) continue;
            if (p.n_classes == MERGE_MAX_CLASSES)
                return rt_error_set(RT_ERR_CONFIG, "the dataset has more than %d classes: choose "
                                    "some with metrics.classes", MERGE_MAX_CLASSES);
            size_t j = p.n_classes++;
            snprintf(p.class_name[j], MERGE_NAME_MAX, "%s", ds->classes[k]);
            p.class_id[j] = (int32_t)k + 1;
            p.group_of_class[j] = 0;
        }
        if (p.n_classes == 0) return rt_error_set(RT_ERR_CONFIG, "the dataset has no classes");
        *out = p;
        return RT_OK;
    }
    for (size_t i = 0; i < d.n_classes; i++) {
        if (!wanted(ep, d.class_name[i])) continue;
        int k = find_name(ds->classes, ds->n_classes, d.class_name[i]);
        size_t j = p.n_classes++;
        memcpy(p.class_name[j], d.class_name[i], MERGE_NAME_MAX);
        // BDD keeps all 8 rows (scalabel reports absent classes too); an absent class matches
        // nothing.
        p.class_id[j] = k >= 0 ? k + 1 : -1000 - (int32_t)i;
        p.group_of_class[j] = d.group_of_class[i];
    }
    if (p.n_classes == 0)
        return rt_error_set(RT_ERR_CONFIG, "none of the chosen classes is one the bdd100k protocol "
                            "evaluates (%s, %s, ...)", d.class_name[0], d.class_name[1]);
    *out = p;
    return RT_OK;
}

typedef struct eval_buf {
    merge_object *gt, *res;
    size_t gt_cap, res_cap;
    rt_rle *rle;
    size_t rle_cap;
} eval_buf;

static rt_status grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return RT_OK;
    size_t n = RT_MAX(need, *cap * 2);
    void *q = rt_calloc(n, elem);
    if (!q) return RT_ERR_NOMEM;
    if (*p) memcpy(q, *p, *cap * elem);
    rt_free(*p);
    *p = q;
    *cap = n;
    return RT_OK;
}

// Archive row k's mask as an RLE view of the row's counts, sized as the video's GT; errors name
// the video, frame and the frame's result index i.
static rt_status row_mask(const merge_archive_rows *rows, uint64_t k, const shard_gt *gt,
                          const char *vid, int64_t f, size_t i, rt_rle *out) {
    const uint32_t *c = rows->rle + rows->rle_start[k];
    size_t nc = (size_t)(rows->rle_start[k + 1] - rows->rle_start[k]);
    rt_status st = rt_rle_set_counts(out, (uint32_t)gt->height, (uint32_t)gt->width, c, nc);
    if (st != RT_OK)
        return rt_error_set(st, "video %s frame %lld result %zu: %s", vid, (long long)f, i,
                            rt_error());
    return RT_OK;
}

static rt_status eval_video(merge_video *mv, eval_buf *b, const shard_gt *gt,
                            const merge_archive_rows *rows, const int32_t *label_cls, size_t n_labels,
                            bool crowd_ignores, const char *vid, uint64_t *n_masks) {
    rt_status st;
    uint64_t r = 0;
    for (int64_t f = 0; f < gt->n_frames; f++) {
        const shard_gt_frame *gf = &gt->frames[f];
        uint64_t first = r;
        while (r < rows->n && rows->frame[r] < f) first = ++r;
        while (r < rows->n && rows->frame[r] == f) r++;
        if (!gf->annotated) continue;
        size_t nres = (size_t)(r - first);
        if ((st = grow((void **)&b->gt, &b->gt_cap, gf->n_objects, sizeof *b->gt)) != RT_OK ||
            (st = grow((void **)&b->res, &b->res_cap, nres, sizeof *b->res)) != RT_OK)
            return st;
        if (nres > b->rle_cap) {
            size_t old = b->rle_cap;
            if ((st = grow((void **)&b->rle, &b->rle_cap, nres, sizeof *b->rle)) != RT_OK) return st;
            for (size_t i = old; i < b->rle_cap; i++) rt_rle_init(&b->rle[i]);
        }
        for (size_t i = 0; i < gf->n_objects; i++) {
            const shard_gt_object *o = &gf->objects[i];
            b->gt[i] = (merge_object){.id = o->track_id,
                                      .cls = o->class_index + 1,
                                      .ignore = o->ignore || (crowd_ignores && o->crowd),
                                      .mask = &o->mask};
        }
        for (size_t i = 0; i < nres; i++) {
            uint64_t k = first + i;
            if ((st = row_mask(rows, k, gt, vid, f, i, &b->rle[i])) != RT_OK) return st;
            int16_t l = rows->label[k];
            b->res[i] = (merge_object){.id = rows->track_id[k],
                                       .cls = l >= 0 && (size_t)l < n_labels ? label_cls[l] : 0,
                                       .score = rows->score[k],
                                       .mask = &b->rle[i]};
        }
        merge_frame fr = {b->gt, gf->n_objects, b->res, nres};
        if ((st = merge_video_add_frame(mv, &fr)) != RT_OK)
            return rt_error_set(st, "video %s frame %lld: %s", vid, (long long)f, rt_error());
        *n_masks += gf->n_objects + nres;
    }
    return RT_OK;
}

struct merge_evaluator {
    const shard_dataset *ds;
    merge_archive *ar;
    merge_eval_params params;
    merge_metrics_params mp;
    merge_video *mv;
    eval_buf b;
    merge_archive_rows rows;
    int32_t *label_cls; // archive label -> ds class index + 1 (0: a class the dataset lacks)
    size_t n_labels;
};

void merge_evaluator_free(merge_evaluator **pev) {
    if (!pev || !*pev) return;
    merge_evaluator *ev = *pev;
    for (size_t i = 0; i < ev->b.rle_cap; i++) rt_rle_free(&ev->b.rle[i]);
    rt_free(ev->b.rle);
    rt_free(ev->b.gt);
    rt_free(ev->b.res);
    merge_archive_rows_free(&ev->rows);
    merge_video_free(&ev->mv);
    rt_free(ev->label_cls);
    rt_free(ev);
    *pev = NULL;
}

rt_status merge_evaluator_init(const shard_dataset *ds, merge_archive *ar,
                               const merge_eval_params *params, merge_evaluator **out) {
    *out = NULL;
    merge_evaluator *ev = rt_calloc(1, sizeof *ev);
    if (!ev) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    ev->ds = ds;
    ev->ar = ar;
    ev->params = *params;
    merge_archive_rows_init(&ev->rows);
    rt_status st = build_params(ds, params, &ev->mp);
    if (st != RT_OK) goto fail;
    ev->n_labels = merge_archive_num_classes(ar);
    ev->label_cls = rt_calloc(ev->n_labels + 1, sizeof *ev->label_cls);
    if (!ev->label_cls) {
        st = rt_error_set(RT_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < ev->n_labels; i++)
        ev->label_cls[i] = find_name(ds->classes, ds->n_classes, merge_archive_class(ar, i)) + 1;
    if ((st = merge_video_init(&ev->mv, &ev->mp)) != RT_OK) goto fail;
    *out = ev;
    return RT_OK;
fail:
    merge_evaluator_free(&ev);
    return st;
}

const merge_metrics_params *merge_evaluator_classes(const merge_evaluator *ev) { return &ev->mp; }

// Reads the archive's rows of dataset video `index` into ev->rows (none when the video is
// missing or failed there: *missing set and noted on the log).
static rt_status read_video_rows(merge_evaluator *ev, size_t index, const shard_gt *gt,
                                 bool *missing) {
    const shard_dataset_video *dv = &ev->ds->videos[index];
    long a = merge_archive_find(ev->ar, dv->id);
    ev->rows.n = 0;
    *missing = a < 0 || merge_archive_video_at(ev->ar, (size_t)a)->status != MERGE_VIDEO_OK;
    if (*missing) {
        if (ev->params.log)
            fprintf(ev->params.log, "eval: video %s has no results in the archive%s; all its "
                    "objects count as missed\n", dv->id, a < 0 ? "" : " (failed)");
        return RT_OK;
    }
    const merge_archive_video *av = merge_archive_video_at(ev->ar, (size_t)a);
    if (gt->n_objects > 0 && (av->height != gt->height || av->width != gt->width))
        return rt_error_set(RT_ERR_SHAPE, "video %s: results are %dx%d, ground truth %dx%d",
                            dv->id, av->width, av->height, gt->width, gt->height);
    return merge_archive_read_rows(ev->ar, (size_t)a, &ev->rows);
}

rt_status merge_evaluator_video(merge_evaluator *ev, size_t index, merge_video_result *out,
                                bool *missing, uint64_t *n_masks) {
    const shard_dataset_video *dv = &ev->ds->videos[index];
    RT_ASSERT(dv->has_gt);
    shard_gt *gt = NULL;
    rt_status st = shard_gt_load(ev->ds, index, &gt);
    if (st != RT_OK) return st;
    if ((st = read_video_rows(ev, index, gt, missing)) != RT_OK) goto done;
    merge_video_begin(ev->mv, (int64_t)index);
    if ((st = eval_video(ev->mv, &ev->b, gt, &ev->rows, ev->label_cls, ev->n_labels,
                         ev->params.protocol == MERGE_PROTOCOL_BDD100K, dv->id, n_masks)) != RT_OK)
        goto done;
    st = merge_video_finish(ev->mv, out);
done:
    shard_gt_free(&gt);
    return st;
}

// Archive videos the dataset has no ground truth for (noted on the log).
static size_t count_no_gt(const shard_dataset *ds, const merge_archive *ar, FILE *log) {
    size_t n = 0;
    for (size_t i = 0; i < merge_archive_num_videos(ar); i++) {
        const char *id = merge_archive_video_at(ar, i)->id;
        int64_t k = shard_dataset_find(ds, id);
        if (k >= 0 && ds->videos[k].has_gt) continue;
        n++;
        if (log) fprintf(log, "eval: archive video %s has no ground truth; skipped\n", id);
    }
    return n;
}

// ---- youtube-vis -------------------------------------------------------------------------------

typedef struct vis_buf {
    rt_rle *in, *out;                // [rle_cap] the rows' masks and their de-overlapped copies
    size_t rle_cap;
    const rt_rle **ptr;              // [n rows] de-overlap inputs
    double *score;                   // [n rows]
    int32_t *ids;                    // sorted distinct track ids (GT, then results)
    const rt_rle **masks;            // [tracks × annotated frames]
    merge_vis_track *tracks;         // GT tracks, then result tracks
    int16_t *lab;                    // one track's labels / scores
    float *sc;
    size_t ptr_cap, score_cap, ids_cap, masks_cap, tracks_cap, lab_cap, sc_cap;
} vis_buf;

static void vis_buf_free(vis_buf *b) {
    for (size_t i = 0; i < b->rle_cap; i++) {
        rt_rle_free(&b->in[i]);
        rt_rle_free(&b->out[i]);
    }
    rt_free(b->in);
    rt_free(b->out);
    rt_free(b->ptr);
    rt_free(b->score);
    rt_free(b->ids);
    rt_free(b->masks);
    rt_free(b->tracks);
    rt_free(b->lab);
    rt_free(b->sc);
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

// Sorts ids[0..n) and drops repeats; returns the number left.
static size_t unique_i32(int32_t *ids, size_t n) {
    if (n == 0) return 0;
    qsort(ids, n, sizeof *ids, cmp_i32);
    size_t m = 1;
    for (size_t i = 1; i < n; i++)
        if (ids[i] != ids[m - 1]) ids[m++] = ids[i];
    return m;
}

static size_t find_i32(const int32_t *ids, size_t n, int32_t id) {
    const int32_t *p = bsearch(&id, ids, n, sizeof *ids, cmp_i32);
    RT_ASSERT(p != NULL);
    return (size_t)(p - ids);
}

static bool is_metric_class(const merge_metrics_params *mp, int32_t cls) {
    for (size_t i = 0; i < mp->n_classes; i++)
        if (mp->class_id[i] == cls) return true;
    return false;
}

// The video's GT track ids, sorted, into b->ids[0..*ng), with room for n_more ids after them.
static rt_status vis_gt_ids(vis_buf *b, const shard_gt *gt, size_t n_more, size_t *ng) {
    rt_status st = grow((void **)&b->ids, &b->ids_cap, gt->n_objects + n_more + 1, sizeof *b->ids);
    if (st != RT_OK) return st;
    size_t n = 0;
    for (size_t i = 0; i < gt->n_objects; i++) {
        const shard_gt_object *o = &gt->objects[i];
        if (o->class_index >= 0 && (!o->ignore || o->crowd)) b->ids[n++] = o->track_id;
    }
    *ng = unique_i32(b->ids, n);
    return RT_OK;
}

// Sizes the tracks for ng GT and nr result tracks over the na annotated frames (every mask
// NULL) and fills the GT tracks' class and masks.
static rt_status vis_tracks(vis_buf *b, const shard_gt *gt, size_t ng, size_t nr, size_t na,
                            uint64_t *n_masks) {
    size_t nt = ng + nr;
    rt_status st;
    if ((st = grow((void **)&b->tracks, &b->tracks_cap, nt + 1, sizeof *b->tracks)) != RT_OK ||
        (st = grow((void **)&b->masks, &b->masks_cap, nt * na + 1, sizeof *b->masks)) != RT_OK)
        return st;
    for (size_t i = 0; i < nt * na; i++) b->masks[i] = NULL;
    for (size_t t = 0; t < nt; t++)
        b->tracks[t] = (merge_vis_track){.cls = 0, .avg_area = -1, .masks = b->masks + t * na,
                                         .n_frames = na};
    size_t pos = 0;
    for (int64_t f = 0; f < gt->n_frames; f++) {
        const shard_gt_frame *gf = &gt->frames[f];
        if (!gf->annotated) continue;
        for (size_t i = 0; i < gf->n_objects; i++) {
            const shard_gt_object *o = &gf->objects[i];
            if (o->class_index < 0 || (o->ignore && !o->crowd)) continue;
            size_t ti = find_i32(b->ids, ng, o->track_id);
            b->tracks[ti].cls = o->class_index + 1;
            b->tracks[ti].iscrowd = o->crowd;
            b->masks[ti * na + pos] = &o->mask;
            (*n_masks)++;
        }
        pos++;
    }
    return RT_OK;
}

// Adds the video's GT tracks b->tracks[0..ng) and result tracks [ng, ng+nr), keeping those of
// evaluated classes (YTVOSeval only looks at the GT's categories).
static rt_status vis_add(merge_vis *e, vis_buf *b, const merge_metrics_params *mp, size_t ng,
                         size_t nr, int64_t index, const char *vid) {
    size_t kg = 0, kr = 0;
    for (size_t t = 0; t < ng; t++)
        if (is_metric_class(mp, b->tracks[t].cls)) b->tracks[kg++] = b->tracks[t];
    for (size_t t = ng; t < ng + nr; t++)
        if (is_metric_class(mp, b->tracks[t].cls)) b->tracks[kg + kr++] = b->tracks[t];
    rt_status st = merge_vis_add_video(e, index, b->tracks, kg, b->tracks + kg, kr);
    if (st != RT_OK) return rt_error_wrap(st, "video %s", vid);
    return RT_OK;
}

static size_t annotated_frames(const shard_gt *gt) {
    size_t na = 0;
    for (int64_t f = 0; f < gt->n_frames; f++) na += gt->frames[f].annotated;
    return na;
}

// One video's GT and archive result tracks into the VIS evaluator (see evaluate.h for the
// rules).
static rt_status eval_vis_video(merge_vis *e, vis_buf *b, const merge_metrics_params *mp,
                                const shard_gt *gt, const merge_archive_rows *rows,
                                const int32_t *label_cls, size_t n_labels, int64_t index,
                                const char *vid, uint64_t *n_masks) {
    rt_status st;
    size_t na = annotated_frames(gt), n = (size_t)rows->n, ng;
    if ((st = vis_gt_ids(b, gt, n, &ng)) != RT_OK) return st;
    int32_t *rid = b->ids + ng;
    for (size_t i = 0; i < n; i++) rid[i] = rows->track_id[i];
    size_t nr = unique_i32(rid, n);
    if ((st = vis_tracks(b, gt, ng, nr, na, n_masks)) != RT_OK ||
        (st = grow((void **)&b->ptr, &b->ptr_cap, n + 1, sizeof *b->ptr)) != RT_OK ||
        (st = grow((void **)&b->score, &b->score_cap, n + 1, sizeof *b->score)) != RT_OK)
        return st;
    if (n + 1 > b->rle_cap) {
        size_t old = b->rle_cap, cap2 = old;
        if ((st = grow((void **)&b->in, &cap2, n + 1, sizeof *b->in)) != RT_OK) return st;
        cap2 = old;
        if ((st = grow((void **)&b->out, &cap2, n + 1, sizeof *b->out)) != RT_OK) return st;
        for (size_t i = old; i < cap2; i++) {
            rt_rle_init(&b->in[i]);
            rt_rle_init(&b->out[i]);
        }
        b->rle_cap = cap2;
    }
    // Result masks: every frame's rows de-overlapped by score, then kept on annotated frames.
    uint64_t r = 0;
    size_t pos = 0;
    for (int64_t f = 0; f < gt->n_frames; f++) {
        uint64_t first = r;
        while (r < rows->n && rows->frame[r] < f) first = ++r;
        while (r < rows->n && rows->frame[r] == f) r++;
        if (!gt->frames[f].annotated) continue;
        size_t k = (size_t)(r - first);
        for (size_t i = 0; i < k; i++) {
            uint64_t row = first + i;
            if ((st = row_mask(rows, row, gt, vid, f, i, &b->in[row])) != RT_OK) return st;
            b->ptr[i] = &b->in[row];
            b->score[i] = rows->score[row];
        }
        if (k > 0 && (st = merge_masks_deoverlap(b->ptr, b->score, k, &b->out[first])) != RT_OK)
            return rt_error_set(st, "video %s frame %lld: %s", vid, (long long)f, rt_error());
        for (size_t i = 0; i < k; i++) {
            size_t ti = ng + find_i32(rid, nr, rows->track_id[first + i]);
            b->masks[ti * na + pos] = &b->out[first + i];
        }
        *n_masks += k;
        pos++;
    }
    // Result categories and scores over all the track's rows.
    for (size_t t = 0; t < nr; t++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) m += rows->track_id[i] == rid[t];
        if ((st = grow((void **)&b->lab, &b->lab_cap, m, sizeof *b->lab)) != RT_OK ||
            (st = grow((void **)&b->sc, &b->sc_cap, m, sizeof *b->sc)) != RT_OK)
            return st;
        m = 0;
        for (size_t i = 0; i < n; i++)
            if (rows->track_id[i] == rid[t]) {
                b->lab[m] = rows->label[i];
                b->sc[m++] = rows->score[i];
            }
        int16_t l;
        merge_vis_track_label_score(b->lab, b->sc, m, &l, &b->tracks[ng + t].score);
        b->tracks[ng + t].cls = l >= 0 && (size_t)l < n_labels ? label_cls[l] : 0;
    }
    return vis_add(e, b, mp, ng, nr, index, vid);
}

// Frame f of a VIS result track (NULL past its segmentations). Its size is the video's, which
// res_source_video checked against the ground truth.
static const rt_rle *vis_track_mask(const shard_vis_track *t, int64_t f) {
    return (size_t)f < t->n_frames ? t->masks[f] : NULL;
}

// One video's GT and the tracks of a YouTube-VIS results file into the VIS evaluator: each
// track as written (category, score, masks on the annotated frames), in file order.
static rt_status eval_vis_results_video(merge_vis *e, vis_buf *b, const merge_metrics_params *mp,
                                        const shard_gt *gt, const shard_vis_video *vv,
                                        int64_t index, const char *vid, uint64_t *n_masks) {
    rt_status st;
    size_t na = annotated_frames(gt), nr = vv ? vv->n_tracks : 0, ng;
    if ((st = vis_gt_ids(b, gt, 0, &ng)) != RT_OK ||
        (st = vis_tracks(b, gt, ng, nr, na, n_masks)) != RT_OK)
        return st;
    for (size_t t = 0; t < nr; t++) {
        const shard_vis_track *vt = &vv->tracks[t];
        merge_vis_track *mt = &b->tracks[ng + t];
        mt->cls = vt->class_index + 1;
        mt->score = vt->score;
        size_t pos = 0;
        for (int64_t f = 0; f < gt->n_frames; f++) {
            if (!gt->frames[f].annotated) continue;
            const rt_rle *m = vis_track_mask(vt, f);
            b->masks[(ng + t) * na + pos++] = m;
            *n_masks += m != NULL;
        }
    }
    return vis_add(e, b, mp, ng, nr, index, vid);
}

// The youtube-vis evaluation: every video with ground truth in id order into one merge_vis.
static rt_status evaluate_vis(const shard_dataset *ds, merge_archive *ar,
                              const merge_eval_params *params, merge_eval_summary *s) {
    merge_evaluator *ev = NULL;
    merge_vis *ve = NULL;
    vis_buf vb = {0};
    shard_gt *gt = NULL;
    rt_status st = merge_evaluator_init(ds, ar, params, &ev);
    if (st != RT_OK) return st;
    const merge_metrics_params *mp = merge_evaluator_classes(ev);
    merge_totals_init(&s->totals, mp);
    if ((st = merge_vis_init(&ve, mp->class_id, mp->n_classes)) != RT_OK) goto fail;
    for (size_t v = 0; v < ds->n_videos; v++) {
        const shard_dataset_video *dv = &ds->videos[v];
        if (!dv->has_gt) continue;
        if ((st = shard_gt_load(ds, v, &gt)) != RT_OK) goto fail;
        bool missing;
        if ((st = read_video_rows(ev, v, gt, &missing)) != RT_OK) goto fail;
        if ((st = eval_vis_video(ve, &vb, mp, gt, &ev->rows, ev->label_cls, ev->n_labels,
                                 (int64_t)v, dv->id, &s->n_masks)) != RT_OK)
            goto fail;
        s->n_videos++;
        s->n_missing += missing;
        shard_gt_free(&gt);
    }
    st = merge_vis_summarize(ve, &s->vis);
fail:
    shard_gt_free(&gt);
    merge_vis_free(&ve);
    vis_buf_free(&vb);
    merge_evaluator_free(&ev);
    return st;
}

static void summary_init(const shard_dataset *ds, const merge_eval_params *params,
                         merge_eval_summary *s) {
    s->protocol = params->protocol;
    s->combine_classes = ds->format != SHARD_FMT_KITTI_MOTS && ds->format != SHARD_FMT_MOTS20;
    for (int i = 0; i < MERGE_VIS_NSTATS; i++) s->vis.v[i] = -1;
}

rt_status merge_evaluate(const shard_dataset *ds, merge_archive *ar, const merge_eval_params *params,
                         merge_eval_summary **out) {
    *out = NULL;
    merge_evaluator *ev = NULL;
    merge_eval_summary *s = rt_calloc(1, sizeof *s);
    merge_video_result *res = rt_calloc(1, sizeof *res);
    rt_status st = RT_OK;
    if (!s || !res) {
        st = rt_error_set(RT_ERR_NOMEM, "out of memory");
        goto fail;
    }
    summary_init(ds, params, s);
    if (params->protocol == MERGE_PROTOCOL_YOUTUBE_VIS) {
        if ((st = evaluate_vis(ds, ar, params, s)) != RT_OK) goto fail;
        s->n_no_gt = count_no_gt(ds, ar, params->log);
        *out = s;
        s = NULL;
        goto fail;
    }
    if ((st = merge_evaluator_init(ds, ar, params, &ev)) != RT_OK) goto fail;
    const merge_metrics_params *mp = merge_evaluator_classes(ev);
    merge_totals_init(&s->totals, mp);
    for (size_t v = 0; v < ds->n_videos; v++) {
        if (!ds->videos[v].has_gt) continue;
        bool missing;
        if ((st = merge_evaluator_video(ev, v, res, &missing, &s->n_masks)) != RT_OK) goto fail;
        merge_totals_add(&s->totals, res);
        if (params->on_video) params->on_video(params->ctx, ds->videos[v].id, mp, res);
        s->n_videos++;
        s->n_missing += missing;
    }
    s->n_no_gt = count_no_gt(ds, ar, params->log);
    *out = s;
    s = NULL;
fail:
    merge_evaluator_free(&ev);
    rt_free(res);
    rt_free(s);
    return st;
}

// ---- Collective -------------------------------------------------------------------------------

// Videos per rank per round: bounds rank 0's receive buffer to ROUND x ranks results.
#define ROUND 64

// A result as bytes: video id, frames, then the protocol's per-class part for the evaluated
// classes only (a few KB instead of the whole fixed-size struct).
static size_t packed_size(const merge_metrics_params *mp) {
    size_t per = mp->protocol == MERGE_PROTOCOL_BDD100K ? sizeof(merge_bdd_seq) : sizeof(merge_te_seq);
    return 16 + per * mp->n_classes;
}

static void pack(const merge_metrics_params *mp, const merge_video_result *r, uint8_t *out) {
    memcpy(out, &r->video_id, 8);
    memcpy(out + 8, &r->frames, 8);
    if (mp->protocol == MERGE_PROTOCOL_BDD100K)
        memcpy(out + 16, r->bdd, sizeof(merge_bdd_seq) * mp->n_classes);
    else
        memcpy(out + 16, r->te, sizeof(merge_te_seq) * mp->n_classes);
}

static void unpack(const merge_metrics_params *mp, const uint8_t *in, merge_video_result *r) {
    memset(r, 0, sizeof *r);
    memcpy(&r->video_id, in, 8);
    memcpy(&r->frames, in + 8, 8);
    if (mp->protocol == MERGE_PROTOCOL_BDD100K)
        memcpy(r->bdd, in + 16, sizeof(merge_bdd_seq) * mp->n_classes);
    else
        memcpy(r->te, in + 16, sizeof(merge_te_seq) * mp->n_classes);
}

// youtube-vis on a communicator: rank 0 runs the serial evaluation and broadcasts the summary
// (plain data). YTVOSeval ranks the detections of a category over all videos, so the per-video
// step is not a self-contained result to fold as the other protocols' are; one rank keeps it
// simple and gives merge_evaluate's doubles by construction.
static rt_status vis_collective(const shard_dataset *ds, const char *archive_path,
                                const merge_eval_params *params, MPI_Comm comm,
                                merge_eval_summary **out) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    merge_eval_summary *s = NULL;
    rt_status st = RT_OK;
    if (rank == 0) {
        merge_archive *ar = NULL;
        st = merge_archive_open(archive_path, &ar);
        if (st == RT_OK) st = merge_evaluate(ds, ar, params, &s);
        merge_archive_close(&ar);
    } else if (!(s = rt_calloc(1, sizeof *s))) {
        st = rt_error_set(RT_ERR_NOMEM, "out of memory");
    }
    if ((st = shard_mpi_agree(st, comm)) != RT_OK) goto fail;
    if (MPI_Bcast(s, (int)sizeof *s, MPI_BYTE, 0, comm) != MPI_SUCCESS)
        st = rt_error_set(RT_ERR_MPI, "metrics: MPI_Bcast failed");
    if ((st = shard_mpi_agree(st, comm)) != RT_OK) goto fail;
    *out = s;
    s = NULL;
fail:
    merge_eval_summary_free(&s);
    return st;
}

rt_status merge_evaluate_collective(const shard_dataset *ds, const char *archive_path,
                                    const merge_eval_params *params, MPI_Comm comm,
                                    merge_eval_summary **out) {
    *out = NULL;
    if (params->protocol == MERGE_PROTOCOL_YOUTUBE_VIS)
        return vis_collective(ds, archive_path, params, comm, out);
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    merge_archive *ar = NULL;
    merge_evaluator *ev = NULL;
    merge_eval_summary *s = rt_calloc(1, sizeof *s);
    merge_video_result *res = rt_calloc(1, sizeof *res);
    size_t *todo = rt_calloc(ds->n_videos + 1, sizeof *todo);
    uint8_t *mine = NULL, *all = NULL;
    int *counts = rt_calloc((size_t)size, sizeof *counts), *displs = rt_calloc((size_t)size, sizeof *displs);
    rt_status st = RT_OK;
    if (!s || !res || !todo || !counts || !displs) st = rt_error_set(RT_ERR_NOMEM, "out of memory");
    if (st == RT_OK) summary_init(ds, params, s);
    if (st == RT_OK) st = merge_archive_open(archive_path, &ar);
    if (st == RT_OK) st = merge_evaluator_init(ds, ar, params, &ev);
    size_t rec = 0;
    if (st == RT_OK) {
        rec = packed_size(merge_evaluator_classes(ev));
        mine = rt_malloc(rec * ROUND);
        if (rank == 0) all = rt_malloc(rec * ROUND * (size_t)size);
        if (!mine || (rank == 0 && !all)) st = rt_error_set(RT_ERR_NOMEM, "out of memory");
    }
    if ((st = shard_mpi_agree(st, comm)) != RT_OK) goto fail;
    const merge_metrics_params *mp = merge_evaluator_classes(ev);
    merge_totals_init(&s->totals, mp);
    size_t n = 0;
    for (size_t v = 0; v < ds->n_videos; v++)
        if (ds->videos[v].has_gt) todo[n++] = v;
    // Round k covers todo[k·R·size, (k+1)·R·size); rank r evaluates the r-th block of R, so
    // rank order within a round is video-id order.
    size_t per_round = (size_t)ROUND * (size_t)size;
    for (size_t base = 0; base < n; base += per_round) {
        size_t lo = base + (size_t)rank * ROUND, hi = RT_MIN(lo + ROUND, n), k = 0;
        uint64_t masks = 0;
        size_t missing = 0;
        for (size_t i = lo; i < hi && st == RT_OK; i++, k++) {
            bool miss = false;
            st = merge_evaluator_video(ev, todo[i], res, &miss, &masks);
            if (st == RT_OK) pack(mp, res, mine + k * rec);
            missing += miss;
        }
        if ((st = shard_mpi_agree(st, comm)) != RT_OK) goto fail;
        for (int r = 0; r < size; r++) {
            size_t rlo = base + (size_t)r * ROUND, rhi = RT_MIN(rlo + ROUND, n);
            counts[r] = rlo < rhi ? (int)((rhi - rlo) * rec) : 0;
            displs[r] = r ? displs[r - 1] + counts[r - 1] : 0;
        }
        unsigned long long sums[2] = {masks, missing}, tot[2] = {0, 0};
        if (MPI_Gatherv(mine, counts[rank], MPI_BYTE, all, counts, displs, MPI_BYTE, 0, comm) !=
                MPI_SUCCESS ||
            MPI_Reduce(sums, tot, 2, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, comm) != MPI_SUCCESS) {
            st = rt_error_set(RT_ERR_MPI, "metrics: gathering the per-video results failed");
            goto fail;
        }
        if (rank != 0) continue;
        s->n_masks += tot[0];
        s->n_missing += (size_t)tot[1];
        size_t got = (size_t)(displs[size - 1] + counts[size - 1]) / rec;
        for (size_t i = 0; i < got; i++) {
            unpack(mp, all + i * rec, res);
            merge_totals_add(&s->totals, res);
            if (params->on_video) params->on_video(params->ctx, ds->videos[todo[base + i]].id, mp, res);
            s->n_videos++;
        }
    }
    if (rank == 0) s->n_no_gt = count_no_gt(ds, ar, params->log);
    if (MPI_Bcast(s, (int)sizeof *s, MPI_BYTE, 0, comm) != MPI_SUCCESS)
        st = rt_error_set(RT_ERR_MPI, "metrics: MPI_Bcast failed");
    if ((st = shard_mpi_agree(st, comm)) != RT_OK) goto fail;
    *out = s;
    s = NULL;
fail:
    merge_evaluator_free(&ev);
    merge_archive_close(&ar);
    rt_free(mine);
    rt_free(all);
    rt_free(counts);
    rt_free(displs);
    rt_free(todo);
    rt_free(res);
    rt_free(s);
    return st;
}

// ---- Results read by a reader (an export) -----------------------------------------------------

// Where the results of merge_evaluate_dataset / merge_evaluate_vis_results come from, and the
// current video's.
typedef struct res_source {
    const shard_dataset *res;       // a dataset reader's results, or
    const shard_vis_results *vis;   // a YouTube-VIS results file
    int32_t *res_cls;               // res's class index -> ds class index + 1 (0: none)
    shard_gt *rg;                   // the current video's (res)
    shard_vis_video *vv;            // the current video's (vis)
} res_source;

static void res_source_end_video(res_source *src) {
    shard_gt_free(&src->rg);
    shard_vis_video_free(&src->vv);
}

// Loads the results of dataset video v (*missing: none there, for a dataset reader).
static rt_status res_source_video(res_source *src, const shard_dataset *ds, size_t v,
                                  const shard_gt *gt, const merge_eval_params *params,
                                  bool *missing) {
    const char *id = ds->videos[v].id;
    *missing = false;
    if (src->vis) {
        // A results file cannot tell a missing video from one without tracks: neither is noted.
        rt_status st = shard_vis_results_load(src->vis, v, &src->vv);
        if (st != RT_OK) return st;
        if (gt->n_objects > 0 && src->vv->n_tracks > 0 && src->vv->height > 0 &&
            (src->vv->height != gt->height || src->vv->width != gt->width))
            return rt_error_set(RT_ERR_SHAPE, "video %s: results are %dx%d, ground truth %dx%d",
                                id, src->vv->width, src->vv->height, gt->width, gt->height);
        return RT_OK;
    }
    int64_t a = shard_dataset_find(src->res, id);
    if (a < 0 || !src->res->videos[a].has_gt) {
        *missing = true;
        if (params->log)
            fprintf(params->log, "eval: video %s has no results; all its objects count as "
                    "missed\n", id);
        return RT_OK;
    }
    rt_status st = shard_gt_load(src->res, (size_t)a, &src->rg);
    if (st != RT_OK) return st;
    const shard_gt *rg = src->rg;
    if (gt->n_objects > 0 && rg->n_objects > 0 &&
        (rg->height != gt->height || rg->width != gt->width))
        return rt_error_set(RT_ERR_SHAPE, "video %s: results are %dx%d, ground truth %dx%d", id,
                            rg->width, rg->height, gt->width, gt->height);
    return RT_OK;
}

// The current video's results as merge objects of frame f. Dataset readers: their objects
// (ignore regions and objects of other classes left out), score 0; VIS tracks: the tracks with
// a mask there, id = position in the file's list for the video + 1, their category and score.
// Either way the masks are an export's, de-overlapped already, so no mask is cut.
static rt_status res_source_frame(res_source *src, eval_buf *b, int64_t f, size_t *n) {
    *n = 0;
    if (src->vv) {
        const shard_vis_video *vv = src->vv;
        rt_status st = grow((void **)&b->res, &b->res_cap, vv->n_tracks, sizeof *b->res);
        if (st != RT_OK) return st;
        for (size_t t = 0; t < vv->n_tracks; t++) {
            const shard_vis_track *vt = &vv->tracks[t];
            const rt_rle *m = vis_track_mask(vt, f);
            if (!m || vt->class_index < 0) continue;
            b->res[(*n)++] = (merge_object){.id = (int32_t)t + 1, .cls = vt->class_index + 1,
                                            .score = vt->score, .mask = m};
        }
        return RT_OK;
    }
    const shard_gt *rg = src->rg;
    if (!rg || f >= rg->n_frames) return RT_OK;
    const shard_gt_frame *rf = &rg->frames[f];
    rt_status st = grow((void **)&b->res, &b->res_cap, rf->n_objects, sizeof *b->res);
    if (st != RT_OK) return st;
    for (size_t i = 0; i < rf->n_objects; i++) {
        const shard_gt_object *o = &rf->objects[i];
        if (o->ignore || o->class_index < 0) continue;
        b->res[(*n)++] = (merge_object){.id = o->track_id, .cls = src->res_cls[o->class_index],
                                        .mask = &o->mask};
    }
    return RT_OK;
}

// youtube-vis over a results file: every video with ground truth in id order.
static rt_status evaluate_vis_file(const shard_dataset *ds, res_source *src,
                                   const merge_metrics_params *mp, const merge_eval_params *params,
                                   merge_eval_summary *s) {
    merge_vis *ve = NULL;
    vis_buf vb = {0};
    shard_gt *gt = NULL;
    rt_status st = merge_vis_init(&ve, mp->class_id, mp->n_classes);
    for (size_t v = 0; v < ds->n_videos && st == RT_OK; v++) {
        const shard_dataset_video *dv = &ds->videos[v];
        if (!dv->has_gt) continue;
        bool missing;
        if ((st = shard_gt_load(ds, v, &gt)) != RT_OK ||
            (st = res_source_video(src, ds, v, gt, params, &missing)) != RT_OK ||
            (st = eval_vis_results_video(ve, &vb, mp, gt, src->vv, (int64_t)v, dv->id,
                                         &s->n_masks)) != RT_OK)
            break;
        s->n_videos++;
        shard_gt_free(&gt);
        res_source_end_video(src);
    }
    if (st == RT_OK) st = merge_vis_summarize(ve, &s->vis);
    shard_gt_free(&gt);
    res_source_end_video(src);
    merge_vis_free(&ve);
    vis_buf_free(&vb);
    return st;
}

// trackeval / bdd100k over results from a reader: frame by frame as merge_evaluate does.
static rt_status evaluate_frames(const shard_dataset *ds, res_source *src,
                                 const merge_metrics_params *mp, const merge_eval_params *params,
                                 merge_eval_summary *s) {
    merge_video *mv = NULL;
    merge_video_result *vr = rt_calloc(1, sizeof *vr);
    eval_buf b = {0};
    shard_gt *gt = NULL;
    rt_status st = vr ? merge_video_init(&mv, mp) : rt_error_set(RT_ERR_NOMEM, "out of memory");
    for (size_t v = 0; v < ds->n_videos && st == RT_OK; v++) {
        const shard_dataset_video *dv = &ds->videos[v];
        if (!dv->has_gt) continue;
        bool missing;
        if ((st = shard_gt_load(ds, v, &gt)) != RT_OK ||
            (st = res_source_video(src, ds, v, gt, params, &missing)) != RT_OK)
            break;
        s->n_missing += missing;
        merge_video_begin(mv, (int64_t)v);
        for (int64_t f = 0; f < gt->n_frames; f++) {
            const shard_gt_frame *gf = &gt->frames[f];
            if (!gf->annotated) continue;
            size_t nres;
            if ((st = grow((void **)&b.gt, &b.gt_cap, gf->n_objects, sizeof *b.gt)) != RT_OK ||
                (st = res_source_frame(src, &b, f, &nres)) != RT_OK)
                goto fail;
            for (size_t i = 0; i < gf->n_objects; i++) {
                const shard_gt_object *o = &gf->objects[i];
                b.gt[i] = (merge_object){.id = o->track_id,
                                         .cls = o->class_index + 1,
                                         .ignore = o->ignore || (params->protocol ==
                                                                     MERGE_PROTOCOL_BDD100K &&
                                                                 o->crowd),
                                         .mask = &o->mask};
            }
            merge_frame fr = {b.gt, gf->n_objects, b.res, nres};
            if ((st = merge_video_add_frame(mv, &fr)) != RT_OK) {
                rt_error_wrap(st, "video %s frame %lld", dv->id, (long long)f);
                goto fail;
            }
            s->n_masks += gf->n_objects + nres;
        }
        if ((st = merge_video_finish(mv, vr)) != RT_OK) break;
        merge_totals_add(&s->totals, vr);
        if (params->on_video) params->on_video(params->ctx, dv->id, mp, vr);
        s->n_videos++;
        shard_gt_free(&gt);
        res_source_end_video(src);
    }
fail:
    shard_gt_free(&gt);
    res_source_end_video(src);
    rt_free(b.rle);
    rt_free(b.gt);
    rt_free(b.res);
    merge_video_free(&mv);
    rt_free(vr);
    return st;
}

static rt_status evaluate_source(const shard_dataset *ds, res_source *src,
                                 const merge_eval_params *params, merge_eval_summary **out) {
    *out = NULL;
    merge_metrics_params mp;
    rt_status st = build_params(ds, params, &mp);
    if (st != RT_OK) return st;
    merge_eval_summary *s = rt_calloc(1, sizeof *s);
    if (!s) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    summary_init(ds, params, s);
    merge_totals_init(&s->totals, &mp);
    if (params->protocol == MERGE_PROTOCOL_YOUTUBE_VIS)
        st = evaluate_vis_file(ds, src, &mp, params, s);
    else
        st = evaluate_frames(ds, src, &mp, params, s);
    if (st != RT_OK) {
        rt_free(s);
        return st;
    }
    *out = s;
    return RT_OK;
}

rt_status merge_evaluate_dataset(const shard_dataset *ds, const shard_dataset *res,
                                 const merge_eval_params *params, merge_eval_summary **out) {
    *out = NULL;
    if (params->protocol == MERGE_PROTOCOL_YOUTUBE_VIS)
        return rt_error_set(RT_ERR_CONFIG, "results read from a dataset folder are evaluated with "
                            "the trackeval or bdd100k protocol, not youtube-vis (youtube-vis "
                            "results are a youtube-vis results file)");
    res_source src = {.res = res};
    if (!(src.res_cls = rt_calloc(res->n_classes + 1, sizeof *src.res_cls)))
        return rt_error_set(RT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < res->n_classes; i++)
        src.res_cls[i] = find_name(ds->classes, ds->n_classes, res->classes[i]) + 1;
    rt_status st = evaluate_source(ds, &src, params, out);
    rt_free(src.res_cls);
    if (st != RT_OK) return st;
    for (size_t i = 0; i < res->n_videos; i++) {
        int64_t k = shard_dataset_find(ds, res->videos[i].id);
        if (k >= 0 && ds->videos[k].has_gt) continue;
        (*out)->n_no_gt++;
        if (params->log)
            fprintf(params->log, "eval: result video %s has no ground truth; skipped\n",
                    res->videos[i].id);
    }
    return RT_OK;
}

rt_status merge_evaluate_vis_results(const shard_dataset *ds, const shard_vis_results *res,
                                     const merge_eval_params *params, merge_eval_summary **out) {
    res_source src = {.vis = res};
    rt_status st = evaluate_source(ds, &src, params, out);
    if (st != RT_OK) return st;
    size_t n = shard_vis_results_unmatched(res);
    if (n && params->log)
        fprintf(params->log, "eval: %s: %zu tracks of video ids that are no dataset video with "
                "ground truth; skipped\n", shard_vis_results_file(res), n);
    return RT_OK;
}
