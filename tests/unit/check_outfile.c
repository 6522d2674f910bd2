/* Check suite: atomic output files. */
#include "testutil.h"

#include <check.h>
#include <fcntl.h>
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

static int file_equals(const char *path, const char *text)
{
    char buf[4096];
    size_t n;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strcmp(buf, text) == 0;
}

START_TEST(test_commit)
{
    mmdx_outfile_t *f = NULL;
    mmdx_error_t e = {0};
    char path[600];
    struct stat st;
    tu_path(path, sizeof path, dir, "out.tsv");
    ck_assert_int_eq(mmdx_outfile_open(path, &f, &e), MMDX_OK);
    fputs("hello\n", mmdx_outfile_stream(f));
    /* nothing at the target yet; the temporary file is beside it */
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_int_eq(tu_count_entries(dir), 1);
    ck_assert_ptr_nonnull(strstr(mmdx_outfile_temp_path(f), dir));
    ck_assert_int_eq(mmdx_outfile_commit(f, &e), MMDX_OK);
    ck_assert(file_equals(path, "hello\n"));
    ck_assert_int_eq(tu_count_entries(dir), 1); /* only the result: the temporary file is gone */
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert((st.st_mode & 0600) == 0600);
}
END_TEST

START_TEST(test_abort_leaves_nothing)
{
    mmdx_outfile_t *f = NULL;
    char path[600];
    tu_path(path, sizeof path, dir, "out.tsv");
    /* an existing result is left as it was */
    tu_write(path, "old\n");
    ck_assert_int_eq(mmdx_outfile_open(path, &f, NULL), MMDX_OK);
    fputs("half of a new result", mmdx_outfile_stream(f));
    fflush(mmdx_outfile_stream(f));
    mmdx_outfile_abort(f);
    ck_assert(file_equals(path, "old\n"));
    ck_assert_int_eq(tu_count_entries(dir), 1);
    mmdx_outfile_abort(NULL);
}
END_TEST

START_TEST(test_replace_existing)
{
    mmdx_outfile_t *f = NULL;
    char path[600];
    tu_path(path, sizeof path, dir, "out.tsv");
    tu_write(path, "old\n");
    ck_assert_int_eq(mmdx_outfile_open(path, &f, NULL), MMDX_OK);
    fputs("new\n", mmdx_outfile_stream(f));
    ck_assert_int_eq(mmdx_outfile_commit(f, NULL), MMDX_OK);
    ck_assert(file_equals(path, "new\n"));
}
END_TEST

START_TEST(test_bad_directory)
{
    mmdx_outfile_t *f = (mmdx_outfile_t *)1;
    mmdx_error_t e = {0};
    char path[600];
    snprintf(path, sizeof path, "%s/no/such/dir/out.tsv", dir);
    ck_assert_int_eq(mmdx_outfile_open(path, &f, &e), MMDX_EIO);
    ck_assert_ptr_null(f);
    ck_assert_ptr_nonnull(strstr(e.message, "no/such/dir"));
    mmdx_error_clear(&e);
    ck_assert_int_eq(mmdx_outfile_check(path, &e), MMDX_EIO);
    ck_assert_int_eq(mmdx_outfile_check(tu_path(path, sizeof path, dir, "fine.tsv"), NULL), MMDX_OK);
    /* the path is a directory */
    ck_assert_int_eq(mmdx_outfile_check(dir, NULL), MMDX_EIO);
    ck_assert_int_eq(mmdx_outfile_open("", &f, NULL), MMDX_EINVAL);
    ck_assert_int_eq(mmdx_outfile_check("-", NULL), MMDX_OK);
}
END_TEST

START_TEST(test_write_error_reported)
{
    mmdx_outfile_t *f = NULL;
    mmdx_error_t e = {0};
    char path[600];
    int full = open("/dev/full", O_WRONLY);
    if (full < 0) {
        fprintf(stderr, "skip: no /dev/full\n");
        return;
    }
    tu_path(path, sizeof path, dir, "out.tsv");
    ck_assert_int_eq(mmdx_outfile_open(path, &f, &e), MMDX_OK);
    /* the disk fills up under the stream: the error shows at commit and nothing is renamed */
    ck_assert_int_ge(dup2(full, fileno(mmdx_outfile_stream(f))), 0);
    close(full);
    fputs("a result that does not fit\n", mmdx_outfile_stream(f));
    ck_assert_int_eq(mmdx_outfile_commit(f, &e), MMDX_EIO);
    ck_assert_ptr_nonnull(strstr(e.file, "out.tsv"));
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_int_eq(tu_count_entries(dir), 0);
}
END_TEST

START_TEST(test_stdout)
{
    mmdx_outfile_t *f = NULL;
    ck_assert_int_eq(mmdx_outfile_open("-", &f, NULL), MMDX_OK);
    ck_assert_ptr_eq(mmdx_outfile_stream(f), stdout);
    ck_assert_ptr_null(mmdx_outfile_temp_path(f));
    ck_assert_int_eq(mmdx_outfile_commit(f, NULL), MMDX_OK);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("outfile");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_commit);
    tcase_add_test(tc, test_abort_leaves_nothing);
    tcase_add_test(tc, test_replace_existing);
    tcase_add_test(tc, test_bad_directory);
    tcase_add_test(tc, test_write_error_reported);
    tcase_add_test(tc, test_stdout);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
