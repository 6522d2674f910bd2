/* Small clinical and parsing helpers of the laboratory modality: LOINC check digits,
 * CKD-EPI 2021, BMI, HL7/FHIR times, numbers and censored values. Pure functions. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hl7.h"

int mmdx_hl7_loinc_valid(const char *code)
{
    /* LOINC: 1-7 digits, '-', one check digit computed with the mod-10 (Luhn) algorithm */
    const char *dash = strchr(code, '-');
    size_t nd = dash ? (size_t)(dash - code) : 0;
    if (!dash || nd < 1 || nd > 7 || dash[1] < '0' || dash[1] > '9' || dash[2] != '\0')
        return 0;
    int sum = 0;
    for (size_t i = 0; i < nd; i++) {
        char ch = code[nd - 1 - i];
        if (ch < '0' || ch > '9')
            return 0;
        int d = ch - '0';
        if (i % 2 == 0) { /* rightmost digit and every second one to its left are doubled */
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return (10 - sum % 10) % 10 == dash[1] - '0';
}

double mmdx_hl7_egfr_ckdepi2021(double scr, double age, int female)
{
    /* Inker et al., N Engl J Med 2021;385:1737-49: eGFR = 142 x min(Scr/k,1)^a x
     * max(Scr/k,1)^-1.200 x 0.9938^Age [x 1.012 if female]; k = 0.7 (F) / 0.9 (M),
     * a = -0.241 (F) / -0.302 (M); Scr in mg/dL. */
    if (!(scr > 0) || !isfinite(scr) || !(age >= 18) || age > 130)
        return NAN;
    double k = female ? 0.7 : 0.9, a = female ? -0.241 : -0.302;
    double r = scr / k;
    double e = 142.0 * pow(fmin(r, 1.0), a) * pow(fmax(r, 1.0), -1.200) * pow(0.9938, age);
    return female ? e * 1.012 : e;
}

double mmdx_hl7_bmi(double height_cm, double weight_kg)
{
    if (!(height_cm > 30 && height_cm < 300) || !(weight_kg > 0.5 && weight_kg < 700))
        return NAN;
    double m = height_cm / 100.0;
    return weight_kg / (m * m);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int mmdx_hl7_parse_time(const char *s, int64_t *out)
{
    int y = 0, mo = 1, d = 1, h = 0, mi = 0, se = 0;
    const char *p = s;
    while (*p == ' ')
        p++;
    if (digits(&p, 4, &y))
        return -1;
    int fhir = (*p == '-');
    /* date part: FHIR YYYY[-MM[-DD]], HL7 YYYY[MM[DD[HH[MM[SS[.S]]]]]] */
    if (fhir) {
        p++;
        if (digits(&p, 2, &mo))
            return -1;
        if (*p == '-') {
            p++;
            if (digits(&p, 2, &d))
                return -1;
        }
        if (*p == 'T') {
            p++;
            if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
                return -1;
            if (*p == ':') {
                p++;
                if (digits(&p, 2, &se))
                    return -1;
            }
        }
    } else if (*p >= '0' && *p <= '9') {
        if (digits(&p, 2, &mo))
            return -1;
        if (*p >= '0' && *p <= '9') {
            if (digits(&p, 2, &d))
                return -1;
            if (*p >= '0' && *p <= '9') {
                if (digits(&p, 2, &h))
                    return -1;
                if (*p >= '0' && *p <= '9') {
                    if (digits(&p, 2, &mi))
                        return -1;
                    if (*p >= '0' && *p <= '9' && digits(&p, 2, &se))
                        return -1;
                }
            }
        }
    }
    if (*p == '.') { /* fractional seconds */
        p++;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    int64_t off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (digits(&p, 2, &oh))
            return -1;
        if (*p == ':')
            p++;
        if (digits(&p, 2, &om))
            return -1;
        if (oh > 14 || om > 59)
            return -1;
        off = sign * (oh * 3600 + om * 60);
    }
    while (*p == ' ')
        p++;
    if (*p)
        return -1;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1800 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 60)
        return -1;
    if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return -1;
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
    return 0;
}

int mmdx_hl7_parse_number(const char *s, double *out)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    /* only plain decimals: digits, one dot, optional exponent (no hex, inf, nan) */
    if (!((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9')))
        return -1;
    for (const char *q = p; *q; q++) /* plain decimals only: no hex, no inf or nan spelled out */
        if (!((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' || *q == '-' ||
              *q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'))
            return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v))
        return -1;
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

int mmdx_hl7_parse_censored(const char *s, double *out, int *censor)
{
    while (*s == ' ' || *s == '\t')
        s++;
    *censor = MMDX_CENSOR_NONE;
    if (*s == '<') {
        *censor = MMDX_CENSOR_LEFT;
        s += s[1] == '=' ? 2 : 1;
    } else if (*s == '>') {
        *censor = MMDX_CENSOR_RIGHT;
        s += s[1] == '=' ? 2 : 1;
    }
    return mmdx_hl7_parse_number(s, out);
}

double mmdx_hl7_years_between(int64_t birth, int64_t when)
{
    return (double)(when - birth) / (365.2425 * 86400.0);
}

int mmdx_hl7_completed_years(int64_t birth, int64_t when)
{
    /* calendar arithmetic on UTC dates: birthdays that have passed */
    int64_t db = birth >= 0 ? birth / 86400 : (birth - 86399) / 86400;
    int64_t dw = when >= 0 ? when / 86400 : (when - 86399) / 86400;
    /* civil_from_days for both */
    int64_t yy[2];
    int mm[2], dd[2];
    int64_t in[2] = {db, dw};
    for (int i = 0; i < 2; i++) {
        int64_t z = in[i] + 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        dd[i] = (int)(doy - (153 * mp + 2) / 5 + 1);
        mm[i] = (int)(mp < 10 ? mp + 3 : mp - 9);
        yy[i] = yoe + era * 400 + (mm[i] <= 2);
    }
    int64_t age = yy[1] - yy[0];
    if (mm[1] < mm[0] || (mm[1] == mm[0] && dd[1] < dd[0]))
        age--;
    return (int)age;
}
