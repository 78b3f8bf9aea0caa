// Dataset listing for every format, the class map, and the per-video ground-truth builder.
// The format readers live in ds_txt.c (KITTI MOTS, MOTS20, synth), ds_json.c (Scalabel,
// YouTube-VIS) and ds_png.c (BDD100K bitmasks).
#include <fnmatch.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "shard/datasets_internal.h"

static const char *const k_format_names[] = {
    [SHARD_FMT_VIDEOS] = "videos",
    [SHARD_FMT_FRAMES] = "frames",
    [SHARD_FMT_KITTI_MOTS] = "kitti-mots",
    [SHARD_FMT_MOTS20] = "mots20",
    [SHARD_FMT_BDD100K_MOTS] = "bdd100k-mots",
    [SHARD_FMT_YOUTUBE_VIS] = "youtube-vis",
    [SHARD_FMT_SYNTH] = "synth",
};

static const char *const k_video_exts[] = {"mp4", "mkv", "avi", "webm", "mov",
                                           "mpg", "mpeg", "m4v", NULL};
static const char *const k_json_exts[] = {"json", NULL};
static const char *const k_txt_exts[] = {"txt", NULL};

// bdd100k/configs/seg_track.toml order; bitmask R values are 1-based indices into it.
static const char *const k_bdd_classes[] = {"pedestrian", "rider", "car", "truck",
                                            "bus", "train", "motorcycle", "bicycle"};
// bdd100k_to_scalabel: name_mapping (plain aliases) and ignored_mapping (distractors that become
// ignore regions of the mapped class).
static const char *const k_bdd_alias[][2] = {
    {"bike", "bicycle"}, {"caravan", "car"}, {"motor", "motorcycle"},
    {"person", "pedestrian"}, {"van", "car"},
};
static const char *const k_bdd_distractor[][2] = {
    {"other person", "pedestrian"}, {"other vehicle", "car"}, {"trailer", "truck"},
};
static const char *const k_kitti_classes[] = {"car", "pedestrian"};
static const char *const k_mots20_classes[] = {"pedestrian"};

const char *shard_dataset_format_name(shard_dataset_format f) {
    if ((size_t)f < RT_COUNTOF(k_format_names)) return k_format_names[f];
    return "unknown";
}

rt_status shard_dataset_format_parse(const char *name, shard_dataset_format *out) {
    for (size_t i = 0; i < RT_COUNTOF(k_format_names); i++) {
        if (name && strcmp(name, k_format_names[i]) == 0) {
            *out = (shard_dataset_format)i;
            return RT_OK;
        }
    }
    return rt_error_set(RT_ERR_CONFIG,
                        "dataset.format '%s' is not one of videos, frames, kitti-mots, mots20, "
                        "bdd100k-mots, youtube-vis, synth",
                        name ? name : "(null)");
}

shard_dataset_params shard_dataset_default_params(void) {
    shard_dataset_params p;
    memset(&p, 0, sizeof p);
    p.format = SHARD_FMT_VIDEOS;
    p.require_sources = true;
    return p;
}

// ---------------------------------------------------------------------------------------------
// Classes

const shard_class_rule *shard_class_lookup(const shard_dataset *ds, const char *id,
                                           const char *name) {
    for (size_t i = 0; i < ds->n_rules; i++) {
        const char *k = ds->rules[i].key;
        if ((id && strcmp(k, id) == 0) || (name && strcmp(k, name) == 0)) return &ds->rules[i];
    }
    return NULL;
}

static int64_t class_find(const shard_dataset *ds, const char *name) {
    for (size_t i = 0; i < ds->n_classes; i++)
        if (strcmp(ds->classes[i], name) == 0) return (int64_t)i;
    return -1;
}


static rt_status rule_push(shard_dataset *ds, size_t *cap, const char *key, int32_t cls,
                           bool ignore) {
    if (ds->n_rules == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        shard_class_rule *r = rt_realloc(ds->rules, nc * sizeof *r);
        if (!r) return rt_error_set(RT_ERR_NOMEM, "out of memory building the class map");
        ds->rules = r;
        *cap = nc;
    }
    char *k = rt_strdup(key);
    if (!k) return rt_error_set(RT_ERR_NOMEM, "out of memory building the class map");
    ds->rules[ds->n_rules++] = (shard_class_rule){k, cls, ignore};
    return RT_OK;
}

// A default entry: its class may be missing from the job's list, then its objects are dropped.
static rt_status rule_default(shard_dataset *ds, size_t *cap, const char *key, const char *cls,
                              bool ignore) {
    int64_t c = class_find(ds, cls);
    return rule_push(ds, cap, key, c < 0 ? SHARD_CLASS_DROP : (int32_t)c, ignore);
}

static rt_status set_class_list(shard_dataset *ds, const char *const *names, size_t n) {
    ds->classes = rt_calloc(n ? n : 1, sizeof *ds->classes);
    if (!ds->classes) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return rt_error_set(RT_ERR_CONFIG, "class list: '%s' appears twice", names[i]);
        if (!(ds->classes[i] = rt_strdup(names[i]))) return rt_error_set(RT_ERR_NOMEM, "oom");
        ds->n_classes = i + 1;
    }
    return RT_OK;
}

// `own` is the format's class list from the data (synth classes.txt, YouTube-VIS categories);
// `own_ids` their ids (YouTube-VIS) or NULL (synth: 1..K).
static rt_status setup_classes(const shard_dataset_params *p, shard_dataset *ds,
                               const shard_strvec *own, const shard_strvec *own_ids) {
    rt_status st;
    switch (ds->format) {
    case SHARD_FMT_KITTI_MOTS:
        st = set_class_list(ds, p->n_classes ? p->classes : k_kitti_classes,
                            p->n_classes ? p->n_classes : RT_COUNTOF(k_kitti_classes));
        break;
    case SHARD_FMT_MOTS20:
        st = set_class_list(ds, p->n_classes ? p->classes : k_mots20_classes,
                            p->n_classes ? p->n_classes : RT_COUNTOF(k_mots20_classes));
        break;
    case SHARD_FMT_BDD100K_MOTS:
        st = set_class_list(ds, p->n_classes ? p->classes : k_bdd_classes,
                            p->n_classes ? p->n_classes : RT_COUNTOF(k_bdd_classes));
        break;
    case SHARD_FMT_YOUTUBE_VIS:
    case SHARD_FMT_SYNTH:
        st = p->n_classes ? set_class_list(ds, p->classes, p->n_classes)
                          : set_class_list(ds, (const char *const *)own->v, own->n);
        break;
    default:
        st = set_class_list(ds, p->classes, p->n_classes);
        break;
    }
    if (st != RT_OK) return st;

    // The job's entries first: lookup takes the first matching rule.
    size_t cap = 0;
    for (size_t i = 0; i < p->n_class_map; i++) {
        const shard_class_map_entry *e = &p->class_map[i];
        if (!e->gt || !e->model || !e->gt[0])
            return rt_error_set(RT_ERR_CONFIG, "dataset.classes: entry %zu is empty", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->class_map[j].gt, e->gt) == 0)
                return rt_error_set(RT_ERR_CONFIG, "dataset.classes: '%s' is mapped twice",
                                    e->gt);
        if (strcmp(e->model, "ignore") == 0) {
            st = rule_push(ds, &cap, e->gt, -1, true);
        } else if (strcmp(e->model, "drop") == 0) {
            st = rule_push(ds, &cap, e->gt, SHARD_CLASS_DROP, false);
        } else {
            int64_t c = class_find(ds, e->model);
            if (c < 0)
                return rt_error_set(RT_ERR_CONFIG,
                                    "dataset.classes: '%s' maps to '%s', which is not in the "
                                    "class list (nor 'ignore' or 'drop')",
                                    e->gt, e->model);
            st = rule_push(ds, &cap, e->gt, (int32_t)c, false);
        }
        if (st != RT_OK) return st;
    }
    if (ds->format == SHARD_FMT_SYNTH) {
        // Synth files carry class ids; the job may name the class (classes.txt) instead.
        size_t n_user = ds->n_rules;
        for (size_t r = 0; r < n_user; r++) {
            for (size_t k = 0; k < own->n; k++) {
                if (strcmp(ds->rules[r].key, own->v[k]) != 0) continue;
                char id[32];
                snprintf(id, sizeof id, "%zu", k + 1);
                shard_class_rule copy = ds->rules[r];
                if ((st = rule_push(ds, &cap, id, copy.class_index, copy.ignore)) != RT_OK)
                    return st;
            }
        }
    }
    switch (ds->format) {
    case SHARD_FMT_KITTI_MOTS:
        if ((st = rule_default(ds, &cap, "1", "car", false)) != RT_OK) return st;
        return rule_default(ds, &cap, "2", "pedestrian", false);
    case SHARD_FMT_MOTS20:
        return rule_default(ds, &cap, "2", "pedestrian", false);
    case SHARD_FMT_BDD100K_MOTS:
        for (size_t i = 0; i < RT_COUNTOF(k_bdd_classes); i++)
            if ((st = rule_default(ds, &cap, k_bdd_classes[i], k_bdd_classes[i], false)))
                return st;
        for (size_t i = 0; i < RT_COUNTOF(k_bdd_alias); i++)
            if ((st = rule_default(ds, &cap, k_bdd_alias[i][0], k_bdd_alias[i][1], false)))
                return st;
        for (size_t i = 0; i < RT_COUNTOF(k_bdd_distractor); i++)
            if ((st = rule_default(ds, &cap, k_bdd_distractor[i][0], k_bdd_distractor[i][1],
                                   true)))
                return st;
        return RT_OK;
    case SHARD_FMT_SYNTH:
        for (size_t i = 0; i < own->n; i++) {
            char id[32];
            snprintf(id, sizeof id, "%zu", i + 1);
            if ((st = rule_default(ds, &cap, id, own->v[i], false)) != RT_OK) return st;
        }
        return RT_OK;
    case SHARD_FMT_YOUTUBE_VIS:
        for (size_t i = 0; i < own->n; i++)
            if ((st = rule_default(ds, &cap, own_ids->v[i], own->v[i], false)) != RT_OK)
                return st;
        return RT_OK;
    default:
        return RT_OK;
    }
}

// ---------------------------------------------------------------------------------------------
// Listing

typedef struct listing {
    const shard_dataset_params *p;
    shard_dataset *ds;
    size_t cap;
} listing;

static bool id_selected(const shard_dataset_params *p, const char *id) {
    bool in = p->n_include == 0;
    for (size_t i = 0; i < p->n_include && !in; i++)
        if (fnmatch(p->include[i], id, 0) == 0) in = true;
    for (size_t i = 0; i < p->n_exclude && in; i++)
        if (fnmatch(p->exclude[i], id, 0) == 0) in = false;
    return in;
}

// Adds a video; takes ownership of `source` and `gt_path` (also on failure).
static rt_status add_video(listing *l, const char *id, char *source, int64_t frames, bool has_gt,
                           char *gt_path) {
    shard_dataset *ds = l->ds;
    if (ds->n_videos == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 64;
        shard_dataset_video *v = rt_realloc(ds->videos, nc * sizeof *v);
        if (!v) {
            rt_free(source);
            rt_free(gt_path);
            return rt_error_set(RT_ERR_NOMEM, "out of memory listing videos");
        }
        ds->videos = v;
        l->cap = nc;
    }
    char *idc = rt_strdup(id);
    if (!idc) {
        rt_free(source);
        rt_free(gt_path);
        return rt_error_set(RT_ERR_NOMEM, "out of memory listing videos");
    }
    ds->videos[ds->n_videos++] = (shard_dataset_video){idc, source, frames, has_gt, gt_path};
    return RT_OK;
}

static int video_cmp(const void *a, const void *b) {
    return strcmp(((const shard_dataset_video *)a)->id, ((const shard_dataset_video *)b)->id);
}

// Ties (duplicate ids, an error reported right after sorting) ordered by source, so that the
// message does not depend on qsort.
static int video_sort_cmp(const void *a, const void *b) {
    const shard_dataset_video *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    if (c) return c;
    return strcmp(x->source ? x->source : "", y->source ? y->source : "");
}

static int str_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool strvec_has(const shard_strvec *s, const char *x) {
    // Sorted by strcmp (see sort_ids).
    return s->n && bsearch(&x, s->v, s->n, sizeof *s->v, str_cmp) != NULL;
}

static void sort_ids(shard_strvec *s) {
    if (s->n > 1) qsort(s->v, s->n, sizeof *s->v, str_cmp);
}

// Strips a known extension in place: "0002.txt" -> "0002".
static void strip_ext(char *name) {
    char *e = (char *)shard_path_ext(name);
    *e = '\0';
}

// Builds a path from printf pieces; NULL with the error set on overflow / no memory.
static char *path_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *path_fmt(const char *fmt, ...) {
    char buf[SHARD_PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf) {
        rt_error_set(RT_ERR_CONFIG, "path too long: %.200s...", buf);
        return NULL;
    }
    char *p = rt_strdup(buf);
    if (!p) rt_error_set(RT_ERR_NOMEM, "out of memory building a path");
    return p;
}

// How a format locates one video's pieces, given its id.
typedef struct layout {
    const char *src_dir;   // folder of the sources
    bool src_is_file;      // sources are video files (src_ext appended), else frame folders
    const char *src_sub;   // frame folders: extra component (MOTS20 "img1"), or NULL
    const char *gt_dir;    // folder of per-video annotations, or NULL
    const char *gt_suffix; // appended to gt_dir/<id> (".txt", ".json", "/gt/gt.txt", "")
} layout;

static char *source_path(const layout *lo, const char *id, const char *file_name) {
    if (lo->src_is_file) return path_fmt("%s/%s", lo->src_dir, file_name);
    if (lo->src_sub) return path_fmt("%s/%s/%s", lo->src_dir, id, lo->src_sub);
    return path_fmt("%s/%s", lo->src_dir, id);
}

// One listed video: source (may be missing), gt file (may be missing), frame count.
// `known_frames` >= 0 (from a seqmap) wins over counting.
static rt_status describe(listing *l, const layout *lo, const char *id, const char *src_name,
                          bool want_gt, int64_t known_frames, const char *seqinfo_dir) {
    char *src = NULL, *gt = NULL;
    rt_status st = RT_OK;
    int64_t frames = known_frames;
    if (src_name) {
        if (!(src = source_path(lo, id, src_name))) return rt_error_status();
        if (!lo->src_is_file && !shard_is_dir(src)) {
            rt_free(src);
            src = NULL;
        }
    }
    if (!src && l->p->require_sources) {
        char *want = source_path(lo, id, id);
        st = rt_error_set(RT_ERR_IO, "video '%s': its frames are missing (no folder %s)", id,
                          want ? want : lo->src_dir);
        rt_free(want);
        return st;
    }
    if (want_gt && lo->gt_dir) {
        if (!(gt = path_fmt("%s/%s%s", lo->gt_dir, id, lo->gt_suffix))) goto fail;
        bool ok = lo->gt_suffix[0] ? shard_is_file(gt) : shard_is_dir(gt);
        if (!ok) {
            rt_free(gt);
            gt = NULL;
        }
    }
    // MOTChallenge: seqinfo.ini next to img1/, or next to gt/ (TrackEval keeps it with the gt).
    for (int k = 0; k < 2 && frames < 0 && seqinfo_dir; k++) {
        const char *dir = k == 0 ? seqinfo_dir : lo->gt_dir;
        if (!dir || (k == 1 && strcmp(dir, seqinfo_dir) == 0)) continue;
        char *ini = path_fmt("%s/%s/seqinfo.ini", dir, id);
        if (!ini) goto fail;
        if (shard_is_file(ini)) st = shard_seqinfo_length(ini, &frames);
        rt_free(ini);
        if (st != RT_OK) goto fail;
    }
    if (frames < 0 && src && !lo->src_is_file) {
        if ((st = shard_count_files(src, shard_image_exts, &frames)) != RT_OK) goto fail;
    }
    return add_video(l, id, src, frames, gt != NULL, gt);
fail:
    if (st == RT_OK) st = rt_error_status();
    rt_free(src);
    rt_free(gt);
    return st;
}

// Lists the union of the ids with sources and the ids with annotations.
static rt_status list_union(listing *l, const layout *lo, shard_strvec *src_names,
                            shard_strvec *gt_ids, const char *seqinfo_dir) {
    rt_status st = RT_OK;
    shard_strvec src_ids = {0};
    for (size_t i = 0; i < src_names->n && st == RT_OK; i++) {
        char *id = rt_strdup(src_names->v[i]);
        if (!id) return rt_error_set(RT_ERR_NOMEM, "out of memory");
        if (lo->src_is_file) strip_ext(id);
        // Keep the original file name next to its id: ids[i] <-> src_names[i].
        st = shard_strvec_push(&src_ids, id);
        rt_free(id);
    }
    if (st != RT_OK) goto done;
    // Two sources with one id (a.mp4, a.avi) are caught after sorting, in shard_dataset_init.
    for (size_t i = 0; i < src_ids.n && st == RT_OK; i++) {
        if (!id_selected(l->p, src_ids.v[i])) continue;
        st = describe(l, lo, src_ids.v[i], lo->src_is_file ? src_names->v[i] : src_ids.v[i],
                      gt_ids ? strvec_has(gt_ids, src_ids.v[i]) : false, -1, seqinfo_dir);
    }
    sort_ids(&src_ids);
    for (size_t i = 0; gt_ids && i < gt_ids->n && st == RT_OK; i++) {
        const char *id = gt_ids->v[i];
        if (strvec_has(&src_ids, id) || !id_selected(l->p, id)) continue;
        if (l->p->require_sources) {
            char *want = source_path(lo, id, id);
            st = rt_error_set(RT_ERR_IO, "video '%s' has annotations but no frames at %s", id,
                              want ? want : lo->src_dir);
            rt_free(want);
        } else {
            st = describe(l, lo, id, NULL, true, -1, seqinfo_dir);
        }
    }
done:
    shard_strvec_free(&src_ids);
    return st;
}

// Sequences named by a seqmap: each must have annotations; lengths from the seqmap when given.
static rt_status list_seqmap(listing *l, const layout *lo, const char *seqmap,
                             const shard_strvec *seqs, const int64_t *lengths,
                             const char *seqinfo_dir) {
    for (size_t i = 0; i < seqs->n; i++) {
        const char *id = seqs->v[i];
        if (!id_selected(l->p, id)) continue;
        size_t before = l->ds->n_videos;
        rt_status st = describe(l, lo, id, id, true, lengths ? lengths[i] : -1, seqinfo_dir);
        if (st != RT_OK) return rt_error_wrap(st, "%s", seqmap);
        if (l->ds->n_videos > before && !l->ds->videos[before].has_gt)
            return rt_error_set(RT_ERR_FORMAT, "%s: sequence '%s' has no annotation file %s/%s%s",
                                seqmap, id, lo->gt_dir ? lo->gt_dir : "(none)", id,
                                lo->gt_suffix);
    }
    return RT_OK;
}

static rt_status list_ids_with_ext(const char *dir, const char *const *exts, shard_strvec *ids) {
    rt_status st = shard_list_dir(dir, SHARD_LIST_FILES, exts, ids);
    if (st != RT_OK) return st;
    for (size_t i = 0; i < ids->n; i++) strip_ext(ids->v[i]);
    sort_ids(ids);
    return RT_OK;
}

static char *first_existing(const char *a, const char *b) {
    if (a && shard_is_file(a)) return rt_strdup(a);
    if (b && shard_is_file(b)) return rt_strdup(b);
    return NULL;
}

static rt_status list_kitti(listing *l) {
    const shard_dataset_params *p = l->p;
    const char *gtroot = p->gt ? p->gt : p->root;
    char *img = NULL, *ann = NULL, *seqmap = NULL, *a = NULL, *b = NULL;
    shard_strvec src = {0}, gt_ids = {0}, seqs = {0};
    int64_t *lengths = NULL;
    rt_status st = RT_OK;
    if (!(img = path_fmt("%s/image_02", p->root))) goto fail;
    if (!(a = path_fmt("%s/instances_txt", gtroot)) || !(b = path_fmt("%s/label_02", gtroot)))
        goto fail;
    if (shard_is_dir(a)) {
        ann = a;
        a = NULL;
    } else if (shard_is_dir(b)) {
        ann = b;
        b = NULL;
    }
    layout lo = {img, false, NULL, ann, ".txt"};
    if (p->split) {
        rt_free(a);
        rt_free(b);
        a = path_fmt("%s/evaluate_mots.seqmap.%s", gtroot, p->split);
        b = path_fmt("%s/%s.seqmap", gtroot, p->split);
        if (!a || !b) goto fail;
        if (!(seqmap = first_existing(a, b))) {
            st = rt_error_set(RT_ERR_CONFIG, "dataset.split '%s': no seqmap %s or %s", p->split,
                              a, b);
            goto fail;
        }
        if ((st = shard_seqmap_read_kitti(seqmap, &seqs, &lengths)) != RT_OK) goto fail;
        st = list_seqmap(l, &lo, seqmap, &seqs, lengths, NULL);
    } else {
        if (ann && (st = list_ids_with_ext(ann, k_txt_exts, &gt_ids)) != RT_OK) goto fail;
        if (shard_is_dir(img) || p->require_sources)
            if ((st = shard_list_dir(img, SHARD_LIST_DIRS, NULL, &src)) != RT_OK) goto fail;
        st = list_union(l, &lo, &src, &gt_ids, NULL);
    }
    goto done;
fail:
    if (st == RT_OK) st = rt_error_status();
done:
    rt_free(img);
    rt_free(ann);
    rt_free(seqmap);
    rt_free(a);
    rt_free(b);
    rt_free(lengths);
    shard_strvec_free(&src);
    shard_strvec_free(&gt_ids);
    shard_strvec_free(&seqs);
    return st;
}

static rt_status list_mots20(listing *l) {
    const shard_dataset_params *p = l->p;
    const char *gtroot = p->gt ? p->gt : p->root;
    shard_strvec src = {0}, gt_ids = {0}, seqs = {0}, dirs = {0};
    char *seqmap = NULL, *cand[4] = {0};
    rt_status st = RT_OK;
    layout lo = {p->root, false, "img1", gtroot, "/gt/gt.txt"};
    if (p->split) {
        static const char *const fmts[] = {"%s/seqmaps/MOTS-%s.txt", "%s/seqmaps/MOTS20-%s.txt",
                                           "%s/../seqmaps/MOTS-%s.txt",
                                           "%s/../seqmaps/MOTS20-%s.txt"};
        for (size_t i = 0; i < 4; i++) {
            char buf[SHARD_PATH_MAX];
            snprintf(buf, sizeof buf, fmts[i], gtroot, p->split);
            if (!(cand[i] = rt_strdup(buf))) goto fail;
        }
        seqmap = first_existing(cand[0], cand[1]);
        if (!seqmap) seqmap = first_existing(cand[2], cand[3]);
        if (!seqmap) {
            st = rt_error_set(RT_ERR_CONFIG, "dataset.split '%s': no seqmap %s (nor %s, or one "
                              "folder up)", p->split, cand[0], cand[1]);
            goto fail;
        }
        if ((st = shard_seqmap_read_mot(seqmap, &seqs)) != RT_OK) goto fail;
        st = list_seqmap(l, &lo, seqmap, &seqs, NULL, p->root);
    } else {
        // Sequences with frames under root; annotated sequences under gt.
        if (shard_is_dir(p->root) || p->require_sources)
            if ((st = shard_list_dir(p->root, SHARD_LIST_DIRS, NULL, &dirs)) != RT_OK) goto fail;
        for (size_t i = 0; i < dirs.n && st == RT_OK; i++) {
            char *img = path_fmt("%s/%s/img1", p->root, dirs.v[i]);
            if (!img) goto fail;
            if (shard_is_dir(img)) st = shard_strvec_push(&src, dirs.v[i]);
            rt_free(img);
        }
        shard_strvec_free(&dirs);
        if (st == RT_OK && shard_is_dir(gtroot))
            st = shard_list_dir(gtroot, SHARD_LIST_DIRS, NULL, &dirs);
        for (size_t i = 0; i < dirs.n && st == RT_OK; i++) {
            char *g = path_fmt("%s/%s/gt/gt.txt", gtroot, dirs.v[i]);
            if (!g) goto fail;
            if (shard_is_file(g)) st = shard_strvec_push(&gt_ids, dirs.v[i]);
            rt_free(g);
        }
        sort_ids(&gt_ids);
        if (st == RT_OK) st = list_union(l, &lo, &src, &gt_ids, p->root);
    }
    goto done;
fail:
    if (st == RT_OK) st = rt_error_status();
done:
    for (size_t i = 0; i < 4; i++) rt_free(cand[i]);
    rt_free(seqmap);
    shard_strvec_free(&src);
    shard_strvec_free(&gt_ids);
    shard_strvec_free(&seqs);
    shard_strvec_free(&dirs);
    return st;
}

// Finds which kind of BDD annotations a folder holds: any *.json -> Scalabel files, else bitmask
// folders.
static rt_status bdd_gt_kind(const char *dir, int *kind) {
    int64_t n = 0;
    rt_status st = shard_count_files(dir, k_json_exts, &n);
    if (st != RT_OK) return st;
    *kind = n > 0 ? SHARD_GT_FILES : SHARD_GT_BITMASKS;
    return RT_OK;
}

static rt_status list_bdd(listing *l) {
    const shard_dataset_params *p = l->p;
    shard_dataset *ds = l->ds;
    char *img = NULL, *gtdir = NULL;
    shard_strvec src = {0}, gt_ids = {0};
    rt_status st = RT_OK;
    if (!p->split || !p->split[0])
        return rt_error_set(RT_ERR_CONFIG, "dataset.split is required for bdd100k-mots "
                            "(images/seg_track_20/<split>)");
    if (!(img = path_fmt("%s/images/seg_track_20/%s", p->root, p->split))) goto fail;
    if (p->gt) {
        if (shard_is_file(p->gt)) {
            ds->gt_kind = SHARD_GT_SINGLE;
            if (!(ds->gt_file = rt_strdup(p->gt))) goto fail;
        } else if (shard_is_dir(p->gt)) {
            if (!(gtdir = rt_strdup(p->gt))) goto fail;
            if ((st = bdd_gt_kind(gtdir, &ds->gt_kind)) != RT_OK) goto fail;
        } else {
            st = rt_error_set(RT_ERR_IO, "dataset.gt %s: no such file or folder", p->gt);
            goto fail;
        }
    } else {
        if (!(gtdir = path_fmt("%s/labels/seg_track_20/rles/%s", p->root, p->split))) goto fail;
        ds->gt_kind = SHARD_GT_FILES;
        if (!shard_is_dir(gtdir)) {
            rt_free(gtdir);
            if (!(gtdir = path_fmt("%s/labels/seg_track_20/bitmasks/%s", p->root, p->split)))
                goto fail;
            ds->gt_kind = SHARD_GT_BITMASKS;
            if (!shard_is_dir(gtdir)) {
                rt_free(gtdir);
                gtdir = NULL;
            }
        }
    }
    if (ds->gt_kind == SHARD_GT_SINGLE) st = shard_scalabel_video_names(ds->gt_file, &gt_ids);
    else if (gtdir && ds->gt_kind == SHARD_GT_FILES)
        st = list_ids_with_ext(gtdir, k_json_exts, &gt_ids);
    else if (gtdir) {
        st = shard_list_dir(gtdir, SHARD_LIST_DIRS, NULL, &gt_ids);
        sort_ids(&gt_ids);
    }
    if (st != RT_OK) goto fail;
    if (shard_is_dir(img) || p->require_sources)
        if ((st = shard_list_dir(img, SHARD_LIST_DIRS, NULL, &src)) != RT_OK) goto fail;
    layout lo = {img, false, NULL, gtdir, ds->gt_kind == SHARD_GT_FILES ? ".json" : ""};
    st = list_union(l, &lo, &src, &gt_ids, NULL);
    if (st == RT_OK && ds->gt_kind == SHARD_GT_SINGLE)
        for (size_t i = 0; i < ds->n_videos; i++)
            ds->videos[i].has_gt = strvec_has(&gt_ids, ds->videos[i].id);
    goto done;
fail:
    if (st == RT_OK) st = rt_error_status();
done:
    rt_free(img);
    rt_free(gtdir);
    shard_strvec_free(&src);
    shard_strvec_free(&gt_ids);
    return st;
}

static rt_status list_ytvis(listing *l, shard_strvec *cats, shard_strvec *cat_ids) {
    const shard_dataset_params *p = l->p;
    shard_dataset *ds = l->ds;
    char *img = NULL, *def = NULL, *gtdir = NULL, *first = NULL;
    shard_strvec src = {0}, gt_ids = {0}, unused = {0};
    rt_status st = RT_OK;
    if (!(img = path_fmt("%s/JPEGImages", p->root))) goto fail;
    ds->gt_kind = SHARD_GT_SINGLE;
    if (p->gt && shard_is_dir(p->gt)) {
        // One YouTube-VIS JSON per video (tools/split_annotations.py): <gt>/<video>.json.
        ds->gt_kind = SHARD_GT_FILES;
        if (!(gtdir = rt_strdup(p->gt))) goto fail;
        if ((st = list_ids_with_ext(gtdir, k_json_exts, &gt_ids)) != RT_OK) goto fail;
        // The categories (the default class list) come from the first file.
        if (gt_ids.n) {
            if (!(first = path_fmt("%s/%s.json", gtdir, gt_ids.v[0]))) goto fail;
            if ((st = shard_ytvis_index(first, &unused, cats, cat_ids)) != RT_OK) goto fail;
        }
    } else if (p->gt) {
        if (!shard_is_file(p->gt)) {
            st = rt_error_set(RT_ERR_IO, "dataset.gt %s: no such file or folder", p->gt);
            goto fail;
        }
        if (!(ds->gt_file = rt_strdup(p->gt))) goto fail;
    } else {
        if (!(def = path_fmt("%s/instances.json", p->root))) goto fail;
        if (shard_is_file(def)) {
            ds->gt_file = def;
            def = NULL;
        }
    }
    if (ds->gt_file && (st = shard_ytvis_index(ds->gt_file, &gt_ids, cats, cat_ids)) != RT_OK)
        goto fail;
    if (shard_is_dir(img) || p->require_sources)
        if ((st = shard_list_dir(img, SHARD_LIST_DIRS, NULL, &src)) != RT_OK) goto fail;
    layout lo = {img, false, NULL, gtdir, ".json"};
    st = list_union(l, &lo, &src, &gt_ids, NULL);
    for (size_t i = 0; st == RT_OK && ds->gt_kind == SHARD_GT_SINGLE && i < ds->n_videos; i++)
        ds->videos[i].has_gt = strvec_has(&gt_ids, ds->videos[i].id);
    goto done;
fail:
    if (st == RT_OK) st = rt_error_status();
done:
    rt_free(img);
    rt_free(def);
    rt_free(gtdir);
    rt_free(first);
    shard_strvec_free(&src);
    shard_strvec_free(&gt_ids);
    shard_strvec_free(&unused);
    return st;
}

static rt_status list_synth(listing *l, shard_strvec *names) {
    const shard_dataset_params *p = l->p;
    const char *gtroot = p->gt ? p->gt : p->root;
    char *cls = NULL, *ann = NULL, *vid = NULL, *frm = NULL;
    shard_strvec files = {0}, dirs = {0}, gt_ids = {0};
    rt_status st = RT_OK;
    if (!(cls = path_fmt("%s/classes.txt", gtroot)) || !(ann = path_fmt("%s/instances_txt", gtroot))
        || !(vid = path_fmt("%s/videos", p->root)) || !(frm = path_fmt("%s/frames", p->root)))
        goto fail;
    if ((st = shard_read_class_names(cls, names)) != RT_OK) goto fail;
    if (shard_is_dir(ann) && (st = list_ids_with_ext(ann, k_txt_exts, &gt_ids)) != RT_OK)
        goto fail;
    if (!shard_is_dir(vid) && !shard_is_dir(frm) && p->require_sources) {
        st = rt_error_set(RT_ERR_IO, "%s: neither videos/ nor frames/ exists", p->root);
        goto fail;
    }
    // Frame folders first; a video file with the same id as a frame folder is a duplicate.
    if (shard_is_dir(frm)) {
        if ((st = shard_list_dir(frm, SHARD_LIST_DIRS, NULL, &dirs)) != RT_OK) goto fail;
        layout lo = {frm, false, NULL, ann, ".txt"};
        if ((st = list_union(l, &lo, &dirs, NULL, NULL)) != RT_OK) goto fail;
    }
    if (shard_is_dir(vid)) {
        if ((st = shard_list_dir(vid, SHARD_LIST_FILES, k_video_exts, &files)) != RT_OK)
            goto fail;
        layout lo = {vid, true, NULL, ann, ".txt"};
        if ((st = list_union(l, &lo, &files, NULL, NULL)) != RT_OK) goto fail;
    }
    // Annotations whose video is missing.
    for (size_t i = 0; i < l->ds->n_videos; i++) {
        shard_dataset_video *v = &l->ds->videos[i];
        if (v->has_gt) continue;
        char *g = path_fmt("%s/%s.txt", ann, v->id);
        if (!g) goto fail;
        if (shard_is_file(g)) {
            v->has_gt = true;
            v->gt_path = g;
        } else {
            rt_free(g);
        }
    }
    // The ids listed so far, sorted, to find annotations without a video.
    shard_strvec have = {0};
    for (size_t i = 0; i < l->ds->n_videos && st == RT_OK; i++)
        st = shard_strvec_push(&have, l->ds->videos[i].id);
    sort_ids(&have);
    for (size_t i = 0; i < gt_ids.n && st == RT_OK; i++) {
        if (!id_selected(p, gt_ids.v[i]) || strvec_has(&have, gt_ids.v[i])) continue;
        if (p->require_sources) {
            st = rt_error_set(RT_ERR_IO, "video '%s' has annotations but no video in %s or %s",
                              gt_ids.v[i], vid, frm);
            break;
        }
        layout lo = {frm, false, NULL, ann, ".txt"};
        st = describe(l, &lo, gt_ids.v[i], NULL, true, -1, NULL);
    }
    shard_strvec_free(&have);
    goto done;
fail:
    if (st == RT_OK) st = rt_error_status();
done:
    rt_free(cls);
    rt_free(ann);
    rt_free(vid);
    rt_free(frm);
    shard_strvec_free(&files);
    shard_strvec_free(&dirs);
    shard_strvec_free(&gt_ids);
    return st;
}

int64_t shard_dataset_find(const shard_dataset *ds, const char *id) {
    shard_dataset_video key = {.id = (char *)id};
    const shard_dataset_video *v = ds->n_videos
        ? bsearch(&key, ds->videos, ds->n_videos, sizeof *ds->videos, video_cmp) : NULL;
    return v ? v - ds->videos : -1;
}

rt_status shard_dataset_init(const shard_dataset_params *p, shard_dataset **out) {
    *out = NULL;
    if (!p || !p->root || !p->root[0])
        return rt_error_set(RT_ERR_CONFIG, "dataset.root is required");
    if ((size_t)p->format >= RT_COUNTOF(k_format_names))
        return rt_error_set(RT_ERR_CONFIG, "dataset.format %d is unknown", (int)p->format);
    // jansson seeds its hash function on first use, racily unless done before threads start:
    // do it here, so that shard_gt_load may run on several threads.
    json_object_seed(0);
    // Without the root (and no dataset.gt elsewhere) there is nothing to list: an empty
    // dataset would hide the typo.
    if (!p->gt && !shard_is_dir(p->root))
        return rt_error_set(RT_ERR_IO, "dataset.root %s: no such folder", p->root);
    shard_dataset *ds = rt_calloc(1, sizeof *ds);
    if (!ds) return rt_error_set(RT_ERR_NOMEM, "out of memory");
    ds->format = p->format;
    listing l = {p, ds, 0};
    shard_strvec own = {0}, own_ids = {0};
    rt_status st = RT_OK;
    switch (p->format) {
    case SHARD_FMT_VIDEOS:
    case SHARD_FMT_FRAMES: {
        bool files = p->format == SHARD_FMT_VIDEOS;
        st = shard_list_dir(p->root, files ? SHARD_LIST_FILES : SHARD_LIST_DIRS,
                            files ? k_video_exts : NULL, &own);
        layout lo = {p->root, files, NULL, NULL, ""};
        if (st == RT_OK) st = list_union(&l, &lo, &own, NULL, NULL);
        shard_strvec_free(&own);
        break;
    }
    case SHARD_FMT_KITTI_MOTS: st = list_kitti(&l); break;
    case SHARD_FMT_MOTS20: st = list_mots20(&l); break;
    case SHARD_FMT_BDD100K_MOTS: st = list_bdd(&l); break;
    case SHARD_FMT_YOUTUBE_VIS: st = list_ytvis(&l, &own, &own_ids); break;
    case SHARD_FMT_SYNTH: st = list_synth(&l, &own); break;
    }
    if (st != RT_OK) goto fail;
    if (ds->n_videos > 1) qsort(ds->videos, ds->n_videos, sizeof *ds->videos, video_sort_cmp);
    for (size_t i = 1; i < ds->n_videos; i++) {
        const shard_dataset_video *a = &ds->videos[i - 1], *b = &ds->videos[i];
        if (strcmp(a->id, b->id) == 0) {
            st = rt_error_set(RT_ERR_FORMAT, "%s: two videos have the id '%s' (%s, %s)", p->root,
                              b->id, a->source ? a->source : "-", b->source ? b->source : "-");
            goto fail;
        }
    }
    if ((st = setup_classes(p, ds, &own, &own_ids)) != RT_OK) goto fail;
    shard_strvec_free(&own);
    shard_strvec_free(&own_ids);
    *out = ds;
    return RT_OK;
fail:
    shard_strvec_free(&own);
    shard_strvec_free(&own_ids);
    shard_dataset_free(&ds);
    return st;
}

void shard_dataset_free(shard_dataset **pds) {
    if (!pds || !*pds) return;
    shard_dataset *ds = *pds;
    for (size_t i = 0; i < ds->n_videos; i++) {
        rt_free(ds->videos[i].id);
        rt_free(ds->videos[i].source);
        rt_free(ds->videos[i].gt_path);
    }
    rt_free(ds->videos);
    for (size_t i = 0; i < ds->n_classes; i++) rt_free(ds->classes[i]);
    rt_free(ds->classes);
    for (size_t i = 0; i < ds->n_rules; i++) rt_free(ds->rules[i].key);
    rt_free(ds->rules);
    rt_free(ds->gt_file);
    rt_free(ds);
    *pds = NULL;
}

// ---------------------------------------------------------------------------------------------
// Ground truth

rt_status shard_gt_load(const shard_dataset *ds, size_t index, shard_gt **out) {
    *out = NULL;
    if (index >= ds->n_videos)
        return rt_error_set(RT_ERR_INVAL, "video index %zu out of range (%zu videos)", index,
                            ds->n_videos);
    const shard_dataset_video *v = &ds->videos[index];
    if (!v->has_gt) return rt_error_set(RT_ERR_INVAL, "video '%s' has no ground truth", v->id);
    switch (ds->format) {
    case SHARD_FMT_KITTI_MOTS:
    case SHARD_FMT_SYNTH: return shard_gt_read_txt(ds, v, 0, out);
    case SHARD_FMT_MOTS20: return shard_gt_read_txt(ds, v, 1, out);
    case SHARD_FMT_BDD100K_MOTS:
        return ds->gt_kind == SHARD_GT_BITMASKS ? shard_gt_read_bitmasks(ds, v, out)
                                                : shard_gt_read_scalabel(ds, v, out);
    case SHARD_FMT_YOUTUBE_VIS: return shard_gt_read_ytvis(ds, v, out);
    default: return rt_error_set(RT_ERR_INVAL, "format %s has no ground truth",
                                 shard_dataset_format_name(ds->format));
    }
}

void shard_gt_free(shard_gt **pgt) {
    if (!pgt || !*pgt) return;
    shard_gt *gt = *pgt;
    for (size_t i = 0; i < gt->n_objects; i++) rt_rle_free(&gt->objects[i].mask);
    rt_free(gt->objects);
    rt_free(gt->frames);
    rt_free(gt);
    *pgt = NULL;
}

void shard_gtb_init(shard_gt_builder *b, const char *file, shard_place_kind kind,
                    int64_t n_frames) {
    memset(b, 0, sizeof *b);
    b->file = file;
    b->kind = kind;
    b->n_frames = n_frames;
}

void shard_gtb_place(const shard_gt_builder *b, int32_t a, int32_t bb, char *buf, size_t cap) {
    switch (b->kind) {
    case SHARD_PLACE_LINE: snprintf(buf, cap, "line %d", a); break;
    case SHARD_PLACE_SCALABEL:
        snprintf(buf, cap, "%s[%d].labels[%d]", b->scalabel_object_form ? "frames" : "", a, bb);
        break;
    case SHARD_PLACE_YTVIS: snprintf(buf, cap, "annotations[%d].segmentations[%d]", a, bb); break;
    case SHARD_PLACE_PNG: snprintf(buf, cap, "frame %d", a); break;
    }
}

rt_status shard_gtb_check(shard_gt_builder *b, int64_t frame, int32_t a, int32_t bb,
                          const rt_rle *mask) {
    char place[96];
    int32_t h = (int32_t)mask->h, w = (int32_t)mask->w;
    if (frame < 0 || (b->n_frames >= 0 && frame >= b->n_frames)) {
        shard_gtb_place(b, a, bb, place, sizeof place);
        long long base = b->frame_base;
        if (b->n_frames >= 0)
            return rt_error_set(RT_ERR_FORMAT, "%s: %s: frame %lld is out of range %lld..%lld "
                                "(%lld frames%s)", b->file, place, frame + base, base,
                                b->n_frames - 1 + base, (long long)b->n_frames,
                                base ? ", numbered from 1" : "");
        return rt_error_set(RT_ERR_FORMAT, "%s: %s: frame %lld is before the first frame %lld",
                            b->file, place, frame + base, base);
    }
    if (frame >= SHARD_MAX_FRAMES) {
        shard_gtb_place(b, a, bb, place, sizeof place);
        return rt_error_set(RT_ERR_FORMAT, "%s: %s: frame %lld is implausibly large (the limit "
                            "is %lld)", b->file, place, (long long)frame + b->frame_base,
                            (long long)SHARD_MAX_FRAMES);
    }
    b->frames_seen = RT_MAX(b->frames_seen, frame + 1);
    if (b->height == 0 && b->width == 0) {
        b->height = h;
        b->width = w;
    } else if (h != b->height || w != b->width) {
        shard_gtb_place(b, a, bb, place, sizeof place);
        if (b->size_from)
            return rt_error_set(RT_ERR_FORMAT, "%s: %s: mask size %dx%d (h x w) differs from "
                                "the image size %dx%d of %s", b->file, place, h, w, b->height,
                                b->width, b->size_from);
        return rt_error_set(RT_ERR_FORMAT, "%s: %s: mask size %dx%d (h x w) differs from the "
                            "size %dx%d of earlier masks", b->file, place, h, w, b->height,
                            b->width);
    }
    return RT_OK;
}

rt_status shard_gtb_add(shard_gt_builder *b, int64_t frame, int32_t a, int32_t bb,
                        shard_gt_object *o) {
    rt_status st = shard_gtb_check(b, frame, a, bb, &o->mask);
    if (st != RT_OK) goto fail;
    if (b->n == b->cap) {
        size_t nc = b->cap ? 2 * b->cap : 64;
        shard_gtb_item *it = rt_realloc(b->items, nc * sizeof *it);
        if (!it) {
            st = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", b->file);
            goto fail;
        }
        b->items = it;
        b->cap = nc;
    }
    b->items[b->n++] = (shard_gtb_item){frame, a, bb, *o};
    rt_rle_init(&o->mask);
    return RT_OK;
fail:
    rt_rle_free(&o->mask);
    return st;
}

void shard_gtb_free(shard_gt_builder *b) {
    for (size_t i = 0; i < b->n; i++) rt_rle_free(&b->items[i].obj.mask);
    rt_free(b->items);
    rt_free(b->annotated);
    b->items = NULL;
    b->annotated = NULL;
    b->n = b->cap = b->n_annotated = 0;
}

rt_status shard_gtb_mark(shard_gt_builder *b, int64_t frame) {
    if (frame < 0) return RT_OK; // reported by shard_gtb_check
    if (frame >= SHARD_MAX_FRAMES)
        return rt_error_set(RT_ERR_FORMAT, "%s: frame %lld is implausibly large (the limit is "
                            "%lld)", b->file, (long long)frame, (long long)SHARD_MAX_FRAMES);
    if ((size_t)frame >= b->n_annotated) {
        size_t n = RT_MAX((size_t)frame + 1, 2 * b->n_annotated);
        bool *a = rt_realloc(b->annotated, n * sizeof *a);
        if (!a) return rt_error_set(RT_ERR_NOMEM, "%s: out of memory", b->file);
        memset(a + b->n_annotated, 0, (n - b->n_annotated) * sizeof *a);
        b->annotated = a;
        b->n_annotated = n;
    }
    b->annotated[frame] = true;
    b->frames_seen = RT_MAX(b->frames_seen, frame + 1);
    return RT_OK;
}

rt_status shard_gtb_expect_image_size(shard_gt_builder *b, const shard_dataset_video *v) {
    if (!v->source || !shard_is_dir(v->source)) return RT_OK;
    shard_strvec names = {0};
    rt_status st = shard_list_dir(v->source, SHARD_LIST_FILES, shard_image_exts, &names);
    if (st == RT_OK && names.n > 0) {
        char *first = shard_path_join(v->source, names.v[0]);
        if (!first) st = rt_error_status();
        else {
            int32_t w = 0, h = 0;
            st = shard_image_size(first, &w, &h);
            if (st == RT_OK) {
                b->height = h;
                b->width = w;
                // Borrowed from the dataset, which outlives the builder.
                b->size_from = v->source;
            }
            rt_free(first);
        }
    }
    shard_strvec_free(&names);
    return st;
}

rt_status shard_gtb_finish(shard_gt_builder *b, shard_gt **out) {
    *out = NULL;
    int64_t nf = b->n_frames;
    if (nf < 0) nf = b->frames_seen;
    shard_gt *gt = rt_calloc(1, sizeof *gt);
    size_t *start = rt_calloc((size_t)nf + 1, sizeof *start);
    size_t *order = rt_calloc(b->n ? b->n : 1, sizeof *order);
    rt_status st = RT_OK;
    if (!gt || !start || !order ||
        !(gt->frames = rt_calloc(nf ? (size_t)nf : 1, sizeof *gt->frames)) ||
        !(gt->objects = rt_calloc(b->n ? b->n : 1, sizeof *gt->objects))) {
        st = rt_error_set(RT_ERR_NOMEM, "%s: out of memory", b->file);
        goto done;
    }
    // Counting sort by frame keeps file order within a frame.
    for (size_t i = 0; i < b->n; i++) start[b->items[i].frame + 1]++;
    for (int64_t f = 0; f < nf; f++) start[f + 1] += start[f];
    for (size_t i = 0; i < b->n; i++) {
        shard_gt_frame *fr = &gt->frames[b->items[i].frame];
        order[start[b->items[i].frame] + fr->n_objects++] = i;
    }
    // Track ids must be unique within a frame (TrackEval refuses duplicates); ignore regions
    // share an id (KITTI 10000) and are exempt.
    for (int64_t f = 0; f < nf && st == RT_OK; f++) {
        for (size_t i = start[f]; i < start[f + 1] && st == RT_OK; i++) {
            const shard_gtb_item *x = &b->items[order[i]];
            for (size_t j = i + 1; j < start[f + 1] && !x->obj.ignore; j++) {
                const shard_gtb_item *y = &b->items[order[j]];
                if (y->obj.ignore || y->obj.track_id != x->obj.track_id) continue;
                char p1[96], p2[96];
                shard_gtb_place(b, x->a, x->b, p1, sizeof p1);
                shard_gtb_place(b, y->a, y->b, p2, sizeof p2);
                st = rt_error_set(RT_ERR_FORMAT, "%s: %s: track id %d appears twice in frame "
                                  "%lld (also at %s)", b->file, p2, (int)x->obj.track_id,
                                  (long long)x->frame, p1);
                break;
            }
        }
    }
    if (st != RT_OK) goto done;
    gt->n_frames = nf;
    gt->height = b->n ? b->height : 0;
    gt->width = b->n ? b->width : 0;
    for (int64_t f = 0; f < nf; f++) {
        gt->frames[f].objects = gt->objects + start[f];
        gt->frames[f].annotated =
            !b->annotated || ((size_t)f < b->n_annotated && b->annotated[f]);
    }
    for (size_t i = 0; i < b->n; i++) gt->objects[i] = b->items[order[i]].obj;
    gt->n_objects = b->n;
    b->n = 0; // the masks belong to gt now
    *out = gt;
    gt = NULL;
done:
    rt_free(start);
    rt_free(order);
    shard_gt_free(&gt);
    return st;
}
