# fusion: build rules (fragment included by the top Makefile.am)
