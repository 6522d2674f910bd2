# libmmdx core
mmdxinclude_HEADERS += libmmdx/mmdx/mmdx.h libmmdx/mmdx/common.h libmmdx/mmdx/ctx.h \
	libmmdx/mmdx/space.h libmmdx/mmdx/cohort.h libmmdx/mmdx/modality.h libmmdx/mmdx/plugin.h \
	libmmdx/mmdx/source.h libmmdx/mmdx/collect.h libmmdx/mmdx/outfile.h
libmmdx_libmmdx_a_SOURCES += libmmdx/ctx.c libmmdx/ctx_internal.h \
	libmmdx/error.c libmmdx/alloc.c libmmdx/alloc_internal.h \
	libmmdx/hashmap.c libmmdx/hashmap.h \
	libmmdx/space.c libmmdx/space_internal.h \
	libmmdx/cohort.c libmmdx/cohort_internal.h \
	libmmdx/labels.c libmmdx/outfile.c \
	libmmdx/h5err.c libmmdx/h5err.h libmmdx/h5file.c libmmdx/h5file.h libmmdx/cohort_file.c \
	libmmdx/collect.c libmmdx/collect_internal.h libmmdx/collect_file.c \
	libmmdx/file_id.c libmmdx/file_id.h
EXTRA_DIST += docs/core.md docs/formats/cohort-file.md docs/formats/labels-tsv.md
# plugin host (registry, sources, built-in modalities)
libmmdx_libmmdx_a_SOURCES += libmmdx/plugin.c libmmdx/source.c libmmdx/builtins.c libmmdx/registry.h
# the source tree's data/, used by mmdx_ctx_data_dir() only while the installed data
# directory does not exist (programs run from the build tree)
libmmdx_libmmdx_a_CPPFLAGS += -DMMDX_SOURCE_DATA_DIR=\"$(abs_top_srcdir)/data\"
