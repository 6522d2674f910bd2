# fusion: Bayesian fusion models (build rules; fragment included by the top Makefile.am)
mmdxinclude_HEADERS += libmmdx/mmdx/model.h libmmdx/mmdx/pred.h libmmdx/mmdx/metrics.h
libmmdx_libmmdx_a_SOURCES += fusion/logistic.c fusion/logistic.h fusion/gauss.c fusion/gauss.h \
	fusion/model.c fusion/model_internal.h fusion/train.c fusion/predict.c fusion/metrics.c fusion/model_file.c

check_PROGRAMS += tests/unit/check_fusion
TESTS += tests/unit/check_fusion
tests_unit_check_fusion_SOURCES = tests/unit/check_fusion.c
tests_unit_check_fusion_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_fusion_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fusion
tests_unit_check_fusion_LDADD = $(MMDX_LIBS) $(CHECK_LIBS)
EXTRA_DIST += tests/data/wdbc_folds.tsv tests/data/wdbc_folds.py
# fusion: build rules (fragment included by the top Makefile.am)
include fusion/decision.mk
include fusion/writer.mk
