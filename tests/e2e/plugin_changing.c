/* A modality module for tests/e2e/io_faults.sh that changes its own input while reading
 * it, so the host's "changed while being read" check can be tested end to end without a
 * timing race. Input: a first line "#changing", then "patient<TAB>value" lines; after
 * the first observation is sent, one comment line is appended to the file. The values
 * become the feature "changing:value". Never for real use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmdx/modality.h>

typedef struct c_state {
    const mmdx_host_t *host;
} c_state_t;

typedef struct c_src {
    const mmdx_host_t *host;
    char path[1024];
} c_src_t;

static int c_init(const mmdx_host_t *host, void **state_out, mmdx_error_t *err)
{
    c_state_t *s = host->malloc(sizeof *s);
    if (s == NULL)
        return mmdx_modality_error(err, MMDX_ENOMEM, "", "changing", 0, "out of memory");
    s->host = host;
    *state_out = s;
    return MMDX_OK;
}
static void c_fini(void *state)
{
    c_state_t *s = state;
    if (s)
        s->host->free(s);
}
static int c_probe(void *state, const char *path, const unsigned char *head, size_t n)
{
    (void)state;
    (void)path;
    return n >= 9 && memcmp(head, "#changing", 9) == 0 ? 100 : 0;
}
static int c_open(void *state, const char *path, const char *const *options, void **src_out, mmdx_error_t *err)
{
    c_state_t *s = state;
    c_src_t *src;
    if (options[0] != NULL)
        return mmdx_modality_error(err, MMDX_EINVAL, path, options[0], 0, "unknown option %s", options[0]);
    if ((src = s->host->malloc(sizeof *src)) == NULL)
        return mmdx_modality_error(err, MMDX_ENOMEM, path, NULL, 0, "out of memory");
    src->host = s->host;
    snprintf(src->path, sizeof src->path, "%s", path);
    *src_out = src;
    return MMDX_OK;
}
static int c_read(void *srcp, const mmdx_sink_t *sink, mmdx_error_t *err)
{
    c_src_t *src = srcp;
    char line[512], prov[1100];
    long lineno = 0;
    int rc = MMDX_OK, changed = 0;
    FILE *f = fopen(src->path, "r");
    if (f == NULL)
        return mmdx_modality_error(err, MMDX_EIO, src->path, NULL, 0, "cannot open");
    while (rc == MMDX_OK && fgets(line, sizeof line, f) != NULL) {
        char *tab = strchr(line, '\t'), *end;
        mmdx_obs_t o;
        lineno++;
        if (line[0] == '#' || tab == NULL)
            continue;
        *tab = '\0';
        memset(&o, 0, sizeof o);
        o.patient = line;
        o.feature = "changing:value";
        o.kind = MMDX_OBS_CONTINUOUS;
        o.value = strtod(tab + 1, &end);
        o.time = MMDX_TIME_UNKNOWN;
        snprintf(prov, sizeof prov, "%s:%ld", src->path, lineno);
        o.provenance = prov;
        if (sink->patient && (rc = sink->patient(sink->data, line)) != MMDX_OK)
            break;
        rc = sink->obs(sink->data, &o);
        if (rc == MMDX_OK && !changed) { /* another writer, as it were, appends a line */
            FILE *a = fopen(src->path, "a");
            int ok = a != NULL;
            changed = 1;
            if (a) {
                ok = fputs("# appended while being read\n", a) >= 0;
                ok = fclose(a) == 0 && ok;
            }
            if (!ok)
                rc = mmdx_modality_error(err, MMDX_EIO, src->path, NULL, 0, "test module cannot append");
        }
    }
    fclose(f);
    return rc;
}
static void c_close(void *srcp)
{
    c_src_t *src = srcp;
    if (src)
        src->host->free(src);
}

static const mmdx_modality_desc_t desc = {
    MMDX_ABI_MAJOR, MMDX_ABI_MINOR, sizeof(mmdx_modality_desc_t), "changing", "0.0", "MIT",
    "test module that appends to its input while reading it", "changing",
    {c_init, c_fini, c_probe, c_open, c_read, c_close, {NULL}}, {NULL}};

MMDX_MODALITY_EXPORT(changing)
{
    return &desc;
}
