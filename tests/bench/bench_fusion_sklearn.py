#!/usr/bin/python3
# The scikit-learn reference of bench_fusion: SimpleImputer + StandardScaler +
# LogisticRegression on data drawn like bench_fusion's (D correlated features, 10% missing
# at random, one binary target). Prints fit and predict_proba throughput.
# Times are process CPU times, like bench_fusion's (run with OPENBLAS_NUM_THREADS=1), and
# wall-clock times (meaningful on an otherwise idle machine); predict is the best of 3.
# Usage: bench_fusion_sklearn.py [--max-n N] [D...]
import sys, time
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression

args = sys.argv[1:]
max_n = 100000
if "--max-n" in args:
    i = args.index("--max-n")
    max_n = int(args[i + 1])
    del args[i:i + 2]
Ds = [int(a) for a in args] or [16, 64, 256]
rng = np.random.default_rng(12345)
print("bench_fusion_sklearn: SimpleImputer + StandardScaler + LogisticRegression, 10% missing")
print("%6s %8s %12s %14s %12s %14s" % ("D", "N", "fit pat/s", "predict pat/s", "fit wall/s", "predict wall/s"))
for D in Ds:
    n = 10000
    while n <= max_n:
        f = rng.standard_normal((n, 1))
        X = 0.5 * f + 0.87 * rng.standard_normal((n, D))
        w = np.where(np.arange(D) % 3 == 0, 0.6, -0.2) / np.sqrt(D / 8.0)
        y = (rng.random(n) < 1 / (1 + np.exp(-(-0.2 + X @ w)))).astype(int)
        X[rng.random((n, D)) < 0.1] = np.nan
        p = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=1000))
        t, w0 = time.process_time(), time.perf_counter()
        p.fit(X, y)
        tf, wf = time.process_time() - t, time.perf_counter() - w0
        tp = wp = float("inf")
        for _ in range(3):
            t, w0 = time.process_time(), time.perf_counter()
            p.predict_proba(X)
            tp, wp = min(tp, time.process_time() - t), min(wp, time.perf_counter() - w0)
        print("%6d %8d %12.0f %14.0f %12.0f %14.0f" % (D, n, n / tf, n / tp, n / wf, n / wp), flush=True)
        n *= 10
