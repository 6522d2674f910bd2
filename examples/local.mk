# examples: the mmdx driver and the example modality plugin

# --- the driver: one cmd_<name>.c per line of examples/mmdx/commands.def
bin_PROGRAMS += examples/mmdx/mmdx
examples_mmdx_mmdx_SOURCES += examples/mmdx/main.c examples/mmdx/cli.c examples/mmdx/cli.h \
	examples/mmdx/commands.h examples/mmdx/cmd_version.c examples/mmdx/cmd_plugins.c \
	examples/mmdx/cmd_ingest.c
examples_mmdx_mmdx_LDADD = $(MMDX_LIBS)
EXTRA_DIST += examples/mmdx/commands.def examples/mmdx/demo-inputs.sh

# --- the example plugin (a third-party modality): built here for the tests, and built
# outside the tree against the installed headers by tests/e2e/install.sh with its own
# Makefile. -rpath makes libtool build a real module although it is never installed.
check_LTLIBRARIES = examples/plugin/mmdx_example.la
examples_plugin_mmdx_example_la_SOURCES = examples/plugin/mmdx_example.c
examples_plugin_mmdx_example_la_CFLAGS = $(MMDX_WARN_CFLAGS) -fvisibility=hidden
examples_plugin_mmdx_example_la_LDFLAGS = $(mmdx_plugin_ldflags) -rpath /nowhere
EXTRA_DIST += examples/plugin/Makefile examples/plugin/README.md examples/plugin/example.tsv

# --- tests of the plugin host: check_plugin, and modules broken on purpose (one source,
# one defect each) that must be refused with an error naming the file
check_PROGRAMS += tests/unit/check_plugin
TESTS += tests/unit/check_plugin
tests_unit_check_plugin_SOURCES = tests/unit/check_plugin.c
tests_unit_check_plugin_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_plugin_LDADD = $(MMDX_LIBS) $(CHECK_LIBS)
check_LTLIBRARIES += tests/unit/mmdx_badabi.la tests/unit/mmdx_badinit.la tests/unit/mmdx_nosym.la \
	tests/unit/mmdx_misnamed.la tests/unit/mmdx_noread.la
mmdx_broken_ldflags = $(mmdx_plugin_ldflags) -rpath /nowhere
tests_unit_mmdx_badabi_la_SOURCES = tests/unit/plugin_broken.c
tests_unit_mmdx_badabi_la_CPPFLAGS = $(AM_CPPFLAGS) -DBROKEN_ABI
tests_unit_mmdx_badabi_la_LDFLAGS = $(mmdx_broken_ldflags)
tests_unit_mmdx_badinit_la_SOURCES = tests/unit/plugin_broken.c
tests_unit_mmdx_badinit_la_CPPFLAGS = $(AM_CPPFLAGS) -DBROKEN_INIT
tests_unit_mmdx_badinit_la_LDFLAGS = $(mmdx_broken_ldflags)
tests_unit_mmdx_nosym_la_SOURCES = tests/unit/plugin_broken.c
tests_unit_mmdx_nosym_la_CPPFLAGS = $(AM_CPPFLAGS) -DBROKEN_SYMBOL
tests_unit_mmdx_nosym_la_LDFLAGS = $(mmdx_broken_ldflags)
tests_unit_mmdx_misnamed_la_SOURCES = tests/unit/plugin_broken.c
tests_unit_mmdx_misnamed_la_CPPFLAGS = $(AM_CPPFLAGS) -DBROKEN_NAME
tests_unit_mmdx_misnamed_la_LDFLAGS = $(mmdx_broken_ldflags)
tests_unit_mmdx_noread_la_SOURCES = tests/unit/plugin_broken.c
tests_unit_mmdx_noread_la_CPPFLAGS = $(AM_CPPFLAGS) -DBROKEN_OPS
tests_unit_mmdx_noread_la_LDFLAGS = $(mmdx_broken_ldflags)
# a module that appends to its input while reading it (tests/e2e/io_faults.sh); in its
# own directory, apart from the broken ones check_plugin counts
check_LTLIBRARIES += tests/e2e/mmdx_changing.la
tests_e2e_mmdx_changing_la_SOURCES = tests/e2e/plugin_changing.c
tests_e2e_mmdx_changing_la_CFLAGS = $(MMDX_WARN_CFLAGS) -fvisibility=hidden
tests_e2e_mmdx_changing_la_LDFLAGS = $(mmdx_broken_ldflags)

# --- make demo: the bundled demo cohort end to end, into demo-out/. Each step is a
# target listed in DEMO_STEPS; a later step (train, diagnose) appends one name there and
# its rule below (depending on the step before it, so the steps run in order).
DEMO_DIR = demo-out
DEMO_IN = data/demo/generated
# the tree's own data tables (units, terms, KB), not an installed copy
DEMO_ENV = MMDX_DATA_DIR='$(abs_top_srcdir)/data'
DEMO_MMDX = $(DEMO_ENV) examples/mmdx/mmdx$(EXEEXT)
DEMO_INPUTS = $(DEMO_ENV) $(SHELL) $(srcdir)/examples/mmdx/demo-inputs.sh examples/mmdx/mmdx$(EXEEXT)
DEMO_STEPS = demo-about demo-ingest
DEMO_STEPS += demo-train demo-diagnose demo-validate
demo: $(DEMO_STEPS)
	@echo "demo: done; results are in $(abs_top_builddir)/$(DEMO_DIR)/"
	@ls -l $(DEMO_DIR)
demo-about: examples/mmdx/mmdx$(EXEEXT)
	$(DEMO_MMDX) version
	$(DEMO_MMDX) plugins
demo-ingest: demo-about $(DEMO_STAMP) examples/mmdx/mmdx$(EXEEXT)
	@mkdir -p $(DEMO_DIR)
	@for set in train test; do \
	  inputs=$$($(DEMO_INPUTS) $(DEMO_IN)/$$set) || exit 2; \
	  echo "mmdx ingest$$inputs --labels $(DEMO_IN)/$$set/labels.tsv -o $(DEMO_DIR)/$$set.cohort.h5"; \
	  $(DEMO_MMDX) ingest $$inputs --labels $(DEMO_IN)/$$set/labels.tsv \
	    --rejects $(DEMO_DIR)/$$set.rejects.tsv -o $(DEMO_DIR)/$$set.cohort.h5; \
	  rc=$$?; test $$rc -le 1 || exit $$rc; \
	  test $$rc -eq 0 || echo "demo: some records were rejected (as designed): $(DEMO_DIR)/$$set.rejects.tsv"; \
	done
demo-train: demo-ingest
	$(DEMO_MMDX) train --cohort $(DEMO_DIR)/train.cohort.h5 -o $(DEMO_DIR)/model.h5
# the TSV here; every other format (and the KB's advice) is fusion/writer.mk's demo-formats
demo-diagnose: demo-train
	$(DEMO_MMDX) diagnose --cohort $(DEMO_DIR)/test.cohort.h5 --model $(DEMO_DIR)/model.h5 \
	  -o $(DEMO_DIR)/test.diagnose.tsv
	@echo "demo: posteriors per patient and target: $(DEMO_DIR)/test.diagnose.tsv"
demo-validate: demo-diagnose
	$(DEMO_MMDX) validate --cohort $(DEMO_DIR)/train.cohort.h5 --folds 5 --seed 1 -o $(DEMO_DIR)/train.cv-metrics.tsv
clean-local: clean-demo
clean-demo:
	rm -rf $(DEMO_DIR)
.PHONY: demo $(DEMO_STEPS) clean-demo

# --- end-to-end tests of the driver and of the installation
TESTS += tests/e2e/driver_usage.sh tests/e2e/driver_ingest.sh tests/e2e/driver_fixes.sh tests/e2e/install.sh tests/e2e/docs_links.sh
EXTRA_DIST += tests/e2e/driver_usage.sh tests/e2e/driver_ingest.sh tests/e2e/driver_fixes.sh tests/e2e/install.sh tests/e2e/docs_links.sh

# the teaching programs (their own fragment)
include examples/teaching.mk
