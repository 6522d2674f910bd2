#!/usr/bin/python3
"""Corrupt a few percent of the patients of each modality of a demo batch (tests/e2e/
no_data_loss.sh). usage: no_data_loss.py IN_DIR BAD_DIR GOOD_DIR FRACTION SEED

IN_DIR holds retina.h5, ct.h5, labs.xml, variants.vcf (mmdx-demo-gen). BAD_DIR gets the
same files with corrupted records; GOOD_DIR the original files without the corrupted
patients. Prints one line per corrupted patient: "id<TAB>kind"; and writes all.ids (every
patient id of the batch)."""
import random
import re
import sys

import h5py
import numpy as np

src, bad, good, frac, seed = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
rng = random.Random(seed)


def read_h5(path):
    with h5py.File(path, "r") as f:
        attrs = dict(f.attrs)
        ds = {}
        for name in f:
            d = f[name]
            ds[name] = (d[()], d.dtype, dict(d.attrs))
        return attrs, ds


def write_h5(path, attrs, ds, keep_rows=None, patch=None):
    with h5py.File(path, "w", track_order=True) as f:
        for k, v in attrs.items():
            f.attrs[k] = v
        for name, (data, dtype, dattrs) in ds.items():
            if name in ("features", "patient_ids") and keep_rows is not None:
                data = data[keep_rows]
            if name == "features" and patch is not None:
                data = data.copy()
                for row, value in patch:
                    data[row, :] = value
            d = f.create_dataset(name, data=data, dtype=dtype)
            for k, v in dattrs.items():
                d.attrs[k] = v


ids = set()
marked = {}  # id -> kind


def pick(cands, kind, n):
    free = [c for c in cands if c not in marked]
    for c in rng.sample(free, min(n, len(free))):
        marked[c] = kind


# ---- imaging: rows of Inf (rejected) and rows of NaN (all missing) in retina.h5
attrs, ds = read_h5(f"{src}/retina.h5")
rid = [x.decode() if isinstance(x, bytes) else str(x) for x in ds["patient_ids"][0]]
ids.update(rid)
n_img = max(1, int(len(rid) * frac))
pick(rid, "imaging-inf-row", n_img)
pick(rid, "imaging-nan-row", n_img)
patch = [(i, np.inf) for i, p in enumerate(rid) if marked.get(p) == "imaging-inf-row"]
patch += [(i, np.nan) for i, p in enumerate(rid) if marked.get(p) == "imaging-nan-row"]
write_h5(f"{bad}/retina.h5", attrs, ds, patch=patch)
attrs_ct, ds_ct = read_h5(f"{src}/ct.h5")
cid = [x.decode() if isinstance(x, bytes) else str(x) for x in ds_ct["patient_ids"][0]]
ids.update(cid)
write_h5(f"{bad}/ct.h5", attrs_ct, ds_ct)

# ---- labs: bad units, non-numeric values, and Observations cut after their code
xml = open(f"{src}/labs.xml", encoding="utf-8").read()
entries = re.findall(r"<entry>.*?</entry>\n?", xml, re.S)
head = xml[: xml.index("<entry>")]
tail = xml[xml.rindex("</entry>") + len("</entry>"):]
lab_ids = sorted({m for e in entries for m in re.findall(r'<reference value="Patient/([^"]+)"', e)})
ids.update(re.findall(r'<Patient><id value="([^"]+)"', xml))
n_lab = max(1, int(len(lab_ids) * frac))
pick(lab_ids, "labs-bad-unit", n_lab)
pick(lab_ids, "labs-bad-value", n_lab)
pick(lab_ids, "labs-no-value", n_lab)
done = set()
out = []
for e in entries:
    m = re.search(r'<reference value="Patient/([^"]+)"', e)
    p = m.group(1) if m else None
    kind = marked.get(p) if p else None
    if kind and p not in done and "<valueQuantity>" in e:
        if kind == "labs-bad-unit":
            e = re.sub(r'<unit value="[^"]*"/>(<system value="[^"]*"/>)?<code value="[^"]*"/>',
                       '<unit value="furlong/fortnight"/><system value="http://unitsofmeasure.org"/>'
                       '<code value="[furlong]/[fortnight]"/>', e, count=1)
        elif kind == "labs-bad-value":
            e = re.sub(r'<value value="[^"]*"/>', '<value value="4..2e"/>', e, count=1)
        elif kind == "labs-no-value":
            e = re.sub(r"<valueQuantity>.*?</valueQuantity>", "", e, count=1, flags=re.S)
        done.add(p)
    out.append(e)
open(f"{bad}/labs.xml", "w", encoding="utf-8").write(head + "".join(out) + tail)

# ---- variants: bad genotypes (allele index beyond ALT, or letters) in some records
lines = open(f"{src}/variants.vcf", encoding="utf-8").read().splitlines(True)
hdr = [l for l in lines if l.startswith("#")]
cols = hdr[-1].rstrip("\n").split("\t")
samples = cols[9:]
ids.update(samples)
pick(samples, "variants-bad-gt", max(1, int(len(samples) * frac)))
badcol = [9 + i for i, s in enumerate(samples) if marked.get(s) == "variants-bad-gt"]
vout = list(hdr)
for k, l in enumerate(lines[len(hdr):]):
    f = l.rstrip("\n").split("\t")
    for c in badcol:
        if (k + c) % 3 == 0:
            f[c] = "0/7" if (k + c) % 2 else "1|0|1"
    vout.append("\t".join(f) + "\n")
open(f"{bad}/variants.vcf", "w", encoding="utf-8").writelines(vout)

# ---- the good batch: the original files without any corrupted patient
badset = set(marked)
keep = np.array([p not in badset for p in rid])
write_h5(f"{good}/retina.h5", attrs, ds, keep_rows=keep)
keep_ct = np.array([p not in badset for p in cid])
write_h5(f"{good}/ct.h5", attrs_ct, ds_ct, keep_rows=keep_ct)
gout = []
for e in entries:
    m = re.search(r'<reference value="Patient/([^"]+)"', e) or re.search(r'<Patient><id value="([^"]+)"', e)
    if m and m.group(1) in badset:
        continue
    gout.append(e)
open(f"{good}/labs.xml", "w", encoding="utf-8").write(head + "".join(gout) + tail)
keepc = list(range(9)) + [9 + i for i, s in enumerate(samples) if s not in badset]
gv = [l for l in hdr[:-1]] + ["\t".join(cols[i] for i in keepc) + "\n"]
for l in lines[len(hdr):]:
    f = l.rstrip("\n").split("\t")
    gv.append("\t".join(f[i] for i in keepc) + "\n")
open(f"{good}/variants.vcf", "w", encoding="utf-8").writelines(gv)

with open(f"{bad}/all.ids", "w") as f:
    for p in sorted(ids):
        f.write(p + "\n")
for p in sorted(marked):
    print(f"{p}\t{marked[p]}")
