#!/usr/bin/python3
# Writes tests/data/wdbc_folds.tsv: the fold of each WDBC patient under scikit-learn's
# StratifiedKFold(10, shuffle=True, random_state=0), so the C accuracy test (check_fusion)
# uses exactly the folds of the figures quoted in issue 6.
# Usage: tests/data/wdbc_folds.py $MMDX_TESTDATA/tabular/wdbc.csv > tests/data/wdbc_folds.tsv
import csv, sys
from sklearn.model_selection import StratifiedKFold
rows = list(csv.reader(open(sys.argv[1])))[1:]
ids = [r[0] for r in rows]
fold = [0] * len(rows)
for k, (_, te) in enumerate(StratifiedKFold(10, shuffle=True, random_state=0).split(ids, [r[1] for r in rows])):
    for i in te:
        fold[i] = k
print("# folds of StratifiedKFold(10, shuffle=True, random_state=0) over wdbc.csv (scikit-learn)")
print("# made by tests/data/wdbc_folds.py")
print("patient_id\tfold")
for i, k in zip(ids, fold):
    print(f"{i}\t{k}")
