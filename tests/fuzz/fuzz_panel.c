/* Fuzz the variant panel TSV (docs/formats/panel.md): the input is the panel, read by
 * the vcf adapter (option panel=) against a small fixed VCF. */
#include "fuzz_common.h"

static const char vcf_text[] =
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=chr10,length=133797422>\n"
    "##contig=<ID=chr16,length=90338345>\n"
    "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
    "##FORMAT=<ID=GQ,Number=1,Type=Integer,Description=\"Quality\">\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tP1\tP2\tP3\n"
    "chr10\t94761900\trs12248560\tC\tT\t.\tPASS\t.\tGT:GQ\t0/1:50\t1|1:60\t./.:.\n"
    "chr10\t94781859\trs4244285\tG\tA,C\t.\tPASS\t.\tGT:GQ\t1/2:40\t0/0:99\t0|1:10\n"
    "chr16\t31096368\trs9923231\tC\tT\t.\tq10\t.\tGT\t1\t0/1\t.\n";

static char vcf_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!vcf_path[0]) {
        int vfd = fuzz_memfile((const uint8_t *)vcf_text, sizeof vcf_text - 1, "", vcf_path, sizeof vcf_path);
        if (vfd < 0)
            return 0; /* kept open for the whole run */
    }
    char path[300], opt[320];
    int fd = fuzz_memfile(data, size, "", path, sizeof path);
    if (fd < 0)
        return 0;
    snprintf(opt, sizeof opt, "panel=%s", path);
    const char *options[] = {opt, NULL};
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
    close(fd);
    return 0;
}
