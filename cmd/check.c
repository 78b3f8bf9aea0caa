#include "cmd/cmd.h"
int cmd_check_main(int argc, char **argv) { (void)argc; (void)argv; return 1; }
int cmd_info_main(int argc, char **argv) { (void)argc; (void)argv; return 1; }
