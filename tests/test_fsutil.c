// Atomic file output: the final name appears only on commit, abort leaves nothing behind.
#include <dirent.h>
#include <sys/stat.h>

#include "runtime/fsutil.h"
#include "tests/test.h"

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static void test_commit_and_abort(void) {
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/a/b/c", test_tmpdir());
    CHECK_EQ_INT(rt_mkdir_p(dir), RT_OK);
    CHECK_EQ_INT(rt_mkdir_p(dir), RT_OK); // exists: fine
    snprintf(path, sizeof path, "%s/out.txt", dir);

    rt_atomic_file af;
    CHECK_EQ_INT(rt_atomic_open(&af, path), RT_OK);
    fputs("hello", af.f);
    struct stat sb;
    CHECK(stat(path, &sb) != 0); // not visible before commit
    CHECK_EQ_INT(count_entries(dir), 1);
    CHECK_EQ_INT(rt_atomic_commit(&af), RT_OK);
    CHECK(stat(path, &sb) == 0 && sb.st_size == 5);
    CHECK_EQ_INT(count_entries(dir), 1);

    CHECK_EQ_INT(rt_atomic_open(&af, path), RT_OK);
    fputs("partial", af.f);
    rt_atomic_abort(&af);
    CHECK(stat(path, &sb) == 0 && sb.st_size == 5); // old content intact
    CHECK_EQ_INT(count_entries(dir), 1);            // temp removed
    rt_atomic_abort(&af);                           // idempotent

    CHECK_EQ_INT(rt_write_file_atomic(path, "abc", 3), RT_OK);
    CHECK(stat(path, &sb) == 0 && sb.st_size == 3);
}

static void test_errors(void) {
    rt_atomic_file af;
    CHECK_EQ_INT(rt_atomic_open(&af, "/nonexistent-folder/x.txt"), RT_ERR_IO);
    CHECK_CONTAINS(rt_error(), "/nonexistent-folder/x.txt: cannot create");
    char path[4300];
    snprintf(path, sizeof path, "%s/file", test_tmpdir());
    test_write_text(path, "x");
    snprintf(path, sizeof path, "%s/file/sub", test_tmpdir());
    CHECK_EQ_INT(rt_mkdir_p(path), RT_ERR_IO);
}

int main(void) {
    TEST_RUN(test_commit_and_abort);
    TEST_RUN(test_errors);
    return test_finish();
}
