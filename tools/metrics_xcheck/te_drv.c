// Driver for xcheck_trackeval.py: args (length gt.txt tracker.txt)...; prints JSON rows.
#include "tests/metrics_util.h"
test_state test_g;
void test_fail(const char *file, int line, const char *fmt, ...) { (void)file; (void)line; (void)fmt; }
static char *slurp(const char *p) { FILE *f = fopen(p, "rb"); fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
  char *s = malloc(n + 1); fread(s, 1, n, f); s[n] = 0; fclose(f); return s; }
static void row(const merge_te_row *r) {
  printf("{\"HOTA\":%.17g,\"DetA\":%.17g,\"AssA\":%.17g,\"LocA\":%.17g,\"AssRe\":%.17g,\"AssPr\":%.17g,\"HOTA0\":%.17g,\"LocA0\":%.17g,"
         "\"MOTA\":%.17g,\"MOTP\":%.17g,\"sMOTA\":%.17g,\"MOTAL\":%.17g,\"CLR_TP\":%lld,\"CLR_FN\":%lld,\"CLR_FP\":%lld,\"IDSW\":%lld,"
         "\"MT\":%lld,\"PT\":%lld,\"ML\":%lld,\"Frag\":%lld,\"CLR_Frames\":%lld,\"MLR\":%.17g,\"FP_per_frame\":%.17g,\"IDF1\":%.17g,\"IDTP\":%lld,\"IDFN\":%lld,\"IDFP\":%lld}",
    r->HOTA, r->DetA, r->AssA, r->LocA, r->AssRe, r->AssPr, r->HOTA0, r->LocA0, r->MOTA, r->MOTP, r->sMOTA, r->MOTAL,
    (long long)r->CLR_TP, (long long)r->CLR_FN, (long long)r->CLR_FP, (long long)r->IDSW, (long long)r->MT, (long long)r->PT,
    (long long)r->ML, (long long)r->Frag, (long long)r->CLR_Frames, r->MLR, r->FP_per_frame, r->IDF1, (long long)r->IDTP, (long long)r->IDFN, (long long)r->IDFP);
}
int main(int argc, char **argv) {
  merge_metrics_params p = merge_metrics_default_params(MERGE_PROTOCOL_TRACKEVAL);
  merge_video *mv; merge_video_init(&mv, &p);
  merge_totals tot; merge_totals_init(&tot, &p);
  int ns = (argc - 1) / 3;
  merge_video_result *res = calloc(ns, sizeof *res);
  for (int s = 0; s < ns; s++) {
    tvideo v; tv_init(&v, atoi(argv[1 + 3 * s]));
    char *g = slurp(argv[2 + 3 * s]), *t = slurp(argv[3 + 3 * s]);
    tv_kitti(&v, 1, g, 0); tv_kitti(&v, 0, t, 0);
    if (tv_run(mv, &v, s, &res[s]) != RT_OK) { fprintf(stderr, "%s\n", rt_error()); return 1; }
    merge_totals_add(&tot, &res[s]); tv_free(&v); free(g); free(t);
  }
  printf("{");
  for (size_t c = 0; c < 2; c++) {
    printf("%s\"%s\":{", c ? "," : "", p.class_name[c]);
    for (int s = 0; s < ns; s++) { merge_te_row r; merge_video_te_row(&res[s], c, &r); printf("\"%04d\":", s); row(&r); printf(","); }
    merge_te_row r; merge_totals_te_row(&tot, c, &r); printf("\"COMBINED_SEQ\":"); row(&r); printf("}");
  }
  printf("}\n");
  return 0;
}
