// The dataset/archive → metrics adapter (see evaluate.h).
#include "merge/evaluate.h"

#include <stdio.h>
#include <string.h>

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

// The classes to evaluate, with class_id = dataset class index + 1: for trackeval every class
// of the dataset (TrackEval's formulas per class; KITTI-MOTS/MOTS20 datasets have just car and
// pedestrian), for bdd100k the protocol's 8 classes.
static rt_status build_params(const shard_dataset *ds, merge_protocol protocol,
                              merge_metrics_params *out) {
    merge_metrics_params d = merge_metrics_default_params(protocol);
    merge_metrics_params p = d;
    p.n_classes = 0;
    if (protocol == MERGE_PROTOCOL_TRACKEVAL) {
        for (size_t k = 0; k < ds->n_classes && p.n_classes < MERGE_MAX_CLASSES; k++) {
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
        int k = find_name(ds->classes, ds->n_classes, d.class_name[i]);
        if (k < 0 && protocol == MERGE_PROTOCOL_TRACKEVAL) continue;
        size_t j = p.n_classes++;
        memcpy(p.class_name[j], d.class_name[i], MERGE_NAME_MAX);
        // BDD keeps all 8 rows (scalabel reports absent classes too); an absent class matches
        // nothing.
        p.class_id[j] = k >= 0 ? k + 1 : -1000 - (int32_t)i;
        p.group_of_class[j] = d.group_of_class[i];
    }
    if (p.n_classes == 0)
        return rt_error_set(RT_ERR_CONFIG, "none of the dataset's classes is evaluated by the %s "
                            "protocol (it evaluates %s%s%s)",
                            protocol == MERGE_PROTOCOL_TRACKEVAL ? "trackeval" : "bdd100k",
                            d.class_name[0], d.n_classes > 1 ? ", " : "",
                            d.n_classes > 1 ? d.class_name[1] : "");
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
            const uint32_t *c = rows->rle + rows->rle_start[k];
            size_t nc = (size_t)(rows->rle_start[k + 1] - rows->rle_start[k]);
            if ((st = rt_rle_set_counts(&b->rle[i], (uint32_t)gt->height, (uint32_t)gt->width, c,
                                        nc)) != RT_OK)
                return rt_error_set(st, "video %s frame %lld result %zu: %s", vid, (long long)f, i,
                                    rt_error());
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

rt_status merge_evaluate(const shard_dataset *ds, merge_archive *ar, const merge_eval_params *params,
                         merge_eval_summary **out) {
    *out = NULL;
    merge_metrics_params mp;
    rt_status st = build_params(ds, params->protocol, &mp);
    if (st != RT_OK) return st;
    merge_eval_summary *s = rt_calloc(1, sizeof *s);
    merge_video *mv = NULL;
    merge_video_result *res = rt_calloc(1, sizeof *res);
    eval_buf b = {0};
    merge_archive_rows rows;
    merge_archive_rows_init(&rows);
    shard_gt *gt = NULL;
    size_t n_labels = merge_archive_num_classes(ar);
    int32_t *label_cls = rt_calloc(n_labels + 1, sizeof *label_cls);
    if (!s || !res || !label_cls) {
        st = RT_ERR_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n_labels; i++) {
        int k = find_name(ds->classes, ds->n_classes, merge_archive_class(ar, i));
        label_cls[i] = k + 1; // 0: a class the dataset does not have
    }
    merge_totals_init(&s->totals, &mp);
    if ((st = merge_video_init(&mv, &mp)) != RT_OK) goto fail;
    for (size_t v = 0; v < ds->n_videos; v++) {
        const shard_dataset_video *dv = &ds->videos[v];
        if (!dv->has_gt) continue;
        if ((st = shard_gt_load(ds, v, &gt)) != RT_OK) goto fail;
        long a = merge_archive_find(ar, dv->id);
        rows.n = 0;
        if (a < 0 || merge_archive_video_at(ar, (size_t)a)->status != MERGE_VIDEO_OK) {
            s->n_missing++;
            if (params->log)
                fprintf(params->log, "eval: video %s has no results in the archive%s; all its "
                        "objects count as missed\n", dv->id, a < 0 ? "" : " (failed)");
        } else {
            const merge_archive_video *av = merge_archive_video_at(ar, (size_t)a);
            if (gt->n_objects > 0 && (av->height != gt->height || av->width != gt->width)) {
                st = rt_error_set(RT_ERR_SHAPE, "video %s: results are %dx%d, ground truth %dx%d",
                                  dv->id, av->width, av->height, gt->width, gt->height);
                goto fail;
            }
            if ((st = merge_archive_read_rows(ar, (size_t)a, &rows)) != RT_OK) goto fail;
        }
        merge_video_begin(mv, (int64_t)v);
        if ((st = eval_video(mv, &b, gt, &rows, label_cls, n_labels,
                             params->protocol == MERGE_PROTOCOL_BDD100K, dv->id, &s->n_masks)) != RT_OK ||
            (st = merge_video_finish(mv, res)) != RT_OK)
            goto fail;
        merge_totals_add(&s->totals, res);
        if (params->on_video) params->on_video(params->ctx, dv->id, &mp, res);
        s->n_videos++;
        shard_gt_free(&gt);
    }
    for (size_t i = 0; i < merge_archive_num_videos(ar); i++) {
        const char *id = merge_archive_video_at(ar, i)->id;
        int64_t k = shard_dataset_find(ds, id);
        if (k >= 0 && ds->videos[k].has_gt) continue;
        s->n_no_gt++;
        if (params->log) fprintf(params->log, "eval: archive video %s has no ground truth; skipped\n", id);
    }
    *out = s;
    s = NULL;
fail:
    shard_gt_free(&gt);
    for (size_t i = 0; i < b.rle_cap; i++) rt_rle_free(&b.rle[i]);
    rt_free(b.rle);
    rt_free(b.gt);
    rt_free(b.res);
    merge_archive_rows_free(&rows);
    merge_video_free(&mv);
    rt_free(res);
    rt_free(label_cls);
    rt_free(s);
    return st;
}
