# data/: the project's own tables, and the demo cohort generator
noinst_PROGRAMS += data/demo/mmdx-demo-gen
data_demo_mmdx_demo_gen_SOURCES = data/demo/generate.c
# the PGx tables whose every defining position the demo VCF genotypes (--pgx overrides)
data_demo_mmdx_demo_gen_CPPFLAGS = $(AM_CPPFLAGS) -DMMDX_DEMO_PGX_DIR='"$(abs_top_srcdir)/data/pgx"'
data_demo_mmdx_demo_gen_CFLAGS = $(AM_CFLAGS) $(HDF5_CFLAGS)
data_demo_mmdx_demo_gen_LDADD = $(HDF5_LIBS) -lm
EXTRA_DIST += data/demo/README.md

# The demo cohort is made by make (tests use it too), never committed.
DEMO_STAMP = data/demo/generated/.stamp
$(DEMO_STAMP): data/demo/mmdx-demo-gen$(EXEEXT) $(srcdir)/data/pgx/pgx_positions.tsv $(srcdir)/data/pgx/pgx_alleles.tsv
	@rm -rf data/demo/generated.tmp data/demo/generated
	$(AM_V_GEN)data/demo/mmdx-demo-gen$(EXEEXT) data/demo/generated.tmp
	@mv data/demo/generated.tmp data/demo/generated && touch $@
check_DATA = $(DEMO_STAMP)
demo-data: $(DEMO_STAMP)
clean-local: clean-demo-data
clean-demo-data:
	rm -rf data/demo/generated data/demo/generated.tmp
.PHONY: demo-data clean-demo-data

# the demo's PGx genotypes and the KB advice they drive (data/demo/README.md)
TESTS += tests/e2e/demo_pgx.sh
EXTRA_DIST += tests/e2e/demo_pgx.sh
