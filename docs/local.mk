# docs: the man page (installed) and the Markdown documentation (shipped in the tarball)
dist_man1_MANS = docs/man/mmdx.1
EXTRA_DIST += README.md docs/index.md docs/driver.md docs/plugins.md

# the API reference, its test and the libmmdx(3) man page (their own fragment)
include docs/api.mk
