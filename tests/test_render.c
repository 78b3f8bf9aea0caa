// pcan render: the overlay (ascending-score ownership, colours, boxes, labels) on hand-made rows,
// and the command end to end on an archive written by `pcan run` (MP4 decodable, contact sheet).
#include "merge/render.h"
#include "runtime/rle.h"
#include "shard/image.h"
#include "tests/test.h"

#define W 64
#define H 48

// Two overlapping square masks; the second has the higher score.
static void make_rows(merge_archive_rows *r, uint32_t *rle_buf, rt_rle *a, rt_rle *b) {
    uint8_t m[W * H] = {0};
    for (int y = 20; y < 32; y++)
        for (int x = 10; x < 26; x++) m[y * W + x] = 1;
    rt_rle_encode(a, m, H, W);
    memset(m, 0, sizeof m);
    for (int y = 26; y < 38; y++)
        for (int x = 20; x < 36; x++) m[y * W + x] = 1;
    rt_rle_encode(b, m, H, W);
    static int32_t frame[2], track[2] = {3, 9};
    static int16_t label[2] = {0, 1};
    static float score[2] = {0.6f, 0.9f}, box[8] = {10, 20, 26, 32, 20, 26, 36, 38};
    static uint64_t start[3];
    memcpy(rle_buf, a->counts, a->n * sizeof *rle_buf);
    memcpy(rle_buf + a->n, b->counts, b->n * sizeof *rle_buf);
    start[0] = 0, start[1] = a->n, start[2] = a->n + b->n;
    memset(r, 0, sizeof *r);
    r->n = 2, r->frame = frame, r->track_id = track, r->label = label, r->score = score;
    r->box = box, r->rle_start = start, r->rle = rle_buf;
}

static void test_overlay(void) {
    merge_archive_rows rows;
    uint32_t rle_buf[256];
    rt_rle a, b;
    rt_rle_init(&a);
    rt_rle_init(&b);
    make_rows(&rows, rle_buf, &a, &b);
    uint8_t img[W * H * 3], scratch[W * H];
    memset(img, 100, sizeof img);
    const char *classes[] = {"car", "pedestrian"};
    merge_render_frame(img, W, H, &rows, 0, 2, classes, 2, scratch);
    uint8_t c3[3], c9[3];
    merge_render_track_colour(3, c3);
    merge_render_track_colour(9, c9);
    CHECK(memcmp(c3, c9, 3) != 0);
    // scratch holds the owner of each pixel: the overlap belongs to the higher score
    CHECK_EQ_INT(scratch[30 * W + 22], 2);
    CHECK_EQ_INT(scratch[28 * W + 15], 1);
    CHECK_EQ_INT(scratch[0], 0);
    // background untouched far from masks, boxes and labels
    CHECK_EQ_INT(img[(46 * W + 1) * 3], 100);
    // mask pixels away from box edges and labels are tinted towards their track's colour
    const struct {
        int y, x;
        const uint8_t *c;
    } px[] = {{28, 15, c3}, {34, 30, c9}, {30, 22, c9}};
    for (size_t i = 0; i < 3; i++) {
        const uint8_t *p = img + (px[i].y * W + px[i].x) * 3;
        for (int k = 0; k < 3; k++)
            CHECK_MSG(abs(p[k] - px[i].c[k]) < abs(100 - px[i].c[k]) || px[i].c[k] == 100,
                      "pixel %zu channel %d: %d, colour %d", i, k, p[k], px[i].c[k]);
    }
    // box edges are drawn in the track colour
    CHECK(memcmp(img + (20 * W + 10) * 3, c3, 3) == 0);
    rt_rle_free(&a);
    rt_rle_free(&b);
}

static void test_command(void) {
    char cmd[8192], out[8192];
    const char *d = test_tmpdir();
    snprintf(
        cmd, sizeof cmd,
        "cd '%s' && '%s' synth --out data --videos 2 --frames 6 --seed 2 --size 160x96 && "
        "mkdir out && printf 'dataset: {format: synth, root: data}\\nmodel: {weights: %s/tests/"
        "fixtures/tiny.weights.h5}\\noutput: {archive: out/run.h5}\\n' > job.yaml && "
        "'%s' run job.yaml",
        d, test_pcan(), getenv("PWD") ? getenv("PWD") : ".", test_pcan());
    int rc = test_run_cmd(cmd, out, sizeof out);
    CHECK_MSG(rc == 0, "run: %s", out);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' render out/run.h5 --video 0000 --out out/v.mp4 --contact-sheet "
             "out/v.png --every 2",
             d, test_pcan());
    rc = test_run_cmd(cmd, out, sizeof out);
    CHECK_MSG(rc == 0, "render: %s", out);
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -count_frames -show_entries stream=codec_name,width,height,"
             "nb_read_frames -of csv=p=0 '%s/out/v.mp4'",
             d);
    test_run_cmd(cmd, out, sizeof out);
    CHECK_CONTAINS(out, "h264,160,96,6");
    char png[4300];
    snprintf(png, sizeof png, "%s/out/v.png", d);
    shard_image img = {0};
    CHECK_EQ_INT(shard_png_read(png, SHARD_PNG_RGB, &img), RT_OK);
    CHECK(img.width == 4 * 160 && img.height == 96); // 3 tiles in one row of 4
    shard_image_free(&img);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' render out/run.h5 --video nope --out x.mp4", d,
             test_pcan());
    CHECK_EQ_INT(test_run_cmd(cmd, out, sizeof out), 2);
    CHECK_CONTAINS(out, "no video 'nope'");
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' render out/run.h5 --video 0000", d, test_pcan());
    CHECK_EQ_INT(test_run_cmd(cmd, out, sizeof out), 2);
}

int main(void) {
    TEST_RUN(test_overlay);
    TEST_RUN(test_command);
    return test_finish();
}
