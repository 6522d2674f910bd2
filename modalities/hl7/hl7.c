/* Laboratory modality: HL7 XML (FHIR R4/DSTU2, HL7 v2.xml ORU^R01, C-CDA R2.1).
 *
 * One streaming xmlTextReader loop per file (constant memory in the file size; the only
 * state that grows is one small record per patient, for demographics and derived values).
 * The format is detected from the root element's namespace. libxml2 runs with its own
 * error handler and safe options: no network, no DTD loading, no entity substitution, and
 * any DOCTYPE is refused outright (XXE, billion laughs).
 *
 * Built twice from this source: into libmmdx.a (MMDX_BUILTIN_HL7) and as mmdx_hl7.la; it
 * only uses the mmdx_host_t table, never libmmdx itself. */
#define _POSIX_C_SOURCE 200809L /* fileno, off_t */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/globals.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlversion.h>

#include "hl7.h"

#ifndef MMDX_DATA_DIR
#define MMDX_DATA_DIR "/usr/local/share/mmdx"
#endif

/* ================================================================== patients */

struct hl7_patient {
    hl7_patient_t *next;   /* insertion order */
    const char *alias_of;  /* non-NULL: this entry is an alias (fullUrl) of that patient id */
    int64_t birth;
    int has_birth;
    int sex;               /* -1 unknown, 0 female, 1 male */
    int64_t last_time;     /* latest observation time (for demo:age) */
    int has_time;
    double creat;          /* latest creatinine, mg/dL */
    int64_t creat_time;
    long creat_line;
    int has_creat, creat_censor;
    char creat_code[16];
    double height, weight; /* latest, cm and kg */
    int64_t height_time, weight_time;
    long height_line, weight_line;
    int has_height, has_weight;
    char id[];
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static hl7_patient_t *pt_find(hl7_src_t *s, const char *id)
{
    if (!s->pt_cap)
        return NULL;
    size_t mask = s->pt_cap - 1;
    for (size_t i = hash_str(id) & mask;; i = (i + 1) & mask) {
        hl7_patient_t *p = s->pt_slots[i];
        if (!p)
            return NULL;
        if (strcmp(p->id, id) == 0)
            return p;
    }
}

static int pt_grow(hl7_src_t *s)
{
    size_t nc = s->pt_cap ? s->pt_cap * 2 : 1024;
    hl7_patient_t **ns = s->host->malloc(nc * sizeof *ns);
    if (!ns)
        return MMDX_ENOMEM;
    memset(ns, 0, nc * sizeof *ns);
    for (hl7_patient_t *p = s->pt_first; p; p = p->next) {
        size_t i = hash_str(p->id) & (nc - 1);
        while (ns[i])
            i = (i + 1) & (nc - 1);
        ns[i] = p;
    }
    s->host->free(s->pt_slots);
    s->pt_slots = ns;
    s->pt_cap = nc;
    return MMDX_OK;
}

/* Find or add an entry. *created tells whether it is new. */
static int pt_get(hl7_src_t *s, const char *id, hl7_patient_t **out, int *created)
{
    *created = 0;
    hl7_patient_t *p = pt_find(s, id);
    if (p) {
        *out = p;
        return MMDX_OK;
    }
    if ((s->pt_n + 1) * 2 > s->pt_cap && pt_grow(s) != MMDX_OK)
        return MMDX_ENOMEM;
    size_t len = strlen(id);
    p = s->host->malloc(sizeof *p + len + 1);
    if (!p)
        return MMDX_ENOMEM;
    memset(p, 0, sizeof *p);
    memcpy(p->id, id, len + 1);
    p->sex = -1;
    size_t mask = s->pt_cap - 1, i = hash_str(id) & mask;
    while (s->pt_slots[i])
        i = (i + 1) & mask;
    s->pt_slots[i] = p;
    s->pt_n++;
    if (s->pt_last)
        s->pt_last->next = p;
    else
        s->pt_first = p;
    s->pt_last = p;
    *created = 1;
    *out = p;
    return MMDX_OK;
}

int mmdx_hl7_patient_seen(hl7_src_t *s, const char *id, hl7_patient_t **out)
{
    if (s->last_pt && strcmp(s->last_pt->id, id) == 0) {
        if (out)
            *out = s->last_pt;
        return MMDX_OK;
    }
    int created;
    hl7_patient_t *p;
    int rc = pt_get(s, id, &p, &created);
    if (rc != MMDX_OK)
        return rc;
    if (p->alias_of) /* an alias registered before: the real entry */
        return mmdx_hl7_patient_seen(s, p->alias_of, out);
    if (created && !s->dry && s->sink->patient) {
        rc = s->sink->patient(s->sink->data, id);
        if (rc < 0) {
            s->stop = rc;
            return rc;
        }
    }
    s->last_pt = p;
    if (out)
        *out = p;
    return MMDX_OK;
}

int mmdx_hl7_patient_set_birth(hl7_src_t *s, const char *id, int64_t birth)
{
    hl7_patient_t *p;
    int rc = mmdx_hl7_patient_seen(s, id, &p);
    if (rc == MMDX_OK) {
        p->birth = birth;
        p->has_birth = 1;
    }
    return rc;
}

int mmdx_hl7_patient_set_sex(hl7_src_t *s, const char *id, const char *sex)
{
    hl7_patient_t *p;
    int rc = mmdx_hl7_patient_seen(s, id, &p);
    if (rc != MMDX_OK)
        return rc;
    char c = sex[0];
    if (c == 'f' || c == 'F')
        p->sex = 0;
    else if (c == 'm' || c == 'M')
        p->sex = 1;
    /* other / unknown / ambiguous: no demo:sex */
    return MMDX_OK;
}

int mmdx_hl7_patient_alias(hl7_src_t *s, const char *alias, const char *id)
{
    if (!*alias || strcmp(alias, id) == 0)
        return MMDX_OK;
    hl7_patient_t *target, *a;
    int created, rc = mmdx_hl7_patient_seen(s, id, &target);
    if (rc != MMDX_OK)
        return rc;
    if ((rc = pt_get(s, alias, &a, &created)) != MMDX_OK)
        return rc;
    if (created) {
        a->alias_of = target->id;
        s->n_aliases++;
    }
    return MMDX_OK;
}

const char *mmdx_hl7_patient_resolve(hl7_src_t *s, const char *alias)
{
    if (!s->n_aliases)
        return NULL;
    hl7_patient_t *p = pt_find(s, alias);
    return p ? (p->alias_of ? p->alias_of : p->id) : NULL;
}

static void pt_free_all(hl7_src_t *s)
{
    for (hl7_patient_t *p = s->pt_first, *n; p; p = n) {
        n = p->next;
        s->host->free(p);
    }
    s->host->free(s->pt_slots);
    s->pt_slots = NULL;
    s->pt_first = s->pt_last = s->last_pt = NULL;
    s->pt_cap = s->pt_n = 0;
}

/* ================================================================== items */

void mmdx_hl7_item_reset(hl7_item_t *it)
{
    memset(it, 0, sizeof *it);
    it->time = MMDX_TIME_UNKNOWN;
}

void mmdx_hl7_item_set(hl7_item_t *it, char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size) {
        if (!it->bad) {
            it->bad = "text too long: ";
            snprintf(it->bad_detail, sizeof it->bad_detail, "%.40s... (%zu bytes, limit %zu)", src, n, size - 1);
        }
        n = size - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* XML whitespace off both ends, in place (values of text nodes and v2 fields). */
void mmdx_hl7_trim(char *t)
{
    char *p = t;
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    size_t n = strlen(p);
    memmove(t, p, n + 1);
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\r' || t[n - 1] == '\n'))
        t[--n] = '\0';
}

/* ================================================================== emitting */

long mmdx_hl7_line(hl7_src_t *s)
{
    if (!s->r)
        return 0;
    /* the line of the current node (libxml2 records it when building the node); the parser's
     * own position runs ahead of the reader by up to a buffer */
    xmlNodePtr n = xmlTextReaderCurrentNode(s->r);
    long line = n ? (long)xmlGetLineNo(n) : -1;
    return line > 0 ? line : (long)xmlTextReaderGetParserLineNumber(s->r);
}

int mmdx_hl7_reject(hl7_src_t *s, const char *patient, long line, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->n_rejected++;
    if (s->dry || !s->sink->reject)
        return MMDX_OK;
    int rc = s->sink->reject(s->sink->data, patient && *patient ? patient : NULL, s->path, line, code, msg);
    if (rc < 0)
        s->stop = rc;
    return rc < 0 ? rc : MMDX_OK;
}

static int send_obs(hl7_src_t *s, const mmdx_obs_t *o)
{
    if (s->dry)
        return MMDX_OK;
    int rc = s->sink->obs ? s->sink->obs(s->sink->data, o) : MMDX_OK;
    if (rc < 0)
        s->stop = rc;
    return rc < 0 ? rc : MMDX_OK;
}

/* Short name of a code system for feature ids: loinc, snomed, or the URI/OID without
 * scheme, with characters that would break a feature id replaced. */
static void system_short(const char *sys, char *out, size_t size)
{
    static const struct { const char *uri, *name; } known[] = {
        {"http://loinc.org", "loinc"},         {"2.16.840.1.113883.6.1", "loinc"},
        {"urn:oid:2.16.840.1.113883.6.1", "loinc"}, {"LN", "loinc"},
        {"http://snomed.info/sct", "snomed"},  {"2.16.840.1.113883.6.96", "snomed"},
        {"SCT", "snomed"},                     {"SNM", "snomed"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(sys, known[i].uri) == 0) {
            snprintf(out, size, "%s", known[i].name);
            return;
        }
    const char *p = sys;
    if (strncmp(p, "http://", 7) == 0)
        p += 7;
    else if (strncmp(p, "https://", 8) == 0)
        p += 8;
    else if (strncmp(p, "urn:oid:", 8) == 0)
        p += 8;
    if (!*p)
        p = "local";
    size_t n = 0;
    for (; *p && n + 1 < size; p++)
        out[n++] = (*p == ':' || (unsigned char)*p <= ' ') ? '_' : *p;
    out[n] = '\0';
}

int mmdx_hl7_is_loinc_system(const char *sys)
{
    return strcmp(sys, "http://loinc.org") == 0 || strcmp(sys, "2.16.840.1.113883.6.1") == 0 ||
           strcmp(sys, "urn:oid:2.16.840.1.113883.6.1") == 0 || strcmp(sys, "LN") == 0;
}

/* Status classes. */
enum { ST_OK, ST_PRELIM, ST_CANCEL, ST_ERROR, ST_OTHER };

static int status_class(const char *st)
{
    static const struct { const char *name; int cls; } tab[] = {
        {"final", ST_OK},          {"amended", ST_OK},          {"corrected", ST_OK},
        {"appended", ST_OK},       {"F", ST_OK},                {"C", ST_OK},
        {"U", ST_OK},              {"completed", ST_OK},        {"preliminary", ST_PRELIM},
        {"registered", ST_PRELIM}, {"P", ST_PRELIM},            {"R", ST_PRELIM},
        {"S", ST_PRELIM},          {"I", ST_PRELIM},            {"active", ST_PRELIM},
        {"cancelled", ST_CANCEL},  {"X", ST_CANCEL},            {"N", ST_CANCEL},
        {"aborted", ST_CANCEL},    {"entered-in-error", ST_ERROR}, {"W", ST_ERROR},
        {"D", ST_ERROR},           {"nullified", ST_ERROR},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(st, tab[i].name) == 0)
            return tab[i].cls;
    return ST_OTHER;
}

static int is_code(const char *code, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(code, *set) == 0)
            return 1;
    return 0;
}

static const char *const CREAT_MASS[] = {"2160-0", "38483-4", NULL}; /* canonical mg/dL */
static const char *const CREAT_MOLAR[] = {"14682-9", "59826-8", NULL}; /* canonical umol/L */
static const char *const HEIGHT[] = {"8302-2", "3137-7", "8306-3", NULL}; /* cm */
static const char *const WEIGHT[] = {"29463-7", "3141-9", NULL};          /* kg */

/* Latest by time; unknown times and ties: the last one read. */
static int later(int64_t t, int64_t prev, int has_prev)
{
    return !has_prev || t == MMDX_TIME_UNKNOWN || prev == MMDX_TIME_UNKNOWN || t >= prev;
}

static void track(hl7_patient_t *p, const char *loinc, double v, int censor, int64_t t, long line)
{
    if (t != MMDX_TIME_UNKNOWN && (!p->has_time || t > p->last_time)) {
        p->last_time = t;
        p->has_time = 1;
    }
    if (!loinc || !isfinite(v))
        return;
    int mass = is_code(loinc, CREAT_MASS), molar = !mass && is_code(loinc, CREAT_MOLAR);
    if ((mass || molar) && later(t, p->creat_time, p->has_creat)) {
        p->creat = mass ? v : v / 88.42; /* umol/L per mg/dL: creatinine 113.12 g/mol */
        p->creat_time = t;
        p->creat_censor = censor;
        p->creat_line = line;
        p->has_creat = 1;
        snprintf(p->creat_code, sizeof p->creat_code, "%.15s", loinc);
    } else if (censor == MMDX_CENSOR_NONE && is_code(loinc, HEIGHT) && later(t, p->height_time, p->has_height)) {
        p->height = v;
        p->height_time = t;
        p->height_line = line;
        p->has_height = 1;
    } else if (censor == MMDX_CENSOR_NONE && is_code(loinc, WEIGHT) && later(t, p->weight_time, p->has_weight)) {
        p->weight = v;
        p->weight_time = t;
        p->weight_line = line;
        p->has_weight = 1;
    }
}

/* "path:line" (the hot path: no printf) */
static void make_prov(hl7_src_t *s, long line, char *out, size_t size)
{
    char num[24];
    int k = 0;
    unsigned long v = line > 0 ? (unsigned long)line : 0;
    do
        num[k++] = (char)('0' + v % 10);
    while ((v /= 10) && k < 22);
    size_t pl = strlen(s->path);
    if (pl + (size_t)k + 2 > size)
        pl = size - (size_t)k - 2;
    memcpy(out, s->path, pl);
    out[pl++] = ':';
    while (k)
        out[pl++] = num[--k];
    out[pl] = '\0';
}

/* Conversion of (code, unit) through the per-source cache. */
static int resolve_unit(hl7_src_t *s, const char *loinc, const char *unit, const char **canon, double *f, double *o,
                        double *lo, double *hi, char *why, size_t why_size)
{
    size_t cl = strlen(loinc), ul = strlen(unit);
    struct hl7_conv_cache *c = NULL;
    if (cl < sizeof c->code && ul < sizeof c->unit) {
        uint64_t h = 1469598103934665603ull;
        for (const char *p = loinc; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        for (const char *p = unit; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ull;
        c = &s->conv_cache[h % (sizeof s->conv_cache / sizeof s->conv_cache[0])];
        if (c->code[0] && strcmp(c->code, loinc) == 0 && strcmp(c->unit, unit) == 0) {
            *canon = c->canon;
            *f = c->factor;
            *o = c->offset;
            *lo = c->min;
            *hi = c->max;
            return c->rc;
        }
    }
    int rc = mmdx_hl7_units_resolve(s->st->units, loinc, unit, canon, f, o, why, why_size);
    if (!mmdx_hl7_units_range(s->st->units, loinc, lo, hi))
        *lo = *hi = NAN;
    if (c && rc != MMDX_EUNIT) { /* failures keep their reason text: not cached */
        memcpy(c->code, loinc, cl + 1);
        memcpy(c->unit, unit, ul + 1);
        c->canon = *canon;
        c->factor = *f;
        c->offset = *o;
        c->min = *lo;
        c->max = *hi;
        c->rc = rc;
    }
    return rc;
}

int mmdx_hl7_emit(hl7_src_t *s, hl7_item_t *it)
{
    const char *pid = it->patient;
    long line = it->line;
    s->n_results++;
    if (it->bad)
        return mmdx_hl7_reject(s, pid, line, MMDX_EFORMAT, "%s%s", it->bad, it->bad_detail);
    if (!*pid && s->default_patient)
        pid = s->default_patient;
    if (!it->absent && !it->has_number && !it->has_text && !it->has_coded && *it->interp) {
        /* a qualitative result reported only through its interpretation (POS, NEG, ...) */
        memcpy(it->level, it->interp, sizeof it->interp);
        it->has_coded = 1;
    }
    if (!it->absent && !it->has_number && !it->has_text && !it->has_coded) {
        /* panels and grouping results (hasMember, organizers) carry no value of their own */
        s->n_novalue++;
        return *pid ? mmdx_hl7_patient_seen(s, pid, NULL) : MMDX_OK;
    }
    if (!*pid)
        return mmdx_hl7_reject(s, NULL, line, MMDX_EFORMAT,
                          "result %s has no patient (no subject, PID-3 or recordTarget; option patient=ID sets one)",
                          *it->code ? it->code : "(no code)");
    hl7_patient_t *p;
    int rc = mmdx_hl7_patient_seen(s, pid, &p);
    if (rc != MMDX_OK)
        return rc;
    if (!*it->code) {
        /* a code given only as text ("혈당", "Creatinine"): a known local name is enough */
        const char *m = *it->display && s->st->terms ? mmdx_terms_local_to_loinc(s->st->terms, it->display) : NULL;
        if (!m)
            return mmdx_hl7_reject(s, pid, line, MMDX_EFORMAT, "result has no code%s%s%s", *it->display ? " (text '" : "",
                              it->display, *it->display ? "' is not a known local name)" : "");
        mmdx_hl7_item_set(it, it->code, sizeof it->code, m);
        it->code_is_loinc = 1;
    }

    /* the feature: LOINC when given (checked), else a local name or code mapped through the
     * term dictionary, else the code in its own system */
    const char *loinc = NULL;
    char sysbuf[96];
    if (it->code_is_loinc) {
        if (!mmdx_hl7_loinc_valid(it->code))
            return mmdx_hl7_reject(s, pid, line, MMDX_EFORMAT, "invalid LOINC code '%s' (bad format or check digit)",
                              it->code);
        loinc = it->code;
    } else if (s->st->terms) {
        loinc = mmdx_terms_local_to_loinc(s->st->terms, it->code);
        if (!loinc && *it->display)
            loinc = mmdx_terms_local_to_loinc(s->st->terms, it->display);
    }
    char feature[MMDX_ID_MAX_HL7];
    if (loinc) {
        size_t n = strlen(loinc);
        memcpy(feature, "lab:loinc:", 10);
        memcpy(feature + 10, loinc, n + 1); /* codes are < 64 bytes */
    } else {
        system_short(*it->system ? it->system : "local", sysbuf, sizeof sysbuf);
        int n = snprintf(feature, sizeof feature, "lab:%s:", sysbuf);
        for (const char *c = it->code; *c && (size_t)n + 1 < sizeof feature; c++)
            feature[n++] = (unsigned char)*c <= ' ' ? '_' : *c;
        feature[n] = '\0';
    }

    /* status: only final, amended and corrected results count */
    int cls = *it->status ? status_class(it->status) : ST_OTHER;
    if (cls != ST_OK) {
        if (cls == ST_PRELIM)
            s->n_skip_prelim++;
        else if (cls == ST_CANCEL)
            s->n_skip_cancel++;
        else if (cls == ST_ERROR)
            s->n_skip_error++;
        else
            s->n_skip_other++;
        return MMDX_OK;
    }

    char prov[320];
    make_prov(s, line, prov, sizeof prov);
    mmdx_obs_t o = {pid, feature, MMDX_OBS_CONTINUOUS, NAN, NULL, NULL, MMDX_CENSOR_NONE, it->time, prov};
    const char *canon = NULL;
    double v, factor = 1.0, offset = 0.0, lo = NAN, hi = NAN;
    char why[256];
    int urc = loinc ? resolve_unit(s, loinc, it->unit, &canon, &factor, &offset, &lo, &hi, why, sizeof why)
                    : MMDX_ENOTFOUND;
    int censor = MMDX_CENSOR_NONE, numeric = 0;

    if (it->absent) {
        o.unit = canon;
        track(p, NULL, NAN, 0, it->time, line);
        s->n_emitted++;
        return send_obs(s, &o);
    }
    if (it->has_number) {
        if (mmdx_hl7_parse_censored(it->value, &v, &censor) != 0)
            return mmdx_hl7_reject(s, pid, line, MMDX_EFORMAT, "value '%s' of %s is not a number", it->value, feature);
        if (*it->comparator) {
            if (censor != MMDX_CENSOR_NONE)
                return mmdx_hl7_reject(s, pid, line, MMDX_EFORMAT, "value '%s' of %s has two comparators", it->value,
                                  feature);
            censor = it->comparator[0] == '<' ? MMDX_CENSOR_LEFT : it->comparator[0] == '>' ? MMDX_CENSOR_RIGHT : -1;
            if (censor < 0)
                return mmdx_hl7_reject(s, pid, line, MMDX_EFORMAT, "unknown comparator '%s' on %s", it->comparator,
                                  feature);
        }
        if (it->censor_bound)
            censor = it->censor_bound;
        numeric = 1;
    } else if (it->has_text) {
        if (mmdx_hl7_parse_censored(it->level, &v, &censor) == 0) {
            numeric = 1;
        } else if (canon && strcmp(canon, "{categorical}") != 0) {
            return mmdx_hl7_reject(s, pid, line, MMDX_EFORMAT, "non-numeric value '%s' for %s, which is measured in %s",
                              it->level, feature, canon);
        }
    }

    if (!numeric) {
        o.kind = MMDX_OBS_CATEGORICAL;
        o.level = it->level;
        track(p, NULL, NAN, 0, it->time, line);
        s->n_emitted++;
        return send_obs(s, &o);
    }
    if (!isfinite(v))
        return mmdx_hl7_reject(s, pid, line, MMDX_ERANGE, "value of %s is not finite", feature);
    const char *unit = it->unit;
    rc = urc;
    if (rc == MMDX_EUNIT)
        return mmdx_hl7_reject(s, pid, line, MMDX_EUNIT, "%s", why);
    if (rc == MMDX_OK)
        v = v * factor + offset;
    if (rc == MMDX_OK && !(isnan(lo) || (v >= lo && v <= hi)))
        return mmdx_hl7_reject(s, pid, line, MMDX_ERANGE,
                               "implausible value %g %s for %s (plausible %g to %g %s; wrong unit '%s'?)", v, canon,
                               feature, lo, hi, canon, *it->unit ? it->unit : "(none)");
    o.value = v;
    o.censor = censor;
    o.unit = rc == MMDX_OK ? canon : (*unit ? unit : NULL); /* codes outside the table keep their unit */
    track(p, loinc, v, censor, it->time, line);
    s->n_emitted++;
    return send_obs(s, &o);
}

/* Demographics and derived values, once every result of the file has been read. */
static int emit_patients(hl7_src_t *s)
{
    char prov[512];
    for (hl7_patient_t *p = s->pt_first; p && !s->stop; p = p->next) {
        if (p->alias_of)
            continue;
        mmdx_obs_t o = {p->id, NULL, MMDX_OBS_CONTINUOUS, NAN, NULL, NULL, MMDX_CENSOR_NONE, MMDX_TIME_UNKNOWN,
                        s->path};
        if (p->sex >= 0) {
            o.feature = "demo:sex";
            o.kind = MMDX_OBS_BINARY;
            o.value = p->sex; /* 1 male, 0 female */
            if (send_obs(s, &o) < 0)
                break;
        }
        if (p->has_birth && p->has_time && p->last_time >= p->birth) {
            o.feature = "demo:age";
            o.kind = MMDX_OBS_CONTINUOUS;
            o.value = mmdx_hl7_years_between(p->birth, p->last_time);
            o.unit = "a";
            o.time = p->last_time;
            snprintf(prov, sizeof prov, "derived:age at the latest result from the birth date in %s", s->path);
            o.provenance = prov;
            if (send_obs(s, &o) < 0)
                break;
        }
        if (p->has_creat && p->has_birth && p->sex >= 0 && p->creat_time != MMDX_TIME_UNKNOWN) {
            int age = mmdx_hl7_completed_years(p->birth, p->creat_time);
            double e = mmdx_hl7_egfr_ckdepi2021(p->creat, age, p->sex == 0);
            if (isfinite(e)) {
                /* creatinine below a bound means eGFR above the matching bound, and back */
                int c = p->creat_censor == MMDX_CENSOR_LEFT    ? MMDX_CENSOR_RIGHT
                        : p->creat_censor == MMDX_CENSOR_RIGHT ? MMDX_CENSOR_LEFT
                                                               : MMDX_CENSOR_NONE;
                snprintf(prov, sizeof prov,
                         "derived:CKD-EPI 2021 from lab:loinc:%s (%s:%ld), age %d, sex %s", p->creat_code, s->path,
                         p->creat_line, age, p->sex == 0 ? "female" : "male");
                mmdx_obs_t d = {p->id, "lab:loinc:98979-8", MMDX_OBS_CONTINUOUS, e, "mL/min/{1.73_m2}", NULL, c,
                                p->creat_time, prov};
                s->n_derived++;
                if (send_obs(s, &d) < 0)
                    break;
            }
        }
        if (p->has_height && p->has_weight) {
            double b = mmdx_hl7_bmi(p->height, p->weight);
            if (isfinite(b)) {
                int64_t t = p->height_time == MMDX_TIME_UNKNOWN ? p->weight_time
                            : p->weight_time == MMDX_TIME_UNKNOWN || p->height_time > p->weight_time
                                ? p->height_time
                                : p->weight_time;
                snprintf(prov, sizeof prov, "derived:BMI from body height (%s:%ld) and body weight (%s:%ld)", s->path,
                         p->height_line, s->path, p->weight_line);
                mmdx_obs_t d = {p->id, "lab:loinc:39156-5", MMDX_OBS_CONTINUOUS, b, "kg/m2", NULL, MMDX_CENSOR_NONE,
                                t, prov};
                s->n_derived++;
                if (send_obs(s, &d) < 0)
                    break;
            }
        }
    }
    return s->stop;
}

/* ================================================================== libxml2 glue */

#if LIBXML_VERSION >= 21200
typedef const xmlError *hl7_xml_error_ptr;
#else
typedef xmlErrorPtr hl7_xml_error_ptr;
#endif

static void on_xml_error(void *arg, hl7_xml_error_ptr e)
{
    hl7_src_t *s = arg;
    if (!e || e->level == XML_ERR_WARNING)
        return;
    if (e->domain == XML_FROM_NAMESPACE) {
        if (!s->ns_err) {
            s->ns_err = 1;
            s->ns_err_line = e->line;
            snprintf(s->ns_err_msg, sizeof s->ns_err_msg, "%s", e->message ? e->message : "namespace error");
        }
        return;
    }
    if (s->xml_err)
        return;
    s->xml_err = e->code ? e->code : -1;
    s->xml_err_domain = e->domain;
    s->xml_err_line = e->line;
    snprintf(s->xml_err_msg, sizeof s->xml_err_msg, "%s", e->message ? e->message : "XML error");
    size_t n = strlen(s->xml_err_msg);
    while (n && (s->xml_err_msg[n - 1] == '\n' || s->xml_err_msg[n - 1] == ' '))
        s->xml_err_msg[--n] = '\0';
}

static int io_read(void *ctx, char *buf, int len)
{
    hl7_src_t *s = ctx;
    size_t n = fread(buf, 1, (size_t)len, s->fp);
    if (n == 0 && ferror(s->fp))
        return -1;
    if (n < (size_t)len)
        s->eof = 1;
    s->bytes += n;
    return (int)n;
}

int mmdx_hl7_attr(hl7_src_t *s, const char *name, const xmlChar *ns, char *buf, size_t size)
{
    xmlTextReaderPtr r = s->r;
    int found = 0;
    if (xmlTextReaderMoveToFirstAttribute(r) != 1)
        return 0;
    do {
        const xmlChar *ln = xmlTextReaderConstLocalName(r);
        if (ln && (ln == s->nm_value ? name[0] == 'v' && strcmp(name, "value") == 0
                                     : strcmp((const char *)ln, name) == 0) &&
            (!ns || xmlTextReaderConstNamespaceUri(r) == ns)) {
            const char *v = (const char *)xmlTextReaderConstValue(r);
            size_t n = v ? strlen(v) : 0;
            found = 1;
            if (n >= size) {
                n = size - 1;
                found = -1;
            }
            if (v)
                memcpy(buf, v, n);
            buf[n] = '\0';
            break;
        }
    } while (xmlTextReaderMoveToNextAttribute(r) == 1);
    xmlTextReaderMoveToElement(r);
    return found;
}

/* Name of the root element from the head of the file (for the truncation check). */
static int root_name(const char *head, size_t n, char *name, size_t size, int *self_closing, int *doctype)
{
    size_t i = 0;
    *doctype = 0;
    if (n >= 3 && (unsigned char)head[0] == 0xEF && (unsigned char)head[1] == 0xBB && (unsigned char)head[2] == 0xBF)
        i = 3;
    while (i < n) {
        while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n'))
            i++;
        if (i >= n || head[i] != '<')
            return -1;
        if (i + 9 <= n && memcmp(head + i, "<!DOCTYPE", 9) == 0)
            *doctype = 1;
        if (i + 1 < n && (head[i + 1] == '?' || head[i + 1] == '!')) {
            const char *end = head[i + 1] == '?' ? "?>" : (i + 3 < n && head[i + 2] == '-') ? "-->" : ">";
            const char *e = NULL;
            for (size_t j = i + 2; j + strlen(end) <= n; j++)
                if (memcmp(head + j, end, strlen(end)) == 0) {
                    e = head + j;
                    break;
                }
            if (!e)
                return -1;
            i = (size_t)(e - head) + strlen(end);
            continue;
        }
        size_t k = 0;
        for (i++; i < n && !strchr(" \t\r\n/>", head[i]); i++) {
            if (k + 1 >= size)
                return -1; /* a name this long: no truncation check rather than a wrong one */
            name[k++] = head[i];
        }
        name[k] = '\0';
        /* does the start tag end with "/>"? */
        char q = 0;
        *self_closing = 0;
        for (; i < n; i++) {
            if (q) {
                if (head[i] == q)
                    q = 0;
            } else if (head[i] == '"' || head[i] == '\'') {
                q = head[i];
            } else if (head[i] == '>') {
                *self_closing = i > 0 && head[i - 1] == '/';
                break;
            }
        }
        return k ? 0 : -1;
    }
    return -1;
}

/* 1 when the file ends with the root element's end tag (or is a self-closing root). */
static int tail_ok(hl7_src_t *s, const char *root, int self_closing)
{
    char buf[4096];
    struct stat sb;
    if (fstat(fileno(s->fp), &sb) != 0)
        return 1; /* cannot tell: let the parser decide */
    long off = sb.st_size > (off_t)sizeof buf - 1 ? (long)(sb.st_size - (off_t)sizeof buf + 1) : 0;
    if (fseek(s->fp, off, SEEK_SET) != 0)
        return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, s->fp);
    rewind(s->fp);
    buf[n] = '\0';
    for (;;) {
        while (n && strchr(" \t\r\n", buf[n - 1]))
            buf[--n] = '\0';
        /* trailing comments and processing instructions */
        if (n >= 3 && strcmp(buf + n - 3, "-->") == 0) {
            char *c = NULL;
            for (char *p = buf; (p = strstr(p, "<!--")); p++)
                c = p;
            if (!c)
                return 0;
            n = (size_t)(c - buf);
            buf[n] = '\0';
            continue;
        }
        if (n >= 2 && strcmp(buf + n - 2, "?>") == 0) {
            char *c = strrchr(buf, '<');
            if (!c)
                return 0;
            n = (size_t)(c - buf);
            buf[n] = '\0';
            continue;
        }
        break;
    }
    if (!n || buf[n - 1] != '>')
        return 0;
    if (self_closing)
        return n >= 2 && buf[n - 2] == '/';
    char *lt = strrchr(buf, '<');
    if (!lt || lt[1] != '/')
        return 0;
    char *nm = lt + 2, *end = buf + n - 1;
    while (end > nm && strchr(" \t\r\n", end[-1]))
        end--;
    return (size_t)(end - nm) == strlen(root) && memcmp(nm, root, strlen(root)) == 0;
}

/* ================================================================== the modality */

static long hl7_line_safe(hl7_src_t *s)
{
    return s->r ? (long)xmlTextReaderGetParserLineNumber(s->r) : 0;
}

static int set_path(char *out, size_t size, const char *dir, const char *file)
{
    int n = snprintf(out, size, "%s/%s", dir, file);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

static int hl7_init(const mmdx_host_t *host, void **state_out, mmdx_error_t *err)
{
    if (!host || !host->malloc || !host->realloc || !host->free)
        return mmdx_modality_error(err, MMDX_EINVAL, "", "hl7", 0, "host table without allocator");
    const char *dir = host->data_dir;
    if (!dir || !*dir)
        dir = getenv("MMDX_DATA_DIR");
    if (!dir || !*dir)
        dir = MMDX_DATA_DIR;
    hl7_state_t *st = host->malloc(sizeof *st);
    if (!st)
        return mmdx_modality_error(err, MMDX_ENOMEM, dir, "hl7", 0, "out of memory");
    memset(st, 0, sizeof *st);
    st->host = host;
    char path[4096];
    int rc;
    if (set_path(path, sizeof path, dir, "units.tsv"))
        rc = mmdx_modality_error(err, MMDX_EINVAL, dir, "hl7", 0, "data directory path too long");
    else
        rc = mmdx_hl7_units_load(host, path, &st->units, err);
    if (rc == MMDX_OK) {
        mmdx_terms_alloc_t a = {host->malloc, host->realloc, host->free};
        set_path(path, sizeof path, dir, "terms.tsv");
        rc = mmdx_terms_load_with(path, &a, &st->terms, err);
    }
    if (rc != MMDX_OK) {
        mmdx_hl7_units_free(st->units);
        mmdx_terms_free(st->terms);
        host->free(st);
        if (rc == MMDX_ENOMEM)
            mmdx_modality_error(err, rc, path, "hl7", 0, "out of memory loading the data tables");
        return rc;
    }
    *state_out = st;
    return MMDX_OK;
}

static void hl7_fini(void *state)
{
    hl7_state_t *st = state;
    if (!st)
        return;
    mmdx_hl7_units_free(st->units);
    mmdx_terms_free(st->terms);
    st->host->free(st);
}

static int hl7_probe(void *state, const char *path, const unsigned char *head, size_t n)
{
    (void)state;
    char buf[4097];
    size_t m = n < sizeof buf - 1 ? n : sizeof buf - 1;
    memcpy(buf, head, m);
    buf[m] = '\0';
    for (size_t i = 0; i < m; i++) /* keep strstr going past stray NULs */
        if (!buf[i])
            buf[i] = ' ';
    char root[64];
    int sc, dt;
    if (root_name(buf, m, root, sizeof root, &sc, &dt) != 0)
        return 0;
    if (strstr(buf, "\"http://hl7.org/fhir\"") || strstr(buf, "'http://hl7.org/fhir'"))
        return 95;
    if (strstr(buf, "urn:hl7-org:v2xml"))
        return 95;
    if (strstr(buf, "urn:hl7-org:v3") && (strstr(root, "ClinicalDocument") || strstr(root, "section")))
        return 95;
    /* documents without a namespace: likely ours, but read only with fragments=1 */
    const char *local = strchr(root, ':') ? strchr(root, ':') + 1 : root;
    static const char *const names[] = {"ClinicalDocument", "section", "Bundle", "Observation", "ORU_R01", NULL};
    for (const char *const *p = names; *p; p++)
        if (strcmp(local, *p) == 0)
            return 40;
    const char *dot = path ? strrchr(path, '.') : NULL;
    return dot && strcmp(dot, ".xml") == 0 ? 1 : 0;
}

static void src_free(hl7_src_t *s)
{
    if (!s)
        return;
    if (s->r)
        xmlFreeTextReader(s->r);
    if (s->fp)
        fclose(s->fp);
    pt_free_all(s);
    s->host->free(s->path);
    s->host->free(s->default_patient);
    s->host->free(s);
}

static char *host_strdup(const mmdx_host_t *h, const char *str)
{
    size_t n = strlen(str) + 1;
    char *d = h->malloc(n);
    if (d)
        memcpy(d, str, n);
    return d;
}

static int flag_value(const char *v, int *out)
{
    if (strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "true") == 0)
        *out = 1;
    else if (strcmp(v, "0") == 0 || strcmp(v, "no") == 0 || strcmp(v, "false") == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

static int hl7_open(void *state, const char *path, const char *const *options, void **src_out, mmdx_error_t *err)
{
    hl7_state_t *st = state;
    if (!st || !path || !src_out)
        return mmdx_modality_error(err, MMDX_EINVAL, path, "hl7", 0, "NULL argument");
    hl7_src_t *s = st->host->malloc(sizeof *s);
    if (!s)
        return mmdx_modality_error(err, MMDX_ENOMEM, path, "hl7", 0, "out of memory");
    memset(s, 0, sizeof *s);
    s->st = st;
    s->host = st->host;
    int rc = MMDX_OK;
    if (!(s->path = host_strdup(st->host, path))) {
        rc = MMDX_ENOMEM;
        goto fail;
    }
    for (const char *const *o = options; o && *o; o++) {
        const char *eq = strchr(*o, '=');
        size_t kl = eq ? (size_t)(eq - *o) : strlen(*o);
        const char *v = eq ? eq + 1 : "";
        if (kl == 7 && strncmp(*o, "partial", kl) == 0 && flag_value(v, &s->partial) == 0)
            continue;
        if (kl == 9 && strncmp(*o, "fragments", kl) == 0 && flag_value(v, &s->fragments) == 0)
            continue;
        if (kl == 7 && strncmp(*o, "patient", kl) == 0 && *v && strlen(v) < HL7_TEXT) {
            if (!(s->default_patient = host_strdup(st->host, v))) {
                rc = MMDX_ENOMEM;
                goto fail;
            }
            continue;
        }
        if (kl == 6 && strncmp(*o, "format", kl) == 0) {
            if (strcmp(v, "auto") == 0)
                s->want_format = HL7_FMT_NONE;
            else if (strcmp(v, "fhir") == 0)
                s->want_format = HL7_FMT_FHIR;
            else if (strcmp(v, "v2") == 0)
                s->want_format = HL7_FMT_V2;
            else if (strcmp(v, "cda") == 0)
                s->want_format = HL7_FMT_CDA;
            else
                goto bad;
            continue;
        }
    bad:
        rc = mmdx_modality_error(err, MMDX_EINVAL, path, *o, 0,
                                 "unknown or invalid option '%s' (hl7 options: partial=0|1, fragments=0|1, "
                                 "patient=ID, format=auto|fhir|v2|cda)",
                                 *o);
        goto fail;
    }
    s->fp = fopen(path, "rb");
    if (!s->fp) {
        rc = mmdx_modality_error(err, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, path, "", 0, "cannot open: %s",
                                 strerror(errno));
        goto fail;
    }
    *src_out = s;
    return MMDX_OK;
fail:
    src_free(s);
    if (rc == MMDX_ENOMEM)
        mmdx_modality_error(err, rc, path, "hl7", 0, "out of memory");
    return rc;
}

static const hl7_parser_t *parser_for(int fmt)
{
    return fmt == HL7_FMT_FHIR ? &mmdx_hl7_fhir_parser : fmt == HL7_FMT_V2 ? &mmdx_hl7_v2_parser : &mmdx_hl7_cda_parser;
}

/* Decide the format from the root element. */
static int detect(hl7_src_t *s, const xmlChar *name, const xmlChar *ns, mmdx_error_t *err)
{
    const char *n = (const char *)name;
    int fmt = HL7_FMT_NONE;
    if (ns == s->ns_fhir)
        fmt = HL7_FMT_FHIR;
    else if (ns == s->ns_v2)
        fmt = HL7_FMT_V2;
    else if (ns == s->ns_v3)
        fmt = HL7_FMT_CDA;
    else if (!ns && s->fragments) {
        if (strcmp(n, "ClinicalDocument") == 0 || strcmp(n, "section") == 0 || strcmp(n, "structuredBody") == 0 ||
            strcmp(n, "component") == 0 || strcmp(n, "entry") == 0 || strcmp(n, "organizer") == 0)
            fmt = HL7_FMT_CDA;
        else if (strncmp(n, "ORU_R01", 7) == 0)
            fmt = HL7_FMT_V2;
        else
            fmt = HL7_FMT_FHIR;
    } else if (!ns) {
        return mmdx_modality_error(err, MMDX_EFORMAT, s->path, n, mmdx_hl7_line(s),
                                   "root element <%s> has no namespace declaration: a fragment, not an HL7 document "
                                   "(expected xmlns=\"http://hl7.org/fhir\", \"urn:hl7-org:v2xml\" or "
                                   "\"urn:hl7-org:v3\"; option fragments=1 reads it anyway)",
                                   n);
    } else {
        return mmdx_modality_error(err, MMDX_EFORMAT, s->path, n, mmdx_hl7_line(s),
                                   "root element <%s> is in namespace '%s', which is not FHIR (http://hl7.org/fhir), "
                                   "HL7 v2.xml (urn:hl7-org:v2xml) or CDA (urn:hl7-org:v3)",
                                   n, (const char *)ns);
    }
    if (s->want_format && fmt != s->want_format)
        return mmdx_modality_error(err, MMDX_EFORMAT, s->path, n, mmdx_hl7_line(s),
                                   "option format= asks for another format than the document's root <%s>", n);
    s->format = fmt;
    return MMDX_OK;
}

#if LIBXML_VERSION < 21200
/* libxml2 before 2.12 reports input-encoding and I/O errors through the thread's generic
 * handlers, not the parser's: route them to this source while it parses (restored after). */
static void on_generic_error(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg; /* the structured handler below gets the same error with its details */
}
#endif

static int parse_guarded(hl7_src_t *s, mmdx_error_t *err, int *truncated_hint);

static int parse(hl7_src_t *s, mmdx_error_t *err, int *truncated_hint)
{
#if LIBXML_VERSION < 21200
    xmlStructuredErrorFunc old_s = xmlStructuredError;
    void *old_sc = xmlStructuredErrorContext;
    xmlGenericErrorFunc old_g = xmlGenericError;
    void *old_gc = xmlGenericErrorContext;
    xmlSetStructuredErrorFunc(s, on_xml_error);
    xmlSetGenericErrorFunc(s, on_generic_error);
#endif
    int rc = parse_guarded(s, err, truncated_hint);
#if LIBXML_VERSION < 21200
    xmlSetStructuredErrorFunc(old_sc, old_s);
    xmlSetGenericErrorFunc(old_gc, old_g);
#endif
    return rc;
}

static int parse_guarded(hl7_src_t *s, mmdx_error_t *err, int *truncated_hint)
{
    int rc = MMDX_OK;
    const hl7_parser_t *P = NULL;
    xmlTextReaderPtr r = xmlReaderForIO(io_read, NULL, s, s->path, NULL,
                                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_COMPACT);
    if (!r)
        return mmdx_modality_error(err, MMDX_EFORMAT, s->path, "", 0, "not an XML document (libxml2 refused it)");
    s->r = r;
    xmlTextReaderSetStructuredErrorHandler(r, on_xml_error, s);
    xmlTextReaderSetParserProp(r, XML_PARSER_LOADDTD, 0);
    xmlTextReaderSetParserProp(r, XML_PARSER_DEFAULTATTRS, 0);
    xmlTextReaderSetParserProp(r, XML_PARSER_VALIDATE, 0);
    xmlTextReaderSetParserProp(r, XML_PARSER_SUBST_ENTITIES, 0);
    s->ns_fhir = xmlTextReaderConstString(r, BAD_CAST "http://hl7.org/fhir");
    s->ns_v2 = xmlTextReaderConstString(r, BAD_CAST "urn:hl7-org:v2xml");
    s->ns_v3 = xmlTextReaderConstString(r, BAD_CAST "urn:hl7-org:v3");
    s->ns_xsi = xmlTextReaderConstString(r, BAD_CAST "http://www.w3.org/2001/XMLSchema-instance");
    s->ns_xhtml = xmlTextReaderConstString(r, BAD_CAST "http://www.w3.org/1999/xhtml");
    s->nm_value = xmlTextReaderConstString(r, BAD_CAST "value");
    int ret = xmlTextReaderRead(r);
    while (ret == 1 && rc == MMDX_OK && !s->stop) {
        int type = xmlTextReaderNodeType(r);
        int skip = 0;
        if (type == XML_READER_TYPE_ELEMENT) {
            int depth = xmlTextReaderDepth(r);
            const xmlChar *name = xmlTextReaderConstLocalName(r);
            const xmlChar *ns = xmlTextReaderConstNamespaceUri(r);
            int empty = xmlTextReaderIsEmptyElement(r);
            if (depth >= HL7_MAX_DEPTH) {
                rc = mmdx_modality_error(err, MMDX_ESECURITY, s->path, (const char *)name, mmdx_hl7_line(s),
                                         "elements nested deeper than %d levels", HL7_MAX_DEPTH);
                break;
            }
            if (!P) {
                if ((rc = detect(s, name, ns, err)) != MMDX_OK)
                    break;
                P = parser_for(s->format);
                if ((rc = P->begin(s)) != MMDX_OK)
                    break;
            }
            if (s->ns_err && !s->fragments) {
                rc = mmdx_modality_error(err, MMDX_EFORMAT, s->path, "", s->ns_err_line, "namespace error: %s",
                                         s->ns_err_msg);
                break;
            }
            int k = P->start(s, depth, name, ns, empty);
            if (k < 0) {
                rc = k;
                break;
            }
            if (k == HL7_SKIP && !empty)
                skip = 1;
            else if (empty && (rc = P->end(s, depth, name, ns)) < 0)
                break;
        } else if (type == XML_READER_TYPE_END_ELEMENT) {
            if ((rc = P->end(s, xmlTextReaderDepth(r), xmlTextReaderConstLocalName(r), xmlTextReaderConstNamespaceUri(r))) < 0)
                break;
        } else if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA) {
            if (P && P->text && (rc = P->text(s, xmlTextReaderDepth(r), xmlTextReaderConstValue(r))) < 0)
                break;
        } else if (type == XML_READER_TYPE_DOCUMENT_TYPE || type == XML_READER_TYPE_ENTITY_REFERENCE ||
                   type == XML_READER_TYPE_ENTITY) {
            rc = mmdx_modality_error(err, MMDX_ESECURITY, s->path, "DOCTYPE", mmdx_hl7_line(s),
                                     "document type declarations and entities are refused (no DTD is ever loaded)");
            break;
        }
        ret = skip ? xmlTextReaderNext(r) : xmlTextReaderRead(r);
    }
    if (s->stop && rc == MMDX_OK)
        rc = s->stop;
    if (rc == MMDX_OK && ret < 0) {
        const char *m = s->xml_err ? s->xml_err_msg : "libxml2 could not read the document";
        long line = s->xml_err ? s->xml_err_line : mmdx_hl7_line(s);
        if (s->xml_err_domain == XML_FROM_PARSER && (s->xml_err == XML_ERR_ENTITY_LOOP ||
                                                     s->xml_err == XML_ERR_EXT_ENTITY_STANDALONE ||
                                                     s->xml_err == XML_ERR_ENTITY_IS_EXTERNAL ||
                                                     strstr(s->xml_err_msg, "depth")))
            rc = mmdx_modality_error(err, MMDX_ESECURITY, s->path, "", line, "refused: %s", m);
        else if (*truncated_hint)
            rc = MMDX_ETRUNC; /* the caller words it */
        else
            rc = mmdx_modality_error(err, MMDX_EFORMAT, s->path, "", line, "malformed XML: %s", m);
        if (rc == MMDX_ETRUNC) {
            s->trunc_line = line;
            snprintf(s->trunc_msg, sizeof s->trunc_msg, "%s", m);
        }
    }
    if (rc == MMDX_OK && !P)
        rc = mmdx_modality_error(err, MMDX_EFORMAT, s->path, "", 0, "empty document (no root element)");
    if (rc == MMDX_OK && s->ns_err && !s->fragments)
        rc = mmdx_modality_error(err, MMDX_EFORMAT, s->path, "", s->ns_err_line, "namespace error: %s", s->ns_err_msg);
    if (P && P->finish && rc == MMDX_OK)
        rc = P->finish(s);
    if (P && P->free)
        P->free(s);
    return rc;
}

static void log_counts(hl7_src_t *s)
{
    if (!s->host->log)
        return;
    char msg[512];
    const char *fmt = s->format == HL7_FMT_FHIR ? "FHIR" : s->format == HL7_FMT_V2 ? "HL7 v2.xml" : "C-CDA";
    snprintf(msg, sizeof msg,
             "hl7: %s (%s): %lu results, %lu used, %lu derived, %lu rejected, %lu without value; skipped by status: "
             "%lu preliminary, %lu cancelled, %lu entered-in-error, %lu other",
             s->path, fmt, s->n_results, s->n_emitted, s->n_derived, s->n_rejected, s->n_novalue, s->n_skip_prelim,
             s->n_skip_cancel, s->n_skip_error, s->n_skip_other);
    s->host->log(s->host->host_data, 2, msg);
}

static int read_all(void *src, const mmdx_sink_t *sink, mmdx_error_t *err);

static int hl7_read(void *src, const mmdx_sink_t *sink, mmdx_error_t *err)
{
    int rc = read_all(src, sink, err);
    hl7_src_t *s = src;
    if (rc == MMDX_ENOMEM && s)
        mmdx_modality_error(err, rc, s->path, "hl7", hl7_line_safe(s), "out of memory");
    else if (rc < 0 && s && s->stop == rc)
        mmdx_modality_error(err, rc, s->path, "hl7", hl7_line_safe(s), "reading stopped by the caller's sink");
    return rc;
}

static int read_all(void *src, const mmdx_sink_t *sink, mmdx_error_t *err)
{
    hl7_src_t *s = src;
    if (!s || !sink)
        return mmdx_modality_error(err, MMDX_EINVAL, s ? s->path : "", "hl7", 0, "NULL argument");
    if (s->read_done)
        return mmdx_modality_error(err, MMDX_ESTATE, s->path, "hl7", 0, "source already read");
    s->read_done = 1;
    s->sink = sink;
    s->err = err;
    /* A truncated file is found before anything is sent: when the file does not end with
     * its root's end tag, a dry pass (nothing sent) finds where it breaks. With partial=1 the
     * results before the break are sent, and the read still fails with MMDX_ETRUNC. */
    char head[4096], root[256];
    size_t n = fread(head, 1, sizeof head, s->fp);
    rewind(s->fp);
    if (n == 0)
        return mmdx_modality_error(err, MMDX_EFORMAT, s->path, "", 0, "empty file");
    int sc = 0, truncated = 0, doctype = 0;
    int have_root = root_name(head, n, root, sizeof root, &sc, &doctype) == 0;
    if (doctype)
        return mmdx_modality_error(err, MMDX_ESECURITY, s->path, "DOCTYPE", 0,
                                   "document type declarations are refused (no DTD or entity is ever loaded)");
    if (have_root && !tail_ok(s, root, sc))
        truncated = 1;
    s->dry = truncated && !s->partial;
    int rc = parse(s, err, &truncated);
    if (rc == MMDX_ETRUNC || (truncated && rc == MMDX_OK)) {
        long line = rc == MMDX_ETRUNC ? s->trunc_line : mmdx_hl7_line(s);
        if (s->partial)
            rc = mmdx_modality_error(err, MMDX_ETRUNC, s->path, root, line,
                                     "file is truncated (ends before </%s>): %s; the %lu results read before the "
                                     "break were kept (partial=1)",
                                     root, rc == MMDX_ETRUNC ? s->trunc_msg : "no end tag", s->n_emitted);
        else
            rc = mmdx_modality_error(err, MMDX_ETRUNC, s->path, root, line,
                                     "file is truncated (ends before </%s>): %s; nothing was kept (the %lu results "
                                     "before the break are kept with option partial=1)",
                                     root, rc == MMDX_ETRUNC ? s->trunc_msg : "no end tag", s->n_emitted);
        return rc;
    }
    if (rc == MMDX_OK && !s->dry)
        rc = emit_patients(s);
    if (rc == MMDX_OK)
        log_counts(s);
    return rc;
}

static void hl7_close(void *src)
{
    src_free(src);
}

static const mmdx_modality_desc_t hl7_desc = {
    MMDX_ABI_MAJOR,
    MMDX_ABI_MINOR,
    sizeof(mmdx_modality_desc_t),
    "hl7",
    "1.0",
    "MIT",
    "Laboratory results in HL7 XML: FHIR R4 (and DSTU2), HL7 v2.xml ORU^R01, C-CDA R2.1",
    "labs",
    {hl7_init, hl7_fini, hl7_probe, hl7_open, hl7_read, hl7_close, {0}},
    {0},
};

MMDX_MODALITY_EXPORT(hl7)
{
    return &hl7_desc;
}
