/* The VCF modality through its descriptor: panel dosages, formats (VCF, VCF.gz, BCF),
 * index and streaming access, samples, builds, coverage, options and bad input. */
#include "vcf_test_util.h"
#include <sys/stat.h>
#include <unistd.h>
#include <check.h>

static char tmpdir[256];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/check_vcf.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *tpath(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

#define HDR38                                                                                         \
    "##fileformat=VCFv4.2\n##contig=<ID=chr1,length=248956422>\n##contig=<ID=chr10,length=133797422>\n" \
    "##contig=<ID=chrX,length=156040895>\n"                                                           \
    "##FILTER=<ID=LowQual,Description=\"low\">\n"                                                     \
    "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"                                \
    "##FORMAT=<ID=GQ,Number=1,Type=Integer,Description=\"GQ\">\n"                                     \
    "##FORMAT=<ID=DP,Number=1,Type=Integer,Description=\"DP\">\n"

static const char *vcf3 =
    HDR38 "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tP1\tP2\tP3\n"
          "chr1\t1000\t.\tA\tG\t.\tPASS\t.\tGT:GQ:DP\t0/1:50:30\t1|1:10:30\t./.:.:.\n"
          "chr10\t94761900\t.\tC\tT,G\t.\tPASS\t.\tGT:GQ:DP\t1/2:50:30\t2/2:50:5\t0/0:50:30\n"
          "chr10\t94781859\t.\tG\tA\t.\tLowQual\t.\tGT:GQ:DP\t0/1:50:30\t0/0:50:30\t1/1:50:30\n"
          "chrX\t5000\t.\tC\tT\t.\tPASS\t.\tGT:GQ:DP\t1:50:30\t0:50:30\t0/1:50:30\n";

/* Panel in "1"-style contig names (the file uses "chr1"): harmonised. */
static const char *panel3 = "id\tchrom\tpos\tref\talt\tgene\tbuild\n"
                            "v1\t1\t1000\tA\tG\t.\tGRCh38\n"
                            "v2\t10\t94761900\tC\tT\tCYP2C19\tGRCh38\n"
                            "v3\t10\t94761900\tC\tG\tCYP2C19\tGRCh38\n"
                            "v4\t10\t94761900\tC\tA\tCYP2C19\tGRCh38\n"
                            "v5\t10\t94781859\tG\tA\tCYP2C19\tGRCh38\n"
                            "v6\tX\t5000\tC\tT\t.\tGRCh38\n"
                            "v7\t1\t2000\tT\tC\t.\tGRCh38\n";

static int run_with(const char *vcf, const char *panel, const char *extra1, const char *extra2, tsink_t *t,
                    mmdx_error_t *err)
{
    char o[600];
    snprintf(o, sizeof o, "panel=%s", panel);
    const char *opts[] = {o, extra1, extra2, NULL};
    if (!extra1)
        opts[1] = NULL;
    return t_run(vcf, opts, t, err, 1);
}

/* The expected dosages of vcf3 x panel3 with no options. */
static void check_default_dosages(const tsink_t *t)
{
    ck_assert_double_eq(t_value(t, "P1", "var:1:1000:A:G"), 1);
    ck_assert_double_eq(t_value(t, "P2", "var:1:1000:A:G"), 2);
    ck_assert(isnan(t_value(t, "P3", "var:1:1000:A:G")));
    /* multi-allelic: each ALT counted exactly */
    ck_assert_double_eq(t_value(t, "P1", "var:10:94761900:C:T"), 1);
    ck_assert_double_eq(t_value(t, "P1", "var:10:94761900:C:G"), 1);
    ck_assert_double_eq(t_value(t, "P2", "var:10:94761900:C:T"), 0);
    ck_assert_double_eq(t_value(t, "P2", "var:10:94761900:C:G"), 2);
    ck_assert_double_eq(t_value(t, "P3", "var:10:94761900:C:G"), 0);
    /* an ALT the record does not carry is a dosage of 0, not missing */
    ck_assert_double_eq(t_value(t, "P1", "var:10:94761900:C:A"), 0);
    /* FILTER is not applied by default */
    ck_assert_double_eq(t_value(t, "P3", "var:10:94781859:G:A"), 2);
    /* haploid calls: 0/1 */
    ck_assert_double_eq(t_value(t, "P1", "var:X:5000:C:T"), 1);
    ck_assert_double_eq(t_value(t, "P2", "var:X:5000:C:T"), 0);
    ck_assert_double_eq(t_value(t, "P3", "var:X:5000:C:T"), 1);
    /* absent from the file: missing and provenance says not covered */
    ck_assert(isnan(t_value(t, "P1", "var:1:2000:T:C")));
    const tobs_t *o = t_find(t, "P1", "var:1:2000:T:C");
    ck_assert_ptr_nonnull(strstr(o->prov, "not covered"));
}

START_TEST(plain_vcf_dosages)
{
    t_write(tpath("a.vcf"), vcf3);
    t_write(tpath("p.tsv"), panel3);
    tsink_t t = {.keep = 1};
    mmdx_error_t err = {0};
    ck_assert_int_eq(run_with(tpath("a.vcf"), tpath("p.tsv"), NULL, NULL, &t, &err), MMDX_OK);
    ck_assert_uint_eq(t.n_pat, 3);
    ck_assert_uint_eq(t.n, 7 * 3);
    check_default_dosages(&t);
    ck_assert_uint_eq(t.n_rej, 0);
    ck_assert_ptr_nonnull(strstr(t.log, "not covered"));
    tsink_free(&t);
}
END_TEST

START_TEST(gz_and_bcf_with_index_and_stream_agree)
{
    ck_assert_int_eq(t_write_gz(tpath("a.vcf.gz"), vcf3), 0);
    t_write(tpath("a.vcf"), vcf3);
    ck_assert_int_eq(t_vcf_to_bcf(tpath("a.vcf"), tpath("a.bcf")), 0);
    t_write(tpath("p.tsv"), panel3);
    const char *files[] = {"a.vcf.gz", "a.bcf"};
    const char *modes[] = {"access=index", "access=stream"};
    for (int f = 0; f < 2; f++)
        for (int m = 0; m < 2; m++) {
            tsink_t t = {.keep = 1};
            mmdx_error_t err = {0};
            int rc = run_with(tpath(files[f]), tpath("p.tsv"), modes[m], "threads=2", &t, &err);
            ck_assert_msg(rc == MMDX_OK, "%s %s: %s", files[f], modes[m], err.message);
            check_default_dosages(&t);
            tsink_free(&t);
        }
}
END_TEST

START_TEST(index_required_but_missing)
{
    t_write(tpath("a.vcf"), vcf3);
    t_write(tpath("p.tsv"), panel3);
    tsink_t t = {.keep = 1};
    mmdx_error_t err = {0};
    ck_assert_int_eq(run_with(tpath("a.vcf"), tpath("p.tsv"), "access=index", NULL, &t, &err), MMDX_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err.file, "a.vcf"));
    tsink_free(&t);
}
END_TEST

START_TEST(sample_subset)
{
    ck_assert_int_eq(t_write_gz(tpath("a.vcf.gz"), vcf3), 0);
    t_write(tpath("p.tsv"), panel3);
    tsink_t t = {.keep = 1};
    mmdx_error_t err = {0};
    ck_assert_int_eq(run_with(tpath("a.vcf.gz"), tpath("p.tsv"), "samples=P2", NULL, &t, &err), MMDX_OK);
    ck_assert_uint_eq(t.n_pat, 1);
    ck_assert_str_eq(t.patients[0], "P2");
    ck_assert_double_eq(t_value(&t, "P2", "var:10:94761900:C:G"), 2);
    ck_assert_double_eq(t_value(&t, "P1", "var:10:94761900:C:G"), -99);
    tsink_free(&t);
    tsink_t t2 = {.keep = 1};
    mmdx_error_t err2 = {0};
    ck_assert_int_eq(run_with(tpath("a.vcf.gz"), tpath("p.tsv"), "samples=P2,NOPE", NULL, &t2, &err2), MMDX_ENOTFOUND);
    ck_assert_ptr_nonnull(strstr(err2.message, "'NOPE'")); /* the unknown sample by name */
    tsink_free(&t2);
}
END_TEST

START_TEST(filter_gq_dp_options)
{
    t_write(tpath("a.vcf"), vcf3);
    t_write(tpath("p.tsv"), panel3);
    tsink_t t = {.keep = 1};
    mmdx_error_t err = {0};
    ck_assert_int_eq(run_with(tpath("a.vcf"), tpath("p.tsv"), "filter=pass", "min_gq=20", &t, &err), MMDX_OK);
    ck_assert(isnan(t_value(&t, "P3", "var:10:94781859:G:A"))); /* LowQual record */
    ck_assert(isnan(t_value(&t, "P2", "var:1:1000:A:G")));      /* GQ 10 */
    ck_assert_double_eq(t_value(&t, "P1", "var:1:1000:A:G"), 1);
    tsink_free(&t);
    tsink_t t2 = {.keep = 1};
    ck_assert_int_eq(run_with(tpath("a.vcf"), tpath("p.tsv"), "min_dp=10", NULL, &t2, &err), MMDX_OK);
    ck_assert(isnan(t_value(&t2, "P2", "var:10:94761900:C:G"))); /* DP 5 */
    ck_assert_double_eq(t_value(&t2, "P1", "var:10:94761900:C:G"), 1);
    tsink_free(&t2);
}
END_TEST

START_TEST(absent_means_reference_option)
{
    t_write(tpath("a.vcf"), vcf3);
    t_write(tpath("p.tsv"), panel3);
    tsink_t t = {.keep = 1};
    mmdx_error_t err = {0};
    ck_assert_int_eq(run_with(tpath("a.vcf"), tpath("p.tsv"), "absent=reference", NULL, &t, &err), MMDX_OK);
    ck_assert_double_eq(t_value(&t, "P1", "var:1:2000:T:C"), 0);
    tsink_free(&t);
}
END_TEST

START_TEST(gvcf_reference_blocks)
{
    t_write(tpath("g.vcf"), HDR38 "##ALT=<ID=NON_REF,Description=\"any\">\n"
                                  "##INFO=<ID=END,Number=1,Type=Integer,Description=\"end\">\n"
                                  "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tG1\n"
                                  "chr1\t900\t.\tC\t<NON_REF>\t.\t.\tEND=1500\tGT\t0/0\n"
                                  "chr1\t1501\t.\tT\tG,<NON_REF>\t.\t.\t.\tGT\t0/1\n");
    t_write(tpath("p.tsv"), panel3);
    tsink_t t = {.keep = 1};
    mmdx_error_t err = {0};
    ck_assert_int_eq(run_with(tpath("g.vcf"), tpath("p.tsv"), NULL, NULL, &t, &err), MMDX_OK);
    ck_assert_double_eq(t_value(&t, "G1", "var:1:1000:A:G"), 0); /* inside the block */
    ck_assert(isnan(t_value(&t, "G1", "var:1:2000:T:C")));      /* beyond it */
    tsink_free(&t);
}
END_TEST

START_TEST(build_mismatch)
{
    t_write(tpath("b.vcf"), "##fileformat=VCFv4.2\n##contig=<ID=1,length=249250621>\n"
                            "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
                            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tP1\n"
                            "1\t1000\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\n");
    t_write(tpath("p.tsv"), panel3);
    tsink_t t = {.keep = 1};
    mmdx_error_t err = {0};
    ck_assert_int_eq(run_with(tpath("b.vcf"), tpath("p.tsv"), NULL, NULL, &t, &err), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "build mismatch"));
    ck_assert_ptr_nonnull(strstr(err.message, "249250621"));
    ck_assert_uint_eq(t.n, 0);
    tsink_free(&t);
}
END_TEST

START_TEST(ref_disagreement_and_malformed_records)
{
    t_write(tpath("m.vcf"), HDR38 "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tP1\tP2\n"
                                  "chr1\t1000\t.\tC\tG\t.\tPASS\t.\tGT\t0/1\t0/0\n"
                                  "chr1\t2000\t.\tT\tC\t.\tPASS\t.\tGT\t0/1\n"
                                  "chr10\tNaN\t.\tC\tT\t.\tPASS\t.\tGT\t0/1\t0/0\n"
                                  "chr10\t94761900\t.\tC\tT\t.\tPASS\t.\tGT\t0/1\t1/1\n");
    t_write(tpath("p.tsv"), panel3);
    tsink_t t = {.keep = 1};
    mmdx_error_t err = {0};
    ck_assert_int_eq(run_with(tpath("m.vcf"), tpath("p.tsv"), NULL, NULL, &t, &err), MMDX_OK);
    ck_assert_uint_ge(t.n_rej, 2);
    int saw_ref = 0, saw_pos = 0;
    for (size_t i = 0; i < t.n_rej; i++) {
        saw_ref |= strstr(t.rej[i], "chr1:1000") && strstr(t.rej[i], "disagrees") && strstr(t.rej[i], "m.vcf");
        saw_pos |= strstr(t.rej[i], "POS is not a number") != NULL;
    }
    ck_assert(saw_ref);
    ck_assert(saw_pos);
    /* the other records are still read */
    ck_assert_double_eq(t_value(&t, "P2", "var:10:94761900:C:T"), 2);
    tsink_free(&t);
}
END_TEST

START_TEST(bad_panels_and_options)
{
    t_write(tpath("a.vcf"), vcf3);
    tsink_t t = {.keep = 1};
    mmdx_error_t err = {0};
    ck_assert_int_eq(run_with(tpath("a.vcf"), tpath("none.tsv"), NULL, NULL, &t, &err), MMDX_ENOTFOUND);
    t_write(tpath("bad.tsv"), "id\tchrom\tpos\tref\talt\tgene\tbuild\nv1\t1\tx12\tA\tG\t.\tGRCh38\n");
    mmdx_error_t e2 = {0};
    ck_assert_int_eq(run_with(tpath("a.vcf"), tpath("bad.tsv"), NULL, NULL, &t, &e2), MMDX_EFORMAT);
    ck_assert_int_eq(e2.line, 2);
    ck_assert_ptr_nonnull(strstr(e2.file, "bad.tsv"));
    t_write(tpath("dup.tsv"), "id\tchrom\tpos\tref\talt\tgene\tbuild\nv1\tchr1\t1000\tA\tG\t.\tGRCh38\n"
                              "v2\t1\t1000\tA\tT\t.\tGRCh38\nv3\t1\t1000\tA\tG\t.\tGRCh38\n");
    mmdx_error_t e5 = {0};
    ck_assert_int_eq(run_with(tpath("a.vcf"), tpath("dup.tsv"), NULL, NULL, &t, &e5), MMDX_EDUP);
    ck_assert_ptr_nonnull(strstr(e5.message, "'v1' and 'v3'"));
    t_write(tpath("p.tsv"), panel3);
    mmdx_error_t e3 = {0};
    ck_assert_int_eq(run_with(tpath("a.vcf"), tpath("p.tsv"), "colour=blue", NULL, &t, &e3), MMDX_EINVAL);
    ck_assert_str_eq(e3.object, "colour");
    mmdx_error_t e4 = {0};
    t_write(tpath("notvcf.txt"), "hello\tworld\n");
    ck_assert_int_ne(run_with(tpath("notvcf.txt"), tpath("p.tsv"), NULL, NULL, &t, &e4), MMDX_OK);
    ck_assert_uint_eq(t.n, 0);
    tsink_free(&t);
}
END_TEST

START_TEST(no_panel_emits_every_alt)
{
    t_write(tpath("a.vcf"), vcf3);
    tsink_t t = {.keep = 1};
    mmdx_error_t err = {0};
    ck_assert_int_eq(t_run(tpath("a.vcf"), NULL, &t, &err, 1), MMDX_OK);
    ck_assert_uint_eq(t.n, 5 * 3); /* 5 ALTs x 3 samples */
    ck_assert_double_eq(t_value(&t, "P2", "var:chr10:94761900:C:G"), 2);
    ck_assert_double_eq(t_value(&t, "P1", "var:chrX:5000:C:T"), 1);
    tsink_free(&t);
}
END_TEST

/* A .vcf.gz cut short: the whole records before the cut are read, then the read fails
 * (it is not one malformed record to skip with exit status 1). */
START_TEST(truncated_gz_is_fatal)
{
    struct stat st;
    const char *path = tpath("cut.vcf.gz");
    ck_assert_int_eq(t_write_gz(path, vcf3), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(truncate(path, st.st_size - 10), 0); /* into the BGZF end-of-file block */
    tsink_t t = {.keep = 1};
    mmdx_error_t err = {0};
    ck_assert_int_eq(t_run(path, NULL, &t, &err, 1), MMDX_EIO);
    ck_assert_ptr_nonnull(strstr(err.message, "truncated or corrupt compressed data"));
    ck_assert_uint_eq(t.n_rej, 0);
    tsink_free(&t);

    /* cut inside the first block: the header cannot be read, and the error says why */
    ck_assert_int_eq(t_write_gz(path, vcf3), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(truncate(path, st.st_size / 2), 0);
    tsink_t t2 = {.keep = 1};
    mmdx_error_clear(&err);
    ck_assert_int_eq(t_run(path, NULL, &t2, &err, 1), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "truncated or corrupt compressed data inside the header"));
    tsink_free(&t2);
}
END_TEST

START_TEST(real_pharmcat_file)
{
    const char *td = getenv("MMDX_TESTDATA");
    char vcf[1024];
    snprintf(vcf, sizeof vcf, "%s/vcf/pharmcat/cyp2c19/s1s17.vcf", td ? td : "../shared/data");
    if (access(vcf, R_OK) != 0) {
        fprintf(stderr, "SKIP real_pharmcat_file: %s not found\n", vcf);
        return;
    }
    t_write(tpath("p.tsv"), "id\tchrom\tpos\tref\talt\tgene\tbuild\n"
                            "s17\tchr10\t94761900\tC\tT\tCYP2C19\tGRCh38\n"
                            "s2\tchr10\t94781859\tG\tA\tCYP2C19\tGRCh38\n"
                            "rs3758581\tchr10\t94842866\tA\tG\tCYP2C19\tGRCh38\n");
    tsink_t t = {.keep = 1};
    mmdx_error_t err = {0};
    ck_assert_int_eq(run_with(vcf, tpath("p.tsv"), NULL, NULL, &t, &err), MMDX_OK);
    ck_assert_uint_eq(t.n_pat, 1);
    const char *p = t.patients[0];
    ck_assert_double_eq(t_value(&t, p, "var:chr10:94761900:C:T"), 1);
    ck_assert_double_eq(t_value(&t, p, "var:chr10:94781859:G:A"), 0);
    ck_assert(isnan(t_value(&t, p, "var:chr10:94842866:A:G"))); /* the file has no record there */
    tsink_free(&t);
}
END_TEST

START_TEST(polygenic_score)
{
    t_write(tpath("a.vcf"), vcf3);
    t_write(tpath("ldl.weights.tsv"), "chrom\tpos\tref\talt\tweight\n"
                                      "chr1\t1000\tA\tG\t0.5\n"
                                      "10\t94761900\tC\tG\t-0.25\n"
                                      "1\t2000\tT\tC\t3\n");
    char o[600];
    snprintf(o, sizeof o, "prs=%s", tpath("ldl.weights.tsv"));
    const char *opts[] = {o, NULL};
    tsink_t t = {.keep = 1};
    mmdx_error_t err = {0};
    ck_assert_int_eq(t_run(tpath("a.vcf"), opts, &t, &err, 1), MMDX_OK);
    /* P1: 0.5*1 - 0.25*1; P2: 0.5*2 - 0.25*2; P3: chr1 not called -> 0 from the second only */
    ck_assert_double_eq_tol(t_value(&t, "P1", "var:prs:ldl"), 0.25, 1e-12);
    ck_assert_double_eq_tol(t_value(&t, "P2", "var:prs:ldl"), 0.5, 1e-12);
    ck_assert_double_eq_tol(t_value(&t, "P3", "var:prs:ldl"), 0.0, 1e-12);
    ck_assert_double_eq_tol(t_value(&t, "P1", "var:prs:ldl:coverage"), 2.0 / 3.0, 1e-12);
    ck_assert_double_eq_tol(t_value(&t, "P3", "var:prs:ldl:coverage"), 1.0 / 3.0, 1e-12);
    /* no panel was given, so no per-variant features */
    ck_assert_double_eq(t_value(&t, "P1", "var:1:1000:A:G"), -99);
    tsink_free(&t);
}
END_TEST

START_TEST(duplicated_samples)
{
    t_write(tpath("d.vcf"), HDR38 "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tP1\tP2\tP1\n"
                                  "chr1\t1000\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0\t1/1\n");
    t_write(tpath("p.tsv"), panel3);
    tsink_t t = {.keep = 1};
    mmdx_error_t err = {0};
    ck_assert_int_eq(run_with(tpath("d.vcf"), tpath("p.tsv"), NULL, NULL, &t, &err), MMDX_EDUP);
    ck_assert_ptr_nonnull(strstr(err.message, "duplicated sample name 'P1'"));
    ck_assert_ptr_nonnull(strstr(err.file, "d.vcf"));
    tsink_free(&t);
}
END_TEST

START_TEST(stale_index_and_unsorted)
{
    ck_assert_int_eq(t_write_gz(tpath("a.vcf.gz"), vcf3), 0);
    /* make the data newer than its index */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "touch -d '2001-01-01' '%s.tbi'", tpath("a.vcf.gz"));
    ck_assert_int_eq(system(cmd), 0);
    t_write(tpath("p.tsv"), panel3);
    tsink_t t = {.keep = 1};
    mmdx_error_t err = {0};
    ck_assert_int_eq(run_with(tpath("a.vcf.gz"), tpath("p.tsv"), "access=index", NULL, &t, &err), MMDX_EFORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "stale"));
    tsink_free(&t);
    /* auto: warns and streams, results unchanged */
    tsink_t t2 = {.keep = 1};
    mmdx_error_t e2 = {0};
    ck_assert_int_eq(run_with(tpath("a.vcf.gz"), tpath("p.tsv"), NULL, NULL, &t2, &e2), MMDX_OK);
    check_default_dosages(&t2);
    tsink_free(&t2);
    /* unsorted text: read correctly, with a warning */
    t_write(tpath("u.vcf"), HDR38 "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tP1\n"
                                  "chr10\t94761900\t.\tC\tT\t.\tPASS\t.\tGT\t0/1\n"
                                  "chr1\t2000\t.\tT\tC\t.\tPASS\t.\tGT\t1/1\n"
                                  "chr1\t1000\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\n");
    tsink_t t3 = {.keep = 1};
    mmdx_error_t e3 = {0};
    ck_assert_int_eq(run_with(tpath("u.vcf"), tpath("p.tsv"), NULL, NULL, &t3, &e3), MMDX_OK);
    ck_assert_double_eq(t_value(&t3, "P1", "var:1:1000:A:G"), 1);
    ck_assert_double_eq(t_value(&t3, "P1", "var:1:2000:T:C"), 2);
    ck_assert_ptr_nonnull(strstr(t3.log, "not sorted"));
    tsink_free(&t3);
}
END_TEST

START_TEST(longer_ref_in_multiallelic_record)
{
    /* the SNV A>G written inside a record that also holds the deletion AC>A */
    t_write(tpath("l.vcf"), HDR38 "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tP1\tP2\n"
                                  "chr1\t1000\t.\tAC\tA,gc\t.\tPASS\t.\tGT\t1/2\t2|2\n");
    t_write(tpath("p.tsv"), "id\tchrom\tpos\tref\talt\tgene\tbuild\n"
                            "snv\tchr1\t1000\tA\tG\t.\tGRCh38\n"
                            "del\tchr1\t1000\tAC\tA\t.\tGRCh38\n");
    tsink_t t = {.keep = 1};
    mmdx_error_t err = {0};
    ck_assert_int_eq(run_with(tpath("l.vcf"), tpath("p.tsv"), NULL, NULL, &t, &err), MMDX_OK);
    ck_assert_double_eq(t_value(&t, "P1", "var:chr1:1000:A:G"), 1);
    ck_assert_double_eq(t_value(&t, "P2", "var:chr1:1000:A:G"), 2);
    ck_assert_double_eq(t_value(&t, "P1", "var:chr1:1000:AC:A"), 1);
    ck_assert_double_eq(t_value(&t, "P2", "var:chr1:1000:AC:A"), 0);
    ck_assert_uint_eq(t.n_rej, 0);
    tsink_free(&t);
}
END_TEST

/* Allocations through the host failing in turn (each of the first 300, then every ~12%
 * of the run's ~30,000 until one succeeds: the PGx tables alone make most of them):
 * reported as MMDX_ENOMEM, never a crash (the sanitizer build also checks for leaks). */
START_TEST(allocation_failures_are_reported)
{
    t_write(tpath("a.vcf"), vcf3);
    t_write(tpath("p.tsv"), panel3);
    t_write(tpath("w.tsv"), "chrom\tpos\tref\talt\tweight\nchr1\t1000\tA\tG\t0.5\n");
    const char *src = getenv("MMDX_SRCDIR");
    char o1[600], o2[600], o3[1100], o4[600];
    snprintf(o1, sizeof o1, "panel=%s", tpath("p.tsv"));
    snprintf(o2, sizeof o2, "prs=%s", tpath("w.tsv"));
    snprintf(o3, sizeof o3, "pgx_dir=%s/data/pgx", src ? src : ".");
    snprintf(o4, sizeof o4, "pgx_table=%s", tpath("pgx.tsv"));
    const char *opts[] = {o1, o2, o3, o4, NULL};
    long n;
    int rc = MMDX_ENOMEM;
    for (n = 1; rc != MMDX_OK && n < 1000000; n += n < 300 ? 1 : n / 8) {
        tsink_t t = {.keep = 1};
        mmdx_error_t err = {0};
        t_fail_at = n;
        t_alloc_count = 0;
        rc = t_run(tpath("a.vcf"), opts, &t, &err, 1);
        t_fail_at = -1;
        ck_assert_msg(rc == MMDX_OK || rc == MMDX_ENOMEM, "allocation %ld failing gave %d (%s)", n, rc, err.message);
        if (rc == MMDX_ENOMEM)
            ck_assert_int_eq(err.code, MMDX_ENOMEM);
        tsink_free(&t);
    }
    ck_assert_int_eq(rc, MMDX_OK);
    ck_assert_int_gt(n, 1000); /* the run does allocate through the host (PGx tables) */
    fprintf(stderr, "allocation failures: ENOMEM reported up to allocation %ld; the run makes fewer\n", n - 1);
}
END_TEST

static Suite *vcf_suite(void)
{
    Suite *s = suite_create("vcf");
    TCase *tc = tcase_create("modality");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, plain_vcf_dosages);
    tcase_add_test(tc, gz_and_bcf_with_index_and_stream_agree);
    tcase_add_test(tc, index_required_but_missing);
    tcase_add_test(tc, sample_subset);
    tcase_add_test(tc, filter_gq_dp_options);
    tcase_add_test(tc, absent_means_reference_option);
    tcase_add_test(tc, gvcf_reference_blocks);
    tcase_add_test(tc, build_mismatch);
    tcase_add_test(tc, ref_disagreement_and_malformed_records);
    tcase_add_test(tc, bad_panels_and_options);
    tcase_add_test(tc, no_panel_emits_every_alt);
    tcase_add_test(tc, real_pharmcat_file);
    tcase_add_test(tc, polygenic_score);
    tcase_add_test(tc, duplicated_samples);
    tcase_add_test(tc, stale_index_and_unsorted);
    tcase_add_test(tc, longer_ref_in_multiallelic_record);
    tcase_add_test(tc, allocation_failures_are_reported);
    tcase_add_test(tc, truncated_gz_is_fatal);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(vcf_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
