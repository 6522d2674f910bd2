/* Check suite: the HDF5 cohort file, written and read back in row chunks; foreign and
 * damaged files. */
#include "testutil.h"

#include <check.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <string.h>

#include <mmdx/mmdx.h>

static char dir[512];

static void setup(void)
{
    tu_mkdtemp(dir, sizeof dir);
}

static void teardown(void)
{
    tu_rmdir(dir);
}

static mmdx_space_t *make_space(void)
{
    mmdx_space_t *s = mmdx_space_alloc();
    const char *bin[] = {"0", "1"}, *sev[] = {"mild", "severe", "none"};
    size_t cat;
    ck_assert_int_eq(mmdx_space_add_feature(s, "lab:loinc:2160-0", MMDX_KIND_CONTINUOUS, "mg/dL",
                                            MMDX_TRANSFORM_LOG, NULL), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(s, "var:1:100:A:G", MMDX_KIND_DOSAGE, NULL, MMDX_TRANSFORM_NONE, NULL),
                     MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(s, "demo:sex", MMDX_KIND_CATEGORICAL, NULL, MMDX_TRANSFORM_NONE, &cat),
                     MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_level(s, cat, "female", NULL), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_level(s, cat, "male", NULL), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_feature(s, "img:ct:volume", MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_AUTO,
                                            NULL), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_target(s, "t2d", 2, bin, NULL), MMDX_OK);
    ck_assert_int_eq(mmdx_space_add_target(s, "ckd", 3, sev, NULL), MMDX_OK);
    return s;
}

/* Deterministic content for row i (global index), so any chunking can be checked. */
static void fill_row(mmdx_cohort_t *c, size_t r, size_t i)
{
    char id[32];
    snprintf(id, sizeof id, "patient-%06zu", i);
    ck_assert_int_eq(mmdx_cohort_set_id(c, r, id), MMDX_OK);
    if (i % 3)
        mmdx_cohort_set(c, r, 0, 0.5 + (double)i * 0.25, i % 7 == 0 ? MMDX_VAL_CENSOR_LEFT : 0);
    mmdx_cohort_set(c, r, 1, (double)(i % 3), 0);
    if (i % 5)
        mmdx_cohort_set(c, r, 2, (double)(i % 2), 0);
    if (i % 11 == 0)
        mmdx_cohort_set(c, r, 3, 1e6 + (double)i, MMDX_VAL_CENSOR_RIGHT);
    mmdx_cohort_set_label(c, r, 0, i % 4 == 0 ? -1 : (int)(i % 2));
    mmdx_cohort_set_label(c, r, 1, (int)(i % 3));
}

static void check_row(const mmdx_cohort_t *c, size_t r, size_t i)
{
    char id[32];
    double v;
    snprintf(id, sizeof id, "patient-%06zu", i);
    ck_assert_str_eq(mmdx_cohort_id(c, r), id);
    ck_assert_int_eq(mmdx_cohort_get(c, r, 0, &v), i % 3 != 0);
    if (i % 3) {
        ck_assert_double_eq(v, 0.5 + (double)i * 0.25);
        ck_assert_uint_eq(mmdx_cohort_flags_const(c, 0)[r], i % 7 == 0 ? MMDX_VAL_CENSOR_LEFT : 0);
    } else {
        ck_assert(isnan(mmdx_cohort_column_const(c, 0)[r]));
    }
    ck_assert_int_eq(mmdx_cohort_get(c, r, 1, &v), 1);
    ck_assert_double_eq(v, (double)(i % 3));
    ck_assert_int_eq(mmdx_cohort_get(c, r, 2, &v), i % 5 != 0);
    ck_assert_int_eq(mmdx_cohort_get(c, r, 3, &v), i % 11 == 0);
    if (i % 11 == 0)
        ck_assert_uint_eq(mmdx_cohort_flags_const(c, 3)[r], MMDX_VAL_CENSOR_RIGHT);
    ck_assert_int_eq(mmdx_cohort_label(c, r, 0), i % 4 == 0 ? -1 : (int)(i % 2));
    ck_assert_int_eq(mmdx_cohort_label(c, r, 1), (int)(i % 3));
}

/* Write @p n rows in appends of @p step rows. */
static void write_file(const char *path, mmdx_space_t *s, size_t n, size_t step)
{
    mmdx_cohort_writer_t *w = NULL;
    mmdx_error_t e = {0};
    ck_assert_int_eq(mmdx_cohort_writer_open(NULL, path, s, &w, &e), MMDX_OK);
    for (size_t first = 0; first < n; first += step) {
        size_t k = n - first < step ? n - first : step;
        mmdx_cohort_t *c = mmdx_cohort_alloc(s, k);
        for (size_t r = 0; r < k; r++)
            fill_row(c, r, first + r);
        ck_assert_msg(mmdx_cohort_writer_append(w, c, &e) == MMDX_OK, "%s", e.message);
        mmdx_cohort_free(c);
    }
    ck_assert_msg(mmdx_cohort_writer_commit(w, &e) == MMDX_OK, "%s", e.message);
}

START_TEST(test_round_trip_chunks)
{
    mmdx_space_t *s = make_space();
    mmdx_cohort_reader_t *r = NULL;
    mmdx_cohort_t *chunk = NULL;
    mmdx_error_t e = {0};
    char path[600];
    size_t seen = 0, chunks = 0;
    int rc;
    tu_path(path, sizeof path, dir, "cohort.h5");
    write_file(path, s, 1000, 97);
    ck_assert_msg(mmdx_cohort_reader_open(NULL, path, &r, &e) == MMDX_OK, "%s", e.message);
    ck_assert_uint_eq(mmdx_cohort_reader_n_patients(r), 1000);
    ck_assert(mmdx_space_equal(mmdx_cohort_reader_space(r), s));
    ck_assert_str_eq(mmdx_space_feature_unit(mmdx_cohort_reader_space(r), 0), "mg/dL");
    ck_assert_int_eq(mmdx_space_feature_transform(mmdx_cohort_reader_space(r), 0), MMDX_TRANSFORM_LOG);
    ck_assert_int_eq(mmdx_space_feature_transform(mmdx_cohort_reader_space(r), 3), MMDX_TRANSFORM_AUTO);
    while ((rc = mmdx_cohort_reader_next(r, 128, &chunk, &e)) == 1) {
        ck_assert_uint_le(mmdx_cohort_n_patients(chunk), 128);
        ck_assert_ptr_eq(mmdx_cohort_space(chunk), mmdx_cohort_reader_space(r));
        for (size_t i = 0; i < mmdx_cohort_n_patients(chunk); i++)
            check_row(chunk, i, seen + i);
        seen += mmdx_cohort_n_patients(chunk);
        chunks++;
        mmdx_cohort_free(chunk);
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_ptr_null(chunk);
    ck_assert_uint_eq(seen, 1000);
    ck_assert_uint_eq(chunks, 8);
    /* rewind and read again in one go */
    ck_assert_int_eq(mmdx_cohort_reader_rewind(r), MMDX_OK);
    ck_assert_int_eq(mmdx_cohort_reader_next(r, 5000, &chunk, &e), 1);
    ck_assert_uint_eq(mmdx_cohort_n_patients(chunk), 1000);
    check_row(chunk, 999, 999);
    mmdx_cohort_free(chunk);
    ck_assert_int_eq(mmdx_cohort_reader_next(r, 5000, &chunk, &e), 0);
    ck_assert_int_eq(mmdx_cohort_reader_next(r, 0, &chunk, NULL), MMDX_EINVAL);
    mmdx_cohort_reader_close(r);
    mmdx_cohort_reader_close(NULL);
    /* every HDF5 object was closed */
    ck_assert_int_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_save_load)
{
    mmdx_space_t *s = make_space();
    mmdx_cohort_t *c = mmdx_cohort_alloc(s, 50), *back = NULL;
    mmdx_error_t e = {0};
    char path[600];
    for (size_t i = 0; i < 50; i++)
        fill_row(c, i, i);
    tu_path(path, sizeof path, dir, "whole.h5");
    ck_assert_int_eq(mmdx_cohort_save(NULL, c, path, &e), MMDX_OK);
    mmdx_cohort_free(c);
    mmdx_space_free(s); /* the loaded cohort owns its own copy of the space */
    ck_assert_msg(mmdx_cohort_load(NULL, path, &back, &e) == MMDX_OK, "%s", e.message);
    ck_assert_uint_eq(mmdx_cohort_n_patients(back), 50);
    ck_assert_uint_eq(mmdx_space_n_features(mmdx_cohort_space(back)), 4);
    for (size_t i = 0; i < 50; i++)
        check_row(back, i, i);
    ck_assert_int_eq(mmdx_cohort_find(back, "patient-000042"), 42);
    mmdx_cohort_free(back);
}
END_TEST

/* A cohort file read from memory (an HDF5 file image) gives the same rows as from disk,
 * whatever files exist under its name, and two images open at once stay apart. */
START_TEST(test_open_memory)
{
    mmdx_space_t *s = make_space();
    mmdx_cohort_reader_t *r = NULL, *r2 = NULL;
    mmdx_cohort_t *chunk = NULL, *chunk2 = NULL;
    mmdx_error_t e = {0};
    char path[600], path2[600];
    size_t size, size2;
    tu_path(path, sizeof path, dir, "mem.h5");
    write_file(path, s, 300, 300);
    tu_path(path2, sizeof path2, dir, "mem2.h5");
    write_file(path2, s, 20, 20);
    unsigned char *img = tu_slurp(path, &size), *img2 = tu_slurp(path2, &size2);
    /* the name of an existing file: the image is read, never the file */
    ck_assert_msg(mmdx_cohort_reader_open_memory(NULL, img, size, path2, &r, &e) == MMDX_OK, "%s", e.message);
    memset(img, 0, size);
    free(img); /* copied */
    ck_assert_msg(mmdx_cohort_reader_open_memory(NULL, img2, size2, path2, &r2, &e) == MMDX_OK, "%s", e.message);
    ck_assert_uint_eq(mmdx_cohort_reader_n_patients(r), 300);
    ck_assert_uint_eq(mmdx_cohort_reader_n_patients(r2), 20);
    ck_assert(mmdx_space_equal(mmdx_cohort_reader_space(r), s));
    ck_assert_int_eq(mmdx_cohort_reader_next(r, 1000, &chunk, &e), 1);
    ck_assert_int_eq(mmdx_cohort_reader_next(r2, 1000, &chunk2, &e), 1);
    ck_assert_uint_eq(mmdx_cohort_n_patients(chunk), 300);
    ck_assert_uint_eq(mmdx_cohort_n_patients(chunk2), 20);
    for (size_t i = 0; i < 300; i++)
        check_row(chunk, i, i);
    for (size_t i = 0; i < 20; i++)
        check_row(chunk2, i, i);
    mmdx_cohort_free(chunk);
    mmdx_cohort_free(chunk2);
    mmdx_cohort_reader_close(r);
    mmdx_cohort_reader_close(r2);
    ck_assert_int_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    /* not HDF5, truncated, empty, NULL */
    mmdx_error_clear(&e);
    ck_assert_int_eq(mmdx_cohort_reader_open_memory(NULL, "patient_id\tx\n", 13, "text.tsv", &r, &e), MMDX_EFORMAT);
    ck_assert_str_eq(e.file, "text.tsv");
    ck_assert_msg(strstr(e.message, "not an HDF5 file") != NULL, "%s", e.message);
    mmdx_error_clear(&e);
    ck_assert_int_eq(mmdx_cohort_reader_open_memory(NULL, img2, size2 / 2, NULL, &r, &e), MMDX_EFORMAT);
    ck_assert_str_eq(e.file, "(memory)");
    ck_assert_ptr_null(r);
    mmdx_error_clear(&e);
    ck_assert_int_eq(mmdx_cohort_reader_open_memory(NULL, img2, 0, "empty", &r, &e), MMDX_EFORMAT);
    mmdx_error_clear(&e);
    ck_assert_int_eq(mmdx_cohort_reader_open_memory(NULL, NULL, 10, "null", &r, &e), MMDX_EINVAL);
    ck_assert_int_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    free(img2);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_empty_cohort_and_space)
{
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_cohort_t *c = mmdx_cohort_alloc(s, 0), *back = NULL;
    mmdx_error_t e = {0};
    char path[600];
    tu_path(path, sizeof path, dir, "empty.h5");
    ck_assert_msg(mmdx_cohort_save(NULL, c, path, &e) == MMDX_OK, "%s", e.message);
    ck_assert_msg(mmdx_cohort_load(NULL, path, &back, &e) == MMDX_OK, "%s", e.message);
    ck_assert_uint_eq(mmdx_cohort_n_patients(back), 0);
    ck_assert_uint_eq(mmdx_cohort_n_features(back), 0);
    mmdx_cohort_free(back);
    mmdx_cohort_free(c);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_abort_and_failed_append)
{
    mmdx_space_t *s = make_space(), *other;
    mmdx_cohort_writer_t *w = NULL;
    mmdx_cohort_t *c;
    mmdx_error_t e = {0};
    char path[600];
    tu_path(path, sizeof path, dir, "never.h5");
    ck_assert_int_eq(mmdx_cohort_writer_open(NULL, path, s, &w, &e), MMDX_OK);
    c = mmdx_cohort_alloc(s, 3);
    for (size_t i = 0; i < 3; i++)
        fill_row(c, i, i);
    ck_assert_int_eq(mmdx_cohort_writer_append(w, c, &e), MMDX_OK);
    /* the same ids again */
    ck_assert_int_eq(mmdx_cohort_writer_append(w, c, &e), MMDX_EDUP);
    ck_assert_int_eq(e.line, 4);
    mmdx_cohort_free(c);
    /* a row without id */
    mmdx_error_clear(&e);
    c = mmdx_cohort_alloc(s, 1);
    ck_assert_int_eq(mmdx_cohort_writer_append(w, c, &e), MMDX_EINVAL);
    mmdx_cohort_free(c);
    /* a chunk over another space */
    other = mmdx_space_alloc();
    ck_assert_int_eq(mmdx_space_add_feature(other, "lab:x:y", MMDX_KIND_CONTINUOUS, NULL, MMDX_TRANSFORM_NONE,
                                            NULL), MMDX_OK);
    c = mmdx_cohort_alloc(other, 1);
    mmdx_error_clear(&e);
    ck_assert_int_eq(mmdx_cohort_writer_append(w, c, &e), MMDX_ESPACE);
    mmdx_cohort_free(c);
    mmdx_space_free(other);
    ck_assert_int_eq(tu_count_entries(dir), 1); /* the temporary file */
    mmdx_cohort_writer_abort(w);
    ck_assert_int_eq(tu_count_entries(dir), 0);
    ck_assert_int_ne(access(path, F_OK), 0);
    mmdx_cohort_writer_abort(NULL);
    ck_assert_int_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    mmdx_space_free(s);
}
END_TEST

START_TEST(test_writer_bad_directory)
{
    mmdx_space_t *s = make_space();
    mmdx_cohort_writer_t *w = NULL;
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_error_t e = {0};
    char path[600];
    snprintf(path, sizeof path, "%s/missing/c.h5", dir);
    ck_assert_int_eq(mmdx_cohort_writer_open(ctx, path, s, &w, &e), MMDX_EIO);
    ck_assert_ptr_null(w);
    ck_assert_int_eq(mmdx_ctx_error(ctx)->code, MMDX_EIO);
    /* "-" (standard output) is refused with a reason a user of `-o -` understands */
    mmdx_error_clear(&e);
    ck_assert_int_eq(mmdx_cohort_writer_open(ctx, "-", s, &w, &e), MMDX_EINVAL);
    ck_assert_ptr_null(w);
    ck_assert_ptr_nonnull(strstr(e.message, "not standard output"));
    mmdx_ctx_free(ctx);
    mmdx_space_free(s);
}
END_TEST

/* ------------------------------------------------------------------ bad files */

static int open_expect(const char *path, int code, const char *object, const char *in_message)
{
    mmdx_cohort_reader_t *r = NULL;
    mmdx_error_t e = {0};
    int rc = mmdx_cohort_reader_open(NULL, path, &r, &e);
    ck_assert_msg(rc == code, "expected %d, got %d: %s", code, rc, e.message);
    ck_assert_ptr_null(r);
    ck_assert_str_eq(e.file, path);
    if (object)
        ck_assert_msg(strcmp(e.object, object) == 0, "object '%s', expected '%s' (%s)", e.object, object,
                      e.message);
    if (in_message)
        ck_assert_msg(strstr(e.message, in_message) != NULL, "message '%s' lacks '%s'", e.message, in_message);
    ck_assert_int_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    return rc;
}

static void make_valid(char *path, size_t cap, const char *name)
{
    mmdx_space_t *s = make_space();
    tu_path(path, cap, dir, name);
    write_file(path, s, 40, 40);
    mmdx_space_free(s);
}

START_TEST(test_not_hdf5)
{
    char path[600];
    tu_write(tu_path(path, sizeof path, dir, "text.h5"), "patient_id\tx\n");
    open_expect(path, MMDX_EFORMAT, NULL, "not an HDF5 file");
    open_expect(tu_path(path, sizeof path, dir, "absent.h5"), MMDX_ENOTFOUND, NULL, NULL);
}
END_TEST

START_TEST(test_foreign_hdf5)
{
    char path[600];
    hid_t f;
    hsize_t dims[1] = {3};
    double v[3] = {1, 2, 3};
    tu_path(path, sizeof path, dir, "foreign.h5");
    f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    {
        hid_t sp = H5Screate_simple(1, dims, NULL);
        hid_t d = H5Dcreate2(f, "data", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        ck_assert_int_ge(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
        H5Dclose(d);
        H5Sclose(sp);
    }
    H5Fclose(f);
    open_expect(path, MMDX_EFORMAT, "/", "not an mmdx cohort file");
}
END_TEST

START_TEST(test_wrong_version)
{
    char path[600];
    hid_t f, a;
    int v = 99;
    make_valid(path, sizeof path, "v99.h5");
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    a = H5Aopen(f, "mmdx_format_version", H5P_DEFAULT);
    ck_assert_int_ge(H5Awrite(a, H5T_NATIVE_INT, &v), 0);
    H5Aclose(a);
    H5Fclose(f);
    open_expect(path, MMDX_EVERSION, "/", "version 99");
}
END_TEST

START_TEST(test_missing_dataset)
{
    char path[600];
    hid_t f;
    make_valid(path, sizeof path, "nolabels.h5");
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(H5Ldelete(f, "labels", H5P_DEFAULT), 0);
    H5Fclose(f);
    open_expect(path, MMDX_EFORMAT, "/labels", "missing");
    make_valid(path, sizeof path, "nokinds.h5");
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(H5Ldelete(f, "space/feature_kinds", H5P_DEFAULT), 0);
    H5Fclose(f);
    open_expect(path, MMDX_EFORMAT, "/space/feature_kinds", "missing");
}
END_TEST

START_TEST(test_wrong_shape)
{
    char path[600];
    hid_t f, sp, d;
    hsize_t dims[2] = {40, 3};
    make_valid(path, sizeof path, "shape.h5");
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(H5Ldelete(f, "values", H5P_DEFAULT), 0);
    sp = H5Screate_simple(2, dims, NULL);
    d = H5Dcreate2(f, "values", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(d);
    H5Sclose(sp);
    H5Fclose(f);
    open_expect(path, MMDX_EFORMAT, "/values", "expected 4");
}
END_TEST

/* Overwrite one element of a 2-D dataset of the valid file. */
static void poke(const char *path, const char *name, hid_t mtype, size_t row, size_t col, const void *value)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), d, fs, ms;
    hsize_t start[2] = {row, col}, count[2] = {1, 1};
    ck_assert_int_ge(f, 0);
    d = H5Dopen2(f, name, H5P_DEFAULT);
    fs = H5Dget_space(d);
    ms = H5Screate_simple(2, count, NULL);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    ck_assert_int_ge(H5Dwrite(d, mtype, ms, fs, H5P_DEFAULT, value), 0);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
    H5Fclose(f);
}

static void next_expect(const char *path, int code, const char *object, long line)
{
    mmdx_cohort_reader_t *r = NULL;
    mmdx_cohort_t *chunk = NULL;
    mmdx_error_t e = {0};
    int rc;
    ck_assert_msg(mmdx_cohort_reader_open(NULL, path, &r, &e) == MMDX_OK, "%s", e.message);
    while ((rc = mmdx_cohort_reader_next(r, 16, &chunk, &e)) == 1)
        mmdx_cohort_free(chunk);
    ck_assert_msg(rc == code, "expected %d, got %d (%s)", code, rc, e.message);
    ck_assert_ptr_null(chunk);
    ck_assert_str_eq(e.object, object);
    ck_assert_int_eq(e.line, line);
    mmdx_cohort_reader_close(r);
    ck_assert_int_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
}

START_TEST(test_bad_rows)
{
    char path[600];
    int bad_label = 7;
    uint8_t bad_flag = 0x80, present = 0;
    double inf = INFINITY;
    make_valid(path, sizeof path, "label.h5");
    poke(path, "labels", H5T_NATIVE_INT, 20, 1, &bad_label);
    next_expect(path, MMDX_EFORMAT, "/labels", 21);
    make_valid(path, sizeof path, "flag.h5");
    poke(path, "flags", H5T_NATIVE_UINT8, 33, 2, &bad_flag);
    next_expect(path, MMDX_EFORMAT, "/flags", 34);
    make_valid(path, sizeof path, "nan.h5");
    poke(path, "flags", H5T_NATIVE_UINT8, 3, 0, &present); /* row 3 (i % 3 == 0) has NaN there */
    next_expect(path, MMDX_EFORMAT, "/values", 4);
    make_valid(path, sizeof path, "inf.h5");
    poke(path, "values", H5T_NATIVE_DOUBLE, 1, 1, &inf);
    next_expect(path, MMDX_EFORMAT, "/values", 2);
}
END_TEST

START_TEST(test_variable_length_strings_refused)
{
    char path[600];
    hid_t f, sp, d, t;
    hsize_t dims[1] = {40};
    const char *ids[40];
    mmdx_cohort_reader_t *r = NULL;
    mmdx_error_t e = {0};
    for (int i = 0; i < 40; i++)
        ids[i] = "same";
    make_valid(path, sizeof path, "vlen.h5");
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ck_assert_int_ge(H5Ldelete(f, "patient_ids", H5P_DEFAULT), 0);
    t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    sp = H5Screate_simple(1, dims, NULL);
    d = H5Dcreate2(f, "patient_ids", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids), 0);
    H5Dclose(d);
    H5Sclose(sp);
    H5Tclose(t);
    H5Fclose(f);
    /* the heap behind variable-length strings is never parsed: refused at the first read */
    ck_assert_int_eq(mmdx_cohort_reader_open(NULL, path, &r, &e), MMDX_OK);
    {
        mmdx_cohort_t *c = NULL;
        ck_assert_int_eq(mmdx_cohort_reader_next(r, 10, &c, &e), MMDX_EFORMAT);
        ck_assert_ptr_null(c);
    }
    ck_assert_str_eq(e.object, "/patient_ids");
    ck_assert_ptr_nonnull(strstr(e.message, "variable-length"));
    mmdx_cohort_reader_close(r);
}
END_TEST

START_TEST(test_duplicate_ids_on_load)
{
    char path[600];
    char dup[MMDX_ID_MAX] = "patient-000001"; /* the file's fixed-length string type */
    hid_t f, d, fs, ms, t;
    hsize_t start[1] = {5}, count[1] = {1};
    mmdx_cohort_t *c = NULL;
    mmdx_error_t e = {0};
    make_valid(path, sizeof path, "dup.h5");
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    d = H5Dopen2(f, "patient_ids", H5P_DEFAULT);
    t = H5Dget_type(d);
    fs = H5Dget_space(d);
    ms = H5Screate_simple(1, count, NULL);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    ck_assert_int_ge(H5Dwrite(d, t, ms, fs, H5P_DEFAULT, dup), 0);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Tclose(t);
    H5Dclose(d);
    H5Fclose(f);
    ck_assert_int_eq(mmdx_cohort_load(NULL, path, &c, &e), MMDX_EFORMAT);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(e.object, "/patient_ids");
    ck_assert_int_eq(e.line, 6);
    ck_assert_ptr_nonnull(strstr(e.message, "row 2"));
}
END_TEST

START_TEST(test_truncated)
{
    char path[600], cut[600];
    FILE *in, *out;
    long size;
    char *buf;
    make_valid(path, sizeof path, "whole.h5");
    in = fopen(path, "rb");
    fseek(in, 0, SEEK_END);
    size = ftell(in);
    rewind(in);
    buf = malloc((size_t)size);
    ck_assert_uint_eq(fread(buf, 1, (size_t)size, in), (size_t)size);
    fclose(in);
    /* cut at several points: never a crash, always an error naming the file */
    int hdf5_reasons = 0;
    for (long at = 16; at < size; at += size / 7) {
        mmdx_cohort_reader_t *r = NULL;
        mmdx_cohort_t *chunk = NULL;
        mmdx_error_t e = {0};
        int rc;
        tu_path(cut, sizeof cut, dir, "cut.h5");
        out = fopen(cut, "wb");
        fwrite(buf, 1, (size_t)at, out);
        fclose(out);
        rc = mmdx_cohort_reader_open(NULL, cut, &r, &e);
        if (rc == MMDX_OK) {
            while ((rc = mmdx_cohort_reader_next(r, 16, &chunk, &e)) == 1)
                mmdx_cohort_free(chunk);
            mmdx_cohort_reader_close(r);
        }
        ck_assert_msg(rc < 0, "a file cut at %ld of %ld bytes was read whole", at, size);
        ck_assert_str_eq(e.file, cut);
        hdf5_reasons += strstr(e.message, "(HDF5 ") != NULL; /* HDF5's own reason is kept */
        ck_assert_int_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    }
    free(buf);
    ck_assert_int_gt(hdf5_reasons, 0);
}
END_TEST

/* A cohort file changed between two chunks: the next chunk is refused with MMDX_EIO
 * naming the file and what changed (appended to, rewritten in place with the same size,
 * replaced by a new file renamed over it); the chunks read before stand. */
START_TEST(test_changed_while_read)
{
    mmdx_space_t *s = make_space();
    char path[600];
    struct stat st;
    tu_path(path, sizeof path, dir, "changing.h5");
    for (int how = 0; how < 3; how++) {
        mmdx_cohort_reader_t *r = NULL;
        mmdx_cohort_t *chunk = NULL;
        mmdx_error_t e = {0};
        char want[128];
        write_file(path, s, 300, 300);
        ck_assert_msg(mmdx_cohort_reader_open(NULL, path, &r, &e) == MMDX_OK, "%s", e.message);
        ck_assert_int_eq(mmdx_cohort_reader_next(r, 100, &chunk, &e), 1);
        mmdx_cohort_free(chunk);
        chunk = NULL;
        ck_assert_int_eq(stat(path, &st), 0);
        if (how == 0) {
            FILE *f = fopen(path, "ab");
            ck_assert_ptr_nonnull(f);
            ck_assert_int_eq(fputc(0, f), 0);
            ck_assert_int_eq(fclose(f), 0);
            snprintf(want, sizeof want, "size before %lld bytes, after %lld", (long long)st.st_size,
                     (long long)st.st_size + 1);
        } else if (how == 1) {
            struct timespec t[2] = {st.st_atim, st.st_mtim};
            t[1].tv_sec -= 100;
            ck_assert_int_eq(utimensat(AT_FDCWD, path, t, 0), 0);
            snprintf(want, sizeof want, "modification time changed");
        } else {
            write_file(path, s, 300, 300); /* temp + rename: another file of the same name */
            snprintf(want, sizeof want, "replaced by another file");
        }
        ck_assert_int_eq(mmdx_cohort_reader_next(r, 100, &chunk, &e), MMDX_EIO);
        ck_assert_ptr_null(chunk);
        ck_assert_str_eq(e.file, path);
        ck_assert_msg(strstr(e.message, "changed while being read") != NULL, "%s", e.message);
        ck_assert_msg(strstr(e.message, want) != NULL, "%s: want '%s'", e.message, want);
        mmdx_cohort_reader_close(r);
        ck_assert_int_eq(unlink(path), 0);
    }
    ck_assert_int_eq(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL), 0);
    mmdx_space_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cohort_file");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    mmdx_init(); /* HDF5 quiet before the tests make their own files */
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_round_trip_chunks);
    tcase_add_test(tc, test_save_load);
    tcase_add_test(tc, test_open_memory);
    tcase_add_test(tc, test_empty_cohort_and_space);
    tcase_add_test(tc, test_abort_and_failed_append);
    tcase_add_test(tc, test_writer_bad_directory);
    tcase_add_test(tc, test_not_hdf5);
    tcase_add_test(tc, test_foreign_hdf5);
    tcase_add_test(tc, test_wrong_version);
    tcase_add_test(tc, test_missing_dataset);
    tcase_add_test(tc, test_wrong_shape);
    tcase_add_test(tc, test_bad_rows);
    tcase_add_test(tc, test_variable_length_strings_refused);
    tcase_add_test(tc, test_duplicate_ids_on_load);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_changed_while_read);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
