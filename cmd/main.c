// pcan — entry point: dispatches to the subcommand named by argv[1].
#include <stdarg.h>
#include <string.h>

#include "cmd/cmd.h"

const cmd_entry cmd_table[] = {
    {"check", "validate a job file and print the resolved job",
     "usage: pcan check JOB.yaml\n"
     "\n"
     "Validates the job's schema, that its inputs exist and its outputs are writable, and\n"
     "prints the resolved job (defaults filled in, paths absolute). Exit 0 when valid, 2 with\n"
     "file:line:column and the reason otherwise.\n",
     cmd_check_main},
    {"info", "summarise a pcan weights file or archive",
     "usage: pcan info FILE\n"
     "\n"
     "Prints the format, version and configuration of a pcan weights file (its tensors) or a\n"
     "pcan archive (its videos). Any other file is rejected with exit 2.\n",
     cmd_info_main},
    {NULL, NULL, NULL, NULL},
};

static void print_main_usage(FILE *f) {
    fprintf(f, "usage: pcan [--help | --version] COMMAND [ARGS]\n\n"
               "Multiple object tracking and segmentation (PCAN) over whole video datasets.\n\n"
               "Commands:\n");
    for (const cmd_entry *e = cmd_table; e->name; e++) fprintf(f, "  %-10s %s\n", e->name, e->summary);
    fprintf(f, "\n`pcan COMMAND --help` describes a command.\n"
               "Exit codes: 0 ok, 1 runtime failure, 2 usage/config/input error,\n"
               "            3 finished with failed videos, 4 interrupted (resumable).\n");
}

const cmd_entry *cmd_find(const char *name) {
    for (const cmd_entry *e = cmd_table; e->name; e++)
        if (strcmp(e->name, name) == 0) return e;
    return NULL;
}

void cmd_print_usage(const cmd_entry *e, FILE *f) { fputs(e->usage, f); }

int cmd_usage_error(const char *name, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "pcan %s: ", name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    const cmd_entry *e = cmd_find(name);
    if (e) cmd_print_usage(e, stderr);
    return CMD_EXIT_USAGE;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_main_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        if (argc > 2 && strcmp(sub, "help") == 0) {
            const cmd_entry *e = cmd_find(argv[2]);
            if (!e) {
                fprintf(stderr, "pcan: unknown command '%s'\n\n", argv[2]);
                print_main_usage(stderr);
                return CMD_EXIT_USAGE;
            }
            cmd_print_usage(e, stdout);
            return CMD_EXIT_OK;
        }
        print_main_usage(stdout);
        return CMD_EXIT_OK;
    }
    if (strcmp(sub, "--version") == 0 || strcmp(sub, "-V") == 0) {
        printf("pcan %s\n", cmd_version());
        return CMD_EXIT_OK;
    }
    if (sub[0] == '-') {
        fprintf(stderr, "pcan: unknown option '%s'\n\n", sub);
        print_main_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    const cmd_entry *e = cmd_find(sub);
    if (!e) {
        fprintf(stderr, "pcan: unknown command '%s'\n\n", sub);
        print_main_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            cmd_print_usage(e, stdout);
            return CMD_EXIT_OK;
        }
    }
    return e->main(argc - 1, argv + 1);
}
