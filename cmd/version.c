#include "cmd/cmd.h"
#include "version.h"

const char *cmd_version(void) { return PCAN_VERSION; }
