/* HTML report: one self-contained page per batch (no scripts, no external resources),
 * inline SVG for the posterior bars with their credible intervals and for each modality's
 * contribution, then the suggestions with their reasons, triage and the next best test.
 * English or Korean. The markup is also well-formed XML (polyglot), so it can be checked
 * with an XML parser as well as rendered by browsers. */
#include <math.h>
#include <string.h>

#include "writer_internal.h"

/* UI strings. */
enum {
    S_TITLE, S_PATIENT, S_POSTERIOR, S_POSTERIOR_HELP, S_CONTRIB, S_CONTRIB_HELP, S_MISSING, S_TOP,
    S_SUGGESTIONS, S_NO_KB, S_NO_SUGGESTIONS, S_STATUS, S_TREATMENT, S_INDICATION, S_REASONS,
    S_SUGGESTED, S_INSUFFICIENT, S_EXCLUDED, S_TRIAGE, S_URGENCY, S_NEXT_TEST, S_NEXT_TEST_HELP,
    S_NO_TEST, S_NOTES, S_OOD, S_NO_EVIDENCE, S_IMPUTED, S_HOWTO, S_GENERATED, S_THRESHOLD, S_BENEFIT,
    S_ALTERNATIVE, S_UNKNOWN, S_GAIN, S_NONE, S_PATIENTS, S_CRI, S_MISSING_FEATURES, S_DECIDED_BY, S_SUMMARY,
    S_SUMMARY_HELP, S_SUMMARY_CUT, S_FLAGS, S_COUNT
};
static const char *const strings[S_COUNT][2] = {
    [S_TITLE] = {"libmmdx diagnosis report", "libmmdx 진단 보조 보고서"},
    [S_PATIENT] = {"Patient", "환자"},
    [S_POSTERIOR] = {"Posterior probabilities", "사후 확률"},
    [S_POSTERIOR_HELP] = {"Bar: posterior probability; line with end marks: 95% credible interval. A wide "
                          "interval means the evidence is weak or incomplete.",
                          "막대: 사후 확률, 양 끝 표시가 있는 선: 95% 신용구간. 구간이 넓을수록 근거가 "
                          "약하거나 불완전하다는 뜻입니다."},
    [S_CONTRIB] = {"Modality contributions", "검사 유형별 기여도"},
    [S_CONTRIB_HELP] = {"Change in log-odds from each kind of evidence: to the right raises the probability, "
                        "to the left lowers it. A missing modality contributes nothing.",
                        "각 근거가 로그 오즈를 바꾼 정도: 오른쪽은 확률을 높이고 왼쪽은 낮춥니다. "
                        "없는 검사 유형은 기여하지 않습니다."},
    [S_MISSING] = {"missing", "없음"},
    [S_TOP] = {"Top contributing features", "주요 기여 특징"},
    [S_SUGGESTIONS] = {"Treatment suggestions", "치료 제안"},
    [S_NO_KB] = {"No knowledge base was given, so there are no suggestions.",
                 "지식 베이스가 주어지지 않아 제안이 없습니다."},
    [S_NO_SUGGESTIONS] = {"No treatment is indicated by the knowledge base at these probabilities.",
                          "현재 확률에서 지식 베이스가 제시하는 치료가 없습니다."},
    [S_STATUS] = {"Status", "상태"},
    [S_TREATMENT] = {"Treatment", "치료"},
    [S_INDICATION] = {"Indication", "적응증"},
    [S_REASONS] = {"Reasons and sources", "근거와 출처"},
    [S_SUGGESTED] = {"suggested", "제안"},
    [S_INSUFFICIENT] = {"insufficient evidence", "근거 불충분"},
    [S_EXCLUDED] = {"excluded", "제외"},
    [S_TRIAGE] = {"Triage", "분류(트리아지)"},
    [S_URGENCY] = {"urgency", "긴급도"},
    [S_NEXT_TEST] = {"Next best test", "다음 권장 검사"},
    [S_NEXT_TEST_HELP] = {"Missing evidence ranked by how much it is expected to reduce the uncertainty "
                          "(information gain, nats).",
                          "불확실성을 얼마나 줄일 것으로 기대되는지(정보 이득, nats)에 따라 정렬한 "
                          "누락된 근거."},
    [S_NO_TEST] = {"No missing evidence would change the picture much.",
                   "추가 검사로 크게 달라질 근거가 없습니다."},
    [S_NOTES] = {"Notes (records not used)", "참고 (사용되지 않은 기록)"},
    [S_OOD] = {"This patient differs from the training cohort (out of distribution): the probabilities "
               "are less reliable.",
               "이 환자는 학습 코호트와 다릅니다(분포 밖). 확률의 신뢰도가 낮습니다."},
    [S_NO_EVIDENCE] = {"No usable evidence: the probabilities are the prior (training prevalence).",
                       "사용할 수 있는 근거가 없어 확률은 사전 확률(학습 유병률)입니다."},
    [S_IMPUTED] = {"Some evidence was missing and was imputed; its uncertainty is included in the "
                   "intervals.",
                   "일부 근거가 없어 대체(imputation)했으며 그 불확실성은 구간에 포함되어 있습니다."},
    [S_HOWTO] = {"Each patient lists the probability of each condition with its 95% credible interval, "
                 "how much each kind of evidence moved it, the treatments the knowledge base suggests or "
                 "excludes with their reasons, and the test that would help most. A result reported as a "
                 "bound (e.g. \"<0.5\") is used at its bound.",
                 "각 환자마다 질환별 확률과 95% 신용구간, 각 근거가 확률을 움직인 정도, 지식 베이스가 "
                 "제안하거나 제외한 치료와 그 근거, 가장 도움이 될 검사를 보여 줍니다. 한계값으로 보고된 "
                 "결과(예: \"<0.5\")는 그 한계값으로 계산합니다."},
    [S_GENERATED] = {"Generated", "생성 시각"},
    [S_THRESHOLD] = {"threshold", "기준"},
    [S_BENEFIT] = {"expected benefit", "기대 이득"},
    [S_ALTERNATIVE] = {"alternative", "대안"},
    [S_UNKNOWN] = {"unknown", "미확인"},
    [S_GAIN] = {"gain", "이득"},
    [S_NONE] = {"none", "없음"},
    [S_PATIENTS] = {"patients", "명의 환자"},
    [S_CRI] = {"95% CrI", "95% 신용구간"},
    [S_MISSING_FEATURES] = {"missing features (imputed)", "누락된 특징 (대체됨)"},
    [S_DECIDED_BY] = {"decided by", "결정 근거"},
    [S_SUMMARY] = {"Patients in this report", "이 보고서의 환자"},
    [S_SUMMARY_HELP] = {"Probability of each target (95% credible interval); follow the patient id to the "
                        "details.",
                        "대상 질환별 확률(95% 신용구간). 환자 ID를 누르면 자세한 내용으로 이동합니다."},
    [S_SUMMARY_CUT] = {"The overview lists the first patients only; all of them follow below.",
                       "개요에는 앞쪽 환자만 표시되며, 모든 환자는 아래에 있습니다."},
    [S_FLAGS] = {"flags", "표시"},
};

#define T(w, id) (strings[id][(w)->ko])

/* The overview table at the top of the report (written last, shown first by CSS order),
 * for at most SUMMARY_MAX patients so memory stays bounded. */
#define SUMMARY_MAX 2000
typedef struct html_state {
    char *rows;         /* the overview's table rows, as HTML */
    size_t len, cap;
    char *targets;      /* header cells, from the first patient */
    size_t n_rows;
    int oom;
} html_state_t;

static void add(html_state_t *st, char **buf, size_t *len, size_t *cap, const char *text, size_t n)
{
    if (st->oom)
        return;
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n + 1)
            c *= 2;
        char *b = mmdx_realloc(*buf, c);
        if (b == NULL) {
            st->oom = 1;
            return;
        }
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, text, n);
    *len += n;
    (*buf)[*len] = '\0';
}

/* Append @p s escaped (as esc() writes it) to the overview rows. */
static void add_esc(html_state_t *st, const char *s)
{
    for (; s && *s; s++) {
        const char *r = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '"' ? "&quot;" : NULL;
        char c = (unsigned char)*s < 0x20 ? ' ' : *s;
        if (r)
            add(st, &st->rows, &st->len, &st->cap, r, strlen(r));
        else
            add(st, &st->rows, &st->len, &st->cap, &c, 1);
    }
}

static void add_str(html_state_t *st, const char *s)
{
    add(st, &st->rows, &st->len, &st->cap, s, strlen(s));
}

/* Text or attribute value with &, <, >, " escaped. */
static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                fputc(' ', f); /* control characters are not allowed in XML */
            else
                fputc(*s, f);
        }
    }
}

static const char css[] =
    "body{font-family:\"Noto Sans\",\"Noto Sans CJK KR\",\"Malgun Gothic\",sans-serif;margin:2em auto;"
    "max-width:62em;padding:0 1em;color:#1b1b1b;line-height:1.45}\n"
    "h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #444;padding-bottom:.2em;margin-top:2em}\n"
    "h3{margin-bottom:.3em}h4{margin:.6em 0 .2em 0;font-size:1em}\n"
    ".disclaimer{background:#fff4ce;border-left:5px solid #c99a00;padding:.6em 1em;font-weight:600}\n"
    ".warn{background:#fde7e9;border-left:5px solid #b3261e;padding:.4em 1em}\n"
    ".info{background:#eef3fb;border-left:5px solid #3b6db3;padding:.4em 1em}\n"
    ".help{color:#555;font-size:.9em;margin:.2em 0}\n"
    "table{border-collapse:collapse;width:100%;font-size:.95em}th,td{border:1px solid #ccc;padding:.3em .5em;"
    "vertical-align:top;text-align:left}th{background:#f2f2f2}\n"
    ".suggested{color:#11623a;font-weight:600}.insufficient{color:#7a5a00;font-weight:600}"
    ".excluded{color:#b3261e;font-weight:600}\n"
    "svg{max-width:100%;height:auto}svg text{font-size:12px;fill:#1b1b1b}code{font-size:.9em}\n"
    "footer{margin-top:3em;border-top:1px solid #ccc;padding-top:1em}\n"
    "body{display:flex;flex-direction:column}header{order:0}nav.overview{order:1}main{order:2}footer{order:3}\n"
    ".overview td.p{white-space:nowrap}.overview .hi{color:#b3261e;font-weight:600}\n";

static int html_begin(mmdx_writer_t *w, mmdx_error_t *err)
{
    FILE *f = w->f;
    if ((w->state = mmdx_calloc(1, sizeof(html_state_t))) == NULL)
        return mmdx_error_set(err, MMDX_ENOMEM, w->path, NULL, 0, "out of memory");
    fprintf(f, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"%s\">\n<head>\n", w->lang);
    fputs("<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
          "<meta name=\"generator\" content=\"libmmdx\"/>\n<title>",
          f);
    esc(f, w->title ? w->title : T(w, S_TITLE));
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n<h1>", css);
    esc(f, w->title ? w->title : T(w, S_TITLE));
    fputs("</h1>\n<p class=\"disclaimer\" role=\"note\" id=\"disclaimer\">", f);
    esc(f, writer_disclaimer(w));
    fputs("</p>\n", f);
    if (w->timestamp) {
        fprintf(f, "<p class=\"help\">%s: ", T(w, S_GENERATED));
        esc(f, w->timestamp);
        fputs("</p>\n", f);
    }
    fputs("<p class=\"help\">", f);
    esc(f, T(w, S_HOWTO));
    fputs("</p>\n</header>\n<main>\n", f);
    return MMDX_OK;
}

static void pct(char *buf, size_t size, double p)
{
    snprintf(buf, size, "%.1f%%", 100 * (isfinite(p) ? p : 0));
}

/* Posterior bars of every target and reported class, with their 95% intervals. */
static void posterior_svg(mmdx_writer_t *w, const mmdx_writer_patient_t *p)
{
    FILE *f = w->f;
    enum { LABEL = 190, BAR = 380, ROW = 30, TOP = 22 };
    size_t rows = 0;
    size_t idx[64];
    for (size_t t = 0; t < p->n_preds; t++)
        rows += mmdx_pred_n_classes(p->preds[t]) <= 64 ? writer_report_classes(p->preds[t], idx) : 1;
    int height = TOP + (int)rows * ROW + 6;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"posterior\" width=\"800\" height=\"%d\" "
               "viewBox=\"0 0 800 %d\" role=\"img\">\n<title>", height, height);
    esc(f, T(w, S_POSTERIOR));
    fputs("</title>\n", f);
    for (int q = 0; q <= 4; q++) {
        int x = LABEL + q * BAR / 4;
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ddd\"/>"
                   "<text x=\"%d\" y=\"12\" text-anchor=\"middle\">%d%%</text>\n",
                x, TOP - 4, x, height - 4, x, q * 25);
    }
    int y = TOP;
    for (size_t t = 0; t < p->n_preds; t++) {
        const mmdx_pred_t *pr = p->preds[t];
        if (mmdx_pred_n_classes(pr) > 64)
            continue;
        size_t nk = writer_report_classes(pr, idx);
        for (size_t j = 0; j < nk; j++, y += ROW) {
            double pk = mmdx_pred_prob(pr, idx[j]), lo, hi;
            char a[32], b[32], c[32];
            mmdx_pred_interval(pr, idx[j], &lo, &hi);
            lo = isfinite(lo) ? fmax(0, fmin(1, lo)) : 0;
            hi = isfinite(hi) ? fmax(0, fmin(1, hi)) : 1;
            fprintf(f, "<g class=\"target\">\n<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", LABEL - 8, y + 17);
            esc(f, mmdx_pred_target_name(pr));
            if (nk > 1 || strcmp(mmdx_pred_class_name(pr, idx[j]), "1") != 0) {
                fputs(" = ", f);
                esc(f, mmdx_pred_class_name(pr, idx[j]));
            }
            fprintf(f, "</text>\n<rect class=\"track\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"16\" fill=\"#eee\"/>\n",
                    LABEL, y + 5, BAR);
            fprintf(f, "<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"16\" fill=\"%s\"/>\n", LABEL, y + 5,
                    BAR * pk, pk >= 0.5 ? "#c0392b" : "#4f81bd");
            double x0 = LABEL + BAR * lo, x1 = LABEL + BAR * hi;
            fprintf(f, "<line class=\"ci\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#111\" "
                       "stroke-width=\"2\"/>\n",
                    x0, y + 13, x1, y + 13);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#111\" stroke-width=\"2\"/>"
                       "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#111\" stroke-width=\"2\"/>\n",
                    x0, y + 7, x0, y + 19, x1, y + 7, x1, y + 19);
            pct(a, sizeof(a), pk);
            pct(b, sizeof(b), lo);
            pct(c, sizeof(c), hi);
            fprintf(f, "<text x=\"%d\" y=\"%d\">%s (%s %s–%s)</text>\n</g>\n", LABEL + BAR + 8, y + 17, a,
                    T(w, S_CRI), b, c);
        }
    }
    fputs("</svg>\n", f);
}

/* Diverging bars of each modality's evidence for the reported class of one target. */
static void contribution_svg(mmdx_writer_t *w, const mmdx_pred_t *pr, size_t k)
{
    FILE *f = w->f;
    enum { LABEL = 190, HALF = 190, ROW = 24, TOP = 22 };
    size_t M = mmdx_pred_n_modalities(pr);
    double scale = 2; /* log-odds at the ends of the axis, at least 2 */
    for (size_t m = 0; m < M; m++) {
        double e = fabs(mmdx_pred_evidence(pr, k, m));
        if (mmdx_pred_modality_present(pr, m) && isfinite(e) && e > scale)
            scale = e;
    }
    scale = ceil(scale);
    int height = TOP + (int)M * ROW + 6, mid = LABEL + HALF;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"contributions\" width=\"800\" height=\"%d\" "
               "viewBox=\"0 0 800 %d\" role=\"img\">\n<title>", height, height);
    esc(f, T(w, S_CONTRIB));
    fputs(": ", f);
    esc(f, mmdx_pred_target_name(pr));
    fputs("</title>\n", f);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n", mid, TOP - 4, mid, height - 4);
    fprintf(f, "<text x=\"%d\" y=\"12\" text-anchor=\"start\">%+g</text><text x=\"%d\" y=\"12\" "
               "text-anchor=\"middle\">0</text><text x=\"%d\" y=\"12\" text-anchor=\"end\">%+g</text>\n",
            LABEL, -scale, mid, LABEL + 2 * HALF, scale);
    for (size_t m = 0; m < M; m++) {
        int y = TOP + (int)m * ROW;
        char *label = writer_candidate_label(w, mmdx_pred_modality(pr, m));
        fprintf(f, "<g class=\"modality\">\n<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", LABEL - 8, y + 15);
        esc(f, label ? label : mmdx_pred_modality(pr, m));
        mmdx_free(label);
        fputs("</text>\n", f);
        if (!mmdx_pred_modality_present(pr, m)) {
            fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#777\">%s</text>\n</g>\n", mid, y + 15,
                    T(w, S_MISSING));
            continue;
        }
        double e = mmdx_pred_evidence(pr, k, m);
        if (!isfinite(e))
            e = 0;
        double len = HALF * fabs(e) / scale;
        fprintf(f, "<rect class=\"bar\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"14\" fill=\"%s\"/>\n",
                e >= 0 ? (double)mid : mid - len, y + 4, len, e >= 0 ? "#c0392b" : "#4f81bd");
        fprintf(f, "<text x=\"%d\" y=\"%d\">%+.2f</text>\n</g>\n", LABEL + 2 * HALF + 8, y + 15, e);
    }
    fputs("</svg>\n", f);
}

static const char *status_class(mmdx_advice_status_t s)
{
    return s == MMDX_ADVICE_SUGGESTED ? "suggested" : s == MMDX_ADVICE_INSUFFICIENT ? "insufficient" : "excluded";
}

static const char *status_text(const mmdx_writer_t *w, mmdx_advice_status_t s)
{
    return T(w, s == MMDX_ADVICE_SUGGESTED ? S_SUGGESTED : s == MMDX_ADVICE_INSUFFICIENT ? S_INSUFFICIENT : S_EXCLUDED);
}

static void advice_html(mmdx_writer_t *w, const mmdx_advice_t *a)
{
    FILE *f = w->f;
    char x[32], y[32], z[32];
    fprintf(f, "<h3>%s</h3>\n", T(w, S_SUGGESTIONS));
    if (a == NULL) {
        fprintf(f, "<p class=\"help\">%s</p>\n", T(w, S_NO_KB));
        return;
    }
    if (a->n_items == 0) {
        fprintf(f, "<p>%s</p>\n", T(w, S_NO_SUGGESTIONS));
    } else {
        fprintf(f, "<table class=\"suggestions\">\n<tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>\n",
                T(w, S_STATUS), T(w, S_TREATMENT), T(w, S_INDICATION), T(w, S_REASONS));
        for (size_t i = 0; i < a->n_items; i++) {
            const mmdx_suggestion_t *it = &a->items[i];
            fprintf(f, "<tr><td class=\"%s\">%s</td><td>", status_class(it->status), status_text(w, it->status));
            esc(f, it->name ? it->name : it->treatment);
            fputs("</td><td>", f);
            if (it->target) {
                pct(x, sizeof(x), it->p);
                pct(y, sizeof(y), it->ci_low);
                pct(z, sizeof(z), it->ci_high);
                esc(f, it->target);
                fprintf(f, ": %s (%s %s–%s); %s %.0f%%; %s %.3g", x, T(w, S_CRI), y, z, T(w, S_THRESHOLD),
                        100 * it->threshold, T(w, S_BENEFIT), it->benefit);
                if (it->indication_citation && it->indication_citation[0]) {
                    fputs(" <cite>", f);
                    esc(f, it->indication_citation);
                    fputs("</cite>", f);
                }
            }
            fputs("</td><td>", f);
            if (it->n_fired == 0) {
                fputs("–", f);
            } else {
                fputs("<ul>", f);
                for (size_t r = 0; r < it->n_fired; r++) {
                    const mmdx_fired_t *fr = &it->fired[r];
                    const char *label = fr->unknown ? T(w, S_UNKNOWN) : mmdx_kb_action_name(fr->action);
                    const char *why = fr->reason ? fr->reason : fr->advice;
                    fputs("<li><strong>", f);
                    esc(f, label);
                    fputs("</strong>: ", f);
                    /* the decision layer's reasons often start with the action already */
                    const char *act = fr->unknown ? "unknown:" : mmdx_kb_action_name(fr->action);
                    size_t alen = strlen(act);
                    if (why && strncmp(why, act, alen) == 0 && why[alen] == ' ')
                        why += alen + 1;
                    esc(f, why);
                    if (fr->alternative && fr->alternative[0]) {
                        fprintf(f, " (%s: ", T(w, S_ALTERNATIVE));
                        esc(f, fr->alternative);
                        fputs(")", f);
                    }
                    if (fr->citation && fr->citation[0]) {
                        fputs(" <cite>", f);
                        esc(f, fr->citation);
                        fputs("</cite>", f);
                    }
                    fputs("</li>", f);
                }
                fputs("</ul>", f);
            }
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    fprintf(f, "<h3>%s</h3>\n<p class=\"triage\">", T(w, S_TRIAGE));
    esc(f, a->triage.department ? a->triage.department : T(w, S_NONE));
    fprintf(f, " — %s: %s", T(w, S_URGENCY), mmdx_urgency_name(a->triage.urgency));
    if (a->triage.target) {
        pct(x, sizeof(x), a->triage.p);
        fprintf(f, " (%s ", T(w, S_DECIDED_BY));
        esc(f, a->triage.target);
        fprintf(f, ", %s)", x);
    }
    fputs("</p>\n", f);
    fprintf(f, "<h3>%s</h3>\n<p class=\"help\">%s</p>\n", T(w, S_NEXT_TEST), T(w, S_NEXT_TEST_HELP));
    if (a->n_tests == 0 || !(a->tests[0].gain > 1e-6)) {
        fprintf(f, "<p>%s</p>\n", T(w, S_NO_TEST));
        return;
    }
    fputs("<ol class=\"next-test\">\n", f);
    for (size_t k = 0; k < a->n_tests && k < 5; k++) {
        char *label = writer_candidate_label(w, a->tests[k].candidate);
        fprintf(f, "<li%s>", k == 0 ? " class=\"best\"" : "");
        if (k == 0)
            fputs("<strong>", f);
        esc(f, label ? label : a->tests[k].candidate);
        if (k == 0)
            fputs("</strong>", f);
        fprintf(f, " — %s %.3f nats</li>\n", T(w, S_GAIN), a->tests[k].gain);
        mmdx_free(label);
    }
    fputs("</ol>\n", f);
}

/* One row of the overview: id (linked), the first reported class of each target, flags. */
static void overview_row(mmdx_writer_t *w, const mmdx_writer_patient_t *p, unsigned flags)
{
    html_state_t *st = w->state;
    char buf[160];
    size_t idx[64];
    if (st->n_rows == 0 && st->targets == NULL) {
        size_t len = 0, cap = 0;
        for (size_t t = 0; t < p->n_preds; t++) {
            add(st, &st->targets, &len, &cap, "<th>", 4);
            const char *name = mmdx_pred_target_name(p->preds[t]);
            for (const char *c = name; *c; c++) {
                const char *r = *c == '&' ? "&amp;" : *c == '<' ? "&lt;" : *c == '>' ? "&gt;" : NULL;
                add(st, &st->targets, &len, &cap, r ? r : c, r ? strlen(r) : 1);
            }
            add(st, &st->targets, &len, &cap, "</th>", 5);
        }
        if (st->targets == NULL)
            add(st, &st->targets, &len, &cap, "", 0);
    }
    st->n_rows++;
    if (st->n_rows > SUMMARY_MAX)
        return;
    snprintf(buf, sizeof(buf), "<tr><td><a href=\"#patient-%zu\">", w->n_patients + 1);
    add_str(st, buf);
    add_esc(st, p->patient_id);
    add_str(st, "</a></td>");
    for (size_t t = 0; t < p->n_preds; t++) {
        const mmdx_pred_t *pr = p->preds[t];
        size_t k = mmdx_pred_n_classes(pr) <= 64 && writer_report_classes(pr, idx) == 1 ? idx[0]
                                                                                          : mmdx_pred_best_class(pr);
        double lo, hi, pk = mmdx_pred_prob(pr, k);
        mmdx_pred_interval(pr, k, &lo, &hi);
        snprintf(buf, sizeof(buf), "<td class=\"p%s\">", pk >= 0.5 ? " hi" : "");
        add_str(st, buf);
        if (strcmp(mmdx_pred_class_name(pr, k), "1") != 0) {
            add_esc(st, mmdx_pred_class_name(pr, k));
            add_str(st, ": ");
        }
        snprintf(buf, sizeof(buf), "%.1f%% (%.1f–%.1f%%)</td>", 100 * pk, 100 * (isfinite(lo) ? lo : 0),
                 100 * (isfinite(hi) ? hi : 1));
        add_str(st, buf);
    }
    writer_flags_str(flags, buf, sizeof(buf));
    add_str(st, "<td>");
    add_str(st, strcmp(buf, "-") == 0 ? "" : buf);
    add_str(st, "</td></tr>\n");
}

static int html_patient(mmdx_writer_t *w, const mmdx_writer_patient_t *p, mmdx_error_t *err)
{
    FILE *f = w->f;
    unsigned flags = 0;
    size_t idx[64];
    for (size_t t = 0; t < p->n_preds; t++)
        flags |= mmdx_pred_flags(p->preds[t]);
    overview_row(w, p, flags);
    if (((html_state_t *)w->state)->oom)
        return mmdx_error_set(err, MMDX_ENOMEM, w->path, p->patient_id, 0, "out of memory");
    fprintf(f, "<section class=\"patient\" id=\"patient-%zu\">\n<h2>%s: ", w->n_patients + 1, T(w, S_PATIENT));
    esc(f, p->patient_id);
    fputs("</h2>\n", f);
    if (flags & MMDX_PRED_OOD)
        fprintf(f, "<p class=\"warn\">%s</p>\n", T(w, S_OOD));
    if (flags & MMDX_PRED_NO_EVIDENCE)
        fprintf(f, "<p class=\"warn\">%s</p>\n", T(w, S_NO_EVIDENCE));
    if (flags & MMDX_PRED_IMPUTED)
        fprintf(f, "<p class=\"info\">%s</p>\n", T(w, S_IMPUTED));
    if (p->n_preds > 0) {
        fprintf(f, "<h3>%s</h3>\n<p class=\"help\">%s</p>\n", T(w, S_POSTERIOR), T(w, S_POSTERIOR_HELP));
        posterior_svg(w, p);
        fprintf(f, "<h3>%s</h3>\n<p class=\"help\">%s</p>\n", T(w, S_CONTRIB), T(w, S_CONTRIB_HELP));
        for (size_t t = 0; t < p->n_preds; t++) {
            const mmdx_pred_t *pr = p->preds[t];
            size_t k = mmdx_pred_n_classes(pr) <= 64 && writer_report_classes(pr, idx) == 1 ? idx[0]
                                                                                              : mmdx_pred_best_class(pr);
            fputs("<h4>", f);
            esc(f, mmdx_pred_target_name(pr));
            if (strcmp(mmdx_pred_class_name(pr, k), "1") != 0) {
                fputs(" = ", f);
                esc(f, mmdx_pred_class_name(pr, k));
            }
            fputs("</h4>\n", f);
            contribution_svg(w, pr, k);
            size_t nt = mmdx_pred_n_top(pr, k);
            if (nt > 0) {
                fprintf(f, "<p class=\"help\">%s:</p>\n<ul class=\"top-features\">\n", T(w, S_TOP));
                for (size_t r = 0; r < nt; r++) {
                    double c = 0;
                    const char *id = mmdx_pred_top_feature(pr, k, r, &c);
                    const char *d = writer_feature_label(w, id);
                    fputs("<li>", f);
                    esc(f, d);
                    if (d != id) {
                        fputs(" <code>", f);
                        esc(f, id);
                        fputs("</code>", f);
                    }
                    fprintf(f, ": %+.3f</li>\n", c);
                }
                fputs("</ul>\n", f);
            }
            if (t == 0 && mmdx_pred_n_missing(pr) > 0) {
                fprintf(f, "<p class=\"help\">%s: ", T(w, S_MISSING_FEATURES));
                for (size_t r = 0; r < mmdx_pred_n_missing(pr); r++) {
                    if (r)
                        fputs(", ", f);
                    esc(f, writer_feature_label(w, mmdx_pred_missing_feature(pr, r)));
                }
                fputs("</p>\n", f);
            }
        }
    }
    advice_html(w, p->advice);
    if (p->n_notes > 0) {
        fprintf(f, "<h3>%s</h3>\n<ul class=\"notes\">\n", T(w, S_NOTES));
        for (size_t k = 0; k < p->n_notes; k++) {
            fputs("<li>", f);
            esc(f, p->notes[k]);
            fputs("</li>\n", f);
        }
        fputs("</ul>\n", f);
    }
    if (p->n_basis > 0)
        writer_unrepresented(w, p->patient_id, "basis references: the html report does not list them");
    fputs("</section>\n", f);
    return MMDX_OK;
}

static int html_end(mmdx_writer_t *w, mmdx_error_t *err)
{
    FILE *f = w->f;
    html_state_t *st = w->state;
    (void)err;
    fputs("</main>\n", f);
    if (st->n_rows > 0) {
        fprintf(f, "<nav class=\"overview\">\n<h2>%s</h2>\n<p class=\"help\">%s</p>\n", T(w, S_SUMMARY),
                T(w, S_SUMMARY_HELP));
        if (st->n_rows > SUMMARY_MAX)
            fprintf(f, "<p class=\"help\">%s</p>\n", T(w, S_SUMMARY_CUT));
        fprintf(f, "<table class=\"overview\">\n<tr><th>%s</th>%s<th>%s</th></tr>\n%s</table>\n</nav>\n",
                T(w, S_PATIENT), st->targets ? st->targets : "", T(w, S_FLAGS), st->rows ? st->rows : "");
    }
    fprintf(f, "<footer>\n<p>%zu %s.</p>\n<p class=\"disclaimer\" role=\"note\">", w->n_patients,
            T(w, S_PATIENTS));
    esc(f, writer_disclaimer(w));
    fputs("</p>\n</footer>\n</body>\n</html>\n", f);
    return MMDX_OK;
}

static void html_release(mmdx_writer_t *w)
{
    html_state_t *st = w->state;
    if (st == NULL)
        return;
    mmdx_free(st->rows);
    mmdx_free(st->targets);
    mmdx_free(st);
    w->state = NULL;
}

const writer_ops_t mmdx_writer_html_ops = {html_begin, html_patient, html_end, html_release};
