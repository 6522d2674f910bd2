/* mmdx diagnose, the writing half: predictions -> decision layer -> writer, per patient. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diagnose_report.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int dr_prepare(mmdx_ctx_t *ctx, const dr_options_t *o, dr_state_t *st)
{
    mmdx_error_t err;
    char path[4096];
    mmdx_writer_options_t wo;
    memset(st, 0, sizeof(*st));
    mmdx_error_clear(&err);
    mmdx_writer_options_init(&wo);
    wo.lang = o->lang;
    wo.timestamp = o->timestamp;
    wo.advice_path = o->advice;
    if (mmdx_writer_check(o->format, o->output, &wo, &err) != MMDX_OK ||
        (o->rejects && mmdx_outfile_check(o->rejects, &err) != MMDX_OK)) {
        cli_print_error(NULL, &err);
        return err.code;
    }
    if (o->kb && mmdx_kb_load(ctx, o->kb, &st->kb, &err) != MMDX_OK) {
        cli_print_error("--kb", &err);
        return err.code;
    }
    /* display names are a nicety: without the dictionary, feature ids are shown */
    snprintf(path, sizeof(path), "%s/terms.tsv", mmdx_ctx_data_dir(ctx));
    if (mmdx_terms_load(path, &st->terms, &err) != MMDX_OK && !o->quiet)
        fprintf(stderr, "mmdx: diagnose: no term dictionary (%s); the report shows feature ids\n", err.message);
    return MMDX_OK;
}

void dr_free(dr_state_t *st)
{
    mmdx_kb_free(st->kb);
    mmdx_terms_free(st->terms);
    memset(st, 0, sizeof(*st));
}

/* ------------------------------------------------------------------ rejects */

/* What the format could not hold, for the rejects file. */
typedef struct unrep_list {
    char **patient, **what;
    size_t n, cap;
    int oom;
} unrep_list_t;

static void on_unrepresented(void *user, const char *patient, const char *what)
{
    unrep_list_t *u = user;
    if (u->n == u->cap) {
        size_t cap = u->cap ? 2 * u->cap : 64;
        char **p = realloc(u->patient, cap * sizeof(char *)), **w;
        if (p)
            u->patient = p;
        w = p ? realloc(u->what, cap * sizeof(char *)) : NULL;
        if (w == NULL) {
            u->oom = 1;
            return;
        }
        u->what = w;
        u->cap = cap;
    }
    u->patient[u->n] = strdup(patient);
    u->what[u->n] = strdup(what);
    u->n++;
}

static void unrep_free(unrep_list_t *u)
{
    for (size_t k = 0; k < u->n; k++) {
        free(u->patient[k]);
        free(u->what[k]);
    }
    free(u->patient);
    free(u->what);
}

static void put_field(FILE *f, const char *s)
{
    for (; s && *s; s++)
        fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
}

/* The rejects TSV (cli_write_rejects()'s format) plus one row per unrepresented item,
 * code UNREPRESENTED, file the output. */
static int write_rejects(const mmdx_collect_t *col, const unrep_list_t *u, const char *path, const char *output)
{
    mmdx_outfile_t *of = NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    if (mmdx_outfile_open(path, &of, &err) != MMDX_OK) {
        cli_print_error("--rejects", &err);
        return -1;
    }
    FILE *f = mmdx_outfile_stream(of);
    fputs("patient_id\tfile\trecord\tcode\treason\n", f);
    for (size_t k = 0; col && k < mmdx_collect_n_rejects(col); k++) {
        const char *patient = NULL, *file = NULL, *reason = NULL;
        long record = 0;
        int code = 0;
        if (mmdx_collect_reject(col, k, &patient, &file, &record, &code, &reason) != MMDX_OK)
            continue;
        put_field(f, patient);
        fputc('\t', f);
        put_field(f, file);
        fprintf(f, "\t%ld\t%s\t", record, cli_code_name(code));
        put_field(f, reason);
        fputc('\n', f);
    }
    for (size_t k = 0; k < u->n; k++) {
        put_field(f, u->patient[k]);
        fputc('\t', f);
        put_field(f, output);
        fputs("\t0\tUNREPRESENTED\t", f);
        put_field(f, u->what[k]);
        fputc('\n', f);
    }
    if (mmdx_outfile_commit(of, &err) != MMDX_OK) {
        cli_print_error("--rejects", &err);
        return -1;
    }
    return 0;
}

/* Rejected records by patient, for the per-patient notes. */
typedef struct note_index {
    size_t *order; /* reject indices with a patient id, sorted by it */
    size_t n;
    const mmdx_collect_t *col;
} note_index_t;

static const mmdx_collect_t *sort_col;
static const char *reject_patient(const mmdx_collect_t *col, size_t k)
{
    const char *patient = NULL, *file, *reason;
    long record;
    int code;
    if (mmdx_collect_reject(col, k, &patient, &file, &record, &code, &reason) != MMDX_OK)
        return NULL;
    return patient;
}
static int cmp_reject(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = strcmp(reject_patient(sort_col, x), reject_patient(sort_col, y));
    return c ? c : (x > y) - (x < y);
}

static void notes_build(note_index_t *ix, const mmdx_collect_t *col)
{
    memset(ix, 0, sizeof(*ix));
    ix->col = col;
    size_t n = col ? mmdx_collect_n_rejects(col) : 0;
    if (n == 0 || (ix->order = malloc(n * sizeof(size_t))) == NULL)
        return;
    for (size_t k = 0; k < n; k++) {
        const char *p = reject_patient(col, k);
        if (p && p[0])
            ix->order[ix->n++] = k;
    }
    sort_col = col;
    qsort(ix->order, ix->n, sizeof(size_t), cmp_reject);
}

/* Notes of one patient ("file:record: reason"), new strings in *notes; returns the count. */
static size_t notes_of(const note_index_t *ix, const char *patient, char ***notes)
{
    size_t lo = 0, hi = ix->n, n = 0;
    *notes = NULL;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(reject_patient(ix->col, ix->order[mid]), patient) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t k = lo; k < ix->n && strcmp(reject_patient(ix->col, ix->order[k]), patient) == 0; k++) {
        const char *p, *file = NULL, *reason = NULL;
        long record = 0;
        int code = 0;
        char **grown = realloc(*notes, (n + 1) * sizeof(char *)), buf[1024];
        if (grown == NULL)
            break;
        *notes = grown;
        if (mmdx_collect_reject(ix->col, ix->order[k], &p, &file, &record, &code, &reason) != MMDX_OK)
            continue;
        snprintf(buf, sizeof(buf), "%s:%ld: %s (%s)", file ? file : "", record, reason ? reason : "",
                 cli_code_name(code));
        if (((*notes)[n] = strdup(buf)) != NULL)
            n++;
    }
    return n;
}

/* ------------------------------------------------------------------ next best test */

typedef struct nbt {
    const mmdx_model_t *model;
    mmdx_cohort_t *row;   /* the patient's row alone, changed and restored per candidate */
    mmdx_pred_t **preds;  /* one per target */
    mmdx_posterior_t *post; /* scratch posteriors, same layout as the case's */
} nbt_t;

/* Posteriors of every target of the row (class 1 of a binary target, every class else). */
static int fill_posteriors(const mmdx_model_t *m, const mmdx_cohort_t *c, size_t row, mmdx_pred_t **preds,
                           mmdx_posterior_t *post, size_t *n_post)
{
    size_t T = mmdx_space_n_targets(mmdx_model_space(m)), n = 0;
    for (size_t t = 0; t < T; t++) {
        mmdx_error_t err;
        if (mmdx_model_predict(m, c, row, t, preds[t], &err) != MMDX_OK)
            return err.code;
        size_t K = mmdx_pred_n_classes(preds[t]);
        int binary = K == 2 && strcmp(mmdx_pred_class_name(preds[t], 1), "1") == 0;
        for (size_t k = binary ? 1 : 0; k < K; k++, n++) {
            post[n].target = mmdx_pred_target_name(preds[t]);
            post[n].cls = mmdx_pred_class_name(preds[t], k);
            post[n].p = mmdx_pred_prob(preds[t], k);
            mmdx_pred_interval(preds[t], k, &post[n].ci_low, &post[n].ci_high);
            /* the decision layer wants the mean inside its interval */
            if (post[n].ci_low > post[n].p)
                post[n].ci_low = post[n].p;
            if (post[n].ci_high < post[n].p)
                post[n].ci_high = post[n].p;
        }
    }
    *n_post = n;
    return MMDX_OK;
}

/*
 * Expected posterior entropy after observing a missing feature or modality: three-point
 * Gauss-Hermite quadrature over the model's predictive distribution of the feature
 * (mmdx_model_feature_predictive()). A modality moves all its missing features along one
 * common standardised direction, a rough stand-in for their joint distribution.
 */
static int nbt_entropy(void *user, const mmdx_case_t *patient, const char *candidate, double *after)
{
    static const double node[3] = {-1.7320508075688772, 0, 1.7320508075688772}, weight[3] = {1 / 6.0, 2 / 3.0, 1 / 6.0};
    nbt_t *s = user;
    const mmdx_space_t *ms = mmdx_model_space(s->model), *cs = mmdx_cohort_space(s->row);
    size_t D = mmdx_space_n_features(ms), n_colon = 0;
    size_t cols[256], nf = 0;
    double mean[256], sd[256];
    int is_log[256];
    for (const char *c = candidate; *c; c++)
        n_colon += *c == ':';
    for (size_t j = 0; j < D && nf < 256; j++) {
        const char *id = mmdx_space_feature_id(ms, j);
        int match = n_colon >= 2 ? strcmp(id, candidate) == 0
                                 : strcmp(mmdx_model_modality(s->model, mmdx_model_feature_modality(s->model, j)),
                                          candidate) == 0;
        long cj = match ? mmdx_space_find_feature(cs, id) : -1;
        double v;
        if (cj < 0 || mmdx_cohort_get(s->row, 0, (size_t)cj, &v) == 1)
            continue; /* not a column of the cohort, or already observed */
        if (mmdx_space_feature_kind(ms, j) != MMDX_KIND_CONTINUOUS)
            continue;
        mmdx_error_t err;
        if (mmdx_model_feature_predictive(s->model, s->row, 0, j, &mean[nf], &sd[nf], &is_log[nf], &err) != MMDX_OK)
            continue;
        cols[nf++] = (size_t)cj;
    }
    *after = mmdx_case_entropy(patient);
    if (nf == 0)
        return MMDX_OK;
    double e = 0;
    for (int q = 0; q < 3; q++) {
        size_t n_post;
        for (size_t r = 0; r < nf; r++) {
            double x = mean[r] + node[q] * sd[r];
            mmdx_cohort_set(s->row, 0, cols[r], is_log[r] ? exp(x) : x, 0);
        }
        int rc = fill_posteriors(s->model, s->row, 0, s->preds, s->post, &n_post);
        if (rc != MMDX_OK)
            goto restore;
        mmdx_case_t c = *patient;
        c.posteriors = s->post;
        c.n_posteriors = n_post;
        e += weight[q] * mmdx_case_entropy(&c);
        continue;
    restore:
        for (size_t r = 0; r < nf; r++)
            mmdx_cohort_set_missing(s->row, 0, cols[r]);
        return rc;
    }
    for (size_t r = 0; r < nf; r++)
        mmdx_cohort_set_missing(s->row, 0, cols[r]);
    *after = e;
    return MMDX_OK;
}

/* ------------------------------------------------------------------ progress */

static void progress(size_t done, size_t total, double t0)
{
    double el = now() - t0, rate = el > 0 ? (double)done / el : 0, eta = rate > 0 ? (double)(total - done) / rate : 0;
    int width = 30, fill = total ? (int)((double)width * (double)done / (double)total) : width;
    fprintf(stderr, "\rdiagnose [%.*s%*s] %zu/%zu patients, %.0f/s, ETA %d:%02d ", fill,
            "##############################", width - fill, "", done, total, rate, (int)eta / 60, (int)eta % 60);
    fflush(stderr);
}

/* ------------------------------------------------------------------ run */

/* One diagnose run: begin (writer open), chunks of patients, end (commit, rejects, summary). */
typedef struct run {
    const mmdx_model_t *model;
    const mmdx_collect_t *col;
    const dr_options_t *o;
    dr_state_t *st;
    size_t T, total, done, n_ood, n_cands;
    int show;
    double t0, last;
    mmdx_writer_t *w;
    mmdx_pred_t **preds;
    size_t n_preds;
    mmdx_posterior_t *post;
    const char **mods, **cands;
    unrep_list_t unrep;
    note_index_t ix;
    nbt_t nbt;
    size_t n_nbt_preds;
} run_t;

static void run_free(run_t *r)
{
    mmdx_writer_abort(r->w);
    r->w = NULL;
    for (size_t t = 0; t < r->n_preds; t++)
        mmdx_pred_free(r->preds[t]);
    free(r->preds);
    free(r->post);
    for (size_t t = 0; t < r->n_nbt_preds; t++)
        mmdx_pred_free(r->nbt.preds[t]);
    free(r->nbt.preds);
    free(r->nbt.post);
    free(r->mods);
    free(r->cands);
    free(r->ix.order);
    unrep_free(&r->unrep);
}

/* Allocate and open the writer. Returns MMDX_OK or a status (printed). */
static int run_begin(run_t *r, const mmdx_model_t *model, const mmdx_collect_t *col, size_t total,
                     const dr_options_t *o, dr_state_t *st)
{
    const mmdx_space_t *ms = mmdx_model_space(model);
    size_t M = mmdx_model_n_modalities(model), n_post_max = 0;
    mmdx_writer_options_t wo;
    mmdx_error_t err;
    memset(r, 0, sizeof(*r));
    r->model = r->nbt.model = model;
    r->col = col;
    r->o = o;
    r->st = st;
    r->T = mmdx_space_n_targets(ms);
    r->total = total;
    r->show = !o->quiet && isatty(fileno(stderr));
    r->t0 = now();
    notes_build(&r->ix, col);
    for (size_t t = 0; t < r->T; t++)
        n_post_max += mmdx_space_n_classes(ms, t);
    r->preds = calloc(r->T + 1, sizeof(*r->preds));
    r->nbt.preds = calloc(r->T + 1, sizeof(*r->nbt.preds));
    r->post = calloc(n_post_max + 1, sizeof(*r->post));
    r->nbt.post = calloc(n_post_max + 1, sizeof(*r->nbt.post));
    r->mods = calloc(M + 1, sizeof(char *));
    /* next-best-test candidates: the modalities (demographics are not a test) and lab features */
    r->cands = calloc(M + mmdx_space_n_features(ms) + 1, sizeof(char *));
    if (!r->preds || !r->nbt.preds || !r->post || !r->nbt.post || !r->mods || !r->cands)
        goto oom;
    for (; r->n_preds < r->T; r->n_preds++)
        if ((r->preds[r->n_preds] = mmdx_pred_alloc()) == NULL)
            goto oom;
    for (; r->n_nbt_preds < r->T; r->n_nbt_preds++)
        if ((r->nbt.preds[r->n_nbt_preds] = mmdx_pred_alloc()) == NULL)
            goto oom;
    for (size_t m = 0; m < M; m++) {
        r->mods[m] = mmdx_model_modality(model, m);
        if (strcmp(r->mods[m], "demo") != 0)
            r->cands[r->n_cands++] = r->mods[m];
    }
    for (size_t j = 0; j < mmdx_space_n_features(ms); j++)
        if (strncmp(mmdx_space_feature_id(ms, j), "lab:", 4) == 0)
            r->cands[r->n_cands++] = mmdx_space_feature_id(ms, j);

    mmdx_writer_options_init(&wo);
    wo.lang = o->lang;
    wo.terms = st->terms;
    wo.title = o->title;
    wo.timestamp = o->timestamp;
    wo.advice_path = o->advice;
    wo.modalities = r->mods;
    wo.n_modalities = M;
    wo.unrepresented = on_unrepresented;
    wo.unrepresented_user = &r->unrep;
    mmdx_error_clear(&err);
    if (mmdx_writer_open(o->format, o->output, &wo, &r->w, &err) != MMDX_OK) {
        cli_print_error(NULL, &err);
        return err.code;
    }
    return MMDX_OK;
oom:
    fprintf(stderr, "mmdx: diagnose: out of memory\n");
    return MMDX_ENOMEM;
}

/* Score and write every patient of one chunk. */
static int run_chunk(run_t *r, const mmdx_cohort_t *cohort)
{
    mmdx_error_t err;
    size_t n = mmdx_cohort_n_patients(cohort);
    for (size_t i = 0; i < n; i++) {
        const char *id = mmdx_cohort_id(cohort, i);
        size_t n_post = 0, n_notes;
        mmdx_advice_t *advice = NULL;
        char **notes = NULL;
        int rc;
        mmdx_error_clear(&err);
        if ((rc = fill_posteriors(r->model, cohort, i, r->preds, r->post, &n_post)) != MMDX_OK) {
            fprintf(stderr, "mmdx: diagnose: patient %s: prediction failed: %s\n", id, mmdx_strerror(rc));
            return rc;
        }
        r->n_ood += r->T > 0 && (mmdx_pred_flags(r->preds[0]) & MMDX_PRED_OOD) != 0;
        if (r->st->kb) {
            mmdx_cohort_row_t row = {cohort, i};
            mmdx_case_t c = {r->post, n_post, mmdx_cohort_row_fact, &row, mmdx_cohort_row_modality, &row};
            if ((rc = mmdx_decide(r->st->kb, &c, &advice, &err)) != MMDX_OK) {
                cli_print_error("decision", &err);
                return rc;
            }
            if ((r->nbt.row = mmdx_cohort_select(cohort, &i, 1)) == NULL) {
                mmdx_advice_free(advice);
                fprintf(stderr, "mmdx: diagnose: out of memory\n");
                return MMDX_ENOMEM;
            }
            mmdx_cohort_row_t one = {r->nbt.row, 0};
            c.fact_user = c.modality_user = &one;
            rc = mmdx_next_best_test(&c, r->cands, r->n_cands, nbt_entropy, &r->nbt, advice, &err);
            mmdx_cohort_free(r->nbt.row);
            r->nbt.row = NULL;
            if (rc != MMDX_OK) {
                mmdx_advice_free(advice);
                cli_print_error("next best test", &err);
                return rc;
            }
        }
        n_notes = notes_of(&r->ix, id, &notes);
        mmdx_writer_patient_t p = {id, (const mmdx_pred_t *const *)r->preds, r->T, advice, NULL, 0,
                                   (const char *const *)notes, n_notes};
        rc = mmdx_writer_write(r->w, &p, &err);
        for (size_t k = 0; k < n_notes; k++)
            free(notes[k]);
        free(notes);
        mmdx_advice_free(advice);
        if (rc != MMDX_OK) {
            cli_print_error(NULL, &err);
            return rc;
        }
        r->done++;
        if (r->show && (now() - r->last > 0.1 || r->done == r->total)) {
            progress(r->done, r->total, r->t0);
            r->last = now();
        }
    }
    return MMDX_OK;
}

/* Commit, write the rejects, print the summary. Returns the exit status. */
static int run_end(run_t *r)
{
    const dr_options_t *o = r->o;
    mmdx_error_t err;
    if (r->show)
        fputs("\n", stderr);
    mmdx_error_clear(&err);
    int rc = mmdx_writer_close(r->w, &err);
    r->w = NULL;
    if (rc != MMDX_OK) {
        cli_print_error(NULL, &err);
        return CLI_EXIT_FATAL;
    }
    if (r->unrep.oom) {
        fprintf(stderr, "mmdx: diagnose: out of memory\n");
        return CLI_EXIT_FATAL;
    }
    long n_rejects = r->col ? (long)mmdx_collect_n_rejects(r->col) : 0;
    if (o->rejects) {
        if (write_rejects(r->col, &r->unrep, o->rejects, o->output) != 0)
            return CLI_EXIT_FATAL;
    } else if (!o->quiet) {
        if (n_rejects > 0)
            cli_write_rejects(r->col, NULL); /* the hint and the first reject */
        if (r->unrep.n > 0)
            fprintf(stderr, "mmdx: diagnose: %zu item%s the %s format cannot hold (list them with --rejects FILE); "
                            "first: %s\n",
                    r->unrep.n, r->unrep.n == 1 ? "" : "s", mmdx_writer_format_name(o->format), r->unrep.what[0]);
    }
    if (!o->quiet)
        fprintf(stderr, "mmdx: diagnose: %zu patients scored x %zu targets (%s), %ld rejected records, "
                        "%zu out of distribution, %.2f s\n",
                r->done, r->T, mmdx_writer_format_name(o->format), n_rejects, r->n_ood, now() - r->t0);
    return n_rejects > 0 ? CLI_EXIT_REJECTS : CLI_EXIT_OK;
}

int dr_run(const mmdx_model_t *model, const mmdx_cohort_t *cohort, const mmdx_collect_t *col,
           const dr_options_t *o, dr_state_t *st)
{
    run_t r;
    int status = CLI_EXIT_FATAL;
    if (run_begin(&r, model, col, mmdx_cohort_n_patients(cohort), o, st) == MMDX_OK &&
        run_chunk(&r, cohort) == MMDX_OK)
        status = run_end(&r);
    else if (r.show)
        fputs("\n", stderr);
    run_free(&r);
    return status;
}

int dr_run_file(mmdx_ctx_t *ctx, const mmdx_model_t *model, const char *path, size_t chunk_rows,
                const dr_options_t *o, dr_state_t *st)
{
    mmdx_cohort_reader_t *reader = NULL;
    mmdx_cohort_t *chunk = NULL;
    mmdx_error_t err;
    run_t r;
    int status = CLI_EXIT_FATAL, rc;
    mmdx_error_clear(&err);
    if (mmdx_cohort_reader_open(ctx, path, &reader, &err) != MMDX_OK) {
        cli_print_error("--cohort", &err);
        return CLI_EXIT_FATAL;
    }
    if (run_begin(&r, model, NULL, mmdx_cohort_reader_n_patients(reader), o, st) != MMDX_OK)
        goto done;
    while ((rc = mmdx_cohort_reader_next(reader, chunk_rows, &chunk, &err)) == 1) {
        rc = run_chunk(&r, chunk);
        mmdx_cohort_free(chunk);
        chunk = NULL;
        if (rc != MMDX_OK)
            goto done;
    }
    if (rc < 0) {
        cli_print_error("--cohort", &err);
        goto done;
    }
    status = run_end(&r);
done:
    if (status == CLI_EXIT_FATAL && r.show)
        fputs("\n", stderr);
    run_free(&r);
    mmdx_cohort_reader_close(reader);
    return status;
}
