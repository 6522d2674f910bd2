#define _XOPEN_SOURCE 700
/* Check suite: mmdx_collect_file() through the plugin host, with test modalities that
 * read fine or fail half-way: a failed input's observations are discarded, its patients
 * kept and listed in the rejects. */
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mmdx/mmdx.h>

#include "failalloc.h"
#include "testutil.h"

/* What the test modalities send: P1 and P9 with values, then success or failure. */
typedef struct test_src {
    int fail;
} test_src_t;

static int t_init(const mmdx_host_t *host, void **state, mmdx_error_t *err)
{
    (void)host;
    (void)err;
    *state = NULL;
    return MMDX_OK;
}

static void t_fini(void *state)
{
    (void)state;
}

static int t_open(void *state, const char *path, const char *const *options, void **out, mmdx_error_t *err)
{
    static test_src_t good = {0}, bad = {1};
    (void)state;
    (void)options;
    (void)err;
    *out = strstr(path, "bad") ? &bad : &good;
    return MMDX_OK;
}

static int t_read(void *src, const mmdx_sink_t *sink, mmdx_error_t *err)
{
    test_src_t *s = src;
    mmdx_obs_t o;
    int rc;
    memset(&o, 0, sizeof o);
    o.kind = MMDX_OBS_CONTINUOUS;
    o.time = MMDX_TIME_UNKNOWN;
    o.patient = "P1";
    o.feature = "lab:test:a";
    o.value = s->fail ? 1000 : 1;
    o.provenance = "in:1";
    if ((rc = sink->obs(sink->data, &o)) != MMDX_OK)
        return rc;
    o.patient = "P9";
    o.feature = s->fail ? "lab:test:only_in_bad" : "lab:test:a";
    o.value = 9;
    if ((rc = sink->obs(sink->data, &o)) != MMDX_OK)
        return rc;
    if (s->fail)
        return mmdx_modality_error(err, MMDX_EFORMAT, NULL, "record 3", 3, "unexpected end of record 3");
    return MMDX_OK;
}

static void t_close(void *src)
{
    (void)src;
}

static const mmdx_modality_desc_t test_desc = {
    MMDX_ABI_MAJOR, MMDX_ABI_MINOR, sizeof(mmdx_modality_desc_t), "coretest", "1.0", "MIT",
    "core test modality", "coretest", {t_init, t_fini, NULL, t_open, t_read, t_close, {0}}, {0}};

START_TEST(test_failed_file_discarded_patients_kept)
{
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_collect_t *col;
    mmdx_cohort_t *c = NULL;
    mmdx_error_t e = {0};
    const char *patient, *file, *reason;
    int code;
    double v;
    ck_assert_int_eq(mmdx_plugin_register(ctx, &test_desc, "test", &e), MMDX_OK);
    col = mmdx_collect_alloc(ctx, s, MMDX_AGG_MEAN);
    ck_assert_int_eq(mmdx_collect_file(col, "coretest", "good.in", NULL, &e), MMDX_OK);
    ck_assert_uint_eq(mmdx_collect_n_observations(col), 2);
    ck_assert_int_eq(mmdx_collect_file(col, "coretest", "bad.in", NULL, &e), MMDX_EFORMAT);
    ck_assert_str_eq(e.file, "bad.in");
    ck_assert_ptr_nonnull(strstr(e.message, "record 3"));
    ck_assert_int_eq(mmdx_ctx_error(ctx)->code, MMDX_EFORMAT);
    /* the bad file's values are gone, the good file's stand */
    ck_assert_uint_eq(mmdx_collect_n_observations(col), 2);
    ck_assert_int_eq(mmdx_space_find_feature(s, "lab:test:only_in_bad"), -1);
    ck_assert_int_eq(mmdx_collect_to_cohort(col, &c, NULL), MMDX_OK);
    ck_assert_uint_eq(mmdx_cohort_n_patients(c), 2);
    ck_assert_int_eq(mmdx_cohort_get(c, (size_t)mmdx_cohort_find(c, "P1"), 0, &v), 1);
    ck_assert_double_eq(v, 1);
    /* both patients it named are listed with the file and the reason */
    ck_assert_uint_eq(mmdx_collect_n_rejects(col), 2);
    ck_assert_int_eq(mmdx_collect_reject(col, 0, &patient, &file, NULL, &code, &reason), MMDX_OK);
    ck_assert_str_eq(patient, "P1");
    ck_assert_str_eq(file, "bad.in");
    ck_assert_int_eq(code, MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(reason, "unexpected end of record 3"));
    ck_assert_int_eq(mmdx_collect_reject(col, 1, &patient, NULL, NULL, NULL, NULL), MMDX_OK);
    ck_assert_str_eq(patient, "P9");
    mmdx_cohort_free(c);
    mmdx_collect_free(col);
    mmdx_space_free(s);
    mmdx_ctx_free(ctx);
}
END_TEST

START_TEST(test_open_failure)
{
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_space_t *s = mmdx_space_alloc();
    mmdx_collect_t *col = mmdx_collect_alloc(ctx, s, MMDX_AGG_LATEST);
    mmdx_error_t e = {0};
    int rc = mmdx_collect_file(col, "no-such-modality", "x.in", NULL, &e);
    ck_assert_int_lt(rc, 0);
    ck_assert_int_eq(e.code, rc);
    ck_assert_uint_eq(mmdx_collect_n_patients(col), 0);
    ck_assert_uint_eq(mmdx_collect_n_rejects(col), 0);
    mmdx_collect_free(col);
    mmdx_space_free(s);
    mmdx_ctx_free(ctx);
}
END_TEST

START_TEST(test_real_imaging_file)
{
    const char *b = getenv("MMDX_BUILDDIR");
    char path[1024];
    mmdx_ctx_t *ctx;
    mmdx_space_t *s;
    mmdx_collect_t *col;
    mmdx_cohort_t *c = NULL;
    mmdx_error_t e = {0};
    snprintf(path, sizeof path, "%s/data/demo/generated/train/retina.h5", b ? b : ".");
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "skip: %s not there\n", path);
        return;
    }
    ctx = mmdx_ctx_alloc();
    s = mmdx_space_alloc();
    col = mmdx_collect_alloc(ctx, s, MMDX_AGG_LATEST);
    ck_assert_msg(mmdx_collect_file(col, NULL, path, NULL, &e) == MMDX_OK, "%s", e.message);
    ck_assert_uint_gt(mmdx_collect_n_patients(col), 0);
    ck_assert_uint_gt(mmdx_space_n_features(s), 0);
    ck_assert_int_eq(mmdx_collect_to_cohort(col, &c, &e), MMDX_OK);
    ck_assert_uint_eq(mmdx_cohort_n_patients(c), mmdx_collect_n_patients(col));
    mmdx_cohort_free(c);
    mmdx_collect_free(col);
    mmdx_space_free(s);
    mmdx_ctx_free(ctx);
}
END_TEST

/* The whole sequence with the Nth allocation failing: context, registration, a good and
 * a failing file, the cohort. */
static int op_collect_files(void *data)
{
    mmdx_ctx_t *ctx = NULL;
    mmdx_space_t *s = NULL;
    mmdx_collect_t *col = NULL;
    mmdx_cohort_t *c = NULL;
    mmdx_error_t e = {0};
    int rc = MMDX_ENOMEM;
    (void)data;
    if ((ctx = mmdx_ctx_alloc()) == NULL || (s = mmdx_space_alloc()) == NULL)
        goto done;
    if ((rc = mmdx_plugin_register(ctx, &test_desc, "test", &e)) != MMDX_OK)
        goto done;
    if ((col = mmdx_collect_alloc(ctx, s, MMDX_AGG_MEAN)) == NULL) {
        rc = MMDX_ENOMEM;
        goto done;
    }
    if ((rc = mmdx_collect_file(col, "coretest", "good.in", NULL, &e)) != MMDX_OK)
        goto done;
    mmdx_error_clear(&e);
    rc = mmdx_collect_file(col, "coretest", "bad.in", NULL, &e);
    if (rc != MMDX_EFORMAT)
        goto done; /* ENOMEM (reading or recording the rejects) */
    if ((rc = mmdx_collect_to_cohort(col, &c, NULL)) != MMDX_OK)
        goto done;
    rc = mmdx_cohort_n_patients(c) == 2 && mmdx_collect_n_rejects(col) == 2 ? MMDX_OK : MMDX_EINVAL;
done:
    mmdx_cohort_free(c);
    mmdx_collect_free(col);
    mmdx_space_free(s);
    mmdx_ctx_free(ctx);
    return rc;
}

START_TEST(test_failalloc)
{
    char msg[512];
    long n = failalloc_loop(op_collect_files, NULL, msg, sizeof msg);
    ck_assert_msg(n > 0, "%s", msg);
    fprintf(stderr, "op_collect_files: failed each of %ld allocations in turn\n", n);
}
END_TEST

/* ------------------------------------------------------------------ inputs that change
 * while being read. A wrapping modality ("changing") delegates to a real built-in one
 * (g_inner) and, on the first observation the real adapter sends, changes the input file
 * in the way g_change says: deterministic, no timing involved. */
typedef enum { CH_NONE, CH_APPEND, CH_TRUNCATE, CH_MTIME, CH_REPLACE } change_t;

static change_t g_change;
static const char *g_inner = "labs"; /* the driver input the real modality serves */
static const mmdx_modality_desc_t *g_inner_desc;

typedef struct ch_src {
    void *inner;
    char *path;
    int done;
} ch_src_t;

typedef struct ch_sink {
    const mmdx_sink_t *outer;
    ch_src_t *src;
} ch_sink_t;

static void change_file(const char *path)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    switch (g_change) {
    case CH_NONE:
        break;
    case CH_APPEND: {
        int fd = open(path, O_WRONLY | O_APPEND);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, "\n", 1), 1);
        ck_assert_int_eq(close(fd), 0);
        break;
    }
    case CH_TRUNCATE:
        ck_assert_int_eq(truncate(path, st.st_size / 2), 0);
        break;
    case CH_MTIME: { /* same size, same bytes: only the modification time moves (back) */
        struct timespec t[2] = {st.st_atim, st.st_mtim};
        t[1].tv_sec -= 100;
        ck_assert_int_eq(utimensat(AT_FDCWD, path, t, 0), 0);
        break;
    }
    case CH_REPLACE: { /* the same bytes in a new file renamed over the input */
        char tmp[1100], buf[4096];
        size_t n;
        FILE *in = fopen(path, "rb"), *out;
        snprintf(tmp, sizeof tmp, "%s.new", path);
        out = fopen(tmp, "wb");
        ck_assert(in != NULL && out != NULL);
        while ((n = fread(buf, 1, sizeof buf, in)) > 0)
            ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
        fclose(in);
        ck_assert_int_eq(fclose(out), 0);
        ck_assert_int_eq(rename(tmp, path), 0);
        break;
    }
    }
}

static int ch_obs(void *data, const mmdx_obs_t *obs)
{
    ch_sink_t *w = data;
    if (!w->src->done) {
        w->src->done = 1;
        change_file(w->src->path);
    }
    return w->outer->obs(w->outer->data, obs);
}
static int ch_block(void *data, const mmdx_block_t *block)
{
    ch_sink_t *w = data;
    if (!w->src->done) {
        w->src->done = 1;
        change_file(w->src->path);
    }
    return w->outer->block(w->outer->data, block);
}
static int ch_reject(void *data, const char *patient, const char *file, long record, int code, const char *reason)
{
    ch_sink_t *w = data;
    return w->outer->reject(w->outer->data, patient, file, record, code, reason);
}
static int ch_patient(void *data, const char *patient)
{
    ch_sink_t *w = data;
    return w->outer->patient ? w->outer->patient(w->outer->data, patient) : MMDX_OK;
}

static int ch_init(const mmdx_host_t *host, void **state, mmdx_error_t *err)
{
    return g_inner_desc->ops.init(host, state, err);
}
static void ch_fini(void *state)
{
    if (g_inner_desc->ops.fini)
        g_inner_desc->ops.fini(state);
}
static int ch_open(void *state, const char *path, const char *const *options, void **out, mmdx_error_t *err)
{
    ch_src_t *s = calloc(1, sizeof *s);
    int rc;
    ck_assert_ptr_nonnull(s);
    s->path = strdup(path);
    rc = g_inner_desc->ops.open(state, path, options, &s->inner, err);
    if (rc != MMDX_OK) {
        free(s->path);
        free(s);
        return rc;
    }
    *out = s;
    return MMDX_OK;
}
static int ch_read(void *src, const mmdx_sink_t *sink, mmdx_error_t *err)
{
    ch_src_t *s = src;
    ch_sink_t w = {sink, s};
    mmdx_sink_t wrapped = {&w, ch_obs, sink->block ? ch_block : NULL, ch_reject, ch_patient, {NULL}};
    return g_inner_desc->ops.read(s->inner, &wrapped, err);
}
static void ch_close(void *src)
{
    ch_src_t *s = src;
    g_inner_desc->ops.close(s->inner);
    free(s->path);
    free(s);
}

static const mmdx_modality_desc_t changing_desc = {
    MMDX_ABI_MAJOR, MMDX_ABI_MINOR, sizeof(mmdx_modality_desc_t), "changing", "1.0", "MIT",
    "a real modality whose input changes during the read", "changing",
    {ch_init, ch_fini, NULL, ch_open, ch_read, ch_close, {0}}, {0}};

/* A context with the wrapper around g_inner registered. */
static mmdx_ctx_t *changing_ctx(void)
{
    mmdx_ctx_t *ctx = mmdx_ctx_alloc();
    mmdx_error_t e = {0};
    long i;
    ck_assert_ptr_nonnull(ctx);
    i = mmdx_plugin_find_input(ctx, g_inner);
    ck_assert_int_ge(i, 0);
    g_inner_desc = mmdx_plugin_desc(ctx, (size_t)i);
    ck_assert_msg(mmdx_plugin_register(ctx, &changing_desc, "test", &e) == MMDX_OK, "%s", e.message);
    return ctx;
}

/* Copy $MMDX_TESTDATA/@p rel ("@rel": $MMDX_BUILDDIR/rel) into a new scratch directory (dir); its path in @p path.
 * 0 when the test data are not there (the test is skipped). */
static int scratch_copy(const char *rel, char *dir, size_t dcap, char *path, size_t pcap)
{
    const char *t = getenv("MMDX_TESTDATA"), *b = getenv("MMDX_BUILDDIR");
    char src[1024], buf[4096];
    const char *base = strrchr(rel, '/');
    FILE *in, *out;
    size_t n;
    if (rel[0] == '@') /* a file of the demo generator, in the build tree */
        snprintf(src, sizeof src, "%s/%s", b && b[0] ? b : ".", rel + 1);
    else
        snprintf(src, sizeof src, "%s/%s", t && t[0] ? t : "../shared/data", rel);
    if ((in = fopen(src, "rb")) == NULL) {
        fprintf(stderr, "skip: %s not there (set MMDX_TESTDATA)\n", src);
        return 0;
    }
    tu_mkdtemp(dir, dcap);
    tu_path(path, pcap, dir, base ? base + 1 : rel);
    out = fopen(path, "wb");
    ck_assert_ptr_nonnull(out);
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    ck_assert_int_eq(fclose(out), 0);
    return 1;
}

typedef struct count_sink {
    size_t obs, rejects;
} count_sink_t;
static int cs_obs(void *data, const mmdx_obs_t *obs)
{
    (void)obs;
    ((count_sink_t *)data)->obs++;
    return MMDX_OK;
}
static int cs_block(void *data, const mmdx_block_t *block)
{
    ((count_sink_t *)data)->obs += block->n * block->d;
    return MMDX_OK;
}
static int cs_reject(void *data, const char *patient, const char *file, long record, int code, const char *reason)
{
    (void)patient, (void)file, (void)record, (void)code, (void)reason;
    ((count_sink_t *)data)->rejects++;
    return MMDX_OK;
}

static const struct {
    const char *inner, *file;
} changing_inputs[] = {
    {"labs", "hl7/fhir-r4/Bundle-lipids.xml"},
    {"variants", "vcf/pharmcat/DPYD/c1156het.vcf"},
    {"imaging", "@data/demo/generated/train/retina.h5"},
    {"labs", "@data/demo/generated/train/labs.xml"},      /* 1.6 MB: changed mid-stream */
    {"variants", "@data/demo/generated/train/variants.vcf"},
};

/* mmdx_source_read() of a real input that is changed (in each way) on the first
 * observation: MMDX_EIO naming the file and what changed; unchanged: no error. */
START_TEST(test_source_read_changed_input)
{
    char dir[512], path[1100];
    g_inner = changing_inputs[_i].inner;
    if (!scratch_copy(changing_inputs[_i].file, dir, sizeof dir, path, sizeof path))
        return;
    for (int ch = CH_NONE; ch <= CH_REPLACE; ch++) {
        mmdx_ctx_t *ctx = changing_ctx();
        mmdx_source_t *src = NULL;
        mmdx_error_t e = {0};
        count_sink_t cs = {0, 0};
        mmdx_sink_t sink = {&cs, cs_obs, cs_block, cs_reject, NULL, {NULL}};
        struct stat before, after;
        int rc;
        ck_assert_int_eq(stat(path, &before), 0);
        g_change = (change_t)ch;
        ck_assert_msg(mmdx_source_open(ctx, "changing", path, NULL, &src, &e) == MMDX_OK, "%s", e.message);
        rc = mmdx_source_read(src, &sink, &e);
        mmdx_source_close(src);
        ck_assert_int_eq(stat(path, &after), 0);
        ck_assert_uint_gt(cs.obs, 0); /* the change happened in the middle of a real read */
        if (ch == CH_NONE) {
            ck_assert_msg(rc == MMDX_OK, "unchanged %s: %s", path, e.message);
            ck_assert_int_eq(e.code, MMDX_OK);
        } else {
            char want[128];
            ck_assert_int_eq(rc, MMDX_EIO);
            ck_assert_int_eq(e.code, MMDX_EIO);
            ck_assert_str_eq(e.file, path);
            ck_assert_msg(strstr(e.message, "changed while being read") != NULL, "%s", e.message);
            ck_assert_int_eq(mmdx_ctx_error(ctx)->code, MMDX_EIO);
            if (ch == CH_APPEND || ch == CH_TRUNCATE) {
                snprintf(want, sizeof want, "size before %lld bytes, after %lld", (long long)before.st_size,
                         (long long)after.st_size);
                ck_assert_msg(strstr(e.message, want) != NULL, "%s", e.message);
            } else if (ch == CH_MTIME) {
                ck_assert_msg(strstr(e.message, "modification time changed") != NULL, "%s", e.message);
            } else {
                ck_assert_msg(strstr(e.message, "replaced by another file") != NULL, "%s", e.message);
            }
        }
        mmdx_ctx_free(ctx);
        if (ch == CH_TRUNCATE) { /* back to the whole file for the next case */
            char d2[512];
            tu_rmdir(dir);
            ck_assert(scratch_copy(changing_inputs[_i].file, d2, sizeof d2, path, sizeof path));
            snprintf(dir, sizeof dir, "%s", d2);
        }
    }
    tu_rmdir(dir);
}
END_TEST

/* The same through mmdx_collect_file(): the changed input's observations are not in the
 * collector, its patients are rejected with the reason, an earlier input stands. */
START_TEST(test_collect_changed_input)
{
    char dir[512], path[1100];
    mmdx_ctx_t *ctx;
    mmdx_space_t *s;
    mmdx_collect_t *col;
    mmdx_error_t e = {0};
    size_t n_obs, n_pat, n_rej;
    g_inner = changing_inputs[_i].inner;
    if (!scratch_copy(changing_inputs[_i].file, dir, sizeof dir, path, sizeof path))
        return;
    ctx = changing_ctx();
    s = mmdx_space_alloc();
    col = mmdx_collect_alloc(ctx, s, MMDX_AGG_LATEST);
    /* unchanged: read in full, no reject says "changed" */
    g_change = CH_NONE;
    ck_assert_msg(mmdx_collect_file(col, "changing", path, NULL, &e) == MMDX_OK, "%s", e.message);
    n_obs = mmdx_collect_n_observations(col);
    n_pat = mmdx_collect_n_patients(col);
    n_rej = mmdx_collect_n_rejects(col);
    ck_assert_uint_gt(n_obs, 0);
    ck_assert_uint_gt(n_pat, 0);
    for (size_t k = 0; k < n_rej; k++) {
        const char *reason;
        ck_assert_int_eq(mmdx_collect_reject(col, k, NULL, NULL, NULL, NULL, &reason), MMDX_OK);
        ck_assert_ptr_null(strstr(reason, "changed while being read"));
    }
    /* a second input (the same file under another name) appended to while read */
    {
        char path2[1200];
        FILE *in = fopen(path, "rb"), *out;
        char buf[4096];
        size_t n;
        snprintf(path2, sizeof path2, "%s/second_%s", dir, strrchr(path, '/') + 1);
        out = fopen(path2, "wb");
        ck_assert(in && out);
        while ((n = fread(buf, 1, sizeof buf, in)) > 0)
            ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
        fclose(in);
        ck_assert_int_eq(fclose(out), 0);
        mmdx_error_clear(&e);
        g_change = CH_APPEND;
        ck_assert_int_eq(mmdx_collect_file(col, "changing", path2, NULL, &e), MMDX_EIO);
        ck_assert_str_eq(e.file, path2);
        ck_assert_msg(strstr(e.message, "changed while being read") != NULL, "%s", e.message);
        /* none of its observations were kept: the first input's stand alone */
        ck_assert_uint_eq(mmdx_collect_n_observations(col), n_obs);
        ck_assert_uint_eq(mmdx_collect_n_patients(col), n_pat);
        /* the patients it named: a reject with the file, MMDX_EIO and the reason (besides
         * the rejects of single records the adapter sent on the way) */
        size_t n_changed = 0;
        for (size_t k = n_rej; k < mmdx_collect_n_rejects(col); k++) {
            const char *patient, *file, *reason;
            int code;
            ck_assert_int_eq(mmdx_collect_reject(col, k, &patient, &file, NULL, &code, &reason), MMDX_OK);
            ck_assert_str_eq(file, path2);
            if (code != MMDX_EIO)
                continue;
            ck_assert_msg(strstr(reason, "changed while being read") != NULL, "%s", reason);
            ck_assert_msg(strstr(reason, "size before") != NULL, "%s", reason);
            ck_assert_str_ne(patient, "");
            n_changed++;
        }
        ck_assert_uint_gt(n_changed, 0);
    }
    mmdx_collect_free(col);
    mmdx_space_free(s);
    /* the changed input alone: no observation, every patient kept and rejected with the
     * reason, so none is lost silently */
    {
        mmdx_cohort_t *c = NULL;
        s = mmdx_space_alloc();
        col = mmdx_collect_alloc(ctx, s, MMDX_AGG_LATEST);
        g_change = CH_MTIME;
        mmdx_error_clear(&e);
        ck_assert_int_eq(mmdx_collect_file(col, "changing", path, NULL, &e), MMDX_EIO);
        ck_assert_str_eq(e.file, path);
        ck_assert_msg(strstr(e.message, "modification time changed") != NULL, "%s", e.message);
        ck_assert_uint_eq(mmdx_collect_n_observations(col), 0);
        ck_assert_uint_eq(mmdx_collect_n_patients(col), n_pat);
        ck_assert_int_eq(mmdx_collect_to_cohort(col, &c, NULL), MMDX_OK);
        for (size_t i = 0; i < mmdx_cohort_n_patients(c); i++) {
            int found = 0;
            for (size_t k = 0; k < mmdx_collect_n_rejects(col) && !found; k++) {
                const char *patient, *file, *reason;
                int code;
                ck_assert_int_eq(mmdx_collect_reject(col, k, &patient, &file, NULL, &code, &reason), MMDX_OK);
                found = strcmp(patient, mmdx_cohort_id(c, i)) == 0 && strcmp(file, path) == 0 &&
                        code == MMDX_EIO && strstr(reason, "changed while being read") != NULL;
            }
            ck_assert_msg(found, "patient %s has no reject for the changed input", mmdx_cohort_id(c, i));
        }
        mmdx_cohort_free(c);
        mmdx_collect_free(col);
        mmdx_space_free(s);
    }
    mmdx_ctx_free(ctx);
    tu_rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("collect_file");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, test_failed_file_discarded_patients_kept);
    tcase_add_test(tc, test_open_failure);
    tcase_add_test(tc, test_real_imaging_file);
    tcase_add_test(tc, test_failalloc);
    tcase_add_loop_test(tc, test_source_read_changed_input, 0, (int)(sizeof changing_inputs / sizeof changing_inputs[0]));
    tcase_add_loop_test(tc, test_collect_changed_input, 0, (int)(sizeof changing_inputs / sizeof changing_inputs[0]));
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
