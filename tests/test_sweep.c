// pcan sweep and the job override API: cmd_job_set/get/write (typed checks, locations, round
// trip), `pcan sweep expand` (points, names, errors with the sweep file's line:column), `pcan
// sweep point` on the tiny fixture weights and a small synth dataset (1 and 2 ranks), `pcan
// sweep report` (CSV, Markdown, SVG; HOTA equal to `pcan eval`), `pcan sweep submit` (one job
// array per shape, through a stand-in sbatch).
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/job.h"
#include "tests/test.h"

static char g_cwd[4096], g_dir[4096];
static char g_out[1 << 16];

static const char *BASE_JOB = "dataset: {format: synth, root: ds}\n"
                              "model: {weights: %s/tests/fixtures/tiny.weights.h5}\n"
                              "output: {archive: out/base.h5}\n";

static int pcan(const char *args) {
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' %s", g_dir, test_pcan(), args);
    return test_run_cmd(cmd, g_out, sizeof g_out);
}

static void write_in_dir(const char *name, const char *text) {
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    test_write_text(p, text);
}

static char *read_in_dir(const char *name) {
    static char buf[1 << 16];
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    FILE *f = fopen(p, "rb");
    buf[0] = '\0';
    if (!f) return buf;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

// ---------------------------------------------------------------------------------------------

static void test_job_set_get(void) {
    char text[8192], v[4096];
    snprintf(text, sizeof text, BASE_JOB, g_cwd);
    cmd_job job;
    CHECK_EQ_INT(cmd_job_parse("/x/base.yaml", text, strlen(text), &job), RT_OK);
    cmd_job_where at = {"/x/y/sw.yaml", 7, 29};
    CHECK_EQ_INT(cmd_job_get(&job, "model.test.score_thr", v, sizeof v), RT_OK);
    CHECK_EQ_STR(v, "~");
    CHECK_EQ_INT(cmd_job_set(&job, "model.test.score_thr", "0.7", &at), RT_OK);
    CHECK_EQ_INT(cmd_job_get(&job, "model.test.score_thr", v, sizeof v), RT_OK);
    CHECK_EQ_STR(v, "0.7");
    CHECK_EQ_INT(cmd_job_set(&job, "model.test.score_thr", "2", &at), RT_ERR_CONFIG);
    CHECK_EQ_STR(rt_error(), "/x/y/sw.yaml:7:29: model.test.score_thr: 2 is out of range; "
                             "expected a number in [0, 1]");
    CHECK_EQ_INT(cmd_job_set(&job, "model.test.score_thr", "'0.5'", &at), RT_ERR_CONFIG);
    CHECK_CONTAINS(rt_error(), "/x/y/sw.yaml:7:29: model.test.score_thr: expected a number");
    CHECK_EQ_INT(cmd_job_set(&job, "model.test.scor_thr", "0.5", &at), RT_ERR_CONFIG);
    CHECK_EQ_STR(rt_error(), "/x/y/sw.yaml:7:29: model.test.scor_thr: unknown key; did you "
                             "mean 'model.test.score_thr'?");
    CHECK_EQ_INT(cmd_job_set(&job, "dataset.classes", "{1: car}", &at), RT_ERR_CONFIG);
    CHECK_CONTAINS(rt_error(), "dataset.classes: cannot be overridden");
    CHECK_EQ_INT(cmd_job_set(&job, "run.retries", "~", &at), RT_ERR_CONFIG);
    CHECK_CONTAINS(rt_error(), "sw.yaml:7:29: run.retries: expected a value");
    // A value's column inside a flow list is kept.
    CHECK_EQ_INT(cmd_job_set(&job, "dataset.include", "[a, '[b']", &at), RT_ERR_CONFIG);
    CHECK_CONTAINS(rt_error(), "sw.yaml:7:33: dataset.include: bad glob '[b'");
    CHECK_EQ_INT(cmd_job_set(&job, "run.threads_per_rank", "3", &at), RT_OK);
    CHECK_EQ_INT(job.run.threads_per_rank, 3);
    CHECK_EQ_INT(cmd_job_set(&job, "run.threads_per_rank", "auto", &at), RT_OK);
    CHECK_EQ_INT(cmd_job_get(&job, "run.threads_per_rank", v, sizeof v), RT_OK);
    CHECK_EQ_STR(v, "auto");
    CHECK_EQ_INT(cmd_job_set(&job, "model.refine_head", "false", &at), RT_OK);
    CHECK_EQ_INT(job.model.refine_head, 0);
    CHECK_EQ_INT(cmd_job_set(&job, "model.prototype_memory", "drift", &at), RT_ERR_CONFIG);
    CHECK_CONTAINS(rt_error(), "expected one of video, rank, got 'drift'");
    // Relative paths resolve against the override's file; validation names that file.
    char root[4200];
    snprintf(root, sizeof root, "'%s'", g_cwd);
    CHECK_EQ_INT(cmd_job_set(&job, "dataset.root", root, &at), RT_OK);
    CHECK_EQ_INT(cmd_job_set(&job, "model.weights", "w.h5", &at), RT_OK);
    CHECK_EQ_STR(job.model.weights, "/x/y/w.h5");
    CHECK_EQ_INT(cmd_job_validate(&job), RT_ERR_CONFIG);
    CHECK_CONTAINS(rt_error(), "/x/y/sw.yaml:7:29: model.weights: /x/y/w.h5");
    CHECK_EQ_INT(cmd_job_get(&job, "model.nope", v, sizeof v), RT_ERR_CONFIG);
    cmd_job_free(&job);
}

// cmd_job_print shows every key; the written job must read back to the same print.
static void test_job_write_round_trip(void) {
    const char *files[] = {"jobs/tiny-full.yaml", "jobs/tiny.yaml"};
    for (int i = 0; i < 2; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", g_cwd, files[i]);
        cmd_job a, b;
        CHECK_EQ_INT(cmd_job_load(path, &a), RT_OK);
        cmd_job_where at = {"/s.yaml", 1, 1};
        CHECK_EQ_INT(cmd_job_set(&a, "model.tracker.memo_momentum", "0.123456789", &at), RT_OK);
        CHECK_EQ_INT(cmd_job_set(&a, "run.progress_every", "2.5", &at), RT_OK);
        char *w = NULL, *pa = NULL, *pb = NULL;
        size_t nw = 0, na = 0, nb = 0;
        FILE *f = open_memstream(&w, &nw);
        CHECK_EQ_INT(cmd_job_write(&a, f), RT_OK);
        fclose(f);
        CHECK_EQ_INT(cmd_job_parse(path, w, nw, &b), RT_OK);
        f = open_memstream(&pa, &na);
        cmd_job_print(&a, f);
        fclose(f);
        f = open_memstream(&pb, &nb);
        cmd_job_print(&b, f);
        fclose(f);
        CHECK_EQ_STR(pa, pb);
        CHECK_CONTAINS(pb, "memo_momentum: 0.123457");
        free(w), free(pa), free(pb);
        cmd_job_free(&a);
        cmd_job_free(&b);
    }
}

// ---------------------------------------------------------------------------------------------

static void setup(void) {
    CHECK(getcwd(g_cwd, sizeof g_cwd) != NULL);
    snprintf(g_dir, sizeof g_dir, "%s", test_tmpdir());
    char text[8192];
    snprintf(text, sizeof text, BASE_JOB, g_cwd);
    write_in_dir("job.yaml", text);
    char p[4400];
    snprintf(p, sizeof p, "%s/out", g_dir);
    mkdir(p, 0755);
    write_in_dir("sweep.yaml", "# two shapes x two thresholds\n"
                               "base: job.yaml\n"
                               "cluster: {time: \"0:30:00\"}\n"
                               "grid:\n"
                               "  cluster.ntasks_per_node: [1, 2]\n"
                               "  model.test.score_thr: [0.3, 0.6]\n");
}

static void test_expand(void) {
    CHECK_EQ_INT(pcan("sweep expand sweep.yaml"), 0);
    CHECK_CONTAINS(g_out, "sweep.yaml: 4 points");
    char line[4400];
    snprintf(line, sizeof line,
             "\n0\t1x1x1\tcluster.ntasks_per_node=1 model.test.score_thr=0.3\t"
             "%s/out/sweep-0.h5\n",
             g_dir);
    CHECK_CONTAINS(g_out, line);
    snprintf(line, sizeof line,
             "\n3\t1x2x1\tcluster.ntasks_per_node=2 model.test.score_thr=0.6\t"
             "%s/out/sweep-3.h5\n",
             g_dir);
    CHECK_CONTAINS(g_out, line);
    // An inline base, a name, an output folder; 12 points are numbered with two digits.
    char text[8192];
    snprintf(text, sizeof text,
             "name: grid12\n"
             "output: out\n"
             "base:\n"
             "  dataset: {format: synth, root: ds}\n"
             "  model: {weights: %s/tests/fixtures/tiny.weights.h5}\n"
             "  output: {archive: elsewhere/x.h5}\n"
             "grid:\n"
             "  run.threads_per_rank: [1, 2, auto]\n"
             "  model.tracker.memo_momentum: [0.1, 0.2, 0.3, 0.4]\n",
             g_cwd);
    write_in_dir("inline.yaml", text);
    CHECK_EQ_INT(pcan("sweep expand inline.yaml"), 0);
    CHECK_CONTAINS(g_out, "12 points");
    snprintf(line, sizeof line,
             "\n11\t1x1x1\trun.threads_per_rank=auto "
             "model.tracker.memo_momentum=0.4\t%s/out/grid12-11.h5\n",
             g_dir);
    CHECK_CONTAINS(g_out, line);
    CHECK_CONTAINS(g_out, "/out/grid12-00.h5\n");
}

typedef struct bad_case {
    const char *text;
    const char *message;
} bad_case;

static void test_errors(void) {
    static const bad_case cases[] = {
        {"base: job.yaml\ngrid:\n  model.test.score_thr: [0.5, 1.5]\n",
         "bad.yaml:3:31: model.test.score_thr: 1.5 is out of range; expected a number in [0, 1]"},
        {"base: job.yaml\ngrid:\n  model.tracker.memo_tracklet_frames: [10, ten]\n",
         "bad.yaml:3:44: model.tracker.memo_tracklet_frames: expected an integer in [1, 10000], "
         "got 'ten'"},
        {"base: job.yaml\ngrid:\n  model.test.nms: [0.5]\n",
         "bad.yaml:3:20: model.test.nms: unknown key; did you mean 'model.test.nms_iou'?"},
        {"base: job.yaml\ngrid:\n  dataset.root: [a, b]\n",
         "bad.yaml:3:3: grid.dataset.root: a grid varies model.*, run.* or cluster.* keys"},
        {"base: job.yaml\ngrid:\n  cluster.ntasks_per_node: [1, 0]\n",
         "bad.yaml:3:32: cluster.ntasks_per_node: expected an integer in [1, 4096], got '0'"},
        {"base: job.yaml\ngrid:\n  cluster.gpus: [1]\n",
         "bad.yaml:3:3: grid.cluster.gpus: unknown key"},
        {"base: job.yaml\ngrid:\n  run.retries: []\n",
         "bad.yaml:3:16: grid.run.retries: an empty list of values"},
        {"base: job.yaml\ngrid:\n  run.retries: [1]\n  run.retries: [2]\n",
         "bad.yaml:4:3: grid.run.retries: duplicate key"},
        {"base: job.yaml\ngrids: {}\n", "bad.yaml:2:1: grids: unknown key"},
        {"grid: {run.retries: [1]}\n", "bad.yaml:1:1: base: required key missing"},
        {"base: nothere.yaml\n", "nothere.yaml: cannot open job file"},
        {"base:\n  dataset: {format: synth, root: ds}\n  model: {weigths: w.h5}\n"
         "  output: {archive: x.h5}\n",
         "bad.yaml:3:11: model.weigths: unknown key; did you mean 'weights'?"},
        {"base: job.yaml\ncluster: {nodes: -1}\n",
         "bad.yaml:2:18: cluster.nodes: expected an integer in [1, 100000], got '-1'"},
        {"base: job.yaml\ngrid: {run.retries: [1, [2]]}\n",
         "bad.yaml:2:25: grid.run.retries: expected a value, got a structure"},
        {"base: job.yaml\nname: a/b\n", "bad.yaml:2:7: name: use letters"},
        {"base: [job.yaml\n", "bad.yaml:2:1: YAML syntax"},
        {"base: job.yaml\n---\nbase: job.yaml\n", "bad.yaml:3:1: more than one YAML document"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_in_dir("bad.yaml", cases[i].text);
        int rc = pcan("sweep expand bad.yaml");
        CHECK_MSG(rc == 2, "case %zu: rc %d: %s", i, rc, g_out);
        CHECK_MSG(strstr(g_out, cases[i].message) != NULL, "case %zu: expected '%s' in: %s", i,
                  cases[i].message, g_out);
    }
    // Point numbers and the validation of a point's files (here: its weights).
    CHECK_EQ_INT(pcan("sweep point sweep.yaml 4"), 2);
    CHECK_CONTAINS(g_out, "K must be in 0..3, got '4'");
}

static double eval_hota(const char *archive) {
    char args[8192];
    snprintf(args, sizeof args, "eval --gt ds --format synth --results %s --json ev.json", archive);
    if (pcan(args) != 0) return NAN;
    char p[4400];
    snprintf(p, sizeof p, "%s/ev.json", g_dir);
    json_error_t err;
    json_t *j = json_load_file(p, 0, &err);
    double h = json_real_value(
        json_object_get(json_object_get(json_object_get(j, "rows"), "cls_comb_cls_av"), "HOTA"));
    json_decref(j);
    return 100 * h;
}

static void test_point_and_report(void) {
    int rc = pcan("synth --out ds --videos 3 --frames 3 --seed 5 --size 96x64");
    CHECK_MSG(rc == 0, "synth: %s", g_out);
    write_in_dir("badw.yaml", "base: job.yaml\ngrid:\n  model.weights: [nothere.h5]\n");
    CHECK_EQ_INT(pcan("sweep point badw.yaml 0"), 2);
    CHECK_CONTAINS(g_out, "badw.yaml:3:19: model.weights: ");
    CHECK_CONTAINS(g_out, "/nothere.h5: No such file or directory");
    write_in_dir("bado.yaml", "base: job.yaml\noutput: nothere\n");
    CHECK_EQ_INT(pcan("sweep point bado.yaml 0"), 2);
    CHECK_CONTAINS(g_out, "bado.yaml:2:9: output.archive: folder ");
    CHECK_CONTAINS(g_out, "/nothere does not exist");
    // Points 0 and 1 (one task) as single processes, point 2 (two tasks) on two ranks.
    CHECK_EQ_INT(pcan("sweep point sweep.yaml 0"), 0);
    CHECK_CONTAINS(g_out,
                   "pcan sweep point 0/4: cluster.ntasks_per_node=1 model.test.score_thr=0.3");
    CHECK_CONTAINS(g_out, "1 rank x 1 thread");
    CHECK_EQ_INT(pcan("sweep point sweep.yaml 1"), 0);
    char out[256];
    bool mpi = test_run_cmd("mpirun --version", out, sizeof out) == 0;
    if (mpi) {
        char cmd[16384];
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && mpirun --oversubscribe -np 2 '%s' sweep point "
                 "sweep.yaml 2",
                 g_dir, test_pcan());
        rc = test_run_cmd(cmd, g_out, sizeof g_out);
        CHECK_MSG(rc == 0, "mpirun point 2: %s", g_out);
        CHECK_CONTAINS(g_out, "2 ranks x 1 thread");
        CHECK_EQ_INT(count(g_out, "pcan sweep point 2/4: "), 1); // one banner, not one per rank
    } else {
        CHECK_EQ_INT(pcan("sweep point sweep.yaml 2"), 0);
    }
    // The effective job: the header and the overrides.
    const char *ej = read_in_dir("out/sweep-1.h5.job.yaml");
    CHECK_CONTAINS(ej, "# pcan-sweep-point: 1 of 4\n");
    CHECK_CONTAINS(ej, "# pcan-sweep-cluster: nodes=1 ntasks_per_node=1 cpus_per_task=1\n");
    CHECK_CONTAINS(ej, "# pcan-sweep-override: model.test.score_thr=0.6\n");
    CHECK_CONTAINS(ej, "    score_thr: 0.6\n");
    CHECK_CONTAINS(ej, "  threads_per_rank: 1\n");
    CHECK_EQ_INT(pcan("info out/sweep-1.h5"), 0);
    CHECK_CONTAINS(g_out, "videos: 3 (3 ok, 0 failed)");

    CHECK_EQ_INT(pcan("sweep report out/sweep-0.h5 out/sweep-1.h5 out/sweep-2.h5 --out rep"), 0);
    const char *csv = read_in_dir("rep/report.csv");
    CHECK_CONTAINS(csv, "archive,point,cluster.ntasks_per_node,model.test.score_thr,ranks,threads,"
                        "videos,failed,frames,seconds,fps,efficiency,HOTA,DetA,AssA,");
    CHECK_CONTAINS(csv, "out/sweep-0.h5,0,1,0.3,1,1,3,0,9,");
    CHECK_CONTAINS(csv, "out/sweep-1.h5,1,1,0.6,1,1,3,0,9,");
    char row2[64];
    snprintf(row2, sizeof row2, "out/sweep-2.h5,2,2,0.3,%d,1,3,0,9,", mpi ? 2 : 1);
    CHECK_CONTAINS(csv, row2);
    CHECK_EQ_INT(count(csv, "\n"), 4);
    // The reference shape of each workload has efficiency 1 (points 0 and 1: their own
    // thresholds; point 2 is compared with point 0).
    const char *r0 = strstr(csv, "out/sweep-0.h5"), *r1 = strstr(csv, "out/sweep-1.h5");
    CHECK(r0 && strstr(r0, ",1.0000,") && strstr(r0, ",1.0000,") < strchr(r0, '\n'));
    CHECK(r1 && strstr(r1, ",1.0000,") && strstr(r1, ",1.0000,") < strchr(r1, '\n'));
    // HOTA as `pcan eval` computes it, at full precision.
    double hota = eval_hota("out/sweep-1.h5");
    CHECK(!isnan(hota));
    const char *p = r1;
    for (int comma = 0; p && comma < 12; comma++) p = strchr(p + 1, ',');
    CHECK(p != NULL);
    if (p) CHECK_NEAR(strtod(p + 1, NULL), hota, 1e-9);

    const char *md = read_in_dir("rep/report.md");
    CHECK_CONTAINS(md, "| point | cluster.ntasks_per_node | model.test.score_thr | ranks x threads "
                       "| frames | frames/s | efficiency | HOTA | DetA | AssA | sMOTSA | IDF1 |\n");
    CHECK_CONTAINS(md, "\n| 1 | 1 | 0.6 | 1 x 1 | 9 | ");
    CHECK_EQ_INT(count(md, "\n| "), 3);
    const char *svg = read_in_dir("rep/plot.svg");
    CHECK(!strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39));
    CHECK_CONTAINS(svg, "<title>HOTA against cluster.ntasks_per_node</title>");
    CHECK_EQ_INT(count(svg, "class=\"point\""), 3);
    CHECK_CONTAINS(svg, "</svg>\n");
    // Another metric and axis; two series (one per threshold) in the legend.
    CHECK_EQ_INT(pcan("sweep report out/sweep-0.h5 out/sweep-1.h5 out/sweep-2.h5 --out rep "
                      "--metric fps --axis model.test.score_thr"),
                 0);
    svg = read_in_dir("rep/plot.svg");
    CHECK_CONTAINS(svg, "<title>fps against model.test.score_thr</title>");
    CHECK_CONTAINS(svg, ">cluster.ntasks_per_node=1</text>");
    CHECK_CONTAINS(svg, ">cluster.ntasks_per_node=2</text>");
    CHECK_EQ_INT(pcan("sweep report out/sweep-0.h5 --out rep --metric HOTTA"), 2);
    CHECK_CONTAINS(g_out, "--metric HOTTA: not a metric field");
    CHECK_EQ_INT(pcan("sweep report out/sweep-0.h5 --out rep --axis model.bogus"), 2);
    CHECK_EQ_INT(pcan("sweep report job.yaml --out rep"), 2);
    // The metrics come from the archive's /metrics (the run wrote them): the same row without
    // the dataset at hand.
    static char row0[4096];
    const char *r = strstr(read_in_dir("rep/report.csv"), "\nout/sweep-0.h5,");
    CHECK(r != NULL);
    if (r) snprintf(row0, sizeof row0, "%.*s", (int)(strchr(r + 1, '\n') - r + 1), r);
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && mv ds ds.away && '%s' sweep report out/sweep-0.h5 "
             "--out rep2; rc=$?; mv ds.away ds; exit $rc",
             g_dir, test_pcan());
    CHECK_EQ_INT(test_run_cmd(cmd, g_out, sizeof g_out), 0);
    CHECK(strstr(g_out, "no metrics") == NULL);
    CHECK_CONTAINS(read_in_dir("rep2/report.csv"), row0);
}

// Every sweep file shipped in jobs/ expands.
static void test_example_sweeps(void) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && for f in jobs/*sweep*.yaml; do '%s' sweep expand \"$f\" "
             "|| exit 1; done",
             g_cwd, test_pcan());
    CHECK_EQ_INT(test_run_cmd(cmd, g_out, sizeof g_out), 0);
    CHECK_CONTAINS(g_out, "jobs/demo-sweep.yaml: 4 points");
    CHECK_CONTAINS(g_out, "\t1x2x1\tmodel.test.score_thr=0.5 cluster.ntasks_per_node=2\t");
    CHECK_CONTAINS(g_out, "/build/demo/demo-sweep-3.h5\n");
}

static void test_submit(void) {
    char fake[4400];
    snprintf(fake, sizeof fake, "%s/fake-sbatch", g_dir);
    test_write_text(fake, "#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/sbatch.args\"\n"
                          "n=$(wc -l < \"$(dirname \"$0\")/sbatch.args\")\necho $((700 + n))\n");
    CHECK_EQ_INT(chmod(fake, 0755), 0);
    char args[16384];
    snprintf(args, sizeof args,
             "sweep submit sweep.yaml --max-parallel 2 --template-dir '%s/slurm' "
             "--dry-run",
             g_cwd);
    CHECK_EQ_INT(pcan(args), 0);
    CHECK_CONTAINS(g_out, "#SBATCH --array=0-1%2\n");
    CHECK_CONTAINS(g_out, "#SBATCH --array=2-3%2\n");
    CHECK_CONTAINS(g_out, "#SBATCH --time=0:30:00\n");
    CHECK_CONTAINS(g_out, "#SBATCH --ntasks-per-node=2\n");
    CHECK_CONTAINS(g_out, "sweep point \"$SWEEP\" \"$POINT\"");
    CHECK_CONTAINS(g_out, "/out/sweep.1x2x1.sbatch: points 2-3%2");
    CHECK(strstr(g_out, "@ARRAY@") == NULL && strstr(g_out, "#SBATCH --partition") == NULL);
    snprintf(args, sizeof args, "sweep submit sweep.yaml --template-dir '%s/slurm' 2>/dev/null",
             g_cwd);
    char cmd[40000];
    snprintf(cmd, sizeof cmd, "cd '%s' && PCAN_SBATCH='%s' '%s' %s", g_dir, fake, test_pcan(),
             args);
    CHECK_EQ_INT(test_run_cmd(cmd, g_out, sizeof g_out), 0);
    CHECK_EQ_STR(g_out, "701\n702\n");
    const char *sa = read_in_dir("sbatch.args");
    CHECK_CONTAINS(sa, "--parsable ");
    CHECK_CONTAINS(sa, "/out/sweep.1x1x1.sbatch\n");
    const char *script = read_in_dir("out/sweep.1x1x1.sbatch");
    CHECK_CONTAINS(script, "#SBATCH --array=0-1\n");
    CHECK_CONTAINS(script, "/out/sweep-%a.%A.log\n");
    // One shape: one script named after the sweep.
    write_in_dir("one.yaml", "base: job.yaml\ngrid: {model.test.score_thr: [0.3, 0.5, 0.7]}\n");
    snprintf(args, sizeof args,
             "sweep submit one.yaml --max-parallel 2 --partition p1 "
             "--template-dir '%s/slurm' --dry-run",
             g_cwd);
    CHECK_EQ_INT(pcan(args), 0);
    CHECK_CONTAINS(g_out, "/out/one.sbatch: points 0-2%2");
    CHECK_CONTAINS(g_out, "#SBATCH --partition=p1\n");
    CHECK_CONTAINS(g_out, "#SBATCH --time=24:00:00\n");
    CHECK_EQ_INT(pcan("sweep submit one.yaml --max-parallel 0 --dry-run"), 2);
    CHECK_EQ_INT(pcan("sweep frobnicate one.yaml"), 2);
}

int main(void) {
    setup();
    TEST_RUN(test_job_set_get);
    TEST_RUN(test_job_write_round_trip);
    TEST_RUN(test_expand);
    TEST_RUN(test_errors);
    TEST_RUN(test_point_and_report);
    TEST_RUN(test_submit);
    TEST_RUN(test_example_sweeps);
    return test_finish();
}
