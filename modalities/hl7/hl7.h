/* Internal header of the laboratory modality (HL7 XML: FHIR, v2.xml, C-CDA). Not installed.
 *
 * The adapter is one xmlTextReader loop (hl7.c) that hands element events to a format
 * parser (hl7_fhir.c, hl7_v2.c, hl7_cda.c). A parser fills a flat hl7_item_t per result
 * and calls mmdx_hl7_emit(), which does everything that does not depend on the format: code
 * selection and LOINC validation, status filtering, number parsing and censoring, unit
 * conversion, and the per-patient state that feeds demographics and derived values. */
#ifndef MMDX_HL7_H
#define MMDX_HL7_H

#include <stdint.h>
#include <stdio.h>
#include <libxml/xmlreader.h>
#include "mmdx/modality.h"
#include "mmdx/terms.h"
#include "terms_internal.h"

#if defined(__GNUC__) && __GNUC__ >= 4
#define HL7_HIDDEN __attribute__((visibility("hidden")))
#else
#define HL7_HIDDEN
#endif

/* ------------------------------------------------------------------ limits */
#define HL7_MAX_DEPTH 256        /* element nesting refused beyond this (MMDX_ESECURITY) */
#define HL7_MAX_COMPONENTS 32    /* components of one FHIR Observation */
#define HL7_MAX_PENDING 100000   /* contained Observations waiting for their report's subject */
#define HL7_TEXT 128             /* size of short text fields (codes, ids, units) */
#define MMDX_ID_MAX_HL7 256      /* feature id buffer (MMDX_ID_MAX of space.h) */

/* ------------------------------------------------------------------ units table */
typedef struct hl7_units hl7_units_t;

HL7_HIDDEN int mmdx_hl7_units_load(const mmdx_host_t *host, const char *path, hl7_units_t **out, mmdx_error_t *err);
HL7_HIDDEN void mmdx_hl7_units_free(hl7_units_t *u);
/* Canonical unit of a LOINC code, or NULL when the code is not in the table. */
HL7_HIDDEN const char *mmdx_hl7_units_canonical(const hl7_units_t *u, const char *loinc);
/* Convert *value in @p unit to the canonical unit of @p loinc. MMDX_OK (and *canon set),
 * MMDX_ENOTFOUND when the code has no canonical unit (value untouched), or MMDX_EUNIT with
 * the reason in @p why. */
HL7_HIDDEN int mmdx_hl7_units_convert(const hl7_units_t *u, const char *loinc, const char *unit, double *value,
                                 const char **canon, char *why, size_t why_size);
HL7_HIDDEN size_t mmdx_hl7_units_count(const hl7_units_t *u);
/* Plausible range of a code's values in its canonical unit: 1 and *min, *max set, or 0. */
HL7_HIDDEN int mmdx_hl7_units_range(const hl7_units_t *u, const char *loinc, double *min, double *max);
/* As mmdx_hl7_units_convert() but returns the conversion (canonical = value * factor + offset)
 * instead of applying it. */
HL7_HIDDEN int mmdx_hl7_units_resolve(const hl7_units_t *u, const char *loinc, const char *unit, const char **canon,
                                 double *factor, double *offset, char *why, size_t why_size);

/* ------------------------------------------------------------------ clinical helpers */
/* 1 when @p code is a well-formed LOINC code ("NNNNN-C") whose check digit is right. */
HL7_HIDDEN int mmdx_hl7_loinc_valid(const char *code);
/* 1 when a code system (URI, OID or v2 table) is LOINC. */
HL7_HIDDEN int mmdx_hl7_is_loinc_system(const char *sys);
/* CKD-EPI 2021 race-free eGFR (mL/min/1.73 m2) from creatinine in mg/dL, age in years,
 * female 1/0. NaN on invalid input. */
HL7_HIDDEN double mmdx_hl7_egfr_ckdepi2021(double scr_mg_dl, double age_years, int female);
/* BMI (kg/m2) from height in cm and weight in kg. NaN on invalid input. */
HL7_HIDDEN double mmdx_hl7_bmi(double height_cm, double weight_kg);
/* Parse a FHIR dateTime / date ("2013-04-02T09:30:10+01:00", "2013-04", "2013") or an HL7 TS
 * ("200808151030-0700", "20070526") into seconds since the epoch (UTC). 0 or -1 (bad). */
HL7_HIDDEN int mmdx_hl7_parse_time(const char *s, int64_t *out);
/* Parse a decimal number (no hex, inf or nan; surrounding blanks allowed). 0 or -1. */
HL7_HIDDEN int mmdx_hl7_parse_number(const char *s, double *out);
/* Parse "<5", "<= 5", ">1000", "5": comparator goes to *censor (MMDX_CENSOR_*). 0 or -1. */
HL7_HIDDEN int mmdx_hl7_parse_censored(const char *s, double *out, int *censor);
/* Completed years between two instants (for eGFR) and fractional years (demo:age). */
HL7_HIDDEN double mmdx_hl7_years_between(int64_t birth, int64_t when);
HL7_HIDDEN int mmdx_hl7_completed_years(int64_t birth, int64_t when);

/* ------------------------------------------------------------------ one result */
enum { HL7_FMT_NONE = 0, HL7_FMT_FHIR, HL7_FMT_V2, HL7_FMT_CDA };

typedef struct hl7_item {
    char patient[HL7_TEXT];
    char system[HL7_TEXT];   /* code system as written (URI, OID or v2 table name) */
    char code[64];
    char display[HL7_TEXT];  /* display / text of the code (for local-name mapping) */
    int code_is_loinc;
    char value[64];          /* numeric text as written */
    char comparator[4];      /* "<", "<=", ">", ">=" or "" */
    char unit[64];
    char level[HL7_TEXT];    /* categorical value (code or text) */
    char status[32];         /* normalised: final, amended, corrected, preliminary, ... */
    char interp[32];         /* interpretation code (H, L, POS, ...): the level of a result without value */
    int64_t time;
    int has_number;          /* value[] holds a number to parse */
    int has_text;            /* level[] holds free text that may be a number ("<5") */
    int has_coded;           /* level[] holds a code */
    int absent;              /* dataAbsentReason / nullFlavor */
    int censor_bound;        /* IVL_PQ: MMDX_CENSOR_* of value[] */
    const char *bad;         /* set by a parser: why the record is malformed (static string) */
    char bad_detail[HL7_TEXT];
    long line;
} hl7_item_t;

HL7_HIDDEN void mmdx_hl7_item_reset(hl7_item_t *it);
/* Copy @p s into a fixed field; on overflow mark the item malformed. */
HL7_HIDDEN void mmdx_hl7_item_set(hl7_item_t *it, char *dst, size_t size, const char *s);
/* Remove XML whitespace (space, tab, CR, LF) from both ends of @p t, in place. */
HL7_HIDDEN void mmdx_hl7_trim(char *t);

/* ------------------------------------------------------------------ plugin state, source */
typedef struct hl7_state {
    const mmdx_host_t *host;
    hl7_units_t *units;
    mmdx_terms_t *terms;
} hl7_state_t;

typedef struct hl7_patient hl7_patient_t;

typedef struct hl7_src {
    hl7_state_t *st;
    const mmdx_host_t *host;
    char *path;
    FILE *fp;
    xmlTextReaderPtr r;
    /* options */
    int want_format;     /* HL7_FMT_NONE: detect */
    int partial;         /* keep what was read before a truncation */
    int fragments;       /* read documents without a namespace declaration */
    char *default_patient;
    /* run state */
    int format;
    int eof;             /* the IO callback reached the end of the file */
    int read_done;
    int dry;             /* count only, send nothing (finding where a truncated file breaks) */
    size_t bytes;
    const mmdx_sink_t *sink;
    mmdx_error_t *err;
    int stop;            /* a sink callback's negative status */
    /* first libxml2 error */
    int xml_err;
    int xml_err_domain;
    long xml_err_line;
    char xml_err_msg[256];
    int ns_err;          /* a namespace error (undeclared prefix): fatal unless fragments=1 */
    long ns_err_line;
    char ns_err_msg[256];
    long trunc_line;
    char trunc_msg[256];
    /* counts */
    unsigned long n_results, n_emitted, n_rejected, n_derived, n_novalue;
    unsigned long n_skip_prelim, n_skip_cancel, n_skip_error, n_skip_other;
    /* patients: open-addressing hash table and insertion order */
    hl7_patient_t **pt_slots;
    size_t pt_cap, pt_n;
    hl7_patient_t *pt_first, *pt_last;
    /* the format parser's state */
    void *fmt;
    /* interned names (pointers into the reader's dictionary) */
    const xmlChar *ns_fhir, *ns_v2, *ns_v3, *ns_xsi, *ns_xhtml, *nm_value;
    int n_aliases;       /* fullUrl aliases registered (none: references are not looked up) */
    hl7_patient_t *last_pt; /* the patient of the previous result (files group results by patient) */
    /* conversions already resolved for (code, unit): a small direct-mapped cache */
    struct hl7_conv_cache {
        char code[16], unit[32];
        const char *canon;
        double factor, offset, min, max; /* min/max: plausible range, NaN when none */
        int rc;
    } conv_cache[128];
} hl7_src_t;

/* Patient demographics (for mmdx_hl7_emit and the end-of-file demographics and derived values). */
HL7_HIDDEN int mmdx_hl7_patient_seen(hl7_src_t *s, const char *id, hl7_patient_t **out);
HL7_HIDDEN int mmdx_hl7_patient_set_birth(hl7_src_t *s, const char *id, int64_t birth);
HL7_HIDDEN int mmdx_hl7_patient_set_sex(hl7_src_t *s, const char *id, const char *sex);
HL7_HIDDEN int mmdx_hl7_patient_alias(hl7_src_t *s, const char *alias, const char *id);
/* The patient id an alias (e.g. a Bundle fullUrl) stands for, or NULL. */
HL7_HIDDEN const char *mmdx_hl7_patient_resolve(hl7_src_t *s, const char *alias);

/* Process one result: validate, filter, convert, send. Returns MMDX_OK, or a negative status
 * when reading must stop (a sink callback said so, or out of memory). */
HL7_HIDDEN int mmdx_hl7_emit(hl7_src_t *s, hl7_item_t *it);
/* A record-level rejection (counts it and calls sink->reject). */
HL7_HIDDEN int mmdx_hl7_reject(hl7_src_t *s, const char *patient, long line, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* Reader helpers for the parsers */
HL7_HIDDEN long mmdx_hl7_line(hl7_src_t *s);
/* Copy the value of attribute @p name (local name, any namespace unless @p ns given) of the
 * current element into @p buf. 1 found, 0 absent, -1 too long (buf holds a truncated copy). */
HL7_HIDDEN int mmdx_hl7_attr(hl7_src_t *s, const char *name, const xmlChar *ns, char *buf, size_t size);

/* Format parsers: called for every element start (with empty = self-closing), end and text. */
typedef struct hl7_parser {
    int (*begin)(hl7_src_t *s);
    int (*start)(hl7_src_t *s, int depth, const xmlChar *name, const xmlChar *ns, int empty);
    int (*end)(hl7_src_t *s, int depth, const xmlChar *name, const xmlChar *ns);
    int (*text)(hl7_src_t *s, int depth, const xmlChar *value);
    int (*finish)(hl7_src_t *s);
    void (*free)(hl7_src_t *s);
} hl7_parser_t;

HL7_HIDDEN extern const hl7_parser_t mmdx_hl7_fhir_parser;
HL7_HIDDEN extern const hl7_parser_t mmdx_hl7_v2_parser;
HL7_HIDDEN extern const hl7_parser_t mmdx_hl7_cda_parser;

/* Return values of start(): go on, or skip the element's subtree. */
#define HL7_SKIP 1

#endif
