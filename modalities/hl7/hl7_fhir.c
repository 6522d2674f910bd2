/* FHIR XML (R4; DSTU2 where it differs only in names, e.g. valueQuantity/units).
 *
 * Resources are recognised as children of Bundle.entry.resource or of contained, or as the
 * root. Observation and Patient are read; any other resource (DiagnosticReport, ...) is a
 * container whose contained Observations wait until it ends, because its subject and
 * effective time (which they inherit) may come after them. Everything else is skipped;
 * narrative (xhtml) is skipped without being looked at. All FHIR values are attributes. */
#include <string.h>

#include "hl7.h"

enum {
    N_Bundle, N_entry, N_fullUrl, N_resource, N_contained, N_Observation, N_Patient, N_id, N_status,
    N_code, N_coding, N_system, N_display, N_text, N_subject, N_reference, N_effectiveDateTime,
    N_effectivePeriod, N_start, N_effectiveInstant, N_issued, N_valueQuantity, N_value, N_comparator,
    N_unit, N_units, N_valueCodeableConcept, N_valueString, N_valueBoolean, N_valueInteger,
    N_dataAbsentReason, N_component, N_gender, N_birthDate, N_appliesDateTime, N_diagnosticDateTime, N_interpretation, N_COUNT
};
static const char *const NAMES[N_COUNT] = {
    "Bundle", "entry", "fullUrl", "resource", "contained", "Observation", "Patient", "id", "status",
    "code", "coding", "system", "display", "text", "subject", "reference", "effectiveDateTime",
    "effectivePeriod", "start", "effectiveInstant", "issued", "valueQuantity", "value", "comparator",
    "unit", "units", "valueCodeableConcept", "valueString", "valueBoolean", "valueInteger",
    "dataAbsentReason", "component", "gender", "birthDate", "appliesDateTime", "diagnosticDateTime", "interpretation"};

enum { CODING_NONE, CODING_CODE, CODING_VALUE };

typedef struct fhir {
    const xmlChar *ns; /* the FHIR namespace, or NULL for a fragment read with fragments=1 */
    const xmlChar *nm[N_COUNT];
    const xmlChar *stk[HL7_MAX_DEPTH];
    char fullurl[HL7_TEXT];
    /* a container resource (DiagnosticReport, ...) and its contained Observations */
    int cont_depth;
    char cont_subject[HL7_TEXT];
    int64_t cont_time, cont_issued;
    hl7_item_t *pending;
    size_t n_pending, cap_pending;
    int pending_overflow;
    /* the Observation being read */
    int obs_depth, comp_depth, in_container;
    hl7_item_t obs;
    hl7_item_t comp[HL7_MAX_COMPONENTS];
    int n_comp;
    hl7_item_t *cur;
    int64_t issued;
    /* a coding being read */
    int coding_kind, coding_depth;
    char c_system[HL7_TEXT], c_code[64], c_display[HL7_TEXT];
    /* a valueQuantity being read */
    int q_depth;
    char q_unit[64], q_code[64], q_system[HL7_TEXT];
    /* the Patient being read */
    int pat_depth;
    char p_id[HL7_TEXT], p_gender[32], p_birth[64];
    long p_line;
} fhir_t;

static int f_begin(hl7_src_t *s)
{
    fhir_t *f = s->host->malloc(sizeof *f);
    if (!f)
        return MMDX_ENOMEM;
    memset(f, 0, sizeof *f);
    for (int i = 0; i < N_COUNT; i++)
        f->nm[i] = xmlTextReaderConstString(s->r, BAD_CAST NAMES[i]);
    f->ns = xmlTextReaderConstNamespaceUri(s->r);
    f->cont_depth = f->obs_depth = f->comp_depth = f->pat_depth = f->q_depth = f->coding_depth = -1;
    s->fmt = f;
    return MMDX_OK;
}

static void f_free(hl7_src_t *s)
{
    fhir_t *f = s->fmt;
    if (!f)
        return;
    s->host->free(f->pending);
    s->host->free(f);
    s->fmt = NULL;
}

/* Patient id of a reference: "Patient/p1", "https://host/base/Patient/p1", "urn:uuid:..."
 * (through the fullUrl of a Patient entry read before), "#p1" (contained). */
static void patient_of(hl7_src_t *s, const char *ref, char *out, size_t size)
{
    /* aliases are Bundle fullUrls (urn:uuid:..., absolute URLs): a relative "Patient/x" is not one */
    const char *id = strchr(ref, ':') ? mmdx_hl7_patient_resolve(s, ref) : NULL;
    if (!id) {
        const char *p = strstr(ref, "Patient/");
        id = p ? p + 8 : ref[0] == '#' ? ref + 1 : ref;
    }
    snprintf(out, size, "%s", id);
}

static void set_time(hl7_item_t *it, const char *v)
{
    int64_t t;
    if (mmdx_hl7_parse_time(v, &t) != 0) {
        if (!it->bad) {
            it->bad = "invalid date/time: ";
            snprintf(it->bad_detail, sizeof it->bad_detail, "'%.100s'", v);
        }
        return;
    }
    it->time = t;
}

/* Read the value attribute of the current element (FHIR primitives). */
static int val(hl7_src_t *s, hl7_item_t *it, char *buf, size_t size)
{
    int k = mmdx_hl7_attr(s, "value", NULL, buf, size);
    if (k < 0 && it && !it->bad) {
        it->bad = "text too long in a value attribute";
        it->bad_detail[0] = '\0';
    }
    return k;
}

/* Display names and free text: a long one is cut, never a reason to reject the result. */
static void val_cut(hl7_src_t *s, char *buf, size_t size)
{
    if (mmdx_hl7_attr(s, "value", NULL, buf, size) < 0 && size > 4)
        memcpy(buf + size - 4, "...", 4);
}

static int push_pending(hl7_src_t *s, fhir_t *f, const hl7_item_t *it)
{
    if (f->n_pending >= HL7_MAX_PENDING) {
        f->pending_overflow++;
        return MMDX_OK;
    }
    if (f->n_pending == f->cap_pending) {
        size_t nc = f->cap_pending ? f->cap_pending * 2 : 64;
        hl7_item_t *nv = s->host->realloc(f->pending, nc * sizeof *nv);
        if (!nv)
            return MMDX_ENOMEM;
        f->pending = nv;
        f->cap_pending = nc;
    }
    f->pending[f->n_pending++] = *it;
    return MMDX_OK;
}

static int deliver(hl7_src_t *s, fhir_t *f, hl7_item_t *it)
{
    return f->in_container ? push_pending(s, f, it) : mmdx_hl7_emit(s, it);
}

static int finish_obs(hl7_src_t *s, fhir_t *f)
{
    hl7_item_t *m = &f->obs;
    if (m->time == MMDX_TIME_UNKNOWN && f->issued != MMDX_TIME_UNKNOWN)
        m->time = f->issued;
    int rc = MMDX_OK;
    if (f->n_comp == 0 || m->has_number || m->has_text || m->has_coded || m->absent || m->bad)
        rc = deliver(s, f, m);
    for (int i = 0; i < f->n_comp && rc == MMDX_OK; i++) {
        hl7_item_t *c = &f->comp[i];
        memcpy(c->patient, m->patient, sizeof c->patient);
        memcpy(c->status, m->status, sizeof c->status);
        c->time = m->time;
        if (m->bad && !c->bad) { /* a malformed parent (bad date, ...) spoils its components */
            c->bad = m->bad;
            memcpy(c->bad_detail, m->bad_detail, sizeof c->bad_detail);
        }
        rc = deliver(s, f, c);
    }
    f->obs_depth = f->comp_depth = -1;
    f->cur = NULL;
    return rc;
}

static int flush_container(hl7_src_t *s, fhir_t *f)
{
    int rc = MMDX_OK;
    for (size_t i = 0; i < f->n_pending && rc == MMDX_OK; i++) {
        hl7_item_t *it = &f->pending[i];
        if (!*it->patient && *f->cont_subject)
            memcpy(it->patient, f->cont_subject, sizeof it->patient);
        if (it->time == MMDX_TIME_UNKNOWN)
            it->time = f->cont_time != MMDX_TIME_UNKNOWN ? f->cont_time : f->cont_issued;
        rc = mmdx_hl7_emit(s, it);
    }
    if (rc == MMDX_OK && f->pending_overflow)
        rc = mmdx_hl7_reject(s, f->cont_subject, mmdx_hl7_line(s), MMDX_ESECURITY,
                        "%d contained observations beyond the limit of %d per resource were dropped",
                        f->pending_overflow, HL7_MAX_PENDING);
    f->n_pending = 0;
    f->pending_overflow = 0;
    f->cont_depth = -1;
    return rc;
}

/* An element inside the current Observation (or component): @p rel names from below it. */
static int item_start(hl7_src_t *s, fhir_t *f, const xmlChar *const *rel, int nrel, int depth)
{
    hl7_item_t *it = f->cur;
    const xmlChar *const *nm = f->nm;
    const xmlChar *a = rel[0], *b = nrel > 1 ? rel[1] : NULL, *c = nrel > 2 ? rel[2] : NULL;
    char buf[HL7_TEXT];
    if (nrel == 1) {
        if (a == nm[N_status] && it == &f->obs) {
            val(s, it, it->status, sizeof it->status);
        } else if (a == nm[N_effectiveDateTime] || a == nm[N_effectiveInstant] || a == nm[N_appliesDateTime] ||
                   a == nm[N_diagnosticDateTime]) {
            if (val(s, it, buf, sizeof buf) > 0)
                set_time(it, buf);
        } else if (a == nm[N_issued]) {
            if (val(s, it, buf, sizeof buf) > 0 && mmdx_hl7_parse_time(buf, &f->issued) != 0)
                f->issued = MMDX_TIME_UNKNOWN;
        } else if (a == nm[N_valueQuantity]) {
            f->q_depth = depth;
            f->q_unit[0] = f->q_code[0] = f->q_system[0] = '\0';
        } else if (a == nm[N_valueString]) {
            if (val(s, it, it->level, sizeof it->level) > 0)
                it->has_text = 1;
        } else if (a == nm[N_valueInteger]) {
            if (val(s, it, it->value, sizeof it->value) > 0)
                it->has_number = 1;
        } else if (a == nm[N_valueBoolean]) {
            if (val(s, it, it->level, sizeof it->level) > 0)
                it->has_coded = 1;
        } else if (a == nm[N_dataAbsentReason]) {
            it->absent = 1;
        } else if (a == nm[N_component] && it == &f->obs) {
            if (f->n_comp >= HL7_MAX_COMPONENTS) {
                if (!f->obs.bad) {
                    f->obs.bad = "too many components";
                    snprintf(f->obs.bad_detail, sizeof f->obs.bad_detail, " (limit %d)", HL7_MAX_COMPONENTS);
                }
                return HL7_SKIP;
            }
            f->cur = &f->comp[f->n_comp++];
            mmdx_hl7_item_reset(f->cur);
            f->cur->line = mmdx_hl7_line(s);
            f->comp_depth = depth;
        } else if (a == nm[N_valueCodeableConcept] || a == nm[N_code] || a == nm[N_subject] ||
                   a == nm[N_effectivePeriod] || a == nm[N_interpretation]) {
            /* read below */
        } else if (strncmp((const char *)a, "value", 5) == 0) {
            if (!it->bad) {
                it->bad = "unsupported value type ";
                snprintf(it->bad_detail, sizeof it->bad_detail, "%s", (const char *)a);
            }
            return HL7_SKIP;
        } else if (a != nm[N_id]) {
            return HL7_SKIP; /* referenceRange, interpretation, category, performer, contained, ... */
        }
        return MMDX_OK;
    }
    if (a == nm[N_code] || a == nm[N_valueCodeableConcept]) {
        int kind = a == nm[N_code] ? CODING_CODE : CODING_VALUE;
        if (nrel == 2 && b == nm[N_coding]) {
            f->coding_kind = kind;
            f->coding_depth = depth;
            f->c_system[0] = f->c_code[0] = f->c_display[0] = '\0';
        } else if (nrel == 2 && b == nm[N_text]) {
            if (kind == CODING_CODE && !*it->display)
                val_cut(s, it->display, sizeof it->display);
            else if (kind == CODING_VALUE && !it->has_coded && val(s, it, it->level, sizeof it->level) > 0)
                it->has_coded = 1;
        } else if (nrel == 3 && b == nm[N_coding] && f->coding_depth == depth - 1) {
            if (c == nm[N_system])
                val(s, it, f->c_system, sizeof f->c_system);
            else if (c == nm[N_code])
                val(s, it, f->c_code, sizeof f->c_code);
            else if (c == nm[N_display])
                val_cut(s, f->c_display, sizeof f->c_display);
        }
        return MMDX_OK;
    }
    if (a == nm[N_interpretation]) {
        if (nrel == 3 && b == nm[N_coding] && c == nm[N_code] && !*it->interp)
            val_cut(s, it->interp, sizeof it->interp);
        return nrel < 3 && (nrel == 1 || b == nm[N_coding]) ? MMDX_OK : HL7_SKIP;
    }
    if (a == nm[N_subject] && nrel == 2 && b == nm[N_reference] && it == &f->obs) {
        if (val(s, it, buf, sizeof buf) > 0)
            patient_of(s, buf, it->patient, sizeof it->patient);
        return MMDX_OK;
    }
    if (a == nm[N_effectivePeriod] && nrel == 2 && b == nm[N_start]) {
        if (val(s, it, buf, sizeof buf) > 0)
            set_time(it, buf);
        return MMDX_OK;
    }
    if (a == nm[N_valueQuantity] && nrel == 2) {
        if (b == nm[N_value]) {
            if (val(s, it, it->value, sizeof it->value) > 0)
                it->has_number = 1;
        } else if (b == nm[N_comparator]) {
            val(s, it, it->comparator, sizeof it->comparator);
        } else if (b == nm[N_unit] || b == nm[N_units]) {
            val(s, it, f->q_unit, sizeof f->q_unit);
        } else if (b == nm[N_code]) {
            val(s, it, f->q_code, sizeof f->q_code);
        } else if (b == nm[N_system]) {
            val(s, it, f->q_system, sizeof f->q_system);
        }
        return MMDX_OK;
    }
    return MMDX_OK;
}

static void coding_done(fhir_t *f)
{
    hl7_item_t *it = f->cur;
    if (!it)
        return;
    if (f->coding_kind == CODING_CODE) {
        int loinc = mmdx_hl7_is_loinc_system(f->c_system);
        if (*f->c_code && ((loinc && !it->code_is_loinc) || !*it->code)) {
            mmdx_hl7_item_set(it, it->code, sizeof it->code, f->c_code);
            mmdx_hl7_item_set(it, it->system, sizeof it->system, f->c_system);
            if (*f->c_display)
                mmdx_hl7_item_set(it, it->display, sizeof it->display, f->c_display);
            it->code_is_loinc = loinc;
        }
    } else if (f->coding_kind == CODING_VALUE && !it->has_coded) {
        const char *lv = *f->c_code ? f->c_code : f->c_display;
        if (*lv) {
            mmdx_hl7_item_set(it, it->level, sizeof it->level, lv);
            it->has_coded = 1;
        }
    }
    f->coding_depth = -1;
}

static int is_resource_slot(fhir_t *f, int depth)
{
    return depth == 0 || f->stk[depth - 1] == f->nm[N_resource] || f->stk[depth - 1] == f->nm[N_contained];
}

static int f_start(hl7_src_t *s, int depth, const xmlChar *name, const xmlChar *ns, int empty)
{
    fhir_t *f = s->fmt;
    (void)empty;
    if (ns != f->ns) /* narrative xhtml, extensions in other namespaces */
        return HL7_SKIP;
    f->stk[depth] = name;
    if (f->obs_depth >= 0) {
        int base = f->comp_depth >= 0 ? f->comp_depth : f->obs_depth;
        if (depth - base > 3)
            return MMDX_OK;
        return item_start(s, f, &f->stk[base + 1], depth - base, depth);
    }
    if (f->pat_depth >= 0) {
        int rel = depth - f->pat_depth;
        hl7_item_t dummy;
        mmdx_hl7_item_reset(&dummy);
        if (rel == 1 && name == f->nm[N_id])
            val(s, &dummy, f->p_id, sizeof f->p_id);
        else if (rel == 1 && name == f->nm[N_gender])
            val(s, &dummy, f->p_gender, sizeof f->p_gender);
        else if (rel == 1 && name == f->nm[N_birthDate])
            val(s, &dummy, f->p_birth, sizeof f->p_birth);
        else
            return HL7_SKIP;
        return MMDX_OK;
    }
    if (name == f->nm[N_fullUrl] && depth > 0 && f->stk[depth - 1] == f->nm[N_entry]) {
        f->fullurl[0] = '\0';
        mmdx_hl7_attr(s, "value", NULL, f->fullurl, sizeof f->fullurl);
        return MMDX_OK;
    }
    if (name == f->nm[N_Bundle] || name == f->nm[N_entry] || name == f->nm[N_resource])
        return MMDX_OK;
    if (is_resource_slot(f, depth)) {
        if (name == f->nm[N_Observation]) {
            f->obs_depth = depth;
            f->comp_depth = -1;
            f->n_comp = 0;
            f->issued = MMDX_TIME_UNKNOWN;
            f->in_container = f->cont_depth >= 0;
            mmdx_hl7_item_reset(&f->obs);
            f->obs.line = mmdx_hl7_line(s);
            f->cur = &f->obs;
            return MMDX_OK;
        }
        if (name == f->nm[N_Patient]) {
            f->pat_depth = depth;
            f->p_id[0] = f->p_gender[0] = f->p_birth[0] = '\0';
            f->p_line = mmdx_hl7_line(s);
            return MMDX_OK;
        }
        if (f->cont_depth < 0) { /* DiagnosticReport and other containers */
            f->cont_depth = depth;
            f->cont_subject[0] = '\0';
            f->cont_time = f->cont_issued = MMDX_TIME_UNKNOWN;
            f->n_pending = 0;
            return MMDX_OK;
        }
        return HL7_SKIP;
    }
    if (f->cont_depth >= 0) {
        int rel = depth - f->cont_depth;
        char buf[HL7_TEXT];
        if (rel == 1 && (name == f->nm[N_contained] || name == f->nm[N_subject]))
            return MMDX_OK;
        if (rel == 2 && name == f->nm[N_reference] && f->stk[depth - 1] == f->nm[N_subject]) {
            if (mmdx_hl7_attr(s, "value", NULL, buf, sizeof buf) > 0)
                patient_of(s, buf, f->cont_subject, sizeof f->cont_subject);
            return MMDX_OK;
        }
        if (rel == 1 && (name == f->nm[N_effectiveDateTime] || name == f->nm[N_appliesDateTime] ||
                         name == f->nm[N_diagnosticDateTime] || name == f->nm[N_issued])) {
            int64_t *t = name == f->nm[N_issued] ? &f->cont_issued : &f->cont_time;
            if (mmdx_hl7_attr(s, "value", NULL, buf, sizeof buf) > 0 && mmdx_hl7_parse_time(buf, t) != 0)
                *t = MMDX_TIME_UNKNOWN;
            return MMDX_OK;
        }
        if (rel == 1)
            return HL7_SKIP;
    }
    return MMDX_OK;
}

static int f_end(hl7_src_t *s, int depth, const xmlChar *name, const xmlChar *ns)
{
    fhir_t *f = s->fmt;
    (void)name;
    if (ns != f->ns)
        return MMDX_OK;
    if (f->obs_depth >= 0) {
        if (depth == f->coding_depth)
            coding_done(f);
        else if (depth == f->q_depth) {
            hl7_item_t *it = f->cur;
            /* the UCUM code when the quantity says it is UCUM (or names no system), else the text */
            int ucum = !*f->q_system || strcmp(f->q_system, "http://unitsofmeasure.org") == 0;
            mmdx_hl7_item_set(it, it->unit, sizeof it->unit, (ucum && *f->q_code) ? f->q_code : f->q_unit);
            f->q_depth = -1;
        } else if (depth == f->comp_depth) {
            f->comp_depth = -1;
            f->cur = &f->obs;
        } else if (depth == f->obs_depth) {
            return finish_obs(s, f);
        }
        return MMDX_OK;
    }
    if (depth == f->pat_depth) {
        f->pat_depth = -1;
        if (!*f->p_id)
            return mmdx_hl7_reject(s, NULL, f->p_line, MMDX_EFORMAT, "Patient resource without id");
        int rc = mmdx_hl7_patient_seen(s, f->p_id, NULL);
        if (rc == MMDX_OK && *f->fullurl)
            rc = mmdx_hl7_patient_alias(s, f->fullurl, f->p_id);
        if (rc == MMDX_OK && *f->p_gender)
            rc = mmdx_hl7_patient_set_sex(s, f->p_id, f->p_gender);
        if (rc == MMDX_OK && *f->p_birth) {
            int64_t t;
            if (mmdx_hl7_parse_time(f->p_birth, &t) != 0)
                return mmdx_hl7_reject(s, f->p_id, f->p_line, MMDX_EFORMAT, "invalid birthDate '%s'", f->p_birth);
            rc = mmdx_hl7_patient_set_birth(s, f->p_id, t);
        }
        return rc;
    }
    if (depth == f->cont_depth)
        return flush_container(s, f);
    return MMDX_OK;
}

const hl7_parser_t mmdx_hl7_fhir_parser = {f_begin, f_start, f_end, NULL, NULL, f_free};
