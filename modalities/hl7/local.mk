# modalities/hl7: build rules (fragment included by the top Makefile.am)
