// pcan synth — write a synthetic MOTS dataset (see shard/synth.h).
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "shard/synth.h"

static void progress(int done, int total, void *ctx) {
    (void)ctx;
    if (isatty(STDERR_FILENO)) fprintf(stderr, "\rpcan synth: %d/%d videos", done, total);
    if (done == total || !isatty(STDERR_FILENO))
        fprintf(stderr, isatty(STDERR_FILENO) ? "\n" : "pcan synth: %d/%d videos\n", done, total);
}

static int parse_int(const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return cmd_usage_error("synth", "%s: expected an integer in [%ld, %ld], got '%s'", opt, lo,
                               hi, s);
    *out = v;
    return 0;
}

int cmd_synth_main(int argc, char **argv) {
    shard_synth_params p = shard_synth_default_params();
    const char *out = NULL;
    bool have_videos = false, have_frames = false, have_seed = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        long v;
        bool takes = !strcmp(a, "--out") || !strcmp(a, "--videos") || !strcmp(a, "--frames") ||
                     !strcmp(a, "--seed") || !strcmp(a, "--size") || !strcmp(a, "--difficulty") ||
                     !strcmp(a, "--fps") || !strcmp(a, "--first");
        if (takes && !val) return cmd_usage_error("synth", "%s needs a value", a);
        if (!strcmp(a, "--out")) {
            out = val;
        } else if (!strcmp(a, "--videos")) {
            if (parse_int(a, val, 1, 10000, &v)) return CMD_EXIT_USAGE;
            p.videos = (int)v;
            have_videos = true;
        } else if (!strcmp(a, "--frames")) {
            if (parse_int(a, val, 1, 100000, &v)) return CMD_EXIT_USAGE;
            p.frames = (int)v;
            have_frames = true;
        } else if (!strcmp(a, "--seed")) {
            char *end;
            unsigned long long s = strtoull(val, &end, 10);
            if (!*val || *end || val[0] == '-')
                return cmd_usage_error("synth", "--seed: expected a non-negative integer, got '%s'",
                                       val);
            p.seed = s;
            have_seed = true;
        } else if (!strcmp(a, "--size")) {
            int w, h;
            char x;
            if (sscanf(val, "%d%c%d", &w, &x, &h) != 3 || x != 'x' || w < 64 || h < 64 ||
                w > 4096 || h > 4096 || w % 2 || h % 2)
                return cmd_usage_error("synth", "--size: expected WxH, even, 64..4096, got '%s'",
                                       val);
            p.width = w;
            p.height = h;
        } else if (!strcmp(a, "--difficulty")) {
            if (!strcmp(val, "easy"))
                p.difficulty = SHARD_SYNTH_EASY;
            else if (!strcmp(val, "normal"))
                p.difficulty = SHARD_SYNTH_NORMAL;
            else if (!strcmp(val, "hard"))
                p.difficulty = SHARD_SYNTH_HARD;
            else
                return cmd_usage_error(
                    "synth", "--difficulty: expected easy, normal or hard, got '%s'", val);
        } else if (!strcmp(a, "--fps")) {
            if (parse_int(a, val, 1, 240, &v)) return CMD_EXIT_USAGE;
            p.fps = (int)v;
        } else if (!strcmp(a, "--first")) {
            if (parse_int(a, val, 0, 9999, &v)) return CMD_EXIT_USAGE;
            p.first_video = (int)v;
        } else if (!strcmp(a, "--jpeg")) {
            p.jpeg = true;
            continue;
        } else {
            return cmd_usage_error("synth", "unknown option '%s'", a);
        }
        i++;
    }
    if (!out) return cmd_usage_error("synth", "missing --out DIR");
    if (!have_videos || !have_frames || !have_seed)
        return cmd_usage_error("synth", "--videos, --frames and --seed are required");
    if (shard_synth_write(out, &p, progress, NULL) != RT_OK) {
        fprintf(stderr, "pcan synth: %s\n", rt_error());
        return rt_error_status() == RT_ERR_INVAL ? CMD_EXIT_USAGE : CMD_EXIT_RUNTIME;
    }
    fprintf(stderr, "pcan synth: wrote %d videos of %d frames to %s\n", p.videos, p.frames, out);
    return CMD_EXIT_OK;
}
