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
EXTRA_DIST += tests/e2e/html_render.sh docs/img/report.png docs/img/report-overview.png

# mmdx diagnose in every format through the driver (uses tests/e2e/fusion_cohort)
TESTS += tests/e2e/diagnose_output.sh
EXTRA_DIST += tests/e2e/diagnose_output.sh

# mmdx diagnose writes through the writers (examples/mmdx/diagnose_report.c)
examples_mmdx_mmdx_SOURCES += examples/mmdx/diagnose_report.c examples/mmdx/diagnose_report.h

# make demo, continued (examples/local.mk ingests, trains, diagnoses into TSV and HTML and
# validates): the held-out demo patients in every output format, with the KB's advice.
demo: demo-formats
demo-formats: demo-diagnose
	$(DEMO_MMDX) diagnose -q --cohort $(DEMO_DIR)/test.cohort.h5 --model $(DEMO_DIR)/model.h5 \
	  --kb $(srcdir)/data/kb/default.xml --format tsv --advice $(DEMO_DIR)/diagnosis.advice.tsv \
	  -o $(DEMO_DIR)/diagnosis.tsv
	$(DEMO_MMDX) diagnose -q --cohort $(DEMO_DIR)/test.cohort.h5 --model $(DEMO_DIR)/model.h5 \
	  --kb $(srcdir)/data/kb/default.xml --format jsonl -o $(DEMO_DIR)/diagnosis.jsonl
	$(DEMO_MMDX) diagnose -q --cohort $(DEMO_DIR)/test.cohort.h5 --model $(DEMO_DIR)/model.h5 \
	  --kb $(srcdir)/data/kb/default.xml --format fhir --title mmdx-demo -o $(DEMO_DIR)/diagnosis.fhir.xml
	$(DEMO_MMDX) diagnose -q --cohort $(DEMO_DIR)/test.cohort.h5 --model $(DEMO_DIR)/model.h5 \
	  --kb $(srcdir)/data/kb/default.xml --format html --title "libmmdx demo report" -o $(DEMO_DIR)/report.html
	$(DEMO_MMDX) diagnose -q --cohort $(DEMO_DIR)/test.cohort.h5 --model $(DEMO_DIR)/model.h5 \
	  --kb $(srcdir)/data/kb/default.xml --format html --lang ko --title "libmmdx 데모 보고서" \
	  -o $(DEMO_DIR)/report-ko.html
	@echo "demo: every format (docs/output.md): $(DEMO_DIR)/diagnosis.tsv (+ .advice.tsv), diagnosis.jsonl," \
	  "diagnosis.fhir.xml, report.html (English), report-ko.html (Korean)"
.PHONY: demo-formats

# benchmark of the writers (make bench)
EXTRA_PROGRAMS += tests/bench/bench_writer
MMDX_BENCH_PROGS += tests/bench/bench_writer
tests_bench_bench_writer_SOURCES = tests/bench/bench_writer.c
tests_bench_bench_writer_LDADD = $(MMDX_LIBS)
