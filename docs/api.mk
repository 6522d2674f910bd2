# docs/: the API reference (Doxygen over the public headers) and the libmmdx(3) man page.
# `make docs` writes docs/api/html/index.html in the build tree; warnings are errors.
MMDX_DOXYGEN_INPUT = $(top_srcdir)/libmmdx/mmdx $(top_builddir)/libmmdx/mmdx/version.h
docs: libmmdx/mmdx/version.h
	@if test -z "$(DOXYGEN)"; then echo "make docs: doxygen not found (apt-get install doxygen; re-run configure)"; exit 1; fi
	@rm -rf docs/api && $(MKDIR_P) docs
	$(AM_V_GEN)( cat $(top_srcdir)/docs/Doxyfile; \
	  echo "INPUT = $(MMDX_DOXYGEN_INPUT)"; echo "OUTPUT_DIRECTORY = docs/api"; \
	  echo "PROJECT_NUMBER = $(PACKAGE_VERSION)" ) | $(DOXYGEN) -
	@echo "docs: API reference in $(abs_top_builddir)/docs/api/html/index.html"
clean-local: clean-docs-api
clean-docs-api:
	rm -rf docs/api
.PHONY: docs clean-docs-api

# the test: Doxygen over the headers, warnings as errors (skipped when doxygen is missing)
TESTS += tests/e2e/doxygen.sh
AM_TESTS_ENVIRONMENT += DOXYGEN='$(DOXYGEN)'; export DOXYGEN;
EXTRA_DIST += tests/e2e/doxygen.sh docs/Doxyfile docs/guide.md docs/model.md

# the library's man page
dist_man3_MANS = docs/man/libmmdx.3
