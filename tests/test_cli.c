// The pcan command line: help, version, dispatch, usage errors, `pcan info`.
#include <hdf5.h>

#include "runtime/h5util.h"
#include "tests/test.h"

static int run(const char *args, char *out, size_t cap) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' %s", test_pcan(), args);
    return test_run_cmd(cmd, out, cap);
}

static void test_help_and_version(void) {
    char out[8192];
    CHECK_EQ_INT(run("--help", out, sizeof out), 0);
    CHECK_CONTAINS(out, "usage: pcan");
    CHECK_CONTAINS(out, "check");
    CHECK_CONTAINS(out, "info");
    CHECK_EQ_INT(run("--version", out, sizeof out), 0);
    CHECK(strncmp(out, "pcan ", 5) == 0 && strlen(out) > 6);
    CHECK_EQ_INT(run("check --help", out, sizeof out), 0);
    CHECK_CONTAINS(out, "usage: pcan check");
    CHECK_EQ_INT(run("help info", out, sizeof out), 0);
    CHECK_CONTAINS(out, "usage: pcan info");
}

static void test_usage_errors(void) {
    char out[8192];
    CHECK_EQ_INT(run("", out, sizeof out), 2);
    CHECK_CONTAINS(out, "usage: pcan");
    CHECK_EQ_INT(run("frobnicate", out, sizeof out), 2);
    CHECK_CONTAINS(out, "unknown command 'frobnicate'");
    CHECK_EQ_INT(run("--frobnicate", out, sizeof out), 2);
    CHECK_CONTAINS(out, "unknown option '--frobnicate'");
    CHECK_EQ_INT(run("info --nope x", out, sizeof out), 2);
    CHECK_CONTAINS(out, "unknown option '--nope'");
    CHECK_EQ_INT(run("help nope", out, sizeof out), 2);
}

static void write_file_with_attrs(const char *path, const char *format, int version) {
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t s = H5Screate(H5S_SCALAR), t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    if (format) {
        hid_t a = H5Acreate2(f, "format", t, s, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, t, &format);
        H5Aclose(a);
        const char *cfg = "name: tiny\nclasses: [car]\n";
        a = H5Acreate2(f, "config", t, s, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, t, &cfg);
        H5Aclose(a);
        a = H5Acreate2(f, "version", H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_INT, &version);
        H5Aclose(a);
    }
    hsize_t dims[2] = {2, 3};
    hid_t ds = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(f, "conv.weight", H5T_IEEE_F32LE, ds, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    float v[6] = {1, 2, 3, 4, 5, 6};
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(d);
    H5Sclose(ds);
    H5Tclose(t);
    H5Sclose(s);
    H5Fclose(f);
}

static void test_info(void) {
    char out[8192], path[4200], args[4400];
    const char *dir = test_tmpdir();
    snprintf(path, sizeof path, "%s/w.h5", dir);
    write_file_with_attrs(path, "pcan-weights", 1);
    snprintf(args, sizeof args, "info --list '%s'", path);
    CHECK_EQ_INT(run(args, out, sizeof out), 0);
    CHECK_CONTAINS(out, "format: pcan-weights");
    CHECK_CONTAINS(out, "version: 1");
    CHECK_CONTAINS(out, "  name: tiny");
    CHECK_CONTAINS(out, "tensors: 1 (6 values)");
    CHECK_CONTAINS(out, "conv.weight");
    CHECK_CONTAINS(out, "[2,3]");

    snprintf(path, sizeof path, "%s/other.h5", dir);
    write_file_with_attrs(path, "something-else", 1);
    snprintf(args, sizeof args, "info '%s'", path);
    CHECK_EQ_INT(run(args, out, sizeof out), 2);
    CHECK_CONTAINS(out, "unknown format 'something-else'");

    snprintf(path, sizeof path, "%s/plain.h5", dir);
    write_file_with_attrs(path, NULL, 0);
    snprintf(args, sizeof args, "info '%s'", path);
    CHECK_EQ_INT(run(args, out, sizeof out), 2);
    CHECK_CONTAINS(out, "not a pcan file");

    snprintf(path, sizeof path, "%s/text.txt", dir);
    test_write_text(path, "hello\n");
    snprintf(args, sizeof args, "info '%s'", path);
    CHECK_EQ_INT(run(args, out, sizeof out), 2);
    CHECK_CONTAINS(out, "not an HDF5 file");

    snprintf(args, sizeof args, "info '%s/missing.h5'", dir);
    CHECK_EQ_INT(run(args, out, sizeof out), 2);
    CHECK_CONTAINS(out, "No such file or directory");
}

int main(void) {
    rt_h5_quiet();
    TEST_RUN(test_help_and_version);
    TEST_RUN(test_usage_errors);
    TEST_RUN(test_info);
    return test_finish();
}
