// Dataset listing and ground-truth readers: small datasets of every format built in the test's
// temporary folder, checked object by object, and malformed annotation files rejected with their
// exact messages.
#include <png.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "runtime/rle.h"
#include "shard/datasets.h"
#include "tests/test.h"

// ---------------------------------------------------------------------------------------------
// Fixture helpers

static const char *g_root;

// A fresh folder under the test's temporary folder for one case; returns a static path that
// stays valid for the whole program (one slot per case).
static const char *fresh(const char *name) {
    static char slots[128][512];
    static int used;
    if (used == 128) abort();
    char *s = slots[used++];
    snprintf(s, sizeof slots[0], "%s/%s", test_tmpdir(), name);
    g_root = s;
    return s;
}

// printf into one of a few rotating static buffers (so several can be used in one call).
static const char *P(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *P(const char *fmt, ...) {
    static char bufs[64][1024];
    static int k;
    char *b = bufs[k++ % 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof bufs[0], fmt, ap);
    va_end(ap);
    return b;
}

static void mkdirs(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
    mkdir(tmp, 0755);
}

// A PNG of the given format (PNG_FORMAT_RGB, PNG_FORMAT_RGBA, ...) from row-major pixels.
static void write_png(const char *path, int w, int h, uint32_t format, const uint8_t *px) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    img.width = (png_uint_32)w;
    img.height = (png_uint_32)h;
    img.format = format;
    png_alloc_size_t n = 0;
    if (!png_image_write_to_memory(&img, NULL, &n, 0, px, 0, NULL)) abort();
    void *mem = malloc(n);
    if (!mem || !png_image_write_to_memory(&img, mem, &n, 0, px, 0, NULL)) abort();
    test_write_file(path, mem, n);
    free(mem);
}

// A plain grey RGB frame.
static void write_frame_png(const char *path, int w, int h) {
    uint8_t *px = calloc((size_t)w * h * 3, 1);
    memset(px, 90, (size_t)w * h * 3);
    write_png(path, w, h, PNG_FORMAT_RGB, px);
    free(px);
}

// The smallest byte string our header reader (and any JPEG parser) takes for a w x h JPEG: SOI,
// SOF0, EOI. The frames are never decoded here.
static void write_frame_jpg(const char *path, int w, int h) {
    const uint8_t b[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 'J', 'F', 0xFF, 0xC0, 0x00, 0x11,
                         0x08, (uint8_t)(h >> 8), (uint8_t)h, (uint8_t)(w >> 8), (uint8_t)w, 3,
                         1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9};
    test_write_file(path, b, sizeof b);
}

// Opens a dataset; NULL (and a failed check) when it does not open.
static shard_dataset *open_ds(const shard_dataset_params *p) {
    shard_dataset *ds = NULL;
    rt_status st = shard_dataset_init(p, &ds);
    CHECK_MSG(st == RT_OK, "shard_dataset_init: %s", rt_error());
    return ds;
}

static shard_gt *load_gt(const shard_dataset *ds, const char *id) {
    int64_t i = shard_dataset_find(ds, id);
    CHECK_MSG(i >= 0, "no video '%s'", id);
    if (i < 0) return NULL;
    shard_gt *gt = NULL;
    rt_status st = shard_gt_load(ds, (size_t)i, &gt);
    CHECK_MSG(st == RT_OK, "shard_gt_load(%s): %s", id, rt_error());
    return gt;
}

// Expects shard_gt_load of `id` (or the init when id is NULL) to fail with exactly `msg`.
static void expect_load_error(const shard_dataset_params *p, const char *id, rt_status want,
                              const char *msg, bool exact) {
    shard_dataset *ds = NULL;
    rt_status st = shard_dataset_init(p, &ds);
    if (id && st == RT_OK) {
        int64_t i = shard_dataset_find(ds, id);
        CHECK_MSG(i >= 0, "no video '%s'", id);
        shard_gt *gt = NULL;
        st = i >= 0 ? shard_gt_load(ds, (size_t)i, &gt) : RT_OK;
        CHECK(gt == NULL);
        shard_gt_free(&gt);
    }
    shard_dataset_free(&ds);
    CHECK_EQ_STR(rt_status_name(st), rt_status_name(want));
    if (exact) CHECK_EQ_STR(rt_error(), msg);
    else CHECK_CONTAINS(rt_error(), msg);
}

// Decoded mask of an object at (row, col).
static int pixel(const shard_gt_object *o, int y, int x) {
    uint8_t m[4096];
    if (o->mask.h * o->mask.w > sizeof m) return -1;
    rt_rle_decode(&o->mask, m);
    return m[y * (int)o->mask.w + x];
}

static rt_rle rle_of(const char *s, uint32_t h, uint32_t w) {
    rt_rle r;
    rt_rle_init(&r);
    if (rt_rle_from_string(&r, h, w, s, strlen(s)) != RT_OK) abort();
    return r;
}

static bool mask_is(const shard_gt_object *o, const char *s) {
    rt_rle r = rle_of(s, o->mask.h, o->mask.w);
    bool eq = rt_rle_equal(&r, &o->mask);
    rt_rle_free(&r);
    return eq;
}

// The tiny worked example of METRICS.md §5: 6x8, frames 0-3, two cars, a pedestrian and an
// ignore region in frame 1.
static const char *k_tiny_kitti =
    "0 1001 1 6 8 0240T1\n0 1002 1 6 8 324000k0\n0 2001 2 6 8 n04>\n"
    "1 1001 1 6 8 0240T1\n1 1002 1 6 8 324000k0\n1 2001 2 6 8 n04>\n1 10000 10 6 8 X1240\n"
    "2 1001 1 6 8 0240T1\n2 1002 1 6 8 324000k0\n2 2001 2 6 8 n04>\n"
    "3 1001 1 6 8 0240T1\n3 1002 1 6 8 324000k0\n3 2001 2 6 8 n04>\n";

static void make_kitti(const char *root, const char *seq, int frames, const char *txt) {
    for (int f = 0; f < frames; f++)
        write_frame_png(P("%s/image_02/%s/%06d.png", root, seq, f), 8, 6);
    if (txt) test_write_text(P("%s/instances_txt/%s.txt", root, seq), txt);
}

// ---------------------------------------------------------------------------------------------
// Tests

static void test_natural_order(void) {
    CHECK(shard_natural_cmp("frame2.jpg", "frame10.jpg") < 0);
    CHECK(shard_natural_cmp("frame10.jpg", "frame2.jpg") > 0);
    CHECK(shard_natural_cmp("000009.png", "000010.png") < 0);
    CHECK(shard_natural_cmp("a", "a1") < 0);
    CHECK(shard_natural_cmp("b", "a10") > 0);
    CHECK(shard_natural_cmp("f01", "f1") != 0); // equal as numbers, still ordered
    CHECK(shard_natural_cmp("f01", "f1") == -shard_natural_cmp("f1", "f01"));
    CHECK_EQ_INT(shard_natural_cmp("x7", "x7"), 0);
}

static void test_format_names(void) {
    for (int f = SHARD_FMT_VIDEOS; f <= SHARD_FMT_SYNTH; f++) {
        shard_dataset_format g = SHARD_FMT_VIDEOS;
        CHECK_EQ_INT(shard_dataset_format_parse(shard_dataset_format_name(f), &g), RT_OK);
        CHECK_EQ_INT(g, f);
    }
    shard_dataset_format g;
    CHECK_EQ_INT(shard_dataset_format_parse("kitti", &g), RT_ERR_CONFIG);
    CHECK_EQ_STR(rt_error(), "dataset.format 'kitti' is not one of videos, frames, kitti-mots, "
                             "mots20, bdd100k-mots, youtube-vis, synth");
}

static void test_videos(void) {
    const char *root = (fresh("videos"));
    test_write_text(P("%s/a.mp4", root), "x");
    test_write_text(P("%s/B.MKV", root), "x");
    test_write_text(P("%s/clip.webm", root), "x");
    test_write_text(P("%s/notes.txt", root), "x");
    test_write_text(P("%s/.hidden.mp4", root), "x");
    mkdirs(P("%s/folder.mp4.d", root));
    shard_dataset_params p = shard_dataset_default_params();
    p.root = root;
    shard_dataset *ds = open_ds(&p);
    if (!ds) return;
    CHECK_EQ_INT(ds->n_videos, 3);
    CHECK_EQ_STR(ds->videos[0].id, "B"); // strcmp order
    CHECK_EQ_STR(ds->videos[1].id, "a");
    CHECK_EQ_STR(ds->videos[2].id, "clip");
    CHECK_EQ_STR(ds->videos[1].source, P("%s/a.mp4", root));
    CHECK_EQ_INT(ds->videos[1].frames, -1);
    CHECK(!ds->videos[1].has_gt);
    CHECK_EQ_INT(shard_dataset_find(ds, "clip"), 2);
    CHECK_EQ_INT(shard_dataset_find(ds, "nope"), -1);
    shard_gt *gt = NULL;
    CHECK_EQ_INT(shard_gt_load(ds, 0, &gt), RT_ERR_INVAL);
    CHECK_EQ_STR(rt_error(), "video 'B' has no ground truth");
    shard_dataset_free(&ds);
    CHECK(ds == NULL);
    shard_dataset_free(&ds); // NULL is fine

    const char *inc[] = {"[a-z]*"}, *exc[] = {"c*"};
    p.include = inc;
    p.n_include = 1;
    p.exclude = exc;
    p.n_exclude = 1;
    ds = open_ds(&p);
    if (ds) {
        CHECK_EQ_INT(ds->n_videos, 1);
        CHECK_EQ_STR(ds->videos[0].id, "a");
    }
    shard_dataset_free(&ds);

    test_write_text(P("%s/a.avi", root), "x");
    p = shard_dataset_default_params();
    p.root = root;
    expect_load_error(&p, NULL, RT_ERR_FORMAT,
                      P("%s: two videos have the id 'a' (%s/a.avi, %s/a.mp4)", root, root, root),
                      true);
    // A root that is not there is an error for every format (bdd100k-mots and youtube-vis,
    // whose annotations are optional, once listed it as an empty dataset).
    for (int f = SHARD_FMT_VIDEOS; f <= SHARD_FMT_SYNTH; f++) {
        p = shard_dataset_default_params();
        p.format = (shard_dataset_format)f;
        p.root = P("%s/missing", root);
        p.split = "train";
        p.require_sources = false;
        expect_load_error(&p, NULL, RT_ERR_IO, P("dataset.root %s/missing: no such folder", root),
                          true);
    }
}

static void test_frames(void) {
    const char *root = (fresh("frames"));
    write_frame_jpg(P("%s/v1/frame2.jpg", root), 8, 6);
    write_frame_jpg(P("%s/v1/frame10.JPEG", root), 8, 6);
    write_frame_png(P("%s/v1/frame1.png", root), 8, 6);
    test_write_text(P("%s/v1/info.txt", root), "not a frame");
    mkdirs(P("%s/v0", root));
    test_write_text(P("%s/stray.jpg", root), "x");
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_FRAMES;
    p.root = root;
    shard_dataset *ds = open_ds(&p);
    if (!ds) return;
    CHECK_EQ_INT(ds->n_videos, 2);
    CHECK_EQ_STR(ds->videos[0].id, "v0");
    CHECK_EQ_INT(ds->videos[0].frames, 0); // listed; the video reader reports it as failed
    CHECK_EQ_STR(ds->videos[1].id, "v1");
    CHECK_EQ_INT(ds->videos[1].frames, 3);
    CHECK_EQ_STR(ds->videos[1].source, P("%s/v1", root));
    shard_dataset_free(&ds);
}

static void check_tiny_gt(const shard_gt *gt, int car, int ped) {
    CHECK_EQ_INT(gt->n_frames, 4);
    CHECK_EQ_INT(gt->height, 6);
    CHECK_EQ_INT(gt->width, 8);
    CHECK_EQ_INT(gt->n_objects, 13);
    for (int f = 0; f < 4; f++) {
        const shard_gt_frame *fr = &gt->frames[f];
        CHECK(fr->annotated);
        CHECK_EQ_INT(fr->n_objects, f == 1 ? 4 : 3);
        if (fr->n_objects < 3) continue;
        CHECK_EQ_INT(fr->objects[0].track_id, 1001);
        CHECK_EQ_INT(fr->objects[0].class_index, car);
        CHECK(!fr->objects[0].ignore && !fr->objects[0].crowd);
        CHECK_EQ_INT(rt_rle_area(&fr->objects[0].mask), 4);
        CHECK_EQ_INT(pixel(&fr->objects[0], 1, 1), 1);
        CHECK_EQ_INT(pixel(&fr->objects[0], 2, 1), 0);
        CHECK_EQ_INT(fr->objects[1].track_id, 1002);
        CHECK_EQ_INT(rt_rle_area(&fr->objects[1].mask), 6);
        CHECK_EQ_INT(pixel(&fr->objects[1], 4, 2), 1);
        CHECK_EQ_INT(fr->objects[2].track_id, 2001);
        CHECK_EQ_INT(fr->objects[2].class_index, ped);
        CHECK(mask_is(&fr->objects[2], "n04>"));
        CHECK_EQ_INT(pixel(&fr->objects[2], 3, 5), 1);
    }
    const shard_gt_object *ig = &gt->frames[1].objects[3];
    CHECK_EQ_INT(ig->track_id, 10000);
    CHECK_EQ_INT(ig->class_index, -1);
    CHECK(ig->ignore);
    CHECK_EQ_INT(rt_rle_area(&ig->mask), 4);
    CHECK_EQ_INT(pixel(ig, 5, 7), 1);
}

static void test_kitti_mots(void) {
    const char *root = (fresh("kitti"));
    make_kitti(root, "0000", 4, k_tiny_kitti);
    make_kitti(root, "0001", 2, NULL); // frames without annotations
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_KITTI_MOTS;
    p.root = root;
    shard_dataset *ds = open_ds(&p);
    if (!ds) return;
    CHECK_EQ_INT(ds->n_videos, 2);
    CHECK_EQ_STR(ds->videos[0].id, "0000");
    CHECK(ds->videos[0].has_gt);
    CHECK_EQ_INT(ds->videos[0].frames, 4);
    CHECK_EQ_STR(ds->videos[0].source, P("%s/image_02/0000", root));
    CHECK(!ds->videos[1].has_gt);
    CHECK_EQ_INT(ds->n_classes, 2);
    CHECK_EQ_STR(ds->classes[0], "car");
    CHECK_EQ_STR(ds->classes[1], "pedestrian");
    shard_gt *gt = load_gt(ds, "0000");
    if (gt) check_tiny_gt(gt, 0, 1);
    shard_gt_free(&gt);
    CHECK(gt == NULL);
    shard_dataset_free(&ds);

    // The job's class list (BDD order): the default map finds car and pedestrian by name.
    const char *bdd[] = {"pedestrian", "rider", "car", "truck", "bus", "train", "motorcycle",
                         "bicycle"};
    p.classes = bdd;
    p.n_classes = 8;
    ds = open_ds(&p);
    if (!ds) return;
    gt = load_gt(ds, "0000");
    if (gt) check_tiny_gt(gt, 2, 0);
    shard_gt_free(&gt);
    shard_dataset_free(&ds);

    // A map by KITTI class name and by id onto other model names.
    const char *mine[] = {"person", "vehicle"};
    shard_class_map_entry map[] = {{"car", "vehicle"}, {"2", "person"}};
    p.classes = mine;
    p.n_classes = 2;
    p.class_map = map;
    p.n_class_map = 2;
    ds = open_ds(&p);
    if (!ds) return;
    gt = load_gt(ds, "0000");
    if (gt) check_tiny_gt(gt, 1, 0);
    shard_gt_free(&gt);
    shard_dataset_free(&ds);
}

static void test_kitti_trackeval_layout(void) {
    // TrackEval: gt/label_02/<seq>.txt + gt/evaluate_mots.seqmap.val; no images at all.
    const char *gt = (fresh("trackeval/gt"));
    test_write_text(P("%s/label_02/0000.txt", gt), k_tiny_kitti);
    test_write_text(P("%s/label_02/0007.txt", gt), "0 1001 1 6 8 0240T1\n");
    test_write_text(P("%s/evaluate_mots.seqmap.val", gt), "0000 empty 000000 000003\n");
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_KITTI_MOTS;
    p.root = P("%s/../images", gt);
    p.gt = gt;
    p.split = "val";
    p.require_sources = false;
    shard_dataset *ds = open_ds(&p);
    if (!ds) return;
    CHECK_EQ_INT(ds->n_videos, 1); // only the seqmap's sequences
    CHECK_EQ_STR(ds->videos[0].id, "0000");
    CHECK(ds->videos[0].source == NULL);
    CHECK_EQ_INT(ds->videos[0].frames, 4); // last frame 3 + 1
    shard_gt *g = load_gt(ds, "0000");
    if (g) check_tiny_gt(g, 0, 1);
    shard_gt_free(&g);
    shard_dataset_free(&ds);

    // Without a split: every label file; lengths unknown, so last annotated frame + 1.
    p.split = NULL;
    ds = open_ds(&p);
    if (!ds) return;
    CHECK_EQ_INT(ds->n_videos, 2);
    CHECK_EQ_INT(ds->videos[1].frames, -1);
    g = load_gt(ds, "0007");
    if (g) CHECK_EQ_INT(g->n_frames, 1);
    shard_gt_free(&g);
    shard_dataset_free(&ds);

    // With sources required, missing frames are an error.
    p.split = "val";
    p.require_sources = true;
    expect_load_error(&p, NULL, RT_ERR_IO,
                      P("%s/evaluate_mots.seqmap.val: video '0000': its frames are missing (no "
                        "folder %s/../images/image_02/0000)", gt, gt), true);
}

static void test_mots20(void) {
    const char *root = (fresh("mots20/train"));
    for (int f = 1; f <= 4; f++) write_frame_jpg(P("%s/MOTS20-02/img1/%06d.jpg", root, f), 8, 6);
    test_write_text(P("%s/MOTS20-02/seqinfo.ini", root),
                    "[Sequence]\nname=MOTS20-02\nimDir=img1\nframeRate=30\nseqLength=4\n");
    test_write_text(P("%s/MOTS20-02/gt/gt.txt", root),
                    "1 2001 2 6 8 n04>\n2 2001 2 6 8 n04>\n2 10000 10 6 8 X1240\n"
                    "4 2002 2 6 8 0240T1\n4 1001 1 6 8 324000k0\n");
    for (int f = 1; f <= 3; f++) write_frame_jpg(P("%s/MOTS20-05/img1/%06d.jpg", root, f), 8, 6);
    test_write_text(P("%s/../seqmaps/MOTS-train.txt", root), "name\nMOTS20-02\n");
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_MOTS20;
    p.root = root;
    shard_dataset *ds = open_ds(&p);
    if (!ds) return;
    CHECK_EQ_INT(ds->n_videos, 2);
    CHECK_EQ_INT(ds->videos[0].frames, 4); // seqinfo.ini
    CHECK_EQ_INT(ds->videos[1].frames, 3); // counted
    CHECK_EQ_STR(ds->videos[0].source, P("%s/MOTS20-02/img1", root));
    CHECK(ds->videos[0].has_gt && !ds->videos[1].has_gt);
    CHECK_EQ_INT(ds->n_classes, 1);
    shard_gt *gt = load_gt(ds, "MOTS20-02");
    if (gt) {
        CHECK_EQ_INT(gt->n_frames, 4);
        // File frame 1 is frame index 0; the class-1 row is not evaluated and dropped.
        CHECK_EQ_INT(gt->frames[0].n_objects, 1);
        CHECK_EQ_INT(gt->frames[0].objects[0].track_id, 2001);
        CHECK_EQ_INT(gt->frames[0].objects[0].class_index, 0);
        CHECK_EQ_INT(gt->frames[1].n_objects, 2);
        CHECK(gt->frames[1].objects[1].ignore);
        CHECK_EQ_INT(gt->frames[2].n_objects, 0);
        CHECK_EQ_INT(gt->frames[3].n_objects, 1);
        CHECK_EQ_INT(gt->frames[3].objects[0].track_id, 2002);
        CHECK_EQ_INT(gt->n_objects, 4);
    }
    shard_gt_free(&gt);
    shard_dataset_free(&ds);

    p.split = "train";
    ds = open_ds(&p);
    if (ds) {
        CHECK_EQ_INT(ds->n_videos, 1);
        CHECK_EQ_STR(ds->videos[0].id, "MOTS20-02");
    }
    shard_dataset_free(&ds);

    // TrackEval's layout: gt/<seq>/{gt/gt.txt, seqinfo.ini}, no images; the length from there.
    const char *te = fresh("mots20-trackeval/MOTS-train");
    test_write_text(P("%s/MOTS20-09/gt/gt.txt", te), "5 2001 2 6 8 n04>\n");
    test_write_text(P("%s/MOTS20-09/seqinfo.ini", te), "[Sequence]\nseqLength = 7\n");
    test_write_text(P("%s/../seqmaps/MOTS-train.txt", te), "name\nMOTS20-09\n");
    p.root = P("%s/../images", te);
    p.gt = te;
    p.require_sources = false;
    ds = open_ds(&p);
    if (ds) {
        CHECK_EQ_INT(ds->n_videos, 1);
        CHECK(ds->videos[0].source == NULL);
        CHECK_EQ_INT(ds->videos[0].frames, 7);
        shard_gt *g = load_gt(ds, "MOTS20-09");
        if (g) {
            CHECK_EQ_INT(g->n_frames, 7);
            CHECK_EQ_INT(g->frames[4].n_objects, 1);
        }
        shard_gt_free(&g);
    }
    shard_dataset_free(&ds);
}

static const char *k_bdd_json =
    "[{\"name\": \"a-1.jpg\", \"videoName\": \"vidA\", \"frameIndex\": 0, \"labels\": [\n"
    "  {\"id\": \"17\", \"category\": \"pedestrian\", \"attributes\": {\"crowd\": false},\n"
    "   \"rle\": {\"counts\": \"0240T1\", \"size\": [6, 8]}},\n"
    "  {\"id\": \"4\", \"category\": \"car\", \"attributes\": {\"crowd\": true},\n"
    "   \"rle\": {\"counts\": \"324000k0\", \"size\": [6, 8]}},\n"
    "  {\"id\": \"9\", \"category\": \"other person\",\n"
    "   \"rle\": {\"counts\": \"X1240\", \"size\": [6, 8]}},\n"
    "  {\"id\": \"5\", \"category\": \"van\",\n"
    "   \"rle\": {\"counts\": \"n04>\", \"size\": [6, 8]}}]},\n"
    " {\"name\": \"a-2.jpg\", \"videoName\": \"vidA\", \"frameIndex\": 1, \"labels\": [\n"
    "  {\"id\": \"17\", \"category\": \"pedestrian\", \"attributes\": {\"ignored\": true},\n"
    "   \"rle\": {\"counts\": \"0240T1\", \"size\": [6, 8]}}]}]\n";

static void make_bdd_images(const char *root, const char *vid, int n) {
    for (int f = 1; f <= n; f++)
        write_frame_jpg(P("%s/images/seg_track_20/val/%s/%s-%07d.jpg", root, vid, vid, f), 8, 6);
}

static void test_bdd_scalabel(void) {
    const char *root = (fresh("bdd"));
    make_bdd_images(root, "vidA", 3);
    make_bdd_images(root, "vidB", 2);
    test_write_text(P("%s/labels/seg_track_20/rles/val/vidA.json", root), k_bdd_json);
    test_write_text(P("%s/labels/seg_track_20/rles/val/vidB.json", root),
                    "{\"frames\": [{\"videoName\": \"vidB\", \"frameIndex\": 1, \"labels\": [\n"
                    " {\"id\": \"zz\", \"category\": \"rider\", \"rle\": {\"counts\": \"0240T1\","
                    " \"size\": [6, 8]}},\n"
                    " {\"id\": \"ab\", \"category\": \"bike\", \"rle\": {\"counts\": \"n04>\","
                    " \"size\": [6, 8]}}]}], \"config\": {}}\n");
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_BDD100K_MOTS;
    p.root = root;
    p.split = "val";
    shard_dataset *ds = open_ds(&p);
    if (!ds) return;
    CHECK_EQ_INT(ds->n_videos, 2);
    CHECK_EQ_INT(ds->videos[0].frames, 3);
    CHECK(ds->videos[0].has_gt && ds->videos[1].has_gt);
    CHECK_EQ_INT(ds->n_classes, 8);
    shard_gt *gt = load_gt(ds, "vidA");
    if (gt) {
        CHECK_EQ_INT(gt->n_frames, 3);
        CHECK(gt->frames[0].annotated && gt->frames[1].annotated && !gt->frames[2].annotated);
        CHECK_EQ_INT(gt->frames[0].n_objects, 4);
        const shard_gt_object *o = gt->frames[0].objects;
        CHECK_EQ_INT(o[0].track_id, 17);
        CHECK_EQ_INT(o[0].class_index, 0);
        CHECK(!o[0].ignore && !o[0].crowd);
        CHECK(mask_is(&o[0], "0240T1"));
        CHECK_EQ_INT(o[1].class_index, 2); // car, crowd: an ignore region
        CHECK(o[1].ignore && o[1].crowd);
        CHECK_EQ_INT(o[2].class_index, 0); // 'other person' -> pedestrian, ignored
        CHECK(o[2].ignore && !o[2].crowd);
        CHECK_EQ_INT(o[3].class_index, 2); // van -> car
        CHECK(!o[3].ignore);
        CHECK_EQ_INT(gt->frames[1].n_objects, 1);
        CHECK(gt->frames[1].objects[0].ignore);
    }
    shard_gt_free(&gt);
    gt = load_gt(ds, "vidB");
    if (gt) {
        // Non-numeric ids: renumbered 1..n in sorted string order ("ab" = 1, "zz" = 2).
        CHECK_EQ_INT(gt->frames[1].n_objects, 2);
        CHECK_EQ_INT(gt->frames[1].objects[0].track_id, 2);
        CHECK_EQ_INT(gt->frames[1].objects[0].class_index, 1);
        CHECK_EQ_INT(gt->frames[1].objects[1].track_id, 1);
        CHECK_EQ_INT(gt->frames[1].objects[1].class_index, 7);
        CHECK(!gt->frames[0].annotated);
    }
    shard_gt_free(&gt);
    shard_dataset_free(&ds);

    // One Scalabel file for all videos.
    test_write_text(P("%s/all.json", root),
                    "[{\"videoName\": \"vidB\", \"frameIndex\": 0, \"labels\": [{\"id\": \"3\", "
                    "\"category\": \"truck\", \"rle\": {\"counts\": \"n04>\", \"size\": [6, 8]}}"
                    "]}, {\"videoName\": \"vidZ\", \"frameIndex\": 0}]");
    p.gt = P("%s/all.json", root);
    p.require_sources = false;
    ds = open_ds(&p);
    if (!ds) return;
    CHECK_EQ_INT(ds->n_videos, 3);
    CHECK(!ds->videos[0].has_gt && ds->videos[1].has_gt && ds->videos[2].has_gt);
    CHECK(ds->videos[2].source == NULL);
    gt = load_gt(ds, "vidB");
    if (gt) {
        CHECK_EQ_INT(gt->n_objects, 1);
        CHECK_EQ_INT(gt->frames[0].objects[0].class_index, 3);
        CHECK_EQ_INT(gt->frames[0].objects[0].track_id, 3);
    }
    shard_gt_free(&gt);
    shard_dataset_free(&ds);

    // The job's map wins over the defaults: distractors dropped, vans kept as ignore regions.
    shard_class_map_entry map[] = {{"other person", "drop"}, {"van", "ignore"}};
    p.gt = NULL;
    p.class_map = map;
    p.n_class_map = 2;
    ds = open_ds(&p);
    if (!ds) return;
    gt = load_gt(ds, "vidA");
    if (gt) {
        CHECK_EQ_INT(gt->frames[0].n_objects, 3);
        CHECK_EQ_INT(gt->frames[0].objects[2].track_id, 5);
        CHECK_EQ_INT(gt->frames[0].objects[2].class_index, -1);
        CHECK(gt->frames[0].objects[2].ignore);
    }
    shard_gt_free(&gt);
    shard_dataset_free(&ds);
    p.class_map = NULL;
    p.n_class_map = 0;
    p.gt = P("%s/all.json", root);

    p.require_sources = true;
    expect_load_error(&p, NULL, RT_ERR_IO,
                      P("video 'vidZ' has annotations but no frames at "
                        "%s/images/seg_track_20/val/vidZ", root), true);
    p.split = NULL;
    expect_load_error(&p, NULL, RT_ERR_CONFIG, "dataset.split is required for bdd100k-mots "
                      "(images/seg_track_20/<split>)", true);
}

// RGBA bitmask: R category, G attributes, B<<8|A instance id.
static void put(uint8_t *px, int w, int y, int x, int cat, int attr, int id) {
    uint8_t *p = px + (y * w + x) * 4;
    p[0] = (uint8_t)cat;
    p[1] = (uint8_t)attr;
    p[2] = (uint8_t)(id >> 8);
    p[3] = (uint8_t)id;
}

static void test_bdd_bitmasks(void) {
    const char *root = (fresh("bddbm"));
    make_bdd_images(root, "vidA", 2);
    const int w = 8, h = 6;
    uint8_t px[8 * 6 * 4] = {0};
    // Instance 1 (pedestrian): rows 0-1, cols 0-1. Instance 258 (car, crowd): column 7 plus
    // (row 0, col 6)... runs crossing a column boundary: rows 4-5 of col 6 and row 0 of col 7.
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 2; x++) put(px, w, y, x, 1, 0, 1);
    put(px, w, 4, 6, 3, 2, 258);
    put(px, w, 5, 6, 3, 2, 258);
    put(px, w, 0, 7, 3, 2, 258);
    put(px, w, 3, 3, 6, 1, 7); // train, ignored
    write_png(P("%s/labels/seg_track_20/bitmasks/val/vidA/vidA-0000002.png", root), w, h,
              PNG_FORMAT_RGBA, px);
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_BDD100K_MOTS;
    p.root = root;
    p.split = "val";
    shard_dataset *ds = open_ds(&p);
    if (!ds) return;
    CHECK_EQ_INT(ds->n_videos, 1);
    CHECK(ds->videos[0].has_gt);
    shard_gt *gt = load_gt(ds, "vidA");
    if (gt) {
        CHECK_EQ_INT(gt->n_frames, 2);
        CHECK(!gt->frames[0].annotated); // no bitmask for vidA-0000001
        CHECK(gt->frames[1].annotated);
        CHECK_EQ_INT(gt->frames[1].n_objects, 3);
        const shard_gt_object *o = gt->frames[1].objects;
        CHECK_EQ_INT(o[0].track_id, 1);
        CHECK_EQ_INT(o[0].class_index, 0);
        CHECK(mask_is(&o[0], "0240T1"));
        CHECK_EQ_INT(o[1].track_id, 7);
        CHECK_EQ_INT(o[1].class_index, 5);
        CHECK(o[1].ignore && !o[1].crowd);
        CHECK_EQ_INT(pixel(&o[1], 3, 3), 1);
        CHECK_EQ_INT(o[2].track_id, 258);
        CHECK_EQ_INT(o[2].class_index, 2);
        CHECK(o[2].ignore && o[2].crowd);
        CHECK_EQ_INT(rt_rle_area(&o[2].mask), 3);
        // One run across the column boundary: counts [40, 3, 5].
        CHECK_EQ_INT(o[2].mask.n, 3);
        CHECK_EQ_INT(pixel(&o[2], 5, 6), 1);
        CHECK_EQ_INT(pixel(&o[2], 0, 7), 1);
        CHECK_EQ_INT(pixel(&o[2], 1, 7), 0);
    }
    shard_gt_free(&gt);
    shard_dataset_free(&ds);
}

static const char *k_ytvis_json =
    "{\"videos\": [{\"id\": 5, \"width\": 8, \"height\": 6, \"length\": 3,\n"
    "   \"file_names\": [\"v1/00000.jpg\", \"v1/00005.jpg\", \"v1/00010.jpg\"]},\n"
    "  {\"id\": 6, \"file_names\": [\"v2/a.jpg\"]}],\n"
    " \"annotations\": [\n"
    "  {\"id\": 11, \"video_id\": 5, \"category_id\": 3, \"iscrowd\": 0,\n"
    "   \"segmentations\": [{\"counts\": \"0240T1\", \"size\": [6, 8]}, null,\n"
    "                       {\"counts\": [0, 2, 4, 2, 40], \"size\": [6, 8]}]},\n"
    "  {\"id\": 12, \"video_id\": 5, \"category_id\": 1, \"iscrowd\": 1,\n"
    "   \"segmentations\": [null, {\"counts\": \"n04>\", \"size\": [6, 8]}, null]},\n"
    "  {\"id\": 13, \"video_id\": 6, \"category_id\": 1, \"segmentations\": [null]}],\n"
    " \"categories\": [{\"id\": 3, \"name\": \"car\"}, {\"id\": 1, \"name\": \"person\"}]}\n";

static void test_youtube_vis(void) {
    const char *root = (fresh("ytvis"));
    for (int f = 0; f <= 10; f += 5) write_frame_jpg(P("%s/JPEGImages/v1/%05d.jpg", root, f), 8, 6);
    write_frame_jpg(P("%s/JPEGImages/v1/00003.jpg", root), 8, 6); // not annotated
    write_frame_jpg(P("%s/JPEGImages/v2/a.jpg", root), 8, 6);
    write_frame_jpg(P("%s/JPEGImages/v3/a.jpg", root), 8, 6);
    test_write_text(P("%s/instances.json", root), k_ytvis_json);
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_YOUTUBE_VIS;
    p.root = root;
    shard_dataset *ds = open_ds(&p);
    if (!ds) return;
    CHECK_EQ_INT(ds->n_videos, 3);
    CHECK(ds->videos[0].has_gt && ds->videos[1].has_gt && !ds->videos[2].has_gt);
    CHECK_EQ_INT(ds->videos[0].frames, 4);
    CHECK_EQ_INT(ds->n_classes, 2); // categories in id order
    CHECK_EQ_STR(ds->classes[0], "person");
    CHECK_EQ_STR(ds->classes[1], "car");
    shard_gt *gt = load_gt(ds, "v1");
    if (gt) {
        // Folder order 00000, 00003, 00005, 00010: file_names map to frames 0, 2, 3.
        CHECK_EQ_INT(gt->n_frames, 4);
        CHECK(gt->frames[0].annotated && !gt->frames[1].annotated);
        CHECK(gt->frames[2].annotated && gt->frames[3].annotated);
        CHECK_EQ_INT(gt->frames[0].n_objects, 1);
        CHECK_EQ_INT(gt->frames[0].objects[0].track_id, 11);
        CHECK_EQ_INT(gt->frames[0].objects[0].class_index, 1);
        CHECK_EQ_INT(gt->frames[2].n_objects, 1);
        CHECK_EQ_INT(gt->frames[2].objects[0].track_id, 12);
        CHECK_EQ_INT(gt->frames[2].objects[0].class_index, 0);
        CHECK(gt->frames[2].objects[0].crowd && gt->frames[2].objects[0].ignore);
        CHECK_EQ_INT(gt->frames[3].n_objects, 1);
        CHECK(mask_is(&gt->frames[3].objects[0], "0240T1")); // uncompressed counts
    }
    shard_gt_free(&gt);
    shard_dataset_free(&ds);

    // One JSON per video (tools/split_annotations.py): gt is the folder.
    test_write_text(P("%s/per-video/v1.json", root), k_ytvis_json);
    p.gt = P("%s/per-video", root);
    ds = open_ds(&p);
    if (!ds) return;
    CHECK(ds->videos[0].has_gt && !ds->videos[1].has_gt && !ds->videos[2].has_gt);
    CHECK_EQ_INT(ds->n_classes, 2);
    gt = load_gt(ds, "v1");
    if (gt) {
        CHECK_EQ_INT(gt->n_objects, 3);
        CHECK_EQ_INT(gt->frames[2].objects[0].track_id, 12);
    }
    shard_gt_free(&gt);
    shard_dataset_free(&ds);

    // A valid/test split: videos and categories, no annotations -> no ground truth.
    test_write_text(P("%s/valid.json", root), "{\"videos\": [{\"id\": 5, \"file_names\": "
                    "[\"v1/00000.jpg\"]}], \"categories\": [{\"id\": 1, \"name\": \"x\"}]}");
    p.gt = P("%s/valid.json", root);
    ds = open_ds(&p);
    if (ds) CHECK(!ds->videos[0].has_gt && !ds->videos[1].has_gt && !ds->videos[2].has_gt);
    shard_dataset_free(&ds);
    p.gt = NULL;

    // The job's classes with a map by id: person -> pedestrian; car is not in the list: dropped.
    const char *cls[] = {"pedestrian", "rider"};
    shard_class_map_entry map[] = {{"1", "pedestrian"}};
    p.classes = cls;
    p.n_classes = 2;
    p.class_map = map;
    p.n_class_map = 1;
    ds = open_ds(&p);
    if (!ds) return;
    gt = load_gt(ds, "v1");
    if (gt) {
        CHECK_EQ_INT(gt->n_objects, 1);
        CHECK_EQ_INT(gt->frames[2].objects[0].class_index, 0);
    }
    shard_gt_free(&gt);
    shard_dataset_free(&ds);
}

static void test_synth(void) {
    const char *root = (fresh("synth"));
    test_write_text(P("%s/classes.txt", root), "car\npedestrian\ncyclist\n");
    test_write_text(P("%s/videos/s0.mp4", root), "not decoded here");
    for (int f = 0; f < 2; f++) write_frame_png(P("%s/frames/s1/%06d.png", root, f), 8, 6);
    test_write_text(P("%s/instances_txt/s0.txt", root),
                    "0 1001 1 6 8 0240T1\n1 3001 3 6 8 n04>\n2 2005 2 6 8 X1240\n");
    test_write_text(P("%s/instances_txt/s1.txt", root), "1 3001 3 6 8 n04>\n");
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_SYNTH;
    p.root = root;
    shard_dataset *ds = open_ds(&p);
    if (!ds) return;
    CHECK_EQ_INT(ds->n_videos, 2);
    CHECK_EQ_STR(ds->videos[0].source, P("%s/videos/s0.mp4", root));
    CHECK_EQ_INT(ds->videos[0].frames, -1);
    CHECK_EQ_STR(ds->videos[1].source, P("%s/frames/s1", root));
    CHECK_EQ_INT(ds->videos[1].frames, 2);
    CHECK(ds->videos[0].has_gt && ds->videos[1].has_gt);
    CHECK_EQ_INT(ds->n_classes, 3);
    CHECK_EQ_STR(ds->classes[2], "cyclist");
    shard_gt *gt = load_gt(ds, "s0");
    if (gt) {
        CHECK_EQ_INT(gt->n_frames, 3);
        CHECK_EQ_INT(gt->frames[1].objects[0].class_index, 2);
        CHECK_EQ_INT(gt->frames[2].objects[0].class_index, 1);
    }
    shard_gt_free(&gt);
    shard_dataset_free(&ds);

    // A map by class name: cyclist -> ignore regions; pedestrian -> dropped.
    shard_class_map_entry map[] = {{"cyclist", "ignore"}, {"pedestrian", "drop"}};
    p.class_map = map;
    p.n_class_map = 2;
    ds = open_ds(&p);
    if (!ds) return;
    gt = load_gt(ds, "s0");
    if (gt) {
        CHECK_EQ_INT(gt->n_objects, 2);
        CHECK(gt->frames[1].objects[0].ignore);
        CHECK_EQ_INT(gt->frames[1].objects[0].class_index, -1);
        CHECK_EQ_INT(gt->frames[2].n_objects, 0);
    }
    shard_gt_free(&gt);
    shard_dataset_free(&ds);

    // Annotations without a video: an error, or listed without a source.
    test_write_text(P("%s/instances_txt/s9.txt", root), "0 1001 1 6 8 0240T1\n");
    p.class_map = NULL;
    p.n_class_map = 0;
    expect_load_error(&p, NULL, RT_ERR_IO,
                      P("video 's9' has annotations but no video in %s/videos or %s/frames", root,
                        root), true);
    p.require_sources = false;
    ds = open_ds(&p);
    if (ds) {
        CHECK_EQ_INT(ds->n_videos, 3);
        CHECK(ds->videos[2].source == NULL && ds->videos[2].has_gt);
    }
    shard_dataset_free(&ds);
    p.require_sources = true;
    remove(P("%s/instances_txt/s9.txt", root));

    shard_class_map_entry bad[] = {{"cyclist", "bicycle"}};
    p.class_map = bad;
    p.n_class_map = 1;
    expect_load_error(&p, NULL, RT_ERR_CONFIG,
                      "dataset.classes: 'cyclist' maps to 'bicycle', which is not in the class "
                      "list (nor 'ignore' or 'drop')", true);
}

// Writes one malformed KITTI file (0000, 4 frames of 6x8 images) and expects its message.
static void bad_kitti(const char *name, const char *txt, const char *msg, bool exact) {
    const char *root = (fresh(name));
    make_kitti(root, "0000", 4, txt);
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_KITTI_MOTS;
    p.root = root;
    const char *file = P("%s/instances_txt/0000.txt", root);
    expect_load_error(&p, "0000", RT_ERR_FORMAT, P("%s: %s", file, msg), exact);
}

static void bad_bdd_json(const char *name, const char *json, const char *msg, bool exact) {
    const char *root = (fresh(name));
    make_bdd_images(root, "vidA", 3);
    const char *file = P("%s/labels/seg_track_20/rles/val/vidA.json", root);
    test_write_text(file, json);
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_BDD100K_MOTS;
    p.root = root;
    p.split = "val";
    expect_load_error(&p, "vidA", RT_ERR_FORMAT, P("%s%s", file, msg), exact);
}

static const char *lab(const char *label) {
    return P("[{\"videoName\": \"vidA\", \"frameIndex\": 0, \"labels\": [%s]}]", label);
}

static void test_malformed_text(void) {
    bad_kitti("bad1", "0 1001 1 6 8\n", "line 1: expected 6 columns (frame obj_id class_id "
              "height width rle), found 5", true);
    bad_kitti("bad2", "0 1001 1 6 8 0240T1\n\n1 1001 1 6 8 0240T1 x\n", "line 3: expected 6 "
              "columns (frame obj_id class_id height width rle), found more than 6", true);
    bad_kitti("bad3", "0 1x01 1 6 8 0240T1\n", "line 1: column 2 (obj_id): '1x01' is not an "
              "integer >= 0", true);
    bad_kitti("bad4", "0 1001 1 6 8 0240T1\n1 1001 1 6 8 0240T\n", "line 2: rle string", false);
    bad_kitti("bad5", "0 1001 1 6 8 0240T1\n0 1002 1 6 8 0240T2\n",
              "line 2: rle string: counts add up to", false);
    bad_kitti("bad6", "0 1001 1 6 9 0240Z1\n", "", false);
    CHECK_CONTAINS(rt_error(), P("line 1: mask size 6x9 (h x w) differs from the image size "
                                 "6x8 of %s/image_02/0000", g_root));
    bad_kitti("bad7", "4 1001 1 6 8 0240T1\n", "line 1: frame 4 is out of range 0..3 (4 "
              "frames)", true);
    bad_kitti("bad8", "0 1001 1 6 8 0240T1\n0 1001 1 6 8 n04>\n", "line 2: track id 1001 "
              "appears twice in frame 0 (also at line 1)", true);
    bad_kitti("bad9", "0 1001 2 6 8 0240T1\n", "line 1: class_id 2 does not match obj_id 1001 "
              "(class_id must be obj_id / 1000)", true);
    bad_kitti("bad10", "0 1001 1 0 8 0240T1\n", "line 1: column 4 (height): '0' is not an "
              "integer >= 1", true);
    bad_kitti("bad11", "-1 1001 1 6 8 0240T1\n", "line 1: frame -1 is out of range 0..3 (4 "
              "frames)", true);

    // MOTS20: frames are 1-based, so 0 is out of range.
    const char *root = (fresh("bad-mots20"));
    for (int f = 1; f <= 2; f++) write_frame_jpg(P("%s/S/img1/%06d.jpg", root, f), 8, 6);
    test_write_text(P("%s/S/gt/gt.txt", root), "1 2001 2 6 8 n04>\n0 2001 2 6 8 n04>\n");
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_MOTS20;
    p.root = root;
    expect_load_error(&p, "S", RT_ERR_FORMAT,
                      P("%s/S/gt/gt.txt: line 2: frame 0 is out of range 1..2 (2 frames, "
                        "numbered from 1)", root), true);

    // Unknown length (no frames, no seqmap): a typo'd frame must not size arrays by it.
    root = fresh("bad-huge-frame");
    test_write_text(P("%s/label_02/0000.txt", root), "99999999 1001 1 6 8 0240T1\n");
    p = shard_dataset_default_params();
    p.format = SHARD_FMT_KITTI_MOTS;
    p.root = root;
    p.require_sources = false;
    expect_load_error(&p, "0000", RT_ERR_FORMAT,
                      P("%s/label_02/0000.txt: line 1: frame 99999999 is implausibly large (the "
                        "limit is 16777216)", root), true);

    // Seqmaps: a sequence without annotations, a malformed line, a missing split.
    root = (fresh("bad-seqmap"));
    make_kitti(root, "0000", 4, k_tiny_kitti);
    make_kitti(root, "0001", 4, NULL);
    test_write_text(P("%s/evaluate_mots.seqmap.val", root),
                    "0000 empty 000000 000003\n0001 empty 000000 000003\n");
    p = shard_dataset_default_params();
    p.format = SHARD_FMT_KITTI_MOTS;
    p.root = root;
    p.split = "val";
    expect_load_error(&p, NULL, RT_ERR_FORMAT,
                      P("%s/evaluate_mots.seqmap.val: sequence '0001' has no annotation file "
                        "%s/instances_txt/0001.txt", root, root), true);
    test_write_text(P("%s/evaluate_mots.seqmap.val", root), "0000 empty 000000\n");
    expect_load_error(&p, NULL, RT_ERR_FORMAT,
                      P("%s/evaluate_mots.seqmap.val: line 1: expected 4 columns (sequence, "
                        "unused, first frame, last frame), found 3", root), true);
    p.split = "test";
    expect_load_error(&p, NULL, RT_ERR_CONFIG,
                      P("dataset.split 'test': no seqmap %s/evaluate_mots.seqmap.test or "
                        "%s/test.seqmap", root, root), true);

    // synth classes.txt with a hole.
    root = (fresh("bad-synth"));
    test_write_text(P("%s/classes.txt", root), "car\n\npedestrian\n");
    mkdirs(P("%s/frames", root));
    p = shard_dataset_default_params();
    p.format = SHARD_FMT_SYNTH;
    p.root = root;
    expect_load_error(&p, NULL, RT_ERR_FORMAT,
                      P("%s/classes.txt: line 2: blank line (class ids are line numbers)", root),
                      true);
    test_write_text(P("%s/classes.txt", root), "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n");
    expect_load_error(&p, NULL, RT_ERR_FORMAT,
                      P("%s/classes.txt: line 10: more than 9 classes (class id 10 marks ignore "
                        "regions)", root), true);
}

static void test_malformed_json(void) {
    bad_bdd_json("bj1", "[{\"videoName\": \"vidA\",\n  \"frameIndex\": 0,, }]", ":2:19: JSON "
                 "syntax error: string or '}' expected near ','", true);
    bad_bdd_json("bj2", lab("{\"id\": \"1\", \"category\": \"car\", \"rle\": {\"counts\": 5, "
                            "\"size\": [6, 8]}}"),
                 ": [0].labels[0].rle.counts: is an integer, not a string or a list of run "
                 "lengths", true);
    bad_bdd_json("bj3", lab("{\"id\": \"1\", \"rle\": {\"counts\": \"0240T1\", \"size\": [6, 8]}}"),
                 ": [0].labels[0]: missing key 'category'", true);
    bad_bdd_json("bj4", lab("{\"id\": \"1\", \"category\": \"spaceship\", \"rle\": {\"counts\": "
                            "\"0240T1\", \"size\": [6, 8]}}"),
                 ": [0].labels[0].category: unknown category 'spaceship' (map it in "
                 "dataset.classes)", true);
    bad_bdd_json("bj5", lab("{\"id\": \"1\", \"category\": \"car\", \"rle\": {\"counts\": "
                            "\"0240T\", \"size\": [6, 8]}}"),
                 ": [0].labels[0].rle.counts: rle string", false);
    bad_bdd_json("bj6", lab("{\"id\": 1, \"category\": \"car\", \"rle\": {\"counts\": "
                            "\"0240T1\", \"size\": [6, 8]}}"),
                 ": [0].labels[0]: 'id' is an integer, not a string", true);
    bad_bdd_json("bj7", lab("{\"id\": \"1\", \"category\": \"car\", \"rle\": {\"counts\": "
                            "\"0240T1\", \"size\": [6]}}"),
                 ": [0].labels[0].rle.size: not [height, width] with positive integers", true);
    bad_bdd_json("bj8", lab("{\"id\": \"1\", \"category\": \"car\", \"poly2d\": []}"),
                 ": [0].labels[0]: no 'rle' (labels with only poly2d are not supported; convert "
                 "them to RLE first)", true);
    bad_bdd_json("bj9", lab("{\"id\": \"1\", \"category\": \"car\", \"attributes\": {\"crowd\": "
                            "\"yes\"}, \"rle\": {\"counts\": \"0240T1\", \"size\": [6, 8]}}"),
                 ": [0].labels[0].attributes: 'crowd' is a string, not a boolean", true);
    bad_bdd_json("bj10", "[{\"videoName\": \"vidA\", \"frameIndex\": 3}]",
                 ": [0]: frameIndex 3 is out of range 0..2 (3 frames)", true);
    bad_bdd_json("bj11", "[{\"frameIndex\": 1}, {\"frameIndex\": 1}]",
                 ": [1]: frameIndex 1 appears twice", true);
    bad_bdd_json("bj12", "{\"frame\": []}", ": top level: missing key 'frames'", true);
    bad_bdd_json("bj13", "{\"frames\": 42}", ": top level: 'frames' is an integer, not an "
                 "array", true);
    bad_bdd_json("bj14", lab("{\"id\": \"1\", \"category\": \"car\", \"rle\": {\"counts\": "
                             "\"0240Z1\", \"size\": [6, 9]}}"),
                 ": [0].labels[0]: mask size 6x9 (h x w) differs from the image size 6x8 of ",
                 false);
    bad_bdd_json("bj15", "[{\"frameIndex\": 0}, \"x\"]", ": [1]: is a string, not an object", true);

    // YouTube-VIS.
    const char *root = (fresh("bad-ytvis"));
    write_frame_jpg(P("%s/JPEGImages/v1/00000.jpg", root), 8, 6);
    char file[1024];
    snprintf(file, sizeof file, "%s/instances.json", root);
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_YOUTUBE_VIS;
    p.root = root;
    const char *head = "{\"videos\": [{\"id\": 1, \"file_names\": [\"v1/00000.jpg\"]}], "
                       "\"categories\": [{\"id\": 1, \"name\": \"person\"}], \"annotations\": ";
    test_write_text(file, P("%s[{\"id\": 1, \"video_id\": 1, \"category_id\": 4, "
                            "\"segmentations\": [null]}]}", head));
    expect_load_error(&p, "v1", RT_ERR_FORMAT,
                      P("%s: annotations[0]: unknown category_id 4 (not in categories)", file),
                      true);
    test_write_text(file, P("%s[{\"id\": 1, \"video_id\": 1, \"category_id\": 1, "
                            "\"segmentations\": [null, null]}]}", head));
    expect_load_error(&p, "v1", RT_ERR_FORMAT,
                      P("%s: annotations[0]: segmentations has 2 entries, the video has 1 frames",
                        file), true);
    test_write_text(file, P("%s[{\"id\": 1, \"video_id\": 1, \"category_id\": 1, "
                            "\"segmentations\": [[[1, 2, 3, 4, 5, 6]]]}]}", head));
    expect_load_error(&p, "v1", RT_ERR_FORMAT,
                      P("%s: annotations[0].segmentations[0]: polygon segmentations are not "
                        "supported (use RLE)", file), true);
    test_write_text(file, P("%s[{\"id\": 1, \"video_id\": 1, \"category_id\": 1, "
                            "\"segmentations\": [{\"counts\": [0, 2, 4], \"size\": [6, 8]}]}]}",
                            head));
    expect_load_error(&p, "v1", RT_ERR_FORMAT,
                      P("%s: annotations[0].segmentations[0].counts: rle: counts add up to 6",
                        file), false);
    test_write_text(file, "{\"videos\": [{\"id\": 1, \"file_names\": [\"v1/00007.jpg\"]}], "
                          "\"categories\": [], \"annotations\": []}");
    expect_load_error(&p, "v1", RT_ERR_FORMAT,
                      P("%s: videos[0].file_names[0]: '00007.jpg' is not a frame of "
                        "%s/JPEGImages/v1", file, root), true);
    test_write_text(file, "{\"videos\": [{\"id\": 1, \"file_names\": [\"v1/a.jpg\"]}, {\"id\": 2, "
                          "\"file_names\": [\"v1/b.jpg\"]}], \"annotations\": []}");
    expect_load_error(&p, NULL, RT_ERR_FORMAT,
                      P("%s: videos: two videos in the folder 'v1'", file), true);
    test_write_text(file, "{\"videos\": [{\"id\": 1, \"file_names\": [\"00007.jpg\"]}]}");
    expect_load_error(&p, NULL, RT_ERR_FORMAT,
                      P("%s: videos[0].file_names[0]: is not a string '<video>/<frame file>'",
                        file), true);
}

static void test_malformed_png(void) {
    // Without frames, the first bitmask sets the size.
    const char *r0 = fresh("bad-png-nosrc");
    char d0[1024];
    snprintf(d0, sizeof d0, "%s/labels/seg_track_20/bitmasks/val/vidA", r0);
    uint8_t px0[8 * 6 * 4] = {0};
    write_png(P("%s/a-1.png", d0), 8, 6, PNG_FORMAT_RGBA, px0);
    write_png(P("%s/a-2.png", d0), 6, 4, PNG_FORMAT_RGBA, px0);
    shard_dataset_params p0 = shard_dataset_default_params();
    p0.format = SHARD_FMT_BDD100K_MOTS;
    p0.root = r0;
    p0.split = "val";
    p0.require_sources = false;
    expect_load_error(&p0, "vidA", RT_ERR_FORMAT,
                      P("%s/a-2.png: size 4x6 (h x w) differs from the image size 6x8 of "
                        "%s/a-1.png", d0, d0), true);

    const char *root = (fresh("bad-png"));
    make_bdd_images(root, "vidA", 2);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/labels/seg_track_20/bitmasks/val/vidA", root);
    uint8_t px[8 * 6 * 4] = {0};
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_BDD100K_MOTS;
    p.root = root;
    p.split = "val";

    write_png(P("%s/vidA-0000001.png", dir), 6, 4, PNG_FORMAT_RGBA, px); // wrong size
    expect_load_error(&p, "vidA", RT_ERR_FORMAT,
                      P("%s/vidA-0000001.png: size 4x6 (h x w) differs from the image size 6x8 "
                        "of %s/images/seg_track_20/val/vidA", dir, root), true);
    write_png(P("%s/vidA-0000001.png", dir), 8, 6, PNG_FORMAT_RGB, px); // no alpha
    expect_load_error(&p, "vidA", RT_ERR_FORMAT,
                      P("%s/vidA-0000001.png: not an 8-bit RGBA PNG (a BDD100K bitmask)", dir),
                      true);
    put(px, 8, 2, 3, 9, 0, 4);
    write_png(P("%s/vidA-0000001.png", dir), 8, 6, PNG_FORMAT_RGBA, px); // category 9
    expect_load_error(&p, "vidA", RT_ERR_FORMAT,
                      P("%s/vidA-0000001.png: pixel (row 2, col 3): unknown category 9 for "
                        "instance 4 (R must be 1..8)", dir), true);
    put(px, 8, 2, 3, 1, 0, 4);
    put(px, 8, 0, 5, 2, 0, 4);
    write_png(P("%s/vidA-0000001.png", dir), 8, 6, PNG_FORMAT_RGBA, px); // two categories
    expect_load_error(&p, "vidA", RT_ERR_FORMAT,
                      P("%s/vidA-0000001.png: pixel (row 0, col 5): instance 4 has "
                        "category/attributes 2/0 here and 1/0 elsewhere", dir), true);
    test_write_text(P("%s/vidA-0000001.png", dir), "garbage, not a png");
    expect_load_error(&p, "vidA", RT_ERR_DECODE, P("%s/vidA-0000001.png: not a readable PNG",
                                                   dir), false);
    remove(P("%s/vidA-0000001.png", dir));
    memset(px, 0, sizeof px);
    write_png(P("%s/vidA-0000009.png", dir), 8, 6, PNG_FORMAT_RGBA, px); // no such frame
    expect_load_error(&p, "vidA", RT_ERR_FORMAT,
                      P("%s/vidA-0000009.png: no frame 'vidA-0000009.*' in "
                        "%s/images/seg_track_20/val/vidA for this bitmask", dir, root), true);
}

// Every allocation of a load fails in turn: the load reports NOMEM (or succeeds) and frees
// everything (ASan checks leaks); nothing crashes.
// The tiny example committed in tests/data (used by jobs/tiny.yaml) loads as the example says.
static void test_committed_tiny(void) {
    const char *root = "tests/data/kitti-mots-tiny";
    struct stat st;
    if (stat(root, &st) != 0) {
        printf("  (no %s in the working folder; skipped)\n", root);
        return;
    }
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_KITTI_MOTS;
    p.root = root;
    shard_class_map_entry map[] = {{"1", "car"}, {"2", "pedestrian"}}; // as in jobs/tiny.yaml
    p.class_map = map;
    p.n_class_map = 2;
    shard_dataset *ds = open_ds(&p);
    if (!ds) return;
    CHECK_EQ_INT(ds->n_videos, 1);
    CHECK_EQ_INT(ds->videos[0].frames, 4);
    shard_gt *gt = load_gt(ds, "0000");
    if (gt) check_tiny_gt(gt, 0, 1);
    shard_gt_free(&gt);
    shard_dataset_free(&ds);
}

static void test_alloc_failures(void) {
    const char *root = (fresh("oom"));
    make_kitti(root, "0000", 4, k_tiny_kitti);
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_KITTI_MOTS;
    p.root = root;
    int ok = 0, nomem = 0;
    for (uint64_t n = 1; n < 400; n++) {
        shard_dataset *ds = NULL;
        shard_gt *gt = NULL;
        rt_alloc_fail_after(n);
        rt_status st = shard_dataset_init(&p, &ds);
        if (st == RT_OK) st = shard_gt_load(ds, 0, &gt);
        rt_alloc_fail_after(0);
        if (st == RT_OK) {
            ok++;
            CHECK_EQ_INT(gt->n_objects, 13);
        } else {
            nomem++;
            CHECK_EQ_STR(rt_status_name(st), "RT_ERR_NOMEM");
            CHECK(gt == NULL);
        }
        shard_gt_free(&gt);
        shard_dataset_free(&ds);
        if (st == RT_OK) break;
    }
    CHECK(ok == 1 && nomem > 20);
}

// ---------------------------------------------------------------------------------------------
// Mutation fuzzing: random edits of valid files must give OK or an error message, never a crash
// (run under ASan/UBSan by `make sanitize`).

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

// 1-3 random edits of `src` into `out` (capacity cap); returns the new length.
static size_t mutate(const uint8_t *src, size_t n, uint8_t *out, size_t cap) {
    static const char alphabet[] = "0123456789 \n-+{}[]\":,.eaZ\\/`onull";
    memcpy(out, src, n);
    int edits = 1 + (int)(rnd() % 3);
    for (int e = 0; e < edits && n > 0; e++) {
        size_t at = rnd() % n;
        uint8_t c = rnd() % 4 ? (uint8_t)alphabet[rnd() % (sizeof alphabet - 1)] : (uint8_t)rnd();
        switch (rnd() % 5) {
        case 0: out[at] = c; break;
        case 1: memmove(out + at, out + at + 1, n - at - 1); n--; break;
        case 2:
            if (n + 1 < cap) {
                memmove(out + at + 1, out + at, n - at);
                out[at] = c;
                n++;
            }
            break;
        case 3: n = at; break;
        default: { // duplicate a chunk
            size_t len = 1 + rnd() % 16;
            if (at + len <= n && n + len < cap) {
                memmove(out + at + len, out + at, n - at);
                n += len;
            }
        }
        }
    }
    return n;
}

// PCAN_FUZZ_SCALE=N runs N times as many edits (for a longer run by hand).
static void fuzz(const shard_dataset_params *p, const char *file, const char *id, int iters) {
    const char *scale = getenv("PCAN_FUZZ_SCALE");
    if (scale && atoi(scale) > 1) iters *= atoi(scale);
    FILE *f = fopen(file, "rb");
    CHECK(f != NULL);
    if (!f) return;
    static uint8_t src[16384], buf[16384 + 64];
    size_t n = fread(src, 1, sizeof src, f);
    fclose(f);
    int ok = 0, bad = 0;
    for (int it = 0; it < iters; it++) {
        size_t m = mutate(src, n, buf, sizeof buf);
        test_write_file(file, buf, m);
        shard_dataset *ds = NULL;
        shard_gt *gt = NULL;
        rt_error_clear();
        rt_status st = shard_dataset_init(p, &ds);
        int64_t i = st == RT_OK ? shard_dataset_find(ds, id) : -1;
        if (i >= 0 && ds->videos[i].has_gt) st = shard_gt_load(ds, (size_t)i, &gt);
        if (st == RT_OK) {
            ok++;
            if (gt) CHECK(gt->n_frames >= 0 && gt->n_objects <= 100000);
        } else {
            bad++;
            CHECK(gt == NULL);
            CHECK_MSG(rt_error()[0] != '\0', "empty message for status %s", rt_status_name(st));
        }
        shard_gt_free(&gt);
        shard_dataset_free(&ds);
    }
    test_write_file(file, src, n);
    CHECK(bad > iters / 10); // the edits do break files
    printf("  fuzz %s: %d loaded, %d rejected\n", strrchr(file, '/') + 1, ok, bad);
}

static void test_fuzz(void) {
    const char *root = fresh("fuzz-kitti");
    make_kitti(root, "0000", 4, k_tiny_kitti);
    shard_dataset_params p = shard_dataset_default_params();
    p.format = SHARD_FMT_KITTI_MOTS;
    p.root = root;
    fuzz(&p, P("%s/instances_txt/0000.txt", root), "0000", 150);

    root = fresh("fuzz-bdd");
    make_bdd_images(root, "vidA", 3);
    test_write_text(P("%s/labels/seg_track_20/rles/val/vidA.json", root), k_bdd_json);
    p = shard_dataset_default_params();
    p.format = SHARD_FMT_BDD100K_MOTS;
    p.root = root;
    p.split = "val";
    fuzz(&p, P("%s/labels/seg_track_20/rles/val/vidA.json", root), "vidA", 150);

    root = fresh("fuzz-ytvis");
    for (int f = 0; f <= 10; f += 5) write_frame_jpg(P("%s/JPEGImages/v1/%05d.jpg", root, f), 8, 6);
    write_frame_jpg(P("%s/JPEGImages/v2/a.jpg", root), 8, 6);
    test_write_text(P("%s/instances.json", root), k_ytvis_json);
    p = shard_dataset_default_params();
    p.format = SHARD_FMT_YOUTUBE_VIS;
    p.root = root;
    p.require_sources = false;
    fuzz(&p, P("%s/instances.json", root), "v1", 150);

    root = fresh("fuzz-png");
    make_bdd_images(root, "vidA", 1);
    uint8_t px[8 * 6 * 4] = {0};
    put(px, 8, 1, 1, 1, 0, 3);
    put(px, 8, 2, 1, 1, 0, 3);
    put(px, 8, 5, 7, 4, 2, 300);
    const char *png = P("%s/labels/seg_track_20/bitmasks/val/vidA/vidA-0000001.png", root);
    write_png(png, 8, 6, PNG_FORMAT_RGBA, px);
    p = shard_dataset_default_params();
    p.format = SHARD_FMT_BDD100K_MOTS;
    p.root = root;
    p.split = "val";
    fuzz(&p, png, "vidA", 80);
}

int main(void) {
    TEST_RUN(test_natural_order);
    TEST_RUN(test_format_names);
    TEST_RUN(test_videos);
    TEST_RUN(test_frames);
    TEST_RUN(test_kitti_mots);
    TEST_RUN(test_kitti_trackeval_layout);
    TEST_RUN(test_mots20);
    TEST_RUN(test_bdd_scalabel);
    TEST_RUN(test_bdd_bitmasks);
    TEST_RUN(test_youtube_vis);
    TEST_RUN(test_synth);
    TEST_RUN(test_malformed_text);
    TEST_RUN(test_malformed_json);
    TEST_RUN(test_malformed_png);
    TEST_RUN(test_committed_tiny);
    TEST_RUN(test_alloc_failures);
    TEST_RUN(test_fuzz);
    return test_finish();
}
