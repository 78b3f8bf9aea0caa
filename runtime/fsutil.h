// fsutil — crash-safe file output shared by every writer in pcan (STYLE.md #12).
//
// An output appears under its final name only when complete: write a temp file in the same
// folder, fsync it, rename it over the final name, fsync the folder. Readers therefore see
// either the old file or the new one, never a partial one, even after a crash or SIGKILL.
//
//     rt_atomic_file af;
//     if (rt_atomic_open(&af, "out/report.json") != RT_OK) ...
//     fprintf(af.f, ...);
//     rt_atomic_commit(&af);          // or rt_atomic_abort(&af) on failure
//
// All functions set rt_error (RT_ERR_IO with the path and strerror) on failure. Thread-safe on
// distinct objects.
#ifndef PCAN_RUNTIME_FSUTIL_H
#define PCAN_RUNTIME_FSUTIL_H

#include <stddef.h>
#include <stdio.h>

#include "runtime/core.h"

typedef struct rt_atomic_file {
    FILE *f;        // write here
    char *path;     // final name (owned)
    char *tmp_path; // temp name (owned)
} rt_atomic_file;

// Creates a unique temp file "<dir>/.<name>.tmp.XXXXXX" next to `path`.
rt_status rt_atomic_open(rt_atomic_file *af, const char *path);
// Flushes, fsyncs, renames to the final name and fsyncs the folder; always releases `af`.
rt_status rt_atomic_commit(rt_atomic_file *af);
// Removes the temp file and releases `af`. Accepts a zeroed or already released `af`.
void rt_atomic_abort(rt_atomic_file *af);

// Writes `size` bytes to `path` atomically.
rt_status rt_write_file_atomic(const char *path, const void *data, size_t size);
// fsync of a folder (so a rename inside it is durable).
rt_status rt_fsync_dir(const char *dir);
// mkdir -p with mode 0755; succeeds when the folder exists.
rt_status rt_mkdir_p(const char *path);

#endif
