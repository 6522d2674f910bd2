#!/usr/bin/env python3
"""Build the project's pharmacogenomic tables (data/pgx/*.tsv) from the public CPIC
allele definition and phenotype files (as distributed by ClinPGx/PharmCAT).

Only facts are restated: variant positions and alleles, which alleles define each named
allele, the function of each allele and the phenotype (and activity score) of each
diplotype.  The source name, release version and date of every gene are recorded in
pgx_sources.tsv.

usage: make_pgx_tables.py [SHARED_PGX_DIR] [OUT_DIR]
  SHARED_PGX_DIR defaults to ../shared/data/pgx (relative to the project root),
  OUT_DIR to the directory of this script.
"""
import json
import os
import sys

GENES = ["CYP2C19", "CYP2C9", "CYP3A5", "DPYD", "NUDT15", "SLCO1B1", "TPMT", "UGT1A1", "VKORC1"]
IUPAC = {"R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
         "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT"}


def clean(text):
    """Fields are tab-separated: no tabs or newlines inside a field."""
    return " ".join(str(text).split()) if text is not None else ""


def allele_set(vcf_allele):
    """A definition cell as the set of VCF alleles it accepts (IUPAC codes expanded)."""
    if len(vcf_allele) == 1 and vcf_allele in IUPAC:
        return sorted(IUPAC[vcf_allele])
    return [vcf_allele]


def write_tsv(path, header, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\t".join(header) + "\n")
        for r in rows:
            f.write("\t".join(clean(x) for x in r) + "\n")
    os.replace(tmp, path)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "..", "shared", "data", "pgx")
    out = sys.argv[2] if len(sys.argv) > 2 else here
    sources, positions, alleles, diplotypes = [], [], [], []
    for gene in GENES:
        with open(os.path.join(src, "definitions", gene + "_translation.json"), encoding="utf-8") as f:
            d = json.load(f)
        with open(os.path.join(src, "phenotypes", gene + ".json"), encoding="utf-8") as f:
            p = json.load(f)
        build = d["genomeBuild"].split(".")[0]
        if build != "GRCh38":
            sys.exit("%s: build %s, expected GRCh38" % (gene, build))
        sources.append((gene, d["chromosome"], build, d["source"], d["version"],
                        d["modificationDate"][:10], p.get("version", "")))
        variants = d["variants"]
        for v in variants:
            positions.append((gene, v["chromosome"], v["position"], v.get("rsid") or ".",
                              v["ref"], ",".join(v["alts"]) or "."))
        ref_name = [a["name"] for a in d["namedAlleles"] if a["reference"]]
        if len(ref_name) != 1:
            sys.exit("%s: %d reference alleles" % (gene, len(ref_name)))
        function = p.get("haplotypes", {})
        activity = p.get("activityValues", {}) or {}
        for a in d["namedAlleles"]:
            if a.get("structuralVariant"):
                continue  # copy-number alleles cannot be called from SNV genotypes
            cells = []
            for v, cell in zip(variants, a["alleles"]):
                if cell is None:
                    continue  # not part of the definition: the reference allele is implied
                cells.append("%d=%s" % (v["position"], "/".join(allele_set(cell))))
            alleles.append((gene, a["name"], 1 if a["reference"] else 0,
                            function.get(a["name"], "") or ".",
                            activity.get(a["name"], "") or ".", ";".join(cells) or "."))
        for dip in p["diplotypes"]:
            key = dip["diplotypekey"]
            names = sorted(n for n, c in key.items() for _ in range(c))
            if len(names) != 2:
                continue
            diplotypes.append((gene, names[0], names[1], dip["phenotype"] or dip["generesult"],
                               dip["activityScore"] if dip["activityScore"] is not None else "."))
    write_tsv(os.path.join(out, "pgx_sources.tsv"),
              ["gene", "chrom", "build", "source", "definition_version", "definition_date",
               "phenotype_version"], sources)
    write_tsv(os.path.join(out, "pgx_positions.tsv"),
              ["gene", "chrom", "pos", "rsid", "ref", "alts"], positions)
    write_tsv(os.path.join(out, "pgx_alleles.tsv"),
              ["gene", "allele", "reference", "function", "activity_value", "definition"], alleles)
    write_tsv(os.path.join(out, "pgx_diplotypes.tsv"),
              ["gene", "allele1", "allele2", "phenotype", "activity_score"], diplotypes)


if __name__ == "__main__":
    main()
