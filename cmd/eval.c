// pcan eval — scores an archive against a dataset's ground truth (merge/evaluate.h), printed and
// written by merge/report.h (the same tables and JSON as the run's merge stage).
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/job.h"
#include "merge/evaluate.h"
#include "merge/report.h"
#include "runtime/model_config.h"

typedef struct eval_opts {
    const char *gt, *format, *split, *results, *json, *job, *summaries;
    const char *results_format; // results read by a dataset reader (an export), not an archive
    bool have_protocol;
    merge_protocol protocol;
    bool per_video;
} eval_opts;

// Per-video results kept for the TrackEval sequence rows (--per-video, --summaries).
typedef struct seq_store {
    merge_video_result *res;
    char **names;
    size_t n, cap;
    rt_status st;
} seq_store;

static void seq_store_free(seq_store *s) {
    for (size_t i = 0; i < s->n; i++) rt_free(s->names[i]);
    rt_free(s->names);
    rt_free(s->res);
    memset(s, 0, sizeof *s);
}

static void on_video(void *ctx, const char *video, const merge_metrics_params *mp,
                     const merge_video_result *r) {
    (void)mp;
    seq_store *s = ctx;
    if (s->st != RT_OK) return;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        merge_video_result *res = rt_realloc(s->res, cap * sizeof *res);
        if (res) s->res = res;
        char **names = res ? rt_realloc(s->names, cap * sizeof *names) : NULL;
        if (names) s->names = names;
        if (!res || !names) {
            s->st = rt_error_set(RT_ERR_NOMEM, "per-video results: %zu videos", cap);
            return;
        }
        s->cap = cap;
    }
    size_t len = strlen(video) + 1;
    if (!(s->names[s->n] = rt_malloc(len))) {
        s->st = rt_error_set(RT_ERR_NOMEM, "per-video results");
        return;
    }
    memcpy(s->names[s->n], video, len);
    s->res[s->n++] = *r;
}

static int runtime_rc(rt_status st) {
    return st == RT_ERR_NOMEM || st == RT_ERR_IO || st == RT_ERR_HDF5 ? CMD_EXIT_RUNTIME
                                                                       : CMD_EXIT_USAGE;
}

static int report(const eval_opts *o, const merge_eval_summary *s, const seq_store *seqs) {
    if (seqs->st != RT_OK) {
        fprintf(stderr, "pcan eval: %s\n", rt_error());
        return CMD_EXIT_RUNTIME;
    }
    merge_report_table t;
    merge_report_table_make(s, &t);
    // Sequence rows are printed with --per-video only; the detailed CSVs always have them.
    merge_report_print_sequences(stdout, &t, s, (const char *const *)seqs->names, seqs->res,
                                 o->per_video ? seqs->n : 0);
    if (o->summaries && (merge_report_write_summaries(o->summaries, &t, s) != RT_OK ||
                         merge_report_write_detailed(o->summaries, &t, s,
                                                     (const char *const *)seqs->names, seqs->res,
                                                     seqs->n) != RT_OK)) {
        fprintf(stderr, "pcan eval: --summaries: %s\n", rt_error());
        return CMD_EXIT_USAGE; // an unwritable output
    }
    if (o->json && merge_report_write_json(o->json, &t, s) != RT_OK) {
        fprintf(stderr, "pcan eval: %s\n", rt_error());
        return CMD_EXIT_USAGE;
    }
    return CMD_EXIT_OK;
}

static int run_eval(eval_opts *o, const cmd_job *job) {
    shard_dataset_params p = shard_dataset_default_params();
    rt_status st = shard_dataset_format_parse(o->format, &p.format);
    if (st != RT_OK) return cmd_usage_error("eval", "--format: %s", rt_error());
    p.root = o->gt;
    p.split = o->split;
    p.require_sources = false;
    shard_dataset *ds = NULL;
    merge_archive *ar = NULL;
    merge_eval_summary *s = NULL;
    seq_store seqs = {0};
    int rc = CMD_EXIT_USAGE;
    shard_dataset *res = NULL;
    shard_vis_results *vis = NULL;
    // A youtube-vis results file (a folder: its results.json) is read against the dataset, which
    // gives its ids a meaning: it is opened once the dataset is.
    bool vis_file = o->results_format && !strcmp(o->results_format, "youtube-vis");
    if (o->results_format && !vis_file) {
        // The folder holds the result files themselves (what `pcan export` wrote); the split
        // only names an image folder, which need not exist.
        shard_dataset_params rp = shard_dataset_default_params();
        if ((st = shard_dataset_format_parse(o->results_format, &rp.format)) != RT_OK) {
            rc = cmd_usage_error("eval", "--results-format: %s", rt_error());
            goto done;
        }
        rp.root = o->results;
        rp.gt = o->results;
        rp.split = "results";
        rp.require_sources = false;
        if ((st = shard_dataset_init(&rp, &res)) != RT_OK) {
            fprintf(stderr, "pcan eval: %s\n", rt_error());
            goto done;
        }
    } else if (!vis_file && (st = merge_archive_open(o->results, &ar)) != RT_OK) {
        fprintf(stderr, "pcan eval: %s\n", rt_error());
        goto done;
    }
    if (job) {
        // The job's selection, on the folder and format given; its class map needs the
        // model's class list (the archive's).
        shard_dataset_params jp = cmd_job_dataset_params(job);
        p.gt = job->dataset.gt && !strcmp(o->gt, job->dataset.root) ? job->dataset.gt : NULL;
        p.include = jp.include;
        p.n_include = jp.n_include;
        p.exclude = jp.exclude;
        p.n_exclude = jp.n_exclude;
    }
    const char *classes[RT_MODEL_MAX_CLASSES];
    size_t nc = ar ? RT_MIN(merge_archive_num_classes(ar), (size_t)RT_MODEL_MAX_CLASSES) : 0;
    for (size_t i = 0; i < nc; i++) classes[i] = merge_archive_class(ar, i);
    st = job && ar ? cmd_job_dataset_init(job, &p, classes, nc, &ds) : shard_dataset_init(&p, &ds);
    if (st != RT_OK) {
        fprintf(stderr, "pcan eval: %s\n", rt_error());
        goto done;
    }
    if (vis_file && (st = shard_vis_results_init(ds, o->results, &vis)) != RT_OK) {
        fprintf(stderr, "pcan eval: %s\n", rt_error());
        goto done;
    }
    merge_eval_params ep = merge_eval_default_params(o->protocol);
    ep.log = stderr;
    // The sequence results (~20 KB a video) for the printed sequence rows and for the
    // detailed CSVs next to the summaries.
    if ((o->per_video || o->summaries) && o->protocol == MERGE_PROTOCOL_TRACKEVAL) {
        ep.on_video = on_video;
        ep.ctx = &seqs;
    }
    if (job) {
        ep.classes = (const char *const *)job->metrics.classes.items;
        ep.n_classes = (size_t)job->metrics.classes.count;
    }
    st = vis   ? merge_evaluate_vis_results(ds, vis, &ep, &s)
         : res ? merge_evaluate_dataset(ds, res, &ep, &s)
               : merge_evaluate(ds, ar, &ep, &s);
    if (st != RT_OK) {
        fprintf(stderr, "pcan eval: %s\n", rt_error());
        rc = runtime_rc(st);
        goto done;
    }
    rc = report(o, s, &seqs);
done:
    seq_store_free(&seqs);
    merge_eval_summary_free(&s);
    merge_archive_close(&ar);
    shard_dataset_free(&res);
    shard_vis_results_free(&vis);
    shard_dataset_free(&ds);
    return rc;
}

static int parse_protocol(const char *val, merge_protocol *out) {
    if (!strcmp(val, "trackeval")) *out = MERGE_PROTOCOL_TRACKEVAL;
    else if (!strcmp(val, "bdd100k")) *out = MERGE_PROTOCOL_BDD100K;
    else if (!strcmp(val, "youtube-vis")) *out = MERGE_PROTOCOL_YOUTUBE_VIS;
    else return cmd_usage_error("eval", "--protocol: expected trackeval, bdd100k or youtube-vis, "
                                "got '%s'", val);
    return CMD_EXIT_OK;
}

int cmd_eval_main(int argc, char **argv) {
    eval_opts o = {.protocol = MERGE_PROTOCOL_TRACKEVAL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--per-video")) {
            o.per_video = true;
            continue;
        }
        const char **dst = !strcmp(a, "--gt")        ? &o.gt
                           : !strcmp(a, "--format")  ? &o.format
                           : !strcmp(a, "--split")   ? &o.split
                           : !strcmp(a, "--results") ? &o.results
                           : !strcmp(a, "--json")    ? &o.json
                           : !strcmp(a, "--job")     ? &o.job
                           : !strcmp(a, "--summaries") ? &o.summaries
                           : !strcmp(a, "--results-format") ? &o.results_format
                                                       : NULL;
        bool proto = !strcmp(a, "--protocol");
        if (!dst && !proto) return cmd_usage_error("eval", "unknown argument '%s'", a);
        if (!val) return cmd_usage_error("eval", "%s needs a value", a);
        i++;
        if (dst) {
            *dst = val;
        } else {
            int rc = parse_protocol(val, &o.protocol);
            if (rc != CMD_EXIT_OK) return rc;
            o.have_protocol = true;
        }
    }
    cmd_job job;
    cmd_job_defaults(&job);
    if (o.job) {
        // The job gives what the flags do not: dataset, archive, protocol, metric classes.
        if (cmd_job_load(o.job, &job) != RT_OK) {
            fprintf(stderr, "pcan eval: %s\n", rt_error());
            cmd_job_free(&job);
            return CMD_EXIT_USAGE;
        }
        if (!o.gt) o.gt = job.dataset.root;
        if (!o.format) o.format = cmd_dataset_format_name(job.dataset.format);
        if (!o.split) o.split = job.dataset.split;
        if (!o.results) o.results = job.output.archive;
        if (!o.have_protocol)
            o.protocol = cmd_job_protocol(&job);
    }
    int rc;
    if (!o.gt) rc = cmd_usage_error("eval", "missing --gt ROOT (or --job JOB.yaml)");
    else if (!o.format) rc = cmd_usage_error("eval", "missing --format F (or --job JOB.yaml)");
    else if (!o.results) rc = cmd_usage_error("eval", "missing --results ARCHIVE (or --job JOB.yaml)");
    else rc = run_eval(&o, o.job ? &job : NULL);
    cmd_job_free(&job);
    return rc;
}
