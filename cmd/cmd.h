// cmd — the `pcan` subcommands. Each takes argc/argv starting at the subcommand name and returns
// a process exit code (CMD_EXIT_*). Options are parsed with cmd_opt_* so that every subcommand
// treats `--help`, unknown options and missing values the same way.
#ifndef PCAN_CMD_CMD_H
#define PCAN_CMD_CMD_H

#include <stdio.h>

#include "runtime/core.h"

// Exit codes (README and DESIGN.md).
enum {
    CMD_EXIT_OK = 0,
    CMD_EXIT_RUNTIME = 1,     // runtime failure
    CMD_EXIT_USAGE = 2,       // usage, config or input-contract error
    CMD_EXIT_PARTIAL = 3,     // finished, some videos failed
    CMD_EXIT_INTERRUPTED = 4, // SIGTERM/SIGUSR1; resumable
};

typedef int (*cmd_main_fn)(int argc, char **argv);

typedef struct cmd_entry {
    const char *name;
    const char *summary; // NULL: internal, not listed
    const char *usage; // full help text for `pcan NAME --help`
    cmd_main_fn main;
} cmd_entry;

// The table in cmd/main.c; terminated by a NULL name.
extern const cmd_entry cmd_table[];

const char *cmd_version(void);

// Prints the list of commands and the exit codes.
void cmd_print_main_usage(FILE *f);
// Prints the entry's usage to `f`.
void cmd_print_usage(const cmd_entry *e, FILE *f);
// Finds the entry by name; NULL when unknown.
const cmd_entry *cmd_find(const char *name);
// Reports a usage error for subcommand `name` on stderr and returns CMD_EXIT_USAGE.
int cmd_usage_error(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Opens the HDF5 file at `path` read-only and reads its root attributes `format` (a string)
// and `version` (an integer). RT_ERR_FORMAT (with a message naming the file) when it is not
// HDF5 or has no such attributes.
rt_status cmd_h5_probe(const char *path, char *format, size_t cap, int *version);

int cmd_check_main(int argc, char **argv);
int cmd_info_main(int argc, char **argv);
int cmd_synth_main(int argc, char **argv);
int cmd_render_main(int argc, char **argv);
int cmd_infer_main(int argc, char **argv);
int cmd_bench_main(int argc, char **argv);
int cmd_run_main(int argc, char **argv);
int cmd_merge_main(int argc, char **argv);
int cmd_submit_main(int argc, char **argv);
int cmd_eval_main(int argc, char **argv);
int cmd_export_main(int argc, char **argv);
int cmd_sweep_main(int argc, char **argv);
// `pcan sweep report` (cmd/sweep_report.c); argv[0] is "report".
int cmd_sweep_report_main(int argc, char **argv);
int cmd_spool_synth_main(int argc, char **argv);

#endif
