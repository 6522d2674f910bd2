/* The collector: the sink adapters write to. Patient ids become rows (first-seen order),
 * feature ids become columns (added to the space unless frozen), several results for one
 * cell are aggregated by the policy, and every rejected record is kept with its reason.
 *
 * Storage is one dense column per feature, each grown on its own as rows are written,
 * because the cohort built from it is dense too. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_internal.h"
#include "collect_internal.h"
#include "ctx_internal.h"
#include "hashmap.h"
#include "space_internal.h"

typedef struct column {
    double *val;     /* LATEST/MIN/MAX: the value; MEAN: the sum */
    int64_t *time;   /* LATEST only */
    uint32_t *count; /* 0: no value */
    uint8_t *flags;  /* MMDX_VAL_CENSOR_* */
    size_t cap;      /* rows allocated */
} column_t;

typedef struct reject {
    char *patient, *file, *reason;
    long record;
    int code;
} reject_t;

/* One input record kept for the basis: the provenance split into an interned prefix
 * ("file") and a record number ("line", 0 when the provenance has no ":number" end). */
typedef struct basis_rec {
    uint32_t src;  /* index into col->srcs */
    long line;
} basis_rec_t;

/* A patient's basis: the first MMDX_COLLECT_BASIS_MAX distinct records, and how many
 * records went into its features in all. stage_n/stage_total: the values when the row
 * was first named in the current stage, put back on rollback. */
typedef struct basis {
    basis_rec_t *rec;
    uint32_t n, total, stage_n, stage_total;
} basis_t;

/* Old state of a cell changed during a stage, to put back on rollback. */
typedef struct undo {
    size_t row, feat;
    double val;
    int64_t time;
    uint32_t count;
    uint8_t flags;
} undo_t;

struct mmdx_collect {
    mmdx_ctx_t *ctx;
    mmdx_space_t *space;
    mmdx_agg_t policy;
    int frozen;
    mmdx_sink_t sink;

    char **ids; /* [n_rows] owned */
    size_t n_rows, cap_rows;
    mmdx_hashmap_t pmap;
    basis_t *basis; /* [cap_rows] */

    char **srcs; /* interned provenance prefixes, owned */
    size_t n_srcs, cap_srcs;
    mmdx_hashmap_t smap;

    column_t *cols; /* [n_cols], index = feature index in the space */
    size_t n_cols, cap_cols;

    reject_t *rejects;
    size_t n_rejects, cap_rejects;

    size_t n_obs, n_ignored;
    mmdx_error_t sink_err;

    /* staging */
    int staging;
    size_t stage_rows, stage_feats, stage_obs;
    undo_t *undo;
    size_t n_undo, cap_undo;
    uint32_t stage_id;
    uint32_t *row_stamp; /* [cap_rows] stage in which the row was last named */
    size_t *named;       /* rows named in the current stage */
    size_t n_named, cap_named;
};

int mmdx_agg_parse(const char *s, mmdx_agg_t *out)
{
    static const char *const names[] = {"latest", "mean", "min", "max"};
    if (s == NULL || out == NULL)
        return MMDX_EINVAL;
    for (int k = 0; k < 4; k++)
        if (strcmp(s, names[k]) == 0) {
            *out = (mmdx_agg_t)k;
            return MMDX_OK;
        }
    return MMDX_EINVAL;
}

static int sink_obs(void *data, const mmdx_obs_t *obs);
static int sink_block(void *data, const mmdx_block_t *block);
static int sink_reject(void *data, const char *patient, const char *file, long record, int code,
                       const char *reason);
static int sink_patient(void *data, const char *patient);

mmdx_collect_t *mmdx_collect_alloc(mmdx_ctx_t *ctx, mmdx_space_t *space, mmdx_agg_t policy)
{
    mmdx_collect_t *col;
    if (space == NULL || (unsigned)policy > MMDX_AGG_MAX)
        return NULL;
    col = mmdx_calloc(1, sizeof *col);
    if (col == NULL)
        return NULL;
    col->ctx = ctx;
    col->space = space;
    col->policy = policy;
    mmdx_hashmap_init(&col->pmap);
    mmdx_hashmap_init(&col->smap);
    col->sink.data = col;
    col->sink.obs = sink_obs;
    col->sink.block = sink_block;
    col->sink.reject = sink_reject;
    col->sink.patient = sink_patient;
    return col;
}

static void column_clear(column_t *c)
{
    mmdx_free(c->val);
    mmdx_free(c->time);
    mmdx_free(c->count);
    mmdx_free(c->flags);
    memset(c, 0, sizeof *c);
}

void mmdx_collect_free(mmdx_collect_t *col)
{
    if (col == NULL)
        return;
    for (size_t i = 0; i < col->n_rows; i++) {
        mmdx_free(col->ids[i]);
        mmdx_free(col->basis[i].rec);
    }
    mmdx_free(col->ids);
    mmdx_free(col->basis);
    mmdx_hashmap_clear(&col->pmap);
    for (size_t k = 0; k < col->n_srcs; k++)
        mmdx_free(col->srcs[k]);
    mmdx_free(col->srcs);
    mmdx_hashmap_clear(&col->smap);
    for (size_t j = 0; j < col->n_cols; j++)
        column_clear(&col->cols[j]);
    mmdx_free(col->cols);
    for (size_t k = 0; k < col->n_rejects; k++) {
        mmdx_free(col->rejects[k].patient);
        mmdx_free(col->rejects[k].file);
        mmdx_free(col->rejects[k].reason);
    }
    mmdx_free(col->rejects);
    mmdx_free(col->undo);
    mmdx_free(col->row_stamp);
    mmdx_free(col->named);
    mmdx_free(col);
}

void mmdx_collect_set_frozen(mmdx_collect_t *col, int frozen)
{
    if (col)
        col->frozen = frozen != 0;
}

const mmdx_sink_t *mmdx_collect_sink(mmdx_collect_t *col)
{
    return col ? &col->sink : NULL;
}

size_t mmdx_collect_n_patients(const mmdx_collect_t *col)
{
    return col ? col->n_rows : 0;
}

size_t mmdx_collect_n_observations(const mmdx_collect_t *col)
{
    return col ? col->n_obs : 0;
}

size_t mmdx_collect_n_ignored(const mmdx_collect_t *col)
{
    return col ? col->n_ignored : 0;
}

const mmdx_error_t *mmdx_collect_sink_error(const mmdx_collect_t *col)
{
    return &col->sink_err;
}

mmdx_ctx_t *mmdx_collect_ctx(const mmdx_collect_t *col)
{
    return col->ctx;
}

static int nomem(mmdx_collect_t *col, const char *what)
{
    return mmdx_error_set(&col->sink_err, MMDX_ENOMEM, NULL, NULL, 0, "out of memory %s", what);
}

/* ------------------------------------------------------------------ rejects */

/* Split provenance "file:line" into file and record number when it has that shape. */
static void split_provenance(const char *prov, char *file, size_t cap, long *record)
{
    const char *colon;
    char *end;
    long n;
    *record = 0;
    snprintf(file, cap, "%s", prov ? prov : "");
    if (prov == NULL || (colon = strrchr(prov, ':')) == NULL || colon[1] == '\0')
        return;
    n = strtol(colon + 1, &end, 10);
    if (*end != '\0' || n <= 0)
        return;
    *record = n;
    if ((size_t)(colon - prov) < cap)
        file[colon - prov] = '\0';
}

static int add_reject(mmdx_collect_t *col, const char *patient, const char *file, long record, int code,
                      const char *reason)
{
    reject_t *r;
    if (mmdx_grow((void **)&col->rejects, &col->cap_rejects, col->n_rejects + 1, sizeof *col->rejects) !=
        MMDX_OK)
        return nomem(col, "recording a reject");
    r = &col->rejects[col->n_rejects];
    r->patient = mmdx_strdup(patient ? patient : "");
    r->file = mmdx_strdup(file ? file : "");
    r->reason = mmdx_strdup(reason ? reason : mmdx_strerror(code));
    r->record = record;
    r->code = code < 0 ? code : MMDX_EREJECT;
    if (r->patient == NULL || r->file == NULL || r->reason == NULL) {
        mmdx_free(r->patient);
        mmdx_free(r->file);
        mmdx_free(r->reason);
        return nomem(col, "recording a reject");
    }
    col->n_rejects++;
    return MMDX_OK;
}

/* Reject one observation: @p what, and the feature when given. */
static int reject_obs(mmdx_collect_t *col, const mmdx_obs_t *obs, int code, const char *what, const char *feature)
{
    char file[256], reason[512];
    long record;
    split_provenance(obs->provenance, file, sizeof file, &record);
    if (feature)
        snprintf(reason, sizeof reason, "%s (%.200s)", what, feature);
    else
        snprintf(reason, sizeof reason, "%s", what);
    return add_reject(col, mmdx_space_valid_name(obs->patient) ? obs->patient : "", file, record, code, reason);
}

size_t mmdx_collect_n_rejects(const mmdx_collect_t *col)
{
    return col ? col->n_rejects : 0;
}

int mmdx_collect_reject(const mmdx_collect_t *col, size_t k, const char **patient, const char **file,
                        long *record, int *code, const char **reason)
{
    const reject_t *r;
    if (col == NULL || k >= col->n_rejects)
        return MMDX_EINVAL;
    r = &col->rejects[k];
    if (patient)
        *patient = r->patient;
    if (file)
        *file = r->file;
    if (record)
        *record = r->record;
    if (code)
        *code = r->code;
    if (reason)
        *reason = r->reason;
    return MMDX_OK;
}

/* ------------------------------------------------------------------ rows and columns */

/* Row of @p patient, added when new. MMDX_OK, MMDX_EINVAL (bad id) or MMDX_ENOMEM. */
static int row_of(mmdx_collect_t *col, const char *patient, size_t *row)
{
    char *copy;
    size_t old_cap = col->cap_rows;
    if (!mmdx_space_valid_name(patient))
        return MMDX_EINVAL;
    if (!mmdx_hashmap_get(&col->pmap, patient, row)) {
        if (mmdx_grow((void **)&col->ids, &col->cap_rows, col->n_rows + 1, sizeof *col->ids) != MMDX_OK)
            return nomem(col, "adding a patient");
        if (col->cap_rows != old_cap) {
            uint32_t *st = mmdx_realloc(col->row_stamp, col->cap_rows * sizeof *st);
            if (st == NULL)
                return nomem(col, "adding a patient");
            memset(st + old_cap, 0, (col->cap_rows - old_cap) * sizeof *st);
            col->row_stamp = st;
            basis_t *bs = mmdx_realloc(col->basis, col->cap_rows * sizeof *bs);
            if (bs == NULL)
                return nomem(col, "adding a patient");
            memset(bs + old_cap, 0, (col->cap_rows - old_cap) * sizeof *bs);
            col->basis = bs;
        }
        copy = mmdx_strdup(patient);
        if (copy == NULL || mmdx_hashmap_put(&col->pmap, copy, col->n_rows) != MMDX_OK) {
            mmdx_free(copy);
            return nomem(col, "adding a patient");
        }
        col->ids[col->n_rows] = copy;
        col->row_stamp[col->n_rows] = 0;
        *row = col->n_rows++;
    }
    if (col->staging && col->row_stamp[*row] != col->stage_id) {
        if (mmdx_grow((void **)&col->named, &col->cap_named, col->n_named + 1, sizeof *col->named) != MMDX_OK)
            return nomem(col, "staging a patient");
        col->named[col->n_named++] = *row;
        col->row_stamp[*row] = col->stage_id;
        col->basis[*row].stage_n = col->basis[*row].n;
        col->basis[*row].stage_total = col->basis[*row].total;
    }
    return MMDX_OK;
}

static int ensure_cols(mmdx_collect_t *col, size_t n)
{
    if (n <= col->n_cols)
        return MMDX_OK;
    if (mmdx_grow((void **)&col->cols, &col->cap_cols, n, sizeof *col->cols) != MMDX_OK)
        return nomem(col, "adding a feature");
    memset(col->cols + col->n_cols, 0, (n - col->n_cols) * sizeof *col->cols);
    col->n_cols = n;
    return MMDX_OK;
}

/* Make column @p c hold row @p row. Columns grow on their own, by doubling, so a feature
 * seen only in early rows does not pay for every later patient. */
static int ensure_row(mmdx_collect_t *col, column_t *c, size_t row)
{
    size_t cap = c->cap ? c->cap : 64;
    void *p;
    if (row < c->cap)
        return MMDX_OK;
    while (cap <= row)
        cap *= 2;
    /* grow each array; a failure leaves the ones done larger, which is harmless */
    if ((p = mmdx_realloc(c->val, cap * sizeof *c->val)) == NULL)
        return nomem(col, "storing a value");
    c->val = p;
    if ((p = mmdx_realloc(c->count, cap * sizeof *c->count)) == NULL)
        return nomem(col, "storing a value");
    c->count = p;
    if ((p = mmdx_realloc(c->flags, cap * sizeof *c->flags)) == NULL)
        return nomem(col, "storing a value");
    c->flags = p;
    if (c->time) {
        if ((p = mmdx_realloc(c->time, cap * sizeof *c->time)) == NULL)
            return nomem(col, "storing a value");
        c->time = p;
    }
    memset(c->count + c->cap, 0, (cap - c->cap) * sizeof *c->count);
    c->cap = cap;
    return MMDX_OK;
}

/* Times are kept only by the latest policy, and only for columns that have seen a known
 * time (dense blocks never do): until then every time in the column is unknown. */
static int ensure_time(mmdx_collect_t *col, column_t *c)
{
    if (c->time != NULL)
        return MMDX_OK;
    c->time = mmdx_malloc(c->cap * sizeof *c->time);
    if (c->time == NULL)
        return nomem(col, "storing a time");
    for (size_t i = 0; i < c->cap; i++)
        c->time[i] = MMDX_TIME_UNKNOWN;
    return MMDX_OK;
}

/* Fold one value into cell (row, j). */
static int put_value(mmdx_collect_t *col, size_t row, size_t j, double v, uint8_t flags, int64_t time,
                     int categorical)
{
    column_t *c = &col->cols[j];
    int rc = ensure_row(col, c, row);
    uint32_t n;
    if (rc == MMDX_OK && col->policy == MMDX_AGG_LATEST && time != MMDX_TIME_UNKNOWN)
        rc = ensure_time(col, c);
    if (rc != MMDX_OK)
        return rc;
    n = c->count[row];
    if (n > 0 && col->staging && row < col->stage_rows && j < col->stage_feats) {
        undo_t *u;
        if (mmdx_grow((void **)&col->undo, &col->cap_undo, col->n_undo + 1, sizeof *col->undo) != MMDX_OK)
            return nomem(col, "staging a value");
        u = &col->undo[col->n_undo++];
        u->row = row;
        u->feat = j;
        u->val = c->val[row];
        u->time = c->time ? c->time[row] : MMDX_TIME_UNKNOWN;
        u->count = n;
        u->flags = c->flags[row];
    }
    if (n == 0) {
        c->val[row] = v;
        c->flags[row] = flags;
        if (c->time)
            c->time[row] = time;
    } else {
        mmdx_agg_t policy = categorical ? MMDX_AGG_LATEST : col->policy;
        switch (policy) {
        case MMDX_AGG_MEAN:
            c->val[row] += v;
            if (c->flags[row] != flags) /* a mean of bounds and values is no bound */
                c->flags[row] = 0;
            break;
        case MMDX_AGG_MIN:
            if (v < c->val[row]) {
                c->val[row] = v;
                c->flags[row] = flags;
            }
            break;
        case MMDX_AGG_MAX:
            if (v > c->val[row]) {
                c->val[row] = v;
                c->flags[row] = flags;
            }
            break;
        case MMDX_AGG_LATEST:
        default: {
            /* latest time wins; ties and unknown times: the last read */
            int64_t old = c->time ? c->time[row] : MMDX_TIME_UNKNOWN;
            if (time == MMDX_TIME_UNKNOWN || old == MMDX_TIME_UNKNOWN || time >= old) {
                c->val[row] = v;
                c->flags[row] = flags;
                if (c->time)
                    c->time[row] = time;
            }
            break;
        }
        }
    }
    if (n < UINT32_MAX)
        c->count[row] = n + 1;
    col->n_obs++;
    if (col->staging)
        col->stage_obs++;
    return MMDX_OK;
}

/* Column of feature @p id for an observation of @p kind, adding it unless frozen.
 * 1 with *j, 0 when ignored (frozen, unknown), or a negative status with the reason. */
static int column_of(mmdx_collect_t *col, const char *id, int kind, const char *unit, size_t *j,
                     const char **why)
{
    long found = mmdx_space_find_feature(col->space, id);
    int rc;
    *why = NULL;
    if (found < 0) {
        if (col->frozen)
            return 0;
        rc = mmdx_space_add_feature(col->space, id, (mmdx_kind_t)kind, unit, MMDX_TRANSFORM_NONE, j);
        if (rc == MMDX_ENOMEM)
            return nomem(col, "adding a feature");
        if (rc != MMDX_OK) {
            *why = "invalid feature id or kind";
            return rc;
        }
    } else {
        *j = (size_t)found;
        if ((int)mmdx_space_feature_kind(col->space, *j) != kind) {
            *why = "feature already exists with another kind";
            return MMDX_EDUP;
        }
        if (unit && unit[0] && mmdx_space_feature_unit(col->space, *j)[0] &&
            strcmp(unit, mmdx_space_feature_unit(col->space, *j)) != 0) {
            *why = "unit differs from the feature's canonical unit";
            return MMDX_EUNIT;
        }
    }
    rc = ensure_cols(col, mmdx_space_n_features(col->space));
    return rc == MMDX_OK ? 1 : rc;
}

/* ------------------------------------------------------------------ basis */

/* Index of the interned prefix @p s (@p len bytes), added when new. */
static int src_of(mmdx_collect_t *col, const char *s, size_t len, uint32_t *out)
{
    size_t k;
    char *copy;
    if (mmdx_hashmap_getn(&col->smap, s, len, &k)) {
        *out = (uint32_t)k;
        return MMDX_OK;
    }
    if (col->n_srcs >= UINT32_MAX ||
        mmdx_grow((void **)&col->srcs, &col->cap_srcs, col->n_srcs + 1, sizeof *col->srcs) != MMDX_OK)
        return nomem(col, "recording a provenance");
    if ((copy = mmdx_malloc(len + 1)) == NULL)
        return nomem(col, "recording a provenance");
    memcpy(copy, s, len);
    copy[len] = '\0';
    if (mmdx_hashmap_put(&col->smap, copy, col->n_srcs) != MMDX_OK) {
        mmdx_free(copy);
        return nomem(col, "recording a provenance");
    }
    col->srcs[col->n_srcs] = copy;
    *out = (uint32_t)col->n_srcs++;
    return MMDX_OK;
}

/* Count one input record of @p row and keep its provenance while the row has fewer than
 * MMDX_COLLECT_BASIS_MAX distinct ones. Derived values ("derived:...") are not input
 * records and are not kept; neither is a missing provenance. */
static int add_basis(mmdx_collect_t *col, size_t row, const char *prov)
{
    basis_t *b = &col->basis[row];
    size_t len, plen;
    long line = 0;
    uint32_t src = 0;
    const char *colon;
    int rc;
    if (prov == NULL || prov[0] == '\0' || strncmp(prov, "derived:", 8) == 0)
        return MMDX_OK;
    len = strlen(prov);
    plen = len;
    if ((colon = strrchr(prov, ':')) != NULL && colon[1] >= '1' && colon[1] <= '9' &&
        strspn(colon + 1, "0123456789") == strlen(colon + 1) && strlen(colon + 1) < 10) {
        line = strtol(colon + 1, NULL, 10);
        plen = (size_t)(colon - prov);
    }
    if (b->n >= MMDX_COLLECT_BASIS_MAX) { /* full: counted only */
        if (b->total < UINT32_MAX)
            b->total++;
        return MMDX_OK;
    }
    if ((rc = src_of(col, prov, plen, &src)) != MMDX_OK)
        return rc;
    for (uint32_t k = 0; k < b->n; k++)
        if (b->rec[k].src == src && b->rec[k].line == line)
            return MMDX_OK;
    b->total++;
    if (b->rec == NULL && (b->rec = mmdx_malloc(MMDX_COLLECT_BASIS_MAX * sizeof *b->rec)) == NULL)
        return nomem(col, "recording a provenance");
    b->rec[b->n].src = src;
    b->rec[b->n].line = line;
    b->n++;
    return MMDX_OK;
}

size_t mmdx_collect_n_basis(const mmdx_collect_t *col, const char *patient, size_t *n_total)
{
    size_t row;
    if (n_total)
        *n_total = 0;
    if (col == NULL || patient == NULL || !mmdx_hashmap_get(&col->pmap, patient, &row))
        return 0;
    if (n_total)
        *n_total = col->basis[row].total;
    return col->basis[row].n;
}

int mmdx_collect_basis(const mmdx_collect_t *col, const char *patient, size_t k, char *buf, size_t size)
{
    size_t row;
    int n;
    if (buf && size)
        buf[0] = '\0';
    if (col == NULL || patient == NULL || buf == NULL || size == 0 || !mmdx_hashmap_get(&col->pmap, patient, &row) ||
        k >= col->basis[row].n)
        return MMDX_EINVAL;
    const basis_rec_t *r = &col->basis[row].rec[k];
    if (r->line > 0)
        n = snprintf(buf, size, "%s:%ld", col->srcs[r->src], r->line);
    else
        n = snprintf(buf, size, "%s", col->srcs[r->src]);
    return n >= 0 && (size_t)n < size ? MMDX_OK : MMDX_ERANGE;
}

/* ------------------------------------------------------------------ sink callbacks */

static int sink_obs(void *data, const mmdx_obs_t *obs)
{
    mmdx_collect_t *col = data;
    size_t row, j;
    const char *why;
    double v;
    uint8_t flags = 0;
    int rc;
    if (obs == NULL)
        return MMDX_EINVAL;
    rc = row_of(col, obs->patient, &row);
    if (rc == MMDX_EINVAL)
        return reject_obs(col, obs, MMDX_EFORMAT, "invalid patient id (empty, too long or control characters)", NULL);
    if (rc != MMDX_OK)
        return rc;
    if (obs->kind < MMDX_OBS_CONTINUOUS || obs->kind > MMDX_OBS_CATEGORICAL)
        return reject_obs(col, obs, MMDX_EINVAL, "observation of unknown kind", obs->feature);
    rc = column_of(col, obs->feature, obs->kind, obs->unit, &j, &why);
    if (rc == 0) {
        col->n_ignored++;
        return MMDX_OK;
    }
    if (rc == MMDX_ENOMEM)
        return rc;
    if (rc < 0)
        return reject_obs(col, obs, rc, why, obs->feature);
    v = obs->value;
    if (obs->kind == MMDX_OBS_CATEGORICAL) {
        size_t level;
        long k;
        if (obs->level == NULL)
            return reject_obs(col, obs, MMDX_EINVAL, "categorical observation without a level", obs->feature);
        k = mmdx_space_find_level(col->space, j, obs->level);
        if (k < 0) {
            if (col->frozen) {
                col->n_ignored++;
                return MMDX_OK;
            }
            rc = mmdx_space_add_level(col->space, j, obs->level, &level);
            if (rc == MMDX_ENOMEM)
                return nomem(col, "adding a level");
            if (rc != MMDX_OK)
                return reject_obs(col, obs, MMDX_EINVAL, "invalid level", obs->feature);
            k = (long)level;
        }
        v = (double)k;
    } else if (isnan(v)) {
        return MMDX_OK; /* tested, no value: the patient is known, the value missing */
    } else if (isinf(v)) {
        return reject_obs(col, obs, MMDX_ERANGE, "infinite value", obs->feature);
    } else if (mmdx_space_feature_transform(col->space, j) == MMDX_TRANSFORM_LOGIT && !(v >= 0 && v <= 1)) {
        return reject_obs(col, obs, MMDX_ERANGE, "value outside [0, 1] for a proportion (transform logit)",
                          obs->feature);
    }
    if (obs->censor == MMDX_CENSOR_LEFT)
        flags = MMDX_VAL_CENSOR_LEFT;
    else if (obs->censor == MMDX_CENSOR_RIGHT)
        flags = MMDX_VAL_CENSOR_RIGHT;
    rc = put_value(col, row, j, v, flags, obs->time, obs->kind == MMDX_OBS_CATEGORICAL);
    return rc == MMDX_OK ? add_basis(col, row, obs->provenance) : rc;
}

static int sink_block(void *data, const mmdx_block_t *b)
{
    mmdx_collect_t *col = data;
    size_t *cols = NULL, *rows = NULL;
    uint8_t *use = NULL;
    int rc = MMDX_OK;
    if (b == NULL || (b->n && (b->patients == NULL || b->values == NULL)) || (b->d && b->features == NULL))
        return MMDX_EINVAL;
    if (b->n == 0)
        return MMDX_OK;
    cols = mmdx_malloc((b->d ? b->d : 1) * sizeof *cols);
    use = mmdx_malloc(b->d ? b->d : 1);
    rows = mmdx_malloc(b->n * sizeof *rows);
    if (cols == NULL || use == NULL || rows == NULL) {
        rc = nomem(col, "reading a block");
        goto done;
    }
    for (size_t j = 0; j < b->d; j++) {
        const char *why;
        const char *unit = b->units ? b->units[j] : NULL;
        int k = column_of(col, b->features[j], MMDX_OBS_CONTINUOUS, unit, &cols[j], &why);
        use[j] = k == 1;
        if (k == 0) {
            col->n_ignored += b->n;
        } else if (k == MMDX_ENOMEM) {
            rc = k;
            goto done;
        } else if (k < 0) {
            char reason[512];
            snprintf(reason, sizeof reason, "column %zu (%.200s): %s", j + 1, b->features[j] ? b->features[j] : "",
                     why);
            if ((rc = add_reject(col, "", b->provenance, 0, k, reason)) != MMDX_OK)
                goto done;
        }
    }
    for (size_t i = 0; i < b->n; i++) {
        rc = row_of(col, b->patients[i], &rows[i]);
        if (rc == MMDX_EINVAL) {
            char reason[64];
            snprintf(reason, sizeof reason, "row %zu: invalid patient id", i + 1);
            rows[i] = SIZE_MAX;
            if ((rc = add_reject(col, "", b->provenance, 0, MMDX_EFORMAT, reason)) != MMDX_OK)
                goto done;
        } else if (rc != MMDX_OK) {
            goto done;
        }
    }
    /* column by column: each column's storage is touched in order */
    for (size_t j = 0; j < b->d; j++) {
        if (!use[j])
            continue;
        int logit = mmdx_space_feature_transform(col->space, cols[j]) == MMDX_TRANSFORM_LOGIT;
        for (size_t i = 0; i < b->n; i++) {
            double v = b->values[i * b->d + j];
            if (rows[i] == SIZE_MAX || isnan(v))
                continue;
            if (isinf(v)) {
                char reason[300];
                snprintf(reason, sizeof reason, "infinite value for %.200s", b->features[j]);
                rc = add_reject(col, b->patients[i], b->provenance, (long)i + 1, MMDX_ERANGE, reason);
            } else if (logit && !(v >= 0 && v <= 1)) {
                char reason[300];
                snprintf(reason, sizeof reason, "value outside [0, 1] for a proportion (transform logit) for %.200s",
                         b->features[j]);
                rc = add_reject(col, b->patients[i], b->provenance, (long)i + 1, MMDX_ERANGE, reason);
            } else {
                rc = put_value(col, rows[i], cols[j], v, 0, MMDX_TIME_UNKNOWN, 0);
                if (rc == MMDX_OK)
                    rc = add_basis(col, rows[i], b->provenance);
            }
            if (rc != MMDX_OK)
                goto done;
        }
    }
done:
    mmdx_free(cols);
    mmdx_free(use);
    mmdx_free(rows);
    return rc;
}

static int sink_reject(void *data, const char *patient, const char *file, long record, int code,
                       const char *reason)
{
    mmdx_collect_t *col = data;
    size_t row;
    int valid = mmdx_space_valid_name(patient);
    if (valid) {
        /* a patient whose records are all rejected is still a row */
        int rc = row_of(col, patient, &row);
        if (rc != MMDX_OK)
            return rc;
    }
    return add_reject(col, valid ? patient : "", file, record, code, reason);
}

static int sink_patient(void *data, const char *patient)
{
    mmdx_collect_t *col = data;
    size_t row;
    int rc = row_of(col, patient, &row);
    if (rc == MMDX_EINVAL)
        return add_reject(col, "", NULL, 0, MMDX_EFORMAT, "invalid patient id (empty, too long or control characters)");
    return rc;
}

/* ------------------------------------------------------------------ staging */

void mmdx_collect_stage_begin(mmdx_collect_t *col)
{
    col->staging = 1;
    mmdx_error_clear(&col->sink_err); /* a new input: an earlier input's failure is not this one's */
    col->stage_rows = col->n_rows;
    col->stage_feats = mmdx_space_n_features(col->space);
    col->stage_obs = 0;
    col->n_undo = 0;
    col->n_named = 0;
    col->stage_id++;
    if (col->stage_id == 0) { /* wrapped: forget old stamps */
        memset(col->row_stamp, 0, col->cap_rows * sizeof *col->row_stamp);
        col->stage_id = 1;
    }
}

void mmdx_collect_stage_commit(mmdx_collect_t *col)
{
    col->staging = 0;
    col->n_undo = 0;
    col->n_named = 0;
}

int mmdx_collect_stage_rollback(mmdx_collect_t *col, const char *file, int code, const char *reason)
{
    size_t nf = col->stage_feats < col->n_cols ? col->stage_feats : col->n_cols;
    char msg[600];
    int rc = MMDX_OK;
    col->staging = 0;
    /* the basis of every row named in the stage: as it was before */
    for (size_t k = 0; k < col->n_named; k++) {
        basis_t *b = &col->basis[col->named[k]];
        b->n = b->stage_n;
        b->total = b->stage_total;
    }
    /* rows new in this stage: only the stage wrote to them */
    for (size_t j = 0; j < nf; j++) {
        column_t *c = &col->cols[j];
        for (size_t i = col->stage_rows; i < col->n_rows && i < c->cap; i++)
            c->count[i] = 0;
    }
    /* older cells: put back what they held, newest change first */
    while (col->n_undo > 0) {
        const undo_t *u = &col->undo[--col->n_undo];
        column_t *c = &col->cols[u->feat];
        c->val[u->row] = u->val;
        c->count[u->row] = u->count;
        c->flags[u->row] = u->flags;
        if (c->time)
            c->time[u->row] = u->time;
    }
    /* features introduced only by the discarded observations */
    for (size_t j = col->stage_feats; j < col->n_cols; j++)
        column_clear(&col->cols[j]);
    if (col->n_cols > col->stage_feats)
        col->n_cols = col->stage_feats;
    mmdx_space_truncate_features(col->space, col->stage_feats);
    col->n_obs -= col->stage_obs;
    col->stage_obs = 0;
    snprintf(msg, sizeof msg, "input failed (%s), its observations were discarded: %s", mmdx_strerror(code),
             reason && reason[0] ? reason : mmdx_strerror(code));
    for (size_t k = 0; k < col->n_named && rc == MMDX_OK; k++)
        rc = add_reject(col, col->ids[col->named[k]], file, 0, code, msg);
    col->n_named = 0;
    return rc;
}

/* ------------------------------------------------------------------ results */

unsigned mmdx_collect_count(const mmdx_collect_t *col, size_t i, size_t j)
{
    if (col == NULL || j >= col->n_cols || i >= col->cols[j].cap || i >= col->n_rows)
        return 0;
    return col->cols[j].count[i];
}

int mmdx_collect_to_cohort(mmdx_collect_t *col, mmdx_cohort_t **out, mmdx_error_t *err)
{
    mmdx_cohort_t *c;
    size_t nf;
    if (out)
        *out = NULL;
    if (col == NULL || out == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, NULL, NULL, 0, "mmdx_collect_to_cohort: NULL argument");
    c = mmdx_cohort_alloc(col->space, col->n_rows);
    if (c == NULL)
        return mmdx_error_set(err, MMDX_ENOMEM, NULL, NULL, 0, "out of memory building a cohort of %zu patients",
                              col->n_rows);
    nf = col->n_cols < mmdx_cohort_n_features(c) ? col->n_cols : mmdx_cohort_n_features(c);
    for (size_t j = 0; j < nf; j++) {
        const column_t *k = &col->cols[j];
        size_t rows = k->cap < col->n_rows ? k->cap : col->n_rows;
        for (size_t i = 0; i < rows; i++) {
            double v;
            if (k->count[i] == 0)
                continue;
            v = k->val[i];
            if (col->policy == MMDX_AGG_MEAN && mmdx_space_feature_kind(col->space, j) != MMDX_KIND_CATEGORICAL)
                v /= k->count[i];
            mmdx_cohort_set(c, i, j, v, k->flags[i]);
        }
    }
    for (size_t i = 0; i < col->n_rows; i++)
        if (mmdx_cohort_set_id(c, i, col->ids[i]) != MMDX_OK) {
            mmdx_cohort_free(c);
            return mmdx_error_set(err, MMDX_ENOMEM, NULL, NULL, 0, "out of memory building a cohort");
        }
    *out = c;
    return MMDX_OK;
}
