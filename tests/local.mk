# tests/: fuzz harnesses (tests/fuzz), replayed by `make check`; run by `make fuzz-smoke`
# in a clang build (CC=clang ./configure --enable-fuzzing).
# one libFuzzer target per input format (fhir, v2xml, ccda share the hl7 adapter and
# bcf the vcf adapter, with their own seeds and dictionaries); kb is built in
# fusion/decision.mk
MMDX_FUZZ_TARGETS = labels cohort hdf5 fhir v2xml ccda vcf bcf panel pgx model kb

check_PROGRAMS += tests/fuzz/replay_labels tests/fuzz/replay_cohort tests/fuzz/replay_hdf5 \
	tests/fuzz/replay_hl7 tests/fuzz/replay_vcf tests/fuzz/replay_panel tests/fuzz/replay_pgx \
	tests/fuzz/replay_model
tests_fuzz_replay_panel_SOURCES = tests/fuzz/fuzz_panel.c tests/fuzz/replay_main.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_panel_LDADD = $(MMDX_LIBS)
tests_fuzz_replay_pgx_SOURCES = tests/fuzz/fuzz_pgx.c tests/fuzz/replay_main.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_pgx_LDADD = $(MMDX_LIBS)
tests_fuzz_replay_model_SOURCES = tests/fuzz/fuzz_model.c tests/fuzz/replay_main.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_model_LDADD = $(MMDX_LIBS) -lm
tests_fuzz_replay_labels_SOURCES = tests/fuzz/fuzz_labels.c tests/fuzz/replay_main.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_labels_LDADD = $(MMDX_LIBS)
tests_fuzz_replay_cohort_SOURCES = tests/fuzz/fuzz_cohort.c tests/fuzz/replay_main.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_cohort_LDADD = $(MMDX_LIBS)
tests_fuzz_replay_hdf5_SOURCES = tests/fuzz/fuzz_source.c tests/fuzz/replay_main.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_hdf5_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_MODALITY=\"hdf5\" -DFUZZ_HDF5_IMAGE=1
tests_fuzz_replay_hdf5_LDADD = $(MMDX_LIBS)
tests_fuzz_replay_hl7_SOURCES = tests/fuzz/fuzz_source.c tests/fuzz/replay_main.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_hl7_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_MODALITY=\"hl7\"
tests_fuzz_replay_hl7_LDADD = $(MMDX_LIBS)
tests_fuzz_replay_vcf_SOURCES = tests/fuzz/fuzz_source.c tests/fuzz/replay_main.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_vcf_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_MODALITY=\"vcf\"
tests_fuzz_replay_vcf_LDADD = $(MMDX_LIBS)
TESTS += tests/fuzz/replay.sh
EXTRA_DIST += tests/fuzz/replay.sh tests/fuzz/seeds.sh tests/fuzz/README.md tests/fuzz/corpus tests/fuzz/dict

if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_labels tests/fuzz/fuzz_cohort tests/fuzz/fuzz_hdf5 \
	tests/fuzz/fuzz_hl7 tests/fuzz/fuzz_fhir tests/fuzz/fuzz_v2xml tests/fuzz/fuzz_ccda \
	tests/fuzz/fuzz_vcf tests/fuzz/fuzz_bcf tests/fuzz/fuzz_panel tests/fuzz/fuzz_pgx tests/fuzz/fuzz_model
tests_fuzz_fuzz_labels_SOURCES = tests/fuzz/fuzz_labels.c
tests_fuzz_fuzz_labels_LDADD = $(MMDX_LIBS)
tests_fuzz_fuzz_labels_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_cohort_SOURCES = tests/fuzz/fuzz_cohort.c
tests_fuzz_fuzz_cohort_LDADD = $(MMDX_LIBS)
tests_fuzz_fuzz_cohort_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_hdf5_SOURCES = tests/fuzz/fuzz_source.c
tests_fuzz_fuzz_hdf5_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_MODALITY=\"hdf5\" -DFUZZ_HDF5_IMAGE=1
tests_fuzz_fuzz_hdf5_LDADD = $(MMDX_LIBS)
tests_fuzz_fuzz_hdf5_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_hl7_SOURCES = tests/fuzz/fuzz_source.c
tests_fuzz_fuzz_hl7_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_MODALITY=\"hl7\"
tests_fuzz_fuzz_hl7_LDADD = $(MMDX_LIBS)
tests_fuzz_fuzz_hl7_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_fhir_SOURCES = tests/fuzz/fuzz_source.c
tests_fuzz_fuzz_fhir_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_MODALITY=\"hl7\"
tests_fuzz_fuzz_fhir_LDADD = $(MMDX_LIBS)
tests_fuzz_fuzz_fhir_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_v2xml_SOURCES = tests/fuzz/fuzz_source.c
tests_fuzz_fuzz_v2xml_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_MODALITY=\"hl7\"
tests_fuzz_fuzz_v2xml_LDADD = $(MMDX_LIBS)
tests_fuzz_fuzz_v2xml_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_ccda_SOURCES = tests/fuzz/fuzz_source.c
tests_fuzz_fuzz_ccda_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_MODALITY=\"hl7\"
tests_fuzz_fuzz_ccda_LDADD = $(MMDX_LIBS)
tests_fuzz_fuzz_ccda_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_vcf_SOURCES = tests/fuzz/fuzz_source.c
tests_fuzz_fuzz_vcf_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_MODALITY=\"vcf\"
tests_fuzz_fuzz_vcf_LDADD = $(MMDX_LIBS)
tests_fuzz_fuzz_vcf_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_bcf_SOURCES = tests/fuzz/fuzz_source.c
tests_fuzz_fuzz_bcf_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_MODALITY=\"vcf\"
tests_fuzz_fuzz_bcf_LDADD = $(MMDX_LIBS)
tests_fuzz_fuzz_bcf_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_panel_SOURCES = tests/fuzz/fuzz_panel.c
tests_fuzz_fuzz_panel_LDADD = $(MMDX_LIBS)
tests_fuzz_fuzz_panel_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_pgx_SOURCES = tests/fuzz/fuzz_pgx.c
tests_fuzz_fuzz_pgx_LDADD = $(MMDX_LIBS)
tests_fuzz_fuzz_pgx_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_model_SOURCES = tests/fuzz/fuzz_model.c
tests_fuzz_fuzz_model_LDADD = $(MMDX_LIBS) -lm
tests_fuzz_fuzz_model_LDFLAGS = -fsanitize=fuzzer
endif

FUZZ_SECONDS ?= 20
# The HDF5 formats: HDF5 1.10.8 itself crashes, hangs and leaks on damaged files within
# seconds (docs/hardening.md), so these run in fork mode past such inputs and their
# artifacts (kept in tests/fuzz/work/T/) do not fail fuzz-smoke; the committed seeds
# replayed by make check guard libmmdx's own code.
MMDX_FUZZ_HDF5_TARGETS = hdf5 cohort model
# Run every harness for FUZZ_SECONDS on the seeds (allocation and RSS caps on).
fuzz-smoke: $(noinst_PROGRAMS)
	@test -n "$(filter tests/fuzz/fuzz_%,$(noinst_PROGRAMS))" || { \
	  echo "fuzz-smoke: configure with CC=clang --enable-fuzzing first"; exit 2; }
	@set -e; for t in $(MMDX_FUZZ_TARGETS); do \
	  seeds=tests/fuzz/work/$$t/seeds; mkdir -p tests/fuzz/work/$$t/corpus $$seeds; \
	  rm -f tests/fuzz/work/$$t/smoke-*; \
	  MMDX_SRCDIR='$(abs_top_srcdir)' MMDX_DATA_DIR='$(abs_top_srcdir)/data' sh $(srcdir)/tests/fuzz/seeds.sh $$t $$seeds; \
	  dict=; test -f $(srcdir)/tests/fuzz/dict/$$t.dict && dict=-dict=$(srcdir)/tests/fuzz/dict/$$t.dict; \
	  echo "fuzz-smoke: $$t for $(FUZZ_SECONDS)s"; \
	  known=; case " $(MMDX_FUZZ_HDF5_TARGETS) " in *" $$t "*) known="-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -detect_leaks=0";; esac; \
	  MMDX_DATA_DIR='$(abs_top_srcdir)/data' tests/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	    -rss_limit_mb=2560 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 $$known $$dict \
	    -artifact_prefix=tests/fuzz/work/$$t/smoke- tests/fuzz/work/$$t/corpus $$seeds 2>&1 | \
	    grep -E 'stat::number_of_executed_units|cov:|ERROR|SUMMARY|Done' | tail -4; \
	  test -n "$$known" || test -z "$$(ls tests/fuzz/work/$$t/ | grep -E '^smoke-(crash|leak|timeout|oom)-')" || { \
	    echo "fuzz-smoke: $$t found a failing input in tests/fuzz/work/$$t/"; exit 1; }; \
	done
.PHONY: fuzz-smoke
clean-local: clean-fuzz-work
clean-fuzz-work:
	rm -rf tests/fuzz/work
.PHONY: clean-fuzz-work

# ---------------------------------------------------------------- core (libmmdx) unit tests
MMDX_CORE_CHECKS = tests/unit/check_ctx tests/unit/check_space tests/unit/check_cohort \
	tests/unit/check_labels tests/unit/check_outfile
check_PROGRAMS += tests/unit/check_ctx tests/unit/check_space tests/unit/check_cohort \
	tests/unit/check_labels tests/unit/check_outfile
TESTS += tests/unit/check_ctx tests/unit/check_space tests/unit/check_cohort \
	tests/unit/check_labels tests/unit/check_outfile
MMDX_CHECK_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
MMDX_CHECK_LDADD = $(MMDX_LIBS) $(CHECK_LIBS)
tests_unit_check_ctx_SOURCES = tests/unit/check_ctx.c
tests_unit_check_ctx_CFLAGS = $(MMDX_CHECK_CFLAGS)
tests_unit_check_ctx_LDADD = $(MMDX_CHECK_LDADD)
tests_unit_check_space_SOURCES = tests/unit/check_space.c
tests_unit_check_space_CFLAGS = $(MMDX_CHECK_CFLAGS)
tests_unit_check_space_LDADD = $(MMDX_CHECK_LDADD)
tests_unit_check_cohort_SOURCES = tests/unit/check_cohort.c
tests_unit_check_cohort_CFLAGS = $(MMDX_CHECK_CFLAGS)
tests_unit_check_cohort_LDADD = $(MMDX_CHECK_LDADD)
tests_unit_check_labels_SOURCES = tests/unit/check_labels.c tests/unit/testutil.h
tests_unit_check_labels_CFLAGS = $(MMDX_CHECK_CFLAGS)
tests_unit_check_labels_LDADD = $(MMDX_CHECK_LDADD)
tests_unit_check_outfile_SOURCES = tests/unit/check_outfile.c tests/unit/testutil.h
tests_unit_check_outfile_CFLAGS = $(MMDX_CHECK_CFLAGS)
tests_unit_check_outfile_LDADD = $(MMDX_CHECK_LDADD)
check_PROGRAMS += tests/unit/check_cohort_file
TESTS += tests/unit/check_cohort_file
tests_unit_check_cohort_file_SOURCES = tests/unit/check_cohort_file.c tests/unit/testutil.h
tests_unit_check_cohort_file_CFLAGS = $(MMDX_CHECK_CFLAGS)
tests_unit_check_cohort_file_LDADD = $(MMDX_CHECK_LDADD)
check_PROGRAMS += tests/unit/check_collect
TESTS += tests/unit/check_collect
tests_unit_check_collect_SOURCES = tests/unit/check_collect.c
tests_unit_check_collect_CFLAGS = $(MMDX_CHECK_CFLAGS)
tests_unit_check_collect_LDADD = $(MMDX_CHECK_LDADD)
check_PROGRAMS += tests/unit/check_failalloc
TESTS += tests/unit/check_failalloc
tests_unit_check_failalloc_SOURCES = tests/unit/check_failalloc.c tests/unit/failalloc.c tests/unit/failalloc.h \
	tests/unit/testutil.h
tests_unit_check_failalloc_CFLAGS = $(MMDX_CHECK_CFLAGS)
tests_unit_check_failalloc_LDADD = $(MMDX_CHECK_LDADD)
# seed inputs of the cohort-file harness, made at test time by the library itself
check_PROGRAMS += tests/fuzz/cohort_seeds
tests_fuzz_cohort_seeds_SOURCES = tests/fuzz/cohort_seeds.c
tests_fuzz_cohort_seeds_LDADD = $(MMDX_LIBS)
# every public header alone as C and C++; no unprefixed or undeclared exports
TESTS += tests/unit/check_headers.sh
EXTRA_DIST += tests/unit/check_headers.sh
AM_TESTS_ENVIRONMENT += CC='$(CC)'; export CC; CXX='$(CXX)'; export CXX;
# core benchmark (make bench): cohort file write/read throughput
EXTRA_PROGRAMS += tests/bench/bench_cohort
MMDX_BENCH_PROGS += tests/bench/bench_cohort
tests_bench_bench_cohort_SOURCES = tests/bench/bench_cohort.c
tests_bench_bench_cohort_LDADD = $(MMDX_LIBS)
CLEANFILES += tests/bench/bench_cohort$(EXEEXT)
check_PROGRAMS += tests/unit/check_collect_file
TESTS += tests/unit/check_collect_file
tests_unit_check_collect_file_SOURCES = tests/unit/check_collect_file.c tests/unit/failalloc.c tests/unit/failalloc.h
tests_unit_check_collect_file_CFLAGS = $(MMDX_CHECK_CFLAGS)
tests_unit_check_collect_file_LDADD = $(MMDX_CHECK_LDADD)

# ---------------------------------------------------------------- valgrind (hardening)
# `make check-valgrind`: every unit suite (tests/unit/check_*, all rooms) under valgrind
# memcheck with --leak-check=full; any error or leak fails. CK_FORK=no keeps each Check
# test in the process valgrind watches; MMDX_VALGRIND_JOBS suites at a time (2),
# MMDX_VALGRIND_SKIP names suites to leave out. Third-party noise: tests/valgrind.supp.
MMDX_VALGRIND = valgrind --leak-check=full --error-exitcode=1 --errors-for-leak-kinds=definite,possible \
	--suppressions=$(abs_top_srcdir)/tests/valgrind.supp --num-callers=30 --quiet
EXTRA_DIST += tests/valgrind.supp tests/valgrind.sh
check-valgrind: all $(check_PROGRAMS) $(check_LTLIBRARIES)
	@$(AM_TESTS_ENVIRONMENT) VALGRIND='$(MMDX_VALGRIND)' sh $(srcdir)/tests/valgrind.sh \
	  $(filter tests/unit/check_%,$(check_PROGRAMS))
.PHONY: check-valgrind
CLEANFILES += tests/unit/*.valgrind.log tests/unit/*.valgrind.out tests/unit/*.valgrind.res

# ---------------------------------------------------------------- hardening e2e
# I/O faults (disk full, unwritable outputs, truncated inputs) and no data loss on a
# 10,000-patient batch with corrupted records (plus determinism across runs and threads)
TESTS += tests/e2e/io_faults.sh tests/e2e/no_data_loss.sh
EXTRA_DIST += tests/e2e/io_faults.sh tests/e2e/no_data_loss.sh tests/e2e/no_data_loss.py
EXTRA_DIST += SECURITY.md
