#!/usr/bin/python3
"""Reference for tests/bench/bench_imaging: time h5py reading /features into numpy.

    bench_imaging_h5py.py FILE [REPS]

Prints "<best wall seconds> <best CPU seconds> <peak RSS KiB>" for opening FILE and
`f['features'][:]`, after one warm-up read, best of REPS (default 3). Run with
/usr/bin/python3 (which has h5py).
"""
import resource
import sys
import time

import h5py


def main():
    path = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    best = best_cpu = float("inf")
    for i in range(reps + 1):  # the first read warms the page cache
        t0, c0 = time.perf_counter(), time.process_time()
        with h5py.File(path, "r") as f:
            x = f["features"][:]
        t, c = time.perf_counter() - t0, time.process_time() - c0
        if i > 0:
            best, best_cpu = min(best, t), min(best_cpu, c)
        del x
    print("%.9f %.9f %d" % (best, best_cpu, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


if __name__ == "__main__":
    main()
