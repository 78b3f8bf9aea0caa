// pcan bench — times the per-frame PCAN step by stage (issue: "The PCAN network and tracker in
// C"): the R50 configuration on a 1280x720 frame (736x1280 after padding) with the heads forced
// to a fixed number of detections, and the tiny test configuration; 1 and 2 threads; the median
// of several runs after warm-up, next to an OpenBLAS sgemm 2048^3 measured just before each
// configuration in the same process (the machine's speed drifts: compare ratios within one run).
//
// Weights come from the counter-based formula (runtime/weights_formula.h), so no download is
// needed; they track nothing, which does not change the cost of a frame with a fixed number of
// detections. The frame is a synthetic scene (shard/synth.h).
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "runtime/h5util.h"
#include "runtime/model.h"
#include "runtime/ops_gemm.h"
#include "runtime/weights_formula.h"
#include "shard/synth.h"

#define MAX_RUNS 100

typedef struct bench_opts {
    int runs, warmup, width, height;
    int threads[4], nthreads;
    int dets[4], ndets;
    bool tiny_only, r50_only;
    const char *weights; // bench this file instead of the formula R50
} bench_opts;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// GFLOP/s of one OpenBLAS sgemm 2048^3 on the current OpenMP thread count (best of 3). The one
// place pcan calls OpenBLAS directly: this measures the library, not our tiling.
static double sgemm_gflops(void) {
    const int n = 2048;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n);
    if (!a || !b || !c) {
        free(a), free(b), free(c);
        return 0;
    }
    for (int i = 0; i < n * n; i++) a[i] = (float)(i % 7) * 0.1f, b[i] = (float)(i % 5) * 0.1f;
    double best = 0;
    for (int r = 0; r < 3; r++) {
        double t = rt_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a, n, b, n, 0.f, c, n);
        double g = 2.0 * n * n * n / (rt_now() - t) / 1e9;
        if (g > best) best = g;
    }
    free(a), free(b), free(c);
    return best;
}

static long rss_kb(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, n)) v = atol(line + n + 1);
    if (f) fclose(f);
    return v;
}

// One configuration: weights file, frame, threads, forced detections.
static int bench_one(const char *label, const char *weights, const uint8_t *rgb, int w, int h,
                     int threads, int dets, const bench_opts *o) {
    rt_threads_set(threads);
    double sgemm = sgemm_gflops();
    rt_model *m = NULL;
    rt_stream *s = NULL;
    rt_model_params mp = rt_model_default_params();
    if (rt_model_open(weights, &mp, &m) != RT_OK) {
        fprintf(stderr, "pcan bench: %s\n", rt_error());
        return CMD_EXIT_USAGE;
    }
    rt_stream_params sp = rt_stream_default_params();
    sp.force_detections = dets;
    if (rt_stream_init(m, &sp, &s) != RT_OK) {
        fprintf(stderr, "pcan bench: %s\n", rt_error());
        rt_model_close(&m);
        return CMD_EXIT_RUNTIME;
    }
    rt_image img = {w, h, w * 3, rgb};
    double stage[RT_STAGE_COUNT][MAX_RUNS], total[MAX_RUNS];
    int got = 0;
    long rss_warm = 0, rss_10 = 0;
    uint64_t allocs = 0;
    for (int i = 0; i < o->warmup + o->runs; i++) {
        const rt_frame_results *res;
        uint64_t a0 = rt_alloc_count();
        double t = rt_now();
        if (rt_stream_step(s, &img, &res) != RT_OK) {
            fprintf(stderr, "pcan bench: %s\n", rt_error());
            rt_stream_free(&s);
            rt_model_close(&m);
            return CMD_EXIT_RUNTIME;
        }
        t = rt_now() - t;
        if (i == 9) rss_10 = rss_kb("VmRSS:");
        if (i < o->warmup) {
            rss_warm = rss_kb("VmHWM:");
            continue;
        }
        allocs += rt_alloc_count() - a0;
        double st[RT_STAGE_COUNT];
        rt_stream_stage_seconds(s, st);
        for (int k = 0; k < RT_STAGE_COUNT; k++) stage[k][got] = st[k];
        total[got++] = t;
    }
    double flops = rt_stream_dense_flops(s);
    double med[RT_STAGE_COUNT], tot = median(total, got);
    for (int k = 0; k < RT_STAGE_COUNT; k++) med[k] = median(stage[k], got);
    double dense = med[RT_STAGE_BACKBONE] + med[RT_STAGE_FPN] + med[RT_STAGE_RPN];
    printf("\n%s, %d thread%s, %d detections, %dx%d, median of %d after %d warm-up\n", label,
           threads, threads > 1 ? "s" : "", dets, w, h, got, o->warmup);
    for (int k = 0; k < RT_STAGE_COUNT; k++)
        printf("  %-12s %9.1f ms\n", rt_stage_name((rt_stage)k), 1e3 * med[k]);
    printf("  %-12s %9.1f ms\n", "frame", 1e3 * tot);
    double conv_rate = dense > 0 ? flops / dense / 1e9 : 0;
    printf("  backbone+FPN+RPN: %.1f GFLOP in %.1f ms = %.1f GFLOP/s; sgemm 2048^3: %.1f GFLOP/s; "
           "ratio %.2f\n",
           flops / 1e9, 1e3 * dense, conv_rate, sgemm, sgemm > 0 ? conv_rate / sgemm : 0);
    printf("  frame / dense convolutions: %.2f; peak RSS %.0f MB after warm-up, %.0f MB at the "
           "end; %llu allocations after warm-up\n",
           dense > 0 ? tot / dense : 0, rss_warm / 1024.0, rss_kb("VmHWM:") / 1024.0,
           (unsigned long long)allocs);
    if (rss_10)
        printf("  RSS after frame 10: %ld kB, after frame %d: %ld kB\n", rss_10,
               o->warmup + o->runs, rss_kb("VmRSS:"));
    fflush(stdout);
    rt_stream_free(&s);
    rt_model_close(&m);
    return CMD_EXIT_OK;
}

static int parse_list(const char *opt, const char *s, int *out, int *n, int lo, int hi) {
    *n = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        char *end;
        long v = strtol(tok, &end, 10);
        if (*end || v < lo || v > hi || *n == 4)
            return cmd_usage_error("bench", "%s: expected up to 4 integers in [%d, %d], got '%s'",
                                   opt, lo, hi, s);
        out[(*n)++] = (int)v;
    }
    return *n ? 0 : cmd_usage_error("bench", "%s: empty list", opt);
}

int cmd_bench_main(int argc, char **argv) {
    bench_opts o = {.runs = 5, .warmup = 1, .width = 1280, .height = 720};
    o.threads[0] = 1, o.threads[1] = 2, o.nthreads = 2;
    o.dets[0] = 20, o.dets[1] = 100, o.ndets = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = !strcmp(a, "--runs") || !strcmp(a, "--warmup") || !strcmp(a, "--threads") ||
                     !strcmp(a, "--dets") || !strcmp(a, "--size") || !strcmp(a, "--weights");
        if (takes && !val) return cmd_usage_error("bench", "%s needs a value", a);
        int n, v[4];
        if (!strcmp(a, "--runs") || !strcmp(a, "--warmup")) {
            if (parse_list(a, val, v, &n, a[2] == 'r' ? 1 : 0, MAX_RUNS) || n != 1)
                return CMD_EXIT_USAGE;
            if (a[2] == 'r')
                o.runs = v[0];
            else
                o.warmup = v[0];
        } else if (!strcmp(a, "--threads")) {
            if (parse_list(a, val, o.threads, &o.nthreads, 1, 256)) return CMD_EXIT_USAGE;
        } else if (!strcmp(a, "--dets")) {
            if (parse_list(a, val, o.dets, &o.ndets, 1, 100)) return CMD_EXIT_USAGE;
        } else if (!strcmp(a, "--size")) {
            char x;
            if (sscanf(val, "%d%c%d", &o.width, &x, &o.height) != 3 || x != 'x' || o.width < 64 ||
                o.height < 64 || o.width > 4096 || o.height > 4096 || o.width % 2 || o.height % 2)
                return cmd_usage_error("bench", "--size: expected WxH, even, 64..4096, got '%s'",
                                       val);
        } else if (!strcmp(a, "--weights")) {
            o.weights = val;
        } else if (!strcmp(a, "--tiny")) {
            o.tiny_only = true;
            continue;
        } else if (!strcmp(a, "--r50")) {
            o.r50_only = true;
            continue;
        } else {
            return cmd_usage_error("bench", "unknown option '%s'", a);
        }
        i++;
    }
    rt_h5_quiet();
    char dir[] = "/tmp/pcan-bench.XXXXXX", r50[64], tiny[64];
    if (!mkdtemp(dir)) {
        perror("pcan bench: mkdtemp");
        return CMD_EXIT_RUNTIME;
    }
    snprintf(r50, sizeof r50, "%s/r50.h5", dir);
    snprintf(tiny, sizeof tiny, "%s/tiny.h5", dir);
    int rc = CMD_EXIT_OK;
    uint8_t *frame = malloc((size_t)o.width * o.height * 3);
    uint8_t *small = malloc(160 * 96 * 3);
    shard_synth_params sp = shard_synth_default_params();
    shard_synth_video *sv = NULL;
    if (!frame || !small) goto done;
    sp.width = o.width, sp.height = o.height, sp.seed = 7;
    if (shard_synth_video_init(&sp, 0, &sv) != RT_OK) goto done;
    shard_synth_video_render(sv, 5, frame, NULL);
    shard_synth_video_free(&sv);
    sp.width = 160, sp.height = 96;
    if (shard_synth_video_init(&sp, 0, &sv) != RT_OK) goto done;
    shard_synth_video_render(sv, 5, small, NULL);
    shard_synth_video_free(&sv);

    printf("pcan bench %s: %s\n", cmd_version(), o.weights ? o.weights : "formula weights");
    if (!o.tiny_only) {
        rt_model_config cfg = rt_model_config_default();
        const char *w = o.weights;
        if (!w) {
            if (rt_weights_formula_write(r50, &cfg, NULL, 0) != RT_OK) {
                fprintf(stderr, "pcan bench: %s\n", rt_error());
                rc = CMD_EXIT_RUNTIME;
                goto done;
            }
            w = r50;
        }
        for (int d = 0; d < o.ndets && rc == CMD_EXIT_OK; d++)
            for (int t = 0; t < o.nthreads && rc == CMD_EXIT_OK; t++)
                rc = bench_one(o.weights ? o.weights : "R50", w, frame, o.width, o.height,
                               o.threads[t], o.dets[d], &o);
    }
    if (!o.r50_only && !o.weights && rc == CMD_EXIT_OK) {
        // The tiny test configuration of tools/ref/configs/tiny.yaml.
        rt_model_config c = rt_model_config_default();
        const char *err = NULL;
        static const char tiny_yaml[] =
            "name: pcan-tiny-bench\nclasses: [pedestrian, car, bicycle]\n"
            "input: {scale: [160, 96], mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, "
            "57.375], to_rgb: true, pad_divisor: 32}\n"
            "backbone: {depth: 14, stage_blocks: [1, 1, 1, 1], stem_channels: 8, base_channels: "
            "8}\n"
            "fpn: {in_channels: [32, 64, 128, 256], out_channels: 32, num_outs: 5}\n"
            "rpn: {feat_channels: 32, anchor_scales: [8], anchor_ratios: [0.5, 1.0, 2.0], "
            "anchor_strides: [4, 8, 16, 32, 64], nms_pre: 50, max_per_img: 100, nms_thr: 0.7}\n"
            "roi: {featmap_strides: [4, 8, 16, 32], finest_scale: 56, bbox_roi_size: 7, "
            "mask_roi_size: 14, bbox_fc_channels: 32, bbox_num_fcs: 2, bbox_stds: [0.1, 0.1, 0.2, "
            "0.2], mask_num_convs: 4, mask_channels: 32, track_num_convs: 4, track_channels: 32, "
            "track_gn_groups: 8, track_num_fcs: 1, track_fc_channels: 32, embed_channels: 32}\n"
            "pcam: {prototypes: 8, iterations: 3, levels: 2}\n"
            "refine: {channels: 32, num_convs: 4, pos_protos: 4, neg_protos: 4, stages: 6}\n"
            "test: {score_thr: 0.5, nms_iou: 0.5, max_per_img: 20, mask_thr: 0.5}\n"
            "tracker: {init_score_thr: 0.7, obj_score_thr: 0.3, match_score_thr: 0.5, "
            "memo_tracklet_frames: 3, memo_backdrop_frames: 1, memo_momentum: 0.8, nms_conf_thr: "
            "0.5, nms_backdrop_iou_thr: 0.3, nms_class_iou_thr: 0.7, with_cats: true}\n";
        if (rt_model_config_parse(tiny_yaml, sizeof tiny_yaml - 1, "tiny", &c) != RT_OK ||
            rt_weights_formula_write(tiny, &c, NULL, 0) != RT_OK)
            err = rt_error();
        if (err) {
            fprintf(stderr, "pcan bench: %s\n", err);
            rc = CMD_EXIT_RUNTIME;
            goto done;
        }
        for (int t = 0; t < o.nthreads && rc == CMD_EXIT_OK; t++)
            rc = bench_one("tiny", tiny, small, 160, 96, o.threads[t], 20, &o);
    }
done:
    unlink(r50);
    unlink(tiny);
    rmdir(dir);
    free(frame);
    free(small);
    return rc;
}
