/* Writers: the format-neutral part (options, files, validation of what is written,
 * commit and abort) and helpers shared by the formats. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "writer_internal.h"

const char writer_disclaimer_en[] =
    "Decision support for research and for clinicians, not a diagnosis: the probabilities are "
    "model estimates with 95% credible intervals and must be weighed with the whole clinical picture.";
static const char disclaimer_ko[] =
    "연구와 임상의를 위한 의사결정 지원 자료이며 진단이 아닙니다. 확률은 95% 신용구간을 가진 "
    "모델 추정치이므로 전체 임상 상황과 함께 판단해야 합니다.";

static const char *const format_names[] = {"tsv", "jsonl", "fhir", "html"};

int mmdx_writer_format_parse(const char *name, mmdx_writer_format_t *format)
{
    if (name == NULL || format == NULL)
        return MMDX_EINVAL;
    for (size_t k = 0; k < sizeof(format_names) / sizeof(format_names[0]); k++) {
        if (strcmp(name, format_names[k]) == 0) {
            *format = (mmdx_writer_format_t)k;
            return MMDX_OK;
        }
    }
    return MMDX_EINVAL;
}

const char *mmdx_writer_format_name(mmdx_writer_format_t format)
{
    if ((unsigned)format >= sizeof(format_names) / sizeof(format_names[0]))
        return "?";
    return format_names[format];
}

void mmdx_writer_options_init(mmdx_writer_options_t *opt)
{
    if (opt == NULL)
        return;
    memset(opt, 0, sizeof(*opt));
    opt->lang = "en";
}

static const writer_ops_t *ops_of(mmdx_writer_format_t format)
{
    switch (format) {
    case MMDX_WRITER_TSV:
        return &mmdx_writer_tsv_ops;
    case MMDX_WRITER_JSONL:
        return &mmdx_writer_jsonl_ops;
    case MMDX_WRITER_FHIR:
        return &mmdx_writer_fhir_ops;
    case MMDX_WRITER_HTML:
        return &mmdx_writer_html_ops;
    }
    return NULL;
}

/* Release everything; remove temporary files unless committed (then out is NULL). */
static void writer_destroy(mmdx_writer_t *w)
{
    if (w->ops && w->ops->release)
        w->ops->release(w);
    mmdx_outfile_abort(w->out);
    mmdx_outfile_abort(w->advice_out);
    for (size_t m = 0; m < w->n_modalities; m++)
        mmdx_free(w->modalities[m]);
    mmdx_free(w->modalities);
    mmdx_free(w->path);
    mmdx_free(w->lang);
    mmdx_free(w->title);
    mmdx_free(w->timestamp);
    mmdx_free(w);
}

/* An ISO 8601 instant as FHIR wants it: YYYY-MM-DDThh:mm:ss[.f+](Z|+hh:mm|-hh:mm). */
static int is_instant(const char *t)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    size_t k = 0;
    for (; shape[k]; k++) {
        if (shape[k] == 'd' ? !(t[k] >= '0' && t[k] <= '9') : t[k] != shape[k])
            return 0;
    }
    t += k;
    if (*t == '.') {
        if (!(t[1] >= '0' && t[1] <= '9'))
            return 0;
        for (t++; *t >= '0' && *t <= '9'; t++)
            ;
    }
    if (t[0] == 'Z' && t[1] == '\0')
        return 1;
    return (t[0] == '+' || t[0] == '-') && t[1] >= '0' && t[1] <= '9' && t[2] >= '0' && t[2] <= '9' &&
           t[3] == ':' && t[4] >= '0' && t[4] <= '9' && t[5] >= '0' && t[5] <= '9' && t[6] == '\0';
}

static int dup_opt(char **dst, const char *src)
{
    if (src == NULL)
        return 0;
    *dst = mmdx_strdup(src);
    return *dst == NULL;
}

int mmdx_writer_check(mmdx_writer_format_t format, const char *path, const mmdx_writer_options_t *opt,
                      mmdx_error_t *err)
{
    mmdx_writer_options_t defaults;
    int rc;
    if (path == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, NULL, NULL, 0, "writer: NULL path");
    if (ops_of(format) == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, path, NULL, 0, "unknown output format %d", (int)format);
    if (opt == NULL) {
        mmdx_writer_options_init(&defaults);
        opt = &defaults;
    }
    const char *lang = opt->lang ? opt->lang : "en";
    if (strcmp(lang, "en") != 0 && strcmp(lang, "ko") != 0)
        return mmdx_error_set(err, MMDX_EINVAL, path, NULL, 0, "unknown language '%s' (en or ko)", lang);
    if (opt->timestamp && !is_instant(opt->timestamp))
        return mmdx_error_set(err, MMDX_EINVAL, path, NULL, 0,
                              "timestamp '%s' is not an ISO 8601 time such as 2026-01-02T03:04:05Z", opt->timestamp);
    if (opt->advice_path && format != MMDX_WRITER_TSV)
        return mmdx_error_set(err, MMDX_EINVAL, opt->advice_path, NULL, 0,
                              "a separate advice file is for the tsv format only");
    if (opt->advice_columns && format != MMDX_WRITER_TSV)
        return mmdx_error_set(err, MMDX_EINVAL, path, NULL, 0, "advice columns are for the tsv format only");
    /* Both paths are checked before either file is created. */
    if ((rc = mmdx_outfile_check(path, err)) != MMDX_OK)
        return rc;
    if (opt->advice_path && (rc = mmdx_outfile_check(opt->advice_path, err)) != MMDX_OK)
        return rc;
    return MMDX_OK;
}

int mmdx_writer_open(mmdx_writer_format_t format, const char *path, const mmdx_writer_options_t *opt,
                     mmdx_writer_t **out, mmdx_error_t *err)
{
    mmdx_writer_options_t defaults;
    mmdx_writer_t *w;
    int rc;
    if (out)
        *out = NULL;
    if (out == NULL || path == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, NULL, NULL, 0, "writer: NULL argument");
    if (ops_of(format) == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, path, NULL, 0, "unknown output format %d", (int)format);
    if ((rc = mmdx_writer_check(format, path, opt, err)) != MMDX_OK)
        return rc;
    if (opt == NULL) {
        mmdx_writer_options_init(&defaults);
        opt = &defaults;
    }
    const char *lang = opt->lang ? opt->lang : "en";
    if ((w = mmdx_calloc(1, sizeof(*w))) == NULL)
        return mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
    w->format = format;
    w->ko = strcmp(lang, "ko") == 0;
    w->terms = opt->terms;
    w->advice_columns = opt->advice_columns != 0;
    w->unrepresented = opt->unrepresented;
    w->unrepresented_user = opt->unrepresented_user;
    if (dup_opt(&w->path, path) || dup_opt(&w->lang, lang) || dup_opt(&w->title, opt->title) ||
        dup_opt(&w->timestamp, opt->timestamp))
        goto oom;
    if (opt->modalities && opt->n_modalities > 0) {
        if ((w->modalities = mmdx_calloc(opt->n_modalities, sizeof(char *))) == NULL)
            goto oom;
        for (size_t m = 0; m < opt->n_modalities; m++) {
            w->n_modalities = m + 1;
            if ((w->modalities[m] = mmdx_strdup(opt->modalities[m] ? opt->modalities[m] : "")) == NULL)
                goto oom;
        }
    }
    w->have_modalities = opt->modalities != NULL;
    if ((rc = mmdx_outfile_open(path, &w->out, err)) != MMDX_OK)
        goto fail;
    w->f = mmdx_outfile_stream(w->out);
    if (opt->advice_path) {
        if ((rc = mmdx_outfile_open(opt->advice_path, &w->advice_out, err)) != MMDX_OK)
            goto fail;
        w->advice_f = mmdx_outfile_stream(w->advice_out);
    }
    w->ops = ops_of(format);
    if ((rc = w->ops->begin(w, err)) != MMDX_OK)
        goto fail;
    *out = w;
    return MMDX_OK;
oom:
    rc = mmdx_error_set(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
fail:
    writer_destroy(w);
    return rc;
}

static int check_patient(const mmdx_writer_t *w, const mmdx_writer_patient_t *p, mmdx_error_t *err)
{
    if (p == NULL || p->patient_id == NULL || p->patient_id[0] == '\0')
        return mmdx_error_set(err, MMDX_EINVAL, w->path, NULL, 0, "writer: patient without an id");
    if ((p->n_preds > 0 && p->preds == NULL) || (p->n_basis > 0 && p->basis == NULL) ||
        (p->n_notes > 0 && p->notes == NULL))
        return mmdx_error_set(err, MMDX_EINVAL, w->path, p->patient_id, 0, "writer: NULL array with a count");
    for (size_t t = 0; t < p->n_preds; t++) {
        if (p->preds[t] == NULL)
            return mmdx_error_set(err, MMDX_EINVAL, w->path, p->patient_id, 0, "writer: prediction %zu is NULL", t);
        if (strcmp(mmdx_pred_patient(p->preds[t]), p->patient_id) != 0)
            return mmdx_error_set(err, MMDX_EINVAL, w->path, p->patient_id, 0,
                                  "writer: prediction of target %s is of another patient",
                                  mmdx_pred_target_name(p->preds[t]));
        size_t K = mmdx_pred_n_classes(p->preds[t]);
        for (size_t k = 0; k < K; k++) {
            double pr = mmdx_pred_prob(p->preds[t], k);
            if (!(pr >= 0.0 && pr <= 1.0))
                return mmdx_error_set(err, MMDX_ERANGE, w->path, p->patient_id, 0,
                                      "writer: probability of %s = %s is not in [0, 1]",
                                      mmdx_pred_target_name(p->preds[t]), mmdx_pred_class_name(p->preds[t], k));
        }
    }
    return MMDX_OK;
}

int mmdx_writer_write(mmdx_writer_t *w, const mmdx_writer_patient_t *patient, mmdx_error_t *err)
{
    int rc;
    if (w == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, NULL, NULL, 0, "writer: NULL writer");
    if (w->failed)
        return mmdx_error_set(err, MMDX_ESTATE, w->path, NULL, 0, "writer: an earlier write failed");
    if ((rc = check_patient(w, patient, err)) != MMDX_OK)
        return rc;
    if ((rc = w->ops->patient(w, patient, err)) != MMDX_OK) {
        w->failed = 1;
        return rc;
    }
    if (ferror(w->f) || (w->advice_f && ferror(w->advice_f))) {
        w->failed = 1;
        return mmdx_error_set(err, MMDX_EIO, w->path, patient->patient_id, 0, "write failed");
    }
    w->n_patients++;
    return MMDX_OK;
}

size_t mmdx_writer_n_patients(const mmdx_writer_t *w)
{
    return w ? w->n_patients : 0;
}

int mmdx_writer_close(mmdx_writer_t *w, mmdx_error_t *err)
{
    int rc;
    if (w == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, NULL, NULL, 0, "writer: NULL writer");
    if (w->failed) {
        rc = mmdx_error_set(err, MMDX_ESTATE, w->path, NULL, 0, "writer: an earlier write failed; nothing written");
        writer_destroy(w);
        return rc;
    }
    if ((rc = w->ops->end(w, err)) != MMDX_OK) {
        writer_destroy(w);
        return rc;
    }
    if (w->ops->release) {
        w->ops->release(w); /* flushes format buffers into the stream before commit */
        w->ops = NULL;
    }
    /* The advice file first: if the main output then fails, the advice alone is not mistaken
     * for a finished job, but the reverse would leave a whole-looking result without advice. */
    mmdx_outfile_t *advice = w->advice_out, *main_out = w->out;
    w->advice_out = NULL;
    w->out = NULL;
    if (advice && (rc = mmdx_outfile_commit(advice, err)) != MMDX_OK) {
        mmdx_outfile_abort(main_out);
        writer_destroy(w);
        return rc;
    }
    rc = mmdx_outfile_commit(main_out, err);
    writer_destroy(w);
    return rc;
}

void mmdx_writer_abort(mmdx_writer_t *w)
{
    if (w)
        writer_destroy(w);
}

/* ------------------------------------------------------------------ helpers */

const char *writer_disclaimer(const mmdx_writer_t *w)
{
    return w->ko ? disclaimer_ko : writer_disclaimer_en;
}

const char *writer_feature_label(const mmdx_writer_t *w, const char *feature_id)
{
    const char *d = NULL;
    if (w->terms && feature_id)
        d = mmdx_terms_feature_display(w->terms, feature_id, w->lang);
    return d ? d : feature_id;
}

char *writer_candidate_label(const mmdx_writer_t *w, const char *candidate)
{
    static const struct { const char *prefix, *en, *ko; } mods[] = {
        {"img", "Imaging", "영상"}, {"lab", "Laboratory tests", "검사실 검사"},
        {"gen", "Genetic variants", "유전 변이"}, {"pgx", "Pharmacogenomics", "약물유전체"},
        {"demo", "Demographics", "인구학적 정보"}, {"sig", "Signals", "생체 신호"}};
    const char *colon;
    size_t n_colon = 0;
    wstr_t b = {0};
    for (const char *c = candidate; *c; c++)
        n_colon += *c == ':';
    if (n_colon >= 2 || strncmp(candidate, "demo:", 5) == 0) {
        const char *d = writer_feature_label(w, candidate);
        if (d != candidate)
            wstr_printf(&b, "%s (%s)", d, candidate);
        else
            wstr_printf(&b, "%s", candidate);
        goto out;
    }
    colon = strchr(candidate, ':');
    size_t plen = colon ? (size_t)(colon - candidate) : strlen(candidate);
    for (size_t k = 0; k < sizeof(mods) / sizeof(mods[0]); k++) {
        if (strlen(mods[k].prefix) == plen && strncmp(candidate, mods[k].prefix, plen) == 0) {
            const char *name = w->ko ? mods[k].ko : mods[k].en;
            if (colon)
                wstr_printf(&b, "%s (%s)", name, colon + 1);
            else
                wstr_printf(&b, "%s", name);
            goto out;
        }
    }
    wstr_printf(&b, "%s", candidate);
out:
    if (b.oom) {
        wstr_free(&b);
        return NULL;
    }
    return b.s;
}

size_t writer_report_classes(const mmdx_pred_t *p, size_t *idx)
{
    size_t K = mmdx_pred_n_classes(p);
    if (K == 2 && strcmp(mmdx_pred_class_name(p, 0), "0") == 0 && strcmp(mmdx_pred_class_name(p, 1), "1") == 0) {
        idx[0] = 1;
        return 1;
    }
    for (size_t k = 0; k < K; k++)
        idx[k] = k;
    return K;
}

void writer_flags_str(unsigned flags, char *buf, size_t size)
{
    static const struct { unsigned bit; const char *name; } names[] = {
        {MMDX_PRED_OOD, "ood"}, {MMDX_PRED_NO_EVIDENCE, "no_evidence"},
        {MMDX_PRED_MISSING_MODALITY, "missing_modality"}, {MMDX_PRED_IMPUTED, "imputed"}};
    size_t len = 0;
    if (size == 0)
        return;
    buf[0] = '\0';
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        if (flags & names[k].bit) {
            int n = snprintf(buf + len, size - len, "%s%s", len ? "," : "", names[k].name);
            if (n < 0 || (size_t)n >= size - len)
                break;
            len += (size_t)n;
        }
    }
    if (len == 0)
        snprintf(buf, size, "-");
}

void writer_unrepresented(mmdx_writer_t *w, const char *patient_id, const char *what)
{
    if (w->unrepresented)
        w->unrepresented(w->unrepresented_user, patient_id, what);
}

void wstr_printf(wstr_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (b->oom)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if (b->s == NULL || b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *s = mmdx_realloc(b->s, cap);
        if (s == NULL) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
        va_start(ap, fmt);
        vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void wstr_free(wstr_t *b)
{
    mmdx_free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}
