# fusion: Bayesian fusion models (build rules; fragment included by the top Makefile.am)
mmdxinclude_HEADERS += libmmdx/mmdx/model.h libmmdx/mmdx/pred.h
