/* Broken modality modules for check_plugin: one source, built once per defect
 * (-DBROKEN_ABI, -DBROKEN_INIT, -DBROKEN_SYMBOL, -DBROKEN_NAME, -DBROKEN_OPS). Each must
 * be refused with an error naming the file; none may crash the host. */
#include <mmdx/modality.h>

static int b_init(const mmdx_host_t *host, void **state_out, mmdx_error_t *err)
{
    (void)host;
    *state_out = NULL;
#ifdef BROKEN_INIT
    return mmdx_modality_error(err, MMDX_EFORMAT, "/etc/broken.conf", NULL, 3,
                               "configuration table is missing");
#else
    (void)err;
    return MMDX_OK;
#endif
}
static int b_open(void *state, const char *path, const char *const *options, void **src_out, mmdx_error_t *err)
{
    (void)state; (void)path; (void)options; (void)err;
    *src_out = NULL;
    return MMDX_OK;
}
#ifndef BROKEN_OPS
static int b_read(void *src, const mmdx_sink_t *sink, mmdx_error_t *err)
{
    (void)src; (void)sink; (void)err;
    return MMDX_OK;
}
#endif
static void b_close(void *src)
{
    (void)src;
}

#if defined(BROKEN_ABI)
#define NAME badabi
#define ABI_MAJOR (MMDX_ABI_MAJOR + 1)
#elif defined(BROKEN_INIT)
#define NAME badinit
#elif defined(BROKEN_SYMBOL)
#define NAME nosym
#elif defined(BROKEN_NAME)
#define NAME misnamed
#define DESC_NAME "othername"
#elif defined(BROKEN_OPS)
#define NAME noread
#else
#error pick a defect
#endif
#ifndef ABI_MAJOR
#define ABI_MAJOR MMDX_ABI_MAJOR
#endif
#define STR2(x) #x
#define STR(x) STR2(x)
#ifndef DESC_NAME
#define DESC_NAME STR(NAME)
#endif

static const mmdx_modality_desc_t desc = {
    ABI_MAJOR, MMDX_ABI_MINOR, sizeof(mmdx_modality_desc_t), DESC_NAME, "0.0", "MIT", "broken on purpose",
    "broken",
#ifdef BROKEN_OPS
    {b_init, NULL, NULL, b_open, NULL, b_close, {NULL}},
#else
    {b_init, NULL, NULL, b_open, b_read, b_close, {NULL}},
#endif
    {NULL}};

#ifdef BROKEN_SYMBOL
/* exported under a name that does not match the file (mmdx_nosym.so) */
MMDX_MODALITY_EXPORT(something_else)
#elif defined(BROKEN_ABI)
MMDX_MODALITY_EXPORT(badabi)
#elif defined(BROKEN_INIT)
MMDX_MODALITY_EXPORT(badinit)
#elif defined(BROKEN_NAME)
MMDX_MODALITY_EXPORT(misnamed)
#else
MMDX_MODALITY_EXPORT(noread)
#endif
{
    return &desc;
}
