/* Status codes and the structured error: the first error of an operation is kept. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mmdx/common.h"

const char *mmdx_strerror(int code)
{
    switch (code) {
    case MMDX_OK: return "success";
    case MMDX_ENOMEM: return "out of memory";
    case MMDX_EINVAL: return "invalid argument";
    case MMDX_EIO: return "input/output error";
    case MMDX_EFORMAT: return "malformed input";
    case MMDX_ENOTFOUND: return "not found";
    case MMDX_EDUP: return "duplicate id";
    case MMDX_ERANGE: return "value out of range";
    case MMDX_EUNIT: return "unit cannot be converted";
    case MMDX_EABI: return "plugin ABI mismatch";
    case MMDX_EPLUGIN: return "plugin failed";
    case MMDX_ENUMERIC: return "numerical failure";
    case MMDX_EVERSION: return "incompatible file version";
    case MMDX_ESPACE: return "feature spaces or targets do not match";
    case MMDX_ESECURITY: return "input refused for safety";
    case MMDX_ETRUNC: return "input ended early";
    case MMDX_ESTATE: return "call made in the wrong state";
    case MMDX_EREJECT: return "record rejected";
    default: return "unknown error";
    }
}

void mmdx_error_clear(mmdx_error_t *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

int mmdx_error_set(mmdx_error_t *err, int code, const char *file, const char *object, long line,
                   const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || err->code != MMDX_OK)
        return code;
    err->code = code;
    snprintf(err->file, sizeof err->file, "%s", file ? file : "");
    snprintf(err->object, sizeof err->object, "%s", object ? object : "");
    err->line = line;
    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    } else {
        snprintf(err->message, sizeof err->message, "%s", mmdx_strerror(code));
    }
    return code;
}

size_t mmdx_error_format(const mmdx_error_t *err, char *buf, size_t size)
{
    size_t n = 0;
    int k;
    if (buf == NULL || size == 0)
        return 0;
    buf[0] = '\0';
    if (err == NULL || err->code == MMDX_OK) {
        k = snprintf(buf, size, "no error");
        return k < 0 ? 0 : ((size_t)k < size ? (size_t)k : size - 1);
    }
#define MMDX_APPEND(...)                                                 \
    do {                                                                 \
        k = snprintf(buf + n, size - n, __VA_ARGS__);                    \
        if (k < 0)                                                       \
            return n;                                                    \
        n += (size_t)k;                                                  \
        if (n >= size)                                                   \
            return size - 1;                                             \
    } while (0)
    if (err->file[0]) {
        MMDX_APPEND("%s", err->file);
        if (err->line > 0)
            MMDX_APPEND(":%ld", err->line);
        MMDX_APPEND(": ");
    } else if (err->line > 0) {
        MMDX_APPEND("record %ld: ", err->line);
    }
    if (err->object[0])
        MMDX_APPEND("%s: ", err->object);
    MMDX_APPEND("%s (%s)", err->message[0] ? err->message : mmdx_strerror(err->code),
                mmdx_strerror(err->code));
#undef MMDX_APPEND
    return n;
}
