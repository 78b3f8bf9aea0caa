// Metrics in the run's merge stage: a generated synth dataset (with ground truth) run by the real
// `pcan run` on the tiny fixture weights on 1, 2 and 4 ranks and with 2 threads; /metrics must be
// bit-identical across them and equal (as doubles) to `pcan eval` of the archive; report.json
// parses and matches; a resumed run and `pcan merge` rebuild the same /metrics; bdd100k; a
// dataset without ground truth and disabled metrics give neither /metrics nor report.json; a
// ground-truth file that cannot be read leaves the archive without /metrics and exits 1; the
// youtube-vis protocol on a YouTube-VIS dataset, on 1 and 2 ranks, as `pcan eval` computes it.
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "merge/archive.h"
#include "runtime/rle.h"
#include "shard/datasets.h"
#include "tests/test.h"

static char g_dir[1024], g_weights[2048];
static char g_out[65536];

// Runs `cd g_dir && <cmd>`; the output is in g_out.
#define sh(...) test_run_in(g_dir, g_out, sizeof g_out, __VA_ARGS__)

// Writes <name>.yaml: dataset `data` (synth) unless `dataset` is given, archive out/<name>.h5.
static void job(const char *name, const char *dataset, const char *extra) {
    char path[4400], text[8192];
    snprintf(path, sizeof path, "%s/%s.yaml", g_dir, name);
    snprintf(text, sizeof text,
             "dataset: %s\nmodel: {weights: %s}\noutput: {archive: out/%s.h5}\n%s\n",
             dataset ? dataset : "{format: synth, root: data}", g_weights, name,
             extra ? extra : "run: {threads_per_rank: 1}");
    test_write_text(path, text);
}

static int run(int np, const char *cmd, const char *name) {
    if (np == 0) return sh("'%s' %s %s.yaml", test_pcan(), cmd, name);
    return sh("mpirun --oversubscribe -np %d '%s' %s %s.yaml", np, test_pcan(), cmd, name);
}

static merge_archive_metrics *read_metrics(const char *name) {
    char path[4400];
    snprintf(path, sizeof path, "%s/out/%s.h5", g_dir, name);
    merge_archive *a = NULL;
    merge_archive_metrics *m = NULL;
    if (merge_archive_open(path, &a) != RT_OK) {
        CHECK_MSG(0, "%s", rt_error());
        return NULL;
    }
    CHECK_MSG(merge_archive_read_metrics(a, &m) == RT_OK, "%s", rt_error());
    merge_archive_close(&a);
    return m;
}

// Bit-identical tables (NaN == NaN by bits).
static bool same_metrics(const merge_archive_metrics *a, const merge_archive_metrics *b) {
    if (!a || !b || a->n_rows != b->n_rows || a->n_cols != b->n_cols ||
        strcmp(a->protocol, b->protocol) || strcmp(a->mean_row, b->mean_row) ||
        a->videos != b->videos || a->missing != b->missing || a->masks != b->masks)
        return false;
    for (size_t r = 0; r < a->n_rows; r++)
        if (strcmp(a->row_names[r], b->row_names[r])) return false;
    for (size_t c = 0; c < a->n_cols; c++)
        if (strcmp(a->col_names[c], b->col_names[c]) || a->col_types[c] != b->col_types[c])
            return false;
    return memcmp(a->values, b->values, a->n_rows * a->n_cols * sizeof(double)) == 0;
}

// report.json parses, and every value equals /metrics as a double (null for NaN).
static void check_json_matches(const char *json_path, const merge_archive_metrics *m) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", g_dir, json_path);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    CHECK_MSG(root != NULL, "%s: %s (line %d)", path, err.text, err.line);
    if (!root || !m) {
        json_decref(root);
        return;
    }
    CHECK_EQ_STR(json_string_value(json_object_get(root, "protocol")), m->protocol);
    CHECK_EQ_INT(json_integer_value(json_object_get(root, "videos")), m->videos);
    CHECK_EQ_INT(json_integer_value(json_object_get(root, "missing")), m->missing);
    json_t *rows = json_object_get(root, "rows");
    CHECK_EQ_INT(json_object_size(rows), m->n_rows);
    size_t bad = 0;
    for (size_t r = 0; r < m->n_rows; r++) {
        json_t *row = json_object_get(rows, m->row_names[r]);
        CHECK_MSG(row != NULL, "row %s missing from %s", m->row_names[r], json_path);
        for (size_t c = 0; row && c < m->n_cols; c++) {
            json_t *v = json_object_get(row, m->col_names[c]);
            double x = m->values[r * m->n_cols + c];
            bool ok = v && (json_is_null(v) ? isnan(x) : json_number_value(v) == x);
            if (!ok && bad++ < 5)
                CHECK_MSG(0, "%s %s.%s: json %.17g, /metrics %.17g", json_path, m->row_names[r],
                          m->col_names[c], v ? json_number_value(v) : -1.0, x);
        }
    }
    CHECK_EQ_INT(bad, 0);
    json_decref(root);
}

static bool exists(const char *rel) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", g_dir, rel);
    return access(path, F_OK) == 0;
}

static void test_ranks_and_threads(void) {
    const char *names[] = {"np1", "np2", "np4", "t2"};
    int nps[] = {0, 2, 4, 0};
    for (int i = 0; i < 4; i++) {
        job(names[i], NULL, i == 3 ? "run: {threads_per_rank: 2}" : NULL);
        int rc = run(nps[i], "run", names[i]);
        CHECK_MSG(rc == 0, "%s rc %d: %s", names[i], rc, g_out);
        // the table, printed by rank 0 once
        CHECK_CONTAINS(g_out, "HOTA: pcan-cls_comb_cls_av");
        CHECK_MSG(strstr(strstr(g_out, "HOTA: pcan-cls_comb_cls_av") + 1,
                         "HOTA: pcan-cls_comb_cls_av") == NULL,
                  "%s: the table is printed more than once", names[i]);
        CHECK_CONTAINS(g_out, "metrics (trackeval) over 5 videos");
    }
    merge_archive_metrics *ref = read_metrics("np1");
    CHECK(ref != NULL);
    if (ref) {
        CHECK_EQ_STR(ref->protocol, "trackeval");
        CHECK_EQ_STR(ref->mean_row, "cls_comb_cls_av");
        CHECK_EQ_INT(ref->videos, 5);
        CHECK_EQ_INT(ref->n_rows, 5); // car, pedestrian, bicycle, class mean, det average
        CHECK_EQ_STR(ref->row_names[3], "cls_comb_cls_av");
        CHECK_EQ_STR(ref->row_names[4], "cls_comb_det_av");
    }
    for (int i = 1; i < 4; i++) {
        merge_archive_metrics *m = read_metrics(names[i]);
        CHECK_MSG(same_metrics(ref, m), "/metrics of %s differs from np1", names[i]);
        merge_archive_metrics_free(&m);
        CHECK_MSG(sh("cmp out/np1.report.json out/%s.report.json", names[i]) == 0, "%s", g_out);
    }
    // `pcan eval` of the finished archive: the same JSON, byte for byte (%.17g), and its values
    // are /metrics's doubles.
    CHECK_MSG(sh("'%s' eval --gt data --format synth --results out/np2.h5 --json eval.json",
                 test_pcan()) == 0, "%s", g_out);
    CHECK_MSG(sh("cmp eval.json out/np2.report.json") == 0, "%s", g_out);
    check_json_matches("eval.json", ref);
    check_json_matches("out/np4.report.json", ref);
    CHECK_EQ_INT(sh("'%s' info out/np4.h5", test_pcan()), 0);
    CHECK_CONTAINS(g_out, "metrics: trackeval, 5 videos (0 without results), cls_comb_cls_av: HOTA");
    merge_archive_metrics_free(&ref);
}

static void test_resume_and_merge(void) {
    merge_archive_metrics *ref = read_metrics("np1");
    // A rerun resumes (nothing recomputed) and rebuilds the same /metrics.
    int rc = run(2, "run", "np2");
    CHECK_MSG(rc == 0, "rc %d: %s", rc, g_out);
    CHECK_CONTAINS(g_out, "0 to run, 5 already done");
    merge_archive_metrics *m = read_metrics("np2");
    CHECK(same_metrics(ref, m));
    merge_archive_metrics_free(&m);
    // `pcan merge` from the spool alone, on 2 ranks and on 1.
    for (int np = 2; np >= 0; np -= 2) {
        CHECK_EQ_INT(sh("rm out/np4.h5 out/np4.report.json"), 0);
        rc = run(np, "merge", "np4");
        CHECK_MSG(rc == 0, "merge np %d rc %d: %s", np, rc, g_out);
        CHECK_CONTAINS(g_out, "metrics (trackeval) over 5 videos");
        m = read_metrics("np4");
        CHECK_MSG(same_metrics(ref, m), "merge on %d ranks", np);
        merge_archive_metrics_free(&m);
        CHECK_EQ_INT(sh("cmp out/np1.report.json out/np4.report.json"), 0);
    }
    merge_archive_metrics_free(&ref);
}

static void test_bdd100k(void) {
    job("bdd", NULL, "run: {threads_per_rank: 1}\nmetrics: {protocol: bdd100k}");
    int rc = run(2, "run", "bdd");
    CHECK_MSG(rc == 0, "rc %d: %s", rc, g_out);
    CHECK_CONTAINS(g_out, "OVERALL");
    CHECK_MSG(sh("'%s' eval --gt data --format synth --results out/bdd.h5 --protocol bdd100k "
                 "--json bdd.json && cmp bdd.json out/bdd.report.json", test_pcan()) == 0,
              "%s", g_out);
    merge_archive_metrics *m = read_metrics("bdd");
    CHECK(m != NULL);
    if (m) {
        CHECK_EQ_STR(m->protocol, "bdd100k");
        CHECK_EQ_STR(m->mean_row, "AVERAGE");
        CHECK_EQ_STR(m->row_names[m->n_rows - 1], "OVERALL");
    }
    check_json_matches("bdd.json", m);
    merge_archive_metrics_free(&m);
}

// metrics.classes keeps only the named classes, in the run as in `pcan eval --job`.
static void test_metric_classes(void) {
    job("cls", NULL, "run: {threads_per_rank: 1}\nmetrics: {classes: [car, bicycle]}");
    int rc = run(1, "run", "cls");
    CHECK_MSG(rc == 0, "rc %d: %s", rc, g_out);
    CHECK(!strstr(g_out, "pedestrian"));
    CHECK_MSG(sh("'%s' eval --job cls.yaml --json cls.json && cmp cls.json out/cls.report.json",
                 test_pcan()) == 0,
              "%s", g_out);
    merge_archive_metrics *m = read_metrics("cls");
    CHECK(m != NULL);
    if (m) {
        CHECK_EQ_INT(m->n_rows, 4); // car, bicycle, class mean, det average
        CHECK_EQ_STR(m->row_names[0], "car");
        CHECK_EQ_STR(m->row_names[1], "bicycle");
        CHECK_EQ_STR(m->row_names[2], "cls_comb_cls_av");
    }
    merge_archive_metrics_free(&m);
}

// The value of row `row`, column `col` of /metrics (NaN when absent).
static double metric_at(const merge_archive_metrics *m, const char *row, const char *col) {
    for (size_t r = 0; m && r < m->n_rows; r++)
        for (size_t c = 0; c < m->n_cols; c++)
            if (!strcmp(m->row_names[r], row) && !strcmp(m->col_names[c], col))
                return m->values[r * m->n_cols + c];
    return NAN;
}

// dataset.classes maps ground-truth classes in the run's metrics as in `pcan eval --job`; a map
// to a class the model lacks stops the run before any work.
static void test_class_map(void) {
    job("map", "{format: synth, root: data, classes: {bicycle: car}}", NULL);
    int rc = run(2, "run", "map");
    CHECK_MSG(rc == 0, "rc %d: %s", rc, g_out);
    CHECK_MSG(sh("'%s' eval --job map.yaml --json map.json && cmp map.json out/map.report.json",
                 test_pcan()) == 0,
              "%s", g_out);
    merge_archive_metrics *ref = read_metrics("np1"), *m = read_metrics("map");
    double car = metric_at(ref, "car", "GT_Dets"), bike = metric_at(ref, "bicycle", "GT_Dets");
    CHECK_MSG(car > 0 && bike > 0, "car %g bicycle %g GT masks unmapped", car, bike);
    CHECK_EQ_INT((long long)metric_at(m, "car", "GT_Dets"), (long long)(car + bike));
    CHECK_EQ_INT((long long)metric_at(m, "bicycle", "GT_Dets"), 0);
    merge_archive_metrics_free(&ref);
    merge_archive_metrics_free(&m);

    job("badmap", "{format: synth, root: data, classes: {bicycle: bike}}", NULL);
    rc = run(2, "run", "badmap");
    CHECK_MSG(rc == 2, "rc %d: %s", rc, g_out);
    CHECK_CONTAINS(g_out, "badmap.yaml: dataset.classes.bicycle: 'bike' is not a class of the "
                          "model (");
    CHECK(!exists("out/badmap.h5.spool"));
    CHECK(!exists("out/badmap.h5"));
    rc = run(0, "check", "badmap"); // what `pcan check` says of it
    CHECK_MSG(rc == 2, "rc %d: %s", rc, g_out);
    CHECK_CONTAINS(g_out, "dataset.classes.bicycle: 'bike' is not a class of the model (");
}

static void test_no_metrics(void) {
    // A dataset without ground truth (the same videos as a `videos` dataset): no /metrics, no
    // report, no warning. Metrics disabled: none either.
    job("nogt", "{format: videos, root: data/videos}", NULL);
    job("off", NULL, "run: {threads_per_rank: 1}\nmetrics: {enabled: false}");
    const char *names[] = {"nogt", "off"};
    for (int i = 0; i < 2; i++) {
        int rc = run(2, "run", names[i]);
        CHECK_MSG(rc == 0, "%s rc %d: %s", names[i], rc, g_out);
        CHECK_MSG(strstr(g_out, "metrics") == NULL && strstr(g_out, "warning") == NULL, "%s: %s",
                  names[i], g_out);
        char rel[64];
        snprintf(rel, sizeof rel, "out/%s.report.json", names[i]);
        CHECK(!exists(rel));
        merge_archive_metrics *m = read_metrics(names[i]);
        CHECK(m == NULL);
        merge_archive_metrics_free(&m);
    }
}

// Job `name` over `dataset` whose ground truth cannot be read, run on 2 ranks against the spool
// of archive `spool_of` (its `done` videos are not recomputed): the archive is written without
// /metrics or report, the error names `file`, exit 1.
static void check_unreadable_gt(const char *name, const char *dataset, const char *spool_of,
                                const char *metrics, int done, const char *file) {
    char path[4400], text[8192], rel[256];
    snprintf(path, sizeof path, "%s/%s.yaml", g_dir, name);
    snprintf(text, sizeof text,
             "dataset: %s\nmodel: {weights: %s}\noutput: {archive: out/%s.h5, spool: "
             "out/%s.h5.spool}\nrun: {threads_per_rank: 1}\nmetrics: %s\n",
             dataset, g_weights, name, spool_of, metrics);
    test_write_text(path, text);
    int rc = run(2, "run", name);
    CHECK_MSG(rc == 1, "%s: rc %d: %s", name, rc, g_out);
    snprintf(text, sizeof text, "0 to run, %d already done", done);
    CHECK_CONTAINS(g_out, text);
    CHECK_CONTAINS(g_out, file);
    CHECK_CONTAINS(g_out, "the archive has no /metrics");
    snprintf(rel, sizeof rel, "out/%s.h5", name);
    CHECK(exists(rel));
    snprintf(rel, sizeof rel, "out/%s.report.json", name);
    CHECK(!exists(rel));
    merge_archive_metrics *m = read_metrics(name);
    CHECK(m == NULL);
    merge_archive_metrics_free(&m);
}

static void test_bad_ground_truth(void) {
    // A copy of the dataset with one annotation file garbled, run against np1's spool (nothing is
    // recomputed): the archive is written without /metrics, the error names the file, exit 1.
    CHECK_EQ_INT(sh("cp -r data bad && echo 'garbage line' >> bad/instances_txt/0002.txt"), 0);
    check_unreadable_gt("badgt", "{format: synth, root: bad}", "np1", "{enabled: true}", 5,
                        "0002.txt");
}

// ---- youtube-vis ------------------------------------------------------------------------------

// A YouTube-VIS annotation file for the synth dataset at `root` (its ground truth as tracks: one
// annotation per track id, one segmentation per frame or null; ignore regions left out), with
// file_names "<video>/NNNNNN.jpg" as `pcan synth --jpeg` names the frames.
static void write_ytvis(const char *root, const char *out) {
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_SYNTH;
    p.root = root;
    p.require_sources = false;
    shard_dataset *ds = NULL;
    CHECK_MSG(shard_dataset_init(&p, &ds) == RT_OK, "%s", rt_error());
    if (!ds) return;
    json_t *root_j = json_object(), *videos = json_array(), *cats = json_array(),
           *anns = json_array();
    for (size_t k = 0; k < ds->n_classes; k++)
        json_array_append_new(cats, json_pack("{s:I, s:s}", "id", (json_int_t)k + 1, "name",
                                              ds->classes[k]));
    for (size_t v = 0; v < ds->n_videos; v++) {
        shard_gt *gt = NULL;
        CHECK_MSG(shard_gt_load(ds, v, &gt) == RT_OK, "%s", rt_error());
        if (!gt) break;
        json_t *names = json_array();
        char name[128];
        for (int64_t f = 0; f < gt->n_frames; f++) {
            snprintf(name, sizeof name, "%s/%06lld.jpg", ds->videos[v].id, (long long)f);
            json_array_append_new(names, json_string(name));
        }
        json_array_append_new(videos, json_pack("{s:I, s:i, s:i, s:I, s:o}", "id",
                                                (json_int_t)v + 1, "width", gt->width, "height",
                                                gt->height, "length", (json_int_t)gt->n_frames,
                                                "file_names", names));
        for (size_t i = 0; i < gt->n_objects; i++) {
            const shard_gt_object *o = &gt->objects[i];
            bool first = true; // the first object of its track id
            for (size_t j = 0; j < i; j++) first &= gt->objects[j].track_id != o->track_id;
            if (o->ignore || o->class_index < 0 || !first) continue;
            json_t *segs = json_array();
            for (int64_t f = 0; f < gt->n_frames; f++) {
                const shard_gt_frame *gf = &gt->frames[f];
                const shard_gt_object *hit = NULL;
                for (size_t j = 0; j < gf->n_objects; j++)
                    if (gf->objects[j].track_id == o->track_id) hit = &gf->objects[j];
                char counts[8192];
                if (hit) CHECK(rt_rle_to_string(&hit->mask, counts, sizeof counts) < sizeof counts);
                json_array_append_new(segs, hit ? json_pack("{s:[i,i], s:s}", "size", gt->height,
                                                            gt->width, "counts", counts)
                                                : json_null());
            }
            json_array_append_new(anns, json_pack("{s:I, s:I, s:I, s:i, s:o}", "id",
                                                  (json_int_t)v * 100000 + o->track_id, "video_id",
                                                  (json_int_t)v + 1, "category_id",
                                                  (json_int_t)o->class_index + 1, "iscrowd", 0,
                                                  "segmentations", segs));
        }
        shard_gt_free(&gt);
    }
    json_object_set_new(root_j, "videos", videos);
    json_object_set_new(root_j, "categories", cats);
    json_object_set_new(root_j, "annotations", anns);
    CHECK_EQ_INT(json_dump_file(root_j, out, JSON_COMPACT), 0);
    json_decref(root_j);
    shard_dataset_free(&ds);
}

// Adds every other track of a `pcan export --format youtube-vis` results file to the annotations
// of `gt` as GT tracks, so that the tiny model (which finds hardly any synth object) scores
// some hits, some misses and some false positives.
static void add_results_as_gt(const char *results, const char *gt) {
    json_error_t err;
    json_t *res = json_load_file(results, 0, &err), *g = json_load_file(gt, 0, &err);
    CHECK_MSG(res && g, "%s", err.text);
    json_t *anns = json_object_get(g, "annotations");
    for (size_t i = 0; json_is_array(res) && json_is_array(anns) && i < json_array_size(res);
         i += 2) {
        json_t *r = json_array_get(res, i);
        json_array_append_new(anns, json_pack("{s:I, s:O, s:O, s:i, s:O}", "id",
                                              (json_int_t)900000 + (json_int_t)i, "video_id",
                                              json_object_get(r, "video_id"), "category_id",
                                              json_object_get(r, "category_id"), "iscrowd", 0,
                                              "segmentations",
                                              json_object_get(r, "segmentations")));
    }
    if (g) CHECK_EQ_INT(json_dump_file(g, gt, JSON_COMPACT), 0);
    json_decref(res);
    json_decref(g);
}

// YTVOSeval's summary lines (" Average ...") of a command's output, concatenated.
static void summary_lines(const char *text, char *out, size_t cap) {
    size_t n = 0;
    out[0] = '\0';
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, " Average ", 9)) continue;
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l + 1) : strlen(l);
        if (n + len < cap) memcpy(out + n, l, len), n += len, out[n] = '\0';
    }
}

// metrics.protocol youtube-vis: a YouTube-VIS dataset (the synth videos' frames as JPEGImages,
// their ground truth as instances.json) run on 1 and 2 ranks: /metrics bit-identical, the
// report byte-identical to `pcan eval --protocol youtube-vis --json`, the printed summary the same.
static void test_youtube_vis(void) {
    CHECK_EQ_INT(sh("'%s' synth --out vsyn --videos 3 --frames 4 --seed 5 --size 96x64 --jpeg && "
                    "mkdir vis && mv vsyn/frames vis/JPEGImages", test_pcan()), 0);
    char path[4400];
    snprintf(path, sizeof path, "%s/vsyn", g_dir);
    char json[4400];
    snprintf(json, sizeof json, "%s/vis/instances.json", g_dir);
    write_ytvis(path, json);
    static char printed[2][4096], eval_printed[4096];
    const char *names[] = {"vis1", "vis2"};
    for (int i = 0; i < 2; i++)
        job(names[i], "{format: youtube-vis, root: vis}",
            "run: {threads_per_rank: 1}\nmetrics: {protocol: youtube-vis}");
    // A first run for its results, half of which join the ground truth; then the rerun of vis1
    // (resumed: only the merge and its metrics again) and vis2 on 2 ranks.
    int rc = run(0, "run", "vis1");
    CHECK_MSG(rc == 0, "vis1 rc %d: %s", rc, g_out);
    CHECK_MSG(sh("'%s' export out/vis1.h5 --format youtube-vis --out vex --annotations "
                 "vis/instances.json", test_pcan()) == 0, "%s", g_out);
    snprintf(path, sizeof path, "%s/vex/results.json", g_dir);
    add_results_as_gt(path, json);
    for (int i = 0; i < 2; i++) {
        rc = run(i == 0 ? 0 : 2, "run", names[i]);
        CHECK_MSG(rc == 0, "%s rc %d: %s", names[i], rc, g_out);
        if (i == 0) CHECK_CONTAINS(g_out, "0 to run, 3 already done");
        CHECK(!strstr(g_out, "warning"));
        CHECK_CONTAINS(g_out, "metrics (youtube-vis) over 3 videos");
        summary_lines(g_out, printed[i], sizeof printed[i]);
        CHECK_MSG(strlen(printed[i]) > 0 && strstr(printed[i], "maxDets=100 ] = ") &&
                      !strstr(strstr(printed[i], "(AP) @[ IoU=0.50:0.95 | area=   all") + 1,
                              "(AP) @[ IoU=0.50:0.95 | area=   all"),
                  "%s: the summary is not printed once: %s", names[i], g_out);
    }
    merge_archive_metrics *ref = read_metrics("vis1"), *m = read_metrics("vis2");
    CHECK(ref != NULL);
    if (ref) {
        CHECK_EQ_STR(ref->protocol, "youtube-vis");
        CHECK_EQ_STR(ref->mean_row, "all");
        CHECK_EQ_INT(ref->videos, 3);
        CHECK_EQ_INT(ref->missing, 0);
        CHECK_EQ_INT(ref->n_rows, 1);
        CHECK_EQ_INT(ref->n_cols, 12);
        CHECK_EQ_STR(ref->col_names[0], "AP");
        CHECK_MSG(ref->values[0] > 0.05 && ref->values[0] < 0.95, "AP %g", ref->values[0]);
    }
    CHECK_MSG(same_metrics(ref, m), "/metrics of vis2 differs from vis1");
    CHECK_EQ_STR(printed[0], printed[1]);
    CHECK_MSG(sh("cmp out/vis1.report.json out/vis2.report.json") == 0, "%s", g_out);
    CHECK_MSG(sh("'%s' eval --gt vis --format youtube-vis --results out/vis2.h5 --protocol "
                 "youtube-vis --json vis.json", test_pcan()) == 0, "%s", g_out);
    summary_lines(g_out, eval_printed, sizeof eval_printed);
    CHECK_EQ_STR(eval_printed, printed[0]);
    CHECK_MSG(sh("cmp vis.json out/vis2.report.json") == 0, "%s", g_out);
    check_json_matches("vis.json", ref);
    CHECK_EQ_INT(sh("'%s' info out/vis2.h5", test_pcan()), 0);
    CHECK_CONTAINS(g_out, "metrics: youtube-vis, 3 videos (0 without results), all: AP 0.");
    char ap[64];
    snprintf(ap, sizeof ap, "%.17g", ref ? ref->values[0] : NAN);
    CHECK_MSG(sh("'%s' sweep report out/vis2.h5 --out vrep", test_pcan()) == 0, "%s", g_out);
    CHECK_CONTAINS(g_out, "| AP | AP50 | AP75 | AR1 | AR10 |");
    CHECK_EQ_INT(sh("head -1 vrep/report.csv | tr , '\\n' | grep -n '^youtube-vis.AP$' | cut -d: -f1"),
                 0);
    int col = atoi(g_out);
    CHECK_MSG(col > 0, "no youtube-vis.AP column");
    CHECK_EQ_INT(sh("sed -n 2p vrep/report.csv | cut -d, -f%d", col), 0);
    CHECK_MSG(!strncmp(g_out, ap, strlen(ap)), "report AP '%s', /metrics %s", g_out, ap);
    merge_archive_metrics_free(&ref);
    merge_archive_metrics_free(&m);

    // Ground truth that rank 0 cannot read (a garbled segmentation; the index still parses),
    // against vis2's spool on 2 ranks: the archive without /metrics, the error, exit 1.
    CHECK_EQ_INT(sh("mkdir vbad && cp -r vis/JPEGImages vbad/ && sed 's/\"counts\":\"[^\"]*\"/"
                    "\"counts\":\"!!\"/' vis/instances.json > vbad/instances.json"), 0);
    check_unreadable_gt("visbad", "{format: youtube-vis, root: vbad}", "vis2",
                        "{protocol: youtube-vis}", 3, "instances.json");
    // Once the ground truth is readable, `pcan sweep report` evaluates the archive itself: the
    // same AP as the run's /metrics.
    CHECK_MSG(sh("cp vis/instances.json vbad/ && '%s' sweep report out/visbad.h5 --out vrep2 "
                 "--metric AP", test_pcan()) == 0, "%s", g_out);
    CHECK_MSG(!strstr(g_out, "no metrics"), "%s", g_out);
    CHECK_EQ_INT(sh("sed -n 2p vrep2/report.csv | cut -d, -f%d", col), 0);
    CHECK_MSG(!strncmp(g_out, ap, strlen(ap)), "evaluated AP '%s', /metrics %s", g_out, ap);
}

int main(void) {
    if (!realpath("tests/fixtures/tiny.weights.h5", g_weights))
        test_skip("tests/fixtures/tiny.weights.h5 not found (run from the repository root)");
    snprintf(g_dir, sizeof g_dir, "%s", test_tmpdir());
    if (sh("mpirun --version") != 0) test_skip("no mpirun");
    if (sh("'%s' synth --out data --videos 5 --frames 4 --seed 11 --size 96x64 && mkdir out",
           test_pcan()) != 0) {
        fprintf(stderr, "synth: %s\n", g_out);
        return 1;
    }
    TEST_RUN(test_ranks_and_threads);
    TEST_RUN(test_resume_and_merge);
    TEST_RUN(test_bdd100k);
    TEST_RUN(test_metric_classes);
    TEST_RUN(test_class_map);
    TEST_RUN(test_no_metrics);
    TEST_RUN(test_bad_ground_truth);
    TEST_RUN(test_youtube_vis);
    return test_finish();
}
