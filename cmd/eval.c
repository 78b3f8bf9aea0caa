// pcan eval — scores an archive against a dataset's ground truth (merge/evaluate.h).
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "merge/evaluate.h"
#include "merge/report.h"

typedef struct eval_opts {
    const char *gt, *format, *split, *results, *json;
    merge_protocol protocol;
    bool per_video;
} eval_opts;

static void on_video(void *ctx, const char *video, const merge_metrics_params *mp,
                     const merge_video_result *r) {
    (void)ctx;
    merge_report_print_video(stdout, video, mp, r);
}

static int report(const eval_opts *o, const merge_eval_summary *s) {
    merge_report_table t;
    merge_report_table_make(s, &t);
    merge_report_print(stdout, &t, s);
    if (o->json && merge_report_write_json(o->json, &t, s) != RT_OK) {
        fprintf(stderr, "pcan eval: %s\n", rt_error());
        return CMD_EXIT_USAGE; // an unwritable output
    }
    return CMD_EXIT_OK;
}

static int run_eval(eval_opts *o) {
    shard_dataset_params p = shard_dataset_default_params();
    rt_status st = shard_dataset_format_parse(o->format, &p.format);
    if (st != RT_OK) return cmd_usage_error("eval", "--format: %s", rt_error());
    p.root = o->gt;
    p.split = o->split;
    p.require_sources = false;
    shard_dataset *ds = NULL;
    merge_archive *ar = NULL;
    merge_eval_summary *s = NULL;
    int rc = CMD_EXIT_USAGE;
    if ((st = shard_dataset_init(&p, &ds)) != RT_OK || (st = merge_archive_open(o->results, &ar)) != RT_OK) {
        fprintf(stderr, "pcan eval: %s\n", rt_error());
        goto done;
    }
    merge_eval_params ep = merge_eval_default_params(o->protocol);
    ep.log = stderr;
    if (o->per_video) {
        ep.on_video = on_video;
        ep.ctx = o;
    }
    if ((st = merge_evaluate(ds, ar, &ep, &s)) != RT_OK) {
        fprintf(stderr, "pcan eval: %s\n", rt_error());
        rc = st == RT_ERR_NOMEM || st == RT_ERR_IO || st == RT_ERR_HDF5 ? CMD_EXIT_RUNTIME : CMD_EXIT_USAGE;
        goto done;
    }
    rc = report(o, s);
done:
    merge_eval_summary_free(&s);
    merge_archive_close(&ar);
    shard_dataset_free(&ds);
    return rc;
}

int cmd_eval_main(int argc, char **argv) {
    eval_opts o = {.protocol = MERGE_PROTOCOL_TRACKEVAL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--per-video")) {
            o.per_video = true;
            continue;
        }
        const char **dst = !strcmp(a, "--gt") ? &o.gt : !strcmp(a, "--format") ? &o.format
                         : !strcmp(a, "--split") ? &o.split : !strcmp(a, "--results") ? &o.results
                         : !strcmp(a, "--json") ? &o.json : NULL;
        bool proto = !strcmp(a, "--protocol");
        if (!dst && !proto) return cmd_usage_error("eval", "unknown argument '%s'", a);
        if (!val) return cmd_usage_error("eval", "%s needs a value", a);
        i++;
        if (dst) {
            *dst = val;
        } else if (!strcmp(val, "trackeval")) {
            o.protocol = MERGE_PROTOCOL_TRACKEVAL;
        } else if (!strcmp(val, "bdd100k")) {
            o.protocol = MERGE_PROTOCOL_BDD100K;
        } else {
            return cmd_usage_error("eval", "--protocol: expected trackeval or bdd100k, got '%s'", val);
        }
    }
    if (!o.gt) return cmd_usage_error("eval", "missing --gt ROOT");
    if (!o.format) return cmd_usage_error("eval", "missing --format F");
    if (!o.results) return cmd_usage_error("eval", "missing --results ARCHIVE");
    return run_eval(&o);
}
