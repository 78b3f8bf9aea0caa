// pcan eval through the command line on hand-made inputs (no model): the METRICS.md §5 worked
// example as KITTI MOTS files and an archive (one and two sequences; every JSON field of every
// class against the library's rows and TrackEval's numbers, as doubles to 1e-9; the tables and
// <class>_summary.txt / <class>_detailed.csv exactly as TrackEval writes them), the YouTube-VIS
// tiny example through --protocol youtube-vis (from the archive and from its youtube-vis export
// read back; TrackEval's files for it too), and --job.
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "merge/report.h"
#include "shard/image.h"
#include "tests/common/archive_util.h"
#include "tests/metrics_util.h"

static const char *GT =
    "0 1001 1 6 8 0240T1\n0 1002 1 6 8 324000k0\n0 2001 2 6 8 n04>\n"
    "1 1001 1 6 8 0240T1\n1 1002 1 6 8 324000k0\n1 2001 2 6 8 n04>\n1 10000 10 6 8 X1240\n"
    "2 1001 1 6 8 0240T1\n2 1002 1 6 8 324000k0\n2 2001 2 6 8 n04>\n"
    "3 1001 1 6 8 0240T1\n3 1002 1 6 8 324000k0\n3 2001 2 6 8 n04>\n";
// The tracker of §5 as archive rows: frame track label (0 car, 1 pedestrian) score rle.
static const char *TR =
    "0 1 0 0.9 0240T1\n0 2 0 0.9 3240Q1\n0 5 1 0.9 n04>\n"
    "1 1 0 0.9 0240T1\n1 2 0 0.9 324000k0\n1 6 0 0.9 X1240\n"
    "2 2 0 0.9 324000k0\n2 3 0 0.9 0240T1\n2 4 0 0.9 g0150=\n2 5 1 0.9 n02`0\n"
    "3 2 0 0.9 324000k0\n3 3 0 0.9 0240T1\n3 5 1 0.9 n04>\n";
// The same tracker as KITTI lines for the library (tests/metrics_util.h).
static const char *TR_KITTI =
    "0 1 1 6 8 0240T1\n0 2 1 6 8 3240Q1\n0 5 2 6 8 n04>\n"
    "1 1 1 6 8 0240T1\n1 2 1 6 8 324000k0\n1 6 1 6 8 X1240\n"
    "2 3 1 6 8 0240T1\n2 2 1 6 8 324000k0\n2 5 2 6 8 n02`0\n2 4 1 6 8 g0150=\n"
    "3 3 1 6 8 0240T1\n3 2 1 6 8 324000k0\n3 5 2 6 8 n04>\n";
// Sequence 0001 of the two-sequence variant: a perfect tracker.
static const char *PERFECT =
    "0 1001 0 1 0240T1\n0 1002 0 1 324000k0\n0 2001 1 1 n04>\n"
    "1 1001 0 1 0240T1\n1 1002 0 1 324000k0\n1 2001 1 1 n04>\n"
    "2 1001 0 1 0240T1\n2 1002 0 1 324000k0\n2 2001 1 1 n04>\n"
    "3 1001 0 1 0240T1\n3 1002 0 1 324000k0\n3 2001 1 1 n04>\n";

static const char *CLASSES[] = {"car", "pedestrian"};

static char dir[4096];
static char out[1 << 17];

#define sh(...) test_run_in(dir, out, sizeof out, __VA_ARGS__)

static void path(char *buf, size_t cap, const char *rel) { snprintf(buf, cap, "%s/%s", dir, rel); }

// The library's rows for the example (what tests/test_metrics.c checks against TrackEval).
static void library_rows(int two_seq, merge_te_row rows[2]) {
    merge_metrics_params p = merge_metrics_default_params(MERGE_PROTOCOL_TRACKEVAL);
    merge_video *mv;
    CHECK_EQ_INT(merge_video_init(&mv, &p), RT_OK);
    merge_totals tot;
    merge_totals_init(&tot, &p);
    for (int s = 0; s <= two_seq; s++) {
        tvideo v;
        tv_init(&v, 4);
        tv_kitti(&v, 1, GT, 0);
        if (s == 0) {
            tv_kitti(&v, 0, TR_KITTI, 0);
        } else {
            for (int i = 0, n = v.n; i < n; i++) {
                if (v.o[i].o.ignore) continue;
                tobj *t = tv_new(&v, 0, v.o[i].frame, v.o[i].o.id, v.o[i].o.cls);
                rt_rle_copy(&t->m, &v.o[i].m);
                t->o.score = 1;
            }
        }
        merge_video_result r;
        CHECK_EQ_INT(tv_run(mv, &v, s, &r), RT_OK);
        merge_totals_add(&tot, &r);
        tv_free(&v);
    }
    merge_totals_te_row(&tot, 0, &rows[0]);
    merge_totals_te_row(&tot, 1, &rows[1]);
    merge_video_free(&mv);
}

// Every field of the JSON row equals the library's to 1e-9 (and no field is missing).
static void check_json_row(json_t *row, const merge_te_row *want, const char *cls) {
    CHECK_MSG(json_is_object(row), "no JSON row for %s", cls);
    if (!json_is_object(row)) return;
    size_t nf;
    const merge_field *fd = merge_te_fields(&nf);
    for (size_t i = 0; i < nf; i++) {
        json_t *v = json_object_get(row, fd[i].name);
        double w = merge_field_value(&fd[i], want);
        CHECK_MSG(json_is_number(v) && fabs(json_number_value(v) - w) <= 1e-9,
                  "%s %s: json %.17g, library %.17g", cls, fd[i].name,
                  json_is_number(v) ? json_number_value(v) : NAN, w);
    }
    for (size_t a = 0; a < MERGE_HOTA_ALPHAS; a++) {
        char key[64];
        snprintf(key, sizeof key, "HOTA___%d", (int)(100 * merge_hota_alpha(a)));
        json_t *v = json_object_get(row, key);
        CHECK_MSG(json_is_number(v) && fabs(json_number_value(v) - want->a_HOTA[a]) <= 1e-9,
                  "%s %s", cls, key);
    }
}

static json_t *load_json(const char *rel) {
    char p[4200];
    path(p, sizeof p, rel);
    json_error_t err;
    json_t *j = json_load_file(p, 0, &err);
    CHECK_MSG(j != NULL, "%s: %s (line %d)", p, err.text, err.line);
    return j;
}

static double jnum(json_t *j, const char *cls, const char *field) {
    json_t *v = json_object_get(json_object_get(json_object_get(j, "rows"), cls), field);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void write_kitti(int two_seq) {
    char p[4200];
    path(p, sizeof p, two_seq ? "k2/instances_txt/0000.txt" : "k1/instances_txt/0000.txt");
    test_write_text(p, GT);
    path(p, sizeof p, two_seq ? "k2/evaluate_mots.seqmap.val" : "k1/evaluate_mots.seqmap.val");
    test_write_text(p, two_seq ? "0000 empty 000000 000003\n0001 empty 000000 000003\n"
                               : "0000 empty 000000 000003\n");
    if (two_seq) {
        path(p, sizeof p, "k2/instances_txt/0001.txt");
        test_write_text(p, GT);
    }
    path(p, sizeof p, two_seq ? "k2/run.h5" : "k1/run.h5");
    test_archive *a = test_archive_begin(p, CLASSES, 2);
    test_archive_video(a, "0000", 6, 8, 4);
    test_archive_lines(a, TR);
    if (two_seq) {
        test_archive_video(a, "0001", 6, 8, 4);
        test_archive_lines(a, PERFECT);
    }
    test_archive_end(&a);
}

static void test_worked_example_one_sequence(void) {
    write_kitti(0);
    CHECK_MSG(sh("'%s' eval --gt k1 --format kitti-mots --split val --results k1/run.h5 "
                 "--json k1.json --summaries .", test_pcan()) == 0, "eval: %s", out);
    // TrackEval's tables, cell for cell (values from METRICS.md §5 and the hand derivation).
    CHECK_CONTAINS(out, "\nHOTA: pcan-car                     HOTA      DetA      AssA      ");
    CHECK_CONTAINS(out, "\nCOMBINED                           75.332    82.924    68.459    ");
    CHECK_CONTAINS(out, "\nCLEAR: pcan-car                    MOTA      MOTP      MODA      CLR_Re    "
                        "CLR_Pr    MTR       PTR       MLR       sMOTA     CLR_TP    CLR_FN    "
                        "CLR_FP    IDSW      MT        PT        ML        Frag      \n"
                        "COMBINED                           75        95.833    87.5      100       "
                        "88.889    100       0         0         70.833    8         0         "
                        "1         1         2         0         0         0         \n");
    CHECK_CONTAINS(out, "\nIdentity: pcan-car                 IDF1      IDR       IDP       IDTP      "
                        "IDFN      IDFP      \n"
                        "COMBINED                           70.588    75        66.667    6         "
                        "2         3         \n");
    // Count: the car in the ignore region is removed (9 dets, ids 1-4); 8 GT dets of 2 ids.
    CHECK_CONTAINS(out, "\nCount: pcan-car                    Dets      GT_Dets   IDs       GT_IDs    \n"
                        "COMBINED                           9         8         4         2         \n");
    CHECK_CONTAINS(out, "\nCOMBINED                           58.421    58.421    58.421    ");
    CHECK_CONTAINS(out, "\nIdentity: pcan-pedestrian          IDF1      IDR       IDP       IDTP      "
                        "IDFN      IDFP      \n"
                        "COMBINED                           85.714    75        100       3         "
                        "1         0         \n");
    // KITTI MOTS reports classes separately: no class combination.
    CHECK(strstr(out, "cls_comb") == NULL);
    // <class>_summary.txt: TrackEval's default order, the printed strings, csv's \r\n.
    CHECK_EQ_INT(sh("cat car_summary.txt"), 0);
    CHECK_CONTAINS(out, "HOTA DetA AssA DetRe DetPr AssRe AssPr LocA OWTA HOTA(0) LocA(0) "
                        "HOTALocA(0) MOTA MOTP MODA CLR_Re CLR_Pr MTR PTR MLR CLR_TP CLR_FN "
                        "CLR_FP IDSW MT PT ML Frag sMOTA IDF1 IDR IDP IDTP IDFN IDFP Dets GT_Dets "
                        "IDs GT_IDs\r\n75.332 82.924 68.459 ");
    CHECK_CONTAINS(out, " 81.65 ");
    CHECK_CONTAINS(out, " 75 95.833 87.5 100 88.889 100 0 0 8 0 1 1 2 0 0 0 70.833 70.588 75 "
                        "66.667 6 2 3 9 8 4 2\r\n");
    // JSON: every field as the library computes it, and TrackEval's own digits.
    json_t *j = load_json("k1.json");
    merge_te_row want[2];
    library_rows(0, want);
    if (j) {
        CHECK_EQ_STR(json_string_value(json_object_get(j, "protocol")), "trackeval");
        // The table keeps the class combinations (the archive's /metrics mean row) even where
        // TrackEval prints none.
        CHECK_EQ_INT(json_object_size(json_object_get(j, "rows")), 4);
        check_json_row(json_object_get(json_object_get(j, "rows"), "car"), &want[0], "car");
        check_json_row(json_object_get(json_object_get(j, "rows"), "pedestrian"), &want[1],
                       "pedestrian");
        CHECK_NEAR(jnum(j, "car", "HOTA"), 0.7533212607285171, 1e-15);
        CHECK_NEAR(jnum(j, "car", "DetA"), 0.8292397660818712, 1e-15);
        CHECK_NEAR(jnum(j, "car", "AssA"), 0.6845864661654135, 1e-15);
        CHECK_NEAR(jnum(j, "car", "LocA"), 0.9714912280701754, 1e-15);
        CHECK_NEAR(jnum(j, "car", "MOTA"), 0.75, 1e-15);
        CHECK_NEAR(jnum(j, "car", "MOTP"), 0.9583333333333333, 1e-15);
        CHECK_NEAR(jnum(j, "car", "sMOTA"), 0.7083333333333333, 1e-15);
        CHECK_NEAR(jnum(j, "car", "IDF1"), 0.7058823529411765, 1e-15);
        CHECK_NEAR(jnum(j, "car", "MOTAL"), 0.875, 1e-15);
        CHECK_NEAR(jnum(j, "car", "CLR_F1"), 0.9411764705882353, 1e-15);
        CHECK_NEAR(jnum(j, "pedestrian", "HOTA"), 0.5842105263157894, 1e-15);
        CHECK_NEAR(jnum(j, "pedestrian", "LocA"), 0.9122807017543861, 1e-15);
        CHECK_NEAR(jnum(j, "pedestrian", "MOTP"), 0.8333333333333334, 1e-15);
        CHECK_NEAR(jnum(j, "pedestrian", "sMOTA"), 0.625, 1e-15);
        CHECK_NEAR(jnum(j, "pedestrian", "IDF1"), 0.8571428571428571, 1e-15);
        CHECK_NEAR(jnum(j, "pedestrian", "HOTA___50"), 0.75, 1e-15);
        CHECK_NEAR(jnum(j, "pedestrian", "HOTA___55"), 0.4, 1e-15);
        CHECK_EQ_INT((int)jnum(j, "pedestrian", "Frag"), 0);
        json_decref(j);
    }
    // --per-video: TrackEval's sequence rows before COMBINED.
    CHECK_EQ_INT(sh("'%s' eval --gt k1 --format kitti-mots --split val --results k1/run.h5 "
                    "--per-video", test_pcan()), 0);
    CHECK_CONTAINS(out, "\n0000                               75.332    82.924    68.459    ");
}

static void test_worked_example_two_sequences(void) {
    write_kitti(1);
    CHECK_MSG(sh("'%s' eval --gt k2 --format kitti-mots --split val --results k2/run.h5 "
                 "--json k2.json", test_pcan()) == 0, "eval: %s", out);
    CHECK_CONTAINS(out, "videos 2, missing from the archive 0");
    CHECK_CONTAINS(out, "\nCOMBINED                           87.659    90.712    84.711    ");
    CHECK_CONTAINS(out, "\nCOMBINED                           81.113    77.632    84.887    ");
    json_t *j = load_json("k2.json");
    merge_te_row want[2];
    library_rows(1, want);
    if (j) {
        check_json_row(json_object_get(json_object_get(j, "rows"), "car"), &want[0], "car");
        check_json_row(json_object_get(json_object_get(j, "rows"), "pedestrian"), &want[1],
                       "pedestrian");
        CHECK_NEAR(jnum(j, "car", "MOTA"), 0.875, 1e-15);
        CHECK_NEAR(jnum(j, "car", "sMOTA"), (7.0 + 4.0 / 6.0 + 8.0 - 2.0) / 16.0, 1e-15);
        CHECK_EQ_INT((int)jnum(j, "car", "IDTP"), 14);
        CHECK_EQ_INT((int)jnum(j, "car", "MT"), 4);
        CHECK_NEAR(jnum(j, "pedestrian", "AssA___5"), (0.75 * 3 + 1.0 * 4) / 7, 1e-15);
        CHECK_NEAR(jnum(j, "pedestrian", "sMOTA"), 0.8125, 1e-15);
        CHECK_EQ_INT((int)jnum(j, "pedestrian", "CLR_Frames"), 8);
        json_decref(j);
    }
    // TrackEval's own output on the same files (tests/data/trackeval_tiny), byte for byte: the
    // tables with the sequence rows, the <class>_summary.txt and <class>_detailed.csv files.
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK_MSG(sh("mkdir -p sums && '%s' eval --gt k2 --format kitti-mots --split val --results "
                 "k2/run.h5 --per-video --summaries sums | sed -n '/^HOTA: pcan-car/,/^(masks/p' "
                 "| sed '$d' | sed '$d' > tables.txt && cmp tables.txt "
                 "'%s/tests/data/trackeval_tiny/tables.txt' && for f in car_summary.txt "
                 "pedestrian_summary.txt car_detailed.csv pedestrian_detailed.csv; do cmp sums/$f "
                 "'%s/tests/data/trackeval_tiny/'$f || exit 1; done",
                 test_pcan(), cwd, cwd) == 0, "not TrackEval's output: %s", out);
    // --summaries alone: the detailed files keep their sequence rows, the tables print none.
    CHECK_MSG(sh("mkdir -p sums2 && '%s' eval --gt k2 --format kitti-mots --split val "
                 "--results k2/run.h5 --summaries sums2 && for f in car_detailed.csv "
                 "pedestrian_detailed.csv; do cmp sums2/$f '%s/tests/data/trackeval_tiny/'$f || "
                 "exit 1; done", test_pcan(), cwd) == 0, "--summaries: %s", out);
    CHECK(strstr(out, "\n0000 ") == NULL && strstr(out, "\n0001 ") == NULL);
    CHECK_CONTAINS(out, "\nCOMBINED                           87.659    90.712    84.711    ");
    // The bdd100k protocol writes no TrackEval files.
    CHECK_MSG(sh("mkdir -p sums3 && '%s' eval --gt k2 --format kitti-mots --split val "
                 "--results k2/run.h5 --protocol bdd100k --summaries sums3 && test -z \"$(ls "
                 "sums3)\"", test_pcan()) == 0, "bdd100k --summaries: %s", out);
}

// --job: dataset, archive and protocol from the job; a flag overrides; metrics.classes
// restricts the classes.
static void test_job(void) {
    char p[4200];
    path(p, sizeof p, "k1/job.yaml");
    test_write_text(p, "dataset: {format: kitti-mots, root: ., split: val}\n"
                       "model: {weights: none.h5}\n"
                       "output: {archive: run.h5}\n"
                       "metrics: {protocol: trackeval, classes: [pedestrian]}\n");
    CHECK_MSG(sh("'%s' eval --job k1/job.yaml --json job.json", test_pcan()) == 0, "%s", out);
    CHECK_CONTAINS(out, "\nHOTA: pcan-pedestrian");
    CHECK(strstr(out, "pcan-car") == NULL);
    json_t *j = load_json("job.json");
    if (j) {
        CHECK_NEAR(jnum(j, "pedestrian", "HOTA"), 0.5842105263157894, 1e-15);
        json_decref(j);
    }
    CHECK_EQ_INT(sh("'%s' eval --job k1/job.yaml --protocol bdd100k", test_pcan()), 0);
    CHECK_CONTAINS(out, "OVERALL");
    CHECK_EQ_INT(sh("'%s' eval --job k1/job.yaml --results nope.h5", test_pcan()), 2);
    CHECK_CONTAINS(out, "nope.h5");
    CHECK_EQ_INT(sh("'%s' eval --job missing.yaml", test_pcan()), 2);
}

// ---- BDD100K -----------------------------------------------------------------------------------

// bdd100k's own MOTS test case (tests/data/bdd100k_mots, BSD-3-Clause; see its README) through
// the bdd100k-mots bitmask reader and an archive made from the result bitmask: the numbers its
// tests/eval/mots_test.py asserts, under scalabel's summary() names.
static void test_bdd100k_testcase(void) {
    char cwd[4096], p[4200];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK_EQ_INT(sh("mkdir -p bdd/labels/seg_track_20/bitmasks/val/vid && cp '%s/tests/data/"
                    "bdd100k_mots/gt/vid/a.png' bdd/labels/seg_track_20/bitmasks/val/vid/",
                    cwd), 0);
    static const char *cls[] = {"pedestrian", "rider", "car", "truck",
                                "bus", "train", "motorcycle", "bicycle"};
    snprintf(p, sizeof p, "%s/tests/data/bdd100k_mots/result/vid/a.png", cwd);
    shard_image im;
    CHECK_EQ_INT(shard_png_read(p, SHARD_PNG_RAW, &im), RT_OK);
    CHECK(im.channels == 4 && im.depth == 8);
    rt_result r[64];
    int n = 0;
    size_t np = (size_t)im.width * im.height;
    uint8_t *m = calloc(np, 1);
    for (int id = 1; id < 65536 && n < 64; id++) {
        int any = 0, cat = 0;
        for (int y = 0; y < im.height; y++)
            for (int x = 0; x < im.width; x++) {
                const uint8_t *px = im.data + (size_t)y * im.stride + 4 * (size_t)x;
                int on = ((px[2] << 8) | px[3]) == id;
                m[(size_t)y * im.width + x] = (uint8_t)on;
                if (on) any = 1, cat = px[0];
            }
        if (!any) continue;
        memset(&r[n], 0, sizeof r[n]);
        rt_rle_init(&r[n].mask);
        CHECK_EQ_INT(rt_rle_encode(&r[n].mask, m, (uint32_t)im.height, (uint32_t)im.width), RT_OK);
        r[n].track_id = id;
        r[n].label = (int16_t)(cat - 1);
        r[n].score = 1;
        n++;
    }
    free(m);
    path(p, sizeof p, "bdd/run.h5");
    test_archive *a = test_archive_begin(p, cls, 8);
    test_archive_video(a, "vid", im.height, im.width, 1);
    test_archive_frame(a, 0, r, n);
    test_archive_end(&a);
    for (int i = 0; i < n; i++) rt_rle_free(&r[i].mask);
    shard_image_free(&im);
    CHECK_MSG(sh("'%s' eval --gt bdd --format bdd100k-mots --split val --results bdd/run.h5 "
                 "--protocol bdd100k --json bdd.json", test_pcan()) == 0, "eval: %s", out);
    CHECK_CONTAINS(out, "OVERALL");
    json_t *j = load_json("bdd.json");
    if (j) {
        json_t *s = json_object_get(j, "summary");
        static const struct {
            const char *k;
            double v;
        } want[] = {{"mMOTA", 8.333333333333334}, {"mMOTP", 9.375}, {"mIDF1", 10.0},
                    {"MOTA", 66.66666666666667},  {"MOTP", 75.0},   {"IDF1", 80.0},
                    {"FP", 0}, {"FN", 1}, {"IDSw", 0}, {"MT", 2}, {"PT", 0}, {"ML", 1}, {"FM", 0}};
        CHECK_EQ_INT(json_object_size(s), RT_COUNTOF(want));
        for (size_t i = 0; i < RT_COUNTOF(want); i++) {
            json_t *v = json_object_get(s, want[i].k);
            CHECK_MSG(json_is_number(v) && fabs(json_number_value(v) - want[i].v) < 1e-9,
                      "summary %s", want[i].k);
        }
        // Its data frame's MOTA column (NaN as -1): pedestrian, human and OVERALL 66.67.
        CHECK_NEAR(jnum(j, "pedestrian", "MOTA"), 66.66666667, 1e-8);
        CHECK_NEAR(jnum(j, "human", "MOTA"), 66.66666667, 1e-8);
        CHECK(json_is_null(json_object_get(json_object_get(json_object_get(j, "rows"), "rider"),
                                           "MOTA")));
        json_decref(j);
    }
}

// scalabel's table (pandas DataFrame.to_string with '{:.1f}', NaN as ' - ', dashed lines), the
// expected text made by pandas 1.5.3 (Debian python3-pandas) from the same values: a negative MOTA, -inf (false
// positives of a class without GT), NaN rows, a count wider than its header, 100.0.
static const char *BDD_TABLE =
    "\n"
    "             MOTA  MOTP  IDF1  FP     FN  IDSw  MT  PT  ML  FM\n"
    "--------------------------------------------------------------\n"
    "pedestrian   50.0 100.0  57.1   0      1     1   0   1   0   1\n"
    "rider      -200.0 100.0  40.0   3      0     0   1   0   0   0\n"
    "car          -inf    -    0.0   1      0     0   0   0   0   0\n"
    "truck          -     -     -    0      0     0   0   0   0   0\n"
    "bus           0.0    -    0.0   0  12345     0   0   0   0   0\n"
    "train          -     -     -    0      0     0   0   0   0   0\n"
    "motorcycle     -     -     -    0      0     0   0   0   0   0\n"
    "bicycle        -     -     -    0      0     0   0   0   0   0\n"
    "--------------------------------------------------------------\n"
    "human         0.0 100.0  50.0   3      1     1   1   1   0   1\n"
    "vehicle      -0.0    -    0.0   1  12345     0   0   0   0   0\n"
    "bike           -     -     -    0      0     0   0   0   0   0\n"
    "--------------------------------------------------------------\n"
    "AVERAGE     -18.8  25.0  12.1   4  12346     1   1   1   0   1\n"
    "OVERALL      -0.0 100.0   0.0   4  12346     1   1   1   0   1\n";

static void test_bdd_table_layout(void) {
    merge_metrics_params p = merge_metrics_default_params(MERGE_PROTOCOL_BDD100K);
    merge_video *mv;
    CHECK_EQ_INT(merge_video_init(&mv, &p), RT_OK);
    merge_eval_summary s;
    memset(&s, 0, sizeof s);
    s.protocol = MERGE_PROTOCOL_BDD100K;
    merge_totals_init(&s.totals, &p);
    tvideo v;
    tv_init(&v, 4);
    // pedestrian (1): ids 1, 2 (switch), nothing (miss), 2: MOTA 50.
    for (int f = 0; f < 4; f++) tv_rect(&v, 1, f, 1, 1, 0, 6, 6, 0, 1, 0, 1);
    tv_rect(&v, 0, 0, 1, 1, 1, 6, 6, 0, 1, 0, 1);
    tv_rect(&v, 0, 1, 2, 1, 1, 6, 6, 0, 1, 0, 1);
    tv_rect(&v, 0, 3, 2, 1, 1, 6, 6, 0, 1, 0, 1);
    // rider (2): one GT matched, three false positives: MOTA -200.
    tv_rect(&v, 1, 0, 2, 2, 0, 6, 6, 2, 3, 0, 1);
    tv_rect(&v, 0, 0, 5, 2, 1, 6, 6, 2, 3, 0, 1);
    for (int f = 1; f < 4; f++) tv_rect(&v, 0, f, 6, 2, 1, 6, 6, 2, 3, 0, 1);
    // car (3): a false positive and no GT: MOTA -inf.
    tv_rect(&v, 0, 0, 9, 3, 1, 6, 6, 4, 5, 4, 5);
    merge_video_result r;
    CHECK_EQ_INT(tv_run(mv, &v, 0, &r), RT_OK);
    merge_totals_add(&s.totals, &r);
    tv_free(&v);
    merge_video_free(&mv);
    // bus: 12345 missed objects, a count wider than its header.
    s.totals.bdd[4].misses = s.totals.bdd[4].objects = 12345;
    s.totals.bdd[4].accs = 1;
    merge_report_table t;
    merge_report_table_make(&s, &t);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    merge_report_print(f, &t, &s);
    fclose(f);
    const char *end = buf ? strstr(buf, "videos 0") : NULL;
    if (end) *(char *)end = 0;
    CHECK_EQ_STR(buf ? buf : "", BDD_TABLE);
    free(buf);
}

// ---- YouTube-VIS ------------------------------------------------------------------------------

enum { H = 6, W = 8 };

#define rect_str(s, cap, ...) test_rect_rle(s, cap, H, W, __VA_ARGS__)

static void test_youtube_vis_tiny(void) {
    // METRICS.md §5: GT A (category 1) a 2×2 block moving right; GT B (category 2) 2×2 in frames
    // 0-1; results: category 1 false positive (0.95) and a copy of A (0.90); category 2 (0.80):
    // frame 0 exact, frame 1 three of four pixels, frame 2 three pixels where B is absent.
    char a[3][64], b[64], fp[64], cb0[64], cb2[64], cb1[64];
    rect_str(a[0], 64, 0, 1, 0, 1);
    rect_str(a[1], 64, 0, 1, 1, 2);
    rect_str(a[2], 64, 0, 1, 2, 3);
    rect_str(b, 64, 3, 4, 4, 5);
    rect_str(fp, 64, 4, 5, 0, 0);
    rect_str(cb0, 64, 3, 4, 4, 5);
    rect_str(cb2, 64, 3, 5, 7, 7);
    {
        uint8_t m[H * W] = {0};
        m[3 * W + 4] = m[3 * W + 5] = m[4 * W + 4] = 1;
        rt_rle r;
        rt_rle_init(&r);
        rt_rle_encode(&r, m, H, W);
        rt_rle_to_string(&r, cb1, sizeof cb1);
        rt_rle_free(&r);
    }
    char json[8192], p[4200];
    snprintf(json, sizeof json,
             "{\"videos\": [{\"id\": 1, \"width\": 8, \"height\": 6, \"length\": 3, \"file_names\":"
             " [\"v1/00000.jpg\", \"v1/00001.jpg\", \"v1/00002.jpg\"]}],\n"
             " \"categories\": [{\"id\": 1, \"name\": \"cat_a\"}, {\"id\": 2, \"name\": \"cat_b\"}, {\"id\": 3, \"name\": \"cat_c\"}],\n"
             " \"annotations\": [\n"
             "  {\"id\": 1, \"video_id\": 1, \"category_id\": 1, \"iscrowd\": 0, \"segmentations\": ["
             "{\"size\": [6, 8], \"counts\": \"%s\"}, {\"size\": [6, 8], \"counts\": \"%s\"}, "
             "{\"size\": [6, 8], \"counts\": \"%s\"}], \"areas\": [4, 4, 4]},\n"
             "  {\"id\": 2, \"video_id\": 1, \"category_id\": 2, \"iscrowd\": 0, \"segmentations\": ["
             "{\"size\": [6, 8], \"counts\": \"%s\"}, {\"size\": [6, 8], \"counts\": \"%s\"}, null], "
             "\"areas\": [4, 4, null]}]}\n",
             a[0], a[1], a[2], b, b);
    path(p, sizeof p, "vis/instances.json");
    test_write_text(p, json);
    static const char *cats[] = {"cat_a", "cat_b"};
    path(p, sizeof p, "vis/run.h5");
    test_archive *ar = test_archive_begin(p, cats, 2);
    test_archive_video(ar, "v1", 6, 8, 3);
    char rows[4096];
    snprintf(rows, sizeof rows,
             "0 1 0 0.95 %s\n0 2 0 0.90 %s\n0 3 1 0.80 %s\n"
             "1 1 0 0.95 %s\n1 2 0 0.90 %s\n1 3 1 0.80 %s\n"
             "2 1 0 0.95 %s\n2 2 0 0.90 %s\n2 3 1 0.80 %s\n",
             fp, a[0], cb0, fp, a[1], cb1, fp, a[2], cb2);
    test_archive_lines(ar, rows);
    test_archive_end(&ar);
    CHECK_MSG(sh("'%s' eval --gt vis --format youtube-vis --results vis/run.h5 --protocol "
                 "youtube-vis --json vis.json", test_pcan()) == 0, "eval: %s", out);
    // YTVOSeval.summarize's lines with the worked example's numbers.
    CHECK_CONTAINS(out, " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.400\n"
                        " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.750\n"
                        " Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 0.250\n"
                        " Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.400\n"
                        " Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000\n"
                        " Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = -1.000\n"
                        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.150\n"
                        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = 0.650\n"
                        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.650\n"
                        " Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.650\n");
    // YTVOSeval's own summarize() on this GT and the youtube-vis export of the archive
    // (tests/data/ytvis_tiny), byte for byte.
    char cwd[4096];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK_MSG(sh("'%s' eval --gt vis --format youtube-vis --results vis/run.h5 --protocol "
                 "youtube-vis | grep '^ Average' | cmp - '%s/tests/data/ytvis_tiny/summary.txt'",
                 test_pcan(), cwd) == 0, "not YTVOSeval's output: %s", out);
    // TrackEval's YouTubeVIS on the same GT and results (tests/data/trackeval_ytvis_tiny), byte
    // for byte: classes combined, and the empty category cat_c counted in cls_comb_cls_av.
    CHECK_MSG(sh("mkdir -p vsum && '%s' eval --gt vis --format youtube-vis --results vis/run.h5 "
                 "--per-video --summaries vsum | sed -n '/^HOTA: pcan-cat_a/,/^(masks/p' | "
                 "sed '$d' | sed '$d' | cmp - '%s/tests/data/trackeval_ytvis_tiny/tables.txt' && "
                 "for c in cat_a cat_b cat_c cls_comb_cls_av cls_comb_det_av; do for k in "
                 "summary.txt detailed.csv; do cmp vsum/${c}_$k "
                 "'%s/tests/data/trackeval_ytvis_tiny/'${c}_$k || exit 1; done; done",
                 test_pcan(), cwd, cwd) == 0, "not TrackEval's output: %s", out);
    // The same two outputs from the youtube-vis export read back (the reference tools' input).
    CHECK_MSG(sh("'%s' export vis/run.h5 --format youtube-vis --out vis/exp --annotations "
                 "vis/instances.json", test_pcan()) == 0, "export: %s", out);
    CHECK_MSG(sh("'%s' eval --gt vis --format youtube-vis --results vis/exp --results-format "
                 "youtube-vis --protocol youtube-vis | grep '^ Average' | cmp - "
                 "'%s/tests/data/ytvis_tiny/summary.txt'", test_pcan(), cwd) == 0,
              "read back: not YTVOSeval's output: %s", out);
    CHECK_MSG(sh("mkdir -p xsum && '%s' eval --gt vis --format youtube-vis --results "
                 "vis/exp/results.json --results-format youtube-vis --per-video --summaries xsum "
                 "| sed -n '/^HOTA: pcan-cat_a/,/^(masks/p' | sed '$d' | sed '$d' | cmp - "
                 "'%s/tests/data/trackeval_ytvis_tiny/tables.txt' && for c in cat_a cat_b cat_c "
                 "cls_comb_cls_av cls_comb_det_av; do for k in summary.txt detailed.csv; do cmp "
                 "xsum/${c}_$k '%s/tests/data/trackeval_ytvis_tiny/'${c}_$k || exit 1; done; done",
                 test_pcan(), cwd, cwd) == 0, "read back: not TrackEval's output: %s", out);
    json_t *j = load_json("vis.json");
    if (j) {
        json_t *s = json_object_get(json_object_get(j, "rows"), "all");
        CHECK_EQ_STR(json_string_value(json_object_get(j, "protocol")), "youtube-vis");
        CHECK_NEAR(json_number_value(json_object_get(s, "AP")), 0.4, 1e-12);
        CHECK_NEAR(json_number_value(json_object_get(s, "AP50")), 0.75, 1e-12);
        CHECK_NEAR(json_number_value(json_object_get(s, "AP75")), 0.25, 1e-12);
        CHECK_NEAR(json_number_value(json_object_get(s, "APs")), 0.4, 1e-12);
        CHECK_NEAR(json_number_value(json_object_get(s, "APm")), -1, 0);
        CHECK_NEAR(json_number_value(json_object_get(s, "AR1")), 0.15, 1e-12);
        CHECK_NEAR(json_number_value(json_object_get(s, "AR10")), 0.65, 1e-12);
        CHECK_NEAR(json_number_value(json_object_get(s, "AR100")), 0.65, 1e-12);
        CHECK_NEAR(json_number_value(json_object_get(s, "ARs")), 0.65, 1e-12);
        CHECK_NEAR(json_number_value(json_object_get(s, "ARl")), -1, 0);
        json_decref(j);
    }
}

// The shared track rule: the most frequent label (ties to the lower), the mean score.
static void test_vis_track_rule(void) {
    int16_t l[5] = {2, 1, 2, 1, 0};
    float s[5] = {0.5f, 0.25f, 0.5f, 0.25f, 1.0f};
    int16_t lab;
    double sc;
    merge_vis_track_label_score(l, s, 5, &lab, &sc);
    CHECK_EQ_INT(lab, 1);
    CHECK_NEAR(sc, 0.5, 1e-12);
    int16_t one = 3;
    merge_vis_track_label_score(&one, s, 1, &lab, &sc);
    CHECK_EQ_INT(lab, 3);
    CHECK_NEAR(sc, 0.5, 1e-12);
}

// TrackEval's '{:1.5g}' of 100·x.
static void test_number_format(void) {
    char s[64];
    merge_report_format_g5(0.7533212607285171, s, sizeof s);
    CHECK_EQ_STR(s, "75.332");
    merge_report_format_g5(1.0, s, sizeof s);
    CHECK_EQ_STR(s, "100");
    merge_report_format_g5(0.8165, s, sizeof s);
    CHECK_EQ_STR(s, "81.65");
    merge_report_format_g5(-12.5, s, sizeof s);
    CHECK_EQ_STR(s, "-1250");
    merge_report_format_g5(-1234.5678, s, sizeof s);
    CHECK_EQ_STR(s, "-1.2346e+05");
    merge_report_format_g5(1e-7, s, sizeof s);
    CHECK_EQ_STR(s, "1e-05");
    merge_report_format_g5(0, s, sizeof s);
    CHECK_EQ_STR(s, "0");
    merge_report_format_g5(NAN, s, sizeof s);
    CHECK_EQ_STR(s, "nan");
}

// Python's repr(float) (what csv writes in <class>_detailed.csv); expected strings from
// Python 3.11's repr.
static void test_repr_format(void) {
    static const struct {
        double x;
        const char *want;
    } cases[] = {
        {100.0, "100.0"}, {1e16, "1e+16"}, {1e-5, "1e-05"}, {0.0001, "0.0001"},
        {1234567890123456.0, "1234567890123456.0"}, {0.1, "0.1"},
        {1.0 / 3.0, "0.3333333333333333"}, {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"}, {-0.5, "-0.5"},
        {123.456, "123.456"}, {2.0 / 3.0 * 1e-7, "6.666666666666665e-08"},
        {1e15, "1000000000000000.0"}, {9999999999999998.0, "9999999999999998.0"},
        {0.1 + 0.2, "0.30000000000000004"}, {-0.0, "-0.0"}, {0.0, "0.0"},
        {146.0 / 19.0, "7.684210526315789"}, {1e22, "1e+22"}, {12345678.9, "12345678.9"},
        {NAN, "nan"}, {INFINITY, "inf"}, {-INFINITY, "-inf"},
    };
    char s[64];
    for (size_t i = 0; i < RT_COUNTOF(cases); i++) {
        merge_report_format_repr(cases[i].x, s, sizeof s);
        CHECK_EQ_STR(s, cases[i].want);
    }
}

int main(void) {
    snprintf(dir, sizeof dir, "%s", test_tmpdir());
    TEST_RUN(test_number_format);
    TEST_RUN(test_repr_format);
    TEST_RUN(test_vis_track_rule);
    TEST_RUN(test_worked_example_one_sequence);
    TEST_RUN(test_worked_example_two_sequences);
    TEST_RUN(test_job);
    TEST_RUN(test_youtube_vis_tiny);
    TEST_RUN(test_bdd100k_testcase);
    TEST_RUN(test_bdd_table_layout);
    return test_finish();
}
