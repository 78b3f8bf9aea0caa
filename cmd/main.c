// pcan — entry point: dispatches to the subcommand named by argv[1].
#include <libavutil/log.h>
#include <string.h>

#include "cmd/cmd.h"

int main(int argc, char **argv) {
    av_log_set_level(AV_LOG_ERROR); // FFmpeg's chatter is not ours to print
    if (argc < 2) {
        cmd_print_main_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        if (argc > 2 && strcmp(sub, "help") == 0) {
            const cmd_entry *e = cmd_find(argv[2]);
            if (!e) {
                fprintf(stderr, "pcan: unknown command '%s'\n\n", argv[2]);
                cmd_print_main_usage(stderr);
                return CMD_EXIT_USAGE;
            }
            cmd_print_usage(e, stdout);
            return CMD_EXIT_OK;
        }
        cmd_print_main_usage(stdout);
        return CMD_EXIT_OK;
    }
    if (strcmp(sub, "--version") == 0 || strcmp(sub, "-V") == 0) {
        printf("pcan %s\n", cmd_version());
        return CMD_EXIT_OK;
    }
    if (sub[0] == '-') {
        fprintf(stderr, "pcan: unknown option '%s'\n\n", sub);
        cmd_print_main_usage(stderr);
        return CMD_EXIT_USAGE;
    }
    const cmd_entry *e = cmd_find(sub);
    if (!e) {
        fprintf(stderr, "pcan: unknown command '%s'\n\n", sub);
        cmd_print_main_usage(stderr);
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
