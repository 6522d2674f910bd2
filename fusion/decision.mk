# fusion/: the decision layer (knowledge base, suggestions, triage, next best test).
# Included from fusion/local.mk.
mmdxinclude_HEADERS += libmmdx/mmdx/kb.h libmmdx/mmdx/decision.h libmmdx/mmdx/advise.h
libmmdx_libmmdx_a_SOURCES += fusion/kb.c fusion/kb_internal.h fusion/suggest.c fusion/triage.c \
	fusion/nextbest.c fusion/facts.c fusion/advice_io.c fusion/advise.c fusion/decision_internal.h

# the KB schema and the shipped KB, installed under $(mmdxdatadir)/kb
mmdxkbdir = $(mmdxdatadir)/kb
dist_mmdxkb_DATA = data/kb/kb.rng data/kb/default.xml

check_PROGRAMS += tests/unit/check_kb tests/unit/check_decision
TESTS += tests/unit/check_kb tests/unit/check_decision
tests_unit_check_kb_SOURCES = tests/unit/check_kb.c
tests_unit_check_kb_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_kb_LDADD = $(MMDX_LIBS) $(CHECK_LIBS)
tests_unit_check_decision_SOURCES = tests/unit/check_decision.c
tests_unit_check_decision_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_decision_LDADD = $(MMDX_LIBS) $(CHECK_LIBS)
EXTRA_DIST += docs/kb.md docs/decision.md

# fuzzing the KB loader: the corpus is replayed by make check; `kb` belongs in
# MMDX_FUZZ_TARGETS (tests/local.mk) for make fuzz-smoke
check_PROGRAMS += tests/fuzz/replay_kb
tests_fuzz_replay_kb_SOURCES = tests/fuzz/fuzz_kb.c tests/fuzz/replay_main.c tests/fuzz/fuzz_common.h
tests_fuzz_replay_kb_LDADD = $(MMDX_LIBS)
TESTS += tests/fuzz/kb_replay.sh
EXTRA_DIST += tests/fuzz/kb_replay.sh tests/fuzz/corpus/kb
if FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_kb
tests_fuzz_fuzz_kb_SOURCES = tests/fuzz/fuzz_kb.c
tests_fuzz_fuzz_kb_LDADD = $(MMDX_LIBS)
tests_fuzz_fuzz_kb_LDFLAGS = -fsanitize=fuzzer
endif

# benchmark (make bench)
EXTRA_PROGRAMS += tests/bench/bench_decision
MMDX_BENCH_PROGS += tests/bench/bench_decision
tests_bench_bench_decision_SOURCES = tests/bench/bench_decision.c
tests_bench_bench_decision_LDADD = $(MMDX_LIBS)

# the driver's `mmdx kb check` (examples/mmdx/commands.def has its line)
examples_mmdx_mmdx_SOURCES += examples/mmdx/cmd_kb.c examples/mmdx/cmd_suggest.c

check_PROGRAMS += tests/unit/check_advise
TESTS += tests/unit/check_advise
tests_unit_check_advise_SOURCES = tests/unit/check_advise.c
tests_unit_check_advise_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_advise_LDADD = $(MMDX_LIBS) $(CHECK_LIBS)

# end-to-end: mmdx suggest and mmdx kb check on the demo cohort
check_PROGRAMS += tests/e2e/decision_fit
tests_e2e_decision_fit_SOURCES = tests/e2e/decision_fit.c
tests_e2e_decision_fit_LDADD = $(MMDX_LIBS)
TESTS += tests/e2e/decision_suggest.sh
EXTRA_DIST += tests/e2e/decision_suggest.sh
