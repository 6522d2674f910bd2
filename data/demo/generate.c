/*
 * mmdx-demo-gen: the deterministic generator of libmmdx's synthetic demo cohort.
 *
 * Writes, into OUTDIR, a training and a held-out set of the same multi-modal cohort:
 *   {train,test}/retina.h5, ct.h5   imaging features (the layout of docs/formats/imaging.md)
 *   {train,test}/labs.xml           FHIR R4 Bundle: Patient resources and lab Observations
 *   {train,test}/variants.vcf       GRCh38 VCF: pharmacogene positions and risk SNPs
 *   {train,test}/labels.tsv         t2d, ckd, cad (binary)
 * Every patient is synthetic. The generative model is documented in data/demo/README.md;
 * its parameters are the constants below, so the Bayes-optimal answer is known.
 *
 * Usage: mmdx-demo-gen OUTDIR [N_TRAIN N_TEST SEED]
 */
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ random numbers */

/* xoshiro256** seeded by splitmix64: small, fast, and identical on every platform. */
typedef struct { uint64_t s[4]; } rng_t;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng_t *r)
{
    uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return result;
}

static double runif(rng_t *r) { return ((double)(rng_next(r) >> 11) + 0.5) * 0x1.0p-53; }

static double rnorm(rng_t *r)
{
    /* Box-Muller; one value per call keeps the stream simple to reproduce */
    double u1 = runif(r), u2 = runif(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static int rbern(rng_t *r, double p) { return runif(r) < p; }
static double logistic(double x) { return 1.0 / (1.0 + exp(-x)); }

/* ------------------------------------------------------------------ the cohort model */

enum { N_RETINA = 6, N_CT = 5 };
static const char *const retina_names[N_RETINA] = {
    "microaneurysm_score", "haemorrhage_area", "exudate_area",
    "arteriolar_caliber", "venular_caliber", "tortuosity"};
static const char *const ct_names[N_CT] = {
    "coronary_calcium_log", "plaque_volume", "stenosis_max", "epicardial_fat", "renal_cortex_thickness"};
static const char *const ct_units[N_CT] = {"1", "mm3", "%", "cm3", "mm"};

/* pharmacogene alleles the demo draws (GRCh38 positions from the CPIC allele definitions) */
typedef struct { const char *chrom; long pos; const char *rsid, *ref, *alt; } site_t;
static const site_t sites[] = {
    {"chr1", 97450058, "rs3918290", "C", "T"},    /* DPYD c.1905+1G>A (*2A) */
    {"chr6", 18130687, "rs1142345", "T", "C"},    /* TPMT *3A, *3C */
    {"chr6", 18138997, "rs1800460", "C", "T"},    /* TPMT *3A, *3B */
    {"chr9", 22125504, "rs1333049", "C", "G"},    /* 9p21 coronary risk locus */
    {"chr10", 94761900, "rs12248560", "C", "T"},  /* CYP2C19 *17 */
    {"chr10", 94780653, "rs4986893", "G", "A"},   /* CYP2C19 *3 */
    {"chr10", 94781859, "rs4244285", "G", "A"},   /* CYP2C19 *2 */
    {"chr10", 94842866, "rs3758581", "A", "G"},   /* CYP2C19 (every allele but *38) */
    {"chr10", 94942290, "rs1799853", "C", "T"},   /* CYP2C9 *2 */
    {"chr10", 94981296, "rs1057910", "A", "C"},   /* CYP2C9 *3 */
    {"chr10", 112998590, "rs7903146", "C", "T"},  /* TCF7L2 type 2 diabetes risk */
    {"chr12", 21176804, "rs2306283", "A", "G"},   /* SLCO1B1 *15 */
    {"chr12", 21178615, "rs4149056", "T", "C"},   /* SLCO1B1 *5, *15 */
    {"chr13", 48045719, "rs116855232", "C", "T"}, /* NUDT15 *3 */
    {"chr16", 31096368, "rs9923231", "C", "T"},   /* VKORC1 -1639G>A */
};
enum { N_SITES = sizeof sites / sizeof sites[0] };
enum { S_DPYD2A, S_TPMT_719, S_TPMT_460, S_9P21, S_C19_17, S_C19_3, S_C19_2, S_C19_CORE,
       S_C9_2, S_C9_3, S_TCF7L2, S_SLCO_388, S_SLCO_521, S_NUDT15_3, S_VKORC1 };

typedef struct {
    char id[16];
    int age, male;
    int t2d, ckd, cad;
    double bmi, height_cm, weight_kg;
    double hba1c, glucose, creatinine, egfr, uacr, ldl, hdl, tg, sbp;
    double retina[N_RETINA], ct[N_CT];
    int has_labs, has_retina, has_ct, has_vcf;
    unsigned char gt[N_SITES][2]; /* phased alleles: 0 ref, 1 alt */
    int lab_missing[9];
} patient_t;

/* CKD-EPI 2021 (race-free) inverted: creatinine (mg/dL) giving eGFR at this age and sex */
static double creatinine_for_egfr(double egfr, int age, int male)
{
    double kappa = male ? 0.9 : 0.7, alpha = male ? -0.302 : -0.241;
    double k = 142.0 * pow(0.9938, age) * (male ? 1.0 : 1.012);
    double r = egfr / k; /* = min(s,1)^alpha * max(s,1)^-1.2, s = scr/kappa */
    double s = r >= 1.0 ? pow(r, 1.0 / alpha) : pow(r, -1.0 / 1.2);
    return s * kappa;
}

/* draw one haplotype's allele for each gene; frequencies are illustrative, East-Asian-like */
static void draw_haplotype(rng_t *r, patient_t *p, int h)
{
    double u = runif(r);
    /* CYP2C19: *1 0.58, *2 0.28, *3 0.08, *17 0.06 */
    p->gt[S_C19_CORE][h] = 1;
    if (u < 0.28) p->gt[S_C19_2][h] = 1;
    else if (u < 0.36) p->gt[S_C19_3][h] = 1;
    else if (u < 0.42) p->gt[S_C19_17][h] = 1;
    u = runif(r); /* CYP2C9: *2 0.02, *3 0.06 */
    if (u < 0.02) p->gt[S_C9_2][h] = 1;
    else if (u < 0.08) p->gt[S_C9_3][h] = 1;
    p->gt[S_VKORC1][h] = rbern(r, 0.85);
    u = runif(r); /* SLCO1B1: *15 0.12, *5 0.02 */
    if (u < 0.12) p->gt[S_SLCO_388][h] = p->gt[S_SLCO_521][h] = 1;
    else if (u < 0.14) p->gt[S_SLCO_521][h] = 1;
    else p->gt[S_SLCO_388][h] = rbern(r, 0.6); /* *1 carrying the common 388G */
    u = runif(r); /* TPMT: *3C 0.02, *3A 0.01 */
    if (u < 0.02) p->gt[S_TPMT_719][h] = 1;
    else if (u < 0.03) p->gt[S_TPMT_719][h] = p->gt[S_TPMT_460][h] = 1;
    p->gt[S_NUDT15_3][h] = rbern(r, 0.09);
    p->gt[S_DPYD2A][h] = rbern(r, 0.01);
}

static void draw_patient(rng_t *r, patient_t *p, int index)
{
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "DEMO%04d", index + 1);
    p->age = 35 + (int)(runif(r) * 50.0);
    p->male = rbern(r, 0.5);
    for (int h = 0; h < 2; h++)
        draw_haplotype(r, p, h);
    for (int h = 0; h < 2; h++) {
        p->gt[S_TCF7L2][h] = rbern(r, 0.3);
        p->gt[S_9P21][h] = rbern(r, 0.5);
    }
    int tcf = p->gt[S_TCF7L2][0] + p->gt[S_TCF7L2][1];
    int p21 = p->gt[S_9P21][0] + p->gt[S_9P21][1];
    p->bmi = 24.0 + 4.0 * rnorm(r);
    if (p->bmi < 16.5) p->bmi = 16.5;
    /* diagnoses: t2d from age, BMI and TCF7L2; ckd from t2d and age; cad from all */
    p->t2d = rbern(r, logistic(-1.6 + 0.045 * (p->age - 55) + 0.16 * (p->bmi - 24) + 0.35 * tcf));
    p->ckd = rbern(r, logistic(-2.0 + 1.1 * p->t2d + 0.05 * (p->age - 60)));
    p->cad = rbern(r, logistic(-1.9 + 0.7 * p->t2d + 0.5 * p->ckd + 0.055 * (p->age - 60) +
                                   0.5 * p->male + 0.3 * p21));
    /* labs given the diagnoses */
    p->height_cm = (p->male ? 172.0 : 159.0) + 6.5 * rnorm(r);
    p->weight_kg = p->bmi * (p->height_cm / 100.0) * (p->height_cm / 100.0);
    p->hba1c = 5.4 + 1.5 * p->t2d + 0.45 * rnorm(r) + (p->t2d ? 0.5 * fabs(rnorm(r)) : 0.0);
    p->glucose = 92.0 + 45.0 * p->t2d + 14.0 * rnorm(r) + 12.0 * (p->hba1c - 5.4 - 1.5 * p->t2d);
    double egfr = p->ckd ? 42.0 + 12.0 * rnorm(r) : 95.0 - 0.7 * (p->age - 40) + 13.0 * rnorm(r);
    if (egfr < 8.0) egfr = 8.0;
    if (egfr > 135.0) egfr = 135.0;
    p->egfr = egfr;
    p->creatinine = creatinine_for_egfr(egfr, p->age, p->male);
    p->uacr = exp(log(12.0) + 1.6 * p->ckd + 0.6 * p->t2d + 0.8 * rnorm(r));
    p->ldl = 112.0 + 22.0 * p->cad + 28.0 * rnorm(r);
    p->hdl = 54.0 - 7.0 * p->cad - 5.0 * p->t2d + 11.0 * rnorm(r);
    if (p->hdl < 18.0) p->hdl = 18.0;
    p->tg = exp(log(130.0) + 0.3 * p->t2d + 0.4 * rnorm(r));
    p->sbp = 124.0 + 0.35 * (p->age - 55) + 6.0 * p->ckd + 5.0 * p->cad + 13.0 * rnorm(r);
    /* retina: diabetic retinopathy signs with t2d, narrower arterioles with cad */
    p->retina[0] = 0.4 + 1.3 * p->t2d + 0.3 * p->ckd + 0.6 * rnorm(r);
    p->retina[1] = exp(-1.0 + 0.9 * p->t2d + 0.6 * rnorm(r));
    p->retina[2] = exp(-1.3 + 0.8 * p->t2d + 0.2 * p->ckd + 0.7 * rnorm(r));
    p->retina[3] = 150.0 - 7.0 * p->cad - 0.2 * (p->age - 55) + 9.0 * rnorm(r);
    p->retina[4] = 220.0 + 6.0 * p->t2d + 12.0 * rnorm(r);
    p->retina[5] = 1.10 + 0.05 * p->t2d + 0.04 * p->cad + 0.05 * rnorm(r);
    /* CT: coronary calcium and plaque with cad; renal cortex thinner with ckd */
    p->ct[0] = 1.0 + 2.2 * p->cad + 0.03 * (p->age - 55) + 1.0 * rnorm(r);
    p->ct[1] = exp(3.0 + 1.1 * p->cad + 0.6 * rnorm(r));
    p->ct[2] = 15.0 + 30.0 * p->cad + 12.0 * rnorm(r);
    if (p->ct[2] < 0.0) p->ct[2] = 0.0;
    p->ct[3] = 90.0 + 25.0 * p->t2d + 3.0 * (p->bmi - 24) + 18.0 * rnorm(r);
    p->ct[4] = 7.5 - 1.6 * p->ckd + 0.9 * rnorm(r);
    /* which evidence each patient has: labs 95%, retina 70%, CT 55%, genotypes 80% */
    p->has_labs = rbern(r, 0.95);
    p->has_retina = rbern(r, 0.70);
    p->has_ct = rbern(r, 0.55);
    p->has_vcf = rbern(r, 0.80);
    for (int k = 0; k < 9; k++)
        p->lab_missing[k] = rbern(r, 0.15);
    if (!p->has_labs && !p->has_retina && !p->has_ct && !p->has_vcf)
        p->has_labs = 1; /* every patient has some evidence */
}

/* ------------------------------------------------------------------ writers */

static int write_imaging(const char *path, const char *modality, const patient_t *pts, size_t n,
                         int which, size_t d, const char *const *names, const char *const *units)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += which == 0 ? pts[i].has_retina : pts[i].has_ct;
    double *values = malloc((m ? m : 1) * d * sizeof *values);
    const char **ids = malloc((m ? m : 1) * sizeof *ids);
    if (!values || !ids) {
        free(values);
        free(ids);
        return -1;
    }
    size_t row = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(which == 0 ? pts[i].has_retina : pts[i].has_ct))
            continue;
        ids[row] = pts[i].id;
        for (size_t j = 0; j < d; j++) {
            double v = which == 0 ? pts[i].retina[j] : pts[i].ct[j];
            /* 4% of single features unreadable (NaN = missing in the layout) */
            values[row * d + j] = (((i * 31 + j * 17) % 25) == 0) ? NAN : v;
        }
        row++;
    }
    int rc = -1;
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, H5T_VARIABLE);
    H5Tset_cset(str, H5T_CSET_UTF8);
    if (file < 0)
        goto done;
    hsize_t dims2[2] = {m, d}, dn = m, dd = d;
    hid_t sp = H5Screate_simple(1, &dn, NULL);
    hid_t ds = H5Dcreate2(file, "patient_ids", str, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids);
    H5Dclose(ds);
    H5Sclose(sp);
    sp = H5Screate_simple(1, &dd, NULL);
    ds = H5Dcreate2(file, "feature_names", str, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, names);
    H5Dclose(ds);
    if (units) {
        ds = H5Dcreate2(file, "feature_units", str, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Dwrite(ds, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, units);
        H5Dclose(ds);
    }
    H5Sclose(sp);
    sp = H5Screate_simple(2, dims2, NULL);
    ds = H5Dcreate2(file, "features", H5T_IEEE_F32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t w = H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
    H5Dclose(ds);
    H5Sclose(sp);
    sp = H5Screate(H5S_SCALAR);
    hid_t at = H5Acreate2(file, "modality", str, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(at, str, &modality);
    H5Aclose(at);
    H5Sclose(sp);
    rc = w < 0 ? -1 : 0;
done:
    H5Tclose(str);
    if (file >= 0 && H5Fclose(file) < 0)
        rc = -1;
    free(values);
    free(ids);
    return rc;
}

typedef struct { const char *loinc, *display; double scale; const char *unit; } lab_t;

static void write_obs(FILE *f, const patient_t *p, int *obs_no, const char *loinc, const char *display,
                      double value, const char *unit, const char *status, const char *date)
{
    fprintf(f,
            "<entry><fullUrl value=\"urn:uuid:obs-%s-%d\"/><resource><Observation>"
            "<id value=\"%s-%d\"/><status value=\"%s\"/>"
            "<category><coding><system value=\"http://terminology.hl7.org/CodeSystem/observation-category\"/>"
            "<code value=\"laboratory\"/></coding></category>"
            "<code><coding><system value=\"http://loinc.org\"/><code value=\"%s\"/><display value=\"%s\"/></coding></code>"
            "<subject><reference value=\"Patient/%s\"/></subject>"
            "<effectiveDateTime value=\"%s\"/>"
            "<valueQuantity><value value=\"%.4g\"/><unit value=\"%s\"/>"
            "<system value=\"http://unitsofmeasure.org\"/><code value=\"%s\"/></valueQuantity>"
            "</Observation></resource></entry>\n",
            p->id, *obs_no, p->id, *obs_no, status, loinc, display, p->id, date, value, unit, unit);
    (*obs_no)++;
}

static int write_labs(const char *path, const patient_t *pts, size_t n, rng_t *r)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Bundle xmlns=\"http://hl7.org/fhir\">"
               "<id value=\"mmdx-demo\"/><type value=\"collection\"/>\n");
    for (size_t i = 0; i < n; i++) {
        const patient_t *p = &pts[i];
        if (!p->has_labs)
            continue;
        int by = 2026 - p->age, obs_no = 1;
        fprintf(f,
                "<entry><fullUrl value=\"urn:uuid:pat-%s\"/><resource><Patient><id value=\"%s\"/>"
                "<gender value=\"%s\"/><birthDate value=\"%04d-%02d-15\"/></Patient></resource></entry>\n",
                p->id, p->id, p->male ? "male" : "female", by - 1, 1 + (int)(i % 12));
        const char *date = "2026-06-01T09:00:00Z";
        /* a fifth of the patients report in SI units, as many Korean and European labs do */
        int si = rbern(r, 0.2);
        if (!p->lab_missing[0])
            write_obs(f, p, &obs_no, "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", p->hba1c, "%", "final", date);
        if (!p->lab_missing[1])
            write_obs(f, p, &obs_no, "2345-7", "Glucose [Mass/volume] in Serum or Plasma",
                      si ? p->glucose / 18.016 : p->glucose, si ? "mmol/L" : "mg/dL", "final", date);
        if (!p->lab_missing[2])
            write_obs(f, p, &obs_no, "2160-0", "Creatinine [Mass/volume] in Serum or Plasma",
                      si ? p->creatinine * 88.42 : p->creatinine, si ? "umol/L" : "mg/dL", "final", date);
        if (!p->lab_missing[3])
            write_obs(f, p, &obs_no, "14959-1", "Microalbumin/Creatinine [Mass Ratio] in Urine", p->uacr, "mg/g", "final", date);
        if (!p->lab_missing[4])
            write_obs(f, p, &obs_no, "13457-7", "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation",
                      si ? p->ldl / 38.67 : p->ldl, si ? "mmol/L" : "mg/dL", "final", date);
        if (!p->lab_missing[5])
            write_obs(f, p, &obs_no, "2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma",
                      si ? p->hdl / 38.67 : p->hdl, si ? "mmol/L" : "mg/dL", "final", date);
        if (!p->lab_missing[6])
            write_obs(f, p, &obs_no, "2571-8", "Triglyceride [Mass/volume] in Serum or Plasma",
                      si ? p->tg / 88.57 : p->tg, si ? "mmol/L" : "mg/dL", "final", date);
        if (!p->lab_missing[7])
            write_obs(f, p, &obs_no, "8480-6", "Systolic blood pressure", p->sbp, "mm[Hg]", "final", date);
        if (!p->lab_missing[8]) {
            write_obs(f, p, &obs_no, "8302-2", "Body height", p->height_cm, "cm", "final", date);
            write_obs(f, p, &obs_no, "29463-7", "Body weight", p->weight_kg, "kg", "final", date);
        }
        /* the real world: an occasional preliminary result superseded later, and a unit typo */
        if (i % 37 == 5)
            write_obs(f, p, &obs_no, "2345-7", "Glucose [Mass/volume] in Serum or Plasma", 400.0, "mg/dL", "preliminary", "2026-05-30T09:00:00Z");
        if (i % 53 == 7)
            write_obs(f, p, &obs_no, "2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", 190.0, "md/dL", "final", date);
    }
    fprintf(f, "</Bundle>\n");
    return fclose(f) == 0 ? 0 : -1;
}

static int write_vcf(const char *path, const patient_t *pts, size_t n)
{
    static const struct { const char *name; long len; } contigs[] = {
        {"chr1", 248956422}, {"chr6", 170805979}, {"chr9", 138394717}, {"chr10", 133797422},
        {"chr12", 133275309}, {"chr13", 114364328}, {"chr16", 90338345}};
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "##fileformat=VCFv4.2\n##source=mmdx-demo-gen (synthetic genotypes)\n##reference=GRCh38\n");
    for (size_t c = 0; c < sizeof contigs / sizeof contigs[0]; c++)
        fprintf(f, "##contig=<ID=%s,length=%ld,assembly=GRCh38>\n", contigs[c].name, contigs[c].len);
    fprintf(f, "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
               "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT");
    for (size_t i = 0; i < n; i++)
        if (pts[i].has_vcf)
            fprintf(f, "\t%s", pts[i].id);
    fputc('\n', f);
    for (size_t s = 0; s < N_SITES; s++) {
        fprintf(f, "%s\t%ld\t%s\t%s\t%s\t.\tPASS\t.\tGT", sites[s].chrom, sites[s].pos, sites[s].rsid,
                sites[s].ref, sites[s].alt);
        for (size_t i = 0; i < n; i++)
            if (pts[i].has_vcf)
                fprintf(f, "\t%d|%d", pts[i].gt[s][0], pts[i].gt[s][1]);
        fputc('\n', f);
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int write_labels(const char *path, const patient_t *pts, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "patient_id\tt2d\tckd\tcad\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\t%d\t%d\t%d\n", pts[i].id, pts[i].t2d, pts[i].ckd, pts[i].cad);
    return fclose(f) == 0 ? 0 : -1;
}

static int write_set(const char *dir, const patient_t *pts, size_t n, rng_t *r)
{
    char path[4096];
    static const char *const retina_units[N_RETINA] = {"1", "mm2", "mm2", "um", "um", "1"};
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "mmdx-demo-gen: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
#define OUT(name) (snprintf(path, sizeof path, "%s/%s", dir, name), path)
    if (write_imaging(OUT("retina.h5"), "retina", pts, n, 0, N_RETINA, retina_names, retina_units) ||
        write_imaging(OUT("ct.h5"), "ct", pts, n, 1, N_CT, ct_names, ct_units) ||
        write_labs(OUT("labs.xml"), pts, n, r) || write_vcf(OUT("variants.vcf"), pts, n) ||
        write_labels(OUT("labels.tsv"), pts, n)) {
        fprintf(stderr, "mmdx-demo-gen: writing %s failed\n", path);
        return -1;
    }
#undef OUT
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 5 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: mmdx-demo-gen OUTDIR [N_TRAIN N_TEST SEED]\n"
                        "Writes the synthetic demo cohort (train/ and test/) into OUTDIR.\n");
        return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    size_t n_train = argc > 2 ? strtoul(argv[2], NULL, 10) : 300;
    size_t n_test = argc > 3 ? strtoul(argv[3], NULL, 10) : 100;
    uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 20261128;
    if (n_train == 0 || n_test == 0 || n_train + n_test > 999999) {
        fprintf(stderr, "mmdx-demo-gen: patient counts must be 1..999999 in all\n");
        return 2;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (mkdir(argv[1], 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "mmdx-demo-gen: cannot create %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    patient_t *pts = calloc(n_train + n_test, sizeof *pts);
    if (!pts)
        return 2;
    rng_t r;
    rng_seed(&r, seed);
    for (size_t i = 0; i < n_train + n_test; i++)
        draw_patient(&r, &pts[i], (int)i);
    char dir[4096];
    int rc = 0;
    snprintf(dir, sizeof dir, "%s/train", argv[1]);
    rc |= write_set(dir, pts, n_train, &r);
    snprintf(dir, sizeof dir, "%s/test", argv[1]);
    rc |= write_set(dir, pts + n_train, n_test, &r);
    free(pts);
    if (rc)
        return 2;
    fprintf(stderr, "mmdx-demo-gen: %zu training and %zu held-out patients in %s (seed %llu)\n", n_train,
            n_test, argv[1], (unsigned long long)seed);
    return 0;
}
