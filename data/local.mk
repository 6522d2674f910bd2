# data/: the project's own tables, and the demo cohort generator
noinst_PROGRAMS += data/demo/mmdx-demo-gen
data_demo_mmdx_demo_gen_SOURCES = data/demo/generate.c
data_demo_mmdx_demo_gen_CFLAGS = $(AM_CFLAGS) $(HDF5_CFLAGS)
data_demo_mmdx_demo_gen_LDADD = $(HDF5_LIBS) -lm

# the demo cohort is made by make, never committed
demo-data: data/demo/mmdx-demo-gen
	rm -rf data/demo/generated.tmp
	data/demo/mmdx-demo-gen data/demo/generated.tmp
	rm -rf data/demo/generated && mv data/demo/generated.tmp data/demo/generated
clean-local: clean-demo-data
clean-demo-data:
	rm -rf data/demo/generated data/demo/generated.tmp
.PHONY: demo-data clean-demo-data
