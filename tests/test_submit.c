// pcan submit: the filled batch script (dry run), the template left untouched, sbatch's job id
// printed (through a stand-in $PCAN_SBATCH), --merge-after's dependency, usage errors.
#include <sys/stat.h>
#include <unistd.h>

#include "tests/test.h"

static char g_dir[4096], g_job[4200], g_tdir[4200];

static int run(const char *args, char *out, size_t cap) {
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' submit %s --template-dir '%s'", g_dir, test_pcan(),
             args, g_tdir);
    return test_run_cmd(cmd, out, cap);
}

static void setup(void) {
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(g_dir, sizeof g_dir, "%s", test_tmpdir());
    snprintf(g_tdir, sizeof g_tdir, "%s/slurm", cwd);
    snprintf(g_job, sizeof g_job, "%s/job.yaml", g_dir);
    char text[9000];
    snprintf(text, sizeof text,
             "dataset: {format: synth, root: ds}\n"
             "model: {weights: %s/tests/fixtures/tiny.weights.h5}\n"
             "output: {archive: out/run.h5}\n", cwd);
    test_write_text(g_job, text);
    char sb[4300];
    snprintf(sb, sizeof sb, "%s/fake-sbatch", g_dir);
    // Records its arguments and answers like `sbatch --parsable`.
    test_write_text(sb, "#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/sbatch.args\"\n"
                        "n=$(wc -l < \"$(dirname \"$0\")/sbatch.args\")\necho $((4100 + n))\n");
    CHECK_EQ_INT(chmod(sb, 0755), 0);
    char od[4300];
    snprintf(od, sizeof od, "%s/out", g_dir);
    mkdir(od, 0755);
}

static void test_dry_run(void) {
    static char out[65536];
    CHECK_EQ_INT(run("job.yaml --nodes 2 --ntasks-per-node 3 --cpus-per-task 4 --time 1-02:00:00 "
                     "--partition gpu_x --dry-run", out, sizeof out), 0);
    CHECK_CONTAINS(out, "#SBATCH --nodes=2\n");
    CHECK_CONTAINS(out, "#SBATCH --ntasks-per-node=3\n");
    CHECK_CONTAINS(out, "#SBATCH --cpus-per-task=4\n");
    CHECK_CONTAINS(out, "#SBATCH --time=1-02:00:00\n");
    CHECK_CONTAINS(out, "#SBATCH --partition=gpu_x\n");
    CHECK_CONTAINS(out, "#SBATCH --requeue\n");
    CHECK_CONTAINS(out, "#SBATCH --signal=B:USR1@120\n");
    CHECK_CONTAINS(out, "srun --mpi=pmix");
    CHECK_CONTAINS(out, "scontrol requeue");
    CHECK_CONTAINS(out, "/out/run.h5.%j.log");
    CHECK_CONTAINS(out, "/job.yaml'");
    CHECK(strstr(out, "@NODES@") == NULL && strstr(out, "@JOB@") == NULL);
    // No partition: the line is dropped so that Slurm's default applies.
    CHECK_EQ_INT(run("job.yaml --dry-run", out, sizeof out), 0);
    CHECK(strstr(out, "#SBATCH --partition") == NULL);
    CHECK_CONTAINS(out, "#SBATCH --nodes=1\n");
    // Nothing written on a dry run.
    char p[4400];
    snprintf(p, sizeof p, "%s/out/run.h5.sbatch", g_dir);
    CHECK(access(p, F_OK) != 0);
}

static void test_submit_with_fake_sbatch(void) {
    static char out[65536];
    const char *args = "job.yaml --ntasks-per-node 2 --merge-after";
    char cmd[24576];
    snprintf(cmd, sizeof cmd, "cd '%s' && PCAN_SBATCH='%s/fake-sbatch' '%s' submit %s "
             "--template-dir '%s' 2>/dev/null", g_dir, g_dir, test_pcan(), args, g_tdir);
    CHECK_EQ_INT(test_run_cmd(cmd, out, sizeof out), 0);
    CHECK_EQ_STR(out, "4101\n4102\n");
    char p[16384];
    snprintf(p, sizeof p, "cat '%s/sbatch.args'", g_dir);
    CHECK_EQ_INT(test_run_cmd(p, out, sizeof out), 0);
    CHECK_CONTAINS(out, "--parsable ");
    CHECK_CONTAINS(out, "/out/run.h5.sbatch\n");
    CHECK_CONTAINS(out, "--dependency=afterok:4101 ");
    CHECK_CONTAINS(out, "/out/run.h5.merge.sbatch\n");
    snprintf(p, sizeof p, "cat '%s/out/run.h5.sbatch' '%s/out/run.h5.merge.sbatch'", g_dir, g_dir);
    CHECK_EQ_INT(test_run_cmd(p, out, sizeof out), 0);
    CHECK_CONTAINS(out, "#SBATCH --ntasks-per-node=2\n");
    CHECK_CONTAINS(out, " merge '");
    // The template itself still has its fields.
    snprintf(p, sizeof p, "grep -c '@NODES@' '%s/pcan.sbatch'", g_tdir);
    CHECK_EQ_INT(test_run_cmd(p, out, sizeof out), 0);
    // A failing sbatch is a runtime failure.
    snprintf(cmd, sizeof cmd, "cd '%s' && PCAN_SBATCH=false '%s' submit job.yaml "
             "--template-dir '%s'", g_dir, test_pcan(), g_tdir);
    CHECK_EQ_INT(test_run_cmd(cmd, out, sizeof out), 1);
    CHECK_CONTAINS(out, "failed");
}

static void test_usage_errors(void) {
    static char out[65536];
    CHECK_EQ_INT(run("job.yaml --time 25 --dry-run", out, sizeof out), 2);
    CHECK_CONTAINS(out, "--time");
    CHECK_EQ_INT(run("job.yaml --nodes 0 --dry-run", out, sizeof out), 2);
    CHECK_EQ_INT(run("job.yaml --partition 'a;b' --dry-run", out, sizeof out), 2);
    CHECK_EQ_INT(run("--dry-run", out, sizeof out), 2);
    CHECK_CONTAINS(out, "missing JOB.yaml");
    CHECK_EQ_INT(run("job.yaml --bogus", out, sizeof out), 2);
    char bad[4400];
    snprintf(bad, sizeof bad, "%s/bad.yaml", g_dir);
    test_write_text(bad, "dataset: {format: synth, root: ds}\nmodel: {weigths: x}\n");
    CHECK_EQ_INT(run("bad.yaml --dry-run", out, sizeof out), 2);
    CHECK_CONTAINS(out, "bad.yaml:2");
}

int main(void) {
    setup();
    TEST_RUN(test_dry_run);
    TEST_RUN(test_submit_with_fake_sbatch);
    TEST_RUN(test_usage_errors);
    return test_finish();
}
