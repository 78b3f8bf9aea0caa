// pcan eval end to end: a synthetic dataset, `pcan run` on the fixture model, then the tables,
// the JSON, missing / extra videos and the exit codes.
#include <stdlib.h>
#include <string.h>

#include "tests/test.h"

static char dir[4096];

static int sh(char *out, size_t cap, const char *fmt, const char *arg) {
    char cmd[16384], body[8192];
    snprintf(body, sizeof body, fmt, arg);
    snprintf(cmd, sizeof cmd, "cd '%s' && %s", dir, body);
    return test_run_cmd(cmd, out, cap);
}

static void test_eval(void) {
    static char out[65536];
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    char pre[8192];
    snprintf(pre, sizeof pre,
             "'%s' synth --out data --videos 3 --frames 5 --seed 3 --size 128x96 && mkdir out && "
             "printf 'dataset: {format: synth, root: data}\\nmodel: {weights: %s/tests/fixtures/"
             "tiny.weights.h5}\\noutput: {archive: out/run.h5}\\n' > job.yaml && '%s' run job.yaml",
             test_pcan(), getenv("PWD") ? getenv("PWD") : ".", test_pcan());
    CHECK_MSG(sh(out, sizeof out, "%s", pre) == 0, "setup: %s", out);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' eval --gt data --format synth --results out/run.h5 --json e.json",
             test_pcan());
    CHECK_MSG(sh(out, sizeof out, "%s", cmd) == 0, "eval: %s", out);
    CHECK_CONTAINS(out, "\nHOTA: pcan-car                     HOTA      DetA      AssA      DetRe");
    CHECK_CONTAINS(out, "\nCLEAR: pcan-pedestrian             MOTA      MOTP      MODA      CLR_Re");
    CHECK_CONTAINS(out, "\nCount: pcan-cls_comb_det_av        Dets      GT_Dets   IDs       GT_IDs");
    CHECK_CONTAINS(out, "\nCOMBINED                           ");
    CHECK_CONTAINS(out, "sMOTSA");
    CHECK_CONTAINS(out, "videos 3, missing from the archive 0");
    CHECK_EQ_INT(sh(out, sizeof out, "grep -c '\"CLR_FN\"' e.json", ""), 0);
    // car, pedestrian, bicycle (every class of the dataset), cls_comb_cls_av, cls_comb_det_av
    CHECK_CONTAINS(out, "5");
    // one GT file removed: that archive video is skipped; a GT-only video counts as all missed
    snprintf(cmd, sizeof cmd,
             "mv data/instances_txt/0001.txt x.txt && '%s' eval --gt data --format synth "
             "--results out/run.h5 --protocol bdd100k; s=$?; mv x.txt data/instances_txt/0001.txt; "
             "exit $s", test_pcan());
    int rc = sh(out, sizeof out, "%s", cmd);
    CHECK_MSG(rc == 0 || rc == 2, "bdd: %s", out); // 2 when the reader needs the file (seqmap)
    if (rc == 0) {
        CHECK_CONTAINS(out, "OVERALL");
        CHECK_CONTAINS(out, "0001 has no ground truth");
    }
    snprintf(cmd, sizeof cmd, "'%s' eval --gt data --format synth --results nope.h5", test_pcan());
    CHECK_EQ_INT(sh(out, sizeof out, "%s", cmd), 2);
    CHECK_CONTAINS(out, "nope.h5");
    snprintf(cmd, sizeof cmd, "'%s' eval --gt data --format bogus --results out/run.h5", test_pcan());
    CHECK_EQ_INT(sh(out, sizeof out, "%s", cmd), 2);
    snprintf(cmd, sizeof cmd, "'%s' eval --gt data --format synth --results out/run.h5 "
             "--protocol x", test_pcan());
    CHECK_EQ_INT(sh(out, sizeof out, "%s", cmd), 2);
}

// Archive → kitti-mots export → read back as ground truth → the archive scores 100 on it; the
// MOTS20 export is the same lines with 1-based frames; filters drop rows.
static void test_export(void) {
    static char out[65536];
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' export out/run.h5 --format kitti-mots --out rt/instances_txt && "
             "mv rt/instances_txt/classes.txt rt/ && '%s' eval --gt rt --format synth "
             "--results out/run.h5 --json rt.json",
             test_pcan(), test_pcan());
    CHECK_MSG(sh(out, sizeof out, "%s", cmd) == 0, "round trip: %s", out);
    CHECK_EQ_INT(sh(out, sizeof out, "grep -o '\"HOTA\": [0-9.]*' rt.json | sort -u", ""), 0);
    CHECK_CONTAINS(out, "\"HOTA\": 1\n");
    // classes with data score 1; a class with neither ground truth nor results scores 0 and
    // pulls the class mean below 1 (values strictly between 0 and 1 come only from that mean)
    CHECK(strstr(out, "\"HOTA\": 0.9") == NULL);
    CHECK_EQ_INT(sh(out, sizeof out, "grep -o '\"MOTA\": [0-9.-]*' rt.json | sort -u", ""), 0);
    CHECK_CONTAINS(out, "\"MOTA\": 1\n");
    CHECK_EQ_INT(sh(out, sizeof out, "head -1 rt/instances_txt/0000.txt | cut -d' ' -f1-5", ""), 0);
    CHECK(out[0] == '0' && strstr(out, " 96 128") != NULL);
    snprintf(cmd, sizeof cmd,
             "'%s' export out/run.h5 --format mots20 --out m && "
             "awk '{ $1 = $1 - 1; print }' m/0000.txt | cmp - rt/instances_txt/0000.txt",
             test_pcan());
    CHECK_MSG(sh(out, sizeof out, "%s", cmd) == 0, "mots20 frame base: %s", out);
    snprintf(cmd, sizeof cmd,
             "'%s' export out/run.h5 --format kitti-mots --out f --min-score 2 && cat f/000*.txt | wc -c",
             test_pcan());
    CHECK_EQ_INT(sh(out, sizeof out, "%s", cmd), 0);
    CHECK_CONTAINS(out, "0\n");
    snprintf(cmd, sizeof cmd, "'%s' export out/run.h5 --format bogus --out s", test_pcan());
    CHECK_EQ_INT(sh(out, sizeof out, "%s", cmd), 2);
}

int main(void) {
    TEST_RUN(test_eval);
    TEST_RUN(test_export);
    return test_finish();
}
