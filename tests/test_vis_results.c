// YouTube-VIS results read back (issue 7): the reader (shard_vis_results) on hand-made files —
// video and category ids given a meaning by the dataset's JSON, segmentations[k] = frame k, null
// masks, unmatched videos, errors naming the file and the JSON path — and the round trip
// `pcan export --format youtube-vis --annotations` → `pcan eval --results-format youtube-vis`,
// which must print and write exactly the youtube-vis AP/AR of `pcan eval` on the archive itself
// (a dataset with a frame folder whose annotations cover every other frame, a crowd region,
// de-overlapped masks, a score tie, a track seen only on unannotated frames, a video the archive
// lacks); trackeval is identical too when every track keeps one class, and differs when one
// changes class (the file carries one category per track: the youtube-vis semantics).
#include <jansson.h>
#include <string.h>

#include "shard/datasets.h"
#include "shard/image.h"
#include "tests/common/archive_util.h"
#include "tests/test.h"

enum { H = 6, W = 8 };

static char dir[4096];
static char out[1 << 16];

#define sh(...) test_run_in(dir, out, sizeof out, __VA_ARGS__)

// The COCO string of the rectangle rows y0..y1, columns x0..x1 of an H x W mask.
#define rect(s, cap, ...) test_rect_rle(s, cap, H, W, __VA_ARGS__)

static void rle_json(char *s, size_t cap, int y0, int y1, int x0, int x1) {
    char c[64];
    rect(c, sizeof c, y0, y1, x0, x1);
    snprintf(s, cap, "{\"size\": [%d, %d], \"counts\": \"%s\"}", H, W, c);
}

// <sub>/vis: the GT (instances.json; JPEGImages/v1 holds 5 frames of which file_names lists
// 0, 2, 4; v2 and v3 have no frame folder), video ids 7, 3, 11, category ids 5, 1, 2.
static void write_gt(const char *sub) {
    char a[3][96], b[96], c[96], d[96], e[96], json[8192], p[4400];
    for (int j = 0; j < 3; j++) rle_json(a[j], sizeof a[j], 0, 1, j, j + 1);
    rle_json(b, sizeof b, 3, 4, 4, 5);
    rle_json(c, sizeof c, 4, 5, 0, 2);
    rle_json(d, sizeof d, 1, 3, 1, 3);
    rle_json(e, sizeof e, 0, 1, 0, 1);
    snprintf(json, sizeof json,
             "{\"videos\": [\n"
             "  {\"id\": 7, \"file_names\": [\"v1/00000.png\", \"v1/00002.png\", \"v1/00004.png\"]},\n"
             "  {\"id\": 3, \"file_names\": [\"v2/a.jpg\", \"v2/b.jpg\"]},\n"
             "  {\"id\": 11, \"file_names\": [\"v3/a.jpg\", \"v3/b.jpg\"]}],\n"
             " \"categories\": [{\"id\": 5, \"name\": \"cat_c\"}, {\"id\": 1, \"name\": \"cat_a\"},"
             " {\"id\": 2, \"name\": \"cat_b\"}],\n"
             " \"annotations\": [\n"
             "  {\"id\": 1, \"video_id\": 7, \"category_id\": 1, \"iscrowd\": 0, "
             "\"segmentations\": [%s, %s, %s]},\n"
             "  {\"id\": 2, \"video_id\": 7, \"category_id\": 2, \"iscrowd\": 0, "
             "\"segmentations\": [%s, %s, null]},\n"
             "  {\"id\": 3, \"video_id\": 7, \"category_id\": 5, \"iscrowd\": 1, "
             "\"segmentations\": [%s, %s, %s]},\n"
             "  {\"id\": 10, \"video_id\": 3, \"category_id\": 2, \"iscrowd\": 0, "
             "\"segmentations\": [%s, %s]},\n"
             "  {\"id\": 20, \"video_id\": 11, \"category_id\": 1, \"iscrowd\": 0, "
             "\"segmentations\": [%s, %s]}]}\n",
             a[0], a[1], a[2], b, b, c, c, c, d, d, e, e);
    snprintf(p, sizeof p, "%s/%s/vis/instances.json", dir, sub);
    test_write_text(p, json);
    uint8_t px[H * W * 3] = {0};
    shard_image img = {.data = px, .width = W, .height = H, .channels = 3, .depth = 8,
                       .stride = 3 * W};
    CHECK_EQ_INT(sh("mkdir -p '%s/vis/JPEGImages/v1'", sub), 0);
    for (int f = 0; f < 5; f++) {
        snprintf(p, sizeof p, "%s/%s/vis/JPEGImages/v1/%05d.png", dir, sub, f);
        CHECK_EQ_INT(shard_png_write(p, &img), RT_OK);
    }
}

// <sub>/run.h5. v1 (5 frames): track 1 follows A (cat_a); track 2 on B (cat_b, or with `mixed`
// cat_a on two of its five frames: still cat_b by majority); track 3 (cat_a, 0.3) overlaps track 1
// and keeps one row after de-overlapping; track 4 (cat_c) on the crowd region; track 5 only on
// the unannotated frames 1 and 3. v2 (2 frames): tracks 1 and 2 tie at 0.7 (the later wins the
// shared column), track 7 a cat_a false positive. No v3.
static void write_archive(const char *sub, bool mixed) {
    static const char *classes[] = {"cat_a", "cat_b", "cat_c"};
    static const char *s1[] = {"0.9", "0.8", "0.85", "0.7", "0.95"};
    static const char *s2[] = {"0.6", "0.65", "0.5", "0.55", "0.6"};
    static const int l2[] = {1, 1, 0, 1, 0};
    char p[4400], rows[8192], m[5][64];
    snprintf(p, sizeof p, "%s/%s/run.h5", dir, sub);
    test_archive *ar = test_archive_begin(p, classes, 3);
    test_archive_video(ar, "v1", H, W, 5);
    for (int f = 0; f < 5; f++) {
        int x = f / 2;
        rect(m[0], 64, 0, 1, x, x + 1);
        if (f < 4) rect(m[1], 64, 3, 4, 4, 5);
        else rect(m[1], 64, 3, 4, 4, 4);
        rect(m[2], 64, 0, 2, x, x + 1);
        rect(m[3], 64, 4, 5, 0, 1);
        rect(m[4], 64, 2, 2, 5, 7);
        int n = snprintf(rows, sizeof rows, "%d 1 0 %s %s\n%d 2 %d %s %s\n%d 3 0 0.3 %s\n"
                         "%d 4 2 0.4 %s\n", f, s1[f], m[0], f, mixed ? l2[f] : 1, s2[f], m[1],
                         f, m[2], f, m[3]);
        if (f % 2) snprintf(rows + n, sizeof rows - (size_t)n, "%d 5 1 0.45 %s\n", f, m[4]);
        test_archive_lines(ar, rows);
    }
    test_archive_video(ar, "v2", H, W, 2);
    rect(m[0], 64, 1, 3, 1, 3);
    rect(m[1], 64, 1, 3, 3, 4);
    rect(m[2], 64, 5, 5, 0, 7);
    for (int f = 0; f < 2; f++) {
        snprintf(rows, sizeof rows, "%d 1 1 0.7 %s\n%d 2 1 0.7 %s\n%d 7 0 0.2 %s\n", f, m[0], f,
                 m[1], f, m[2]);
        test_archive_lines(ar, rows);
    }
    test_archive_end(&ar);
}

static json_t *load(const char *sub, const char *name) {
    char p[4400];
    snprintf(p, sizeof p, "%s/%s/%s", dir, sub, name);
    json_error_t err;
    json_t *j = json_load_file(p, 0, &err);
    CHECK_MSG(j != NULL, "%s: %s (line %d)", p, err.text, err.line);
    return j;
}

// `pcan eval` of the archive and of the export under `protocol` (NULL: trackeval); returns
// whether the printed tables (all but the last line, which counts videos missing from an
// archive) and the JSON rows are identical.
static bool same_eval(const char *sub, const char *protocol, const char *results) {
    char proto[64] = "";
    if (protocol) snprintf(proto, sizeof proto, "--protocol %s", protocol);
    CHECK_MSG(sh("'%s' eval --gt %s/vis --format youtube-vis --results %s/run.h5 %s --json "
                 "%s/a.json > %s/a.txt", test_pcan(), sub, sub, proto, sub, sub) == 0,
              "eval archive: %s", out);
    CHECK_MSG(sh("'%s' eval --gt %s/vis --format youtube-vis --results %s/%s --results-format "
                 "youtube-vis %s --json %s/b.json > %s/b.txt", test_pcan(), sub, sub, results,
                 proto, sub, sub) == 0, "eval export: %s", out);
    bool same_text = sh("cd %s && sed '$d' a.txt > a2.txt && sed '$d' b.txt > b2.txt && "
                        "test -s a2.txt && cmp a2.txt b2.txt", sub) == 0;
    json_t *a = load(sub, "a.json"), *b = load(sub, "b.json");
    json_t *ra = json_object_get(a, "rows"), *rb = json_object_get(b, "rows");
    CHECK(ra != NULL && json_object_size(ra) > 0);
    bool same_rows = ra && rb && json_equal(ra, rb);
    if (protocol && !strcmp(protocol, "youtube-vis")) {
        // Not a comparison of two empty evaluations: AP is neither undefined, 0 nor 1.
        double ap = json_number_value(json_object_get(json_object_get(ra, "all"), "AP"));
        CHECK_MSG(ap > 0.05 && ap < 0.95, "AP %g", ap);
    }
    json_decref(a);
    json_decref(b);
    return same_text && same_rows;
}

static void test_round_trip(void) {
    for (int mixed = 0; mixed < 2; mixed++) {
        const char *sub = mixed ? "mixed" : "constant";
        write_gt(sub);
        write_archive(sub, mixed);
        CHECK_MSG(sh("'%s' export %s/run.h5 --format youtube-vis --out %s/exp --annotations "
                     "%s/vis/instances.json", test_pcan(), sub, sub, sub) == 0, "export: %s", out);
        CHECK_MSG(same_eval(sub, "youtube-vis", "exp"), "%s: youtube-vis differs:\n%s", sub, out);
        // The file itself instead of its folder.
        CHECK_MSG(same_eval(sub, "youtube-vis", "exp/results.json"), "%s: results.json", sub);
        bool te = same_eval(sub, NULL, "exp");
        if (mixed) CHECK_MSG(!te, "trackeval: a track that changes class should score differently");
        else CHECK_MSG(te, "trackeval differs");
    }
    // The eval of the export notes nothing missing (the file cannot tell): v3 only in the archive's.
    CHECK_EQ_INT(sh("grep -q 'missing from the archive 1' constant/a.txt && "
                    "grep -q 'missing from the archive 0' constant/b.txt"), 0);
    // Bad inputs: exit 2 with the reason.
    int rc = sh("'%s' eval --gt constant/vis --format youtube-vis --results constant/none "
                "--results-format youtube-vis --protocol youtube-vis", test_pcan());
    CHECK_EQ_INT(rc, 2);
    CHECK_CONTAINS(out, "constant/none: cannot read");
    rc = sh("'%s' eval --gt constant/vis/JPEGImages --format frames --results constant/exp "
            "--results-format youtube-vis --protocol youtube-vis", test_pcan());
    CHECK_EQ_INT(rc, 2);
    CHECK_CONTAINS(out, "youtube-vis results are read against a youtube-vis dataset, not frames");
}

static shard_dataset *open_gt(const char *sub) {
    char root[4400];
    snprintf(root, sizeof root, "%s/%s/vis", dir, sub);
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_YOUTUBE_VIS;
    p.root = root;
    p.require_sources = false;
    shard_dataset *ds = NULL;
    CHECK_MSG(shard_dataset_init(&p, &ds) == RT_OK, "%s", rt_error());
    return ds;
}

// Writes `json` as <sub>/r.json and opens it against ds; returns the status.
static rt_status open_results(shard_dataset *ds, const char *sub, const char *json,
                              shard_vis_results **r) {
    char p[4400];
    snprintf(p, sizeof p, "%s/%s/r.json", dir, sub);
    test_write_text(p, json);
    return shard_vis_results_init(ds, p, r);
}

static void test_reader(void) {
    write_gt("reader");
    shard_dataset *ds = open_gt("reader");
    if (!ds) return;
    CHECK_EQ_INT(ds->n_videos, 3);
    size_t v1 = (size_t)shard_dataset_find(ds, "v1"), v2 = (size_t)shard_dataset_find(ds, "v2");
    char d[96], e[96], json[4096];
    rle_json(d, sizeof d, 1, 3, 1, 3);
    rle_json(e, sizeof e, 0, 0, 0, 7);
    snprintf(json, sizeof json,
             "[{\"video_id\": 3, \"category_id\": 2, \"score\": 0.5, \"segmentations\": [null, %s]},\n"
             " {\"video_id\": 99, \"category_id\": 1, \"score\": 1, \"segmentations\": []},\n"
             " {\"video_id\": 7, \"category_id\": 5, \"score\": 0.25, \"segmentations\": [%s]},\n"
             " {\"video_id\": 3, \"category_id\": 1, \"score\": 0.75, \"segmentations\": [%s]}]",
             d, e, e);
    shard_vis_results *r = NULL;
    CHECK_MSG(open_results(ds, "reader", json, &r) == RT_OK, "%s", rt_error());
    if (r) {
        CHECK_EQ_INT(shard_vis_results_count(r, v1), 1);
        CHECK_EQ_INT(shard_vis_results_count(r, v2), 2);
        CHECK_EQ_INT(shard_vis_results_unmatched(r), 1);
        shard_vis_video *v = NULL;
        CHECK_MSG(shard_vis_results_load(r, v2, &v) == RT_OK, "%s", rt_error());
        if (v) {
            CHECK_EQ_INT(v->n_tracks, 2);
            CHECK_EQ_INT(v->height, H);
            CHECK_EQ_INT(v->width, W);
            // file order; ds classes are the categories in id order: cat_a, cat_b, cat_c
            CHECK_EQ_INT(v->tracks[0].class_index, 1);
            CHECK_NEAR(v->tracks[0].score, 0.5, 0);
            CHECK_EQ_INT(v->tracks[0].n_frames, 2);
            CHECK(v->tracks[0].masks[0] == NULL);
            CHECK(v->tracks[0].masks[1] && rt_rle_area(v->tracks[0].masks[1]) == 9);
            CHECK_EQ_INT(v->tracks[1].class_index, 0);
            CHECK_NEAR(v->tracks[1].score, 0.75, 0);
            CHECK(v->tracks[1].masks[0] && rt_rle_area(v->tracks[1].masks[0]) == 8);
        }
        shard_vis_video_free(&v);
        CHECK(v == NULL);
        CHECK_MSG(shard_vis_results_load(r, v1, &v) == RT_OK, "%s", rt_error());
        if (v) CHECK_EQ_INT(v->tracks[0].class_index, 2);
        shard_vis_video_free(&v);
    }
    shard_vis_results_free(&r);
    CHECK(r == NULL);
    // Input errors name the file and the place.
    static const struct {
        const char *json, *want;
        rt_status st;
    } bad[] = {
        {"{}", "r.json: top level: is an object, not a list of tracks", RT_ERR_FORMAT},
        {"[{\"video_id\": 3, \"category_id\": 4, \"score\": 1, \"segmentations\": []}]",
         "r.json: [0]: unknown category_id 4", RT_ERR_FORMAT},
        {"[{\"video_id\": 3, \"category_id\": 1, \"score\": \"x\", \"segmentations\": []}]",
         "r.json: [0]: 'score' is a string, not a number", RT_ERR_FORMAT},
        {"[{\"video_id\": 3, \"category_id\": 1, \"score\": 1}]",
         "r.json: [0]: missing key 'segmentations'", RT_ERR_FORMAT},
        {"[{\"video_id\": 7, \"category_id\": 1, \"score\": 1, \"segmentations\": "
         "[null, null, null, null, null, null]}]",
         "r.json: [0]: segmentations has 6 entries, video v1 has 5 frames", RT_ERR_FORMAT},
    };
    for (size_t i = 0; i < RT_COUNTOF(bad); i++) {
        rt_status st = open_results(ds, "reader", bad[i].json, &r);
        CHECK_EQ_INT(st, bad[i].st);
        CHECK_MSG(strstr(rt_error(), bad[i].want) != NULL, "%zu: %s", i, rt_error());
        CHECK(r == NULL);
    }
    // Mask errors show when a video is loaded.
    snprintf(json, sizeof json,
             "[{\"video_id\": 3, \"category_id\": 1, \"score\": 1, \"segmentations\": [%s, "
             "{\"size\": [4, 4], \"counts\": [16]}]},\n"
             " {\"video_id\": 11, \"category_id\": 1, \"score\": 1, \"segmentations\": "
             "[[1, 2, 3, 4, 5, 6]]}]", d);
    CHECK_MSG(open_results(ds, "reader", json, &r) == RT_OK, "%s", rt_error());
    if (r) {
        shard_vis_video *v = NULL;
        CHECK_EQ_INT(shard_vis_results_load(r, v2, &v), RT_ERR_FORMAT);
        CHECK_MSG(strstr(rt_error(), "[0].segmentations[1]: size [4, 4] differs from [6, 8] of "
                         "[0].segmentations[0]") != NULL, "%s", rt_error());
        CHECK(v == NULL);
        size_t v3 = (size_t)shard_dataset_find(ds, "v3");
        CHECK_EQ_INT(shard_vis_results_load(r, v3, &v), RT_ERR_FORMAT);
        CHECK_MSG(strstr(rt_error(), "[1].segmentations[0]: polygon") != NULL, "%s", rt_error());
    }
    shard_vis_results_free(&r);
    // Only against a youtube-vis dataset with annotations.
    shard_dataset_params p = shard_dataset_default_params();
    char root[4400];
    snprintf(root, sizeof root, "%s/reader/vis/JPEGImages", dir);
    p.format = SHARD_FMT_FRAMES;
    p.root = root;
    shard_dataset *frames = NULL;
    CHECK_MSG(shard_dataset_init(&p, &frames) == RT_OK, "%s", rt_error());
    if (frames) CHECK_EQ_INT(open_results(frames, "reader", "[]", &r), RT_ERR_CONFIG);
    shard_dataset_free(&frames);
    shard_dataset_free(&ds);
}

int main(void) {
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    TEST_RUN(test_reader);
    TEST_RUN(test_round_trip);
    return test_finish();
}
