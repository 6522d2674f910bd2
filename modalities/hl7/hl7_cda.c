/* C-CDA R2.1 (urn:hl7-org:v3): result and vital-sign observations, recordTarget demographics.
 *
 * Observations are read in Results (2.16.840.1.113883.10.20.22.2.3[.1], LOINC 30954-2) and
 * Vital Signs (2.16.840.1.113883.10.20.22.2.4[.1], 8716-3) sections, or anywhere when the
 * document has no sections (a fragment holding organizers). Values: PQ, IVL_PQ (a one-sided
 * interval is a censored value), INT, REAL, ST, CD/CE/CO/CV, BL. */
#include <string.h>

#include "hl7.h"

#define CDA_MAX_SECTIONS 32

typedef struct cda {
    const xmlChar *ns;
    const char *stk[HL7_MAX_DEPTH];
    /* recordTarget */
    int rt_depth, rt_id_seen;
    char patient[HL7_TEXT], birth[64], sex[16];
    long rt_line;
    /* sections */
    int sec_depth[CDA_MAX_SECTIONS], sec_rel[CDA_MAX_SECTIONS], n_sec, any_section;
    /* the observation being read */
    int obs_depth, val_depth, st_text;
    hl7_item_t it;
    char vtype[32];
    char low[64], high[64], low_unit[64], high_unit[64];
    int low_incl, high_incl, low_inf, high_inf, has_low, has_high;
} cda_t;

static int c_begin(hl7_src_t *s)
{
    cda_t *c = s->host->malloc(sizeof *c);
    if (!c)
        return MMDX_ENOMEM;
    memset(c, 0, sizeof *c);
    c->ns = xmlTextReaderConstNamespaceUri(s->r);
    c->rt_depth = c->obs_depth = c->val_depth = -1;
    s->fmt = c;
    return MMDX_OK;
}

static void c_free(hl7_src_t *s)
{
    s->host->free(s->fmt);
    s->fmt = NULL;
}

static int attr(hl7_src_t *s, cda_t *c, const char *name, char *buf, size_t size)
{
    int k = mmdx_hl7_attr(s, name, NULL, buf, size);
    if (k < 0 && c->obs_depth >= 0 && !c->it.bad) {
        c->it.bad = "attribute too long: ";
        snprintf(c->it.bad_detail, sizeof c->it.bad_detail, "%s", name);
    }
    return k;
}

static int relevant_template(const char *root)
{
    return strcmp(root, "2.16.840.1.113883.10.20.22.2.3") == 0 ||
           strcmp(root, "2.16.840.1.113883.10.20.22.2.3.1") == 0 ||
           strcmp(root, "2.16.840.1.113883.10.20.22.2.4") == 0 ||
           strcmp(root, "2.16.840.1.113883.10.20.22.2.4.1") == 0;
}

static void status_of(hl7_item_t *it, const char *code)
{
    /* act status: completed is final; active is still running; aborted/cancelled; nullified */
    mmdx_hl7_item_set(it, it->status, sizeof it->status, code);
}

static int obs_child(hl7_src_t *s, cda_t *c, int rel, const char *n, int depth)
{
    hl7_item_t *it = &c->it;
    char buf[HL7_TEXT], sys[HL7_TEXT];
    const char *parent = c->stk[depth - 1];
    if (rel == 1) {
        if (strcmp(n, "code") == 0) {
            if (attr(s, c, "code", buf, sizeof buf) > 0) {
                mmdx_hl7_item_set(it, it->code, sizeof it->code, buf);
                sys[0] = '\0';
                attr(s, c, "codeSystem", sys, sizeof sys);
                mmdx_hl7_item_set(it, it->system, sizeof it->system, *sys ? sys : "local");
                it->code_is_loinc = mmdx_hl7_is_loinc_system(sys);
            }
            if (mmdx_hl7_attr(s, "displayName", NULL, buf, sizeof buf) != 0) /* a long one is cut, not an error */
                mmdx_hl7_item_set(it, it->display, sizeof it->display, buf);
            return MMDX_OK;
        }
        if (strcmp(n, "statusCode") == 0) {
            if (attr(s, c, "code", buf, sizeof buf) > 0)
                status_of(it, buf);
            return HL7_SKIP;
        }
        if (strcmp(n, "effectiveTime") == 0) {
            if (attr(s, c, "value", buf, sizeof buf) > 0 && mmdx_hl7_parse_time(buf, &it->time) != 0 && !it->bad) {
                it->time = MMDX_TIME_UNKNOWN;
                it->bad = "invalid effectiveTime ";
                snprintf(it->bad_detail, sizeof it->bad_detail, "'%.100s'", buf);
            }
            return MMDX_OK;
        }
        if (strcmp(n, "value") == 0) {
            if (c->val_depth >= 0) { /* several values: the first one counts */
                return HL7_SKIP;
            }
            c->val_depth = depth;
            c->vtype[0] = '\0';
            int k = mmdx_hl7_attr(s, "type", s->ns_xsi, c->vtype, sizeof c->vtype);
            if (k == 0)
                k = mmdx_hl7_attr(s, "xsi:type", NULL, c->vtype, sizeof c->vtype); /* fragment, undeclared prefix */
            char *colon = strchr(c->vtype, ':');
            if (colon)
                memmove(c->vtype, colon + 1, strlen(colon));
            if (attr(s, c, "nullFlavor", buf, sizeof buf) > 0) {
                it->absent = 1;
                return MMDX_OK;
            }
            const char *t = c->vtype;
            if (strcmp(t, "PQ") == 0 || strcmp(t, "INT") == 0 || strcmp(t, "REAL") == 0) {
                if (attr(s, c, "value", it->value, sizeof it->value) > 0)
                    it->has_number = 1;
                if (attr(s, c, "unit", buf, sizeof buf) > 0)
                    mmdx_hl7_item_set(it, it->unit, sizeof it->unit, buf);
            } else if (strcmp(t, "IVL_PQ") == 0) {
                c->has_low = c->has_high = c->low_inf = c->high_inf = 0;
                c->low_incl = c->high_incl = 1;
            } else if (strcmp(t, "ST") == 0 || strcmp(t, "ED") == 0) {
                c->st_text = 1;
            } else if (strcmp(t, "CD") == 0 || strcmp(t, "CE") == 0 || strcmp(t, "CO") == 0 ||
                       strcmp(t, "CV") == 0 || strcmp(t, "BL") == 0) {
                if (attr(s, c, strcmp(t, "BL") == 0 ? "value" : "code", it->level, sizeof it->level) > 0 ||
                    mmdx_hl7_attr(s, "displayName", NULL, it->level, sizeof it->level) != 0)
                    it->has_coded = 1;
            } else if (!it->bad) {
                it->bad = "unsupported value type ";
                snprintf(it->bad_detail, sizeof it->bad_detail, "'%s'", *t ? t : "(no xsi:type)");
            }
            return MMDX_OK;
        }
        return HL7_SKIP; /* text, interpretationCode, referenceRange, entryRelationship, ... */
    }
    if (rel == 2 && strcmp(parent, "code") == 0 && strcmp(n, "translation") == 0 && !it->code_is_loinc) {
        sys[0] = '\0';
        attr(s, c, "codeSystem", sys, sizeof sys);
        if (mmdx_hl7_is_loinc_system(sys) && attr(s, c, "code", buf, sizeof buf) > 0) {
            mmdx_hl7_item_set(it, it->code, sizeof it->code, buf);
            mmdx_hl7_item_set(it, it->system, sizeof it->system, sys);
            it->code_is_loinc = 1;
        }
        return HL7_SKIP;
    }
    if (rel == 2 && strcmp(parent, "effectiveTime") == 0 && strcmp(n, "low") == 0 && it->time == MMDX_TIME_UNKNOWN) {
        if (attr(s, c, "value", buf, sizeof buf) > 0 && mmdx_hl7_parse_time(buf, &it->time) != 0)
            it->time = MMDX_TIME_UNKNOWN;
        return HL7_SKIP;
    }
    if (rel == 2 && depth == c->val_depth + 1 && strcmp(c->vtype, "IVL_PQ") == 0 &&
        (strcmp(n, "low") == 0 || strcmp(n, "high") == 0)) {
        int lo = n[0] == 'l';
        char *v = lo ? c->low : c->high, *u = lo ? c->low_unit : c->high_unit;
        v[0] = u[0] = '\0';
        if (attr(s, c, "nullFlavor", buf, sizeof buf) > 0) {
            if (strcmp(buf, lo ? "NINF" : "PINF") == 0)
                *(lo ? &c->low_inf : &c->high_inf) = 1;
            return HL7_SKIP;
        }
        attr(s, c, "value", v, sizeof c->low);
        attr(s, c, "unit", u, sizeof c->low_unit);
        if (attr(s, c, "inclusive", buf, sizeof buf) > 0)
            *(lo ? &c->low_incl : &c->high_incl) = strcmp(buf, "false") != 0;
        *(lo ? &c->has_low : &c->has_high) = *v != '\0';
        return HL7_SKIP;
    }
    return HL7_SKIP;
}

static int c_start(hl7_src_t *s, int depth, const xmlChar *name, const xmlChar *ns, int empty)
{
    cda_t *c = s->fmt;
    (void)empty;
    if (ns != c->ns)
        return HL7_SKIP;
    const char *n = (const char *)name;
    c->stk[depth] = n;
    if (c->obs_depth >= 0)
        return obs_child(s, c, depth - c->obs_depth, n, depth);
    char buf[HL7_TEXT];
    if (c->rt_depth >= 0) {
        const char *parent = c->stk[depth - 1];
        if (strcmp(n, "id") == 0 && strcmp(parent, "patientRole") == 0 && !c->rt_id_seen++) {
            if (mmdx_hl7_attr(s, "extension", NULL, c->patient, sizeof c->patient) <= 0)
                mmdx_hl7_attr(s, "root", NULL, c->patient, sizeof c->patient);
        } else if (strcmp(n, "administrativeGenderCode") == 0 && strcmp(parent, "patient") == 0) {
            mmdx_hl7_attr(s, "code", NULL, c->sex, sizeof c->sex);
        } else if (strcmp(n, "birthTime") == 0 && strcmp(parent, "patient") == 0) {
            mmdx_hl7_attr(s, "value", NULL, c->birth, sizeof c->birth);
        }
        return MMDX_OK;
    }
    if (strcmp(n, "recordTarget") == 0) {
        c->rt_depth = depth;
        c->rt_id_seen = 0;
        c->patient[0] = c->birth[0] = c->sex[0] = '\0';
        c->rt_line = mmdx_hl7_line(s);
        return MMDX_OK;
    }
    if (strcmp(n, "section") == 0) {
        if (c->n_sec >= CDA_MAX_SECTIONS)
            return HL7_SKIP;
        c->any_section = 1;
        c->sec_depth[c->n_sec] = depth;
        c->sec_rel[c->n_sec] = 0;
        c->n_sec++;
        return MMDX_OK;
    }
    if (c->n_sec && depth == c->sec_depth[c->n_sec - 1] + 1) {
        if (strcmp(n, "templateId") == 0 && mmdx_hl7_attr(s, "root", NULL, buf, sizeof buf) > 0 && relevant_template(buf))
            c->sec_rel[c->n_sec - 1] = 1;
        else if (strcmp(n, "code") == 0 && mmdx_hl7_attr(s, "code", NULL, buf, sizeof buf) > 0 &&
                 (strcmp(buf, "30954-2") == 0 || strcmp(buf, "8716-3") == 0))
            c->sec_rel[c->n_sec - 1] = 1;
        else if (strcmp(n, "text") == 0)
            return HL7_SKIP; /* narrative table */
        return MMDX_OK;
    }
    if (strcmp(n, "observation") == 0) {
        int relevant = c->n_sec ? c->sec_rel[c->n_sec - 1] : !c->any_section;
        if (!relevant)
            return HL7_SKIP;
        c->obs_depth = depth;
        c->val_depth = -1;
        c->st_text = 0;
        mmdx_hl7_item_reset(&c->it);
        c->it.line = mmdx_hl7_line(s);
        return MMDX_OK;
    }
    if (c->n_sec && !c->sec_rel[c->n_sec - 1] && strcmp(n, "entry") == 0)
        return HL7_SKIP; /* entries of sections we do not read */
    return MMDX_OK;
}

static int c_text(hl7_src_t *s, int depth, const xmlChar *value)
{
    cda_t *c = s->fmt;
    (void)s;
    if (c->obs_depth >= 0 && c->st_text && depth == c->val_depth + 1) {
        hl7_item_t *it = &c->it;
        size_t have = strlen(it->level), add = strlen((const char *)value);
        if (have + add >= sizeof it->level) {
            if (!it->bad) {
                it->bad = "text value too long";
                it->bad_detail[0] = '\0';
            }
            return MMDX_OK;
        }
        memcpy(it->level + have, value, add + 1);
    }
    return MMDX_OK;
}

static int finish_obs(hl7_src_t *s, cda_t *c)
{
    hl7_item_t *it = &c->it;
    snprintf(it->patient, sizeof it->patient, "%s", c->patient);
    if (c->st_text) {
        mmdx_hl7_trim(it->level);
        it->has_text = *it->level != '\0';
    }
    if (strcmp(c->vtype, "IVL_PQ") == 0 && !it->absent) {
        double lo = 0;
        int lo_zero = c->has_low && mmdx_hl7_parse_number(c->low, &lo) == 0 && lo == 0.0;
        int no_low = !c->has_low || c->low_inf || lo_zero;
        int no_high = !c->has_high || c->high_inf;
        if (no_low && c->has_high) { /* "<= high" */
            mmdx_hl7_item_set(it, it->value, sizeof it->value, c->high);
            mmdx_hl7_item_set(it, it->unit, sizeof it->unit, c->high_unit);
            it->censor_bound = MMDX_CENSOR_LEFT;
            it->has_number = 1;
        } else if (no_high && c->has_low) { /* ">= low" */
            mmdx_hl7_item_set(it, it->value, sizeof it->value, c->low);
            mmdx_hl7_item_set(it, it->unit, sizeof it->unit, c->low_unit);
            it->censor_bound = MMDX_CENSOR_RIGHT;
            it->has_number = 1;
        } else if (!it->bad) {
            it->bad = "IVL_PQ result with two finite bounds (or none) is not a single value: ";
            snprintf(it->bad_detail, sizeof it->bad_detail, "[%.40s, %.40s]", c->has_low ? c->low : "?",
                     c->has_high ? c->high : "?");
        }
    }
    c->obs_depth = -1;
    c->val_depth = -1;
    return mmdx_hl7_emit(s, it);
}

static int c_end(hl7_src_t *s, int depth, const xmlChar *name, const xmlChar *ns)
{
    cda_t *c = s->fmt;
    (void)name;
    if (ns != c->ns)
        return MMDX_OK;
    if (c->obs_depth >= 0) {
        if (depth == c->obs_depth)
            return finish_obs(s, c);
        return MMDX_OK;
    }
    if (depth == c->rt_depth) {
        c->rt_depth = -1;
        if (!*c->patient)
            return mmdx_hl7_reject(s, NULL, c->rt_line, MMDX_EFORMAT, "recordTarget without a patientRole id");
        int rc = mmdx_hl7_patient_seen(s, c->patient, NULL);
        if (rc == MMDX_OK && *c->sex)
            rc = mmdx_hl7_patient_set_sex(s, c->patient, c->sex);
        if (rc == MMDX_OK && *c->birth) {
            int64_t t;
            if (mmdx_hl7_parse_time(c->birth, &t) != 0)
                return mmdx_hl7_reject(s, c->patient, c->rt_line, MMDX_EFORMAT, "invalid birthTime '%s'", c->birth);
            rc = mmdx_hl7_patient_set_birth(s, c->patient, t);
        }
        return rc;
    }
    if (c->n_sec && depth == c->sec_depth[c->n_sec - 1])
        c->n_sec--;
    return MMDX_OK;
}

const hl7_parser_t mmdx_hl7_cda_parser = {c_begin, c_start, c_end, c_text, NULL, c_free};
