// pcan export: every format against golden files derived independently (tools/export_golden.py
// from tests/data/export/archive.txt), byte for byte (bitmask PNGs by their pixels); round trips
// through our dataset readers; filters; failed videos; an unwritable output folder.
//
// The archive is built here from the same spec: spool entries, then merge_archive_write on one
// process (MPI_COMM_SELF).
#include <jansson.h>
#include <mpi.h>
#include <sys/stat.h>

#include "merge/archive.h"
#include "merge/export.h"
#include "runtime/rle.h"
#include "shard/datasets.h"
#include "shard/image.h"
#include "shard/plan.h"
#include "shard/spool.h"
#include "tests/test.h"

#define SPEC "tests/data/export/archive.txt"
#define GOLDEN "tests/data/export/golden"
#define SHA "0000000000000000000000000000000000000000000000000000000000000000"
#define MAX_ROWS 64
#define MAX_VIDEOS 8
#define MAX_CLASSES 8

typedef struct spec_row {
    int frame, tid, label;
    float score;
    uint8_t *mask; // [h*w] row-major
} spec_row;

typedef struct spec_video {
    char id[32];
    int h, w, frames;
    bool ok;
    spec_row rows[MAX_ROWS];
    int n_rows;
} spec_video;

static char g_classes[MAX_CLASSES][32];
static int g_n_classes;
static spec_video g_videos[MAX_VIDEOS];
static int g_n_videos;
static char g_dir[4096], g_archive[4200];

static void parse_spec(void) {
    FILE *f = fopen(SPEC, "r");
    CHECK_MSG(f != NULL, "cannot open %s (run from the repository root)", SPEC);
    if (!f) exit(1);
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *tok[32];
        int n = 0;
        for (char *s = strtok(line, " \t\n"); s && n < 32; s = strtok(NULL, " \t\n")) tok[n++] = s;
        if (n == 0) continue;
        if (!strcmp(tok[0], "classes")) {
            for (int i = 1; i < n; i++) snprintf(g_classes[g_n_classes++], 32, "%s", tok[i]);
        } else if (!strcmp(tok[0], "video")) {
            spec_video *v = &g_videos[g_n_videos++];
            snprintf(v->id, sizeof v->id, "%s", tok[1]);
            v->h = atoi(tok[2]), v->w = atoi(tok[3]), v->frames = atoi(tok[4]);
            v->ok = !strcmp(tok[5], "ok");
        } else if (!strcmp(tok[0], "row")) {
            spec_video *v = &g_videos[g_n_videos - 1];
            spec_row *r = &v->rows[v->n_rows++];
            r->frame = atoi(tok[1]), r->tid = atoi(tok[2]), r->label = atoi(tok[3]);
            r->score = strtof(tok[4], NULL);
            r->mask = calloc((size_t)(v->h * v->w), 1);
            for (int k = 5; k < n; k++) {
                int y0, y1, x0, x1;
                CHECK(sscanf(tok[k], "%d:%d,%d:%d", &y0, &y1, &x0, &x1) == 4);
                for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++) r->mask[y * v->w + x] = 1;
            }
        }
    }
    fclose(f);
}

static void build_archive(void) {
    char spool[4200];
    snprintf(spool, sizeof spool, "%s/spool", g_dir);
    snprintf(g_archive, sizeof g_archive, "%s/hand.h5", g_dir);
    CHECK_EQ_INT(shard_spool_mkdir(spool), RT_OK);
    shard_spool_entry e;
    shard_spool_entry_init(&e);
    const char *ids[MAX_VIDEOS], *classes[MAX_CLASSES];
    for (int c = 0; c < g_n_classes; c++) classes[c] = g_classes[c];
    for (int i = 0; i < g_n_videos; i++) {
        spec_video *v = &g_videos[i];
        ids[i] = v->id;
        uint8_t h[SHARD_SPOOL_HASH_LEN];
        shard_resume_hash(SHA, "test", v->id, h);
        CHECK_EQ_INT(shard_spool_entry_begin(&e, v->id, "hand-made", h), RT_OK);
        e.meta.width = v->w, e.meta.height = v->h, e.meta.fps = 10;
        for (int k = 0; k < v->n_rows;) {
            rt_result items[MAX_ROWS];
            int n = 0, f = v->rows[k].frame;
            for (; k < v->n_rows && v->rows[k].frame == f; k++, n++) {
                spec_row *r = &v->rows[k];
                items[n] = (rt_result){.track_id = r->tid, .label = (int16_t)r->label,
                                       .score = r->score};
                rt_rle_init(&items[n].mask);
                CHECK_EQ_INT(rt_rle_encode(&items[n].mask, r->mask, (uint32_t)v->h,
                                           (uint32_t)v->w), RT_OK);
            }
            CHECK_EQ_INT(shard_spool_entry_add(&e, f, items, n), RT_OK);
            for (int j = 0; j < n; j++) rt_rle_free(&items[j].mask);
        }
        e.meta.frames = v->frames;
        if (!v->ok) CHECK_EQ_INT(shard_spool_entry_fail(&e, "hand-made failure"), RT_OK);
        shard_spool_params sp = shard_spool_default_params();
        sp.durable = false;
        CHECK_EQ_INT(shard_spool_commit(spool, &e, &sp), RT_OK);
    }
    shard_spool_entry_free(&e);
    merge_archive_params p = merge_archive_default_params();
    p.spool = spool;
    p.path = g_archive;
    p.ids = ids;
    p.n_ids = (size_t)g_n_videos;
    p.weights_sha256 = SHA;
    p.config = "test";
    p.software = "test_export";
    p.model_name = "hand";
    p.job_text = "";
    p.prototype_memory = "video";
    p.classes = classes;
    p.n_classes = (size_t)g_n_classes;
    merge_archive_stats s;
    rt_status st = merge_archive_write(&p, MPI_COMM_SELF, &s);
    CHECK_MSG(st == RT_OK, "archive: %s", rt_error());
    CHECK_EQ_INT(s.failed, 1);
}

typedef struct config {
    const char *name;
    double min_score;
    int min_track_len;
    const char *classes[MAX_CLASSES];
    size_t n_classes;
} config;

static const config k_configs[] = {
    {"all", 0, 1, {NULL}, 0},
    {"filtered", 0.5, 2, {"car", "pedestrian"}, 2},
};

static const char *const k_formats[] = {"kitti-mots", "mots20", "scalabel", "bdd-bitmask",
                                        "youtube-vis"};

static void out_dir(const config *c, const char *fmt, char *buf, size_t cap) {
    snprintf(buf, cap, "%s/out/%s/%s", g_dir, c->name, fmt);
}

static rt_status export_one(const config *c, const char *fmt) {
    merge_archive *ar = NULL;
    rt_status st = merge_archive_open(g_archive, &ar);
    if (st != RT_OK) return st;
    char dir[4400];
    out_dir(c, fmt, dir, sizeof dir);
    merge_export_params p = merge_export_default_params();
    CHECK_EQ_INT(merge_export_format_parse(fmt, &p.format), RT_OK);
    p.dir = dir;
    p.min_score = c->min_score;
    p.min_track_len = c->min_track_len;
    p.classes = c->classes;
    p.n_classes = c->n_classes;
    st = merge_export(ar, &p);
    merge_archive_close(&ar);
    return st;
}

static void test_golden(void) {
    static char out[65536];
    for (size_t ci = 0; ci < RT_COUNTOF(k_configs); ci++) {
        const config *c = &k_configs[ci];
        for (size_t fi = 0; fi < RT_COUNTOF(k_formats); fi++) {
            const char *fmt = k_formats[fi];
            rt_status st = export_one(c, fmt);
            CHECK_MSG(st == RT_OK, "%s/%s: %s", c->name, fmt, rt_error());
            char dir[4400], cmd[32768];
            out_dir(c, fmt, dir, sizeof dir);
            if (strcmp(fmt, "bdd-bitmask") != 0) {
                snprintf(cmd, sizeof cmd, "diff -r '%s/%s/%s' '%s'", GOLDEN, c->name, fmt, dir);
                CHECK_MSG(test_run_cmd(cmd, out, sizeof out) == 0, "%s/%s differs from the "
                          "golden:\n%s", c->name, fmt, out);
                continue;
            }
            // Bitmasks: the same file names (.png for .rgba) and the same pixels.
            snprintf(cmd, sizeof cmd, "cd '%s/%s/%s' && find . -name '*.rgba' | sort | "
                     "sed 's/rgba$/png/' > '%s/g.lst' && cd '%s' && find . -type f | sort | "
                     "cmp - '%s/g.lst' && cat '%s/g.lst'", GOLDEN, c->name, fmt, g_dir, dir,
                     g_dir, g_dir);
            CHECK_MSG(test_run_cmd(cmd, out, sizeof out) == 0, "%s/bdd-bitmask files: %s",
                      c->name, out);
            int n = 0;
            for (char *s = strtok(out, "\n"); s; s = strtok(NULL, "\n"), n++) {
                char png[9000], raw[9000];
                snprintf(png, sizeof png, "%s/%s", dir, s + 2);
                snprintf(raw, sizeof raw, "%s/%s/%s/%.*srgba", GOLDEN, c->name, fmt,
                         (int)strlen(s + 2) - 3, s + 2);
                shard_image img = {0};
                CHECK_MSG(shard_png_read(png, SHARD_PNG_RAW, &img) == RT_OK, "%s", rt_error());
                CHECK_EQ_INT(img.channels, 4);
                CHECK_EQ_INT(img.depth, 8);
                FILE *g = fopen(raw, "rb");
                uint8_t want[4096];
                size_t got = g ? fread(want, 1, sizeof want, g) : 0;
                if (g) fclose(g);
                CHECK_EQ_INT(got, (size_t)img.width * img.height * 4);
                CHECK_MSG(img.data && memcmp(img.data, want, got) == 0, "%s: pixels differ", png);
                shard_image_free(&img);
            }
            CHECK_EQ_INT(n, 7); // a01: 4 frames, b03: 3; the failed a02 has none
        }
    }
}

// What an export must hold for one video and frame: the rows kept by the filters, painted in
// ascending score order (a later row wins a tie), the non-empty remains in track-id order.
typedef struct want_obj {
    const spec_row *row;
    uint8_t mask[256]; // row-major
} want_obj;

static bool row_pass(const spec_row *r, const config *c) {
    bool cls = c->n_classes == 0;
    for (size_t k = 0; k < c->n_classes; k++) cls |= !strcmp(c->classes[k], g_classes[r->label]);
    return cls && (double)r->score >= c->min_score;
}

static int paint(const spec_video *v, int f, const config *c, bool final, want_obj *out);

// The track's frames when the rows passing the class and score filters are de-overlapped.
static int track_len(const spec_video *v, const config *c, int tid) {
    int len = 0;
    for (int f = 0; f < v->frames; f++) {
        want_obj w[MAX_ROWS];
        int n = paint(v, f, c, false, w);
        for (int j = 0; j < n; j++) len += w[j].row->tid == tid;
    }
    return len;
}

static bool row_kept(const spec_video *v, const spec_row *r, const config *c) {
    return row_pass(r, c) && (c->min_track_len <= 1 || track_len(v, c, r->tid) >= c->min_track_len);
}

// KITTI instance of a track: the track id, or its rank among the video's kept tracks when one
// of them is ≥ 1000 (export.h).
static int kitti_instance(const spec_video *v, const config *c, int tid) {
    int rank = 0, max = 0;
    for (int t = 1; t < 100000; t++) {
        bool in_spec = false;
        for (int k = 0; k < v->n_rows; k++) in_spec |= v->rows[k].tid == t;
        if (!in_spec) continue;
        bool kept = false;
        for (int k = 0; k < v->n_rows && !kept; k++)
            kept = v->rows[k].tid == t && row_kept(v, &v->rows[k], c);
        if (kept && t <= tid) rank++;
        if (kept) max = t;
    }
    return max >= 1000 ? rank : tid;
}

static int want_frame(const spec_video *v, int f, const config *c, want_obj *out) {
    return paint(v, f, c, true, out);
}

// final: the rows of the export; else the rows passing the class and score filters.
static int paint(const spec_video *v, int f, const config *c, bool final, want_obj *out) {
    const spec_row *rows[MAX_ROWS];
    int n = 0;
    for (int k = 0; k < v->n_rows; k++)
        if (v->rows[k].frame == f && (final ? row_kept(v, &v->rows[k], c)
                                            : row_pass(&v->rows[k], c)))
            rows[n++] = &v->rows[k];
    int owner[256];
    for (int p = 0; p < v->h * v->w; p++) owner[p] = -1;
    bool done[MAX_ROWS] = {false};
    for (int step = 0; step < n; step++) {
        int best = -1; // the lowest remaining score, first in row order
        for (int i = 0; i < n; i++)
            if (!done[i] && (best < 0 || rows[i]->score < rows[best]->score)) best = i;
        done[best] = true;
        for (int p = 0; p < v->h * v->w; p++)
            if (rows[best]->mask[p]) owner[p] = best;
    }
    int m = 0;
    for (int i = 0; i < n; i++) {
        int area = 0;
        for (int p = 0; p < v->h * v->w; p++) area += (out[m].mask[p] = owner[p] == i);
        if (area) out[m++].row = rows[i];
    }
    return m;
}

static bool mask_is(const rt_rle *r, const spec_video *v, const uint8_t *want) {
    if ((int)r->h != v->h || (int)r->w != v->w) return false;
    uint8_t m[256];
    rt_rle_decode(r, m);
    return memcmp(m, want, (size_t)(v->h * v->w)) == 0;
}

// Reads an export back with a dataset reader and compares every frame with want_frame.
static void read_back(const config *c, shard_dataset_params *p, const char *what, bool kitti_ids) {
    const char *classes[MAX_CLASSES];
    for (int i = 0; i < g_n_classes; i++) classes[i] = g_classes[i];
    p->classes = classes;
    p->n_classes = (size_t)g_n_classes;
    p->require_sources = false;
    shard_dataset *ds = NULL;
    rt_status st = shard_dataset_init(p, &ds);
    CHECK_MSG(st == RT_OK, "%s/%s: %s", c->name, what, rt_error());
    if (st != RT_OK) return;
    int listed = 0;
    for (int i = 0; i < g_n_videos; i++) {
        const spec_video *v = &g_videos[i];
        int64_t k = shard_dataset_find(ds, v->id);
        if (!v->ok) {
            CHECK_MSG(k < 0, "%s/%s: failed video %s was exported", c->name, what, v->id);
            continue;
        }
        listed++;
        CHECK_MSG(k >= 0 && ds->videos[k].has_gt, "%s/%s: video %s missing", c->name, what,
                  v->id);
        if (k < 0) continue;
        shard_gt *gt = NULL;
        st = shard_gt_load(ds, (size_t)k, &gt);
        CHECK_MSG(st == RT_OK, "%s/%s: %s", c->name, what, rt_error());
        if (st != RT_OK) continue;
        for (int f = 0; f < v->frames; f++) {
            want_obj want[MAX_ROWS];
            int n = want_frame(v, f, c, want);
            size_t got = f < gt->n_frames ? gt->frames[f].n_objects : 0;
            CHECK_MSG((int)got == n, "%s/%s: video %s frame %d: %zu objects, want %d", c->name,
                      what, v->id, f, got, n);
            for (int j = 0; j < n && (size_t)j < got; j++) {
                const shard_gt_object *o = &gt->frames[f].objects[j];
                const spec_row *r = want[j].row;
                int kitti_cls = r->label + 1; // car 1, pedestrian 2, bicycle 3, truck 4
                int32_t tid = kitti_ids ? kitti_cls * 1000 + kitti_instance(v, c, r->tid)
                                        : r->tid;
                CHECK_MSG(o->track_id == tid && o->class_index == r->label && !o->ignore &&
                          mask_is(&o->mask, v, want[j].mask),
                          "%s/%s: video %s frame %d object %d: id %d class %d, want %d %d",
                          c->name, what, v->id, f, j, o->track_id, o->class_index, tid,
                          r->label);
            }
        }
        shard_gt_free(&gt);
    }
    CHECK_EQ_INT(ds->n_videos, (size_t)listed);
    shard_dataset_free(&ds);
}

static void test_round_trip(void) {
    char cmd[32768], out[4096], dir[4400], root[4400];
    for (size_t ci = 0; ci < RT_COUNTOF(k_configs); ci++) {
        const config *c = &k_configs[ci];
        shard_dataset_params p = shard_dataset_default_params();
        // scalabel: the per-video JSON folder read as bdd100k-mots annotations
        out_dir(c, "scalabel", dir, sizeof dir);
        p.format = SHARD_FMT_BDD100K_MOTS;
        p.root = dir;
        p.gt = dir;
        p.split = "val";
        read_back(c, &p, "scalabel", false);
        // bdd-bitmask: the PNG folders (no JSON there) read as bdd100k-mots bitmasks
        out_dir(c, "bdd-bitmask", dir, sizeof dir);
        p.root = dir;
        p.gt = dir;
        read_back(c, &p, "bdd-bitmask", false);
        // kitti-mots: classes.txt + instances_txt/ read as the synth format
        out_dir(c, "kitti-mots", dir, sizeof dir);
        snprintf(root, sizeof root, "%s/rt-%s", g_dir, c->name);
        snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp -r '%s' '%s/instances_txt' && "
                 "mv '%s/instances_txt/classes.txt' '%s/'", root, dir, root, root, root);
        CHECK_EQ_INT(test_run_cmd(cmd, out, sizeof out), 0);
        p = shard_dataset_default_params();
        p.format = SHARD_FMT_SYNTH;
        p.root = root;
        read_back(c, &p, "kitti-mots", true);
    }
}

// youtube-vis: results.json parsed here; per track the masks, the category (majority) and the
// score (mean) of the frames written.
static void test_youtube_vis(void) {
    for (size_t ci = 0; ci < RT_COUNTOF(k_configs); ci++) {
        const config *c = &k_configs[ci];
        char path[4400];
        out_dir(c, "youtube-vis", path, sizeof path);
        strcat(path, "/results.json");
        json_error_t err;
        json_t *root = json_load_file(path, 0, &err);
        CHECK_MSG(json_is_array(root), "%s: %s", path, err.text);
        size_t at = 0;
        for (int i = 0; i < g_n_videos; i++) {
            const spec_video *v = &g_videos[i];
            if (!v->ok) continue;
            int tids[MAX_ROWS], nt = 0; // the written tracks, ascending
            for (int tid = 1; tid < 100000; tid++) {
                bool in_spec = false;
                for (int k = 0; k < v->n_rows; k++) in_spec |= v->rows[k].tid == tid;
                if (!in_spec) continue;
                bool any = false;
                for (int f = 0; f < v->frames && !any; f++) {
                    want_obj w[MAX_ROWS];
                    int n = want_frame(v, f, c, w);
                    for (int j = 0; j < n; j++) any |= w[j].row->tid == tid;
                }
                if (any) tids[nt++] = tid;
            }
            for (int t = 0; t < nt; t++, at++) {
                json_t *o = json_array_get(root, at);
                CHECK_EQ_INT(json_integer_value(json_object_get(o, "video_id")), i + 1);
                json_t *segs = json_object_get(o, "segmentations");
                CHECK_EQ_INT(json_array_size(segs), (size_t)v->frames);
                double sum = 0;
                int cnt = 0, votes[MAX_CLASSES] = {0};
                for (int f = 0; f < v->frames; f++) {
                    want_obj w[MAX_ROWS];
                    int n = want_frame(v, f, c, w), j = 0;
                    while (j < n && w[j].row->tid != tids[t]) j++;
                    json_t *s = json_array_get(segs, (size_t)f);
                    if (j == n) {
                        CHECK(json_is_null(s));
                        continue;
                    }
                    sum += (double)w[j].row->score;
                    cnt++;
                    votes[w[j].row->label]++;
                    const char *str = json_string_value(json_object_get(s, "counts"));
                    rt_rle r;
                    rt_rle_init(&r);
                    CHECK(str && rt_rle_from_string(&r, (uint32_t)v->h, (uint32_t)v->w, str,
                                                    strlen(str)) == RT_OK);
                    CHECK_MSG(mask_is(&r, v, w[j].mask), "video %s track %d frame %d", v->id,
                              tids[t], f);
                    rt_rle_free(&r);
                }
                int best = 0;
                for (int l = 1; l < g_n_classes; l++)
                    if (votes[l] > votes[best]) best = l;
                CHECK_EQ_INT(json_integer_value(json_object_get(o, "category_id")), best + 1);
                CHECK(json_real_value(json_object_get(o, "score")) == sum / cnt);
            }
        }
        CHECK_EQ_INT(json_array_size(root), at);
        json_decref(root);
    }
}

// The filters, stated directly on the filtered scalabel export.
static void test_filters(void) {
    char path[4400];
    out_dir(&k_configs[1], "scalabel", path, sizeof path);
    strcat(path, "/a01.json");
    json_t *root = json_load_file(path, 0, NULL);
    CHECK(json_is_array(root));
    int per_track[100000] = {0}, labels = 0;
    for (size_t f = 0; f < json_array_size(root); f++) {
        json_t *ls = json_object_get(json_array_get(root, f), "labels");
        for (size_t k = 0; k < json_array_size(ls); k++, labels++) {
            json_t *l = json_array_get(ls, k);
            const char *cat = json_string_value(json_object_get(l, "category"));
            CHECK(!strcmp(cat, "car") || !strcmp(cat, "pedestrian"));
            CHECK(json_real_value(json_object_get(l, "score")) >= 0.5);
            const char *id = json_string_value(json_object_get(l, "id"));
            CHECK(id && atoi(id) >= 1 && strcmp(id, "0") != 0);
            per_track[atoi(id)]++;
        }
    }
    for (int t = 0; t < 100000; t++) CHECK(per_track[t] == 0 || per_track[t] >= 2);
    // tracks 1 (2 frames), 2 (3) and 21 (2); 1234, 4 and 5 have one frame, 20 two rows but
    // one frame left after de-overlapping
    CHECK_EQ_INT(labels, 7);
    json_decref(root);
}

static void test_errors(void) {
    char file[4400], dir[4500];
    snprintf(file, sizeof file, "%s/not-a-folder", g_dir);
    test_write_text(file, "x");
    snprintf(dir, sizeof dir, "%s/sub", file);
    merge_archive *ar = NULL;
    CHECK_EQ_INT(merge_archive_open(g_archive, &ar), RT_OK);
    merge_export_params p = merge_export_default_params();
    p.dir = dir;
    for (size_t f = 0; f < RT_COUNTOF(k_formats); f++) {
        CHECK_EQ_INT(merge_export_format_parse(k_formats[f], &p.format), RT_OK);
        CHECK_EQ_INT(merge_export(ar, &p), RT_ERR_IO);
        CHECK_CONTAINS(rt_error(), dir);
    }
    p.dir = g_dir;
    const char *bad[] = {"tree"};
    p.classes = bad;
    p.n_classes = 1;
    CHECK_EQ_INT(merge_export(ar, &p), RT_ERR_CONFIG);
    CHECK_CONTAINS(rt_error(), "tree");
    CHECK_EQ_INT(merge_export_format_parse("coco", &p.format), RT_ERR_CONFIG);
    CHECK_CONTAINS(rt_error(), "scalabel");
    // Parts: two halves of a per-video format give the whole export.
    static char out[16384];
    char cmd[9000];
    for (int part = 0; part < 2; part++) {
        p = merge_export_default_params();
        p.format = MERGE_EXPORT_SCALABEL;
        snprintf(dir, sizeof dir, "%s/parts", g_dir);
        p.dir = dir;
        p.part = part;
        p.n_parts = 2;
        CHECK_EQ_INT(merge_export(ar, &p), RT_OK);
    }
    snprintf(cmd, sizeof cmd, "diff -r '%s/all/scalabel' '%s'", GOLDEN, dir);
    CHECK_MSG(test_run_cmd(cmd, out, sizeof out) == 0, "parts: %s", out);
    merge_archive_close(&ar);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    snprintf(g_dir, sizeof g_dir, "%s", test_tmpdir());
    parse_spec();
    build_archive();
    TEST_RUN(test_golden);
    TEST_RUN(test_round_trip);
    TEST_RUN(test_youtube_vis);
    TEST_RUN(test_filters);
    TEST_RUN(test_errors);
    for (int i = 0; i < g_n_videos; i++)
        for (int k = 0; k < g_videos[i].n_rows; k++) free(g_videos[i].rows[k].mask);
    MPI_Finalize();
    return test_finish();
}
