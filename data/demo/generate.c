/*
 * mmdx-demo-gen: the deterministic generator of libmmdx's synthetic demo cohort.
 *
 * Writes, into OUTDIR, a training and a held-out set of the same multi-modal cohort:
 *   {train,test}/retina.h5, ct.h5   imaging features (the layout of docs/formats/imaging.md)
 *   {train,test}/labs.xml           FHIR R4 Bundle: Patient resources and lab Observations
 *   {train,test}/variants.vcf       GRCh38 VCF: every defining position of the PGx tables
 *                                   (data/pgx) and two risk SNPs
 *   {train,test}/panel.tsv          the variant panel of the two risk SNPs
 *   {train,test}/labels.tsv         t2d, ckd, cad (binary)
 * Every patient is synthetic. The generative model is documented in data/demo/README.md;
 * its parameters are the constants below, so the Bayes-optimal answer is known.
 *
 * Usage: mmdx-demo-gen [--pgx DIR] OUTDIR [N_TRAIN N_TEST SEED]
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

/* The risk SNPs of the diagnosis model (GRCh38) */
typedef struct { const char *chrom; long pos; const char *rsid, *ref, *alt; } site_t;
static const site_t sites[] = {
    {"chr9", 22125504, "rs1333049", "C", "G"},    /* 9p21 coronary risk locus */
    {"chr10", 112998590, "rs7903146", "C", "T"},  /* TCF7L2 type 2 diabetes risk */
};
enum { N_SITES = sizeof sites / sizeof sites[0] };
enum { S_9P21, S_TCF7L2 };

/* The pharmacogenes: the demo draws one named allele per haplotype and gene and writes a
 * genotype at EVERY defining position of data/pgx/pgx_positions.tsv (0|0 where the
 * haplotypes carry the reference), as a PharmCAT-prepared VCF does; the alleles' patterns
 * come from data/pgx/pgx_alleles.tsv, the tables the caller reads, so the demo follows them
 * when they are rebuilt. Index 0 of each row is the gene's common (normal function) allele. */
enum { G_CYP2C19, G_CYP2C9, G_CYP3A5, G_DPYD, G_NUDT15, G_SLCO1B1, G_TPMT, G_UGT1A1, G_VKORC1, N_GENES };
enum { MAX_DRAWN = 4 };
static const char *const gene_names[N_GENES] = {
    "CYP2C19", "CYP2C9", "CYP3A5", "DPYD", "NUDT15", "SLCO1B1", "TPMT", "UGT1A1", "VKORC1"};
static const char *const drawn[N_GENES][MAX_DRAWN] = {
    [G_CYP2C19] = {"*1", "*2", "*3", "*17"},
    [G_CYP2C9] = {"*1", "*2", "*3"},
    [G_CYP3A5] = {"*1", "*3"},
    [G_DPYD] = {"Reference", "c.1905+1G>A (*2A)"},
    [G_NUDT15] = {"*1", "*3"},
    [G_SLCO1B1] = {"*1", "*37", "*15", "*5"},
    [G_TPMT] = {"*1", "*3A", "*3C"},
    [G_UGT1A1] = {"*1", "*6", "*28"},
    [G_VKORC1] = {"rs9923231 reference (C)", "rs9923231 variant (T)"},
};
enum { C19_1, C19_2, C19_3, C19_17 };
enum { C9_1, C9_2, C9_3 };
enum { SLCO_1, SLCO_37, SLCO_15, SLCO_5 };
enum { TPMT_1, TPMT_3A, TPMT_3C };
enum { UGT_1, UGT_6, UGT_28 };

typedef struct {
    char id[16];
    int age, male;
    int t2d, ckd, cad;
    double bmi, height_cm, weight_kg;
    double hba1c, glucose, creatinine, egfr, uacr, ldl, hdl, tg, sbp;
    double retina[N_RETINA], ct[N_CT];
    int has_labs, has_retina, has_ct, has_vcf;
    unsigned char gt[N_SITES][2];   /* risk SNPs, phased alleles: 0 ref, 1 alt */
    unsigned char star[N_GENES][2]; /* the drawn named allele (index into drawn[g]) per haplotype */
    uint64_t nocall_seed;           /* the few PGx genotypes left uncalled (./.) */
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

/* Draw one haplotype's named allele for each pharmacogene; frequencies are illustrative,
 * East-Asian-like (data/demo/README.md). The stream r is the one the diagnoses are drawn
 * from: its use here is the same as before the demo wrote every defining position, so the
 * cohort's labels and other modalities did not change; CYP3A5 and UGT1A1 come from r2. */
static void draw_haplotype(rng_t *r, rng_t *r2, patient_t *p, int h)
{
    double u = runif(r);
    /* CYP2C19: *1 0.58, *2 0.28, *3 0.08, *17 0.06 */
    p->star[G_CYP2C19][h] = u < 0.28 ? C19_2 : u < 0.36 ? C19_3 : u < 0.42 ? C19_17 : C19_1;
    u = runif(r); /* CYP2C9: *2 0.02, *3 0.06 */
    p->star[G_CYP2C9][h] = u < 0.02 ? C9_2 : u < 0.08 ? C9_3 : C9_1;
    p->star[G_VKORC1][h] = (unsigned char)rbern(r, 0.85); /* -1639A (rs9923231 T) */
    u = runif(r); /* SLCO1B1: *15 0.12, *5 0.02, *37 (388G alone) 0.6 of the rest */
    if (u < 0.12) p->star[G_SLCO1B1][h] = SLCO_15;
    else if (u < 0.14) p->star[G_SLCO1B1][h] = SLCO_5;
    else p->star[G_SLCO1B1][h] = rbern(r, 0.6) ? SLCO_37 : SLCO_1;
    u = runif(r); /* TPMT: *3C 0.02, *3A 0.01 */
    p->star[G_TPMT][h] = u < 0.02 ? TPMT_3C : u < 0.03 ? TPMT_3A : TPMT_1;
    p->star[G_NUDT15][h] = (unsigned char)rbern(r, 0.09); /* *3 */
    p->star[G_DPYD][h] = (unsigned char)rbern(r, 0.01);   /* c.1905+1G>A (*2A) */
    p->star[G_CYP3A5][h] = runif(r2) < 0.70 ? 1 : 0;      /* *3 0.70 */
    u = runif(r2); /* UGT1A1: *6 0.15, *28 0.12 */
    p->star[G_UGT1A1][h] = u < 0.15 ? UGT_6 : u < 0.27 ? UGT_28 : UGT_1;
}

static void draw_patient(rng_t *r, rng_t *r2, patient_t *p, int index)
{
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "DEMO%04d", index + 1);
    p->age = 35 + (int)(runif(r) * 50.0);
    p->male = rbern(r, 0.5);
    for (int h = 0; h < 2; h++)
        draw_haplotype(r, r2, p, h);
    p->nocall_seed = rng_next(r2);
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
    /* no modification times in the object headers: the same seed gives the same bytes */
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(dcpl, 0);
    if (file < 0)
        goto done;
    hsize_t dims2[2] = {m, d}, dn = m, dd = d;
    hid_t sp = H5Screate_simple(1, &dn, NULL);
    hid_t ds = H5Dcreate2(file, "patient_ids", str, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Dwrite(ds, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids);
    H5Dclose(ds);
    H5Sclose(sp);
    sp = H5Screate_simple(1, &dd, NULL);
    ds = H5Dcreate2(file, "feature_names", str, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Dwrite(ds, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, names);
    H5Dclose(ds);
    if (units) {
        ds = H5Dcreate2(file, "feature_units", str, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        H5Dwrite(ds, str, H5S_ALL, H5S_ALL, H5P_DEFAULT, units);
        H5Dclose(ds);
    }
    H5Sclose(sp);
    sp = H5Screate_simple(2, dims2, NULL);
    ds = H5Dcreate2(file, "features", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
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
    H5Pclose(dcpl);
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

/* ------------------------------------------------------------------ the PGx tables */

#ifndef MMDX_DEMO_PGX_DIR
#define MMDX_DEMO_PGX_DIR "data/pgx"
#endif

typedef struct {
    int gene;
    char chrom[16], rsid[32], ref[64], alts[256];
    long pos;
    unsigned char code[MAX_DRAWN]; /* VCF allele index of each drawn allele of the gene here */
} pgx_pos_t;

static pgx_pos_t *pgx_pos;
static size_t n_pgx_pos;

static int gene_index(const char *name)
{
    for (int g = 0; g < N_GENES; g++)
        if (strcmp(name, gene_names[g]) == 0)
            return g;
    return -1;
}

/* split a TSV line in place into at most max fields; returns the number of fields */
static int split_tsv(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *s = line; n < max;) {
        f[n++] = s;
        char *t = strchr(s, '\t');
        if (!t)
            break;
        *t = '\0';
        s = t + 1;
    }
    return n;
}

static int copy_field(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);
    if (len >= size)
        return -1;
    memcpy(dst, src, len + 1);
    return 0;
}

/* the VCF allele index of allele a at position p (0 = REF), or -1 */
static int allele_index(const pgx_pos_t *p, const char *a, size_t len)
{
    if (strlen(p->ref) == len && strncmp(p->ref, a, len) == 0)
        return 0;
    int k = 1;
    for (const char *s = p->alts; *s; k++) {
        size_t l = strcspn(s, ",");
        if (l == len && strncmp(s, a, len) == 0)
            return k;
        s += l;
        if (*s == ',')
            s++;
    }
    return -1;
}

static int load_pgx_tables(const char *dir)
{
    static char line[1 << 16];
    char path[4096], *f[8];
    snprintf(path, sizeof path, "%s/pgx_positions.tsv", dir);
    FILE *in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "mmdx-demo-gen: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    long lineno = 0;
    while (fgets(line, sizeof line, in)) {
        lineno++;
        if (lineno == 1)
            continue; /* header */
        if (split_tsv(line, f, 8) != 6) {
            fprintf(stderr, "mmdx-demo-gen: %s:%ld: want 6 fields\n", path, lineno);
            fclose(in);
            return -1;
        }
        int g = gene_index(f[0]);
        if (g < 0)
            continue;
        if (n_pgx_pos == cap) {
            cap = cap ? 2 * cap : 512;
            pgx_pos_t *grown = realloc(pgx_pos, cap * sizeof *grown);
            if (!grown) {
                fclose(in);
                return -1;
            }
            pgx_pos = grown;
        }
        pgx_pos_t *p = &pgx_pos[n_pgx_pos];
        memset(p, 0, sizeof *p);
        p->gene = g;
        p->pos = strtol(f[2], NULL, 10);
        if (p->pos <= 0 || copy_field(p->chrom, sizeof p->chrom, f[1]) ||
            copy_field(p->rsid, sizeof p->rsid, f[3]) || copy_field(p->ref, sizeof p->ref, f[4]) ||
            copy_field(p->alts, sizeof p->alts, strcmp(f[5], ".") == 0 ? "" : f[5])) {
            fprintf(stderr, "mmdx-demo-gen: %s:%ld: bad or too long field\n", path, lineno);
            fclose(in);
            return -1;
        }
        n_pgx_pos++;
    }
    fclose(in);

    snprintf(path, sizeof path, "%s/pgx_alleles.tsv", dir);
    if (!(in = fopen(path, "r"))) {
        fprintf(stderr, "mmdx-demo-gen: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    int found[N_GENES][MAX_DRAWN] = {{0}};
    lineno = 0;
    while (fgets(line, sizeof line, in)) {
        lineno++;
        if (lineno == 1)
            continue;
        if (split_tsv(line, f, 8) != 6) {
            fprintf(stderr, "mmdx-demo-gen: %s:%ld: want 6 fields\n", path, lineno);
            fclose(in);
            return -1;
        }
        int g = gene_index(f[0]), k = 0;
        if (g < 0)
            continue;
        while (k < MAX_DRAWN && !(drawn[g][k] && strcmp(drawn[g][k], f[1]) == 0))
            k++;
        if (k == MAX_DRAWN)
            continue;
        found[g][k] = 1;
        /* definition: POS=ALLELE[/ALLELE...];... (unstated positions are the reference) */
        for (char *d = f[5]; strcmp(f[5], ".") != 0 && *d;) {
            char *end = d + strcspn(d, ";"), *eq = strchr(d, '=');
            long pos = strtol(d, NULL, 10);
            pgx_pos_t *p = NULL;
            for (size_t i = 0; i < n_pgx_pos && !p; i++)
                if (pgx_pos[i].gene == g && pgx_pos[i].pos == pos)
                    p = &pgx_pos[i];
            if (!eq || eq > end || !p) {
                fprintf(stderr, "mmdx-demo-gen: %s:%ld: %s %s: position %ld not in pgx_positions.tsv\n",
                        path, lineno, f[0], f[1], pos);
                fclose(in);
                return -1;
            }
            /* the accepted alleles: the reference if it is one of them, else the first */
            int idx = -1, first = -1;
            for (const char *a = eq + 1; a < end;) {
                size_t l = strcspn(a, "/;");
                int i = allele_index(p, a, l);
                if (first < 0)
                    first = i;
                if (i == 0)
                    idx = 0;
                a += l;
                if (*a == '/')
                    a++;
            }
            if (idx < 0)
                idx = first;
            if (idx < 0) {
                fprintf(stderr, "mmdx-demo-gen: %s:%ld: %s %s: allele at %ld is neither REF nor ALT\n",
                        path, lineno, f[0], f[1], pos);
                fclose(in);
                return -1;
            }
            p->code[k] = (unsigned char)idx;
            d = *end ? end + 1 : end;
        }
    }
    fclose(in);
    for (int g = 0; g < N_GENES; g++)
        for (int k = 0; k < MAX_DRAWN && drawn[g][k]; k++)
            if (!found[g][k]) {
                fprintf(stderr, "mmdx-demo-gen: %s: no allele %s %s\n", path, gene_names[g], drawn[g][k]);
                return -1;
            }
    return 0;
}

/* ------------------------------------------------------------------ the VCF */

static const struct { const char *name; long len; } contigs[] = {
    {"chr1", 248956422}, {"chr2", 242193529}, {"chr6", 170805979}, {"chr7", 159345973},
    {"chr9", 138394717}, {"chr10", 133797422}, {"chr12", 133275309}, {"chr13", 114364328},
    {"chr16", 90338345}};
enum { N_CONTIGS = sizeof contigs / sizeof contigs[0] };

/* one VCF record: a PGx position (index < n_pgx_pos) or a risk SNP (n_pgx_pos + site) */
typedef struct { int contig; long pos; size_t index; } rec_t;

static int contig_rank(const char *chrom)
{
    for (int c = 0; c < N_CONTIGS; c++)
        if (strcmp(chrom, contigs[c].name) == 0)
            return c;
    return -1;
}

static int rec_cmp(const void *a, const void *b)
{
    const rec_t *x = a, *y = b;
    if (x->contig != y->contig)
        return x->contig < y->contig ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* a called PGx genotype is left uncalled (./.) with this probability, as low-quality
 * sites of a real callset are */
#define NOCALL_RATE 0.0005

static int write_vcf(const char *path, const patient_t *pts, size_t n)
{
    size_t n_rec = n_pgx_pos + N_SITES;
    rec_t *recs = malloc(n_rec * sizeof *recs);
    if (!recs)
        return -1;
    for (size_t i = 0; i < n_rec; i++) {
        const char *chrom = i < n_pgx_pos ? pgx_pos[i].chrom : sites[i - n_pgx_pos].chrom;
        recs[i].contig = contig_rank(chrom);
        recs[i].pos = i < n_pgx_pos ? pgx_pos[i].pos : sites[i - n_pgx_pos].pos;
        recs[i].index = i;
        if (recs[i].contig < 0) {
            fprintf(stderr, "mmdx-demo-gen: contig %s is not in the demo's header\n", chrom);
            free(recs);
            return -1;
        }
    }
    qsort(recs, n_rec, sizeof *recs, rec_cmp);
    FILE *f = fopen(path, "w");
    if (!f) {
        free(recs);
        return -1;
    }
    fprintf(f, "##fileformat=VCFv4.2\n##source=mmdx-demo-gen (synthetic genotypes)\n##reference=GRCh38\n");
    for (size_t c = 0; c < N_CONTIGS; c++)
        fprintf(f, "##contig=<ID=%s,length=%ld,assembly=GRCh38>\n", contigs[c].name, contigs[c].len);
    fprintf(f, "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
               "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT");
    for (size_t i = 0; i < n; i++)
        if (pts[i].has_vcf)
            fprintf(f, "\t%s", pts[i].id);
    fputc('\n', f);
    for (size_t r = 0; r < n_rec; r++) {
        size_t k = recs[r].index;
        if (k >= n_pgx_pos) {
            const site_t *s = &sites[k - n_pgx_pos];
            fprintf(f, "%s\t%ld\t%s\t%s\t%s\t.\tPASS\t.\tGT", s->chrom, s->pos, s->rsid, s->ref, s->alt);
            for (size_t i = 0; i < n; i++)
                if (pts[i].has_vcf)
                    fprintf(f, "\t%d|%d", pts[i].gt[k - n_pgx_pos][0], pts[i].gt[k - n_pgx_pos][1]);
        } else {
            const pgx_pos_t *p = &pgx_pos[k];
            fprintf(f, "%s\t%ld\t%s\t%s\t%s\t.\tPASS\t.\tGT", p->chrom, p->pos, p->rsid, p->ref,
                    *p->alts ? p->alts : ".");
            for (size_t i = 0; i < n; i++) {
                const patient_t *q = &pts[i];
                if (!q->has_vcf)
                    continue;
                uint64_t x = q->nocall_seed ^ (0x9e3779b97f4a7c15ULL * (k + 1));
                if ((double)(splitmix64(&x) >> 11) * 0x1.0p-53 < NOCALL_RATE)
                    fputs("\t./.", f);
                else
                    fprintf(f, "\t%d|%d", p->code[q->star[p->gene][0]], p->code[q->star[p->gene][1]]);
            }
        }
        fputc('\n', f);
    }
    free(recs);
    return fclose(f) == 0 ? 0 : -1;
}

/* the variant panel of the risk SNPs (their dosages are features of the diagnosis model;
 * the PGx calls come from every defining position, through the adapter's pgx option) */
static int write_panel(const char *path)
{
    static const char *const genes[N_SITES] = {[S_9P21] = "CDKN2B-AS1", [S_TCF7L2] = "TCF7L2"};
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "id\tchrom\tpos\tref\talt\tgene\tbuild\n");
    for (size_t s = 0; s < N_SITES; s++)
        fprintf(f, "%s\t%s\t%ld\t%s\t%s\t%s\tGRCh38\n", sites[s].rsid, sites[s].chrom, sites[s].pos,
                sites[s].ref, sites[s].alt, genes[s]);
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
        write_panel(OUT("panel.tsv")) ||
        write_labels(OUT("labels.tsv"), pts, n)) {
        fprintf(stderr, "mmdx-demo-gen: writing %s failed\n", path);
        return -1;
    }
#undef OUT
    return 0;
}

int main(int argc, char **argv)
{
    const char *pgx_dir = MMDX_DEMO_PGX_DIR;
    if (argc > 2 && strcmp(argv[1], "--pgx") == 0) {
        pgx_dir = argv[2];
        argv += 2;
        argc -= 2;
    }
    if (argc < 2 || argc > 5 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: mmdx-demo-gen [--pgx DIR] OUTDIR [N_TRAIN N_TEST SEED]\n"
                        "Writes the synthetic demo cohort (train/ and test/) into OUTDIR; the\n"
                        "genotypes cover every defining position of the PGx tables in DIR\n"
                        "(default " MMDX_DEMO_PGX_DIR ").\n");
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
    if (load_pgx_tables(pgx_dir) != 0)
        return 2;
    if (mkdir(argv[1], 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "mmdx-demo-gen: cannot create %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    patient_t *pts = calloc(n_train + n_test, sizeof *pts);
    if (!pts)
        return 2;
    rng_t r, r2; /* r: the cohort; r2: the genotypes added later (CYP3A5, UGT1A1, no-calls) */
    rng_seed(&r, seed);
    rng_seed(&r2, seed ^ 0x5047582d64656d6fULL);
    for (size_t i = 0; i < n_train + n_test; i++)
        draw_patient(&r, &r2, &pts[i], (int)i);
    char dir[4096];
    int rc = 0;
    snprintf(dir, sizeof dir, "%s/train", argv[1]);
    rc |= write_set(dir, pts, n_train, &r);
    snprintf(dir, sizeof dir, "%s/test", argv[1]);
    rc |= write_set(dir, pts + n_train, n_test, &r);
    free(pts);
    free(pgx_pos);
    if (rc)
        return 2;
    fprintf(stderr, "mmdx-demo-gen: %zu training and %zu held-out patients in %s (seed %llu)\n", n_train,
            n_test, argv[1], (unsigned long long)seed);
    return 0;
}
