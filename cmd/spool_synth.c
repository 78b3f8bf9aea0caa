// pcan _spool-synth — internal: tiny synthetic spool entries for benchmarks and tests of the
// merge stage (`make bench-scaling`, tests/test_run_merge.c). Hidden from `pcan --help`.
//
// Each entry is a deterministic function of its id: 32x24 pixels, F frames, 0-3 rows per frame
// with 3-count masks, labels among the job's first three classes. Entries carry the job's resume
// hash (weights sha256 + model settings), so `pcan merge JOB.yaml` takes them all. Written
// without fsync (they are scratch data).
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/job.h"
#include "cmd/run.h"
#include "runtime/sha256.h"
#include "shard/plan.h"
#include "shard/spool.h"

uint32_t cmd_synth_seed(const char *id) {
    uint32_t h = 2166136261u; // FNV-1a
    for (const char *p = id; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    return h;
}

int cmd_synth_rows(const char *id, int f, rt_result out[3], uint32_t counts[3][3]) {
    const uint32_t npix = CMD_SYNTH_ROWS_W * CMD_SYNTH_ROWS_H;
    uint32_t s = cmd_synth_seed(id) % 1000;
    int n = (int)((s + (uint32_t)f) % 4);
    for (int k = 0; k < n; k++) {
        int t = n - k;
        rt_result *r = &out[k];
        memset(r, 0, sizeof *r);
        r->track_id = t;
        r->label = (int16_t)((s + (uint32_t)t) % 3);
        r->score = (float)((s * 31 + (uint32_t)f * 7 + (uint32_t)t * 13) % 1000) / 1000.0f;
        r->box[0] = (float)t, r->box[1] = (float)f, r->box[2] = (float)t + 10.5f;
        r->box[3] = (float)f + 3.25f;
        uint32_t a = (s + (uint32_t)f + (uint32_t)t) % 100, b = 1 + ((uint32_t)t * 7) % 50;
        counts[k][0] = a, counts[k][1] = b, counts[k][2] = npix - a - b;
        r->mask.h = CMD_SYNTH_ROWS_H, r->mask.w = CMD_SYNTH_ROWS_W, r->mask.n = 3;
        r->mask.counts = counts[k];
    }
    return n;
}

static int parse_count(const char *opt, const char *v, long lo, long hi, long *out) {
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < lo || x > hi)
        return cmd_usage_error("_spool-synth", "%s: expected %ld..%ld, got '%s'", opt, lo, hi, v);
    *out = x;
    return 0;
}

int cmd_spool_synth_main(int argc, char **argv) {
    const char *job_path = NULL;
    long videos = -1, frames = 3, first = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        long *dst = !strcmp(a, "--videos") ? &videos : !strcmp(a, "--frames") ? &frames
                  : !strcmp(a, "--first")  ? &first
                                           : NULL;
        if (dst) {
            if (!val) return cmd_usage_error("_spool-synth", "%s needs a value", a);
            if (parse_count(a, val, dst == &frames ? 1 : 0, 10000000, dst)) return CMD_EXIT_USAGE;
            i++;
        } else if (a[0] == '-') {
            return cmd_usage_error("_spool-synth", "unknown option '%s'", a);
        } else if (job_path) {
            return cmd_usage_error("_spool-synth", "expected one job file");
        } else {
            job_path = a;
        }
    }
    if (!job_path || videos < 0) return cmd_usage_error("_spool-synth", "need JOB.yaml and --videos N");
    cmd_job job;
    cmd_job_defaults(&job);
    char config[4096], sha[RT_SHA256_HEX_LEN + 1];
    shard_spool_entry e;
    shard_spool_entry_init(&e);
    int rc = CMD_EXIT_USAGE;
    rt_status st = cmd_job_load(job_path, &job);
    if (st == RT_OK) st = rt_sha256_file_hex(job.model.weights, sha);
    if (st != RT_OK) goto done;
    rc = CMD_EXIT_RUNTIME;
    cmd_run_config_text(&job, config, sizeof config);
    if ((st = shard_spool_mkdir(job.output.spool)) != RT_OK) goto done;
    shard_spool_params sp = shard_spool_default_params();
    sp.durable = false;
    for (long i = first; i < first + videos; i++) {
        char id[32];
        snprintf(id, sizeof id, "s%05ld", i);
        uint8_t h[SHARD_SPOOL_HASH_LEN];
        shard_resume_hash(sha, config, id, h);
        if ((st = shard_spool_entry_begin(&e, id, "synthetic", h)) != RT_OK) goto done;
        e.meta.width = CMD_SYNTH_ROWS_W, e.meta.height = CMD_SYNTH_ROWS_H, e.meta.fps = 10;
        for (int f = 0; f < (int)frames; f++) {
            rt_result r[4];
            uint32_t counts[4][3];
            int k = cmd_synth_rows(id, f, r, counts);
            if ((st = shard_spool_entry_add(&e, f, r, k)) != RT_OK) goto done;
        }
        if ((st = shard_spool_commit(job.output.spool, &e, &sp)) != RT_OK) goto done;
    }
    rc = CMD_EXIT_OK;
done:
    if (rc != CMD_EXIT_OK) fprintf(stderr, "pcan _spool-synth: %s\n", rt_error());
    shard_spool_entry_free(&e);
    cmd_job_free(&job);
    return rc;
}
