/* HL7 v2.xml (urn:hl7-org:v2xml) ORU^R01: PID-3/7/8, OBR-7, OBX-2/3/5/6/11/14.
 *
 * Values are element text. A file may hold one ORU_R01 message as its root, or several
 * under any wrapper element in the same namespace (what a batch export writes). The patient
 * of an OBX is the PID of its message. */
#include <stdlib.h>
#include <string.h>

#include "hl7.h"

typedef struct v2 {
    const xmlChar *ns;
    const char *stk[HL7_MAX_DEPTH];
    int pid_depth, obr_depth, obx_depth;
    int pid3_seen, obx5_seen;
    char patient[HL7_TEXT], birth[64], sex[16];
    long pid_line;
    int64_t obr_time;
    /* the OBX being read */
    hl7_item_t it;
    char type[16];
    char code[3][HL7_TEXT];  /* OBX-3 .1 .2 .3 */
    char alt[3][HL7_TEXT];   /* OBX-3 .4 .5 .6 (alternate coding) */
    char v_text[HL7_TEXT];   /* OBX-5 as plain text */
    char v_comp[4][HL7_TEXT]; /* OBX-5 components .1-.4 (CE/CWE/SN) */
    char obx14[64];
    char obr7[64];
    char tmp[64];
} v2_t;

static int v_begin(hl7_src_t *s)
{
    v2_t *v = s->host->malloc(sizeof *v);
    if (!v)
        return MMDX_ENOMEM;
    memset(v, 0, sizeof *v);
    v->ns = xmlTextReaderConstNamespaceUri(s->r);
    v->pid_depth = v->obr_depth = v->obx_depth = -1;
    v->obr_time = MMDX_TIME_UNKNOWN;
    s->fmt = v;
    return MMDX_OK;
}

static void v_free(hl7_src_t *s)
{
    s->host->free(s->fmt);
    s->fmt = NULL;
}

/* "OBX.5" -> 5 when the segment is @p seg; "CE.2" -> 2 for any type. 0 otherwise. */
static int number_after_dot(const char *name, const char *seg)
{
    const char *p = name;
    if (seg) {
        while (*seg && *p == *seg)
            p++, seg++;
        if (*seg)
            return 0;
    } else {
        while (*p && *p != '.')
            p++;
    }
    if (*p != '.')
        return 0;
    int v = 0;
    for (p++; *p >= '0' && *p <= '9' && v < 1000; p++)
        v = v * 10 + (*p - '0');
    return *p ? 0 : v;
}

static void append(hl7_item_t *it, char *dst, size_t size, const char *src)
{
    size_t have = strlen(dst), add = strlen(src);
    if (have + add >= size) {
        if (!it->bad) {
            it->bad = "text too long in a field";
            it->bad_detail[0] = '\0';
        }
        add = size - 1 - have;
    }
    memcpy(dst + have, src, add);
    dst[have + add] = '\0';
}

static int v_start(hl7_src_t *s, int depth, const xmlChar *name, const xmlChar *ns, int empty)
{
    v2_t *v = s->fmt;
    (void)empty;
    if (ns != v->ns)
        return HL7_SKIP;
    const char *n = (const char *)name;
    v->stk[depth] = n;
    if (n[0] != 'O' && n[0] != 'P' && v->obx_depth < 0 && v->pid_depth < 0 && v->obr_depth < 0)
        return MMDX_OK; /* quick path: only ORU_R01, PID, OBR and OBX open a state */
    if (v->obx_depth >= 0 || v->pid_depth >= 0 || v->obr_depth >= 0) {
        if (v->obx_depth >= 0 && depth == v->obx_depth + 1 && strcmp(n, "OBX.5") == 0 && v->obx5_seen++)
            return HL7_SKIP; /* repeated OBX-5: the first one is the value */
        if (v->pid_depth >= 0 && depth == v->pid_depth + 1 && strcmp(n, "PID.3") == 0 && v->pid3_seen++)
            return HL7_SKIP; /* repeated PID-3: the first identifier is the patient id */
        return MMDX_OK;
    }
    if (strcmp(n, "ORU_R01") == 0) {
        v->patient[0] = v->birth[0] = v->sex[0] = '\0';
        v->obr_time = MMDX_TIME_UNKNOWN;
    } else if (strcmp(n, "PID") == 0) {
        v->pid_depth = depth;
        v->pid3_seen = 0;
        v->patient[0] = v->birth[0] = v->sex[0] = '\0';
        v->pid_line = mmdx_hl7_line(s);
    } else if (strcmp(n, "OBR") == 0) {
        v->obr_depth = depth;
        v->obr7[0] = '\0';
        v->obr_time = MMDX_TIME_UNKNOWN;
    } else if (strcmp(n, "OBX") == 0) {
        v->obx_depth = depth;
        v->obx5_seen = 0;
        mmdx_hl7_item_reset(&v->it);
        v->it.line = mmdx_hl7_line(s);
        v->type[0] = v->v_text[0] = v->obx14[0] = '\0';
        for (int i = 0; i < 3; i++)
            v->code[i][0] = v->alt[i][0] = '\0';
        for (int i = 0; i < 4; i++)
            v->v_comp[i][0] = '\0';
    }
    return MMDX_OK;
}

static int v_text(hl7_src_t *s, int depth, const xmlChar *value)
{
    v2_t *v = s->fmt;
    const char *t = (const char *)value;
    int el = depth - 1; /* depth of the element holding the text */
    hl7_item_t *it = &v->it;
    if (v->obx_depth >= 0 && el > v->obx_depth) {
        int field = number_after_dot(v->stk[v->obx_depth + 1], "OBX");
        int comp = el >= v->obx_depth + 2 ? number_after_dot(v->stk[v->obx_depth + 2], NULL) : 0;
        if (el > v->obx_depth + 2)
            return MMDX_OK; /* subcomponents */
        switch (field) {
        case 2:
            append(it, v->type, sizeof v->type, t);
            break;
        case 3:
            if (comp >= 1 && comp <= 3)
                append(it, v->code[comp - 1], sizeof v->code[0], t);
            else if (comp >= 4 && comp <= 6)
                append(it, v->alt[comp - 4], sizeof v->alt[0], t);
            break;
        case 5:
            if (comp == 0)
                append(it, v->v_text, sizeof v->v_text, t);
            else if (comp <= 4)
                append(it, v->v_comp[comp - 1], sizeof v->v_comp[0], t);
            break;
        case 6:
            if (comp <= 1)
                append(it, it->unit, sizeof it->unit, t);
            break;
        case 8:
            if (comp <= 1)
                append(it, it->interp, sizeof it->interp, t);
            break;
        case 11:
            append(it, it->status, sizeof it->status, t);
            break;
        case 14:
            if (comp <= 1)
                append(it, v->obx14, sizeof v->obx14, t);
            break;
        }
        return MMDX_OK;
    }
    if (v->pid_depth < 0 && v->obr_depth < 0)
        return MMDX_OK; /* MSH, ORC, SPM, ...: not read */
    hl7_item_t dummy; /* overflow in PID/OBR only truncates; dummy.bad tells */
    dummy.bad = NULL;
    if (v->pid_depth >= 0 && el > v->pid_depth) {
        int field = number_after_dot(v->stk[v->pid_depth + 1], "PID");
        int comp = el >= v->pid_depth + 2 ? number_after_dot(v->stk[v->pid_depth + 2], NULL) : 0;
        if (field == 3 && comp == 1 && el == v->pid_depth + 2)
            append(&dummy, v->patient, sizeof v->patient, t);
        else if (field == 7 && comp <= 1 && el <= v->pid_depth + 2)
            append(&dummy, v->birth, sizeof v->birth, t);
        else if (field == 8 && comp == 0)
            append(&dummy, v->sex, sizeof v->sex, t);
        if (dummy.bad && field == 3)
            return mmdx_hl7_reject(s, NULL, v->pid_line, MMDX_EFORMAT, "PID-3 patient id longer than %d bytes",
                              HL7_TEXT - 1);
    } else if (v->obr_depth >= 0 && el > v->obr_depth) {
        int field = number_after_dot(v->stk[v->obr_depth + 1], "OBR");
        int comp = el >= v->obr_depth + 2 ? number_after_dot(v->stk[v->obr_depth + 2], NULL) : 0;
        if (field == 7 && comp <= 1 && el <= v->obr_depth + 2)
            append(&dummy, v->obr7, sizeof v->obr7, t);
    }
    return MMDX_OK;
}

static int finish_obx(hl7_src_t *s, v2_t *v)
{
    hl7_item_t *it = &v->it;
    memcpy(it->patient, v->patient, sizeof it->patient); /* same size, NUL-terminated */
    mmdx_hl7_trim(v->type);
    mmdx_hl7_trim(it->status);
    mmdx_hl7_trim(it->unit);
    mmdx_hl7_trim(it->interp);
    for (int i = 0; i < 3; i++) {
        mmdx_hl7_trim(v->code[i]);
        mmdx_hl7_trim(v->alt[i]);
    }
    /* the LOINC coding of OBX-3, primary or alternate */
    int primary = !mmdx_hl7_is_loinc_system(v->code[2]) && mmdx_hl7_is_loinc_system(v->alt[2]) && *v->alt[0] ? 0 : 1;
    char(*c)[HL7_TEXT] = primary ? v->code : v->alt;
    mmdx_hl7_item_set(it, it->code, sizeof it->code, c[0]);
    mmdx_hl7_item_set(it, it->display, sizeof it->display, c[1]);
    mmdx_hl7_item_set(it, it->system, sizeof it->system, *c[2] ? c[2] : "local");
    it->code_is_loinc = mmdx_hl7_is_loinc_system(c[2]);
    mmdx_hl7_trim(v->obx14);
    const char *ts = *v->obx14 ? v->obx14 : NULL;
    if (ts) {
        if (mmdx_hl7_parse_time(ts, &it->time) != 0 && !it->bad) {
            it->time = MMDX_TIME_UNKNOWN;
            it->bad = "invalid OBX-14 time ";
            snprintf(it->bad_detail, sizeof it->bad_detail, "'%s'", ts);
        }
    } else {
        it->time = v->obr_time;
    }
    const char *t = v->type;
    mmdx_hl7_trim(v->v_text);
    if (strcmp(t, "NM") == 0) {
        if (*v->v_text) {
            mmdx_hl7_item_set(it, it->value, sizeof it->value, v->v_text);
            it->has_number = 1;
        }
    } else if (strcmp(t, "SN") == 0) {
        for (int i = 0; i < 4; i++)
            mmdx_hl7_trim(v->v_comp[i]);
        if (*v->v_comp[2] || *v->v_comp[3]) {
            if (!it->bad) {
                it->bad = "structured numeric ranges and ratios are not supported: ";
                snprintf(it->bad_detail, sizeof it->bad_detail, "'%.40s%.8s%.40s'", v->v_comp[1], v->v_comp[2], v->v_comp[3]);
            }
        } else if (*v->v_comp[1]) {
            mmdx_hl7_item_set(it, it->value, sizeof it->value, v->v_comp[1]);
            if (strcmp(v->v_comp[0], "=") != 0)
                mmdx_hl7_item_set(it, it->comparator, sizeof it->comparator, v->v_comp[0]);
            it->has_number = 1;
        }
    } else if (strcmp(t, "ST") == 0 || strcmp(t, "TX") == 0 || strcmp(t, "FT") == 0) {
        if (*v->v_text) {
            mmdx_hl7_item_set(it, it->level, sizeof it->level, v->v_text);
            it->has_text = 1;
        }
    } else if (strcmp(t, "CE") == 0 || strcmp(t, "CWE") == 0 || strcmp(t, "CNE") == 0 || strcmp(t, "CF") == 0) {
        mmdx_hl7_trim(v->v_comp[0]);
        mmdx_hl7_trim(v->v_comp[1]);
        const char *lv = *v->v_comp[0] ? v->v_comp[0] : *v->v_comp[1] ? v->v_comp[1] : v->v_text;
        if (*lv) {
            mmdx_hl7_item_set(it, it->level, sizeof it->level, lv);
            it->has_coded = 1;
        }
    } else if (*t || *v->v_text) {
        if (!it->bad) {
            it->bad = "unsupported OBX-2 value type ";
            snprintf(it->bad_detail, sizeof it->bad_detail, "'%s'", t);
        }
    }
    return mmdx_hl7_emit(s, it);
}

static int v_end(hl7_src_t *s, int depth, const xmlChar *name, const xmlChar *ns)
{
    v2_t *v = s->fmt;
    (void)name;
    if (ns != v->ns)
        return MMDX_OK;
    if (depth == v->obx_depth) {
        v->obx_depth = -1;
        return finish_obx(s, v);
    }
    if (depth == v->obr_depth) {
        v->obr_depth = -1;
        mmdx_hl7_trim(v->obr7);
        if (*v->obr7 && mmdx_hl7_parse_time(v->obr7, &v->obr_time) != 0)
            v->obr_time = MMDX_TIME_UNKNOWN;
        return MMDX_OK;
    }
    if (depth == v->pid_depth) {
        v->pid_depth = -1;
        mmdx_hl7_trim(v->patient);
        mmdx_hl7_trim(v->birth);
        mmdx_hl7_trim(v->sex);
        if (!*v->patient)
            return MMDX_OK; /* its results are rejected for want of a patient */
        int rc = mmdx_hl7_patient_seen(s, v->patient, NULL);
        if (rc == MMDX_OK && *v->sex)
            rc = mmdx_hl7_patient_set_sex(s, v->patient, v->sex);
        if (rc == MMDX_OK && *v->birth) {
            int64_t t;
            if (mmdx_hl7_parse_time(v->birth, &t) != 0)
                return mmdx_hl7_reject(s, v->patient, v->pid_line, MMDX_EFORMAT, "invalid PID-7 birth date '%s'", v->birth);
            rc = mmdx_hl7_patient_set_birth(s, v->patient, t);
        }
        return rc;
    }
    return MMDX_OK;
}

const hl7_parser_t mmdx_hl7_v2_parser = {v_begin, v_start, v_end, v_text, NULL, v_free};
