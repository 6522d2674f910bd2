/* Fuzz the PGx definition tables (data/pgx, docs/pgx.md). The first input byte picks the
 * table (sources, positions, alleles, diplotypes), the rest replaces it; the other three
 * are the shipped tables cut to CYP2C19 (to keep runs fast). The vcf adapter
 * loads the tables from a private directory (option pgx_dir=) and calls diplotypes on a
 * small fixed VCF. Seeds: tests/fuzz/seeds.sh pgx. */
#include "fuzz_common.h"

#include <sys/stat.h>

static const char *const tables[4] = {"pgx_sources.tsv", "pgx_positions.tsv", "pgx_alleles.tsv",
                                      "pgx_diplotypes.tsv"};
static char *fixed[4];
static size_t fixed_len[4];
static char dir[256], vcf_path[64];

static const char vcf_text[] =
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=chr10,length=133797422>\n"
    "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
    "##FORMAT=<ID=PS,Number=1,Type=Integer,Description=\"Phase set\">\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tP1\tP2\tP3\n"
    "chr10\t94761900\trs12248560\tC\tT\t.\tPASS\t.\tGT:PS\t0/1:.\t1|1:5\t./.:.\n"
    "chr10\t94781859\trs4244285\tG\tA\t.\tPASS\t.\tGT:PS\t0/1:.\t0|1:5\t0|1:.\n"
    "chr10\t94842866\trs1057910\tA\tC\t.\tPASS\t.\tGT:PS\t1/1:.\t0/0:.\t0/1:.\n";

static void rm_dir(void)
{
    char p[300];
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, tables[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* The shipped table cut to the header and the rows of CYP2C19. */
static int load_fixed(int i)
{
    const char *data = getenv("MMDX_DATA_DIR");
    char p[512];
    snprintf(p, sizeof p, "%s/pgx/%s", data && *data ? data : "data", tables[i]);
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap), line[65536];
    int first = 1;
    while (buf && fgets(line, sizeof line, f)) {
        if (!first && strncmp(line, "CYP2C19\t", 8) != 0)
            continue;
        first = 0;
        size_t l = strlen(line);
        if (n + l + 1 > cap) {
            char *nb = realloc(buf, cap = 2 * (n + l + 1));
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        memcpy(buf + n, line, l);
        n += l;
    }
    fclose(f);
    if (!buf)
        return -1;
    fixed[i] = buf;
    fixed_len[i] = n;
    return 0;
}

static int write_file(const char *name, const void *data, size_t size)
{
    char p[300];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f)
        return -1;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static int setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mmdx-fuzz-pgx.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    atexit(rm_dir);
    for (int i = 0; i < 4; i++)
        if (load_fixed(i) != 0)
            return -1;
    return fuzz_memfile((const uint8_t *)vcf_text, sizeof vcf_text - 1, "", vcf_path, sizeof vcf_path) < 0 ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready)
        ready = setup() == 0 ? 1 : -1;
    if (ready < 0 || size < 1)
        return 0;
    int which = data[0] & 3;
    for (int i = 0; i < 4; i++)
        if (write_file(tables[i], i == which ? (const void *)(data + 1) : fixed[i], i == which ? size - 1 : fixed_len[i]) != 0)
            return 0;
    char opt[300];
    snprintf(opt, sizeof opt, "pgx_dir=%s", dir);
    const char *options[] = {"pgx=1", opt, NULL};
    mmdx_space_t *space = mmdx_space_alloc();
    mmdx_collect_t *col = space ? mmdx_collect_alloc(fuzz_ctx(), space, MMDX_AGG_LATEST) : NULL;
    mmdx_error_t err;
    mmdx_error_clear(&err);
    if (col && mmdx_collect_file(col, "vcf", vcf_path, options, &err) == MMDX_OK) {
        mmdx_cohort_t *c = NULL;
        if (mmdx_collect_to_cohort(col, &c, &err) == MMDX_OK)
            mmdx_cohort_free(c);
    }
    mmdx_collect_free(col);
    mmdx_space_free(space);
    mmdx_ctx_clear_error(fuzz_ctx());
    return 0;
}
