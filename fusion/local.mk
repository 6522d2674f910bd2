# fusion: build rules (fragment included by the top Makefile.am)
include fusion/decision.mk
