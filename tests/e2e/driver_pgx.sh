#!/bin/sh
# mmdx pgx on the PharmCAT test VCFs (skipped without ../shared/data): a PGx table with one
# row per gene, the expected diplotype, atomic output, exit 2 on a build mismatch.
set -u
b=${MMDX_BUILDDIR:-.}
mmdx=$b/examples/mmdx/mmdx
data=${MMDX_TESTDATA:-${MMDX_SRCDIR:-.}/../shared/data}
if [ ! -d "$data/vcf/pharmcat" ]; then echo "SKIP: $data/vcf/pharmcat not found"; exit 77; fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmdx-pgx.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$mmdx" pgx --variants "$data/vcf/pharmcat/cyp2c19/s2s3.vcf" -o "$tmp/pgx.tsv" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 0 ] || { fail "exit $rc"; sed 's/^/  | /' "$tmp/err" | head -5; }
[ "$(grep -vc '^#' "$tmp/pgx.tsv")" -eq 10 ] || fail "want a header and 9 gene rows"
grep -q "^NA12878	CYP2C19	\*2/\*3	Poor Metabolizer	" "$tmp/pgx.tsv" || fail "CYP2C19 *2/*3 row: $(grep CYP2C19 "$tmp/pgx.tsv")"
ls "$tmp" | grep -q 'tmp' && fail "temporary file left: $(ls "$tmp")"

# to standard output when -o is not given
"$mmdx" pgx --variants "$data/vcf/pharmcat/TPMT/s3as3b.vcf" >"$tmp/out" 2>"$tmp/err" || fail "stdout run: exit $?"
grep -q "	TPMT	\*3A/\*3B	Poor Metabolizer	" "$tmp/out" || fail "TPMT *3A/*3B on stdout"

# F9: a missing no-function position (DPYD c.1898delC) must not leave a stated Normal phenotype
"$mmdx" pgx --variants "$data/vcf/pharmcat/DPYD/novariant.vcf" >"$tmp/dpyd" 2>"$tmp/err" || fail "DPYD run: exit $?"
grep -q "	DPYD	Reference/Reference	Indeterminate	.	ambiguous	.*Normal Metabolizer.*Poor Metabolizer\$" "$tmp/dpyd" \
    || fail "DPYD novariant not ambiguous with Poor listed: $(grep DPYD "$tmp/dpyd")"

# a GRCh37 header is refused before anything is written
printf '##fileformat=VCFv4.2\n##contig=<ID=10,length=135534747>\n##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tX\n10\t96541616\t.\tG\tA\t.\tPASS\t.\tGT\t0/1\n' >"$tmp/b37.vcf"
"$mmdx" pgx --variants "$tmp/b37.vcf" -o "$tmp/b37.tsv" 2>"$tmp/err"
rc=$?
[ "$rc" -eq 2 ] || fail "build mismatch: exit $rc, want 2"
grep -q "GRCh37" "$tmp/err" || fail "build mismatch message: $(cat "$tmp/err")"
[ -e "$tmp/b37.tsv" ] && fail "table written despite the error"

# usage error
"$mmdx" pgx >/dev/null 2>&1
[ $? -eq 2 ] || fail "no --variants: want exit 2"

[ "$fails" -eq 0 ] && echo "ok: mmdx pgx" || exit 1
