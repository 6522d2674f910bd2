/* An example modality plugin: observations in a long TSV table, one per line.
 *
 *     patient_id<TAB>feature<TAB>value<TAB>unit
 *     P001<TAB>lab:loinc:4548-4<TAB>6.1<TAB>%
 *
 * It is what a third party writes to add an input format to libmmdx: it includes only
 * <mmdx/modality.h>, never links against libmmdx (memory and logging come from the host
 * table), and exports one function, mmdx_modality_example_get_desc, from mmdx_example.so.
 * Build it outside the tree with the Makefile beside it (pkg-config mmdx). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <mmdx/modality.h>

#define HEADER "patient_id\tfeature\tvalue\tunit"

typedef struct example_state {
    const mmdx_host_t *host;
} example_state_t;

typedef struct example_source {
    const mmdx_host_t *host;
    FILE *f;
    char *path;
    int strict; /* a bad record stops the read instead of being rejected */
} example_source_t;

static int ex_init(const mmdx_host_t *host, void **state_out, mmdx_error_t *err)
{
    if (host == NULL || host->struct_size < sizeof *host)
        return mmdx_modality_error(err, MMDX_EABI, NULL, "example", 0, "host table too small");
    example_state_t *s = host->malloc(sizeof *s);
    if (s == NULL)
        return mmdx_modality_error(err, MMDX_ENOMEM, NULL, "example", 0, "out of memory");
    s->host = host;
    *state_out = s;
    return MMDX_OK;
}

static void ex_fini(void *state)
{
    example_state_t *s = state;
    if (s)
        s->host->free(s);
}

static int ex_probe(void *state, const char *path, const unsigned char *head, size_t n)
{
    (void)state;
    (void)path;
    size_t hl = strlen(HEADER);
    if (n >= hl && memcmp(head, HEADER, hl) == 0 && (n == hl || head[hl] == '\n' || head[hl] == '\r'))
        return 90;
    return 0;
}

static int ex_open(void *state, const char *path, const char *const *options, void **src_out,
                   mmdx_error_t *err)
{
    example_state_t *s = state;
    int strict = 0;
    for (size_t i = 0; options && options[i]; i++) {
        if (strcmp(options[i], "strict=1") == 0)
            strict = 1;
        else if (strcmp(options[i], "strict=0") == 0)
            strict = 0;
        else
            return mmdx_modality_error(err, MMDX_EINVAL, path, options[i], 0,
                                       "unknown option '%s' (the example modality knows strict=0|1)", options[i]);
    }
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return mmdx_modality_error(err, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EIO, path, NULL, 0,
                                   "cannot open: %s", strerror(errno));
    example_source_t *src = s->host->malloc(sizeof *src);
    char *copy = src ? s->host->malloc(strlen(path) + 1) : NULL;
    if (copy == NULL) {
        s->host->free(src);
        fclose(f);
        return mmdx_modality_error(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
    }
    strcpy(copy, path);
    src->host = s->host;
    src->f = f;
    src->path = copy;
    src->strict = strict;
    *src_out = src;
    return MMDX_OK;
}

/* Split @p line at tabs into at most @p max fields; returns the count. */
static size_t split(char *line, char **fields, size_t max)
{
    size_t n = 0;
    fields[n++] = line;
    for (char *p = line; *p; p++) {
        if (*p != '\t')
            continue;
        *p = '\0';
        if (n == max)
            return max + 1;
        fields[n++] = p + 1;
    }
    return n;
}

static int ex_read(void *handle, const mmdx_sink_t *sink, mmdx_error_t *err)
{
    example_source_t *src = handle;
    char line[4096], where[4200];
    long lineno = 0;
    while (fgets(line, sizeof line, src->f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n')
            return mmdx_modality_error(err, MMDX_EFORMAT, src->path, NULL, lineno, "line longer than %zu bytes",
                                       sizeof line - 2);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (lineno == 1) {
            if (strcmp(line, HEADER) != 0)
                return mmdx_modality_error(err, MMDX_EFORMAT, src->path, NULL, 1,
                                           "first line must be the header '%s'", "patient_id<TAB>feature<TAB>value<TAB>unit");
            continue;
        }
        if (len == 0 || line[0] == '#')
            continue;
        char *f[4], *end;
        const char *reason = NULL;
        size_t n = split(line, f, 4);
        double v = 0;
        if (n != 4)
            reason = "expected 4 tab-separated fields: patient_id, feature, value, unit";
        else if (f[0][0] == '\0')
            reason = "empty patient id";
        else if (strchr(f[1], ':') == NULL)
            reason = "feature id has no namespace (e.g. lab:loinc:4548-4)";
        else if ((v = strtod(f[2], &end)), end == f[2] || *end != '\0' || !isfinite(v))
            reason = "value is not a finite number";
        if (n >= 1 && f[0][0] != '\0') {
            int rc = sink->patient ? sink->patient(sink->data, f[0]) : MMDX_OK;
            if (rc != MMDX_OK)
                return rc;
        }
        if (reason) {
            if (src->strict)
                return mmdx_modality_error(err, MMDX_EFORMAT, src->path, n >= 1 ? f[0] : NULL, lineno, "%s", reason);
            int rc = sink->reject(sink->data, n >= 1 && f[0][0] ? f[0] : NULL, src->path, lineno, MMDX_EFORMAT,
                                  reason);
            if (rc != MMDX_OK)
                return rc;
            continue;
        }
        snprintf(where, sizeof where, "%s:%ld", src->path, lineno);
        mmdx_obs_t obs = {f[0], f[1], MMDX_OBS_CONTINUOUS, v, f[3][0] ? f[3] : NULL, NULL,
                          MMDX_CENSOR_NONE, MMDX_TIME_UNKNOWN, where};
        int rc = sink->obs(sink->data, &obs);
        if (rc != MMDX_OK)
            return rc;
    }
    if (ferror(src->f))
        return mmdx_modality_error(err, MMDX_EIO, src->path, NULL, lineno, "read error");
    if (lineno == 0)
        return mmdx_modality_error(err, MMDX_EFORMAT, src->path, NULL, 0, "empty file (no header)");
    return MMDX_OK;
}

static void ex_close(void *handle)
{
    example_source_t *src = handle;
    if (src == NULL)
        return;
    fclose(src->f);
    src->host->free(src->path);
    src->host->free(src);
}

static const mmdx_modality_desc_t example_desc = {
    MMDX_ABI_MAJOR, MMDX_ABI_MINOR, sizeof(mmdx_modality_desc_t),
    "example", "1.0", "MIT", "example plugin: observations in a long TSV (patient_id, feature, value, unit)",
    "example",
    {ex_init, ex_fini, ex_probe, ex_open, ex_read, ex_close, {NULL}},
    {NULL}};

MMDX_MODALITY_EXPORT(example)
{
    return &example_desc;
}
