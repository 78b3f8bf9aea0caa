// pcan sweep report — placeholder, filled in next.
#include "cmd/cmd.h"

int cmd_sweep_report_main(int argc, char **argv) {
    (void)argc, (void)argv;
    return CMD_EXIT_RUNTIME;
}
