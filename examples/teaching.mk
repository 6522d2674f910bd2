# examples/: the teaching programs, one per use case (docs/guide.md "Programs using the
# library"); each is run on the demo cohort by tests/e2e/examples.sh. train_diagnose
# (diagnose with the API) is built by fusion/local.mk; the plugin example by local.mk.
noinst_PROGRAMS += examples/ehr_batch/ehr_batch examples/three_sites/three_sites \
	examples/pgx_report/pgx_report
examples_ehr_batch_ehr_batch_SOURCES = examples/ehr_batch/ehr_batch.c
examples_ehr_batch_ehr_batch_LDADD = $(MMDX_LIBS)
examples_three_sites_three_sites_SOURCES = examples/three_sites/three_sites.c
examples_three_sites_three_sites_LDADD = $(MMDX_LIBS)
examples_pgx_report_pgx_report_SOURCES = examples/pgx_report/pgx_report.c
examples_pgx_report_pgx_report_LDADD = $(MMDX_LIBS)

TESTS += tests/e2e/examples.sh
EXTRA_DIST += tests/e2e/examples.sh examples/README.md
