// submit — the sbatch helpers shared by `pcan submit` (cmd/submit.c) and `pcan sweep submit`
// (cmd/sweep.c): find a template in slurm/, fill its @KEY@ fields into a script, run sbatch.
//
//     char tpath[PATH_MAX];
//     cmd_sbatch_template(NULL, "pcan.sbatch", tpath, sizeof tpath);
//     const cmd_sbatch_field f[] = {{"NAME", "pcan-demo"}, {"PARTITION", NULL}, ...};
//     cmd_sbatch_fill(tpath, f, n, "/out/run.h5.sbatch");   // NULL script: print to stdout
//     char id[64];
//     cmd_sbatch_submit("/out/run.h5.sbatch", NULL, id, sizeof id);
//
// Not thread-safe (popen). Errors set rt_error: RT_ERR_IO (files, sbatch), RT_ERR_FORMAT (a
// template with a field this pcan does not know, or larger than 64 KiB).
#ifndef PCAN_CMD_SUBMIT_H
#define PCAN_CMD_SUBMIT_H

#include <stddef.h>

#include "runtime/core.h"

typedef struct cmd_sbatch_field {
    const char *key;   // "NODES" for @NODES@
    const char *value; // NULL: the template lines naming the field are dropped
} cmd_sbatch_field;

// slurm/<name>: in template_dir when given, else next to the executable (<bin>/../slurm), else
// the installed copy (<bin>/../share/pcan/slurm).
rt_status cmd_sbatch_template(const char *template_dir, const char *name, char *out, size_t cap);

// Fills the template at template_path into `script` (written atomically), or onto stdout when
// script is NULL.
rt_status cmd_sbatch_fill(const char *template_path, const cmd_sbatch_field *fields, int n,
                          const char *script);

// Runs `$PCAN_SBATCH` (default sbatch) `--parsable [--dependency=afterok:DEP] SCRIPT` and
// returns the job id it printed.
rt_status cmd_sbatch_submit(const char *script, const char *dependency, char *id, size_t cap);

// `s` single-quoted for bash into out (truncated to cap).
void cmd_shell_quote(const char *s, char *out, size_t cap);

// The running pcan's absolute path (or "pcan" when /proc/self/exe cannot be read).
void cmd_self_exe(char *out, size_t cap);

#endif
