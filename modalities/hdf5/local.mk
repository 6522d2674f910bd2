# modalities/hdf5: build rules (fragment included by the top Makefile.am)
