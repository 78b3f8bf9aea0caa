// pcan run / pcan merge — see cmd/run.h.
#include "cmd/run.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "merge/archive.h"
#include "merge/evaluate.h"
#include "merge/export.h"
#include "merge/report.h"
#include "runtime/h5util.h"
#include "runtime/model_config.h"
#include "runtime/ops_gemm.h"
#include "runtime/sha256.h"
#include "shard/mpiutil.h"
#include "shard/datasets.h"


// The one piece of global mutable state: a signal handler can only talk to the program through
// a static volatile sig_atomic_t. Written by the handler, read by shard_coord_run.
static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void abort_mpi(void) {
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) MPI_Abort(MPI_COMM_WORLD, 1);
}

typedef struct run_opts {
    const char *job_path;
    bool verbose, retry_failed, merge_only;
} run_opts;

size_t cmd_weights_id_classes(const cmd_weights_id *id, const char **out) {
    for (int i = 0; i < id->n_classes; i++) out[i] = id->classes[i];
    return (size_t)id->n_classes;
}

rt_status cmd_weights_id_read(const char *path, cmd_weights_id *id) {
    memset(id, 0, sizeof *id);
    rt_status st = rt_sha256_file_hex(path, id->sha256);
    if (st != RT_OK) return st;
    rt_h5_quiet();
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return rt_error_set(RT_ERR_FORMAT, "%s: cannot open as HDF5", path);
    char *cfg_text = NULL;
    st = rt_h5_attr_string(f, "name", id->name, sizeof id->name);
    if (st == RT_OK) st = rt_h5_attr_string_alloc(f, "config", &cfg_text);
    H5Fclose(f);
    if (st != RT_OK) return rt_error_wrap(st, "%s", path);
    rt_model_config cfg;
    char where[4200];
    snprintf(where, sizeof where, "%s:config", path);
    st = rt_model_config_parse(cfg_text, strlen(cfg_text), where, &cfg);
    rt_free(cfg_text);
    if (st != RT_OK) return st;
    id->n_classes = cfg.num_classes;
    for (int i = 0; i < cfg.num_classes; i++)
        snprintf(id->classes[i], sizeof id->classes[i], "%s", cfg.classes[i]);
    return RT_OK;
}

// Canonical text of everything besides the weights and the video id that the resume hash
// covers: every model.* key as resolved (the weights' own defaults are covered by their sha256,
// so "~" stands for them) and dataset.format. The weights path is not included: the file's
// sha256 identifies it wherever it lives.
static void num(char *b, size_t cap, size_t *o, const char *key, double v) {
    if (isnan(v))
        *o += (size_t)snprintf(b + *o, cap - *o, "%s ~\n", key);
    else
        *o += (size_t)snprintf(b + *o, cap - *o, "%s %.17g\n", key, v);
}

void cmd_run_config_text(const cmd_job *j, char *b, size_t cap) {
    size_t o = 0;
    o += (size_t)snprintf(b + o, cap - o, "dataset.format %s\nmodel.prototype_memory %s\n",
                          cmd_dataset_format_name(j->dataset.format),
                          j->model.prototype_memory == CMD_PROTOTYPE_MEMORY_RANK ? "rank"
                                                                                 : "video");
    num(b, cap, &o, "model.test.score_thr", j->model.test.score_thr);
    num(b, cap, &o, "model.test.nms_iou", j->model.test.nms_iou);
    num(b, cap, &o, "model.test.mask_thr", j->model.test.mask_thr);
    num(b, cap, &o, "model.test.max_per_img",
        j->model.test.max_per_img < 0 ? NAN : j->model.test.max_per_img);
    num(b, cap, &o, "model.tracker.init_score_thr", j->model.tracker.init_score_thr);
    num(b, cap, &o, "model.tracker.obj_score_thr", j->model.tracker.obj_score_thr);
    num(b, cap, &o, "model.tracker.match_score_thr", j->model.tracker.match_score_thr);
    num(b, cap, &o, "model.tracker.memo_momentum", j->model.tracker.memo_momentum);
    num(b, cap, &o, "model.tracker.memo_tracklet_frames",
        j->model.tracker.memo_tracklet_frames < 0 ? NAN : j->model.tracker.memo_tracklet_frames);
    num(b, cap, &o, "model.tracker.memo_backdrop_frames",
        j->model.tracker.memo_backdrop_frames < 0 ? NAN : j->model.tracker.memo_backdrop_frames);
    // Only when off, so that the hashes of spools from before the switch existed stay valid.
    if (!j->model.refine_head)
        o += (size_t)snprintf(b + o, cap - o, "model.refine_head false\n");
}

static rt_status list_dataset(void *ctx, const cmd_job *job, shard_plan *plan) {
    (void)ctx;
    shard_dataset_params p = cmd_job_dataset_params(job);
    shard_dataset *ds = NULL;
    rt_status st = shard_dataset_init(&p, &ds);
    if (st != RT_OK) return st;
    for (size_t i = 0; i < ds->n_videos && st == RT_OK; i++)
        st = shard_plan_add(plan, ds->videos[i].id, ds->videos[i].source, ds->videos[i].frames);
    shard_dataset_free(&ds);
    return st;
}

// Every rank parses the same arguments; only rank 0 (print) reports a usage error.
static int parse_args(int argc, char **argv, run_opts *o, bool print) {
    const char *name = o->merge_only ? "merge" : "run";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
            o->verbose = true;
        else if (!o->merge_only && !strcmp(argv[i], "--retry-failed"))
            o->retry_failed = true;
        else if (argv[i][0] == '-' && argv[i][1])
            return print ? cmd_usage_error(name, "unknown option '%s'", argv[i]) : CMD_EXIT_USAGE;
        else if (o->job_path)
            return print ? cmd_usage_error(name, "expected one job file") : CMD_EXIT_USAGE;
        else
            o->job_path = argv[i];
    }
    if (!o->job_path) return print ? cmd_usage_error(name, "missing JOB.yaml") : CMD_EXIT_USAGE;
    return 0;
}

rt_status cmd_run_preflight(const char *path, cmd_job *job, cmd_weights_id *id) {
    rt_h5_quiet();
    rt_status st = cmd_job_load(path, job);
    if (st == RT_OK) st = cmd_job_validate(job);
    if (st == RT_OK) {
        st = cmd_weights_id_read(job->model.weights, id);
        if (st != RT_OK) rt_error_wrap(RT_ERR_CONFIG, "model.weights");
    }
    if (st == RT_OK) {
        const char *classes[RT_MODEL_MAX_CLASSES];
        st = cmd_job_check_classes(job, classes, cmd_weights_id_classes(id, classes));
    }
    return st;
}

// Rank 0 loads and validates; everyone else parses the broadcast text, so all ranks hold the
// same job. Collective; the status is agreed.
static rt_status load_job(const run_opts *o, cmd_job *job, cmd_weights_id *idn, MPI_Comm comm) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    rt_status st = RT_OK;
    cmd_job_defaults(job);
    if (rank == 0) st = cmd_run_preflight(o->job_path, job, idn);
    st = shard_mpi_agree(st, comm);
    if (st != RT_OK) return st;
    if (MPI_Bcast(idn, (int)sizeof *idn, MPI_BYTE, 0, comm) != MPI_SUCCESS)
        return rt_error_set(RT_ERR_MPI, "MPI_Bcast failed");
    void *text = rank == 0 ? job->text : NULL;
    size_t len = rank == 0 ? strlen(job->text) + 1 : 0;
    char path[4096] = {0};
    if (rank == 0) snprintf(path, sizeof path, "%s", job->path);
    if (MPI_Bcast(path, sizeof path, MPI_CHAR, 0, comm) != MPI_SUCCESS)
        return rt_error_set(RT_ERR_MPI, "MPI_Bcast failed");
    if ((st = shard_mpi_bcast_bytes(&text, &len, 0, comm)) != RT_OK) return st;
    if (rank != 0) {
        st = cmd_job_parse(path, text, len - 1, job);
        rt_free(text);
    }
    return shard_mpi_agree(st, comm);
}

// ---------------------------------------------------------------------------------------------
// Metrics in the merge stage (DESIGN.md): when the job wants them and the dataset has ground
// truth, every rank evaluates a share of the finished archive's videos before its rename
// (merge_evaluate_collective; youtube-vis: rank 0 evaluates them all), /metrics is added
// collectively, and rank 0 prints the table and writes the report JSON beside the archive. A
// metrics failure never costs the archive: it is written without /metrics and the exit code says
// the run failed.

typedef struct run_metrics {
    shard_dataset *ds; // every rank; NULL: no metrics this run
    merge_protocol protocol;
    bool verbose;
    const cmd_strlist *classes; // metrics.classes (borrowed from the job); empty = all
    merge_eval_summary *sum; // every rank, after the archive's finish step
    double seconds;
    bool failed; // evaluation failed on some rank (message in error)
    char error[2048];
} run_metrics;

static void metrics_free(run_metrics *rm) {
    shard_dataset_free(&rm->ds);
    merge_eval_summary_free(&rm->sum);
}

// Collective: opens the dataset on every rank when metrics are wanted. `enabled: auto` skips
// quietly when the dataset has no ground truth and with a warning when it cannot be read;
// `enabled: true` makes those an error (returned; the archive is still written).
static rt_status metrics_prepare(const char *me, const cmd_job *job, const cmd_weights_id *idn,
                                 bool verbose, run_metrics *rm, MPI_Comm comm) {
    int rank;
    MPI_Comm_rank(comm, &rank);
    memset(rm, 0, sizeof *rm);
    rm->verbose = verbose;
    bool forced = job->metrics.enabled == CMD_TRUE;
    if (job->metrics.enabled == CMD_FALSE) return RT_OK;
    if (!forced && !cmd_job_dataset_has_gt(job)) return RT_OK;
    rm->classes = &job->metrics.classes;
    rm->protocol = cmd_job_protocol(job);
    shard_dataset_params p = cmd_job_dataset_params(job);
    p.require_sources = false;
    const char *classes[RT_MODEL_MAX_CLASSES];
    size_t nc = cmd_weights_id_classes(idn, classes);
    rt_status st = cmd_job_dataset_init(job, &p, classes, nc, &rm->ds);
    st = shard_mpi_agree(st, comm);
    size_t with_gt = 0;
    for (size_t i = 0; st == RT_OK && i < rm->ds->n_videos; i++) with_gt += rm->ds->videos[i].has_gt;
    if (st == RT_OK && with_gt == 0) {
        if (rank == 0 && forced)
            fprintf(stderr, "%s: warning: metrics.enabled is true but no video of the dataset has "
                            "ground truth; no /metrics\n", me);
        shard_dataset_free(&rm->ds);
        return RT_OK;
    }
    if (st != RT_OK) {
        shard_dataset_free(&rm->ds);
        if (forced) return rt_error_wrap(st, "metrics: the dataset's ground truth");
        if (rank == 0)
            fprintf(stderr, "%s: warning: no metrics: the dataset's ground truth cannot be read: "
                            "%s\n", me, rt_error());
        return RT_OK;
    }
    return RT_OK;
}

// merge_archive_params.finish: evaluates the complete temp archive and adds /metrics.
static rt_status metrics_finish(void *ctx, const char *tmp_path, MPI_Comm comm) {
    run_metrics *rm = ctx;
    int rank;
    MPI_Comm_rank(comm, &rank);
    merge_eval_params ep = merge_eval_default_params(rm->protocol);
    ep.log = rm->verbose ? stderr : NULL;
    ep.classes = (const char *const *)rm->classes->items;
    ep.n_classes = (size_t)rm->classes->count;
    double t0 = rt_now();
    rt_status st = merge_evaluate_collective(rm->ds, tmp_path, &ep, comm, &rm->sum);
    rm->seconds = rt_now() - t0;
    if (st != RT_OK) {
        rm->failed = true;
        snprintf(rm->error, sizeof rm->error, "%s", rt_error());
        return RT_OK; // the archive without /metrics
    }
    merge_report_table t;
    merge_report_table_make(rm->sum, &t);
    const char *rows[MERGE_REPORT_MAX_ROWS], *cols[MERGE_REPORT_MAX_FIELDS];
    char types[MERGE_REPORT_MAX_FIELDS];
    double values[MERGE_REPORT_MAX_ROWS * MERGE_REPORT_MAX_FIELDS];
    for (size_t r = 0; r < t.n_rows; r++) {
        rows[r] = t.row_name[r];
        for (size_t c = 0; c < t.n_fields; c++) values[r * t.n_fields + c] = t.value[r][c];
    }
    for (size_t c = 0; c < t.n_fields; c++) {
        cols[c] = t.fields[c].name;
        types[c] = t.fields[c].type;
    }
    merge_archive_metrics am = {
        .protocol = merge_protocol_name(t.protocol),
        .mean_row = t.row_name[t.mean_row],
        .videos = (int64_t)rm->sum->n_videos,
        .missing = (int64_t)rm->sum->n_missing,
        .no_gt = (int64_t)rm->sum->n_no_gt,
        .masks = (int64_t)rm->sum->n_masks,
        .n_rows = t.n_rows,
        .n_cols = t.n_fields,
        .row_names = rows,
        .col_names = cols,
        .col_types = types,
        .values = values,
    };
    return merge_archive_add_metrics(tmp_path, &am, comm);
}

// "<archive without .h5>.report.json".
static void report_path(const char *archive, char *out, size_t cap) {
    size_t n = strlen(archive);
    if (n > 3 && !strcmp(archive + n - 3, ".h5")) n -= 3;
    snprintf(out, cap, "%.*s.report.json", (int)n, archive);
}

// Rank 0, after the archive is in place: the table and the report. Returns the exit code.
static int metrics_report(const char *me, const cmd_job *job, const run_metrics *rm, int rc) {
    if (rm->failed) {
        fprintf(stderr, "%s: metrics failed: %s; the archive has no /metrics\n", me, rm->error);
        return CMD_EXIT_RUNTIME;
    }
    if (!rm->sum) return rc;
    merge_report_table t;
    merge_report_table_make(rm->sum, &t);
    merge_report_print(stdout, &t, rm->sum);
    fflush(stdout);
    char path[4400];
    report_path(job->output.archive, path, sizeof path);
    if (merge_report_write_json(path, &t, rm->sum) != RT_OK) {
        fprintf(stderr, "%s: %s\n", me, rt_error());
        return CMD_EXIT_RUNTIME;
    }
    fprintf(stderr, "%s: metrics (%s) over %zu videos in %.2f s: /metrics and %s\n", me,
            merge_protocol_name(rm->protocol), rm->sum->n_videos, rm->seconds, path);
    return rc;
}

static rt_status do_merge(const cmd_job *job, const cmd_weights_id *idn, const char *config,
                          const shard_plan *plan, run_metrics *rm, MPI_Comm comm,
                          merge_archive_stats *ms) {
    const char *classes[RT_MODEL_MAX_CLASSES];
    size_t n_classes = cmd_weights_id_classes(idn, classes);
    const char **ids = NULL;
    rt_status st = RT_OK;
    if (plan) {
        ids = rt_malloc(plan->n * sizeof *ids + 1);
        if (!ids) st = rt_error_set(RT_ERR_NOMEM, "out of memory");
        for (size_t i = 0; ids && i < plan->n; i++) ids[i] = plan->videos[i].id;
    }
    st = shard_mpi_agree(st, comm);
    if (st != RT_OK) return st;
    merge_archive_params mp = merge_archive_default_params();
    mp.spool = job->output.spool;
    mp.path = job->output.archive;
    mp.ids = ids;
    mp.n_ids = plan ? plan->n : 0;
    mp.all_in_spool = plan == NULL;
    mp.weights_sha256 = idn->sha256;
    mp.config = config;
    mp.software = cmd_version();
    mp.model_name = idn->name;
    mp.job_text = job->text;
    mp.job_path = job->path;
    mp.prototype_memory =
        job->model.prototype_memory == CMD_PROTOTYPE_MEMORY_RANK ? "rank" : "video";
    mp.classes = classes;
    mp.n_classes = n_classes;
    if (rm->ds) {
        mp.finish = metrics_finish;
        mp.finish_ctx = rm;
    }
    st = merge_archive_write(&mp, comm, ms);
    rt_free(ids);
    return st;
}

// Collective, after the archive is in place: writes output.exports from it. The per-video
// formats are shared among the ranks (video i of the archive goes to rank i % size; every rank
// opens the finished file with the serial reader); youtube-vis, one file, is written by rank 0.
// A failed export is reported with its folder and makes the exit code 1; the archive is only
// read, never changed. Returns the exit code.
static int write_exports(const char *me, const cmd_job *job, int rc, MPI_Comm comm) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    // YouTube-VIS ids come from the dataset's annotations when it has one file of them.
    char ann[4200] = "";
    if (job->dataset.format == CMD_DATASET_YOUTUBE_VIS) {
        if (job->dataset.gt) snprintf(ann, sizeof ann, "%s", job->dataset.gt);
        else snprintf(ann, sizeof ann, "%s/instances.json", job->dataset.root);
        FILE *f = fopen(ann, "r");
        if (f) fclose(f);
        else ann[0] = '\0'; // a folder of per-video files, or none: the fallback ids
    }
    for (int i = 0; i < job->output.n_exports; i++) {
        const cmd_export *e = &job->output.exports[i];
        double t0 = rt_now();
        merge_export_params p = merge_export_default_params();
        p.dir = e->dir;
        p.min_score = e->min_score;
        p.min_track_len = e->min_track_len;
        p.classes = (const char *const *)e->classes.items;
        p.n_classes = (size_t)e->classes.count;
        p.ytvis_annotations = ann[0] ? ann : NULL;
        p.part = rank;
        p.n_parts = size;
        merge_archive *ar = NULL;
        rt_status st = merge_export_format_parse(cmd_export_format_name(e->format), &p.format);
        if (st == RT_OK) st = merge_archive_open(job->output.archive, &ar);
        if (st == RT_OK) st = merge_export(ar, &p);
        merge_archive_close(&ar);
        if (st != RT_OK)
            rt_error_wrap(st, "output.exports[%d] (%s into %s)", i,
                          cmd_export_format_name(e->format), e->dir);
        st = shard_mpi_agree(st, comm);
        if (rank != 0) continue;
        if (st != RT_OK) {
            fprintf(stderr, "%s: export failed: %s\n", me, rt_error());
            rc = CMD_EXIT_RUNTIME;
        } else {
            fprintf(stderr, "%s: exported %s into %s in %.2f s\n", me,
                    cmd_export_format_name(e->format), e->dir, rt_now() - t0);
        }
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, comm);
    return rc;
}

static int run_collective(const run_opts *o, const cmd_run_hooks *hooks, MPI_Comm comm) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    const char *me = o->merge_only ? "pcan merge" : "pcan run";
    cmd_job job;
    cmd_weights_id idn;
    shard_plan plan;
    shard_plan_init(&plan);
    int rc = CMD_EXIT_OK;
    char config[4096];
    run_metrics rm;
    memset(&rm, 0, sizeof rm);

    rt_status st = load_job(o, &job, &idn, comm);
    if (st != RT_OK) {
        if (rank == 0) fprintf(stderr, "%s: %s\n", me, rt_error());
        rc = CMD_EXIT_USAGE;
        goto done;
    }
    cmd_run_config_text(&job, config, sizeof config);
    int threads = shard_threads_per_rank(job.run.threads_per_rank, comm);
    rt_threads_set(threads); // the one owner of OpenMP, oneDNN and OpenBLAS threads

    if (o->merge_only) {
        merge_archive_stats ms;
        bool metrics_ok = metrics_prepare(me, &job, &idn, o->verbose, &rm, comm) == RT_OK;
        if (!metrics_ok && rank == 0) fprintf(stderr, "%s: %s\n", me, rt_error());
        st = do_merge(&job, &idn, config, NULL, &rm, comm, &ms);
        if (st != RT_OK) {
            if (rank == 0) fprintf(stderr, "%s: %s\n", me, rt_error());
            rc = CMD_EXIT_RUNTIME;
        } else {
            rc = ms.failed ? CMD_EXIT_PARTIAL : CMD_EXIT_OK;
            if (rank == 0) {
                fprintf(stderr, "%s: %s: %ld videos (%ld failed), %llu rows, %.3f s on %d ranks\n",
                        me, job.output.archive, ms.videos, ms.failed, ms.rows, ms.seconds, size);
                rc = metrics_report(me, &job, &rm, rc);
            }
            MPI_Bcast(&rc, 1, MPI_INT, 0, comm); // the same code on every rank
            if (job.output.n_exports) rc = write_exports(me, &job, rc, comm);
            if (!metrics_ok) rc = CMD_EXIT_RUNTIME;
        }
        goto done;
    }

    if (!hooks->process) {
        if (rank == 0)
            fprintf(stderr, "%s: this build of pcan has no inference engine yet "
                            "(runtime/model.h is not implemented); nothing was run\n", me);
        rc = CMD_EXIT_RUNTIME;
        goto done;
    }
    st = hooks->setup ? hooks->setup(hooks->ctx, &job, threads) : RT_OK;
    st = shard_mpi_agree(st, comm);
    if (st != RT_OK) {
        if (rank == 0) fprintf(stderr, "%s: %s\n", me, rt_error());
        rc = CMD_EXIT_USAGE;
        goto done;
    }
    if (rank == 0) st = (hooks->list ? hooks->list : list_dataset)(hooks->ctx, &job, &plan);
    st = shard_mpi_agree(st, comm);
    if (st == RT_OK) st = shard_plan_share(&plan, comm);
    if (st != RT_OK) {
        if (rank == 0) fprintf(stderr, "%s: %s\n", me, rt_error());
        rc = CMD_EXIT_USAGE;
        goto done;
    }
    if (job.run.max_videos > 0 && plan.n > (size_t)job.run.max_videos) {
        for (size_t i = (size_t)job.run.max_videos; i < plan.n; i++) {
            rt_free(plan.videos[i].id);
            rt_free(plan.videos[i].source);
        }
        plan.n = (size_t)job.run.max_videos;
    }
    shard_plan_params pp = shard_plan_default_params();
    pp.spool = job.output.spool;
    pp.weights_sha256 = idn.sha256;
    pp.config = config;
    pp.resume = job.run.resume;
    pp.retry_failed = o->retry_failed;
    pp.retries = (uint32_t)job.run.retries;
    pp.verbose = o->verbose;
    if ((st = shard_plan_scan(&plan, &pp, comm)) != RT_OK) {
        if (rank == 0) fprintf(stderr, "%s: %s\n", me, rt_error());
        rc = CMD_EXIT_RUNTIME;
        goto done;
    }
    if (rank == 0) {
        fprintf(stderr, "%s: %zu videos: %zu to run, %zu already done, %zu failed before",
                me, plan.n, plan.n_order, plan.n_done, plan.n_failed);
        if (plan.n_crashed) fprintf(stderr, ", %zu crashed too often", plan.n_crashed);
        if (plan.n_corrupt) fprintf(stderr, ", %zu corrupt entries recomputed", plan.n_corrupt);
        fprintf(stderr, "; %d rank%s x %d thread%s\n", size, size == 1 ? "" : "s", threads,
                threads == 1 ? "" : "s");
    }

    struct sigaction sa, old_term, old_usr1, old_int;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_stop = 0;
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGUSR1, &sa, &old_usr1);
    sigaction(SIGINT, &sa, &old_int);
    shard_coord_params cp = shard_coord_default_params();
    cp.spool = job.output.spool;
    cp.process = hooks->process;
    cp.ctx = hooks->ctx;
    cp.stop = &g_stop;
    cp.progress_every = job.run.progress_every;
    cp.verbose = o->verbose;
    shard_coord_stats cs;
    st = shard_coord_run(&plan, &cp, comm, &cs);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGUSR1, &old_usr1, NULL);
    sigaction(SIGINT, &old_int, NULL);
    if (st != RT_OK || cs.fatal) {
        if (rank == 0)
            fprintf(stderr, "%s: stopped: %s\n", me, st != RT_OK ? rt_error()
                                                              : "a rank could not write the spool");
        rc = CMD_EXIT_RUNTIME;
        goto done;
    }
    if (cs.interrupted) {
        if (rank == 0)
            fprintf(stderr, "%s: interrupted after %ld videos; run again to resume\n", me,
                    cs.videos);
        rc = CMD_EXIT_INTERRUPTED;
        goto done;
    }
    if (rank == 0)
        fprintf(stderr, "%s: ran %ld videos (%ld failed), %lld frames in %.1f s\n", me, cs.videos,
                cs.failed, cs.frames, cs.seconds);
    merge_archive_stats ms;
    bool metrics_ok = metrics_prepare(me, &job, &idn, o->verbose, &rm, comm) == RT_OK;
    if (!metrics_ok && rank == 0) fprintf(stderr, "%s: %s\n", me, rt_error());
    st = do_merge(&job, &idn, config, &plan, &rm, comm, &ms);
    if (st != RT_OK) {
        if (rank == 0) fprintf(stderr, "%s: %s\n", me, rt_error());
        rc = CMD_EXIT_RUNTIME;
        goto done;
    }
    rc = ms.failed ? CMD_EXIT_PARTIAL : CMD_EXIT_OK;
    if (rank == 0) {
        fprintf(stderr, "%s: wrote %s: %ld videos (%ld failed), %llu rows in %.2f s\n", me,
                job.output.archive, ms.videos, ms.failed, ms.rows, ms.seconds);
        rc = metrics_report(me, &job, &rm, rc);
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, comm); // the same code on every rank
    if (job.output.n_exports) rc = write_exports(me, &job, rc, comm);
    if (!metrics_ok) rc = CMD_EXIT_RUNTIME;
done:
    metrics_free(&rm);
    if (hooks->teardown) hooks->teardown(hooks->ctx);
    shard_plan_free(&plan);
    cmd_job_free(&job);
    return rc;
}

static int run_main(int argc, char **argv, const cmd_run_hooks *hooks, bool merge_only) {
    run_opts o;
    memset(&o, 0, sizeof o);
    o.merge_only = merge_only;
    int init = 0;
    MPI_Initialized(&init);
    if (!init) {
        int provided;
        if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
            fprintf(stderr, "pcan: MPI_Init failed\n");
            return CMD_EXIT_RUNTIME;
        }
    }
    rt_set_abort_hook(abort_mpi);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int rc = parse_args(argc, argv, &o, rank == 0);
    if (rc == 0) rc = run_collective(&o, hooks, MPI_COMM_WORLD);
    if (!init) MPI_Finalize();
    return rc;
}

int cmd_run(int argc, char **argv, const cmd_run_hooks *hooks) {
    return run_main(argc, argv, hooks, false);
}

int cmd_run_main(int argc, char **argv) {
    cmd_run_hooks hooks;
    if (!cmd_run_engine_hooks(&hooks)) memset(&hooks, 0, sizeof hooks);
    return run_main(argc, argv, &hooks, false);
}

int cmd_merge_main(int argc, char **argv) {
    cmd_run_hooks none;
    memset(&none, 0, sizeof none);
    return run_main(argc, argv, &none, true);
}
