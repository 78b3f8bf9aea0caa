// TrackEval protocol: the tiny worked example of METRICS.md §5 (one and two sequences) to every
// digit TrackEval printed, and the traps of §6.
#include "tests/metrics_util.h"

static const char *GT =
    "0 1001 1 6 8 0240T1\n0 1002 1 6 8 324000k0\n0 2001 2 6 8 n04>\n"
    "1 1001 1 6 8 0240T1\n1 1002 1 6 8 324000k0\n1 2001 2 6 8 n04>\n1 10000 10 6 8 X1240\n"
    "2 1001 1 6 8 0240T1\n2 1002 1 6 8 324000k0\n2 2001 2 6 8 n04>\n"
    "3 1001 1 6 8 0240T1\n3 1002 1 6 8 324000k0\n3 2001 2 6 8 n04>\n";
static const char *TR =
    "0 1 1 6 8 0240T1\n0 2 1 6 8 3240Q1\n0 5 2 6 8 n04>\n"
    "1 1 1 6 8 0240T1\n1 2 1 6 8 324000k0\n1 6 1 6 8 X1240\n"
    "2 3 1 6 8 0240T1\n2 2 1 6 8 324000k0\n2 5 2 6 8 n02`0\n2 4 1 6 8 g0150=\n"
    "3 3 1 6 8 0240T1\n3 2 1 6 8 324000k0\n3 5 2 6 8 n04>\n";

#define NEAR(a, b) CHECK_NEAR(a, b, 1e-9)
// TrackEval's printed tables: value×100 with 5 significant digits.
#define PRINTED(a, b) CHECK_NEAR(100 * (a), b, 0.0005 + 5e-6 * fabs(b))

static void eval_tiny(int two_seq, merge_te_row rows[2], merge_video_result *res0) {
    merge_metrics_params p = merge_metrics_default_params(MERGE_PROTOCOL_TRACKEVAL);
    merge_video *mv;
    CHECK_EQ_INT(merge_video_init(&mv, &p), RT_OK);
    merge_totals tot;
    merge_totals_init(&tot, &p);
    tvideo v0, v1;
    tv_init(&v0, 4);
    tv_kitti(&v0, 1, GT, 0);
    tv_kitti(&v0, 0, TR, 0);
    merge_video_result r;
    CHECK_EQ_INT(tv_run(mv, &v0, 0, &r), RT_OK);
    if (res0) *res0 = r;
    merge_totals_add(&tot, &r);
    if (two_seq) {
        tv_init(&v1, 4);
        tv_kitti(&v1, 1, GT, 0);
        // A perfect tracker: the ground truth without the ignore row.
        for (int i = 0, n = v1.n; i < n; i++) {
            if (v1.o[i].o.ignore) continue;
            tobj *t = tv_new(&v1, 0, v1.o[i].frame, v1.o[i].o.id, v1.o[i].o.cls);
            rt_rle_copy(&t->m, &v1.o[i].m);
            t->o.score = 1;
        }
        CHECK_EQ_INT(tv_run(mv, &v1, 1, &r), RT_OK);
        merge_totals_add(&tot, &r);
        tv_free(&v1);
    }
    merge_totals_te_row(&tot, 0, &rows[0]);
    merge_totals_te_row(&tot, 1, &rows[1]);
    tv_free(&v0);
    merge_video_free(&mv);
    merge_video_free(&mv);
}

static void test_tiny_one_sequence(void) {
    merge_te_row r[2];
    merge_video_result res;
    eval_tiny(0, r, &res);
    const merge_te_row *car = &r[0], *ped = &r[1];
    NEAR(car->HOTA, 0.7533212607285171);
    NEAR(car->DetA, 0.8292397660818712);
    NEAR(car->AssA, 0.6845864661654135);
    NEAR(car->LocA, 0.9714912280701754);
    NEAR(car->HOTA0, sqrt(8.0 / 9.0 * 6.0 / 8.0));
    PRINTED(car->HOTA0, 81.650);
    NEAR(car->MOTA, 0.75);
    NEAR(car->MOTP, 0.9583333333333333);
    NEAR(car->sMOTA, 0.7083333333333333);
    NEAR(car->MODA, 0.875);
    NEAR(car->MOTAL, 0.875);
    NEAR(car->CLR_F1, 0.9411764705882353);
    NEAR(car->IDF1, 0.7058823529411765);
    NEAR(car->IDR, 0.75);
    PRINTED(car->IDP, 66.667);
    CHECK_EQ_INT(car->CLR_TP, 8);
    CHECK_EQ_INT(car->CLR_FN, 0);
    CHECK_EQ_INT(car->CLR_FP, 1);
    CHECK_EQ_INT(car->IDSW, 1);
    CHECK_EQ_INT(car->MT, 2);
    CHECK_EQ_INT(car->PT, 0);
    CHECK_EQ_INT(car->ML, 0);
    CHECK_EQ_INT(car->Frag, 0);
    CHECK_EQ_INT(car->IDTP, 6);
    CHECK_EQ_INT(car->IDFN, 2);
    CHECK_EQ_INT(car->IDFP, 3);
    CHECK_EQ_INT(car->CLR_Frames, 4);
    for (size_t a = 0; a < MERGE_HOTA_ALPHAS; a++) {
        double want = merge_hota_alpha(a) <= 0.65 + 1e-9 ? 0.816497 : 0.616441;
        CHECK_NEAR(car->a_HOTA[a], want, 5e-7);
    }

    NEAR(ped->HOTA, 0.5842105263157894);
    NEAR(ped->HOTA, (10 * 0.75 + 9 * 0.4) / 19);
    PRINTED(ped->DetA, 58.421);
    PRINTED(ped->AssA, 58.421);
    NEAR(ped->LocA, 0.9122807017543861);
    PRINTED(ped->HOTA0, 75.000);
    NEAR(ped->MOTA, 0.75);
    NEAR(ped->MOTP, 0.8333333333333334);
    NEAR(ped->sMOTA, 0.625);
    NEAR(ped->MODA, 0.75);
    NEAR(ped->IDF1, 0.8571428571428571);
    NEAR(ped->IDR, 0.75);
    NEAR(ped->IDP, 1.0);
    CHECK_EQ_INT(ped->CLR_TP, 3);
    CHECK_EQ_INT(ped->CLR_FN, 1);
    CHECK_EQ_INT(ped->CLR_FP, 0);
    CHECK_EQ_INT(ped->IDSW, 0);
    CHECK_EQ_INT(ped->MT, 0);
    CHECK_EQ_INT(ped->PT, 1);
    CHECK_EQ_INT(ped->ML, 0);
    CHECK_EQ_INT(ped->Frag, 0); // the miss falls on a frame without pedestrian results
    CHECK_EQ_INT(ped->IDTP, 3);
    CHECK_EQ_INT(ped->IDFN, 1);
    CHECK_EQ_INT(ped->IDFP, 0);
    for (size_t a = 0; a < MERGE_HOTA_ALPHAS; a++) {
        // The IoU-0.5 pair still counts at α = 0.5000000000000001 (the −ε).
        double want = a <= 9 ? 0.75 : 0.4;
        CHECK_NEAR(ped->a_HOTA[a], want, 1e-12);
    }
    // The per-sequence row equals the combined one for a single sequence.
    merge_te_row seq;
    merge_video_te_row(&res, 0, &seq);
    CHECK(seq.HOTA == car->HOTA && seq.MOTA == car->MOTA && seq.IDF1 == car->IDF1);
    CHECK(seq.LocA == car->LocA && seq.sMOTA == car->sMOTA);
    // Field tables: names, MOTS names and values.
    size_t nf;
    const merge_field *f = merge_te_fields(&nf);
    int seen = 0;
    for (size_t i = 0; i < nf; i++) {
        if (!strcmp(f[i].name, "sMOTA")) {
            CHECK_EQ_STR(f[i].mots_name, "sMOTSA");
            CHECK_NEAR(merge_field_value(&f[i], car), 0.7083333333333333, 1e-15);
            seen++;
        }
        if (!strcmp(f[i].name, "IDSW")) {
            CHECK_NEAR(merge_field_value(&f[i], car), 1, 0);
            seen++;
        }
        if (!strcmp(f[i].name, "HOTA(0)")) seen++;
    }
    CHECK_EQ_INT(seen, 3);
    CHECK_EQ_STR(f[0].name, "HOTA");
    const merge_field *b = merge_bdd_fields(&nf);
    CHECK_EQ_INT(nf, 10);
    CHECK_EQ_STR(b[0].mots_name, "MOTSA");
}

static void test_tiny_two_sequences(void) {
    merge_te_row r[2];
    eval_tiny(1, r, NULL);
    const merge_te_row *car = &r[0], *ped = &r[1];
    PRINTED(car->HOTA, 87.659);
    PRINTED(car->DetA, 90.712);
    PRINTED(car->AssA, 84.711);
    PRINTED(car->LocA, 98.575);
    NEAR(car->MOTA, 0.875);
    PRINTED(car->MOTP, 97.917);
    PRINTED(car->sMOTA, 85.417);
    NEAR(car->sMOTA, (7.0 + 4.0 / 6.0 + 8.0 - 2.0) / 16.0);
    PRINTED(car->IDF1, 84.848);
    CHECK_EQ_INT(car->IDTP, 14);
    CHECK_EQ_INT(car->IDFN, 2);
    CHECK_EQ_INT(car->IDFP, 3);
    CHECK_EQ_INT(car->IDSW, 1);
    CHECK_EQ_INT(car->CLR_FP, 1);
    CHECK_EQ_INT(car->MT, 4);
    PRINTED(ped->HOTA, 81.113);
    PRINTED(ped->DetA, 77.632);
    PRINTED(ped->AssA, 84.887);
    NEAR(ped->a_AssA[0], (0.75 * 3 + 1.0 * 4) / 7);
    NEAR(ped->MOTA, 0.875);
    NEAR(ped->sMOTA, 0.8125);
    PRINTED(ped->IDF1, 93.333);
    CHECK_EQ_INT(ped->MT, 1);
    CHECK_EQ_INT(ped->PT, 1);
    CHECK_EQ_INT(ped->CLR_Frames, 8);
}

// TrackEval's Evaluator averages classes with combine_classes_class_averaged(cls_res) and the
// default ignore_empty_classes=False (trackeval/eval.py), so a class with neither GT nor results
// counts with the values its combined row has: HOTA/DetA/AssA/MOTA/IDF1... 0, and LocA = 1
// (max(1e-10, 0) / max(1e-10, 0) in HOTA.combine_sequences), MLR 0 (recomputed from zero counts).
static void test_empty_class_in_class_mean(void) {
    merge_metrics_params p = merge_metrics_default_params(MERGE_PROTOCOL_TRACKEVAL);
    p.n_classes = 3;
    p.class_id[2] = 3;
    snprintf(p.class_name[2], MERGE_NAME_MAX, "bicycle");
    merge_video *mv;
    CHECK_EQ_INT(merge_video_init(&mv, &p), RT_OK);
    merge_totals tot;
    merge_totals_init(&tot, &p);
    tvideo v;
    tv_init(&v, 4);
    tv_kitti(&v, 1, GT, 0);
    tv_kitti(&v, 0, TR, 0);
    merge_video_result r;
    CHECK_EQ_INT(tv_run(mv, &v, 0, &r), RT_OK);
    merge_totals_add(&tot, &r);
    tv_free(&v);
    merge_video_free(&mv);
    merge_te_row rows[3], avg, det;
    for (size_t c = 0; c < 3; c++) merge_totals_te_row(&tot, c, &rows[c]);
    const merge_te_row *e = &rows[2];
    CHECK(e->HOTA == 0 && e->DetA == 0 && e->AssA == 0 && e->MOTA == 0 && e->IDF1 == 0);
    CHECK(e->LocA == 1 && e->LocA0 == 1 && e->HOTALocA0 == 0 && e->MLR == 0);
    CHECK(e->CLR_Frames == 0 && e->Dets == 0 && e->GT_IDs == 0);
    merge_te_class_average(rows, 3, false, &avg);
    NEAR(avg.HOTA, (0.7533212607285171 + 0.5842105263157894 + 0) / 3);
    NEAR(avg.LocA, (0.9714912280701754 + 0.9122807017543861 + 1) / 3);
    NEAR(avg.LocA0, (rows[0].LocA0 + rows[1].LocA0 + 1) / 3);
    NEAR(avg.MOTA, (0.75 + 0.75 + 0) / 3);
    NEAR(avg.sMOTA, (0.7083333333333333 + 0.625 + 0) / 3);
    NEAR(avg.IDF1, (0.7058823529411765 + 0.8571428571428571 + 0) / 3);
    NEAR(avg.MLR, 0);
    NEAR(avg.MTR, (1.0 + 0 + 0) / 3);
    CHECK_EQ_INT(avg.CLR_TP, 11);
    CHECK_EQ_INT(avg.IDSW, 1);
    CHECK_EQ_INT(avg.CLR_Frames, 8); // summed: 4 per class with data, 0 for the empty one
    CHECK_EQ_INT(avg.Dets, 12);
    CHECK_EQ_INT(avg.GT_Dets, 12);
    // ignore_empty_classes=True (not what the Evaluator uses) would leave the empty class out.
    merge_te_row avg2;
    merge_te_class_average(rows, 3, true, &avg2);
    NEAR(avg2.HOTA, (0.7533212607285171 + 0.5842105263157894) / 2);
    // cls_comb_det_av pools the counts: MOTA = (11 - 1 - 1) / 12.
    merge_totals_te_det_average(&tot, &det);
    NEAR(det.MOTA, 9.0 / 12.0);
    CHECK_EQ_INT(det.CLR_TP, 11);
}

int main(void) {
    TEST_RUN(test_empty_class_in_class_mean);
    TEST_RUN(test_tiny_one_sequence);
    TEST_RUN(test_tiny_two_sequences);
    return test_finish();
}
