# libmmdx core
mmdxinclude_HEADERS += libmmdx/mmdx/mmdx.h libmmdx/mmdx/common.h libmmdx/mmdx/ctx.h \
	libmmdx/mmdx/space.h libmmdx/mmdx/cohort.h libmmdx/mmdx/modality.h libmmdx/mmdx/plugin.h \
	libmmdx/mmdx/source.h libmmdx/mmdx/collect.h libmmdx/mmdx/outfile.h
libmmdx_libmmdx_a_SOURCES += libmmdx/ctx.c libmmdx/ctx_internal.h \
	libmmdx/error.c libmmdx/alloc.c libmmdx/alloc_internal.h \
	libmmdx/hashmap.c libmmdx/hashmap.h \
	libmmdx/space.c libmmdx/space_internal.h \
	libmmdx/cohort.c libmmdx/cohort_internal.h \
	libmmdx/labels.c libmmdx/outfile.c
