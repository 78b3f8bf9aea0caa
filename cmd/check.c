// pcan check JOB.yaml — validate a job as `pcan run` does before any work (the file, its inputs
// and outputs, the weights) and print the resolved job.
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/job.h"
#include "cmd/run.h"

int cmd_check_main(int argc, char **argv) {
    const char *path = NULL;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
            quiet = true;
        else if (argv[i][0] == '-' && argv[i][1])
            return cmd_usage_error("check", "unknown option '%s'", argv[i]);
        else if (path)
            return cmd_usage_error("check", "expected one job file, got '%s' and '%s'", path,
                                   argv[i]);
        else
            path = argv[i];
    }
    if (!path) return cmd_usage_error("check", "missing JOB.yaml");
    cmd_job job;
    cmd_weights_id id;
    rt_status st = cmd_run_preflight(path, &job, &id);
    if (st != RT_OK) {
        fprintf(stderr, "pcan check: %s\n", rt_error());
        cmd_job_free(&job);
        return CMD_EXIT_USAGE;
    }
    if (!quiet) cmd_job_print(&job, stdout);
    fprintf(stderr, "pcan check: %s is valid\n", path);
    cmd_job_free(&job);
    return CMD_EXIT_OK;
}
