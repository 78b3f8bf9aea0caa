// Metrics in the run's merge stage: a generated synth dataset (with ground truth) run by the real
// `pcan run` on the tiny fixture weights on 1, 2 and 4 ranks and with 2 threads; /metrics must be
// bit-identical across them and equal (as doubles) to `pcan eval` of the archive; report.json
// parses and matches; a resumed run and `pcan merge` rebuild the same /metrics; bdd100k; a
// dataset without ground truth and disabled metrics give neither /metrics nor report.json; a
// ground-truth file that cannot be read leaves the archive without /metrics and exits 1.
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "merge/archive.h"
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

static void test_bad_ground_truth(void) {
    // A copy of the dataset with one annotation file garbled, run against np1's spool (nothing is
    // recomputed): the archive is written without /metrics, the error names the file, exit 1.
    CHECK_EQ_INT(sh("cp -r data bad && echo 'garbage line' >> bad/instances_txt/0002.txt"), 0);
    char path[4400], text[8192];
    snprintf(path, sizeof path, "%s/badgt.yaml", g_dir);
    snprintf(text, sizeof text,
             "dataset: {format: synth, root: bad}\nmodel: {weights: %s}\n"
             "output: {archive: out/badgt.h5, spool: out/np1.h5.spool}\n"
             "run: {threads_per_rank: 1}\nmetrics: {enabled: true}\n", g_weights);
    test_write_text(path, text);
    int rc = run(2, "run", "badgt");
    CHECK_MSG(rc == 1, "rc %d: %s", rc, g_out);
    CHECK_CONTAINS(g_out, "0 to run, 5 already done");
    CHECK_CONTAINS(g_out, "0002.txt");
    CHECK_CONTAINS(g_out, "the archive has no /metrics");
    CHECK(exists("out/badgt.h5"));
    CHECK(!exists("out/badgt.report.json"));
    merge_archive_metrics *m = read_metrics("badgt");
    CHECK(m == NULL);
    merge_archive_metrics_free(&m);
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
    TEST_RUN(test_no_metrics);
    TEST_RUN(test_bad_ground_truth);
    return test_finish();
}
