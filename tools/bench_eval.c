// bench_eval — the speed of `pcan eval` on a generated dataset (issue 7: ≥ 10,000 masks per
// second on one core). Run by `make bench-eval` (part of `make bench`).
//
//     build/tools/bench_eval --pcan bin/pcan [--videos 1000] [--frames 20] [--objects 12]
//                            [--keep DIR]
//
// Writes a synth-format dataset (classes.txt, instances_txt/<video>.txt: KITTI MOTS lines of
// non-overlapping elliptic blobs at 720×1280 that swing around, 2 classes) and an archive of
// results (the blobs displaced by a few pixels, slightly resized, overlapping as a model's raw
// masks do, one in seven missed, some ids switched half-way), then times `pcan eval` for the
// trackeval and bdd100k protocols with OMP/OpenBLAS at one thread and prints masks per second
// (GT + result masks the metrics saw, from pcan's own count, over the command's wall time,
// which includes reading the text GT and the archive). The files go to a temp folder that is
// removed afterwards unless --keep names one.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "merge/metrics.h"
#include "runtime/core.h"
#include "tests/common/archive_util.h"

enum { H = 720, W = 1280 };

// Column-major RLE of an ellipse (one interval per column).
static void ellipse(rt_rle *r, uint32_t *c, double cy, double cx, double ry, double rx) {
    size_t n = 0;
    uint32_t zeros = 0;
    for (int x = 0; x < W; x++) {
        double t = (x - cx) / rx;
        int y0 = 0, y1 = -1;
        if (fabs(t) < 1) {
            double dy = ry * sqrt(1 - t * t);
            y0 = (int)ceil(cy - dy), y1 = (int)floor(cy + dy);
            if (y0 < 0) y0 = 0;
            if (y1 > H - 1) y1 = H - 1;
        }
        if (y1 < y0) {
            zeros += H;
            continue;
        }
        if (n > 0 && zeros + (uint32_t)y0 == 0) {
            c[n - 1] += (uint32_t)(y1 - y0 + 1); // touches the previous column's run
        } else {
            c[n++] = zeros + (uint32_t)y0;
            c[n++] = (uint32_t)(y1 - y0 + 1);
        }
        zeros = (uint32_t)(H - 1 - y1);
    }
    c[n++] = zeros;
    if (rt_rle_set_counts(r, H, W, c, n) != RT_OK) {
        fprintf(stderr, "bench_eval: %s\n", rt_error());
        exit(1);
    }
}

static uint64_t rng = 12345;
static double rnd(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static int run(const char *cmd, double *seconds) {
    double t0 = rt_now();
    int rc = system(cmd);
    *seconds = rt_now() - t0;
    return rc;
}

int main(int argc, char **argv) {
    const char *pcan = "bin/pcan", *keep = NULL;
    int videos = 1000, frames = 20, nobj = 12;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--pcan")) pcan = argv[i + 1];
        else if (!strcmp(argv[i], "--videos")) videos = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--frames")) frames = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--objects")) nobj = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--keep")) keep = argv[i + 1];
        else {
            fprintf(stderr, "bench_eval: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    if (videos < 1 || frames < 1 || nobj < 1 || nobj > 64) {
        fprintf(stderr, "bench_eval: bad sizes\n");
        return 2;
    }
    char dir[4096];
    if (keep) {
        snprintf(dir, sizeof dir, "%s", keep);
        mkdir(dir, 0777);
    } else {
        snprintf(dir, sizeof dir, "%s/pcan-bench-eval.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            return 1;
        }
    }
    char p[4400];
    snprintf(p, sizeof p, "%s/instances_txt", dir);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/classes.txt", dir);
    FILE *f = fopen(p, "w");
    if (!f) {
        perror(p);
        return 1;
    }
    fputs("pedestrian\ncar\n", f);
    fclose(f);
    static const char *classes[] = {"pedestrian", "car"};
    snprintf(p, sizeof p, "%s/run.h5", dir);
    test_archive *ar = test_archive_begin(p, classes, 2);

    double t_gen = rt_now();
    uint32_t *counts = malloc((2 * W + 2) * sizeof *counts);
    rt_rle *raw = calloc((size_t)nobj, sizeof *raw), *gt = calloc((size_t)nobj, sizeof *gt);
    rt_result *res = calloc((size_t)nobj, sizeof *res);
    const rt_rle **pr = calloc((size_t)nobj, sizeof *pr);
    double *z = calloc((size_t)nobj, sizeof *z), (*obj)[6] = calloc((size_t)nobj, sizeof *obj);
    size_t str_cap = 1 << 16;
    char *str = malloc(str_cap);
    if (!counts || !raw || !gt || !res || !pr || !z || !obj || !str) return 1;
    for (int k = 0; k < nobj; k++) {
        rt_rle_init(&raw[k]);
        rt_rle_init(&gt[k]);
        rt_rle_init(&res[k].mask);
    }
    uint64_t n_gt = 0, n_res = 0;
    for (int v = 0; v < videos; v++) {
        char id[32];
        snprintf(id, sizeof id, "v%05d", v);
        snprintf(p, sizeof p, "%s/instances_txt/%s.txt", dir, id);
        FILE *g = fopen(p, "w");
        if (!g) {
            perror(p);
            return 1;
        }
        test_archive_video(ar, id, H, W, frames);
        for (int k = 0; k < nobj; k++) {
            obj[k][0] = 60 + rnd() * (H - 120), obj[k][1] = 60 + rnd() * (W - 120);
            obj[k][2] = 15 + rnd() * 50, obj[k][3] = 15 + rnd() * 70;
            obj[k][4] = rnd() * 6 - 3, obj[k][5] = rnd() * 10 - 5;
        }
        for (int fr = 0; fr < frames; fr++) {
            for (int k = 0; k < nobj; k++) {
                double cy = obj[k][0] + 30 * sin(0.2 * obj[k][4] * fr);
                double cx = obj[k][1] + 60 * sin(0.1 * obj[k][5] * fr);
                ellipse(&raw[k], counts, cy, cx, obj[k][2], obj[k][3]);
                pr[k] = &raw[k];
                z[k] = k;
                // Results: displaced and resized, overlapping each other (de-overlapped by eval).
                res[k].track_id = 1 + k + 100 * (fr >= frames / 2 && k % 5 == 0);
                res[k].label = (int16_t)(k % 2);
                res[k].score = (float)(0.3 + 0.7 * rnd());
                ellipse(&res[k].mask, counts, cy + 4 * rnd() - 2, cx + 4 * rnd() - 2,
                        obj[k][2] * 1.05, obj[k][3] * 0.95);
            }
            // The GT must not overlap (TrackEval refuses it): later objects win.
            if (merge_masks_deoverlap(pr, z, (size_t)nobj, gt) != RT_OK) {
                fprintf(stderr, "bench_eval: %s\n", rt_error());
                return 1;
            }
            for (int k = 0; k < nobj; k++) {
                if (rt_rle_area(&gt[k]) == 0) continue;
                size_t need = rt_rle_to_string(&gt[k], NULL, 0) + 1;
                if (need > str_cap) {
                    str_cap = 2 * need;
                    if (!(str = realloc(str, str_cap))) return 1;
                }
                rt_rle_to_string(&gt[k], str, str_cap);
                fprintf(g, "%d %d %d %d %d %s\n", fr, (1 + k % 2) * 1000 + k, 1 + k % 2, H, W, str);
                n_gt++;
            }
            // One object in seven is missed.
            int m = 0;
            for (int k = 0; k < nobj; k++) {
                if (k % 7 == 3) continue;
                rt_result t = res[k];
                res[k] = res[m];
                res[m++] = t;
            }
            test_archive_frame(ar, fr, res, m);
            n_res += (uint64_t)m;
        }
        fclose(g);
    }
    test_archive_end(&ar);
    t_gen = rt_now() - t_gen;
    printf("bench_eval: %d videos x %d frames at %dx%d: %llu GT + %llu result masks in %s "
           "(generated in %.1f s)\n", videos, frames, W, H, (unsigned long long)n_gt,
           (unsigned long long)n_res, dir, t_gen);
    fflush(stdout);
    int rc = 0;
    static const char *protos[] = {"trackeval", "bdd100k"};
    for (int i = 0; i < 2 && rc == 0; i++) {
        char cmd[24000], js[4400];
        snprintf(js, sizeof js, "%s/%s.json", dir, protos[i]);
        snprintf(cmd, sizeof cmd,
                 "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 '%s' eval --gt '%s' --format synth "
                 "--results '%s/run.h5' --protocol %s --json '%s' > '%s/%s.txt'",
                 pcan, dir, dir, protos[i], js, dir, protos[i]);
        double secs;
        rc = run(cmd, &secs);
        if (rc != 0) {
            fprintf(stderr, "bench_eval: '%s' failed (%d)\n", cmd, rc);
            break;
        }
        // pcan's own count of the masks the metrics saw (the JSON's last line).
        unsigned long long masks = 0;
        FILE *j = fopen(js, "r");
        char line[4096];
        while (j && fgets(line, sizeof line, j)) {
            const char *q = strstr(line, "\"masks\": ");
            if (q) masks = strtoull(q + 9, NULL, 10);
        }
        if (j) fclose(j);
        printf("pcan eval --protocol %-9s: %llu masks in %.2f s = %.0f masks/s (one core)\n",
               protos[i], masks, secs, (double)masks / secs);
        fflush(stdout);
    }
    for (int k = 0; k < nobj; k++) {
        rt_rle_free(&raw[k]);
        rt_rle_free(&gt[k]);
        rt_rle_free(&res[k].mask);
    }
    free(counts), free(raw), free(gt), free(res), free(pr), free(z), free(obj), free(str);
    if (!keep) {
        char cmd[4500];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "bench_eval: could not remove %s\n", dir);
    }
    return rc == 0 ? 0 : 1;
}
