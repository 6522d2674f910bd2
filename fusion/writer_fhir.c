/* FHIR R4 XML: one Bundle (type collection) per batch, one RiskAssessment per patient and
 * target, written with libxml2's xmlTextWriter in the FHIR namespace. Element order and
 * cardinality follow the R4 StructureDefinitions of Bundle and RiskAssessment; the subset
 * written is pinned by tests/data/fhir_riskassessment.rng. Ids and fullUrls are derived
 * from the batch title, patient and target, so a rerun writes the same bytes. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <libxml/xmlwriter.h>

#include "writer_internal.h"

#define FHIR_NS "http://hl7.org/fhir"
#define XHTML_NS "http://www.w3.org/1999/xhtml"
#define RISK_PROB_SYSTEM "http://terminology.hl7.org/CodeSystem/risk-probability"

typedef struct fhir_state {
    xmlTextWriterPtr x;
    int bad; /* an xmlTextWriter call failed */
} fhir_state_t;

#define X(w) (((fhir_state_t *)(w)->state)->x)

static void chk(mmdx_writer_t *w, int rc)
{
    if (rc < 0)
        ((fhir_state_t *)w->state)->bad = 1;
}

static void start(mmdx_writer_t *w, const char *name)
{
    chk(w, xmlTextWriterStartElement(X(w), BAD_CAST name));
}

static void end(mmdx_writer_t *w)
{
    chk(w, xmlTextWriterEndElement(X(w)));
}

/* A primitive: <name value="..."/>. */
static void prim(mmdx_writer_t *w, const char *name, const char *value)
{
    start(w, name);
    chk(w, xmlTextWriterWriteAttribute(X(w), BAD_CAST "value", BAD_CAST value));
    end(w);
}

/* FHIR decimal: fixed notation, no trailing zeros ("0.4213", "1", "0"). */
static void decimal(char *buf, size_t size, double x)
{
    if (!isfinite(x))
        x = 0;
    snprintf(buf, size, "%.6f", x);
    char *dot = strchr(buf, '.');
    if (dot) {
        char *e = buf + strlen(buf) - 1;
        while (e > dot && *e == '0')
            *e-- = '\0';
        if (e == dot)
            *e = '\0';
    }
    if (strcmp(buf, "-0") == 0)
        snprintf(buf, size, "0");
}

/* FHIR id: [A-Za-z0-9\-\.]{1,64}. */
static int is_fhir_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
              *s == '.'))
            return 0;
    return 1;
}

/* A FHIR relative reference "Type/id" (Type: a resource name, id: a FHIR id). */
static int is_fhir_reference(const char *s)
{
    const char *slash = strchr(s, '/');
    char id[80];
    if (slash == NULL || slash == s || !(*s >= 'A' && *s <= 'Z') || strlen(slash + 1) >= sizeof id)
        return 0;
    for (const char *c = s; c < slash; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z')))
            return 0;
    return is_fhir_id(slash + 1);
}

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    h ^= 0xff; /* separator, so ("ab","c") and ("a","bc") differ */
    h *= 1099511628211ULL;
    return h;
}

/* A deterministic name-based UUID (RFC 9562 version 8) for the entry's fullUrl. */
static void entry_uuid(const mmdx_writer_t *w, const char *patient, const char *target, char *buf, size_t size)
{
    uint64_t a = 14695981039346656037ULL, b = 0x9e3779b97f4a7c15ULL;
    const char *parts[] = {"mmdx-risk", w->title ? w->title : "", patient, target};
    for (size_t k = 0; k < 4; k++) {
        a = fnv(a, parts[k]);
        b = fnv(b, parts[k]);
    }
    a = (a & ~0xf000ULL) | 0x8000ULL;                       /* version 8 */
    b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; /* variant 10 */
    snprintf(buf, size, "urn:uuid:%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32), (unsigned)((a >> 16) & 0xffff),
             (unsigned)(a & 0xffff), (unsigned)(b >> 48), (unsigned long long)(b & 0xffffffffffffULL));
}

/* Risk-probability code (http://terminology.hl7.org/CodeSystem/risk-probability) of a
 * probability; the cut points are documented in docs/output.md. */
static void qualitative(double p, const char **code, const char **display)
{
    if (p < 0.02) {
        *code = "negligible";
        *display = "Negligible likelihood";
    } else if (p < 0.10) {
        *code = "low";
        *display = "Low likelihood";
    } else if (p < 0.50) {
        *code = "moderate";
        *display = "Moderate likelihood";
    } else if (p < 0.98) {
        *code = "high";
        *display = "High likelihood";
    } else {
        *code = "certain";
        *display = "Certain";
    }
}

static int fhir_begin(mmdx_writer_t *w, mmdx_error_t *err)
{
    fhir_state_t *s = mmdx_calloc(1, sizeof(*s));
    xmlOutputBufferPtr buf;
    if (s == NULL)
        return mmdx_error_set(err, MMDX_ENOMEM, w->path, NULL, 0, "out of memory");
    w->state = s;
    if ((buf = xmlOutputBufferCreateFile(w->f, NULL)) == NULL)
        return mmdx_error_set(err, MMDX_ENOMEM, w->path, NULL, 0, "out of memory (XML output buffer)");
    if ((s->x = xmlNewTextWriter(buf)) == NULL) {
        xmlOutputBufferClose(buf);
        return mmdx_error_set(err, MMDX_ENOMEM, w->path, NULL, 0, "out of memory (XML writer)");
    }
    chk(w, xmlTextWriterSetIndent(s->x, 1));
    chk(w, xmlTextWriterSetIndentString(s->x, BAD_CAST "  "));
    chk(w, xmlTextWriterStartDocument(s->x, NULL, "UTF-8", NULL));
    chk(w, xmlTextWriterStartElementNS(s->x, NULL, BAD_CAST "Bundle", BAD_CAST FHIR_NS));
    if (w->title) {
        start(w, "identifier");
        prim(w, "system", "urn:mmdx:batch");
        prim(w, "value", w->title);
        end(w);
    }
    prim(w, "type", "collection");
    if (w->timestamp)
        prim(w, "timestamp", w->timestamp);
    if (s->bad)
        return mmdx_error_set(err, MMDX_EIO, w->path, NULL, 0, "writing the FHIR Bundle failed");
    return MMDX_OK;
}

static void note(mmdx_writer_t *w, const char *text)
{
    start(w, "note");
    prim(w, "text", text);
    end(w);
}

static void suggestion_text(wstr_t *b, const mmdx_suggestion_t *it)
{
    wstr_printf(b, "%s: %s (%s)", mmdx_advice_status_name(it->status), it->name ? it->name : it->treatment,
                it->treatment);
    if (it->target)
        wstr_printf(b, " for %s = %s, probability %.3f (95%% CrI %.3f-%.3f), threshold %.3g, expected benefit %.3g",
                    it->target, it->cls ? it->cls : "", it->p, it->ci_low, it->ci_high, it->threshold, it->benefit);
    if (it->indication_citation && it->indication_citation[0])
        wstr_printf(b, " [%s]", it->indication_citation);
    for (size_t r = 0; r < it->n_fired; r++) {
        const mmdx_fired_t *f = &it->fired[r];
        wstr_printf(b, "%s %s: %s", r ? ";" : ". Rules:", f->unknown ? "unknown" : mmdx_kb_action_name(f->action),
                    f->reason ? f->reason : (f->advice ? f->advice : ""));
        if (f->alternative && f->alternative[0])
            wstr_printf(b, " (alternative: %s)", f->alternative);
        if (f->citation && f->citation[0])
            wstr_printf(b, " [%s]", f->citation);
    }
}

static int pred_matches(const mmdx_writer_patient_t *p, const char *target)
{
    for (size_t t = 0; target && t < p->n_preds; t++)
        if (strcmp(mmdx_pred_target_name(p->preds[t]), target) == 0)
            return 1;
    return 0;
}

/* The notes of the RiskAssessment of target t: the disclaimer; suggestions decided by this
 * target; on the first target also the rest of the advice and the patient's notes. */
static void notes(mmdx_writer_t *w, const mmdx_writer_patient_t *p, size_t t, wstr_t *b)
{
    const char *target = mmdx_pred_target_name(p->preds[t]);
    note(w, writer_disclaimer_en);
    if (p->advice) {
        const mmdx_advice_t *a = p->advice;
        for (size_t i = 0; i < a->n_items; i++) {
            const mmdx_suggestion_t *it = &a->items[i];
            int mine = it->target ? strcmp(it->target, target) == 0 : 0;
            if (!mine && !(t == 0 && !pred_matches(p, it->target)))
                continue;
            b->len = 0;
            suggestion_text(b, it);
            if (!b->oom)
                note(w, b->s);
        }
        if (t == 0) {
            b->len = 0;
            wstr_printf(b, "triage: %s, %s", a->triage.department ? a->triage.department : "",
                        mmdx_urgency_name(a->triage.urgency));
            if (a->triage.target)
                wstr_printf(b, " (decided by %s, probability %.3f)", a->triage.target, a->triage.p);
            if (!b->oom)
                note(w, b->s);
            if (a->n_tests > 0) {
                b->len = 0;
                wstr_printf(b, "next best test (expected information gain, nats):");
                for (size_t k = 0; k < a->n_tests; k++)
                    wstr_printf(b, "%s %s %.3g", k ? "," : "", a->tests[k].candidate, a->tests[k].gain);
                if (!b->oom)
                    note(w, b->s);
            }
        }
    }
    if (t == 0)
        for (size_t k = 0; k < p->n_notes; k++)
            note(w, p->notes[k]);
}

static void risk_assessment(mmdx_writer_t *w, const mmdx_writer_patient_t *p, size_t t, wstr_t *b)
{
    const mmdx_pred_t *pr = p->preds[t];
    const char *target = mmdx_pred_target_name(pr);
    char num[64], uuid[64], id[96];
    size_t idx[64], nk;
    size_t K = mmdx_pred_n_classes(pr), M = mmdx_pred_n_modalities(pr);
    size_t *cls = K <= 64 ? idx : mmdx_calloc(K, sizeof(size_t));
    if (cls == NULL) {
        ((fhir_state_t *)w->state)->bad = 1;
        return;
    }
    nk = writer_report_classes(pr, cls);
    w->n_records++;
    entry_uuid(w, p->patient_id, target, uuid, sizeof(uuid));
    snprintf(id, sizeof(id), "mmdx-%zu", w->n_records);

    start(w, "entry");
    prim(w, "fullUrl", uuid);
    start(w, "resource");
    start(w, "RiskAssessment");
    prim(w, "id", id);
    /* narrative (dom-6: a resource should have one) */
    start(w, "text");
    prim(w, "status", "generated");
    chk(w, xmlTextWriterStartElementNS(X(w), NULL, BAD_CAST "div", BAD_CAST XHTML_NS));
    b->len = 0;
    wstr_printf(b, "Risk of %s for patient %s:", target, p->patient_id);
    for (size_t j = 0; j < nk; j++) {
        double lo, hi;
        mmdx_pred_interval(pr, cls[j], &lo, &hi);
        wstr_printf(b, " %s = %s: %.1f%% (95%% CrI %.1f-%.1f%%)%s", target, mmdx_pred_class_name(pr, cls[j]),
                    100 * mmdx_pred_prob(pr, cls[j]), 100 * lo, 100 * hi, j + 1 < nk ? ";" : ".");
    }
    wstr_printf(b, " %s", writer_disclaimer_en);
    if (!b->oom)
        chk(w, xmlTextWriterWriteElement(X(w), BAD_CAST "p", BAD_CAST b->s));
    end(w); /* div */
    end(w); /* text */
    prim(w, "status", "final");
    start(w, "method");
    prim(w, "text", "libmmdx multi-modal Bayesian fusion (posterior predictive probability)");
    end(w);
    start(w, "code");
    start(w, "coding");
    prim(w, "system", "urn:mmdx:target");
    prim(w, "code", target);
    end(w);
    prim(w, "text", target);
    end(w);
    start(w, "subject");
    if (is_fhir_id(p->patient_id)) {
        b->len = 0;
        wstr_printf(b, "Patient/%s", p->patient_id);
        if (!b->oom)
            prim(w, "reference", b->s);
    } else {
        start(w, "identifier");
        prim(w, "value", p->patient_id);
        end(w);
    }
    end(w);
    if (w->timestamp)
        prim(w, "occurrenceDateTime", w->timestamp);
    for (size_t k = 0; k < p->n_basis; k++) {
        start(w, "basis"); /* "Observation/x": a reference; anything else ("file:line"): a display */
        prim(w, is_fhir_reference(p->basis[k]) ? "reference" : "display", p->basis[k]);
        end(w);
    }
    for (size_t j = 0; j < nk; j++) {
        size_t k = cls[j];
        double pk = mmdx_pred_prob(pr, k), lo, hi, pv;
        const char *qcode, *qdisp;
        mmdx_pred_interval(pr, k, &lo, &hi);
        start(w, "prediction");
        start(w, "outcome");
        start(w, "coding");
        b->len = 0;
        wstr_printf(b, "urn:mmdx:target:%s", target);
        if (!b->oom)
            prim(w, "system", b->s);
        prim(w, "code", mmdx_pred_class_name(pr, k));
        end(w);
        b->len = 0;
        wstr_printf(b, "%s = %s", target, mmdx_pred_class_name(pr, k));
        if (!b->oom)
            prim(w, "text", b->s);
        end(w); /* outcome */
        decimal(num, sizeof(num), pk);
        prim(w, "probabilityDecimal", num);
        qualitative(pk, &qcode, &qdisp);
        start(w, "qualitativeRisk");
        start(w, "coding");
        prim(w, "system", RISK_PROB_SYSTEM);
        prim(w, "code", qcode);
        prim(w, "display", qdisp);
        end(w);
        end(w);
        /* rationale: what the probability rests on, including its uncertainty */
        char flags[96];
        writer_flags_str(mmdx_pred_flags(pr), flags, sizeof(flags));
        mmdx_pred_ood(pr, NULL, &pv);
        b->len = 0;
        wstr_printf(b, "95%% credible interval %.4f-%.4f; evidence (log-odds):", lo, hi);
        for (size_t m = 0; m < M; m++) {
            if (mmdx_pred_modality_present(pr, m))
                wstr_printf(b, " %s %+.3g", mmdx_pred_modality(pr, m), mmdx_pred_evidence(pr, k, m));
            else
                wstr_printf(b, " %s missing", mmdx_pred_modality(pr, m));
            wstr_printf(b, "%s", m + 1 < M ? "," : "");
        }
        size_t nt = mmdx_pred_n_top(pr, k);
        if (nt > 0)
            wstr_printf(b, "; top features:");
        for (size_t r = 0; r < nt; r++) {
            double c = 0;
            const char *fid = mmdx_pred_top_feature(pr, k, r, &c);
            wstr_printf(b, "%s %s %+.3g", r ? "," : "", fid, c);
        }
        wstr_printf(b, "; missing features: %zu; out-of-distribution p-value %.3g; flags: %s",
                    mmdx_pred_n_missing(pr), pv, flags);
        if (!b->oom)
            prim(w, "rationale", b->s);
        end(w); /* prediction */
    }
    notes(w, p, t, b);
    end(w); /* RiskAssessment */
    end(w); /* resource */
    end(w); /* entry */
    if (cls != idx)
        mmdx_free(cls);
}

static int fhir_patient(mmdx_writer_t *w, const mmdx_writer_patient_t *p, mmdx_error_t *err)
{
    fhir_state_t *s = w->state;
    wstr_t b = {0};
    if (p->n_preds == 0) {
        writer_unrepresented(w, p->patient_id, "patient without predictions: no RiskAssessment to write");
        return MMDX_OK;
    }
    for (size_t t = 0; t < p->n_preds; t++)
        risk_assessment(w, p, t, &b);
    int oom = b.oom;
    wstr_free(&b);
    if (oom)
        return mmdx_error_set(err, MMDX_ENOMEM, w->path, p->patient_id, 0, "out of memory");
    if (s->bad)
        return mmdx_error_set(err, MMDX_EIO, w->path, p->patient_id, 0, "writing the RiskAssessment failed");
    return MMDX_OK;
}

static int fhir_end(mmdx_writer_t *w, mmdx_error_t *err)
{
    fhir_state_t *s = w->state;
    chk(w, xmlTextWriterEndDocument(s->x));
    chk(w, xmlTextWriterFlush(s->x));
    if (s->bad)
        return mmdx_error_set(err, MMDX_EIO, w->path, NULL, 0, "finishing the FHIR Bundle failed");
    return MMDX_OK;
}

static void fhir_release(mmdx_writer_t *w)
{
    fhir_state_t *s = w->state;
    if (s == NULL)
        return;
    if (s->x)
        xmlFreeTextWriter(s->x); /* closes the output buffer, which flushes but does not close w->f */
    mmdx_free(s);
    w->state = NULL;
}

const writer_ops_t mmdx_writer_fhir_ops = {fhir_begin, fhir_patient, fhir_end, fhir_release};
