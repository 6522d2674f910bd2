/* mmdx diagnose, the writing half: predictions -> decision layer -> writer, per patient. */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
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
    if (o->per_patient) /* the pages go beside the index: checking it checks the directory */
        snprintf(path, sizeof(path), "%s/index.html", o->per_patient);
    if (mmdx_writer_check(o->format, o->per_patient ? path : o->output, &wo, &err) != MMDX_OK ||
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

void dr_print_notice(void)
{
    fputs("mmdx: decision support for research and clinicians, not a diagnosis: every probability has a 95% "
          "credible interval; review by a qualified clinician\n",
          stderr);
}

size_t dr_uncovered_text(const mmdx_advisor_t *adv, const mmdx_kb_t *kb, char *buf, size_t size)
{
    size_t n = 0, len;
    const char *const *t = mmdx_advisor_uncovered(adv, &n);
    buf[0] = '\0';
    if (n == 0)
        return 0;
    snprintf(buf, size, "KB %s %s has no rule for target(s) ", mmdx_kb_name(kb), mmdx_kb_version(kb));
    for (size_t k = 0; k < n && (len = strlen(buf)) < size; k++)
        snprintf(buf + len, size - len, "%s%s", k ? ", " : "", t[k]);
    if ((len = strlen(buf)) < size)
        snprintf(buf + len, size - len, ": their posteriors do not enter triage or suggestions");
    return n;
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
    cli_put_rejects(f, col);
    for (size_t k = 0; k < u->n; k++)
        cli_put_reject_row(f, u->patient[k], output, 0, "UNREPRESENTED", u->what[k]);
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

/* Predict every target of row @p row. */
static int predict_all(const mmdx_model_t *m, const mmdx_cohort_t *c, size_t row, mmdx_pred_t **preds, size_t T,
                       mmdx_error_t *err)
{
    for (size_t t = 0; t < T; t++) {
        int rc = mmdx_model_predict(m, c, row, t, preds[t], err);
        if (rc != MMDX_OK)
            return rc;
    }
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

/* Rows whose predictions (and advice) are computed at once, by the worker threads, before
 * they are written in row order. */
#define DR_WINDOW 512

/* The result of one row of the window. */
typedef struct slot {
    mmdx_pred_t **preds;   /* T, filled by mmdx_model_predict() */
    mmdx_advice_t *advice; /* with --kb, or NULL */
    int done;              /* computed (a worker stops at its first error) */
    int rc;                /* MMDX_OK or the row's first error */
    int stage;             /* where it failed: 0 prediction, 1 decision layer */
    mmdx_error_t err;
} slot_t;

struct run;

/* One worker: rows begin + q, begin + q + step, ... below end of the cohort. Each has its
 * own advisor (which keeps the row it advises) and posterior buffer; the model, the KB and
 * the cohort are shared read-only. */
typedef struct worker {
    const struct run *r;
    const mmdx_cohort_t *cohort;
    size_t begin, end, q, step;
    mmdx_advisor_t *adv;
    mmdx_posterior_t *post;
} worker_t;

/* One diagnose run: begin (writer open), chunks of patients, end (commit, rejects, summary). */
typedef struct run {
    const mmdx_model_t *model;
    const mmdx_collect_t *col;
    const dr_options_t *o;
    dr_state_t *st;
    size_t T, total, done, n_ood;
    int show;
    double t0, last;
    mmdx_writer_t *w;
    slot_t *slots; /* DR_WINDOW */
    size_t n_slots;
    worker_t *workers; /* nthreads; worker 0 uses adv and post below */
    size_t nthreads;
    const char **mods;
    mmdx_advisor_t *adv; /* with --kb: the model-backed next best test (advise.h) */
    mmdx_posterior_t *post;
    size_t n_post_cap;
    unrep_list_t unrep;
    note_index_t ix;
    char uncovered[1024]; /* the KB-coverage note, or "" */
    mmdx_writer_options_t wo; /* --per-patient: options of each page's writer */
    mmdx_outfile_t *index;    /* --per-patient: DIR/index.html, written as the pages are */
} run_t;

static void run_free(run_t *r)
{
    mmdx_writer_abort(r->w);
    r->w = NULL;
    mmdx_outfile_abort(r->index);
    r->index = NULL;
    for (size_t s = 0; r->slots && s < r->n_slots; s++) {
        for (size_t t = 0; r->slots[s].preds && t < r->T; t++)
            mmdx_pred_free(r->slots[s].preds[t]);
        free(r->slots[s].preds);
        mmdx_advice_free(r->slots[s].advice);
    }
    free(r->slots);
    for (size_t q = 1; r->workers && q < r->nthreads; q++) {
        mmdx_advisor_free(r->workers[q].adv);
        free(r->workers[q].post);
    }
    free(r->workers);
    free(r->post);
    mmdx_advisor_free(r->adv);
    free(r->mods);
    free(r->ix.order);
    unrep_free(&r->unrep);
}

/* ------------------------------------------------------------------ --per-patient */

/* HTML text with <>&" escaped. */
static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* The page's file name for patient @p id: the id itself when it is made of letters,
 * digits, '-', '_' and '.' (not first), at most 100 bytes and not "index"; otherwise those
 * characters kept, the others as '_', cut at 100, and "-" and 8 hex digits of a hash of
 * the whole id appended, so that two ids never share a page. */
static void page_name(const char *id, char *out, size_t size)
{
    size_t n = 0, len = strlen(id);
    int changed = len > 100 || len == 0 || strcmp(id, "index") == 0;
    uint32_t h = 2166136261u;
    for (size_t k = 0; k < len; k++) {
        unsigned char c = (unsigned char)id[k];
        int safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                   c == '_' || (c == '.' && k > 0);
        h = (h ^ c) * 16777619u;
        changed |= !safe;
        if (n < 100)
            out[n++] = safe ? (char)c : '_';
    }
    out[n] = '\0';
    if (changed)
        snprintf(out + n, size - n, "-%08x", (unsigned)h);
    snprintf(out + strlen(out), size - strlen(out), ".html");
}

static const char *index_text(const run_t *r, int k)
{
    static const char *const en[] = {"Patients", "Patient", "Most probable class per target (probability)",
                                     "Decision support for research and for clinicians, not a diagnosis: the "
                                     "probabilities are model estimates with 95% credible intervals and must be "
                                     "weighed with the whole clinical picture."};
    static const char *const ko[] = {"환자 목록", "환자", "표적별 가장 가능성 높은 분류 (확률)",
                                     "연구와 임상의를 위한 의사결정 지원 자료이며 진단이 아닙니다. 확률은 95% "
                                     "신용구간을 가진 모델 추정치이므로 전체 임상 상황과 함께 판단해야 합니다."};
    return strcmp(r->o->lang, "ko") == 0 ? ko[k] : en[k];
}

static void index_begin(run_t *r)
{
    FILE *f = mmdx_outfile_stream(r->index);
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>",
            strcmp(r->o->lang, "ko") == 0 ? "ko" : "en");
    html_text(f, r->o->title ? r->o->title : index_text(r, 0));
    fputs("</title>\n<style>body{font-family:sans-serif;margin:2em}"
          ".disclaimer{background:#fff4ce;border-left:5px solid #c99a00;padding:.6em 1em;font-weight:600}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}</style>\n"
          "</head>\n<body>\n<h1>",
          f);
    html_text(f, r->o->title ? r->o->title : index_text(r, 0));
    fputs("</h1>\n<p class=\"disclaimer\" role=\"note\" id=\"disclaimer\">", f);
    html_text(f, index_text(r, 3));
    if (r->o->timestamp) {
        fputs("</p>\n<p class=\"time\">", f);
        html_text(f, r->o->timestamp);
    }
    fputs("</p>\n<table class=\"patients\">\n<thead><tr><th>", f);
    html_text(f, index_text(r, 1));
    fputs("</th><th>", f);
    html_text(f, index_text(r, 2));
    fputs("</th></tr></thead>\n<tbody>\n", f);
}

/* One patient's page (atomic, through its own writer) and its row in the index. */
static int write_page(run_t *r, const mmdx_writer_patient_t *p, mmdx_error_t *err)
{
    char name[160], path[4096];
    mmdx_writer_t *w = NULL;
    int rc;
    page_name(p->patient_id, name, sizeof name);
    if ((size_t)snprintf(path, sizeof path, "%s/%s", r->o->per_patient, name) >= sizeof path)
        return mmdx_error_set(err, MMDX_EINVAL, r->o->per_patient, p->patient_id, 0, "--per-patient path too long");
    if ((rc = mmdx_writer_open(MMDX_WRITER_HTML, path, &r->wo, &w, err)) != MMDX_OK)
        return rc;
    if ((rc = mmdx_writer_write(w, p, err)) != MMDX_OK) {
        mmdx_writer_abort(w);
        return rc;
    }
    if ((rc = mmdx_writer_close(w, err)) != MMDX_OK)
        return rc;
    FILE *f = mmdx_outfile_stream(r->index);
    fputs("<tr><td><a href=\"", f);
    html_text(f, name);
    fputs("\">", f);
    html_text(f, p->patient_id);
    fputs("</a></td><td>", f);
    for (size_t t = 0; t < p->n_preds; t++) {
        const mmdx_pred_t *pr = p->preds[t];
        size_t k = mmdx_pred_best_class(pr);
        if (t)
            fputs("; ", f);
        html_text(f, mmdx_pred_target_name(pr));
        fputs(": ", f);
        html_text(f, mmdx_pred_class_name(pr, k));
        fprintf(f, " (%.3f)", mmdx_pred_prob(pr, k));
    }
    fputs("</td></tr>\n", f);
    return MMDX_OK;
}

/* OpenBLAS runs the per-row dgemv of a wide modality (D x D above its threshold, e.g. the
 * demo's imaging) on its own threads; under our workers those only spin against each
 * other (measured: 40-140% more CPU time at --threads 2, the same bytes). So with more
 * than one worker the BLAS is set to one thread. A weak reference: with another CBLAS
 * the symbol is absent (NULL) and nothing is done (set OPENBLAS_NUM_THREADS=1 or the
 * like then). */
#if defined(__GNUC__) && defined(__ELF__)
extern void openblas_set_num_threads(int n) __attribute__((weak));
static void blas_one_thread(void)
{
    if (openblas_set_num_threads)
        openblas_set_num_threads(1);
}
#else
static void blas_one_thread(void)
{
}
#endif

/* Allocate and open the writer. Returns MMDX_OK or a status (printed). */
static int run_begin(run_t *r, const mmdx_model_t *model, const mmdx_collect_t *col, size_t total,
                     const dr_options_t *o, dr_state_t *st)
{
    size_t M = mmdx_model_n_modalities(model);
    mmdx_writer_options_t wo;
    mmdx_error_t err;
    memset(r, 0, sizeof(*r));
    r->model = model;
    r->col = col;
    r->o = o;
    r->st = st;
    r->T = mmdx_space_n_targets(mmdx_model_space(model));
    r->total = total;
    r->show = !o->quiet && isatty(fileno(stderr));
    r->t0 = now();
    notes_build(&r->ix, col);
    for (size_t t = 0; t < r->T; t++)
        r->n_post_cap += mmdx_space_n_classes(mmdx_model_space(model), t);
    r->nthreads = o->threads > 1 ? (size_t)o->threads : 1;
    r->nthreads = r->nthreads < DR_WINDOW ? r->nthreads : DR_WINDOW; /* more would have no row */
    if (r->nthreads > 1)
        blas_one_thread();
    r->post = calloc(r->n_post_cap + 1, sizeof(*r->post));
    r->mods = calloc(M + 1, sizeof(char *));
    r->slots = calloc(DR_WINDOW, sizeof(*r->slots));
    r->workers = calloc(r->nthreads, sizeof(*r->workers));
    if (!r->post || !r->mods || !r->slots || !r->workers)
        goto oom;
    r->n_slots = DR_WINDOW;
    for (size_t s = 0; s < r->n_slots; s++) {
        if ((r->slots[s].preds = calloc(r->T + 1, sizeof(mmdx_pred_t *))) == NULL)
            goto oom;
        for (size_t t = 0; t < r->T; t++)
            if ((r->slots[s].preds[t] = mmdx_pred_alloc()) == NULL)
                goto oom;
    }
    for (size_t m = 0; m < M; m++)
        r->mods[m] = mmdx_model_modality(model, m);
    mmdx_error_clear(&err);
    if (st->kb && mmdx_advisor_alloc(st->kb, model, &r->adv, &err) != MMDX_OK) {
        cli_print_error("--kb", &err);
        return err.code;
    }
    if (r->adv && dr_uncovered_text(r->adv, st->kb, r->uncovered, sizeof r->uncovered) > 0 && !o->quiet)
        fprintf(stderr, "mmdx: warning: %s\n", r->uncovered);
    r->workers[0].adv = r->adv;
    r->workers[0].post = r->post;
    for (size_t q = 1; q < r->nthreads; q++) {
        r->workers[q].post = calloc(r->n_post_cap + 1, sizeof(*r->post));
        if (r->workers[q].post == NULL)
            goto oom;
        if (st->kb && mmdx_advisor_alloc(st->kb, model, &r->workers[q].adv, &err) != MMDX_OK) {
            cli_print_error("--kb", &err);
            return err.code;
        }
    }

    mmdx_writer_options_init(&wo);
    wo.lang = o->lang;
    wo.terms = st->terms;
    wo.title = o->title;
    wo.timestamp = o->timestamp;
    wo.advice_path = o->advice;
    wo.advice_columns = o->format == MMDX_WRITER_TSV && st->kb != NULL; /* the advice's summary on every row */
    wo.modalities = r->mods;
    wo.n_modalities = M;
    wo.unrepresented = on_unrepresented;
    wo.unrepresented_user = &r->unrep;
    mmdx_error_clear(&err);
    if (o->per_patient) { /* the pages are opened one by one; the index now */
        char path[4096];
        r->wo = wo;
        snprintf(path, sizeof path, "%s/index.html", o->per_patient);
        if (mmdx_outfile_open(path, &r->index, &err) != MMDX_OK) {
            cli_print_error("--per-patient", &err);
            return err.code;
        }
        index_begin(r);
        return MMDX_OK;
    }
    if (mmdx_writer_open(o->format, o->output, &wo, &r->w, &err) != MMDX_OK) {
        cli_print_error(NULL, &err);
        return err.code;
    }
    return MMDX_OK;
oom:
    fprintf(stderr, "mmdx: diagnose: out of memory\n");
    return MMDX_ENOMEM;
}

/* The decision layer on the predictions just made (as mmdx_advisor_run() does, without
 * predicting again): suggestions, triage, and the next best test by the model's
 * expected entropy. */
static int decide(const run_t *r, worker_t *w, mmdx_pred_t *const *preds, const mmdx_cohort_t *cohort, size_t i,
                  mmdx_advice_t **advice, mmdx_error_t *err)
{
    size_t n_post = 0, n_cands = 0;
    int rc = mmdx_posteriors_from_preds((const mmdx_pred_t *const *)preds, r->T, w->post, r->n_post_cap, &n_post);
    if (rc != MMDX_OK)
        return mmdx_error_set(err, rc, NULL, mmdx_cohort_id(cohort, i), 0, "cannot collect the posteriors");
    mmdx_cohort_row_t row = {cohort, i};
    mmdx_case_t c = {w->post, n_post, mmdx_cohort_row_fact, &row, mmdx_cohort_row_modality, &row};
    if ((rc = mmdx_decide(r->st->kb, &c, advice, err)) != MMDX_OK)
        return rc;
    (void)mmdx_advisor_mark_uncovered(w->adv, &c, *advice);
    const char *const *cands = mmdx_advisor_candidates(w->adv, &n_cands);
    if ((rc = mmdx_advisor_set_row(w->adv, cohort, i)) == MMDX_OK)
        rc = mmdx_next_best_test(&c, cands, n_cands, mmdx_advisor_expected_entropy, w->adv, *advice, err);
    if (rc != MMDX_OK) {
        mmdx_advice_free(*advice);
        *advice = NULL;
    }
    return rc;
}

/* The patient's input records (the collector's basis, FHIR only: the other formats
 * have no place for them or do not need them) into @p buf, pointers in @p basis.
 * Returns their number. A note says when the list is cut at MMDX_COLLECT_BASIS_MAX. */
static size_t basis_of(const run_t *r, const char *id, char (*buf)[512], const char **basis, size_t *n_total)
{
    size_t n = 0, kept;
    *n_total = 0;
    if (r->col == NULL || r->o->format != MMDX_WRITER_FHIR)
        return 0;
    kept = mmdx_collect_n_basis(r->col, id, n_total);
    for (size_t k = 0; k < kept && k < MMDX_COLLECT_BASIS_MAX; k++)
        if (mmdx_collect_basis(r->col, id, k, buf[n], sizeof buf[n]) == MMDX_OK) {
            basis[n] = buf[n];
            n++;
        }
    return n;
}

/* Predict (and advise) row @p i into its slot. */
static void compute_row(worker_t *w, size_t i)
{
    const run_t *r = w->r;
    slot_t *s = &r->slots[i - w->begin];
    mmdx_error_clear(&s->err);
    s->stage = 0;
    s->rc = predict_all(r->model, w->cohort, i, s->preds, r->T, &s->err);
    if (s->rc == MMDX_OK && w->adv) {
        s->stage = 1;
        s->rc = decide(r, w, s->preds, w->cohort, i, &s->advice, &s->err);
    }
    s->done = 1;
}

static void *work(void *arg)
{
    worker_t *w = arg;
    for (size_t i = w->begin + w->q; i < w->end; i += w->step) {
        compute_row(w, i);
        if (w->r->slots[i - w->begin].rc != MMDX_OK)
            break; /* this worker's later rows come after this error: never written */
    }
    return NULL;
}

/* Rows begin .. end - 1 into their slots, by up to nthreads workers (worker 0 in this
 * thread; a worker whose thread cannot be started runs here too: same results). */
static void compute_window(run_t *r, const mmdx_cohort_t *cohort, size_t begin, size_t end)
{
    size_t nt = end - begin < r->nthreads ? end - begin : r->nthreads;
    pthread_t tid[DR_WINDOW];
    int started[DR_WINDOW];
    for (size_t k = 0; k < end - begin; k++) {
        r->slots[k].done = 0;
        r->slots[k].rc = MMDX_OK;
    }
    for (size_t q = 0; q < nt; q++) {
        worker_t *w = &r->workers[q];
        w->r = r;
        w->cohort = cohort;
        w->begin = begin;
        w->end = end;
        w->q = q;
        w->step = nt;
    }
    for (size_t q = 1; q < nt; q++)
        started[q] = pthread_create(&tid[q], NULL, work, &r->workers[q]) == 0;
    work(&r->workers[0]);
    for (size_t q = 1; q < nt; q++) {
        if (started[q])
            pthread_join(tid[q], NULL);
        else
            work(&r->workers[q]);
    }
}

/* Write the computed rows begin .. end - 1 in order; the first failed row stops it, with
 * its error, as the single-threaded loop would. */
static int write_window(run_t *r, const mmdx_cohort_t *cohort, size_t begin, size_t end)
{
    mmdx_error_t err;
    for (size_t i = begin; i < end; i++) {
        slot_t *s = &r->slots[i - begin];
        const char *id = mmdx_cohort_id(cohort, i);
        size_t n_notes;
        mmdx_advice_t *advice = s->advice;
        char **notes = NULL;
        int rc;
        if (!s->done) { /* cannot happen: a row is skipped only after an earlier error */
            fprintf(stderr, "mmdx: diagnose: internal error: row %zu not computed\n", i);
            return MMDX_ESTATE;
        }
        if (s->rc != MMDX_OK) {
            cli_print_error(s->stage ? "decision" : "diagnose", &s->err);
            return s->rc;
        }
        mmdx_error_clear(&err);
        r->n_ood += r->T > 0 && (mmdx_pred_flags(s->preds[0]) & MMDX_PRED_OOD) != 0;
        /* the notes are the patient's rejected input records: TSV has no place for them, and
         * they are in the rejects already (file or hint), so they are not repeated there as
         * UNREPRESENTED */
        n_notes = r->o->format == MMDX_WRITER_TSV ? 0 : notes_of(&r->ix, id, &notes);
        if (r->uncovered[0] && r->o->format != MMDX_WRITER_TSV) { /* the KB's coverage, first */
            char *u = strdup(r->uncovered), **grown = u ? realloc(notes, (n_notes + 1) * sizeof(char *)) : NULL;
            if (grown == NULL) {
                free(u);
                for (size_t k = 0; k < n_notes; k++)
                    free(notes[k]);
                free(notes);
                fprintf(stderr, "mmdx: diagnose: out of memory\n");
                return MMDX_ENOMEM;
            }
            notes = grown;
            memmove(notes + 1, notes, n_notes * sizeof(char *));
            notes[0] = u;
            n_notes++;
        }
        static char basis_buf[MMDX_COLLECT_BASIS_MAX][512];
        const char *basis[MMDX_COLLECT_BASIS_MAX];
        size_t n_total, n_basis = basis_of(r, id, basis_buf, basis, &n_total);
        if (n_basis > 0 && n_total > n_basis) { /* the list is cut: say so */
            char *u = malloc(160), **grown = u ? realloc(notes, (n_notes + 1) * sizeof(char *)) : NULL;
            if (grown == NULL) {
                free(u);
                for (size_t k = 0; k < n_notes; k++)
                    free(notes[k]);
                free(notes);
                fprintf(stderr, "mmdx: diagnose: out of memory\n");
                return MMDX_ENOMEM;
            }
            notes = grown;
            snprintf(u, 160, "basis lists the first %zu of the %zu input records of this patient", n_basis, n_total);
            notes[n_notes++] = u;
        }
        mmdx_writer_patient_t p = {id, (const mmdx_pred_t *const *)s->preds, r->T, advice, basis, n_basis,
                                   (const char *const *)notes, n_notes};
        rc = r->o->per_patient ? write_page(r, &p, &err) : mmdx_writer_write(r->w, &p, &err);
        for (size_t k = 0; k < n_notes; k++)
            free(notes[k]);
        free(notes);
        mmdx_advice_free(advice);
        s->advice = NULL; /* (on an early return, run_chunk() frees it) */
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

/* Score and write every patient of one chunk, a window of rows at a time. */
static int run_chunk(run_t *r, const mmdx_cohort_t *cohort)
{
    size_t n = mmdx_cohort_n_patients(cohort);
    for (size_t begin = 0; begin < n; begin += r->n_slots) {
        size_t end = n - begin < r->n_slots ? n : begin + r->n_slots;
        compute_window(r, cohort, begin, end);
        int rc = write_window(r, cohort, begin, end);
        for (size_t k = 0; k < end - begin; k++) { /* the advice of rows not written */
            mmdx_advice_free(r->slots[k].advice);
            r->slots[k].advice = NULL;
        }
        if (rc != MMDX_OK)
            return rc;
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
    int rc;
    if (o->per_patient) { /* the index, once every page is in place */
        fputs("</tbody>\n</table>\n</body>\n</html>\n", mmdx_outfile_stream(r->index));
        rc = mmdx_outfile_commit(r->index, &err);
    } else {
        rc = mmdx_writer_close(r->w, &err);
    }
    r->w = NULL;
    r->index = NULL;
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
        if (write_rejects(r->col, &r->unrep, o->rejects, o->per_patient ? o->per_patient : o->output) != 0)
            return CLI_EXIT_FATAL;
    } else if (!o->quiet) {
        if (n_rejects > 0)
            cli_write_rejects(r->col, NULL); /* the hint and the first reject */
        if (r->unrep.n > 0)
            fprintf(stderr, "mmdx: diagnose: %zu item%s the %s format cannot hold (list them with --rejects FILE); "
                            "first: %s\n",
                    r->unrep.n, r->unrep.n == 1 ? "" : "s", mmdx_writer_format_name(o->format), r->unrep.what[0]);
    }
    if (!o->quiet && o->format == MMDX_WRITER_TSV) /* a data table: the notice goes to stderr */
        dr_print_notice();
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
