/* Benchmark of the laboratory modality: generates a FHIR R4 bulk Bundle and an equivalent
 * HL7 v2.xml batch (not committed; written at run time into a scratch directory), reads each
 * through the adapter in a child process and runs `xmllint --stream --noout` on the same file
 * (the floor: libxml2 parsing alone). Prints MB/s, observations/s, peak RSS and the time
 * ratio to xmllint. Never fails on time.
 *
 * usage: bench_labs [-n PATIENTS] [-k OBS_PER_PATIENT] [-d DIR] [--keep] [--only fhir|v2]
 * defaults: 100000 patients x 40 observations (about 1 GB of FHIR XML). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
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

#include "mmdx/modality.h"

const mmdx_modality_desc_t *mmdx_modality_hl7_get_desc(void);

typedef struct { const char *loinc, *display, *unit; double mean, sd; } analyte_t;

/* a general panel; a fifth of the values in SI units so conversion is exercised */
static const analyte_t PANEL[] = {
    {"2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 100, 25},
    {"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 5.8, 0.8},
    {"2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 1.0, 0.3},
    {"3094-0", "Urea nitrogen [Mass/volume] in Serum or Plasma", "mg/dL", 15, 4},
    {"2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 140, 3},
    {"2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 4.2, 0.4},
    {"2075-0", "Chloride [Moles/volume] in Serum or Plasma", "mmol/L", 102, 3},
    {"2028-9", "Carbon dioxide, total [Moles/volume] in Serum or Plasma", "mmol/L", 25, 2},
    {"17861-6", "Calcium [Mass/volume] in Serum or Plasma", "mg/dL", 9.5, 0.4},
    {"2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", 190, 35},
    {"2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "mg/dL", 52, 12},
    {"13457-7", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation", "mg/dL", 115, 30},
    {"2571-8", "Triglyceride [Mass/volume] in Serum or Plasma", "mg/dL", 140, 60},
    {"1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 25, 10},
    {"1920-8", "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 24, 8},
    {"6768-6", "Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 80, 20},
    {"1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", "mg/dL", 0.7, 0.3},
    {"1751-7", "Albumin [Mass/volume] in Serum or Plasma", "g/dL", 4.2, 0.3},
    {"2885-2", "Protein [Mass/volume] in Serum or Plasma", "g/dL", 7.0, 0.4},
    {"718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 14, 1.5},
    {"4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", "%", 42, 4},
    {"6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*9/L", 6.5, 1.5},
    {"789-8", "Erythrocytes [#/volume] in Blood by Automated count", "10*12/L", 4.7, 0.4},
    {"777-3", "Platelets [#/volume] in Blood by Automated count", "10*9/L", 250, 50},
    {"787-2", "MCV [Entitic volume] by Automated count", "fL", 90, 5},
    {"785-6", "MCH [Entitic mass] by Automated count", "pg", 30, 2},
    {"786-4", "MCHC [Mass/volume] by Automated count", "g/dL", 34, 1},
    {"788-0", "Erythrocyte distribution width [Ratio] by Automated count", "%", 13, 1},
    {"3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", "m[IU]/L", 2, 1},
    {"3024-7", "Thyroxine (T4) free [Mass/volume] in Serum or Plasma", "ng/dL", 1.2, 0.2},
    {"1988-5", "C reactive protein [Mass/volume] in Serum or Plasma", "mg/L", 3, 2},
    {"2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ng/mL", 100, 50},
    {"3084-1", "Urate [Mass/volume] in Serum or Plasma", "mg/dL", 5.5, 1.2},
    {"14959-1", "Microalbumin/Creatinine [Mass Ratio] in Urine", "mg/g", 15, 10},
    {"8480-6", "Systolic blood pressure", "mm[Hg]", 125, 15},
    {"8462-4", "Diastolic blood pressure", "mm[Hg]", 78, 10},
    {"8867-4", "Heart rate", "/min", 72, 10},
    {"8302-2", "Body height", "cm", 168, 9},
    {"29463-7", "Body weight", "kg", 70, 12},
    {"8310-5", "Body temperature", "Cel", 36.8, 0.3},
};
#define N_PANEL (sizeof PANEL / sizeof PANEL[0])

static uint64_t rng = 88172645463325252ull;
static double unif(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}
static double gauss(void)
{
    double u = unif(), v = unif();
    return sqrt(-2 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

static double value_of(const analyte_t *a, int si, const char **unit)
{
    double v = a->mean + a->sd * gauss();
    if (v < a->mean * 0.2)
        v = a->mean * 0.2;
    *unit = a->unit;
    if (si && strcmp(a->loinc, "2345-7") == 0) {
        *unit = "mmol/L";
        return v / 18.016;
    }
    if (si && strcmp(a->loinc, "2160-0") == 0) {
        *unit = "umol/L";
        return v * 88.42;
    }
    if (si && (strcmp(a->loinc, "2093-3") == 0 || strcmp(a->loinc, "2085-9") == 0 ||
               strcmp(a->loinc, "13457-7") == 0)) {
        *unit = "mmol/L";
        return v / 38.67;
    }
    if (si && strcmp(a->loinc, "718-7") == 0) {
        *unit = "g/L";
        return v * 10;
    }
    return v;
}

static int gen_fhir(const char *path, long np, int k)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Bundle xmlns=\"http://hl7.org/fhir\">"
               "<id value=\"bench\"/><type value=\"collection\"/>\n");
    for (long p = 0; p < np; p++) {
        int si = unif() < 0.2;
        fprintf(f,
                "<entry><fullUrl value=\"urn:uuid:pat-%ld\"/><resource><Patient><id value=\"P%07ld\"/>"
                "<gender value=\"%s\"/><birthDate value=\"%04d-%02d-%02d\"/></Patient></resource></entry>\n",
                p, p, unif() < 0.5 ? "male" : "female", 1940 + (int)(unif() * 60), 1 + (int)(unif() * 12),
                1 + (int)(unif() * 28));
        for (int j = 0; j < k; j++) {
            const analyte_t *a = &PANEL[j % N_PANEL];
            const char *unit;
            double v = value_of(a, si, &unit);
            fprintf(f,
                    "<entry><fullUrl value=\"urn:uuid:obs-%ld-%d\"/><resource><Observation><id value=\"O%ld-%d\"/>"
                    "<status value=\"%s\"/><code><coding><system value=\"http://loinc.org\"/><code value=\"%s\"/>"
                    "<display value=\"%s\"/></coding></code><subject><reference value=\"Patient/P%07ld\"/></subject>"
                    "<effectiveDateTime value=\"2025-%02d-%02dT%02d:%02d:00Z\"/><valueQuantity><value value=\"%.4g\"/>"
                    "<unit value=\"%s\"/><system value=\"http://unitsofmeasure.org\"/><code value=\"%s\"/>"
                    "</valueQuantity></Observation></resource></entry>\n",
                    p, j, p, j, (j == k - 1 && p % 50 == 0) ? "preliminary" : "final", a->loinc, a->display, p, 1 + j % 12,
                    1 + (int)(p % 28), 8 + j % 10, (int)(p % 60), v, unit, unit);
        }
    }
    fprintf(f, "</Bundle>\n");
    return fclose(f);
}

static int gen_v2(const char *path, long np, int k)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ORU_R01_BATCH xmlns=\"urn:hl7-org:v2xml\">\n");
    for (long p = 0; p < np; p++) {
        int si = unif() < 0.2;
        fprintf(f,
                "<ORU_R01><MSH><MSH.1>|</MSH.1><MSH.2>^~\\&amp;</MSH.2><MSH.7><TS.1>20250101120000</TS.1></MSH.7>"
                "<MSH.9><MSG.1>ORU</MSG.1><MSG.2>R01</MSG.2></MSH.9><MSH.10>M%ld</MSH.10><MSH.12><VID.1>2.5.1</VID.1>"
                "</MSH.12></MSH><ORU_R01.PATIENT_RESULT><ORU_R01.PATIENT><PID><PID.3><CX.1>P%07ld</CX.1>"
                "<CX.5>MR</CX.5></PID.3><PID.7><TS.1>%04d%02d%02d</TS.1></PID.7><PID.8>%s</PID.8></PID>"
                "</ORU_R01.PATIENT><ORU_R01.ORDER_OBSERVATION><OBR><OBR.1>1</OBR.1><OBR.4><CE.1>24323-8</CE.1>"
                "<CE.3>LN</CE.3></OBR.4><OBR.7><TS.1>20250301080000</TS.1></OBR.7></OBR>\n",
                p, p, 1940 + (int)(unif() * 60), 1 + (int)(unif() * 12), 1 + (int)(unif() * 28),
                unif() < 0.5 ? "M" : "F");
        for (int j = 0; j < k; j++) {
            const analyte_t *a = &PANEL[j % N_PANEL];
            const char *unit;
            double v = value_of(a, si, &unit);
            fprintf(f,
                    "<ORU_R01.OBSERVATION><OBX><OBX.1>%d</OBX.1><OBX.2>NM</OBX.2><OBX.3><CE.1>%s</CE.1>"
                    "<CE.2>%s</CE.2><CE.3>LN</CE.3></OBX.3><OBX.5>%.4g</OBX.5><OBX.6><CE.1>%s</CE.1>"
                    "<CE.3>UCUM</CE.3></OBX.6><OBX.11>%s</OBX.11><OBX.14><TS.1>202503%02d%02d%02d</TS.1></OBX.14>"
                    "</OBX></ORU_R01.OBSERVATION>\n",
                    j + 1, a->loinc, a->display, v, unit, (j == k - 1 && p % 50 == 0) ? "P" : "F", 1 + (int)(p % 28),
                    8 + j % 10, (int)(p % 60));
        }
        fprintf(f, "</ORU_R01.ORDER_OBSERVATION></ORU_R01.PATIENT_RESULT></ORU_R01>\n");
    }
    fprintf(f, "</ORU_R01_BATCH>\n");
    return fclose(f);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct { unsigned long obs, rejects, patients; } counts_t;
static int c_obs(void *d, const mmdx_obs_t *o)
{
    (void)o;
    ((counts_t *)d)->obs++;
    return MMDX_OK;
}
static int c_rej(void *d, const char *p, const char *f, long r, int c, const char *why)
{
    (void)p, (void)f, (void)r, (void)c, (void)why;
    ((counts_t *)d)->rejects++;
    return MMDX_OK;
}
static int c_pat(void *d, const char *p)
{
    (void)p;
    ((counts_t *)d)->patients++;
    return MMDX_OK;
}

/* Read @p path through the adapter in this process; counts written to @p fd. */
static int adapter_child(const char *path, int fd)
{
    const char *dd = getenv("MMDX_DATA_DIR");
    mmdx_host_t host = {MMDX_ABI_MAJOR, MMDX_ABI_MINOR, sizeof host, malloc, realloc, free, NULL, NULL,
                        dd && *dd ? dd : "data", 1, {0}};
    const mmdx_modality_desc_t *d = mmdx_modality_hl7_get_desc();
    void *st = NULL, *src = NULL;
    mmdx_error_t err = {0};
    counts_t c = {0, 0, 0};
    if (d->ops.init(&host, &st, &err) || d->ops.open(st, path, NULL, &src, &err)) {
        fprintf(stderr, "bench_labs: %s: %s\n", err.file, err.message);
        return 1;
    }
    mmdx_sink_t sink = {&c, c_obs, NULL, c_rej, c_pat, {0}};
    int rc = d->ops.read(src, &sink, &err);
    d->ops.close(src);
    d->ops.fini(st);
    if (rc) {
        fprintf(stderr, "bench_labs: read %s: %s\n", path, err.message);
        return 1;
    }
    if (write(fd, &c, sizeof c) != (ssize_t)sizeof c)
        return 1;
    return 0;
}

/* Run a child (adapter or xmllint); wall time, peak RSS (kB) of the child. */
static int timed(const char *path, int use_xmllint, double *secs, double *cpu, long *rss_kb, counts_t *c)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(pfd[0]);
        if (use_xmllint) {
            execlp("xmllint", "xmllint", "--stream", "--noout", path, (char *)NULL);
            _exit(127);
        }
        _exit(adapter_child(path, pfd[1]));
    }
    close(pfd[1]);
    counts_t got = {0, 0, 0};
    ssize_t n = read(pfd[0], &got, sizeof got);
    close(pfd[0]);
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        return -1;
    *secs = now() - t0;
    *cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
    *rss_kb = ru.ru_maxrss;
    if (c)
        *c = got;
    (void)n;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void bench_file(const char *label, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return;
    double mb = (double)sb.st_size / 1e6;
    double t_x = 0, t_a = 0, c_x = 0, c_a = 0;
    long rss_x = 0, rss_a = 0;
    counts_t c;
    int rx = timed(path, 1, &t_x, &c_x, &rss_x, NULL);
    int ra = timed(path, 0, &t_a, &c_a, &rss_a, &c);
    printf("%s: %s, %.1f MB\n", label, path, mb);
    if (ra == 0)
        printf("  adapter : %7.2f s wall, %7.2f s CPU  %7.1f MB/s  %10.0f observations/s  peak RSS %6.1f MB  "
               "(%lu observations, %lu patients, %lu rejects)\n",
               t_a, c_a, mb / t_a, c.obs / t_a, rss_a / 1024.0, c.obs, c.patients, c.rejects);
    else
        printf("  adapter : failed (status %d)\n", ra);
    if (rx == 0)
        printf("  xmllint --stream --noout: %7.2f s wall, %7.2f s CPU  %7.1f MB/s  peak RSS %6.1f MB\n", t_x, c_x,
               mb / t_x, rss_x / 1024.0);
    else
        printf("  xmllint : not available (status %d)\n", rx);
    if (ra == 0 && rx == 0)
        printf("  ratio adapter/xmllint: %.2fx wall time, %.2fx CPU time (CPU time is the steadier figure on a "
               "loaded machine)\n",
               t_a / t_x, c_a / c_x);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    long np = 100000;
    int k = 40, keep = 0;
    const char *dir = NULL, *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            np = atol(argv[++i]);
        else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc)
            k = atoi(argv[++i]);
        else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0)
            keep = 1;
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [-n PATIENTS] [-k OBS_PER_PATIENT] [-d DIR] [--keep] [--only fhir|v2]\n",
                    argv[0]);
            return 2;
        }
    }
    char tmpl[512];
    if (!dir) {
        const char *t = getenv("TMPDIR");
        snprintf(tmpl, sizeof tmpl, "%s/mmdx-bench-labs-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmpl)) {
            perror("mkdtemp");
            return 2;
        }
        dir = tmpl;
    }
    char fhir[1024], v2[1024];
    snprintf(fhir, sizeof fhir, "%s/bulk-fhir.xml", dir);
    snprintf(v2, sizeof v2, "%s/bulk-v2.xml", dir);
    printf("bench_labs: %ld patients x %d observations\n", np, k);
    if (!only || strcmp(only, "fhir") == 0) {
        double t0 = now();
        if (gen_fhir(fhir, np, k) != 0) {
            perror(fhir);
            return 2;
        }
        printf("generated %s in %.1f s\n", fhir, now() - t0);
        bench_file("FHIR R4 Bundle", fhir);
        if (!keep)
            unlink(fhir);
    }
    if (!only || strcmp(only, "v2") == 0) {
        double t0 = now();
        if (gen_v2(v2, np, k) != 0) {
            perror(v2);
            return 2;
        }
        printf("generated %s in %.1f s\n", v2, now() - t0);
        bench_file("HL7 v2.xml batch", v2);
        if (!keep)
            unlink(v2);
    }
    if (!keep && dir == tmpl)
        rmdir(tmpl);
    return 0;
}
