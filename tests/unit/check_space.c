/* Check suite: the feature space. */
#include <check.h>
#include <string.h>

#include <mmdx/mmdx.h>

START_TEST(test_features)
{
    mmdx_space_t *s = mmdx_space_alloc();
    size_t a, b, c, again;
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(mmdx_space_n_features(s), 0);
    ck_assert_int_eq(mmdx_space_add_feature(s, "lab:loinc:2160-0", MMDX_KIND_CONTINUOUS, "mg/dL",
                                            MMDX_TRANSFORM_LOG, &a), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(s, "var:1:1000:A:G", MMDX_KIND_DOSAGE, NULL, MMDX_TRANSFORM_NONE, &b),
                     MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(s, "demo:sex", MMDX_KIND_CATEGORICAL, "", MMDX_TRANSFORM_NONE, &c),
                     MMDX_OK);
    ck_assert_uint_eq(a, 0);
    ck_assert_uint_eq(b, 1);
    ck_assert_uint_eq(c, 2);
    /* same id and kind: found, not added */
    ck_assert_int_eq(mmdx_space_add_feature(s, "var:1:1000:A:G", MMDX_KIND_DOSAGE, NULL, MMDX_TRANSFORM_NONE,
                                            &again), MMDX_OK);
    ck_assert_uint_eq(again, 1);
    ck_assert_uint_eq(mmdx_space_n_features(s), 3);
    /* same id, other kind */
    ck_assert_int_eq(mmdx_space_add_feature(s, "var:1:1000:A:G", MMDX_KIND_BINARY, NULL, MMDX_TRANSFORM_NONE, NULL),
                     MMDX_EDUP);
    ck_assert_int_eq(mmdx_space_find_feature(s, "lab:loinc:2160-0"), 0);
    ck_assert_int_eq(mmdx_space_find_feature(s, "lab:loinc:nope"), -1);
    ck_assert_str_eq(mmdx_space_feature_id(s, 1), "var:1:1000:A:G");
    ck_assert_int_eq(mmdx_space_feature_kind(s, 1), MMDX_KIND_DOSAGE);
    ck_assert_str_eq(mmdx_space_feature_unit(s, 0), "mg/dL");
    ck_assert_str_eq(mmdx_space_feature_unit(s, 1), "");
    ck_assert_int_eq(mmdx_space_feature_transform(s, 0), MMDX_TRANSFORM_LOG);
    mmdx_space_set_transform(s, 0, MMDX_TRANSFORM_LOGIT);
    ck_assert_int_eq(mmdx_space_feature_transform(s, 0), MMDX_TRANSFORM_LOGIT);
    ck_assert_ptr_null(mmdx_space_feature_id(s, 99));
    mmdx_space_free(s);
    mmdx_space_free(NULL);
}
END_TEST

START_TEST(test_bad_ids)
{
    mmdx_space_t *s = mmdx_space_alloc();
    char longid[MMDX_ID_MAX + 10];
    const char *bad[] = {"", "nonamespace", ":x", "lab:", "lab:a\tb", "lab:a\nb", "img:x\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq(mmdx_space_add_feature(s, bad[i], MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL),
                         MMDX_EINVAL);
    ck_assert_int_eq(mmdx_space_add_feature(s, NULL, MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL),
                     MMDX_EINVAL);
    memset(longid, 'a', sizeof longid - 1);
    memcpy(longid, "lab:", 4);
    longid[MMDX_ID_MAX] = '\0'; /* MMDX_ID_MAX characters: one too many with the NUL */
    ck_assert_int_eq(mmdx_space_add_feature(s, longid, MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL),
                     MMDX_EINVAL);
    longid[MMDX_ID_MAX - 1] = '\0';
    ck_assert_int_eq(mmdx_space_add_feature(s, longid, MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL),
                     MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(s, "lab:x", (mmdx_kind_t)9, NULL, MMDX_TRANSFORM_NONE, NULL),
                     MMDX_EINVAL);
    ck_assert_uint_eq(mmdx_space_n_features(s), 1);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_levels)
{
    mmdx_space_t *s = mmdx_space_alloc();
    size_t cat, cont, l0, l1, l2;
    ck_assert_int_eq(mmdx_space_add_feature(s, "demo:sex", MMDX_KIND_CATEGORICAL, NULL, MMDX_TRANSFORM_NONE, &cat),
                     MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(s, "demo:age", MMDX_KIND_CONTINUOUS, "a", MMDX_TRANSFORM_NONE, &cont),
                     MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_level(s, cat, "female", &l0), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_level(s, cat, "male", &l1), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_level(s, cat, "female", &l2), MMDX_OK);
    ck_assert_uint_eq(l0, 0);
    ck_assert_uint_eq(l1, 1);
    ck_assert_uint_eq(l2, 0);
    ck_assert_uint_eq(mmdx_space_n_levels(s, cat), 2);
    ck_assert_str_eq(mmdx_space_level(s, cat, 1), "male");
    ck_assert_int_eq(mmdx_space_find_level(s, cat, "male"), 1);
    ck_assert_int_eq(mmdx_space_find_level(s, cat, "other"), -1);
    /* levels only on categorical features */
    ck_assert_int_eq(mmdx_space_add_level(s, cont, "x", NULL), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_space_add_level(s, 77, "x", NULL), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_space_add_level(s, cat, "", NULL), MMDX_EINVAL);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_modality_of)
{
    char buf[64];
    ck_assert_int_eq(mmdx_space_modality_of("img:ct:volume", buf, sizeof buf), MMDX_OK);
    ck_assert_str_eq(buf, "img:ct");
    ck_assert_int_eq(mmdx_space_modality_of("lab:loinc:2160-0", buf, sizeof buf), MMDX_OK);
    ck_assert_str_eq(buf, "lab");
    ck_assert_int_eq(mmdx_space_modality_of("var:1:100:A:G", buf, sizeof buf), MMDX_OK);
    ck_assert_str_eq(buf, "gen");
    ck_assert_int_eq(mmdx_space_modality_of("pgx:CYP2C19", buf, sizeof buf), MMDX_OK);
    ck_assert_str_eq(buf, "gen");
    ck_assert_int_eq(mmdx_space_modality_of("demo:age", buf, sizeof buf), MMDX_OK);
    ck_assert_str_eq(buf, "demo");
    ck_assert_int_eq(mmdx_space_modality_of("sig:hr", buf, sizeof buf), MMDX_OK);
    ck_assert_str_eq(buf, "sig");
    ck_assert_int_eq(mmdx_space_modality_of("img:ct", buf, sizeof buf), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_space_modality_of("nonamespace", buf, sizeof buf), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_space_modality_of("img:retina:x", buf, 6), MMDX_EINVAL); /* "img:retina" needs 11 */
}
END_TEST

START_TEST(test_targets_clone_equal)
{
    mmdx_space_t *s = mmdx_space_alloc(), *c;
    const char *bin[] = {"0", "1"}, *three[] = {"mild", "moderate", "severe"}, *other[] = {"0", "2"};
    const char *dup[] = {"a", "a"};
    size_t t, again, f;
    ck_assert_int_eq(mmdx_space_add_target(s, "t2d", 2, bin, &t), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_target(s, "ckd", 3, three, NULL), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_target(s, "t2d", 2, bin, &again), MMDX_OK);
    ck_assert_uint_eq(again, t);
    ck_assert_int_eq(mmdx_space_add_target(s, "t2d", 2, other, NULL), MMDX_ESPACE);
    ck_assert_int_eq(mmdx_space_add_target(s, "x", 1, bin, NULL), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_space_add_target(s, "y", 2, dup, NULL), MMDX_EDUP);
    ck_assert_uint_eq(mmdx_space_n_targets(s), 2);
    ck_assert_int_eq(mmdx_space_find_target(s, "ckd"), 1);
    ck_assert_int_eq(mmdx_space_find_target(s, "none"), -1);
    ck_assert_uint_eq(mmdx_space_n_classes(s, 1), 3);
    ck_assert_str_eq(mmdx_space_class_name(s, 1, 2), "severe");
    ck_assert_int_eq(mmdx_space_find_class(s, 1, "moderate"), 1);
    ck_assert_int_eq(mmdx_space_find_class(s, 1, "none"), -1);
    ck_assert_str_eq(mmdx_space_target_name(s, 0), "t2d");
    ck_assert_int_eq(mmdx_space_add_feature(s, "demo:sex", MMDX_KIND_CATEGORICAL, NULL, MMDX_TRANSFORM_NONE, &f),
                     MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_level(s, f, "f", NULL), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(s, "lab:x:y", MMDX_KIND_CONTINUOUS, "mmol/L", MMDX_TRANSFORM_NONE,
                                            NULL), MMDX_OK);

    c = mmdx_space_clone(s);
    ck_assert_ptr_nonnull(c);
    ck_assert(mmdx_space_equal(s, c));
    ck_assert_str_eq(mmdx_space_feature_unit(c, 1), "mmol/L");
    ck_assert_str_eq(mmdx_space_level(c, 0, 0), "f");
    /* a new level makes them differ */
    ck_assert_int_eq(mmdx_space_add_level(c, f, "m", NULL), MMDX_OK);
    ck_assert(!mmdx_space_equal(s, c));
    mmdx_space_free(c);
    c = mmdx_space_clone(s);
    ck_assert_int_eq(mmdx_space_add_feature(c, "lab:x:z", MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE, NULL),
                     MMDX_OK);
    ck_assert(!mmdx_space_equal(s, c));
    ck_assert(!mmdx_space_equal(s, NULL));
    mmdx_space_free(c);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_many_features_hashed)
{
    mmdx_space_t *s = mmdx_space_alloc();
    char id[64];
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof id, "var:1:%d:A:G", i);
        ck_assert_int_eq(mmdx_space_add_feature(s, id, MMDX_KIND_DOSAGE, NULL, MMDX_TRANSFORM_NONE, NULL), MMDX_OK);
    }
    for (int i = 0; i < 20000; i += 7) {
        snprintf(id, sizeof id, "var:1:%d:A:G", i);
        ck_assert_int_eq(mmdx_space_find_feature(s, id), i);
    }
    ck_assert_int_eq(mmdx_space_find_feature(s, "var:1:20000:A:G"), -1);
    mmdx_space_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("space");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, test_features);
    tcase_add_test(tc, test_bad_ids);
    tcase_add_test(tc, test_levels);
    tcase_add_test(tc, test_modality_of);
    tcase_add_test(tc, test_targets_clone_equal);
    tcase_add_test(tc, test_many_features_hashed);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
