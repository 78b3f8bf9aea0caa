// pcan synth: deterministic output, valid KITTI-MOTS ground truth that matches the rendered
// pixels, objects entering/leaving/occluding, decodable videos and JPEG folders, usage errors.
#include <libavutil/log.h>

#include "runtime/rle.h"
#include "shard/synth.h"
#include "tests/test.h"

static int run(const char *args, char *out, size_t cap) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' synth %s", test_pcan(), args);
    return test_run_cmd(cmd, out, cap);
}

typedef struct gt_line {
    int frame, id, cls;
    rt_rle rle;
} gt_line;

// Loads instances_txt/<id>.txt; returns the number of lines (at most cap).
static int load_gt(const char *path, gt_line *lines, int cap, int h, int w) {
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    if (!f) return 0;
    int n = 0;
    char rle[65536];
    int fr, id, cls, hh, ww;
    while (n < cap && fscanf(f, "%d %d %d %d %d %65535s", &fr, &id, &cls, &hh, &ww, rle) == 6) {
        CHECK_EQ_INT(hh, h);
        CHECK_EQ_INT(ww, w);
        gt_line *l = &lines[n++];
        l->frame = fr;
        l->id = id;
        l->cls = cls;
        rt_rle_init(&l->rle);
        CHECK_EQ_INT(rt_rle_from_string(&l->rle, (uint32_t)h, (uint32_t)w, rle, strlen(rle)),
                     RT_OK);
    }
    fclose(f);
    return n;
}

static void free_gt(gt_line *lines, int n) {
    for (int i = 0; i < n; i++) rt_rle_free(&lines[i].rle);
}

static void test_deterministic(void) {
    char out[8192], args[8192];
    const char *dir = test_tmpdir();
    snprintf(args, sizeof args, "--out '%s/a' --videos 2 --frames 12 --seed 5", dir);
    CHECK_EQ_INT(run(args, out, sizeof out), 0);
    snprintf(args, sizeof args, "--out '%s/b' --videos 2 --frames 12 --seed 5", dir);
    CHECK_EQ_INT(run(args, out, sizeof out), 0);
    snprintf(args, sizeof args, "--out '%s/c' --videos 2 --frames 12 --seed 6", dir);
    CHECK_EQ_INT(run(args, out, sizeof out), 0);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "diff -r '%s/a' '%s/b'", dir, dir);
    CHECK_MSG(test_run_cmd(cmd, out, sizeof out) == 0, "same seed differs: %s", out);
    snprintf(cmd, sizeof cmd, "cmp '%s/a/instances_txt/0000.txt' '%s/c/instances_txt/0000.txt'",
             dir, dir);
    CHECK_MSG(test_run_cmd(cmd, out, sizeof out) != 0,
              "different seeds gave the same ground truth");
    snprintf(cmd, sizeof cmd, "cat '%s/a/classes.txt'", dir);
    test_run_cmd(cmd, out, sizeof out);
    CHECK_EQ_STR(out, "car\npedestrian\nbicycle\n");
}

// Ground truth is well formed and equals the visible pixels of every object.
static void test_ground_truth(void) {
    shard_synth_params p = shard_synth_default_params();
    p.videos = 6;
    p.frames = 40;
    p.seed = 11;
    p.width = 160;
    p.height = 96;
    char dir[4200], path[4400];
    snprintf(dir, sizeof dir, "%s/gt", test_tmpdir());
    CHECK_EQ_INT(shard_synth_write(dir, &p, NULL, NULL), RT_OK);
    enum { CAP = 4000 };
    static gt_line lines[CAP];
    size_t npix = (size_t)p.width * p.height;
    uint8_t *rgb = malloc(npix * 3), *mask = malloc(npix), *used = malloc(npix);
    int16_t *ids = malloc(npix * sizeof *ids);
    int entered = 0, left = 0, occluded = 0, objects_total = 0;
    for (int v = 0; v < p.videos; v++) {
        snprintf(path, sizeof path, "%s/instances_txt/%04d.txt", dir, v);
        int n = load_gt(path, lines, CAP, p.height, p.width);
        shard_synth_video *sv = NULL;
        CHECK_EQ_INT(shard_synth_video_init(&p, v, &sv), RT_OK);
        int nobj = shard_synth_video_objects(sv);
        CHECK_MSG(nobj >= 2 && nobj <= 8, "video %d has %d objects", v, nobj);
        objects_total += nobj;
        int first[16], last[16];
        uint64_t max_area[16] = {0};
        for (int i = 0; i < 16; i++) first[i] = -1, last[i] = -1;
        int k = 0;
        for (int t = 0; t < p.frames; t++) {
            shard_synth_video_render(sv, t, rgb, ids);
            memset(used, 0, npix);
            for (; k < n && lines[k].frame == t; k++) {
                gt_line *l = &lines[k];
                rt_rle_decode(&l->rle, mask);
                for (size_t q = 0; q < npix; q++) {
                    CHECK_MSG(!(mask[q] && used[q]), "video %d frame %d: masks overlap", v, t);
                    if (mask[q] && used[q]) break;
                    used[q] |= mask[q];
                }
                if (l->id == 10000) {
                    CHECK_EQ_INT(l->cls, 10);
                    continue;
                }
                CHECK_EQ_INT(l->id / 1000, l->cls);
                CHECK(l->cls >= 1 && l->cls <= 3);
                int obj = -1;
                for (int i = 0; i < nobj; i++)
                    if (shard_synth_object_id(sv, i) == l->id) obj = i;
                CHECK_MSG(obj >= 0, "unknown id %d", l->id);
                if (obj < 0) continue;
                CHECK_EQ_INT(shard_synth_object_class(sv, obj), l->cls);
                size_t diff = 0;
                for (size_t q = 0; q < npix; q++) diff += mask[q] != (ids[q] == obj);
                CHECK_MSG(diff == 0, "video %d frame %d id %d: %zu pixels differ from the render",
                          v, t, l->id, diff);
                if (first[obj] < 0) first[obj] = t;
                last[obj] = t;
                uint64_t area = rt_rle_area(&l->rle);
                double bb[4];
                rt_rle_bbox(&l->rle, bb);
                bool inside = bb[0] > 1 && bb[1] > 1 && bb[0] + bb[2] < p.width - 1 &&
                              bb[1] + bb[3] < p.height - 1;
                if (inside && max_area[obj] && area * 10 < max_area[obj] * 7) occluded++;
                if (area > max_area[obj]) max_area[obj] = area;
            }
        }
        CHECK_MSG(k == n, "video %d: %d lines not in frame order", v, n - k);
        for (int i = 0; i < nobj; i++) {
            if (first[i] > 0) entered++;
            if (last[i] >= 0 && last[i] < p.frames - 1) left++;
        }
        free_gt(lines, n);
        shard_synth_video_free(&sv);
    }
    printf("objects %d, entered later %d, left early %d, occluded frames %d\n", objects_total,
           entered, left, occluded);
    CHECK(entered > 0);
    CHECK(left > 0);
    CHECK(occluded > 0);
    free(rgb);
    free(mask);
    free(used);
    free(ids);
}

static void test_decodable(void) {
    char out[8192], args[8192], cmd[8192];
    const char *dir = test_tmpdir();
    snprintf(args, sizeof args, "--out '%s/v' --videos 1 --frames 9 --seed 3 --size 128x96", dir);
    CHECK_EQ_INT(run(args, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -count_frames -select_streams v:0 -show_entries "
             "stream=codec_name,width,height,nb_read_frames -of csv=p=0 '%s/v/videos/0000.mp4'",
             dir);
    CHECK_EQ_INT(test_run_cmd(cmd, out, sizeof out), 0);
    CHECK_CONTAINS(out, "h264,128,96,9");
    snprintf(args, sizeof args, "--out '%s/j' --videos 2 --frames 5 --seed 3 --jpeg --first 7",
             dir);
    CHECK_EQ_INT(run(args, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "ls '%s/j/frames/0008' | wc -l; ls '%s/j/instances_txt'", dir, dir);
    test_run_cmd(cmd, out, sizeof out);
    CHECK_CONTAINS(out, "5\n0007.txt\n0008.txt");
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 "
             "'%s/j/frames/0007/000004.jpg'",
             dir);
    CHECK_EQ_INT(test_run_cmd(cmd, out, sizeof out), 0);
    CHECK_CONTAINS(out, "mjpeg,320,192");
}

static void test_usage(void) {
    char out[8192];
    CHECK_EQ_INT(run("--videos 1 --frames 1 --seed 1", out, sizeof out), 2);
    CHECK_CONTAINS(out, "missing --out");
    CHECK_EQ_INT(run("--out /tmp/x --videos 1 --frames 1 --seed 1 --size 100", out, sizeof out), 2);
    CHECK_CONTAINS(out, "--size: expected WxH");
    CHECK_EQ_INT(
        run("--out /tmp/x --videos 1 --frames 1 --seed 1 --difficulty brutal", out, sizeof out), 2);
    CHECK_CONTAINS(out, "expected easy, normal or hard");
    CHECK_EQ_INT(run("--out /tmp/x --videos 0 --frames 1 --seed 1", out, sizeof out), 2);
    CHECK_EQ_INT(run("--out /tmp/x --frames 1 --seed 1", out, sizeof out), 2);
    char args[4400];
    snprintf(args, sizeof args, "--out '%s/file/x' --videos 1 --frames 1 --seed 1", test_tmpdir());
    char file[4300];
    snprintf(file, sizeof file, "%s/file", test_tmpdir());
    test_write_text(file, "not a folder");
    CHECK_EQ_INT(run(args, out, sizeof out), 1);
    CHECK_CONTAINS(out, "/file/x");
}

int main(void) {
    av_log_set_level(AV_LOG_ERROR);
    TEST_RUN(test_deterministic);
    TEST_RUN(test_ground_truth);
    TEST_RUN(test_decodable);
    TEST_RUN(test_usage);
    return test_finish();
}
