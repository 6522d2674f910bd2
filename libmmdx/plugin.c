/* The plugin host: a per-context registry of modality descriptors, built-in or loaded
 * from modules with dlopen, each checked against the host's ABI before use. */
#define _XOPEN_SOURCE 700
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctx_internal.h"
#include "mmdx/plugin.h"
#include "registry.h"

#ifndef MMDX_PLUGIN_DIR
#define MMDX_PLUGIN_DIR "/usr/local/lib/mmdx/plugins"
#endif

#define PLUGIN_PREFIX "mmdx_"
#define PLUGIN_SUFFIX ".so"
#define NAME_MAX_LEN 64

typedef struct registry {
    mmdx_registry_entry_t **v;
    size_t n, cap;
} registry_t;

static void entry_free(mmdx_registry_entry_t *e)
{
    if (e == NULL)
        return;
    if (e->desc && e->desc->ops.fini)
        e->desc->ops.fini(e->state);
    if (e->dl)
        dlclose(e->dl);
    mmdx_free(e->origin);
    mmdx_free(e->data_dir);
    mmdx_free(e);
}

static void registry_free(void *p)
{
    registry_t *reg = p;
    if (reg == NULL)
        return;
    /* unload in reverse order of loading */
    for (size_t i = reg->n; i-- > 0;)
        entry_free(reg->v[i]);
    mmdx_free(reg->v);
    mmdx_free(reg);
}

static void host_log(void *host_data, int level, const char *msg)
{
    if (level < MMDX_LOG_ERROR)
        level = MMDX_LOG_ERROR;
    if (level > MMDX_LOG_DEBUG)
        level = MMDX_LOG_DEBUG;
    mmdx_ctx_log(host_data, (mmdx_log_level_t)level, "%s", msg ? msg : "");
}

static int valid_name(const char *s)
{
    size_t n = 0;
    if (s == NULL || *s == '\0')
        return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return n < NAME_MAX_LEN;
}

static long registry_index(const registry_t *reg, const char *name)
{
    for (size_t i = 0; i < reg->n; i++)
        if (strcmp(reg->v[i]->desc->name, name) == 0)
            return (long)i;
    return -1;
}

/* The checks every descriptor passes, built-in or loaded. @p file names the module in
 * messages; @p expect is the name its file stem promises (NULL for built-ins). */
static int check_desc(const mmdx_modality_desc_t *d, const char *file, const char *expect, mmdx_error_t *err)
{
    static const size_t need = offsetof(mmdx_modality_desc_t, reserved);
    if (d == NULL)
        return mmdx_error_set(err, MMDX_EPLUGIN, file, expect, 0, "the descriptor function returned NULL");
    if (d->abi_major != MMDX_ABI_MAJOR)
        return mmdx_error_set(err, MMDX_EABI, file, d->name && valid_name(d->name) ? d->name : expect, 0,
                              "plugin built for modality ABI %u.%u, this libmmdx has ABI %d.%d; "
                              "rebuild the plugin against this version's headers",
                              (unsigned)d->abi_major, (unsigned)d->abi_minor, MMDX_ABI_MAJOR, MMDX_ABI_MINOR);
    if (d->struct_size < need)
        return mmdx_error_set(err, MMDX_EABI, file, expect, 0,
                              "descriptor is %u bytes, ABI %d.%d needs at least %zu",
                              (unsigned)d->struct_size, MMDX_ABI_MAJOR, MMDX_ABI_MINOR, need);
    if (!valid_name(d->name))
        return mmdx_error_set(err, MMDX_EPLUGIN, file, expect, 0,
                              "descriptor name is missing or not [A-Za-z0-9_]{1,63}");
    if (expect && strcmp(d->name, expect) != 0)
        return mmdx_error_set(err, MMDX_EPLUGIN, file, d->name, 0,
                              "descriptor names modality '%s' but the file name promises '%s'", d->name, expect);
    const char *missing = !d->ops.init ? "init" : !d->ops.open ? "open" : !d->ops.read ? "read"
                        : !d->ops.close ? "close" : NULL;
    if (missing)
        return mmdx_error_set(err, MMDX_EPLUGIN, file, d->name, 0, "required method %s is NULL", missing);
    return MMDX_OK;
}

static int registry_push(registry_t *reg, mmdx_registry_entry_t *e)
{
    if (reg->n == reg->cap) {
        size_t cap = reg->cap ? 2 * reg->cap : 8;
        mmdx_registry_entry_t **v = mmdx_realloc(reg->v, cap * sizeof *v);
        if (v == NULL)
            return MMDX_ENOMEM;
        reg->v = v;
        reg->cap = cap;
    }
    reg->v[reg->n++] = e;
    return MMDX_OK;
}

/* Check @p d, run its init and add it. On success the entry owns @p dl; on failure the
 * caller still does. A loaded module replaces a built-in of the same name. */
static int registry_add(mmdx_ctx_t *ctx, registry_t *reg, const mmdx_modality_desc_t *d, void *dl,
                        const char *origin, const char *expect, mmdx_error_t *err)
{
    int rc = check_desc(d, origin, expect, err);
    if (rc != MMDX_OK)
        return rc;
    long old = registry_index(reg, d->name);
    if (old >= 0 && (dl == NULL || reg->v[old]->dl != NULL))
        return mmdx_error_set(err, MMDX_EDUP, origin, d->name, 0,
                              "modality '%s' is already registered (from %s)", d->name, reg->v[old]->origin);

    mmdx_registry_entry_t *e = mmdx_calloc(1, sizeof *e);
    if (e == NULL)
        return mmdx_error_set(err, MMDX_ENOMEM, origin, d->name, 0, "out of memory");
    const char *dd = mmdx_ctx_data_dir(ctx);
    e->origin = mmdx_strdup(origin);
    e->data_dir = mmdx_strdup(dd ? dd : "");
    if (e->origin == NULL || e->data_dir == NULL) {
        mmdx_free(e->origin);
        mmdx_free(e->data_dir);
        mmdx_free(e);
        return mmdx_error_set(err, MMDX_ENOMEM, origin, d->name, 0, "out of memory");
    }
    e->host.abi_major = MMDX_ABI_MAJOR;
    e->host.abi_minor = MMDX_ABI_MINOR;
    e->host.struct_size = sizeof e->host;
    e->host.malloc = mmdx_malloc;
    e->host.realloc = mmdx_realloc;
    e->host.free = mmdx_free;
    e->host.log = host_log;
    e->host.host_data = ctx;
    e->host.data_dir = e->data_dir;
    e->host.threads = mmdx_ctx_threads(ctx);

    mmdx_error_t ierr;
    mmdx_error_clear(&ierr);
    rc = d->ops.init(&e->host, &e->state, &ierr);
    if (rc != MMDX_OK) {
        mmdx_free(e->origin);
        mmdx_free(e->data_dir);
        mmdx_free(e);
        return mmdx_error_set(err, MMDX_EPLUGIN, origin, d->name, 0, "init of modality '%s' failed: %s%s%s",
                              d->name, ierr.code ? ierr.message : mmdx_strerror(rc),
                              ierr.code && ierr.file[0] ? " in " : "", ierr.code ? ierr.file : "");
    }
    e->desc = d;
    e->dl = dl;
    if (old >= 0) {
        /* a loaded module takes the place of the built-in it overrides */
        mmdx_ctx_log(ctx, MMDX_LOG_INFO, "modality %s from %s replaces the built-in", d->name, origin);
        entry_free(reg->v[old]);
        reg->v[old] = e;
        return MMDX_OK;
    }
    if (registry_push(reg, e) != MMDX_OK) {
        e->dl = NULL;
        entry_free(e);
        return mmdx_error_set(err, MMDX_ENOMEM, origin, d->name, 0, "out of memory");
    }
    return MMDX_OK;
}

static registry_t *registry_get(mmdx_ctx_t *ctx)
{
    if (ctx == NULL)
        return NULL;
    if (ctx->registry)
        return ctx->registry;
    registry_t *reg = mmdx_calloc(1, sizeof *reg);
    if (reg == NULL)
        return NULL;
    ctx->registry = reg;
    ctx->registry_free = registry_free;
    for (size_t i = 0; mmdx_builtin_modalities[i]; i++) {
        mmdx_error_t err;
        mmdx_error_clear(&err);
        const mmdx_modality_desc_t *d = mmdx_builtin_modalities[i]();
        if (registry_add(ctx, reg, d, NULL, "built-in", NULL, &err) != MMDX_OK) {
            char buf[1024];
            mmdx_error_format(&err, buf, sizeof buf);
            mmdx_ctx_log(ctx, MMDX_LOG_ERROR, "built-in modality not available: %s", buf);
        }
    }
    return reg;
}

mmdx_registry_entry_t *const *mmdx_registry_entries(mmdx_ctx_t *ctx, size_t *n)
{
    registry_t *reg = registry_get(ctx);
    *n = reg ? reg->n : 0;
    return reg ? reg->v : NULL;
}

mmdx_registry_entry_t *mmdx_registry_lookup(mmdx_ctx_t *ctx, const char *name)
{
    registry_t *reg = registry_get(ctx);
    if (reg == NULL || name == NULL)
        return NULL;
    long i = registry_index(reg, name);
    if (i >= 0)
        return reg->v[i];
    for (size_t k = 0; k < reg->n; k++)
        if (reg->v[k]->desc->input && strcmp(reg->v[k]->desc->input, name) == 0)
            return reg->v[k];
    return NULL;
}

/* Modality name promised by a module's file name: ".../mmdx_NAME.so" -> NAME. */
static int name_from_file(const char *path, char *name, size_t size, mmdx_error_t *err)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base), pl = strlen(PLUGIN_PREFIX), sl = strlen(PLUGIN_SUFFIX);
    if (n <= pl + sl || strncmp(base, PLUGIN_PREFIX, pl) != 0 || strcmp(base + n - sl, PLUGIN_SUFFIX) != 0)
        return mmdx_error_set(err, MMDX_EPLUGIN, path, NULL, 0,
                              "a modality plugin file must be named mmdx_NAME.so");
    n -= pl + sl;
    if (n >= size)
        n = size - 1;
    memcpy(name, base + pl, n);
    name[n] = '\0';
    if (!valid_name(name))
        return mmdx_error_set(err, MMDX_EPLUGIN, path, NULL, 0,
                              "'%s' is not a valid modality name ([A-Za-z0-9_]{1,63})", name);
    return MMDX_OK;
}

static int load_file(mmdx_ctx_t *ctx, registry_t *reg, const char *path, mmdx_error_t *err)
{
    char name[NAME_MAX_LEN + 8], real[PATH_MAX], sym[NAME_MAX_LEN + 64];
    int rc = name_from_file(path, name, sizeof name, err);
    if (rc != MMDX_OK)
        return rc;
    if (realpath(path, real) == NULL)
        return mmdx_error_set(err, errno == ENOENT ? MMDX_ENOTFOUND : MMDX_EPLUGIN, path, name, 0,
                              "cannot open plugin: %s", strerror(errno));
    for (size_t i = 0; i < reg->n; i++)
        if (reg->v[i]->dl && strcmp(reg->v[i]->origin, real) == 0)
            return MMDX_OK; /* already loaded from this very file */

    void *dl = dlopen(real, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        const char *why = dlerror();
        return mmdx_error_set(err, MMDX_EPLUGIN, real, name, 0, "cannot load plugin: %s",
                              why ? why : "unknown dlopen error");
    }
    snprintf(sym, sizeof sym, "mmdx_modality_%s_get_desc", name);
    (void)dlerror();
    void *p = dlsym(dl, sym);
    if (p == NULL) {
        dlclose(dl);
        return mmdx_error_set(err, MMDX_EPLUGIN, real, name, 0,
                              "not an mmdx modality plugin: it does not export %s", sym);
    }
    mmdx_modality_get_desc_fn fn;
    memcpy(&fn, &p, sizeof fn); /* object to function pointer, as POSIX allows */
    rc = registry_add(ctx, reg, fn(), dl, real, name, err);
    if (rc != MMDX_OK)
        dlclose(dl);
    return rc;
}

/* Directories searched, in order: $MMDX_PLUGIN_PATH then the configured directory.
 * Calls @p fn for each until it returns nonzero; returns that value or 0. */
static int for_each_dir(int (*fn)(const char *dir, void *data), void *data)
{
    const char *env = getenv("MMDX_PLUGIN_PATH");
    char dir[PATH_MAX];
    while (env && *env) {
        const char *colon = strchr(env, ':');
        size_t n = colon ? (size_t)(colon - env) : strlen(env);
        if (n > 0 && n < sizeof dir) {
            memcpy(dir, env, n);
            dir[n] = '\0';
            int r = fn(dir, data);
            if (r)
                return r;
        }
        env = colon ? colon + 1 : NULL;
    }
    return fn(MMDX_PLUGIN_DIR, data);
}

struct find_data {
    const char *file;
    char path[PATH_MAX];
};

static int find_in_dir(const char *dir, void *data)
{
    struct find_data *f = data;
    int n = snprintf(f->path, sizeof f->path, "%s/%s", dir, f->file);
    return n > 0 && (size_t)n < sizeof f->path && access(f->path, F_OK) == 0;
}

int mmdx_plugin_load(mmdx_ctx_t *ctx, const char *path_or_name, mmdx_error_t *err)
{
    mmdx_error_t local;
    mmdx_error_clear(&local);
    if (err == NULL)
        err = &local;
    if (ctx == NULL || path_or_name == NULL || *path_or_name == '\0')
        return mmdx_error_set(err, MMDX_EINVAL, NULL, NULL, 0, "mmdx_plugin_load: no context or name");
    registry_t *reg = registry_get(ctx);
    if (reg == NULL)
        return mmdx_error_set(err, MMDX_ENOMEM, path_or_name, NULL, 0, "out of memory");

    int rc;
    if (strchr(path_or_name, '/')) {
        rc = load_file(ctx, reg, path_or_name, err);
    } else {
        struct find_data f;
        char file[NAME_MAX_LEN + 16];
        size_t n = strlen(path_or_name), sl = strlen(PLUGIN_SUFFIX);
        if (n > sl && strcmp(path_or_name + n - sl, PLUGIN_SUFFIX) == 0)
            snprintf(file, sizeof file, "%s", path_or_name);
        else if (valid_name(path_or_name))
            snprintf(file, sizeof file, PLUGIN_PREFIX "%s" PLUGIN_SUFFIX, path_or_name);
        else
            file[0] = '\0';
        f.file = file;
        if (file[0] == '\0')
            rc = mmdx_error_set(err, MMDX_EINVAL, NULL, path_or_name, 0,
                                "not a modality name ([A-Za-z0-9_]{1,63}), a mmdx_NAME.so file or a path");
        else if (for_each_dir(find_in_dir, &f))
            rc = load_file(ctx, reg, f.path, err);
        else
            rc = mmdx_error_set(err, MMDX_ENOTFOUND, file, path_or_name, 0,
                                "plugin not found in $MMDX_PLUGIN_PATH (%s) or %s%s",
                                getenv("MMDX_PLUGIN_PATH") ? getenv("MMDX_PLUGIN_PATH") : "unset",
                                MMDX_PLUGIN_DIR,
                                registry_index(reg, path_or_name) >= 0 ? " (a built-in of that name is registered)" : "");
    }
    if (rc != MMDX_OK)
        mmdx_ctx_set_error(ctx, err);
    return rc;
}

struct load_all_data {
    mmdx_ctx_t *ctx;
    registry_t *reg;
    size_t loaded, failed;
    int nomem;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(const char *dir, void *data)
{
    struct load_all_data *d = data;
    DIR *dp = opendir(dir);
    if (dp == NULL)
        return 0; /* a search-path entry that does not exist is not an error */
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    size_t pl = strlen(PLUGIN_PREFIX), sl = strlen(PLUGIN_SUFFIX);
    while ((de = readdir(dp)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len <= pl + sl || strncmp(de->d_name, PLUGIN_PREFIX, pl) != 0 ||
            strcmp(de->d_name + len - sl, PLUGIN_SUFFIX) != 0)
            continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 16;
            char **v = mmdx_realloc(names, nc * sizeof *v);
            if (v == NULL) {
                d->nomem = 1;
                break;
            }
            names = v;
            cap = nc;
        }
        if ((names[n] = mmdx_strdup(de->d_name)) == NULL) {
            d->nomem = 1;
            break;
        }
        n++;
    }
    closedir(dp);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_str); /* the same order on every run */
    for (size_t i = 0; i < n && !d->nomem; i++) {
        char path[PATH_MAX], name[NAME_MAX_LEN + 8];
        mmdx_error_t err;
        mmdx_error_clear(&err);
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (name_from_file(path, name, sizeof name, &err) == MMDX_OK && registry_index(d->reg, name) >= 0)
            continue; /* the first one found, or the built-in, wins */
        if (err.code == MMDX_OK && load_file(d->ctx, d->reg, path, &err) == MMDX_OK) {
            d->loaded++;
            mmdx_ctx_log(d->ctx, MMDX_LOG_DEBUG, "loaded modality plugin %s", path);
        } else {
            char buf[1024];
            d->failed++;
            mmdx_error_format(&err, buf, sizeof buf);
            mmdx_ctx_log(d->ctx, MMDX_LOG_WARN, "plugin not loaded: %s", buf);
        }
    }
    for (size_t i = 0; i < n; i++)
        mmdx_free(names[i]);
    mmdx_free(names);
    return 0;
}

int mmdx_plugin_load_all(mmdx_ctx_t *ctx, size_t *n_loaded, size_t *n_failed)
{
    struct load_all_data d = {ctx, registry_get(ctx), 0, 0, 0};
    if (n_loaded)
        *n_loaded = 0;
    if (n_failed)
        *n_failed = 0;
    if (ctx == NULL)
        return MMDX_EINVAL;
    if (d.reg == NULL)
        return MMDX_ENOMEM;
    for_each_dir(load_dir, &d);
    if (n_loaded)
        *n_loaded = d.loaded;
    if (n_failed)
        *n_failed = d.failed;
    return d.nomem ? MMDX_ENOMEM : MMDX_OK;
}

int mmdx_plugin_register(mmdx_ctx_t *ctx, const mmdx_modality_desc_t *desc, const char *origin,
                         mmdx_error_t *err)
{
    mmdx_error_t local;
    mmdx_error_clear(&local);
    if (err == NULL)
        err = &local;
    if (ctx == NULL)
        return mmdx_error_set(err, MMDX_EINVAL, NULL, NULL, 0, "mmdx_plugin_register: no context");
    registry_t *reg = registry_get(ctx);
    int rc = reg ? registry_add(ctx, reg, desc, NULL, origin ? origin : "built-in", NULL, err)
                 : mmdx_error_set(err, MMDX_ENOMEM, origin, NULL, 0, "out of memory");
    if (rc != MMDX_OK)
        mmdx_ctx_set_error(ctx, err);
    return rc;
}

/* The query functions take a const context but may create the registry on first use:
 * the context itself is never const, only the caller's view of it. */
static registry_t *registry_of(const mmdx_ctx_t *ctx)
{
    return registry_get((mmdx_ctx_t *)(uintptr_t)ctx);
}

size_t mmdx_plugin_count(const mmdx_ctx_t *ctx)
{
    registry_t *reg = registry_of(ctx);
    return reg ? reg->n : 0;
}

const mmdx_modality_desc_t *mmdx_plugin_desc(const mmdx_ctx_t *ctx, size_t i)
{
    registry_t *reg = registry_of(ctx);
    return reg && i < reg->n ? reg->v[i]->desc : NULL;
}

const char *mmdx_plugin_origin(const mmdx_ctx_t *ctx, size_t i)
{
    registry_t *reg = registry_of(ctx);
    return reg && i < reg->n ? reg->v[i]->origin : NULL;
}

long mmdx_plugin_find(const mmdx_ctx_t *ctx, const char *name)
{
    registry_t *reg = registry_of(ctx);
    return reg && name ? registry_index(reg, name) : -1;
}

long mmdx_plugin_find_input(const mmdx_ctx_t *ctx, const char *input)
{
    registry_t *reg = registry_of(ctx);
    if (reg == NULL || input == NULL)
        return -1;
    for (size_t i = 0; i < reg->n; i++)
        if (reg->v[i]->desc->input && strcmp(reg->v[i]->desc->input, input) == 0)
            return (long)i;
    return -1;
}

const char *mmdx_plugin_dir(void)
{
    return MMDX_PLUGIN_DIR;
}
