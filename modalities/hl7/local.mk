# modalities/hl7: the laboratory modality (HL7 XML: FHIR, v2.xml, C-CDA) and the term
# dictionary API it uses (libmmdx/terms.c, public header mmdx/terms.h).
MMDX_HL7_SOURCES = modalities/hl7/hl7.c modalities/hl7/hl7.h modalities/hl7/hl7_fhir.c \
	modalities/hl7/hl7_v2.c modalities/hl7/hl7_cda.c modalities/hl7/hl7_units.c \
	modalities/hl7/hl7_clinical.c

# public term dictionary API (built into libmmdx.a)
mmdxinclude_HEADERS += libmmdx/mmdx/terms.h
libmmdx_libmmdx_a_SOURCES += libmmdx/terms.c libmmdx/terms_internal.h

# built-in: the same sources in libmmdx.a
libmmdx_libmmdx_a_SOURCES += $(MMDX_HL7_SOURCES)
libmmdx_libmmdx_a_CPPFLAGS += -DMMDX_BUILTIN_HL7=1

# loadable plugin: never links against libmmdx; carries its own copy of the term code
plugin_LTLIBRARIES += modalities/hl7/mmdx_hl7.la
modalities_hl7_mmdx_hl7_la_SOURCES = $(MMDX_HL7_SOURCES) libmmdx/terms.c libmmdx/terms_internal.h
modalities_hl7_mmdx_hl7_la_CPPFLAGS = $(AM_CPPFLAGS) -DMMDX_TERMS_PLUGIN=1
modalities_hl7_mmdx_hl7_la_CFLAGS = $(AM_CFLAGS) $(LIBXML_CFLAGS) -fvisibility=hidden
modalities_hl7_mmdx_hl7_la_LDFLAGS = $(mmdx_plugin_ldflags) -export-symbols-regex '^mmdx_modality_hl7_get_desc$$'
modalities_hl7_mmdx_hl7_la_LIBADD = $(LIBXML_LIBS) -lm

# the unit table and term dictionary
dist_mmdxdata_DATA += data/units.tsv data/terms.tsv
EXTRA_DIST += data/README-labs.md docs/formats/labs.md

# tests
check_PROGRAMS += tests/unit/check_labs
TESTS += tests/unit/check_labs
tests_unit_check_labs_SOURCES = tests/unit/check_labs.c
tests_unit_check_labs_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_labs_LDADD = $(MMDX_LIBS) $(CHECK_LIBS)

# benchmark (make bench): generates its inputs at run time
EXTRA_PROGRAMS += tests/bench/bench_labs
MMDX_BENCH_PROGS += tests/bench/bench_labs
tests_bench_bench_labs_SOURCES = tests/bench/bench_labs.c
tests_bench_bench_labs_LDADD = $(MMDX_LIBS)
CLEANFILES += tests/bench/bench_labs$(EXEEXT)
