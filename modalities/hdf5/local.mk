# modalities/hdf5: the imaging-feature modality (build rules, included by the top Makefile.am)
# The adapter builds twice from the same source: as the loadable module mmdx_hdf5.so and
# into libmmdx.a as a built-in (registered by libmmdx/builtins.c under MMDX_BUILTIN_HDF5).
MMDX_HDF5_ADAPTER_SOURCES = modalities/hdf5/imaging_read.c modalities/hdf5/imaging_image.h modalities/hdf5/hdf5_errstack.c \
	modalities/hdf5/hdf5_errstack.h

plugin_LTLIBRARIES += modalities/hdf5/mmdx_hdf5.la
modalities_hdf5_mmdx_hdf5_la_SOURCES = $(MMDX_HDF5_ADAPTER_SOURCES) libmmdx/h5file.c libmmdx/h5file.h
modalities_hdf5_mmdx_hdf5_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
modalities_hdf5_mmdx_hdf5_la_LDFLAGS = $(mmdx_plugin_ldflags)
modalities_hdf5_mmdx_hdf5_la_LIBADD = $(HDF5_LIBS)

# built-in copy plus the writer (mmdx/imaging.h), which only libmmdx.a has
libmmdx_libmmdx_a_SOURCES += $(MMDX_HDF5_ADAPTER_SOURCES) modalities/hdf5/imaging_write.c
libmmdx_libmmdx_a_CPPFLAGS += -DMMDX_BUILTIN_HDF5=1
mmdxinclude_HEADERS += libmmdx/mmdx/imaging.h

# driver command: mmdx export (writes a cohort's imaging block)
examples_mmdx_mmdx_SOURCES += examples/mmdx/cmd_export.c

# unit tests
check_PROGRAMS += tests/unit/check_imaging
TESTS += tests/unit/check_imaging
tests_unit_check_imaging_SOURCES = tests/unit/check_imaging.c
tests_unit_check_imaging_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_unit_check_imaging_LDADD = $(MMDX_LIBS) $(CHECK_LIBS)

# benchmark (make bench): C reader against h5py
EXTRA_PROGRAMS += tests/bench/bench_imaging
MMDX_BENCH_PROGS += tests/bench/bench_imaging
tests_bench_bench_imaging_SOURCES = tests/bench/bench_imaging.c
tests_bench_bench_imaging_LDADD = $(MMDX_LIBS)

EXTRA_DIST += docs/formats/imaging.md tests/bench/bench_imaging_h5py.py

# end-to-end: mmdx export on the demo cohort
TESTS += tests/e2e/driver_export.sh
EXTRA_DIST += tests/e2e/driver_export.sh
