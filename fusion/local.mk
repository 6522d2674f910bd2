# fusion: Bayesian fusion models (build rules; fragment included by the top Makefile.am)
mmdxinclude_HEADERS += libmmdx/mmdx/model.h libmmdx/mmdx/pred.h libmmdx/mmdx/metrics.h
libmmdx_libmmdx_a_SOURCES += fusion/logistic.c fusion/logistic.h fusion/gauss.c fusion/gauss.h \
	fusion/model.c fusion/model_internal.h fusion/train.c fusion/predict.c fusion/metrics.c fusion/model_file.c \
	fusion/model_reader.c

check_PROGRAMS += tests/unit/check_fusion
TESTS += tests/unit/check_fusion
tests_unit_check_fusion_SOURCES = tests/unit/check_fusion.c
tests_unit_check_fusion_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_fusion_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fusion
tests_unit_check_fusion_LDADD = $(MMDX_LIBS) $(CHECK_LIBS)
EXTRA_DIST += tests/data/wdbc_folds.tsv tests/data/wdbc_folds.py

# feature transforms of the model (LOGIT): training, prediction, model file, collector
check_PROGRAMS += tests/unit/check_transform
TESTS += tests/unit/check_transform
tests_unit_check_transform_SOURCES = tests/unit/check_transform.c
tests_unit_check_transform_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_transform_LDADD = $(MMDX_LIBS) $(CHECK_LIBS)

# driver commands of the fusion layer
examples_mmdx_mmdx_SOURCES += examples/mmdx/fusion_cli.c examples/mmdx/fusion_cli.h \
	examples/mmdx/cmd_train.c examples/mmdx/cmd_diagnose.c examples/mmdx/cmd_validate.c \
	examples/mmdx/cmd_merge.c examples/mmdx/cmd_federate.c

# end-to-end test of the fusion commands on a synthetic cohort file
check_PROGRAMS += tests/e2e/fusion_cohort
tests_e2e_fusion_cohort_SOURCES = tests/e2e/fusion_cohort.c
tests_e2e_fusion_cohort_LDADD = $(MMDX_LIBS)
TESTS += tests/e2e/driver_fusion.sh
EXTRA_DIST += tests/e2e/driver_fusion.sh

# the decision layer (its own fragment)
include fusion/decision.mk

# the teaching example: train and diagnose with the library alone
noinst_PROGRAMS += examples/train_diagnose
examples_train_diagnose_SOURCES = examples/train_diagnose.c
examples_train_diagnose_LDADD = $(MMDX_LIBS)

# benchmark (make bench): throughput against scikit-learn (tests/bench/bench_fusion_sklearn.py)
MMDX_BENCH_PROGS += tests/bench/bench_fusion
EXTRA_PROGRAMS += tests/bench/bench_fusion
tests_bench_bench_fusion_SOURCES = tests/bench/bench_fusion.c
tests_bench_bench_fusion_LDADD = $(MMDX_LIBS)
EXTRA_DIST += tests/bench/bench_fusion_sklearn.py
MMDX_BENCH_PROGS += tests/bench/bench_fusion_synthetic
EXTRA_PROGRAMS += tests/bench/bench_fusion_synthetic
tests_bench_bench_fusion_synthetic_SOURCES = tests/bench/bench_fusion_synthetic.c
tests_bench_bench_fusion_synthetic_LDADD = $(MMDX_LIBS)
EXTRA_DIST += docs/fusion.md docs/formats/model-file.md

# the writers of diagnosis results (their own fragment)
include fusion/writer.mk

# numerical edge cases of training and prediction (issue 9)
check_PROGRAMS += tests/unit/check_numeric
TESTS += tests/unit/check_numeric
tests_unit_check_numeric_SOURCES = tests/unit/check_numeric.c tests/unit/testutil.h
tests_unit_check_numeric_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_numeric_LDADD = $(MMDX_LIBS) $(CHECK_LIBS)
TESTS += tests/e2e/numeric_edge.sh
EXTRA_DIST += tests/e2e/numeric_edge.sh
# the model's allocating entry points under the fail-the-Nth-allocation loop
check_PROGRAMS += tests/unit/check_model_failalloc
TESTS += tests/unit/check_model_failalloc
tests_unit_check_model_failalloc_SOURCES = tests/unit/check_model_failalloc.c tests/unit/failalloc.c \
	tests/unit/failalloc.h tests/unit/testutil.h
tests_unit_check_model_failalloc_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_model_failalloc_LDADD = $(MMDX_LIBS) $(CHECK_LIBS)
# training with the context's threads: the same model for any thread count
check_PROGRAMS += tests/unit/check_train_threads
TESTS += tests/unit/check_train_threads
tests_unit_check_train_threads_SOURCES = tests/unit/check_train_threads.c tests/unit/testutil.h
tests_unit_check_train_threads_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_train_threads_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fusion
tests_unit_check_train_threads_LDADD = $(MMDX_LIBS) $(CHECK_LIBS)
