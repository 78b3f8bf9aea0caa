#include "runtime/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

rt_status rt_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return rt_error_set(RT_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    // Some filesystems refuse fsync on folders; the rename is still atomic there.
    if (rc != 0 && err != EINVAL && err != ENOTSUP)
        return rt_error_set(RT_ERR_IO, "%s: fsync: %s", dir, strerror(err));
    return RT_OK;
}

rt_status rt_mkdir_p(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return rt_error_set(RT_ERR_INVAL, "bad folder name '%s'", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return rt_error_set(RT_ERR_IO, "%s: cannot create folder: %s", buf, strerror(errno));
        buf[i] = c;
    }
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return rt_error_set(RT_ERR_IO, "%s: not a folder", path);
    return RT_OK;
}

static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return rt_strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = rt_malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

rt_status rt_atomic_open(rt_atomic_file *af, const char *path) {
    memset(af, 0, sizeof af[0]);
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
    size_t n = strlen(path) + 64;
    af->path = rt_strdup(path);
    af->tmp_path = rt_malloc(n);
    if (!af->path || !af->tmp_path) {
        rt_atomic_abort(af);
        return rt_error_set(RT_ERR_NOMEM, "out of memory");
    }
    snprintf(af->tmp_path, n, "%.*s.%s.tmp.XXXXXX", (int)dlen, path, base);
    int fd = mkstemp(af->tmp_path);
    if (fd >= 0) fchmod(fd, 0644);
    if (fd < 0) {
        rt_status st = rt_error_set(RT_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
        rt_free(af->tmp_path);
        af->tmp_path = NULL;
        rt_atomic_abort(af);
        return st;
    }
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        close(fd);
        rt_atomic_abort(af);
        return rt_error_set(RT_ERR_IO, "%s: fdopen: %s", path, strerror(errno));
    }
    return RT_OK;
}

void rt_atomic_abort(rt_atomic_file *af) {
    if (!af) return;
    if (af->f) fclose(af->f);
    if (af->tmp_path) unlink(af->tmp_path);
    rt_free(af->tmp_path);
    rt_free(af->path);
    memset(af, 0, sizeof af[0]);
}

rt_status rt_atomic_commit(rt_atomic_file *af) {
    rt_status st = RT_OK;
    char *dir = NULL;
    if (fflush(af->f) != 0 || ferror(af->f)) {
        st = rt_error_set(RT_ERR_IO, "%s: write error: %s", af->path, strerror(errno));
        goto fail;
    }
    if (fsync(fileno(af->f)) != 0) {
        st = rt_error_set(RT_ERR_IO, "%s: fsync: %s", af->path, strerror(errno));
        goto fail;
    }
    int rc = fclose(af->f);
    af->f = NULL;
    if (rc != 0) {
        st = rt_error_set(RT_ERR_IO, "%s: close: %s", af->path, strerror(errno));
        goto fail;
    }
    if (rename(af->tmp_path, af->path) != 0) {
        st = rt_error_set(RT_ERR_IO, "%s: rename: %s", af->path, strerror(errno));
        goto fail;
    }
    rt_free(af->tmp_path);
    af->tmp_path = NULL;
    if (!(dir = dir_of(af->path))) {
        st = rt_error_set(RT_ERR_NOMEM, "out of memory");
        goto fail;
    }
    st = rt_fsync_dir(dir);
fail:
    rt_free(dir);
    rt_atomic_abort(af);
    return st;
}

rt_status rt_write_file_atomic(const char *path, const void *data, size_t size) {
    rt_atomic_file af;
    rt_status st = rt_atomic_open(&af, path);
    if (st != RT_OK) return st;
    if (size && fwrite(data, 1, size, af.f) != size) {
        st = rt_error_set(RT_ERR_IO, "%s: write error: %s", path, strerror(errno));
        rt_atomic_abort(&af);
        return st;
    }
    return rt_atomic_commit(&af);
}
