/* The knowledge base loader: read safely, validate against kb.rng, then check meaning
 * (declared features, targets, levels and sources; tests that fit the feature's kind;
 * conditions that can hold; no treatment both affirmed and avoided under one condition). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "kb_internal.h"
#include "mmdx/kb.h"

#define KB_MAX_BYTES (16u << 20)
#define KB_NS "urn:mmdx:kb:1"

#if LIBXML_VERSION >= 21200
typedef const xmlError *kb_xml_error_ptr;
#else
typedef xmlErrorPtr kb_xml_error_ptr;
#endif

/* ------------------------------------------------------------------ arena */

struct kb_arena_block {
    kb_arena_block_t *next;
    size_t used, size;
    max_align_t data[];
};

static void *arena_alloc(mmdx_kb_t *kb, size_t n)
{
    kb_arena_block_t *b = kb->arena;
    const size_t align = sizeof(max_align_t);
    n = (n + align - 1) / align * align;
    if (n == 0)
        n = align;
    if (b == NULL || b->size - b->used < n) {
        size_t size = n > 16384 ? n : 16384;
        b = mmdx_malloc(sizeof *b + size);
        if (b == NULL)
            return NULL;
        b->next = kb->arena;
        b->used = 0;
        b->size = size;
        kb->arena = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

static const char *arena_strdup(mmdx_kb_t *kb, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = arena_alloc(kb, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ------------------------------------------------------------------ names */

const char *mmdx_kb_action_name(mmdx_kb_action_t action)
{
    switch (action) {
    case MMDX_KB_AVOID: return "avoid";
    case MMDX_KB_ADJUST: return "adjust";
    case MMDX_KB_CAUTION: return "caution";
    case MMDX_KB_USE: return "use";
    }
    return "unknown";
}

const char *mmdx_urgency_name(mmdx_urgency_t urgency)
{
    switch (urgency) {
    case MMDX_URGENCY_ROUTINE: return "routine";
    case MMDX_URGENCY_SOON: return "soon";
    case MMDX_URGENCY_URGENT: return "urgent";
    case MMDX_URGENCY_EMERGENCY: return "emergency";
    }
    return "unknown";
}

/* ------------------------------------------------------------------ libxml2 errors */

typedef struct load_state {
    mmdx_kb_t *kb;
    const char *name; /* file name used in errors */
    mmdx_error_t *err;
    int code;         /* first status seen */
    /* libxml2's RELAX NG validator often reports a vague error without a location
     * first ("Element x failed to validate attributes") and the precise one after it;
     * the vague one waits here and is used only when no located error follows */
    char pending[512];
    long pending_line;
} load_state_t;

static int fail(load_state_t *st, int code, const char *object, long line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static int fail(load_state_t *st, int code, const char *object, long line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (st->code == MMDX_OK)
        st->code = code;
    mmdx_error_set(st->err, code, st->name, object, line, "%s", msg);
    return code;
}

/* What each KB element must hold, for schema errors (kept in step with kb.rng). */
static const char *schema_hint(const char *element)
{
    static const struct { const char *el, *hint; } hints[] = {
        {"kb", "name, version, scale, then <sources>, <features>, <targets>, <treatments> in that order"},
        {"source", "id, org, year (YYYY) and title"},
        {"feature", "id (namespace:name), label and kind (continuous, binary, dosage, or categorical with <level>s)"},
        {"targets", "default-department and one or more <target>"},
        {"target", "name, label, department, urgency (routine, soon, urgent, emergency) and threshold in [0,1]"},
        {"treatment", "id, name, harm >= 0, one or more <indication>, then <rule>s"},
        {"indication", "target, min-posterior in [0,1], benefit >= 0 and a <cite>"},
        {"rule", "id, action (avoid, adjust, caution, use), <when> with tests, <advice> and <cite source section>"},
        {"when", "one or more tests: <lt>, <le>, <gt>, <ge>, <eq> with feature and value, or <in> with <level>s"},
        {"cite", "source (a declared source id) and section"},
    };
    for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++)
        if (strcmp(element, hints[i].el) == 0)
            return hints[i].hint;
    return NULL;
}

static void record_xml_error(load_state_t *st, kb_xml_error_ptr e, int code)
{
    char msg[512];
    size_t n;
    if (e == NULL || e->level < XML_ERR_ERROR)
        return;
    snprintf(msg, sizeof msg, "%s", e->message ? e->message : "XML error");
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    const char *object = "";
    if (e->node && ((xmlNodePtr)e->node)->type == XML_ELEMENT_NODE)
        object = (const char *)((xmlNodePtr)e->node)->name;
    if (e->domain == XML_FROM_RELAXNGV) {
        if (e->node == NULL) {
            if (!st->pending[0]) {
                snprintf(st->pending, sizeof st->pending, "%s", msg);
                st->pending_line = e->line;
            }
            return;
        }
        /* libxml2's schema messages are terse; say what the element needs */
        const char *hint = schema_hint(object);
        long line = e->line > 0 ? e->line : (e->node ? xmlGetLineNo(e->node) : 0);
        if (hint)
            fail(st, code, object, line, "%s; <%s> needs %s", msg, object, hint);
        else
            fail(st, code, object, line, "%s", msg);
        return;
    }
    fail(st, code, object, e->line > 0 ? e->line : (e->node ? xmlGetLineNo(e->node) : 0), "%s", msg);
}

/* The parser passes its own context as user data; our state hangs off _private. */
static void on_parser_error(void *user, kb_xml_error_ptr e)
{
    xmlParserCtxtPtr ctxt = user;
    if (ctxt && ctxt->_private)
        record_xml_error(ctxt->_private, e, MMDX_EFORMAT);
}

static void on_schema_error(void *user, kb_xml_error_ptr e)
{
    record_xml_error(user, e, MMDX_EIO);
}

static void on_valid_error(void *user, kb_xml_error_ptr e)
{
    record_xml_error(user, e, MMDX_EFORMAT);
}

/* No network, no DTD loading or validation, no entity substitution. */
#define KB_PARSE_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_BIG_LINES | XML_PARSE_NOCDATA)

/* Line of the first "<!DOCTYPE" in the buffer (libxml2 keeps no line for DTD nodes). */
static long doctype_line(const char *buf, size_t len)
{
    long line = 1;
    for (size_t i = 0; i + 9 <= len; i++) {
        if (buf[i] == '\n')
            line++;
        else if (buf[i] == '<' && memcmp(buf + i, "<!DOCTYPE", 9) == 0)
            return line;
    }
    return 0;
}

static xmlDocPtr parse_safe(load_state_t *st, const char *buf, size_t len)
{
    xmlParserCtxtPtr ctxt;
    xmlDocPtr doc;
    if (len > KB_MAX_BYTES) {
        fail(st, MMDX_ESECURITY, "", 0, "file is larger than %u bytes", KB_MAX_BYTES);
        return NULL;
    }
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL) {
        fail(st, MMDX_ENOMEM, "", 0, "cannot create an XML parser");
        return NULL;
    }
    ctxt->_private = st;
    if (ctxt->sax) {
        ctxt->sax->serror = on_parser_error;
        ctxt->sax->error = NULL;
        ctxt->sax->warning = NULL;
    }
    ctxt->vctxt.error = NULL;
    ctxt->vctxt.warning = NULL;
    doc = xmlCtxtReadMemory(ctxt, buf, (int)len, st->name, NULL, KB_PARSE_OPTIONS);
    if (doc == NULL || !ctxt->wellFormed) {
        fail(st, MMDX_EFORMAT, "", 0, "not well-formed XML");
        if (doc)
            xmlFreeDoc(doc);
        doc = NULL;
    } else if (doc->intSubset || doc->extSubset) {
        fail(st, MMDX_ESECURITY, "DOCTYPE", doctype_line(buf, len),
             "a DOCTYPE is not allowed in a knowledge base (no DTDs or entities)");
        xmlFreeDoc(doc);
        doc = NULL;
    }
    xmlFreeParserCtxt(ctxt);
    return doc;
}

static char *read_file(load_state_t *st, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    if (f == NULL) {
        fail(st, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, "", 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    for (;;) {
        if (cap - n < 65536) {
            if (cap > KB_MAX_BYTES) {
                fail(st, MMDX_ESECURITY, "", 0, "file is larger than %u bytes", KB_MAX_BYTES);
                goto fail;
            }
            size_t ncap = cap ? cap * 2 : 65536 * 2;
            char *nb = mmdx_realloc(buf, ncap + 1);
            if (nb == NULL) {
                fail(st, MMDX_ENOMEM, "", 0, "out of memory reading the file");
                goto fail;
            }
            buf = nb;
            cap = ncap;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    if (ferror(f)) {
        fail(st, MMDX_EIO, "", 0, "read error");
        goto fail;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
fail:
    fclose(f);
    mmdx_free(buf);
    return NULL;
}

static const char *data_dir(mmdx_ctx_t *ctx)
{
    const char *d = ctx ? mmdx_ctx_data_dir(ctx) : NULL;
    if (d == NULL || !*d)
        d = getenv("MMDX_DATA_DIR");
#ifdef MMDX_DATA_DIR
    if (d == NULL || !*d)
        d = MMDX_DATA_DIR;
#endif
    return d ? d : ".";
}

static xmlNodePtr last_element_on_line(xmlNodePtr n, long line)
{
    xmlNodePtr found = NULL;
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (xmlGetLineNo(n) == line)
            found = n;
        xmlNodePtr sub = last_element_on_line(n->children, line);
        if (sub)
            found = sub;
    }
    return found;
}

static int validate(load_state_t *st, mmdx_ctx_t *ctx, xmlDocPtr doc)
{
    char path[4096];
    char *buf = NULL;
    size_t len = 0;
    const char *saved = st->name;
    xmlDocPtr sdoc = NULL;
    xmlRelaxNGParserCtxtPtr pctxt = NULL;
    xmlRelaxNGPtr schema = NULL;
    xmlRelaxNGValidCtxtPtr vctxt = NULL;
    int rc;

    snprintf(path, sizeof path, "%s/kb/kb.rng", data_dir(ctx));
    st->name = path;
    buf = read_file(st, path, &len);
    if (buf)
        sdoc = parse_safe(st, buf, len);
    if (sdoc == NULL) {
        st->name = saved;
        mmdx_free(buf);
        /* a missing schema says so; a broken one is an installation (I/O) problem */
        if (st->code == MMDX_ENOMEM || st->code == MMDX_ENOTFOUND)
            return st->code;
        return st->code = MMDX_EIO;
    }
    pctxt = xmlRelaxNGNewDocParserCtxt(sdoc);
    if (pctxt == NULL) {
        rc = fail(st, MMDX_ENOMEM, "", 0, "cannot create a RELAX NG parser");
        goto done;
    }
    xmlRelaxNGSetParserStructuredErrors(pctxt, on_schema_error, st);
    schema = xmlRelaxNGParse(pctxt);
    if (schema == NULL) {
        rc = fail(st, MMDX_EIO, "", 0, "the KB schema does not compile");
        goto done;
    }
    st->name = saved;
    vctxt = xmlRelaxNGNewValidCtxt(schema);
    if (vctxt == NULL) {
        rc = fail(st, MMDX_ENOMEM, "", 0, "cannot create a RELAX NG validator");
        goto done;
    }
    xmlRelaxNGSetValidStructuredErrors(vctxt, on_valid_error, st);
    if (xmlRelaxNGValidateDoc(vctxt, doc) != 0) {
        /* an error libxml2 gave without its element: name the last element on its line */
        xmlNodePtr at = st->pending_line > 0 ? last_element_on_line(xmlDocGetRootElement(doc), st->pending_line) : NULL;
        const char *name = at ? (const char *)at->name : "";
        const char *hint = at ? schema_hint(name) : NULL;
        if (hint)
            rc = fail(st, MMDX_EFORMAT, name, st->pending_line, "%s; <%s> needs %s", st->pending, name, hint);
        else
            rc = fail(st, MMDX_EFORMAT, name, st->pending_line, "%s",
                      st->pending[0] ? st->pending : "does not match the KB schema (kb.rng)");
    }
    else
        rc = MMDX_OK;
done:
    st->name = saved;
    xmlRelaxNGFreeValidCtxt(vctxt);
    xmlRelaxNGFree(schema);
    xmlRelaxNGFreeParserCtxt(pctxt);
    xmlFreeDoc(sdoc);
    mmdx_free(buf);
    return rc;
}

/* ------------------------------------------------------------------ DOM helpers */

static int is_el(xmlNodePtr n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && xmlStrEqual(n->ns->href, BAD_CAST KB_NS) &&
           xmlStrEqual(n->name, BAD_CAST name);
}

static xmlNodePtr first_el(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
        if (is_el(c, name))
            return c;
    return NULL;
}

static size_t count_el(xmlNodePtr parent, const char *name)
{
    size_t n = 0;
    for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
        n += is_el(c, name);
    return n;
}

/* An attribute copied into the arena with surrounding space trimmed; NULL when absent
 * (or on ENOMEM, which the caller tells apart through st->code). */
static const char *attr(load_state_t *st, xmlNodePtr n, const char *name)
{
    xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
    const char *s, *e, *r;
    char *tmp;
    if (v == NULL)
        return NULL;
    s = (const char *)v;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    tmp = arena_alloc(st->kb, (size_t)(e - s) + 1);
    if (tmp == NULL) {
        fail(st, MMDX_ENOMEM, (const char *)n->name, xmlGetLineNo(n), "out of memory");
        r = NULL;
    } else {
        memcpy(tmp, s, (size_t)(e - s));
        tmp[e - s] = '\0';
        r = tmp;
    }
    xmlFree(v);
    return r;
}

/* Element text with runs of white space collapsed to one space. */
static const char *text_of(load_state_t *st, xmlNodePtr n)
{
    xmlChar *v = xmlNodeGetContent(n);
    char *out, *o;
    int space = 0;
    if (v == NULL) {
        fail(st, MMDX_ENOMEM, (const char *)n->name, xmlGetLineNo(n), "out of memory");
        return NULL;
    }
    out = arena_alloc(st->kb, strlen((const char *)v) + 1);
    if (out == NULL) {
        xmlFree(v);
        fail(st, MMDX_ENOMEM, (const char *)n->name, xmlGetLineNo(n), "out of memory");
        return NULL;
    }
    o = out;
    for (const char *s = (const char *)v; *s; s++) {
        if (isspace((unsigned char)*s)) {
            space = (o != out);
            continue;
        }
        if (space)
            *o++ = ' ';
        space = 0;
        *o++ = *s;
    }
    *o = '\0';
    xmlFree(v);
    return out;
}

static const char *req_attr(load_state_t *st, xmlNodePtr n, const char *name)
{
    const char *v = attr(st, n, name);
    if (v == NULL && st->code == MMDX_OK)
        fail(st, MMDX_EFORMAT, (const char *)n->name, xmlGetLineNo(n), "attribute '%s' is missing", name);
    return v;
}

static int num_attr(load_state_t *st, xmlNodePtr n, const char *name, double *out)
{
    const char *v = req_attr(st, n, name);
    char *end;
    if (v == NULL)
        return st->code;
    errno = 0;
    *out = strtod(v, &end);
    if (end == v || *end || errno == ERANGE || !isfinite(*out))
        return fail(st, MMDX_EFORMAT, (const char *)n->name, xmlGetLineNo(n),
                    "attribute %s=\"%s\" is not a finite number", name, v);
    return MMDX_OK;
}

static int parse_urgency(const char *s, mmdx_urgency_t *u)
{
    for (int i = MMDX_URGENCY_ROUTINE; i <= MMDX_URGENCY_EMERGENCY; i++)
        if (strcmp(s, mmdx_urgency_name((mmdx_urgency_t)i)) == 0) {
            *u = (mmdx_urgency_t)i;
            return 1;
        }
    return 0;
}

/* ------------------------------------------------------------------ lookups */

static long find_feature(const mmdx_kb_t *kb, const char *id)
{
    for (size_t i = 0; i < kb->n_features; i++)
        if (strcmp(kb->features[i].id, id) == 0)
            return (long)i;
    return -1;
}

static long find_source(const mmdx_kb_t *kb, const char *id)
{
    for (size_t i = 0; i < kb->n_sources; i++)
        if (strcmp(kb->sources[i].id, id) == 0)
            return (long)i;
    return -1;
}

static long find_target(const mmdx_kb_t *kb, const char *name)
{
    for (size_t i = 0; i < kb->n_targets; i++)
        if (strcmp(kb->targets[i].name, name) == 0)
            return (long)i;
    return -1;
}

static long find_level(const kb_feature_t *f, const char *level)
{
    for (size_t i = 0; i < f->n_levels; i++)
        if (strcmp(f->levels[i], level) == 0)
            return (long)i;
    return -1;
}

/* "CPIC 2022, <section>", with the source found from a <cite>. */
static int parse_cite(load_state_t *st, xmlNodePtr parent, const char *owner, const kb_source_t **src,
                      const char **citation)
{
    xmlNodePtr c = first_el(parent, "cite");
    const char *sid, *section;
    long s;
    char buf[1024];
    if (c == NULL)
        return fail(st, MMDX_EFORMAT, owner, xmlGetLineNo(parent), "no <cite>: every rule needs its source");
    if ((sid = req_attr(st, c, "source")) == NULL || (section = req_attr(st, c, "section")) == NULL)
        return st->code;
    if ((s = find_source(st->kb, sid)) < 0)
        return fail(st, MMDX_EFORMAT, owner, xmlGetLineNo(c), "cites undeclared source '%s'", sid);
    *src = &st->kb->sources[s];
    snprintf(buf, sizeof buf, "%s %d, %s", (*src)->org, (*src)->year, section);
    *citation = arena_strdup(st->kb, buf);
    if (*citation == NULL)
        return fail(st, MMDX_ENOMEM, owner, xmlGetLineNo(c), "out of memory");
    return MMDX_OK;
}

/* ------------------------------------------------------------------ sections */

static int load_sources(load_state_t *st, xmlNodePtr sec)
{
    mmdx_kb_t *kb = st->kb;
    size_t n = count_el(sec, "source");
    kb->sources = arena_alloc(kb, n * sizeof *kb->sources);
    if (kb->sources == NULL)
        return fail(st, MMDX_ENOMEM, "sources", 0, "out of memory");
    for (xmlNodePtr c = sec->children; c; c = c->next) {
        if (!is_el(c, "source"))
            continue;
        kb_source_t *s = &kb->sources[kb->n_sources];
        double year;
        if ((s->id = req_attr(st, c, "id")) == NULL || (s->org = req_attr(st, c, "org")) == NULL ||
            (s->title = req_attr(st, c, "title")) == NULL || num_attr(st, c, "year", &year) != MMDX_OK)
            return st->code;
        s->ref = attr(st, c, "ref");
        if (s->ref == NULL)
            s->ref = "";
        if (year < 1900 || year > 2999)
            return fail(st, MMDX_EFORMAT, s->id, xmlGetLineNo(c), "source year %g is not plausible", year);
        s->year = (int)year;
        if (find_source(kb, s->id) >= 0)
            return fail(st, MMDX_EDUP, s->id, xmlGetLineNo(c), "source '%s' is declared twice", s->id);
        kb->n_sources++;
    }
    return MMDX_OK;
}

/* The feature-id namespaces of the feature space (space.h). */
static int known_namespace(const char *id)
{
    static const char *const ns[] = {"img:", "lab:", "var:", "pgx:", "demo:", "sig:"};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        if (strncmp(id, ns[i], strlen(ns[i])) == 0 && id[strlen(ns[i])] != '\0')
            return 1;
    return 0;
}

static int load_features(load_state_t *st, xmlNodePtr sec)
{
    mmdx_kb_t *kb = st->kb;
    size_t n = count_el(sec, "feature");
    kb->features = arena_alloc(kb, n * sizeof *kb->features);
    if (kb->features == NULL)
        return fail(st, MMDX_ENOMEM, "features", 0, "out of memory");
    for (xmlNodePtr c = sec->children; c; c = c->next) {
        if (!is_el(c, "feature"))
            continue;
        kb_feature_t *f = &kb->features[kb->n_features];
        const char *kind;
        long line = xmlGetLineNo(c);
        if ((f->id = req_attr(st, c, "id")) == NULL || (f->label = req_attr(st, c, "label")) == NULL ||
            (kind = req_attr(st, c, "kind")) == NULL)
            return st->code;
        f->unit = attr(st, c, "unit");
        if (f->unit == NULL)
            f->unit = "";
        f->yes = attr(st, c, "yes");
        f->no = attr(st, c, "no");
        if ((f->yes || f->no) && strcmp(kind, "binary") != 0)
            return fail(st, MMDX_EFORMAT, f->id, line, "only binary features have yes and no texts");
        if (!known_namespace(f->id))
            return fail(st, MMDX_EFORMAT, f->id, line,
                        "feature '%s' has no known namespace (img:, lab:, var:, pgx:, demo:, sig:)", f->id);
        if (strlen(f->id) >= MMDX_ID_MAX)
            return fail(st, MMDX_EFORMAT, f->id, line, "feature id is longer than %d bytes", MMDX_ID_MAX - 1);
        if (find_feature(kb, f->id) >= 0)
            return fail(st, MMDX_EDUP, f->id, line, "feature '%s' is declared twice", f->id);
        if (strcmp(kind, "continuous") == 0)
            f->kind = MMDX_KIND_CONTINUOUS;
        else if (strcmp(kind, "binary") == 0)
            f->kind = MMDX_KIND_BINARY;
        else if (strcmp(kind, "dosage") == 0)
            f->kind = MMDX_KIND_DOSAGE;
        else if (strcmp(kind, "categorical") == 0)
            f->kind = MMDX_KIND_CATEGORICAL;
        else
            return fail(st, MMDX_EFORMAT, f->id, line, "unknown feature kind '%s'", kind);
        size_t nl = count_el(c, "level");
        if (nl > KB_MAX_LEVELS)
            return fail(st, MMDX_EFORMAT, f->id, line, "more than %d levels", KB_MAX_LEVELS);
        if (nl && f->kind != MMDX_KIND_CATEGORICAL)
            return fail(st, MMDX_EFORMAT, f->id, line, "only categorical features have levels");
        f->levels = arena_alloc(kb, (nl ? nl : 1) * sizeof *f->levels);
        if (f->levels == NULL)
            return fail(st, MMDX_ENOMEM, f->id, line, "out of memory");
        for (xmlNodePtr l = c->children; l; l = l->next) {
            if (!is_el(l, "level"))
                continue;
            const char *lv = text_of(st, l);
            if (lv == NULL)
                return st->code;
            if (find_level(f, lv) >= 0)
                return fail(st, MMDX_EDUP, f->id, xmlGetLineNo(l), "level '%s' is declared twice", lv);
            f->levels[f->n_levels++] = lv;
        }
        kb->n_features++;
    }
    return MMDX_OK;
}

static int load_targets(load_state_t *st, xmlNodePtr sec)
{
    mmdx_kb_t *kb = st->kb;
    size_t n = count_el(sec, "target");
    const char *du;
    if ((kb->default_department = req_attr(st, sec, "default-department")) == NULL)
        return st->code;
    kb->default_urgency = MMDX_URGENCY_ROUTINE;
    du = attr(st, sec, "default-urgency");
    if (du && !parse_urgency(du, &kb->default_urgency))
        return fail(st, MMDX_EFORMAT, "targets", xmlGetLineNo(sec), "unknown urgency '%s'", du);
    kb->targets = arena_alloc(kb, n * sizeof *kb->targets);
    if (kb->targets == NULL)
        return fail(st, MMDX_ENOMEM, "targets", 0, "out of memory");
    for (xmlNodePtr c = sec->children; c; c = c->next) {
        if (!is_el(c, "target"))
            continue;
        kb_target_t *t = &kb->targets[kb->n_targets];
        const char *u;
        long line = xmlGetLineNo(c);
        if ((t->name = req_attr(st, c, "name")) == NULL || (t->label = req_attr(st, c, "label")) == NULL ||
            (t->department = req_attr(st, c, "department")) == NULL || (u = req_attr(st, c, "urgency")) == NULL ||
            num_attr(st, c, "threshold", &t->threshold) != MMDX_OK)
            return st->code;
        t->cls = attr(st, c, "class");
        if (t->cls == NULL)
            t->cls = "1";
        if (!parse_urgency(u, &t->urgency))
            return fail(st, MMDX_EFORMAT, t->name, line, "unknown urgency '%s'", u);
        if (t->threshold < 0 || t->threshold > 1)
            return fail(st, MMDX_EFORMAT, t->name, line, "threshold %g is not a probability", t->threshold);
        if (find_target(kb, t->name) >= 0)
            return fail(st, MMDX_EDUP, t->name, line, "target '%s' is declared twice", t->name);
        kb->n_targets++;
    }
    return MMDX_OK;
}

static const char *op_symbol(kb_op_t op)
{
    switch (op) {
    case KB_LT: return "<";
    case KB_LE: return "<=";
    case KB_GT: return ">";
    case KB_GE: return ">=";
    case KB_EQ: return "=";
    case KB_IN: return "in";
    }
    return "?";
}

static int load_test(load_state_t *st, kb_rule_t *r, xmlNodePtr t, kb_test_t *out)
{
    static const struct { const char *name; kb_op_t op; } ops[] = {
        {"lt", KB_LT}, {"le", KB_LE}, {"gt", KB_GT}, {"ge", KB_GE}, {"eq", KB_EQ}, {"in", KB_IN}};
    const char *fid;
    long fi, line = xmlGetLineNo(t);
    size_t k;
    for (k = 0; k < sizeof ops / sizeof ops[0]; k++)
        if (xmlStrEqual(t->name, BAD_CAST ops[k].name))
            break;
    if (k == sizeof ops / sizeof ops[0])
        return fail(st, MMDX_EFORMAT, r->id, line, "unknown test <%s>", (const char *)t->name);
    out->op = ops[k].op;
    out->line = line;
    if ((fid = req_attr(st, t, "feature")) == NULL)
        return st->code;
    if ((fi = find_feature(st->kb, fid)) < 0)
        return fail(st, MMDX_EFORMAT, r->id, line, "rule '%s' tests undeclared feature '%s'", r->id, fid);
    out->feature = (size_t)fi;
    const kb_feature_t *f = &st->kb->features[fi];
    if (out->op == KB_IN) {
        if (f->kind != MMDX_KIND_CATEGORICAL)
            return fail(st, MMDX_EFORMAT, r->id, line,
                        "rule '%s': <in> needs a categorical feature, '%s' is not", r->id, fid);
        for (xmlNodePtr l = t->children; l; l = l->next) {
            if (!is_el(l, "level"))
                continue;
            const char *lv = text_of(st, l);
            long li;
            if (lv == NULL)
                return st->code;
            if ((li = find_level(f, lv)) < 0)
                return fail(st, MMDX_EFORMAT, r->id, xmlGetLineNo(l),
                            "rule '%s': '%s' is not a declared level of '%s'", r->id, lv, fid);
            out->mask |= (uint64_t)1 << li;
        }
        return MMDX_OK;
    }
    if (f->kind == MMDX_KIND_CATEGORICAL)
        return fail(st, MMDX_EFORMAT, r->id, line,
                    "rule '%s': <%s> compares a number, but '%s' is categorical (use <in>)", r->id,
                    (const char *)t->name, fid);
    if (num_attr(st, t, "value", &out->value) != MMDX_OK)
        return st->code;
    if (f->kind == MMDX_KIND_BINARY && out->op == KB_EQ && out->value != 0 && out->value != 1)
        return fail(st, MMDX_EFORMAT, r->id, line, "rule '%s': binary feature '%s' is 0 or 1, not %g", r->id,
                    fid, out->value);
    return MMDX_OK;
}

/* The allowed set of one feature under a conjunction: an interval or a level mask. */
typedef struct allowed {
    double lo, hi;
    int lo_incl, hi_incl;
    uint64_t mask;
    int categorical;
} allowed_t;

static void allowed_init(allowed_t *a, const kb_feature_t *f)
{
    a->lo = -INFINITY;
    a->hi = INFINITY;
    a->lo_incl = a->hi_incl = 1;
    a->categorical = f->kind == MMDX_KIND_CATEGORICAL;
    a->mask = f->n_levels >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << f->n_levels) - 1);
}

static void allowed_apply(allowed_t *a, const kb_test_t *t)
{
    switch (t->op) {
    case KB_LT:
    case KB_LE:
        if (t->value < a->hi || (t->value == a->hi && t->op == KB_LT)) {
            a->hi = t->value;
            a->hi_incl = t->op == KB_LE;
        }
        break;
    case KB_GT:
    case KB_GE:
        if (t->value > a->lo || (t->value == a->lo && t->op == KB_GT)) {
            a->lo = t->value;
            a->lo_incl = t->op == KB_GE;
        }
        break;
    case KB_EQ:
        allowed_apply(a, &(kb_test_t){.op = KB_LE, .value = t->value});
        allowed_apply(a, &(kb_test_t){.op = KB_GE, .value = t->value});
        break;
    case KB_IN:
        a->mask &= t->mask;
        break;
    }
}

static int allowed_empty(const allowed_t *a)
{
    if (a->categorical)
        return a->mask == 0;
    return a->lo > a->hi || (a->lo == a->hi && !(a->lo_incl && a->hi_incl));
}

/* Allowed set of feature f under rule r's tests (all features if r tests it not at all). */
static allowed_t rule_allowed(const mmdx_kb_t *kb, const kb_rule_t *r, size_t f, int *tested)
{
    allowed_t a;
    allowed_init(&a, &kb->features[f]);
    *tested = 0;
    for (size_t i = 0; i < r->n_tests; i++)
        if (r->tests[i].feature == f) {
            allowed_apply(&a, &r->tests[i]);
            *tested = 1;
        }
    return a;
}

static int rule_tests_feature(const kb_rule_t *r, size_t f)
{
    for (size_t i = 0; i < r->n_tests; i++)
        if (r->tests[i].feature == f)
            return 1;
    return 0;
}

/* The condition written out: "lab:loinc:98979-8 >= 30 and pgx:CYP2C19 in {A, B}". */
static const char *condition_text(load_state_t *st, const kb_rule_t *r)
{
    char buf[2048];
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < r->n_tests && n < sizeof buf - 1; i++) {
        const kb_test_t *t = &r->tests[i];
        const kb_feature_t *f = &st->kb->features[t->feature];
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s %s ", i ? " and " : "", f->id, op_symbol(t->op));
        if (n >= sizeof buf)
            break;
        if (t->op == KB_IN) {
            int first = 1;
            n += (size_t)snprintf(buf + n, sizeof buf - n, "{");
            for (size_t l = 0; l < f->n_levels && n < sizeof buf; l++)
                if (t->mask >> l & 1) {
                    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", first ? "" : ", ", f->levels[l]);
                    first = 0;
                }
            if (n < sizeof buf)
                n += (size_t)snprintf(buf + n, sizeof buf - n, "}");
        } else {
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%g", t->value);
        }
    }
    return arena_strdup(st->kb, buf);
}

static int check_rule(load_state_t *st, const kb_rule_t *r)
{
    const mmdx_kb_t *kb = st->kb;
    for (size_t i = 0; i < r->n_tests; i++) {
        int tested;
        allowed_t a = rule_allowed(kb, r, r->tests[i].feature, &tested);
        if (allowed_empty(&a))
            return fail(st, MMDX_EFORMAT, r->id, r->line, "rule '%s' can never hold: its tests on '%s' exclude each other",
                        r->id, kb->features[r->tests[i].feature].id);
    }
    return MMDX_OK;
}

/* An avoid rule and a use rule of one treatment, over the same features, that can hold
 * together, would tell the clinician both to give and to withhold it. */
static int check_contradiction(load_state_t *st, const kb_rule_t *a, const kb_rule_t *b)
{
    const mmdx_kb_t *kb = st->kb;
    for (size_t i = 0; i < a->n_tests; i++)
        if (!rule_tests_feature(b, a->tests[i].feature))
            return MMDX_OK;
    for (size_t i = 0; i < b->n_tests; i++)
        if (!rule_tests_feature(a, b->tests[i].feature))
            return MMDX_OK;
    for (size_t i = 0; i < a->n_tests; i++) {
        int tested;
        allowed_t x = rule_allowed(kb, a, a->tests[i].feature, &tested);
        for (size_t k = 0; k < b->n_tests; k++)
            if (b->tests[k].feature == a->tests[i].feature)
                allowed_apply(&x, &b->tests[k]);
        if (allowed_empty(&x))
            return MMDX_OK;
    }
    return fail(st, MMDX_EINVAL, b->id, b->line,
                "contradictory rules for '%s': '%s' (line %ld) says %s and '%s' says %s under the same condition",
                kb->treatments[a->treatment].id, a->id, a->line, mmdx_kb_action_name(a->action), b->id,
                mmdx_kb_action_name(b->action));
}

static int load_rule(load_state_t *st, xmlNodePtr c, size_t treatment, kb_rule_t *r)
{
    const char *action;
    xmlNodePtr when, adv;
    r->line = xmlGetLineNo(c);
    r->treatment = treatment;
    if ((r->id = req_attr(st, c, "id")) == NULL || (action = req_attr(st, c, "action")) == NULL)
        return st->code;
    for (size_t i = 0; i < st->kb->n_rules; i++)
        if (strcmp(st->kb->rules[i].id, r->id) == 0)
            return fail(st, MMDX_EDUP, r->id, r->line, "rule '%s' is declared twice (first at line %ld)", r->id,
                        st->kb->rules[i].line);
    if (strcmp(action, "avoid") == 0)
        r->action = MMDX_KB_AVOID;
    else if (strcmp(action, "adjust") == 0)
        r->action = MMDX_KB_ADJUST;
    else if (strcmp(action, "caution") == 0)
        r->action = MMDX_KB_CAUTION;
    else if (strcmp(action, "use") == 0)
        r->action = MMDX_KB_USE;
    else
        return fail(st, MMDX_EFORMAT, r->id, r->line, "unknown action '%s'", action);
    r->alternative = attr(st, c, "alternative");
    if (r->alternative == NULL)
        r->alternative = "";
    if ((when = first_el(c, "when")) == NULL)
        return fail(st, MMDX_EFORMAT, r->id, r->line, "rule '%s' has no <when>", r->id);
    if ((adv = first_el(c, "advice")) == NULL)
        return fail(st, MMDX_EFORMAT, r->id, r->line, "rule '%s' has no <advice>", r->id);
    if ((r->advice = text_of(st, adv)) == NULL)
        return st->code;
    size_t nt = 0;
    for (xmlNodePtr t = when->children; t; t = t->next)
        nt += t->type == XML_ELEMENT_NODE;
    if (nt == 0)
        return fail(st, MMDX_EFORMAT, r->id, r->line, "rule '%s' has an empty <when>", r->id);
    r->tests = arena_alloc(st->kb, nt * sizeof *r->tests);
    if (r->tests == NULL)
        return fail(st, MMDX_ENOMEM, r->id, r->line, "out of memory");
    for (xmlNodePtr t = when->children; t; t = t->next) {
        if (t->type != XML_ELEMENT_NODE)
            continue;
        if (load_test(st, r, t, &r->tests[r->n_tests]) != MMDX_OK)
            return st->code;
        r->n_tests++;
    }
    if (parse_cite(st, c, r->id, &r->source, &r->citation) != MMDX_OK)
        return st->code;
    r->guideline = r->source->title;
    if ((r->condition = condition_text(st, r)) == NULL)
        return fail(st, MMDX_ENOMEM, r->id, r->line, "out of memory");
    return check_rule(st, r);
}

static int load_treatments(load_state_t *st, xmlNodePtr sec)
{
    mmdx_kb_t *kb = st->kb;
    size_t n = count_el(sec, "treatment"), nr = 0;
    for (xmlNodePtr c = sec->children; c; c = c->next)
        if (is_el(c, "treatment"))
            nr += count_el(c, "rule");
    kb->treatments = arena_alloc(kb, n * sizeof *kb->treatments);
    kb->rules = arena_alloc(kb, (nr ? nr : 1) * sizeof *kb->rules);
    if (kb->treatments == NULL || kb->rules == NULL)
        return fail(st, MMDX_ENOMEM, "treatments", 0, "out of memory");
    for (xmlNodePtr c = sec->children; c; c = c->next) {
        if (!is_el(c, "treatment"))
            continue;
        size_t ti = kb->n_treatments;
        kb_treatment_t *tr = &kb->treatments[ti];
        tr->line = xmlGetLineNo(c);
        if ((tr->id = req_attr(st, c, "id")) == NULL || (tr->name = req_attr(st, c, "name")) == NULL ||
            num_attr(st, c, "harm", &tr->harm) != MMDX_OK)
            return st->code;
        tr->group = attr(st, c, "group");
        if (tr->group == NULL)
            tr->group = "";
        if (mmdx_kb_find_treatment(kb, tr->id) >= 0)
            return fail(st, MMDX_EDUP, tr->id, tr->line, "treatment '%s' is declared twice", tr->id);
        if (tr->harm < 0)
            return fail(st, MMDX_EFORMAT, tr->id, tr->line, "harm must not be negative");
        size_t ni = count_el(c, "indication");
        if (ni == 0)
            return fail(st, MMDX_EFORMAT, tr->id, tr->line, "treatment '%s' has no indication", tr->id);
        tr->ind = arena_alloc(kb, ni * sizeof *tr->ind);
        if (tr->ind == NULL)
            return fail(st, MMDX_ENOMEM, tr->id, tr->line, "out of memory");
        tr->first_rule = kb->n_rules;
        kb->n_treatments++;
        for (xmlNodePtr e = c->children; e; e = e->next) {
            if (is_el(e, "indication")) {
                kb_indication_t *in = &tr->ind[tr->n_ind];
                const char *tname;
                const kb_source_t *src;
                long t;
                in->line = xmlGetLineNo(e);
                if ((tname = req_attr(st, e, "target")) == NULL ||
                    num_attr(st, e, "min-posterior", &in->min_posterior) != MMDX_OK ||
                    num_attr(st, e, "benefit", &in->benefit) != MMDX_OK)
                    return st->code;
                if ((t = find_target(kb, tname)) < 0)
                    return fail(st, MMDX_EFORMAT, tr->id, in->line,
                                "indication of '%s' names undeclared target '%s'", tr->id, tname);
                in->target = (size_t)t;
                in->cls = attr(st, e, "class");
                if (in->cls == NULL)
                    in->cls = kb->targets[t].cls;
                if (in->min_posterior < 0 || in->min_posterior > 1 || in->benefit < 0)
                    return fail(st, MMDX_EFORMAT, tr->id, in->line, "min-posterior must be in [0,1], benefit >= 0");
                if (parse_cite(st, e, tr->id, &src, &in->citation) != MMDX_OK)
                    return st->code;
                tr->n_ind++;
            } else if (is_el(e, "rule")) {
                kb_rule_t *r = &kb->rules[kb->n_rules];
                if (load_rule(st, e, ti, r) != MMDX_OK)
                    return st->code;
                kb->n_rules++;
                tr->n_rules++;
            }
        }
        for (size_t i = tr->first_rule; i < kb->n_rules; i++)
            for (size_t j = i + 1; j < kb->n_rules; j++) {
                const kb_rule_t *a = &kb->rules[i], *b = &kb->rules[j];
                int pair = (a->action == MMDX_KB_AVOID && b->action == MMDX_KB_USE) ||
                           (a->action == MMDX_KB_USE && b->action == MMDX_KB_AVOID);
                if (pair && check_contradiction(st, a, b) != MMDX_OK)
                    return st->code;
            }
    }
    return MMDX_OK;
}

static int load_doc(load_state_t *st, xmlDocPtr doc)
{
    mmdx_kb_t *kb = st->kb;
    xmlNodePtr root = xmlDocGetRootElement(doc), sec;
    if (!is_el(root, "kb"))
        return fail(st, MMDX_EFORMAT, root ? (const char *)root->name : "", root ? xmlGetLineNo(root) : 0,
                    "root element is not <kb> in namespace %s", KB_NS);
    if ((kb->name = req_attr(st, root, "name")) == NULL || (kb->version = req_attr(st, root, "version")) == NULL ||
        (kb->scale = req_attr(st, root, "scale")) == NULL)
        return st->code;
    if ((sec = first_el(root, "sources")) == NULL || load_sources(st, sec) != MMDX_OK)
        return st->code ? st->code : fail(st, MMDX_EFORMAT, "kb", 0, "no <sources>");
    if ((sec = first_el(root, "features")) == NULL || load_features(st, sec) != MMDX_OK)
        return st->code ? st->code : fail(st, MMDX_EFORMAT, "kb", 0, "no <features>");
    if ((sec = first_el(root, "targets")) == NULL || load_targets(st, sec) != MMDX_OK)
        return st->code ? st->code : fail(st, MMDX_EFORMAT, "kb", 0, "no <targets>");
    if ((sec = first_el(root, "treatments")) == NULL || load_treatments(st, sec) != MMDX_OK)
        return st->code ? st->code : fail(st, MMDX_EFORMAT, "kb", 0, "no <treatments>");
    return MMDX_OK;
}

/* ------------------------------------------------------------------ public */

static int load_buffer(mmdx_ctx_t *ctx, load_state_t *st, const char *buf, size_t len, mmdx_kb_t **out)
{
    xmlDocPtr doc;
    int rc;
    doc = parse_safe(st, buf, len);
    if (doc == NULL)
        return st->code ? st->code : MMDX_EFORMAT;
    rc = validate(st, ctx, doc);
    if (rc == MMDX_OK)
        rc = load_doc(st, doc);
    xmlFreeDoc(doc);
    if (rc != MMDX_OK)
        return rc;
    *out = st->kb;
    st->kb = NULL;
    return MMDX_OK;
}

int mmdx_kb_load_memory(mmdx_ctx_t *ctx, const char *buf, size_t len, const char *name, mmdx_kb_t **out,
                        mmdx_error_t *err)
{
    load_state_t st = {0};
    mmdx_error_t local;
    int rc;
    if (out)
        *out = NULL;
    if (out == NULL || (buf == NULL && len > 0))
        return mmdx_error_set(err, MMDX_EINVAL, name, "", 0, "NULL argument");
    if (err == NULL) {
        mmdx_error_clear(&local);
        err = &local;
    }
    st.name = name ? name : "<memory>";
    st.err = err;
    st.kb = mmdx_calloc(1, sizeof *st.kb);
    if (st.kb == NULL)
        return mmdx_error_set(err, MMDX_ENOMEM, st.name, "", 0, "out of memory");
    st.kb->file = arena_strdup(st.kb, st.name);
    if (st.kb->file == NULL) {
        rc = mmdx_error_set(err, MMDX_ENOMEM, st.name, "", 0, "out of memory");
    } else {
        rc = load_buffer(ctx, &st, buf ? buf : "", len, out);
    }
    if (rc != MMDX_OK) {
        mmdx_kb_free(st.kb);
        if (ctx && err->code != MMDX_OK)
            mmdx_ctx_set_error(ctx, err);
    }
    return rc;
}

int mmdx_kb_load(mmdx_ctx_t *ctx, const char *path, mmdx_kb_t **out, mmdx_error_t *err)
{
    load_state_t st = {0};
    mmdx_error_t local;
    char *buf;
    size_t len = 0;
    int rc;
    if (out)
        *out = NULL;
    if (path == NULL || out == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "NULL argument");
    if (err == NULL) {
        mmdx_error_clear(&local);
        err = &local;
    }
    st.name = path;
    st.err = err;
    buf = read_file(&st, path, &len);
    if (buf == NULL) {
        if (ctx)
            mmdx_ctx_set_error(ctx, err);
        return st.code;
    }
    rc = mmdx_kb_load_memory(ctx, buf, len, path, out, err);
    mmdx_free(buf);
    return rc;
}

void mmdx_kb_free(mmdx_kb_t *kb)
{
    if (kb == NULL)
        return;
    for (kb_arena_block_t *b = kb->arena, *next; b; b = next) {
        next = b->next;
        mmdx_free(b);
    }
    mmdx_free(kb);
}

const char *mmdx_kb_name(const mmdx_kb_t *kb) { return kb ? kb->name : ""; }
const char *mmdx_kb_version(const mmdx_kb_t *kb) { return kb ? kb->version : ""; }
const char *mmdx_kb_scale(const mmdx_kb_t *kb) { return kb ? kb->scale : ""; }
size_t mmdx_kb_n_treatments(const mmdx_kb_t *kb) { return kb ? kb->n_treatments : 0; }
size_t mmdx_kb_n_rules(const mmdx_kb_t *kb) { return kb ? kb->n_rules : 0; }
size_t mmdx_kb_n_targets(const mmdx_kb_t *kb) { return kb ? kb->n_targets : 0; }

const char *mmdx_kb_treatment_id(const mmdx_kb_t *kb, size_t i)
{
    return kb && i < kb->n_treatments ? kb->treatments[i].id : NULL;
}

long mmdx_kb_find_treatment(const mmdx_kb_t *kb, const char *id)
{
    if (kb == NULL || id == NULL)
        return -1;
    for (size_t i = 0; i < kb->n_treatments; i++)
        if (kb->treatments[i].id && strcmp(kb->treatments[i].id, id) == 0)
            return (long)i;
    return -1;
}

int mmdx_kb_rule(const mmdx_kb_t *kb, size_t i, mmdx_kb_rule_info_t *info)
{
    if (kb == NULL || info == NULL || i >= kb->n_rules)
        return MMDX_EINVAL;
    const kb_rule_t *r = &kb->rules[i];
    info->id = r->id;
    info->treatment = kb->treatments[r->treatment].id;
    info->action = r->action;
    info->condition = r->condition;
    info->advice = r->advice;
    info->alternative = r->alternative;
    info->citation = r->citation;
    info->guideline = r->guideline;
    info->line = r->line;
    return MMDX_OK;
}

int mmdx_kb_target(const mmdx_kb_t *kb, size_t i, mmdx_kb_target_info_t *info)
{
    if (kb == NULL || info == NULL || i >= kb->n_targets)
        return MMDX_EINVAL;
    const kb_target_t *t = &kb->targets[i];
    info->name = t->name;
    info->cls = t->cls;
    info->label = t->label;
    info->department = t->department;
    info->urgency = t->urgency;
    info->threshold = t->threshold;
    return MMDX_OK;
}

int mmdx_kb_check_space(const mmdx_kb_t *kb, const mmdx_space_t *space, size_t *n_absent, mmdx_error_t *err)
{
    size_t absent = 0;
    if (n_absent)
        *n_absent = 0;
    if (kb == NULL || space == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, "", "", 0, "NULL argument");
    for (size_t i = 0; i < kb->n_features; i++) {
        const kb_feature_t *f = &kb->features[i];
        long j = mmdx_space_find_feature(space, f->id);
        if (j < 0) {
            absent++;
            continue;
        }
        mmdx_kind_t k = mmdx_space_feature_kind(space, (size_t)j);
        /* a binary KB feature may be stored as a dosage 0/1/2 only if the KB says so */
        if (k != f->kind)
            return mmdx_error_set(err, MMDX_ESPACE, kb->file, f->id, 0,
                                  "the KB declares '%s' with another kind than the model's feature space", f->id);
    }
    for (size_t i = 0; i < kb->n_targets; i++) {
        const kb_target_t *t = &kb->targets[i];
        long ti = mmdx_space_find_target(space, t->name);
        if (ti < 0) {
            absent++;
            continue;
        }
        if (mmdx_space_find_class(space, (size_t)ti, t->cls) < 0)
            return mmdx_error_set(err, MMDX_ESPACE, kb->file, t->name, 0,
                                  "target '%s' has no class '%s' in the model's feature space", t->name, t->cls);
        for (size_t r = 0; r < kb->n_treatments; r++)
            for (size_t k = 0; k < kb->treatments[r].n_ind; k++) {
                const kb_indication_t *in = &kb->treatments[r].ind[k];
                if (in->target == i && mmdx_space_find_class(space, (size_t)ti, in->cls) < 0)
                    return mmdx_error_set(err, MMDX_ESPACE, kb->file, kb->treatments[r].id, in->line,
                                          "indication names class '%s' of target '%s', which the model lacks",
                                          in->cls, t->name);
            }
    }
    if (n_absent)
        *n_absent = absent;
    return MMDX_OK;
}
