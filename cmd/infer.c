// pcan infer VIDEO|FOLDER --weights W --out RESULTS.h5 — one video, one process: decode,
// run PCAN on every frame, write a one-video pcan archive (the same format `pcan run` writes).
//
// The rows go through a spool entry in a private temp folder next to the output and are merged
// with the archive writer on a single MPI process (a singleton: no launcher needed), so that
// `pcan infer` and `pcan run` produce byte-for-byte the same layout. Nothing is left behind on
// failure: the temp folder is removed and the output appears only when complete.
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/job.h"
#include "cmd/run.h"
#include "merge/archive.h"
#include "runtime/h5util.h"
#include "runtime/model.h"
#include "runtime/ops_gemm.h"
#include "shard/plan.h"
#include "shard/spool.h"
#include "shard/video.h"

typedef struct infer_opts {
    const char *input, *weights, *out, *id;
    int threads;
    bool quiet;
} infer_opts;

// A bar on a terminal, a plain line every 10 s otherwise.
static void progress(const infer_opts *o, int64_t done, int64_t total, double t0, double *last,
                     bool final) {
    if (o->quiet) return;
    double t = rt_now(), fps = done / RT_MAX(t - t0, 1e-9);
    bool tty = isatty(STDERR_FILENO);
    if (!final && t - *last < (tty ? 0.2 : 10.0)) return;
    *last = t;
    char eta[32] = "?";
    if (total > 0 && fps > 0) snprintf(eta, sizeof eta, "%.0fs", (double)(total - done) / fps);
    if (tty) {
        int width = 30, fill = total > 0 ? (int)(width * RT_MIN(done, total) / total) : 0;
        char bar[40], of[32] = "";
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        if (total > 0) snprintf(of, sizeof of, "/%lld", (long long)total);
        fprintf(stderr, "\rpcan infer: [%s] %lld%s frames, %.1f frames/s, ETA %s   ", bar,
                (long long)done, of, fps, eta);
        if (final) fputc('\n', stderr);
    } else {
        fprintf(stderr, "pcan infer: %lld frames, %.1f frames/s, ETA %s\n", (long long)done, fps,
                eta);
    }
}

// The video id: the file name without its extension, or the folder's name.
static void default_id(const char *path, char *out, size_t cap) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/') buf[--n] = '\0';
    const char *base = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
    snprintf(out, cap, "%s", base);
    struct stat sb;
    char *dot = strrchr(out, '.');
    if (dot && dot != out && stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) *dot = '\0';
}

// Removes our private temp spool: a flat folder of spool files and markers.
static void remove_spool(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[8400];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    if (rmdir(dir) != 0)
        fprintf(stderr, "pcan infer: could not remove %s: %s\n", dir, strerror(errno));
}

typedef struct infer_video {
    const infer_opts *o;
    shard_spool_entry *entry;
    int64_t frames, total;
    double t0, last;
} infer_video;

static void infer_on_open(void *ctx, const shard_video_info *info) {
    infer_video *iv = ctx;
    iv->entry->meta.width = info->width;
    iv->entry->meta.height = info->height;
    iv->entry->meta.fps = info->fps;
    iv->total = info->frames;
    iv->t0 = rt_now();
}

static rt_status infer_on_frame(void *ctx, int64_t frame, const rt_frame_results *res) {
    infer_video *iv = ctx;
    rt_status st = shard_spool_entry_add(iv->entry, (int)frame, res->items, res->count);
    if (st != RT_OK) return st;
    iv->frames = frame + 1;
    progress(iv->o, iv->frames, iv->total, iv->t0, &iv->last, false);
    return RT_OK;
}

// Processes the video into `entry`. RT_OK, or the decode/engine error (entry marked failed).
static rt_status process(const infer_opts *o, rt_model *model, shard_spool_entry *entry,
                         int64_t *frames) {
    infer_video iv = {.o = o, .entry = entry};
    cmd_video_run_params p = {.model = model,
                              .stream = rt_stream_default_params(),
                              .on_open = infer_on_open,
                              .on_frame = infer_on_frame,
                              .ctx = &iv};
    rt_stream *s = NULL;
    rt_status st = cmd_video_run(o->input, &p, &s);
    rt_stream_free(&s);
    *frames = iv.frames;
    if (st != RT_OK) return st;
    progress(o, iv.frames, iv.frames, iv.t0, &iv.last, true);
    entry->meta.seconds = rt_now() - iv.t0;
    return RT_OK;
}

static int infer(const infer_opts *o) {
    rt_model *model = NULL;
    shard_spool_entry entry;
    shard_spool_entry_init(&entry);
    char id[256], tmpl[4200], config[4096];
    int rc = CMD_EXIT_RUNTIME;
    bool have_spool = false;
    rt_status st;

    struct stat sb;
    if (stat(o->input, &sb) != 0) {
        fprintf(stderr, "pcan infer: %s: %s\n", o->input, strerror(errno));
        return CMD_EXIT_USAGE;
    }
    char format[64];
    int version;
    rt_h5_quiet();
    if (cmd_h5_probe(o->weights, format, sizeof format, &version) != RT_OK ||
        strcmp(format, "pcan-weights") != 0) {
        fprintf(stderr, "pcan infer: %s\n",
                strcmp(format, "pcan-weights") ? "weights: not a pcan-weights file" : rt_error());
        return CMD_EXIT_USAGE;
    }
    // The output's folder must exist and be writable; the spool lives there too.
    snprintf(tmpl, sizeof tmpl, "%s", o->out);
    char *slash = strrchr(tmpl, '/');
    const char *dir = slash ? (slash == tmpl ? "/" : (*slash = '\0', tmpl)) : ".";
    if (access(dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "pcan infer: %s: folder %s is not writable: %s\n", o->out, dir,
                strerror(errno));
        return CMD_EXIT_USAGE;
    }
    snprintf(tmpl, sizeof tmpl, "%s.infer.XXXXXX", o->out);

    rt_threads_set(o->threads);
    rt_model_params mp = rt_model_default_params();
    if ((st = rt_model_open(o->weights, &mp, &model)) != RT_OK) {
        fprintf(stderr, "pcan infer: %s\n", rt_error());
        return CMD_EXIT_USAGE;
    }
    if (o->id)
        snprintf(id, sizeof id, "%s", o->id);
    else
        default_id(o->input, id, sizeof id);

    // The same resume hash `pcan run` computes for this video with default model settings.
    cmd_job job;
    cmd_job_defaults(&job);
    job.dataset.format = S_ISDIR(sb.st_mode) ? CMD_DATASET_FRAMES : CMD_DATASET_VIDEOS;
    cmd_run_config_text(&job, config, sizeof config);
    uint8_t hash[SHARD_SPOOL_HASH_LEN];
    shard_resume_hash(rt_model_sha256(model), config, id, hash);

    if (!mkdtemp(tmpl)) {
        fprintf(stderr, "pcan infer: cannot create a temp folder next to %s: %s\n", o->out,
                strerror(errno));
        goto done;
    }
    have_spool = true;
    int64_t frames = 0;
    if ((st = shard_spool_entry_begin(&entry, id, o->input, hash)) != RT_OK) goto report;
    if ((st = process(o, model, &entry, &frames)) != RT_OK) goto report;
    entry.meta.frames = frames;
    shard_spool_params spp = shard_spool_default_params();
    if ((st = shard_spool_commit(tmpl, &entry, &spp)) != RT_OK) goto report;

    const char *classes[RT_MODEL_MAX_CLASSES];
    int nc = rt_model_num_classes(model);
    for (int i = 0; i < nc; i++) classes[i] = rt_model_class_name(model, i);
    const char *ids[1] = {id};
    char job_text[8800];
    snprintf(job_text, sizeof job_text,
             "# pcan infer %s --weights %s --out %s\ndataset: {format: %s, root: %s}\n"
             "model: {weights: %s}\noutput: {archive: %s}\n",
             o->input, o->weights, o->out, cmd_dataset_format_name(job.dataset.format), o->input,
             o->weights, o->out);
    merge_archive_params ap = merge_archive_default_params();
    ap.spool = tmpl;
    ap.path = o->out;
    ap.ids = ids;
    ap.n_ids = 1;
    ap.weights_sha256 = rt_model_sha256(model);
    ap.config = config;
    ap.software = cmd_version();
    ap.model_name = rt_model_name(model);
    ap.job_text = job_text;
    ap.prototype_memory = "video";
    ap.classes = classes;
    ap.n_classes = (size_t)nc;
    merge_archive_stats stats;
    if ((st = merge_archive_write(&ap, MPI_COMM_WORLD, &stats)) != RT_OK) goto report;
    if (!o->quiet)
        fprintf(stderr, "pcan infer: wrote %s: %lld frames, %llu tracked masks\n", o->out,
                (long long)frames, stats.rows);
    rc = CMD_EXIT_OK;
report:
    if (rc != CMD_EXIT_OK) fprintf(stderr, "pcan infer: %s\n", rt_error());
done:
    if (have_spool) remove_spool(tmpl);
    shard_spool_entry_free(&entry);
    rt_model_close(&model);
    cmd_job_free(&job);
    return rc;
}

int cmd_infer_main(int argc, char **argv) {
    infer_opts o = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = !strcmp(a, "--weights") || !strcmp(a, "--out") || !strcmp(a, "--id") ||
                     !strcmp(a, "--threads");
        if (takes && !val) return cmd_usage_error("infer", "%s needs a value", a);
        if (!strcmp(a, "--weights"))
            o.weights = val;
        else if (!strcmp(a, "--out"))
            o.out = val;
        else if (!strcmp(a, "--id"))
            o.id = val;
        else if (!strcmp(a, "--threads")) {
            char *end;
            long n = strtol(val, &end, 10);
            if (*end || n < 1 || n > 1024)
                return cmd_usage_error("infer", "--threads: expected 1..1024, got '%s'", val);
            o.threads = (int)n;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            o.quiet = true;
            continue;
        } else if (a[0] == '-' && a[1]) {
            return cmd_usage_error("infer", "unknown option '%s'", a);
        } else if (!o.input) {
            o.input = a;
            continue;
        } else {
            return cmd_usage_error("infer", "unexpected argument '%s'", a);
        }
        i++;
    }
    if (!o.input) return cmd_usage_error("infer", "missing VIDEO or FOLDER");
    if (!o.weights) return cmd_usage_error("infer", "missing --weights W.h5");
    if (!o.out) return cmd_usage_error("infer", "missing --out RESULTS.h5");
    int init = 0;
    MPI_Initialized(&init);
    if (!init && MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "pcan infer: MPI_Init failed\n");
        return CMD_EXIT_RUNTIME;
    }
    int rc = infer(&o);
    if (!init) MPI_Finalize();
    return rc;
}
