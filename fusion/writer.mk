# fusion/: writers of diagnosis results (TSV, JSON Lines, FHIR R4 XML, HTML report).
# Included from fusion/local.mk.
mmdxinclude_HEADERS += libmmdx/mmdx/writer.h
libmmdx_libmmdx_a_SOURCES += fusion/writer.c fusion/writer_internal.h fusion/writer_tsv.c \
	fusion/writer_jsonl.c fusion/writer_fhir.c fusion/writer_html.c

check_PROGRAMS += tests/unit/check_writer
TESTS += tests/unit/check_writer
tests_unit_check_writer_SOURCES = tests/unit/check_writer.c
tests_unit_check_writer_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_writer_LDADD = $(MMDX_LIBS) $(CHECK_LIBS)
EXTRA_DIST += tests/data/fhir_riskassessment.rng docs/output.md

# the HTML report in headless Chromium (skipped without chromium or without diagnose --format html)
TESTS += tests/e2e/html_render.sh
EXTRA_DIST += tests/e2e/html_render.sh docs/img/report.png

# mmdx diagnose writes through the writers (examples/mmdx/diagnose_report.c)
examples_mmdx_mmdx_SOURCES += examples/mmdx/diagnose_report.c examples/mmdx/diagnose_report.h
