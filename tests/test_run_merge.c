// Group 2 of tests/test_run.c: the archive writer/reader, `pcan merge` on 1 and 2 ranks, corrupt
// spool entries, bad inputs, the dataset lister, and the merge of many small entries (timed).
#define TEST_RUN_GROUP 2
#include "test_run.c"
