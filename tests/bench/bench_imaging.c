/* Benchmark of the imaging-feature modality (modalities/hdf5): read throughput and peak
 * memory of full reads and patient subsets, against h5py reading the same dataset into
 * numpy (`f['features'][:]`, tests/bench/bench_imaging_h5py.py run with /usr/bin/python3).
 *
 *   bench_imaging [--dir DIR] [--sizes N,N,...] [--d D] [--reps R] [--python PY] [--keep]
 *
 * Files are N x D, float32 and float64, chunked (about 1 MiB chunks) and contiguous,
 * with variable-length patient ids (h5py's default for str) and fixed-length ones (what
 * mmdx_imaging_write() stores), written with the HDF5 API into DIR (default tests/bench/out). Every measurement runs
 * in a fresh child process so its peak RSS (ru_maxrss) is its own; each is repeated R
 * times (default 3) and the best time is reported. The page cache is warm for both
 * readers (each file is read once before timing). Prints figures; never fails on time. */
#define _DEFAULT_SOURCE 1
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <hdf5.h>
#include <mmdx/mmdx.h>

const mmdx_modality_desc_t *mmdx_modality_hdf5_get_desc(void);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int write_file(const char *path, size_t n, size_t d, int f32, int chunked, int fixed_ids)
{
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0)
        return -1;
    hid_t str = H5Tcopy(H5T_C_S1), fstr = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, H5T_VARIABLE);
    H5Tset_cset(str, H5T_CSET_UTF8);
    H5Tset_size(fstr, 10); /* "P%09zu": what mmdx_imaging_write() stores */
    H5Tset_strpad(fstr, H5T_STR_NULLPAD);
    H5Tset_cset(fstr, H5T_CSET_UTF8);
    hid_t idtype = fixed_ids ? fstr : str;
    size_t elt = f32 ? 4 : 8, crow = (1u << 20) / (elt * d);
    size_t w = crow * 16; /* write window: whole chunks */
    if (w > n)
        w = n;
    char **ids = malloc(w * sizeof *ids), *arena = malloc(w * 16), *fixed = malloc(w * 10);
    double *buf = malloc(w * d * sizeof *buf);
    char (*names)[32] = malloc(d * sizeof *names);
    const char **np = malloc(d * sizeof *np);
    hsize_t dn = n, dd = d, dims[2] = {n, d}, cd[2] = {crow < n ? crow : n, d};
    hid_t sp_ids = H5Screate_simple(1, &dn, NULL), sp_names = H5Screate_simple(1, &dd, NULL);
    hid_t sp = H5Screate_simple(2, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (chunked)
        H5Pset_chunk(dcpl, 2, cd);
    hid_t ds_ids = H5Dcreate2(file, "patient_ids", idtype, sp_ids, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t ds = H5Dcreate2(file, "features", f32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    hid_t ds_names = H5Dcreate2(file, "feature_names", str, sp_names, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (ds_ids < 0 || ds < 0 || ds_names < 0 || !ids || !arena || !fixed || !buf || !names || !np) ? -1 : 0;
    for (size_t j = 0; j < d && rc == 0; j++) {
        snprintf(names[j], sizeof names[j], "f%03zu", j);
        np[j] = names[j];
    }
    if (rc == 0 && H5Dwrite(ds_names, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, np) < 0)
        rc = -1;
    uint64_t x = 88172645463325252ull;
    for (size_t r0 = 0; r0 < n && rc == 0; r0 += w) {
        size_t k = n - r0 < w ? n - r0 : w;
        for (size_t i = 0; i < k; i++) {
            ids[i] = arena + i * 16;
            snprintf(ids[i], 16, "P%09zu", r0 + i);
            memcpy(fixed + i * 10, ids[i], 10);
            for (size_t j = 0; j < d; j++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[i * d + j] = (double)(x >> 11) * 0x1.0p-53 * 100.0 - 50.0;
            }
        }
        hsize_t s1 = r0, c1 = k, s2[2] = {r0, 0}, c2[2] = {k, d}, m2 = k * d;
        hid_t f1 = H5Dget_space(ds_ids), m1 = H5Screate_simple(1, &c1, NULL);
        hid_t f2 = H5Dget_space(ds), mm = H5Screate_simple(1, &m2, NULL);
        if (H5Sselect_hyperslab(f1, H5S_SELECT_SET, &s1, NULL, &c1, NULL) < 0 ||
            H5Dwrite(ds_ids, idtype, m1, f1, H5P_DEFAULT, fixed_ids ? (void *)fixed : (void *)ids) < 0 ||
            H5Sselect_hyperslab(f2, H5S_SELECT_SET, s2, NULL, c2, NULL) < 0 ||
            H5Dwrite(ds, H5T_NATIVE_DOUBLE, mm, f2, H5P_DEFAULT, buf) < 0)
            rc = -1;
        H5Sclose(f1);
        H5Sclose(m1);
        H5Sclose(f2);
        H5Sclose(mm);
    }
    hid_t asp = H5Screate(H5S_SCALAR), at = H5Acreate2(file, "modality", str, asp, H5P_DEFAULT, H5P_DEFAULT);
    const char *mod = "bench";
    H5Awrite(at, str, &mod);
    H5Aclose(at);
    H5Sclose(asp);
    H5Dclose(ds_ids);
    H5Dclose(ds);
    H5Dclose(ds_names);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Sclose(sp_ids);
    H5Sclose(sp_names);
    H5Tclose(str);
    H5Tclose(fstr);
    if (H5Fclose(file) < 0)
        rc = -1;
    free(ids);
    free(arena);
    free(fixed);
    free(buf);
    free(names);
    free(np);
    return rc;
}

typedef struct acc {
    size_t rows;
    double sum;
} acc_t;

static int acc_block(void *data, const mmdx_block_t *b)
{
    acc_t *a = data;
    double s = 0;
    for (size_t k = 0; k < b->n * b->d; k++)
        s += b->values[k];
    a->sum += s;
    a->rows += b->n;
    return MMDX_OK;
}

static mmdx_host_t host = {MMDX_ABI_MAJOR, MMDX_ABI_MINOR, sizeof(mmdx_host_t), malloc, realloc, free,
                           NULL, NULL, NULL, 1, {NULL}};

/* One read through the adapter in this process; seconds, or < 0 on error. */
static double read_once(const char *path, const char *patients, size_t *rows)
{
    const mmdx_modality_desc_t *desc = mmdx_modality_hdf5_get_desc();
    void *st = NULL, *src = NULL;
    mmdx_error_t err = {0};
    char opt[1100];
    const char *opts[2] = {NULL, NULL};
    if (patients) {
        snprintf(opt, sizeof opt, "patients=%s", patients);
        opts[0] = opt;
    }
    acc_t a = {0, 0};
    mmdx_sink_t sink = {&a, NULL, acc_block, NULL, NULL, {NULL}};
    if (desc->ops.init(&host, &st, &err) != MMDX_OK)
        return -1;
    double t0 = now();
    int rc = desc->ops.open(st, path, opts, &src, &err);
    if (rc == MMDX_OK) {
        rc = desc->ops.read(src, &sink, &err);
        desc->ops.close(src);
    }
    double t = now() - t0;
    desc->ops.fini(st);
    if (rc != MMDX_OK) {
        fprintf(stderr, "bench_imaging: %s: %s\n", path, err.message);
        return -1;
    }
    *rows = a.rows;
    return t;
}

/* Read in a child process; its wall time, CPU time (user + system) and peak RSS (KiB). */
static int measure(const char *path, const char *patients, double *secs, double *cpu, long *rss_kb, size_t *rows)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fd[0]);
        size_t r = 0;
        double t = read_once(path, patients, &r);
        char msg[64];
        int len = snprintf(msg, sizeof msg, "%.9f %zu\n", t, r);
        if (write(fd[1], msg, (size_t)len) != len)
            _exit(2);
        _exit(t < 0 ? 1 : 0);
    }
    close(fd[1]);
    char msg[64] = "";
    ssize_t got = read(fd[0], msg, sizeof msg - 1);
    close(fd[0]);
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || got <= 0)
        return -1;
    msg[got] = '\0';
    if (sscanf(msg, "%lf %zu", secs, rows) != 2)
        return -1;
    *rss_kb = ru.ru_maxrss;
    *cpu = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
    return 0;
}

/* h5py: best wall and CPU seconds and peak RSS of `f['features'][:]`, via the python script. */
static int h5py_measure(const char *py, const char *script, const char *path, int reps, double *secs, double *cpu,
                        long *rss_kb)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' %d 2>/dev/null", py, script, path, reps);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    int ok = fscanf(p, "%lf %lf %ld", secs, cpu, rss_kb) == 3;
    return pclose(p) == 0 && ok ? 0 : -1;
}

static int write_subset(const char *path, size_t n, size_t k)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    /* every (n/k)-th patient: spread over all chunks, the worst case for skipping */
    size_t step = n / k;
    for (size_t i = 0; i < n; i += step)
        fprintf(f, "P%09zu\n", i);
    return fclose(f);
}

int main(int argc, char **argv)
{
    const char *dir = "tests/bench/out", *py = "/usr/bin/python3";
    const char *srcdir = getenv("MMDX_SRCDIR");
    char script[1024];
    size_t sizes[8] = {100000, 1000000}, nsizes = 2, d = 64;
    int reps = 3, keep = 0;
    snprintf(script, sizeof script, "%s/tests/bench/bench_imaging_h5py.py", srcdir ? srcdir : ".");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--d") && i + 1 < argc)
            d = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--python") && i + 1 < argc)
            py = argv[++i];
        else if (!strcmp(argv[i], "--script") && i + 1 < argc)
            snprintf(script, sizeof script, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--keep"))
            keep = 1;
        else if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
            nsizes = 0;
            for (char *s = argv[++i], *e; *s && nsizes < 8; s = *e ? e + 1 : e)
                sizes[nsizes++] = strtoul(s, &e, 10);
        } else {
            fprintf(stderr, "usage: %s [--dir DIR] [--sizes N,...] [--d D] [--reps R] [--python PY] "
                            "[--script bench_imaging_h5py.py] [--keep]\n", argv[0]);
            return 2;
        }
    }
    if (d == 0 || reps < 1)
        return 2;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    mkdir(dir, 0777);
    int have_py = access(py, X_OK) == 0 && access(script, R_OK) == 0;
    if (!have_py)
        printf("# h5py comparison skipped: %s or %s not found\n", py, script);
    printf("# imaging read benchmark: D=%zu, best of %d, warm page cache, peak RSS per fresh process\n", d, reps);
    printf("# wall and CPU (user+system) seconds; the machine may be shared, CPU time is the steadier figure\n");
    printf("%-8s %-4s %-8s %-5s %-10s %8s %8s %8s %8s %7s %8s %8s %6s %6s %6s\n", "N", "type", "storage", "ids",
           "read", "rows", "wall_s", "cpu_s", "MB/s", "RSS_MiB", "h5py_w", "h5py_cpu", "h5_RSS", "ratio", "r_cpu");
    for (size_t si = 0; si < nsizes; si++) {
        size_t n = sizes[si];
        for (int f32 = 1; f32 >= 0; f32--)
            for (int chunked = 1; chunked >= 0; chunked--)
            for (int fx = 0; fx <= 1; fx++) {
                char path[1024], plist[1100];
                snprintf(path, sizeof path, "%s/imaging_%zu_%zu_%s_%s_%s.h5", dir, n, d, f32 ? "f32" : "f64",
                         chunked ? "chunked" : "contig", fx ? "fixedids" : "vlenids");
                if (write_file(path, n, d, f32, chunked, fx) != 0) {
                    fprintf(stderr, "bench_imaging: cannot write %s\n", path);
                    return 1;
                }
                double mb = (double)n * (double)d * (f32 ? 4.0 : 8.0) / 1e6;
                size_t rows = 0;
                double t, c, best = INFINITY, bcpu = INFINITY, hs = NAN, hc = NAN;
                long rss = 0, r, hrss = 0;
                (void)measure(path, NULL, &t, &c, &r, &rows); /* warm the page cache */
                for (int k = 0; k < reps; k++)
                    if (measure(path, NULL, &t, &c, &r, &rows) == 0) {
                        best = t < best ? t : best;
                        bcpu = c < bcpu ? c : bcpu;
                        rss = r > rss ? r : rss;
                    }
                if (have_py && h5py_measure(py, script, path, reps, &hs, &hc, &hrss) != 0)
                    hs = hc = NAN;
                printf("%-8zu %-4s %-8s %-5s %-10s %8zu %8.3f %8.3f %8.0f %7.1f %8.3f %8.3f %6.0f %6.2f %6.2f\n", n,
                       f32 ? "f32" : "f64", chunked ? "chunked" : "contig", fx ? "fixed" : "vlen", "full", rows,
                       best, bcpu, mb / best,
                       rss / 1024.0, hs, hc, hrss / 1024.0, best / hs, bcpu / hc);
                static const size_t fractions[] = {100, 10}; /* 1% and 10% of the patients */
                for (size_t fi = 0; fi < 2; fi++) {
                    size_t k = n / fractions[fi];
                    snprintf(plist, sizeof plist, "%s.patients%zu.txt", path, k);
                    if (write_subset(plist, n, k) != 0)
                        continue;
                    best = bcpu = INFINITY;
                    rss = 0;
                    for (int q = 0; q < reps; q++)
                        if (measure(path, plist, &t, &c, &r, &rows) == 0) {
                            best = t < best ? t : best;
                            bcpu = c < bcpu ? c : bcpu;
                            rss = r > rss ? r : rss;
                        }
                    char label[32];
                    snprintf(label, sizeof label, "subset%zu%%", 100 / fractions[fi]);
                    printf("%-8zu %-4s %-8s %-5s %-10s %8zu %8.3f %8.3f %8s %7.1f\n", n, f32 ? "f32" : "f64",
                           chunked ? "chunked" : "contig", fx ? "fixed" : "vlen", label, rows, best, bcpu, "-",
                           rss / 1024.0);
                    if (!keep)
                        unlink(plist);
                }
                fflush(stdout);
                if (!keep)
                    unlink(path);
            }
    }
    printf("# MB/s = N*D*sizeof(stored type)/wall seconds. mmdx reads ids and values, checks them and delivers\n"
           "# doubles; h5py reads /features only, in its stored type. ratio = mmdx/h5py wall, r_cpu = CPU (target <= 1.2)\n");
    return 0;
}
