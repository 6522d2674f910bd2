/* Benchmark of the VCF modality against bcftools on the same work.
 *
 * usage: bench_vcf [WORKDIR [SAMPLES [SITES]]]     (defaults /tmp/mmdx-bench-vcf 2000 50000)
 *        env MMDX_BENCH_REAL=FILE[:FILE...] adds runs on real indexed files (e.g. the 1000
 *        Genomes chr20 slice of Debian's shapeit4-example, reference.vcf.gz, and the
 *        1.1M-record file ../shared/data/vcf/make_big_vcf.sh builds from it) with 100-site panels.
 *
 * Generates a synthetic multi-sample VCF.gz (+ .tbi) and BCF (+ .csi), a 300-site panel, and
 * times, each in a fresh child process (so peak RSS is per run):
 *   (a) the panel through the index (against `bcftools query -R regions -f '[%GT\t]\n'`),
 *   the panel by streaming (against `bcftools query -T regions ...`, which streams too),
 *   (b) a whole-file scan, every ALT of every record as a feature (against
 *   `bcftools query -f '[%GT\t]\n'`), each with 1 and 2 threads; then both again on a tenth
 *   of the samples (htslib sample subsetting against `bcftools query -s`).
 * Then the PGx step on a 1,000-sample file at the PGx positions (samples/s).
 * Prints wall-clock and CPU seconds (the CPU figures are the steadier ones on a shared
 * machine) and their ratios to bcftools; never fails on time. */
#define _DEFAULT_SOURCE /* wait4 */
#include "../unit/vcf_test_util.h"
#include <errno.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xrand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static off_t file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : 0;
}

/* A synthetic GRCh38 chr20 VCF.gz, SAMPLES x SITES, with allele frequencies 1-50%. */
static int make_vcf(const char *path, int ns, int nsites)
{
    BGZF *z = bgzf_open(path, "w");
    if (!z)
        return -1;
    bgzf_mt(z, 2, 256);
    kstring_t s = {0, 0, NULL};
    ksprintf(&s, "##fileformat=VCFv4.2\n##contig=<ID=chr20,length=64444167>\n"
                 "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
                 "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT");
    for (int i = 0; i < ns; i++)
        ksprintf(&s, "\tS%05d", i);
    kputc('\n', &s);
    static const char bases[] = "ACGT";
    for (int r = 0; r < nsites; r++) {
        int ref = (int)(xrand() % 4), alt = (ref + 1 + (int)(xrand() % 3)) % 4;
        unsigned af = 1 + (unsigned)(xrand() % 50);
        ksprintf(&s, "chr20\t%d\t.\t%c\t%c\t.\tPASS\t.\tGT", 60000 + r * 1000, bases[ref], bases[alt]);
        for (int i = 0; i < ns; i++) {
            uint64_t x = xrand();
            int a = (x % 100) < af, b = ((x >> 20) % 100) < af;
            kputc('\t', &s);
            kputc('0' + a, &s);
            kputc('|', &s);
            kputc('0' + b, &s);
        }
        kputc('\n', &s);
        if (s.l > (1u << 20)) {
            if (bgzf_write(z, s.s, s.l) < 0)
                return -1;
            s.l = 0;
        }
    }
    if (s.l && bgzf_write(z, s.s, s.l) < 0)
        return -1;
    free(s.s);
    if (bgzf_close(z) < 0)
        return -1;
    return tbx_index_build(path, 0, &tbx_conf_vcf);
}

typedef struct run_result {
    double secs, cpu; /* wall-clock and CPU (user + system) seconds */
    long maxrss_kb;
    size_t obs, records;
    int rc;
} run_result_t;

/* Run the modality in a child; figures come back through a pipe. */
static run_result_t run_mmdx(const char *path, const char *const *options, int threads)
{
    run_result_t r = {0, 0, 0, 0, 0, -1};
    int fd[2];
    if (pipe(fd) != 0)
        return r;
    double t0 = now();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        tsink_t t = {.keep = 0};
        mmdx_error_t err = {0};
        int rc = t_run(path, options, &t, &err, threads);
        if (rc != MMDX_OK)
            fprintf(stderr, "bench_vcf: %s: %s\n", path, err.message);
        size_t out[2] = {t.n, (size_t)(rc == MMDX_OK)};
        if (write(fd[1], out, sizeof out) != (ssize_t)sizeof out)
            _exit(3);
        _exit(rc == MMDX_OK ? 0 : 1);
    }
    close(fd[1]);
    size_t in[2] = {0, 0};
    if (read(fd[0], in, sizeof in) != (ssize_t)sizeof in)
        in[1] = 0;
    close(fd[0]);
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    r.secs = now() - t0;
    r.cpu = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
            1e-6 * (double)ru.ru_stime.tv_usec;
    r.maxrss_kb = ru.ru_maxrss;
    r.obs = in[0];
    r.rc = in[1] ? 0 : -1;
    return r;
}

static run_result_t run_cmd(char *const argv[])
{
    run_result_t r = {0, 0, 0, 0, 0, -1};
    double t0 = now();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = freopen("/dev/null", "w", stdout);
        (void)f;
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    r.secs = now() - t0;
    r.cpu = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
            1e-6 * (double)ru.ru_stime.tv_usec;
    r.maxrss_kb = ru.ru_maxrss;
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

/* @p bytes: compressed bytes read (0: not known, e.g. index jumps) */
static void report(const char *what, const run_result_t *m, const run_result_t *b, double records, double samples,
                   double bytes)
{
    char mbs[32] = "      -     ";
    if (bytes > 0)
        snprintf(mbs, sizeof mbs, "%7.1f MB/s", bytes / 1e6 / m->secs);
    printf("%-40s mmdx %6.3f s (cpu %6.3f) %8.0f rec/s %10.0f gt/s %s RSS %3ld MB", what, m->secs, m->cpu,
           records / m->secs, records * samples / m->secs, mbs, m->maxrss_kb / 1024);
    if (b)
        printf(" | bcftools %6.3f s (cpu %6.3f) RSS %3ld MB | ratio %.2f (cpu %.2f)%s", b->secs, b->cpu,
               b->maxrss_kb / 1024, m->secs / b->secs, b->cpu > 0 ? m->cpu / b->cpu : 0,
               b->rc ? " (bcftools failed)" : "");
    printf("%s\n", m->rc ? " (mmdx failed)" : "");
    fflush(stdout);
}

static int count_records(const char *path, int *ns)
{
    htsFile *f = hts_open(path, "r");
    if (!f)
        return -1;
    bcf_hdr_t *h = bcf_hdr_read(f);
    bcf1_t *r = bcf_init();
    int n = 0;
    *ns = h ? bcf_hdr_nsamples(h) : 0;
    while (h && bcf_read(f, h, r) == 0)
        n++;
    bcf_destroy(r);
    if (h)
        bcf_hdr_destroy(h);
    hts_close(f);
    return n;
}

/* Write a panel (and a bcftools regions file) of @p k sites picked evenly from @p path. */
static int make_panel(const char *path, int k, const char *panel, const char *regions, int n_records,
                      const char *build)
{
    htsFile *f = hts_open(path, "r");
    if (!f)
        return -1;
    bcf_hdr_t *h = bcf_hdr_read(f);
    bcf1_t *r = bcf_init();
    FILE *p = fopen(panel, "w"), *g = fopen(regions, "w");
    int i = 0, written = 0, step = n_records / k > 0 ? n_records / k : 1;
    fprintf(p, "id\tchrom\tpos\tref\talt\tgene\tbuild\n");
    while (h && bcf_read(f, h, r) == 0) {
        if (i++ % step || written >= k)
            continue;
        bcf_unpack(r, BCF_UN_STR);
        if (r->n_allele < 2 || r->d.allele[1][0] == '<')
            continue;
        fprintf(p, "v%d\t%s\t%lld\t%s\t%s\t.\t%s\n", written, bcf_hdr_id2name(h, r->rid), (long long)r->pos + 1,
                r->d.allele[0], r->d.allele[1], build);
        fprintf(g, "%s\t%lld\n", bcf_hdr_id2name(h, r->rid), (long long)r->pos + 1);
        written++;
    }
    fclose(p);
    fclose(g);
    bcf_destroy(r);
    if (h)
        bcf_hdr_destroy(h);
    hts_close(f);
    return written;
}

static void bench_file(const char *label, const char *path, const char *workdir, int panel_sites, const char *build)
{
    int ns = 0;
    int nrec = count_records(path, &ns);
    if (nrec <= 0) {
        printf("%s: cannot read %s\n", label, path);
        return;
    }
    char panel[1024], regions[1024], o_panel[1100];
    snprintf(panel, sizeof panel, "%s/%s.panel.tsv", workdir, label);
    snprintf(regions, sizeof regions, "%s/%s.regions.tsv", workdir, label);
    int k = make_panel(path, panel_sites, panel, regions, nrec, build);
    snprintf(o_panel, sizeof o_panel, "panel=%s", panel);
    double bytes = (double)file_size(path);
    printf("\n%s: %s, %d samples x %d records, %.1f MB; panel of %d sites\n", label, path, ns, nrec, bytes / 1e6, k);
    for (int th = 1; th <= 2; th++) {
        char tho[32], what[128];
        snprintf(tho, sizeof tho, "threads=%d", th);
        const char *o_index[] = {o_panel, "access=index", tho, NULL};
        const char *o_stream[] = {o_panel, "access=stream", tho, NULL};
        const char *o_all[] = {tho, NULL};
        /* the panel's build column says GRCh38; files of another or unknown build pass the
         * check only when their header does not contradict it */
        /* bcftools query has no --threads (1.16): with 2 threads, bcftools view decompresses
         * with an extra thread and pipes uncompressed BCF to bcftools query */
        char sh_reg[4096], sh_all[4096];
        snprintf(sh_reg, sizeof sh_reg, "bcftools view --threads 1 -Ou -R '%s' '%s' | bcftools query -f '[%%GT\\t]\\n'",
                 regions, path);
        snprintf(sh_all, sizeof sh_all, "bcftools view --threads 1 -Ou '%s' | bcftools query -f '[%%GT\\t]\\n'", path);
        char *b_reg1[] = {"bcftools", "query", "-R", regions, "-f", "[%GT\t]\n", (char *)path, NULL};
        char *b_all1[] = {"bcftools", "query", "-f", "[%GT\t]\n", (char *)path, NULL};
        char *b_reg2[] = {"sh", "-c", sh_reg, NULL};
        /* streaming comparison: -T targets stream the file instead of jumping */
        char sh_tgt[4096];
        snprintf(sh_tgt, sizeof sh_tgt, "bcftools view --threads 1 -Ou -T '%s' '%s' | bcftools query -f '[%%GT\\t]\\n'",
                 regions, path);
        char *b_tgt1[] = {"bcftools", "query", "-T", regions, "-f", "[%GT\t]\n", (char *)path, NULL};
        char *b_tgt2[] = {"sh", "-c", sh_tgt, NULL};
        char *b_all2[] = {"sh", "-c", sh_all, NULL};
        char **b_reg = th == 1 ? b_reg1 : b_reg2, **b_all = th == 1 ? b_all1 : b_all2;
        run_result_t m = run_mmdx(path, o_index, th), b = run_cmd(b_reg);
        snprintf(what, sizeof what, "(a) %d-site panel via index, %d thr", k, th);
        report(what, &m, &b, k, ns, 0);
        m = run_mmdx(path, o_stream, th);
        b = run_cmd(th == 1 ? b_tgt1 : b_tgt2);
        snprintf(what, sizeof what, "    %d-site panel by streaming, %d thr", k, th);
        report(what, &m, &b, nrec, ns, bytes);
        m = run_mmdx(path, o_all, th);
        b = run_cmd(b_all);
        snprintf(what, sizeof what, "(b) whole-file scan, every ALT, %d thr", th);
        report(what, &m, &b, nrec, ns, bytes);
    }
    /* a tenth of the samples (htslib sample subsetting against bcftools -s) */
    htsFile *f = hts_open(path, "r");
    bcf_hdr_t *h = f ? bcf_hdr_read(f) : NULL;
    int nsub = ns / 10 > 0 ? ns / 10 : 1;
    kstring_t list = {0, 0, NULL};
    for (int i = 0; h && i < nsub && i < ns; i++) {
        if (i)
            kputc(',', &list);
        kputs(h->samples[i * (ns / nsub)], &list);
    }
    if (h)
        bcf_hdr_destroy(h);
    if (f)
        hts_close(f);
    if (list.l) {
        char *o_samples = malloc(list.l + 16), what[128];
        sprintf(o_samples, "samples=%s", list.s);
        const char *o_sub[] = {o_panel, "access=index", o_samples, NULL};
        const char *o_all_sub[] = {o_samples, NULL};
        char *b_sub[] = {"bcftools", "query", "-R", regions, "-s", list.s, "-f", "[%GT\t]\n", (char *)path, NULL};
        char *b_all_sub[] = {"bcftools", "query", "-s", list.s, "-f", "[%GT\t]\n", (char *)path, NULL};
        run_result_t m = run_mmdx(path, o_sub, 1), b = run_cmd(b_sub);
        snprintf(what, sizeof what, "(a) %d sites via index, %d samples, 1 thr", k, nsub);
        report(what, &m, &b, k, nsub, 0);
        m = run_mmdx(path, o_all_sub, 1);
        b = run_cmd(b_all_sub);
        snprintf(what, sizeof what, "(b) whole file, %d samples, 1 thr", nsub);
        report(what, &m, &b, nrec, nsub, bytes);
        free(o_samples);
    }
    free(list.s);
}

/* A 1,000-sample VCF at every PGx position (genotypes drawn with 5% ALT frequency). */
static int make_pgx_vcf(const char *path, const char *data_dir, int ns)
{
    char tsv[1200], line[4096];
    snprintf(tsv, sizeof tsv, "%s/pgx/pgx_positions.tsv", data_dir);
    FILE *in = fopen(tsv, "r"), *out = fopen(path, "w");
    if (!in || !out)
        return -1;
    fprintf(out, "##fileformat=VCFv4.2\n##reference=GRCh38\n"
                 "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
                 "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT");
    for (int i = 0; i < ns; i++)
        fprintf(out, "\tP%04d", i);
    fputc('\n', out);
    int n = 0;
    while (fgets(line, sizeof line, in)) {
        char gene[64], chrom[64], pos[32], rsid[64], ref[256], alts[512];
        if (n++ == 0 || sscanf(line, "%63s %63s %31s %63s %255s %511s", gene, chrom, pos, rsid, ref, alts) != 6)
            continue;
        char *comma = strchr(alts, ',');
        if (comma)
            *comma = '\0';
        fprintf(out, "%s\t%s\t.\t%s\t%s\t.\tPASS\t.\tGT", chrom, pos, ref, alts);
        for (int i = 0; i < ns; i++) {
            uint64_t x = xrand();
            fprintf(out, "\t%d/%d", (x % 100) < 5, ((x >> 20) % 100) < 5);
        }
        fputc('\n', out);
    }
    fclose(in);
    return fclose(out);
}

int main(int argc, char **argv)
{
    const char *workdir = argc > 1 ? argv[1] : "/tmp/mmdx-bench-vcf";
    int ns = argc > 2 ? atoi(argv[2]) : 2000, nsites = argc > 3 ? atoi(argv[3]) : 50000;
    char vcf[1024], bcf[1024];
    mkdir(workdir, 0755);
    snprintf(vcf, sizeof vcf, "%s/synthetic_%d_%d.vcf.gz", workdir, ns, nsites);
    snprintf(bcf, sizeof bcf, "%s/synthetic_%d_%d.bcf", workdir, ns, nsites);
    if (access(vcf, R_OK) != 0 || access(bcf, R_OK) != 0) {
        double t0 = now();
        printf("generating %s (%d samples x %d sites) and its BCF...\n", vcf, ns, nsites);
        fflush(stdout);
        if (make_vcf(vcf, ns, nsites) != 0 || t_vcf_to_bcf(vcf, bcf) != 0) {
            fprintf(stderr, "bench_vcf: cannot write %s\n", workdir);
            return 1;
        }
        printf("generated in %.1f s\n", now() - t0);
    }
    bench_file("synthetic-vcfgz", vcf, workdir, 300, "GRCh38");
    bench_file("synthetic-bcf", bcf, workdir, 300, "GRCh38");
    /* real files: colon-separated list; their panels say GRCh37 (1000 Genomes phase 3) */
    const char *real = getenv("MMDX_BENCH_REAL");
    char list[4096];
    snprintf(list, sizeof list, "%s", real ? real : "");
    int idx = 0;
    for (char *tok = strtok(list, ":"); tok; tok = strtok(NULL, ":")) {
        char label[32];
        snprintf(label, sizeof label, "real%d", idx++);
        bench_file(label, tok, workdir, 100, "GRCh37");
    }

    const char *dd = getenv("MMDX_DATA_DIR");
    char pgx_vcf[1100], o_table[1200];
    snprintf(pgx_vcf, sizeof pgx_vcf, "%s/pgx_1000.vcf", workdir);
    snprintf(o_table, sizeof o_table, "pgx_table=%s/pgx_1000.tsv", workdir);
    if (make_pgx_vcf(pgx_vcf, dd ? dd : "data", 1000) == 0) {
        const char *o[] = {o_table, NULL};
        run_result_t m = run_mmdx(pgx_vcf, o, 1);
        printf("\nPGx: 1000 samples x 9 genes in %.3f s (cpu %.3f) = %.0f samples/s (RSS %ld MB)%s\n", m.secs, m.cpu,
               1000.0 / m.secs, m.maxrss_kb / 1024, m.rc ? " (failed)" : "");
    } else
        printf("\nPGx: cannot read %s/pgx/pgx_positions.tsv (set MMDX_DATA_DIR)\n", dd ? dd : "data");
    return 0;
}
