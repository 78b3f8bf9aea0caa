// The distributed run: scheduling on 1/2/4 ranks, resume, SIGTERM, SIGKILL, failing and
// crash-looping videos, corrupt spool entries, the archive writer/reader, `pcan merge`.
//
// The program re-executes itself as the MPI program (`mpirun -np N test_run --child ...`) with a
// deterministic TEST processor defined below (test scaffolding, not the engine): each video's
// rows are a function of its id and frame index; environment variables set by the parent make a
// given video fail, crash, be killed or signal a stop.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/run.h"
#include "merge/archive.h"
#include "runtime/model_config.h"
#include "runtime/sha256.h"
#include "shard/mpiutil.h"
#include "shard/plan.h"
#include "shard/spool.h"
#include "tests/test.h"

#include <hdf5.h>

// This file is two test programs (each under its time budget): group 1 here (scheduling,
// resume, signals, failures), group 2 in tests/test_run_merge.c (archive, merge, inputs).
#ifndef TEST_RUN_GROUP
#define TEST_RUN_GROUP 1
#endif

#define W CMD_SYNTH_ROWS_W
#define H CMD_SYNTH_ROWS_H

static char g_self[4096];

// ---------------------------------------------------------------------------------------------
// Test scaffolding: the video list and the processor.

static int frames_of(const char *id) { return 2 + (int)(cmd_synth_seed(id) % 13); }

static rt_status test_list(void *ctx, const cmd_job *job, shard_plan *plan) {
    (void)ctx, (void)job;
    int n = atoi(getenv("PCAN_TEST_VIDEOS") ? getenv("PCAN_TEST_VIDEOS") : "10");
    char id[32], src[64];
    for (int i = n - 1; i >= 0; i--) { // reverse: the plan must sort
        snprintf(id, sizeof id, "v%03d", i);
        snprintf(src, sizeof src, "synthetic://%s", id);
        rt_status st = shard_plan_add(plan, id, src, frames_of(id));
        if (st != RT_OK) return st;
    }
    return RT_OK;
}

static rt_status test_setup(void *ctx, const cmd_job *job, int threads) {
    (void)ctx, (void)job, (void)threads;
    const char *dir = getenv("PCAN_TEST_PIDDIR");
    if (dir) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%ld", dir, (long)getpid());
        FILE *f = fopen(p, "w");
        if (f) fclose(f);
    }
    return RT_OK;
}

static bool is(const char *env, const char *id) {
    const char *v = getenv(env);
    return v && !strcmp(v, id);
}

// True the first time for this marker file (so a rerun does not fire again).
static bool once(const char *marker) {
    if (!marker || access(marker, F_OK) == 0) return false;
    FILE *f = fopen(marker, "w");
    if (f) fclose(f);
    return true;
}

static rt_status test_process(void *ctx, const shard_plan_video *v, shard_sink *sink) {
    (void)ctx;
    shard_sink_set_info(sink, W, H, 10.0);
    const char *us = getenv("PCAN_TEST_FRAME_US");
    for (int f = 0; f < (int)v->frames; f++) {
        if (us) usleep((useconds_t)atoi(us));
        if (is("PCAN_TEST_FAIL_VIDEO", v->id) && f == 2)
            return rt_error_set(RT_ERR_DECODE, "%s: synthetic decode error at frame 2", v->source);
        if (is("PCAN_TEST_CRASH_VIDEO", v->id) && f == 1) abort();
        if (is("PCAN_TEST_KILL_VIDEO", v->id) && f == 1 && once(getenv("PCAN_TEST_ONCE")))
            raise(SIGKILL);
        if (is("PCAN_TEST_TERM_VIDEO", v->id) && f == 1 && once(getenv("PCAN_TEST_ONCE")))
            raise(SIGTERM);
        rt_result r[4];
        uint32_t counts[4][3];
        int n = cmd_synth_rows(v->id, f, r, counts);
        rt_status st = shard_sink_frame(sink, f, r, n);
        if (st != RT_OK) return st;
    }
    return RT_OK;
}

static int child_main(int argc, char **argv) {
    cmd_run_hooks h;
    memset(&h, 0, sizeof h);
    h.list = getenv("PCAN_TEST_USE_DATASET") ? NULL : test_list; // NULL: shard/datasets
    h.setup = test_setup;
    h.process = test_process;
    return cmd_run(argc, argv, &h);
}

// ---------------------------------------------------------------------------------------------
// Parent helpers

static char g_dir[1024], g_weights[1100];

static void make_weights(void) {
    snprintf(g_weights, sizeof g_weights, "%s/w.h5", g_dir);
    rt_model_config cfg = rt_model_config_default();
    size_t n = rt_model_config_to_yaml(&cfg, NULL, 0);
    char *yaml = malloc(n + 1);
    rt_model_config_to_yaml(&cfg, yaml, n + 1);
    hid_t f = H5Fcreate(g_weights, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t s = H5Screate(H5S_SCALAR), t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    const char *vals[3] = {"pcan-weights", "test-model", yaml};
    const char *names[3] = {"format", "name", "config"};
    for (int i = 0; i < 3; i++) {
        hid_t a = H5Acreate2(f, names[i], t, s, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, t, &vals[i]);
        H5Aclose(a);
    }
    int version = 1;
    hid_t a = H5Acreate2(f, "version", H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT, &version);
    H5Aclose(a);
    H5Tclose(t);
    H5Sclose(s);
    H5Fclose(f);
    free(yaml);
}

// Writes <dir>/<name>.yaml for outputs <dir>/<name>.h5 and <name>.spool; returns the job path.
static const char *make_job(const char *name, const char *extra_run) {
    static char path[4400];
    char text[8192];
    snprintf(path, sizeof path, "%s/%s.yaml", g_dir, name);
    snprintf(text, sizeof text,
             "dataset: {format: synth, root: %s}\n"
             "model: {weights: %s}\n"
             "output: {archive: %s/%s.h5}\n"
             "run: {threads_per_rank: 1, progress_every: 0.2%s%s}\n"
             "metrics: {enabled: false}\n", // the test processor's rows have no ground truth
             g_dir, g_weights, g_dir, name, extra_run ? ", " : "", extra_run ? extra_run : "");
    test_write_text(path, text);
    return path;
}

// Runs the child on `np` ranks (0 = singleton, no mpirun) with env assignments `env`.
static int run_child(int np, const char *env, const char *args, char *out, size_t cap) {
    char cmd[16384];
    if (np == 0)
        snprintf(cmd, sizeof cmd, "env %s '%s' --child run %s", env ? env : "", g_self, args);
    else
        snprintf(cmd, sizeof cmd,
                 "env %s mpirun --oversubscribe -np %d '%s' --child run %s", env ? env : "", np,
                 g_self, args);
    int rc = test_run_cmd(cmd, out, cap);
    return rc;
}

static int run_pcan(int np, const char *args, char *out, size_t cap) {
    char cmd[16384];
    if (np == 0)
        snprintf(cmd, sizeof cmd, "'%s' %s", test_pcan(), args);
    else
        snprintf(cmd, sizeof cmd, "mpirun --oversubscribe -np %d '%s' %s", np, test_pcan(), args);
    return test_run_cmd(cmd, out, cap);
}

static void archive_path(const char *name, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s.h5", g_dir, name);
}

// Same data (everything but the per-video seconds and the created/ranks attributes).
static bool same_archives(const char *a_path, const char *b_path) {
    merge_archive *a = NULL, *b = NULL;
    bool same = true;
    if (merge_archive_open(a_path, &a) != RT_OK || merge_archive_open(b_path, &b) != RT_OK) {
        fprintf(stderr, "open: %s\n", rt_error());
        merge_archive_close(&a);
        return false;
    }
    merge_archive_rows ra, rb;
    merge_archive_rows_init(&ra);
    merge_archive_rows_init(&rb);
    if (merge_archive_num_videos(a) != merge_archive_num_videos(b) ||
        merge_archive_num_rows(a) != merge_archive_num_rows(b)) {
        fprintf(stderr, "%s vs %s: %zu/%zu videos, %llu/%llu rows\n", a_path, b_path,
                merge_archive_num_videos(a), merge_archive_num_videos(b),
                (unsigned long long)merge_archive_num_rows(a),
                (unsigned long long)merge_archive_num_rows(b));
        same = false;
    }
    for (size_t i = 0; same && i < merge_archive_num_videos(a); i++) {
        const merge_archive_video *x = merge_archive_video_at(a, i), *y = merge_archive_video_at(b, i);
        if (strcmp(x->id, y->id) || strcmp(x->source, y->source) || strcmp(x->error, y->error) ||
            x->frames != y->frames || x->width != y->width || x->height != y->height ||
            x->fps != y->fps || x->status != y->status || x->row_start != y->row_start ||
            x->row_count != y->row_count) {
            fprintf(stderr, "video %zu differs: %s/%s\n", i, x->id, y->id);
            same = false;
            break;
        }
        if (merge_archive_read_rows(a, i, &ra) != RT_OK || merge_archive_read_rows(b, i, &rb) != RT_OK) {
            fprintf(stderr, "read rows: %s\n", rt_error());
            same = false;
            break;
        }
        uint64_t n = ra.n;
        if (rb.n != n || memcmp(ra.frame, rb.frame, n * 4) || memcmp(ra.track_id, rb.track_id, n * 4) ||
            memcmp(ra.label, rb.label, n * 2) || memcmp(ra.score, rb.score, n * 4) ||
            memcmp(ra.box, rb.box, n * 16) || memcmp(ra.rle_start, rb.rle_start, (n + 1) * 8) ||
            memcmp(ra.rle, rb.rle, ra.rle_start[n] * 4)) {
            fprintf(stderr, "rows of video %s differ\n", x->id);
            same = false;
        }
    }
    merge_archive_rows_free(&ra);
    merge_archive_rows_free(&rb);
    merge_archive_close(&a);
    merge_archive_close(&b);
    return same;
}

// Checks every row of the archive against the generator.
static void check_against_generator(const char *path, int n_videos) {
    merge_archive *a = NULL;
    CHECK_MSG(merge_archive_open(path, &a) == RT_OK, "%s", rt_error());
    if (!a) return;
    CHECK_EQ_INT(merge_archive_num_videos(a), n_videos);
    CHECK_EQ_INT(merge_archive_num_classes(a), 8);
    CHECK_EQ_STR(merge_archive_class(a, 2), "car");
    merge_archive_rows r;
    merge_archive_rows_init(&r);
    uint64_t expect_start = 0;
    for (size_t v = 0; v < merge_archive_num_videos(a); v++) {
        const merge_archive_video *info = merge_archive_video_at(a, v);
        char id[32];
        snprintf(id, sizeof id, "v%03zu", v);
        CHECK_EQ_STR(info->id, id);
        CHECK_EQ_INT(info->frames, frames_of(id));
        CHECK_EQ_INT(info->width, W);
        CHECK_EQ_INT(info->status, MERGE_VIDEO_OK);
        CHECK_EQ_INT(info->row_start, expect_start);
        CHECK_EQ_INT(merge_archive_read_rows(a, v, &r), RT_OK);
        uint64_t k = 0;
        for (int f = 0; f < frames_of(id); f++) {
            rt_result g[4];
            uint32_t counts[4][3];
            int n = cmd_synth_rows(id, f, g, counts);
            for (int j = n - 1; j >= 0 && k < r.n; j--, k++) { // ascending track id
                CHECK_EQ_INT(r.frame[k], f);
                CHECK_EQ_INT(r.track_id[k], g[j].track_id);
                CHECK_EQ_INT(r.label[k], g[j].label);
                CHECK(r.score[k] == g[j].score);
                CHECK(r.box[4 * k + 3] == g[j].box[3]);
                CHECK_EQ_INT(r.rle_start[k + 1] - r.rle_start[k], 3);
                CHECK_EQ_INT(r.rle[r.rle_start[k]], counts[j][0]);
            }
        }
        CHECK_EQ_INT(k, r.n);
        CHECK_EQ_INT(info->row_count, k);
        expect_start += k;
    }
    merge_archive_rows_free(&r);
    merge_archive_close(&a);
}

static int count_files(const char *dir, const char *needle) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)))
        if (strstr(de->d_name, needle)) n++;
    closedir(d);
    return n;
}

static double mtime_of(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) return -1;
    return (double)sb.st_mtim.tv_sec + 1e-9 * (double)sb.st_mtim.tv_nsec;
}

// ---------------------------------------------------------------------------------------------
// Tests

static char g_ref[1100]; // the 1-rank reference archive of 12 videos

static void test_single_rank(void) {
    char out[65536], args[4400];
    snprintf(args, sizeof args, "'%s'", make_job("ref", NULL));
    int rc = run_child(0, "PCAN_TEST_VIDEOS=12", args, out, sizeof out);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
    CHECK_CONTAINS(out, "12 videos: 12 to run");
    CHECK_CONTAINS(out, "12/12 videos (0 failed)");
    archive_path("ref", g_ref, sizeof g_ref);
    check_against_generator(g_ref, 12);
    // `pcan info` summarises the archive.
    snprintf(args, sizeof args, "info '%s'", g_ref);
    CHECK_EQ_INT(run_pcan(0, args, out, sizeof out), 0);
    CHECK_CONTAINS(out, "format: pcan-archive");
    CHECK_CONTAINS(out, "videos: 12 (12 ok, 0 failed)");
    CHECK_CONTAINS(out, "classes: pedestrian, rider, car,");
    CHECK_CONTAINS(out, "results: 143 rows");
    // A rerun recomputes nothing and gives the same archive.
    char entry[4400];
    snprintf(entry, sizeof entry, "%s/ref.h5.spool/v003.pcr", g_dir);
    double before = mtime_of(entry);
    snprintf(args, sizeof args, "'%s/ref.yaml'", g_dir);
    rc = run_child(0, "PCAN_TEST_VIDEOS=12", args, out, sizeof out);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
    CHECK_CONTAINS(out, "0 to run, 12 already done");
    CHECK(mtime_of(entry) == before);
    check_against_generator(g_ref, 12);
}

static void test_ranks_identical(void) {
    const char *names[] = {"np2", "np4"};
    int nps[] = {2, 4};
    for (int i = 0; i < 2; i++) {
        char out[65536], args[4400], path[4400];
        snprintf(args, sizeof args, "--verbose '%s'", make_job(names[i], NULL));
        int rc = run_child(nps[i], "PCAN_TEST_VIDEOS=12", args, out, sizeof out);
        CHECK_MSG(rc == 0, "np %d rc %d: %s", nps[i], rc, out);
        CHECK_CONTAINS(out, "[rank 1]");
        archive_path(names[i], path, sizeof path);
        CHECK_MSG(same_archives(g_ref, path), "np %d archive differs", nps[i]);
    }
}

static void test_merge_command(void) {
    // `pcan merge` rebuilds the archive from the spool alone, on 1 and 2 ranks.
    char out[65536], args[4400], path[4400], np2[4400];
    snprintf(args, sizeof args, "'%s'", make_job("np2", NULL));
    CHECK_EQ_INT(run_child(2, "PCAN_TEST_VIDEOS=12", args, out, sizeof out), 0);
    archive_path("ref", path, sizeof path);
    unlink(path);
    snprintf(args, sizeof args, "merge '%s/ref.yaml'", g_dir);
    CHECK_EQ_INT(run_pcan(0, args, out, sizeof out), 0);
    CHECK_MSG(same_archives(g_ref, path), "merge on 1 rank: %s", out);
    // On 2 ranks, into the np2 job's archive path.
    archive_path("np2", np2, sizeof np2);
    unlink(np2);
    snprintf(args, sizeof args, "merge '%s/np2.yaml'", g_dir);
    int rc = run_pcan(2, args, out, sizeof out);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
    CHECK_MSG(same_archives(g_ref, np2), "merge on 2 ranks");
    unlink(np2);
    rc = run_pcan(4, args, out, sizeof out);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
    CHECK_MSG(same_archives(g_ref, np2), "merge on 4 ranks");
    // Entries made with other model settings are left out (with a note), never mixed in.
    char other[1400], text[8192];
    snprintf(other, sizeof other, "%s/other.yaml", g_dir);
    snprintf(text, sizeof text,
             "dataset: {format: synth, root: %s}\nmodel: {weights: %s, test: {score_thr: 0.25}}\n"
             "output: {archive: %s/other.h5, spool: %s/ref.h5.spool}\n", g_dir, g_weights, g_dir,
             g_dir);
    test_write_text(other, text);
    snprintf(args, sizeof args, "merge '%s'", other);
    rc = run_pcan(0, args, out, sizeof out);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
    CHECK_CONTAINS(out, "made with other weights or settings");
    CHECK_CONTAINS(out, "0 videos (0 failed)");
}

static void test_failing_video(void) {
    char out[65536], args[4400], path[4400];
    snprintf(args, sizeof args, "'%s'", make_job("fail", NULL));
    int rc = run_child(2, "PCAN_TEST_VIDEOS=12 PCAN_TEST_FAIL_VIDEO=v003", args, out, sizeof out);
    CHECK_MSG(rc == 3, "rc %d: %s", rc, out);
    CHECK_CONTAINS(out, "video v003 failed: synthetic://v003: synthetic decode error at frame 2");
    archive_path("fail", path, sizeof path);
    merge_archive *a = NULL;
    CHECK_EQ_INT(merge_archive_open(path, &a), RT_OK);
    if (a) {
        const merge_archive_video *v = merge_archive_video_at(a, 3);
        CHECK_EQ_STR(v->id, "v003");
        CHECK_EQ_INT(v->status, MERGE_VIDEO_FAILED);
        CHECK_CONTAINS(v->error, "synthetic decode error at frame 2");
        CHECK_EQ_INT(v->row_count, 0);
        CHECK_EQ_INT(merge_archive_video_at(a, 4)->status, MERGE_VIDEO_OK);
        merge_archive_close(&a);
    }
    // Resume keeps the failure (exit 3 again, nothing run); --retry-failed runs it again.
    rc = run_child(0, "PCAN_TEST_VIDEOS=12", args, out, sizeof out);
    CHECK_MSG(rc == 3, "rc %d: %s", rc, out);
    CHECK_CONTAINS(out, "0 to run, 11 already done, 1 failed before");
    snprintf(args, sizeof args, "--retry-failed '%s/fail.yaml'", g_dir);
    rc = run_child(0, "PCAN_TEST_VIDEOS=12", args, out, sizeof out);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
    CHECK_CONTAINS(out, "1 to run");
    CHECK(same_archives(g_ref, path));
}

static void test_crash_loop(void) {
    char out[65536], args[4400], path[4400];
    snprintf(args, sizeof args, "'%s'", make_job("crash", "retries: 2"));
    const char *env = "PCAN_TEST_VIDEOS=12 PCAN_TEST_CRASH_VIDEO=v004";
    int rc = run_child(0, env, args, out, sizeof out);
    CHECK_MSG(rc != 0 && rc != 3, "first crash: rc %d", rc);
    char spool[4400];
    snprintf(spool, sizeof spool, "%s/crash.h5.spool", g_dir);
    CHECK_EQ_INT(count_files(spool, "v004.attempt."), 1);
    rc = run_child(0, env, args, out, sizeof out);
    CHECK_MSG(rc != 0 && rc != 3, "second crash: rc %d", rc);
    CHECK_EQ_INT(count_files(spool, "v004.attempt."), 2);
    rc = run_child(0, env, args, out, sizeof out);
    CHECK_MSG(rc == 3, "rc %d: %s", rc, out);
    CHECK_CONTAINS(out, "1 crashed too often");
    CHECK_EQ_INT(count_files(spool, "attempt"), 0);
    archive_path("crash", path, sizeof path);
    merge_archive *a = NULL;
    CHECK_EQ_INT(merge_archive_open(path, &a), RT_OK);
    if (a) {
        const merge_archive_video *v = merge_archive_video_at(a, 4);
        CHECK_EQ_INT(v->status, MERGE_VIDEO_FAILED);
        CHECK_EQ_STR(v->error, "crashed 2 times");
        CHECK_EQ_INT(v->attempts, 2);
        CHECK_EQ_INT(merge_archive_num_videos(a), 12);
        merge_archive_close(&a);
    }
}

static void test_sigterm(void) {
    char out[65536], args[4400], path[4400], once_path[4400], env[8192], spool[4400];
    snprintf(args, sizeof args, "'%s'", make_job("term", NULL));
    snprintf(once_path, sizeof once_path, "%s/term.once", g_dir);
    snprintf(env, sizeof env,
             "PCAN_TEST_VIDEOS=12 PCAN_TEST_TERM_VIDEO=v006 PCAN_TEST_ONCE='%s' "
             "PCAN_TEST_FRAME_US=20000",
             once_path);
    int rc = run_child(2, env, args, out, sizeof out);
    CHECK_MSG(rc == 4, "rc %d: %s", rc, out);
    CHECK_CONTAINS(out, "interrupted");
    snprintf(spool, sizeof spool, "%s/term.h5.spool", g_dir);
    CHECK_EQ_INT(count_files(spool, ".tmp."), 0);
    CHECK_EQ_INT(count_files(spool, "v006.pcr"), 0);
    CHECK_EQ_INT(count_files(spool, "attempt"), 0); // a clean stop is not a crash
    archive_path("term", path, sizeof path);
    CHECK(access(path, F_OK) != 0);
    int committed = count_files(spool, ".pcr");
    CHECK_MSG(committed < 12, "%d committed", committed);
    rc = run_child(2, env, args, out, sizeof out);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
    char expect[64];
    snprintf(expect, sizeof expect, "%d to run, %d already done", 12 - committed, committed);
    CHECK_CONTAINS(out, expect);
    CHECK(same_archives(g_ref, path));
}

static void test_sigterm_external(void) {
    // All ranks get SIGTERM from outside (as from scancel or a time limit).
    char out[65536], args[4400], path[4400], piddir[1200], cmd[16384];
    snprintf(args, sizeof args, "'%s'", make_job("ext", NULL));
    snprintf(piddir, sizeof piddir, "%s/pids", g_dir);
    mkdir(piddir, 0755);
    snprintf(cmd, sizeof cmd,
             "env PCAN_TEST_VIDEOS=12 PCAN_TEST_FRAME_US=30000 PCAN_TEST_PIDDIR='%s' "
             "mpirun --oversubscribe -np 2 '%s' --child run %s & mp=$!; "
             "for i in $(seq 100); do [ $(ls '%s' | wc -l) -ge 2 ] && break; sleep 0.05; done; "
             "sleep 0.6; for p in $(ls '%s'); do kill -TERM $p; done; wait $mp",
             piddir, g_self, args, piddir, piddir);
    int rc = test_run_cmd(cmd, out, sizeof out);
    CHECK_MSG(rc == 4, "rc %d: %s", rc, out);
    rc = run_child(2, "PCAN_TEST_VIDEOS=12", args, out, sizeof out);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
    archive_path("ext", path, sizeof path);
    CHECK(same_archives(g_ref, path));
}

static void test_sigkill_one_rank(void) {
    char out[65536], args[4400], path[4400], once_path[4400], env[8192], spool[4400];
    snprintf(args, sizeof args, "'%s'", make_job("kill", "retries: 3"));
    snprintf(once_path, sizeof once_path, "%s/kill.once", g_dir);
    snprintf(env, sizeof env,
             "PCAN_TEST_VIDEOS=12 PCAN_TEST_KILL_VIDEO=v005 PCAN_TEST_ONCE='%s' "
             "PCAN_TEST_FRAME_US=10000",
             once_path);
    int rc = run_child(2, env, args, out, sizeof out);
    CHECK_MSG(rc != 0, "rc %d", rc);
    snprintf(spool, sizeof spool, "%s/kill.h5.spool", g_dir);
    CHECK_EQ_INT(count_files(spool, "v005.pcr"), 0);
    rc = run_child(2, env, args, out, sizeof out);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
    archive_path("kill", path, sizeof path);
    CHECK(same_archives(g_ref, path));
}

static void test_corrupt_entries(void) {
    // Garble one entry and truncate another of a finished run: both are recomputed.
    char out[65536], args[4400], path[4400], e1[4400], e2[4400];
    snprintf(args, sizeof args, "'%s'", make_job("corrupt", NULL));
    int rc = run_child(0, "PCAN_TEST_VIDEOS=12", args, out, sizeof out);
    CHECK_EQ_INT(rc, 0);
    snprintf(e1, sizeof e1, "%s/corrupt.h5.spool/v001.pcr", g_dir);
    snprintf(e2, sizeof e2, "%s/corrupt.h5.spool/v002.pcr", g_dir);
    FILE *f = fopen(e1, "r+b");
    fseek(f, -5, SEEK_END);
    fputc('X', f);
    fclose(f);
    CHECK_EQ_INT(truncate(e2, 100), 0);
    rc = run_child(2, "PCAN_TEST_VIDEOS=12", args, out, sizeof out);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
    CHECK_CONTAINS(out, "2 to run, 10 already done");
    CHECK_CONTAINS(out, "2 corrupt entries recomputed");
    CHECK_CONTAINS(out, "result checksum mismatch");
    archive_path("corrupt", path, sizeof path);
    CHECK(same_archives(g_ref, path));
}

static void test_bad_inputs(void) {
    char out[65536], args[8192];
    // Bad job (schema), missing weights, unwritable output: exit 2 before any work.
    snprintf(args, sizeof args, "%s/bad.yaml", g_dir);
    test_write_text(args, "dataset: {format: synth, root: /tmp}\nmodel: {weights: 3, bogus: 1}\n");
    char cmdline[8400];
    snprintf(cmdline, sizeof cmdline, "run '%s'", args);
    CHECK_EQ_INT(run_pcan(2, cmdline, out, sizeof out), 2);
    CHECK_CONTAINS(out, "bogus");
    snprintf(args, sizeof args, "%s/noweights.yaml", g_dir);
    char text[8192];
    snprintf(text, sizeof text,
             "dataset: {format: synth, root: %s}\nmodel: {weights: %s/missing.h5}\n"
             "output: {archive: %s/x.h5}\n", g_dir, g_dir, g_dir);
    test_write_text(args, text);
    snprintf(cmdline, sizeof cmdline, "run '%s'", args);
    CHECK_EQ_INT(run_pcan(2, cmdline, out, sizeof out), 2);
    CHECK_CONTAINS(out, "missing.h5");
    snprintf(text, sizeof text,
             "dataset: {format: synth, root: %s}\nmodel: {weights: %s}\n"
             "output: {archive: /nonexistent/dir/x.h5}\n", g_dir, g_weights);
    test_write_text(args, text);
    CHECK_EQ_INT(run_child(2, "PCAN_TEST_VIDEOS=3", args, out, sizeof out), 2);
    CHECK_CONTAINS(out, "/nonexistent/dir");
    CHECK_EQ_INT(count_files(g_dir, "x.h5"), 0);
    // A weights file of the wrong kind.
    snprintf(text, sizeof text,
             "dataset: {format: synth, root: %s}\nmodel: {weights: %s}\n"
             "output: {archive: %s/y.h5}\n", g_dir, g_ref, g_dir);
    test_write_text(args, text);
    CHECK_EQ_INT(run_child(0, "PCAN_TEST_VIDEOS=3", args, out, sizeof out), 2);
    CHECK_CONTAINS(out, "not a pcan-weights file");
    // Usage errors.
    CHECK_EQ_INT(run_pcan(0, "run", out, sizeof out), 2);
    CHECK_EQ_INT(run_pcan(0, "run --bogus x.yaml", out, sizeof out), 2);
    // The real `pcan run` refuses the test's fake weights file (no tensors) with exit 2.
    snprintf(cmdline, sizeof cmdline, "run '%s/ref.yaml'", g_dir);
    int rc = run_pcan(0, cmdline, out, sizeof out);
    CHECK_MSG(rc == 2 || rc == 1, "rc %d: %s", rc, out);
}

static void test_dataset_listing(void) {
    // The real lister (shard/datasets) feeding the plan: a `frames` dataset of three folders.
    char root[1200], p[1400], job[1400], text[4096], out[65536], args[1600];
    snprintf(root, sizeof root, "%s/frames-data", g_dir);
    const char *ids[3] = {"cam-b", "cam-a", "cam-c"};
    int counts[3] = {5, 3, 7};
    for (int i = 0; i < 3; i++)
        for (int f = 0; f < counts[i]; f++) {
            snprintf(p, sizeof p, "%s/%s/%06d.jpg", root, ids[i], f + 1);
            test_write_text(p, "not decoded by the test processor");
        }
    snprintf(job, sizeof job, "%s/frames.yaml", g_dir);
    snprintf(text, sizeof text,
             "dataset: {format: frames, root: %s, exclude: [cam-c]}\nmodel: {weights: %s}\n"
             "output: {archive: %s/frames.h5}\n", root, g_weights, g_dir);
    test_write_text(job, text);
    snprintf(args, sizeof args, "'%s'", job);
    int rc = run_child(2, "PCAN_TEST_USE_DATASET=1", args, out, sizeof out);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
    snprintf(p, sizeof p, "%s/frames.h5", g_dir);
    merge_archive *a = NULL;
    CHECK_EQ_INT(merge_archive_open(p, &a), RT_OK);
    if (!a) return;
    CHECK_EQ_INT(merge_archive_num_videos(a), 2);
    CHECK_EQ_STR(merge_archive_video_at(a, 0)->id, "cam-a");
    CHECK_EQ_INT(merge_archive_video_at(a, 0)->frames, 3);
    CHECK_EQ_STR(merge_archive_video_at(a, 1)->id, "cam-b");
    CHECK_EQ_INT(merge_archive_video_at(a, 1)->frames, 5);
    snprintf(p, sizeof p, "%s/cam-b", root);
    CHECK_EQ_STR(merge_archive_video_at(a, 1)->source, p);
    merge_archive_close(&a);
}

static void test_edges(void) {
    // No videos at all: an empty but valid archive. max_videos: the first N by id.
    char out[65536], args[4400], path[4400];
    snprintf(args, sizeof args, "'%s'", make_job("empty", NULL));
    int rc = run_child(2, "PCAN_TEST_VIDEOS=0", args, out, sizeof out);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
    archive_path("empty", path, sizeof path);
    merge_archive *a = NULL;
    CHECK_MSG(merge_archive_open(path, &a) == RT_OK, "%s", rt_error());
    if (a) {
        CHECK_EQ_INT(merge_archive_num_videos(a), 0);
        CHECK_EQ_INT(merge_archive_num_rows(a), 0);
        merge_archive_close(&a);
    }
    snprintf(args, sizeof args, "'%s'", make_job("max", "max_videos: 3, resume: false"));
    rc = run_child(0, "PCAN_TEST_VIDEOS=12", args, out, sizeof out);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
    archive_path("max", path, sizeof path);
    CHECK_EQ_INT(merge_archive_open(path, &a), RT_OK);
    if (a) {
        CHECK_EQ_INT(merge_archive_num_videos(a), 3);
        CHECK_EQ_STR(merge_archive_video_at(a, 2)->id, "v002");
        merge_archive_close(&a);
    }
    // resume: false recomputes everything.
    rc = run_child(0, "PCAN_TEST_VIDEOS=12", args, out, sizeof out);
    CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
    CHECK_CONTAINS(out, "3 videos: 3 to run, 0 already done");
}

static void test_engine_end_to_end(void) {
    // The real `pcan run` (engine + video decoding + dataset reader) with the tiny test weights
    // on a small synthetic dataset: 1 and 2 ranks give the same archive; a rerun resumes.
    char weights[4096], out[65536], cmd[8192], job[1400], text[8192], a1[1400], a2[1400];
    if (!realpath("tests/fixtures/tiny.weights.h5", weights))
        test_skip("tests/fixtures/tiny.weights.h5 not found (run from the repository root)");
    snprintf(cmd, sizeof cmd, "'%s' synth --out '%s/e2e' --videos 3 --frames 3 --seed 5 --size 96x64",
             test_pcan(), g_dir);
    int rc = test_run_cmd(cmd, out, sizeof out);
    CHECK_MSG(rc == 0, "synth rc %d: %s", rc, out);
    for (int np = 1; np <= 2; np++) {
        snprintf(job, sizeof job, "%s/e2e%d.yaml", g_dir, np);
        snprintf(text, sizeof text,
                 "dataset: {format: synth, root: e2e}\nmodel: {weights: %s}\n"
                 "output: {archive: e2e%d.h5}\nrun: {threads_per_rank: 1}\n", weights, np);
        test_write_text(job, text);
        snprintf(cmd, sizeof cmd, "run '%s'", job);
        rc = run_pcan(np, cmd, out, sizeof out);
        CHECK_MSG(rc == 0, "np %d rc %d: %s", np, rc, out);
    }
    snprintf(a1, sizeof a1, "%s/e2e1.h5", g_dir);
    snprintf(a2, sizeof a2, "%s/e2e2.h5", g_dir);
    CHECK(same_archives(a1, a2));
    merge_archive *a = NULL;
    CHECK_EQ_INT(merge_archive_open(a1, &a), RT_OK);
    if (a) {
        CHECK_EQ_INT(merge_archive_num_videos(a), 3);
        CHECK_EQ_INT(merge_archive_video_at(a, 0)->frames, 3);
        CHECK_EQ_INT(merge_archive_video_at(a, 0)->width, 96);
        merge_archive_close(&a);
    }
    snprintf(cmd, sizeof cmd, "run '%s/e2e2.yaml'", g_dir);
    rc = run_pcan(2, cmd, out, sizeof out);
    CHECK_MSG(rc == 0, "rerun rc %d: %s", rc, out);
    CHECK_CONTAINS(out, "0 to run, 3 already done");
}

static void test_merge_10k(void) {
    // Tiny synthetic spool entries (`pcan _spool-synth`; 2,000 here, PCAN_TEST_MERGE_VIDEOS=10000
    // or `make bench-scaling` for the measurement); `pcan merge` timed on 1 and 2 ranks
    // (reported, not asserted).
    const char *job_path = make_job("big", NULL);
    int n = getenv("PCAN_TEST_MERGE_VIDEOS") ? atoi(getenv("PCAN_TEST_MERGE_VIDEOS")) : 2000;
    char gen[4600], gen_out[4096];
    snprintf(gen, sizeof gen, "_spool-synth '%s' --videos %d", job_path, n);
    CHECK_MSG(run_pcan(0, gen, gen_out, sizeof gen_out) == 0, "%s", gen_out);
    char out[65536], args[4400], path[4400], first[4400];
    snprintf(args, sizeof args, "merge '%s'", job_path);
    archive_path("big", path, sizeof path);
    snprintf(first, sizeof first, "%s/big-np1.h5", g_dir);
    for (int np = 1; np <= 2; np++) {
        double t0 = rt_now();
        int rc = run_pcan(np, args, out, sizeof out);
        double t = rt_now() - t0;
        CHECK_MSG(rc == 0, "rc %d: %s", rc, out);
        printf("merge of %d spool entries on %d rank%s: %.2f s wall (incl. mpirun start-up)\n"
               "  %s", n, np, np == 1 ? "" : "s", t, out);
        if (np == 1) rename(path, first);
    }
    CHECK(same_archives(first, path));
    merge_archive *a = NULL;
    CHECK_EQ_INT(merge_archive_open(path, &a), RT_OK);
    if (a) {
        CHECK_EQ_INT(merge_archive_num_videos(a), n);
        CHECK_EQ_STR(merge_archive_video_at(a, 0)->id, "s00000");
        merge_archive_close(&a);
    }
}

// Every test, so that the group not run by this program does not count as unused.
static void (*const g_all_tests[])(void) __attribute__((unused)) = {
    test_single_rank,   test_ranks_identical, test_failing_video,    test_crash_loop,
    test_sigterm,       test_sigterm_external, test_sigkill_one_rank, test_merge_command,
    test_corrupt_entries, test_bad_inputs,    test_dataset_listing,  test_merge_10k, test_edges, test_engine_end_to_end,
};

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--child")) return child_main(argc - 2, argv + 2);
    // Under ASan, Open MPI's allocations are only recognised (and suppressed by tests/lsan.supp)
    // with the slow unwinder: its libraries have no frame pointers.
    const char *lsan = getenv("LSAN_OPTIONS");
    if (lsan && !strstr(lsan, "fast_unwind_on_malloc")) {
        char opts[4096];
        snprintf(opts, sizeof opts, "%s:fast_unwind_on_malloc=0", lsan);
        setenv("LSAN_OPTIONS", opts, 1);
    }
    if (!realpath(argv[0], g_self)) snprintf(g_self, sizeof g_self, "%s", argv[0]);
    snprintf(g_dir, sizeof g_dir, "%s", test_tmpdir());
    char out[256];
    if (test_run_cmd("mpirun --version", out, sizeof out) != 0) test_skip("no mpirun");
    make_weights();
    TEST_RUN(test_single_rank); // the reference archive every other test compares with
#if TEST_RUN_GROUP == 1
    TEST_RUN(test_ranks_identical);
    TEST_RUN(test_failing_video);
    TEST_RUN(test_crash_loop);
    TEST_RUN(test_sigterm);
    TEST_RUN(test_sigterm_external);
    TEST_RUN(test_sigkill_one_rank);
#else
    TEST_RUN(test_merge_command);
    TEST_RUN(test_corrupt_entries);
    TEST_RUN(test_bad_inputs);
    TEST_RUN(test_dataset_listing);
    TEST_RUN(test_edges);
    TEST_RUN(test_engine_end_to_end);
    TEST_RUN(test_merge_10k);
#endif
    return test_finish();
}
