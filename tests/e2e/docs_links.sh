#!/bin/sh
# Every relative link in README.md and docs/**/*.md points to a file or directory that
# exists, so the documentation index stays true as parts of the tree come and go.
set -u
s=${MMDX_SRCDIR:-.}
fails=0
n=0
for md in "$s/README.md" $(find "$s/docs" -name '*.md'); do
  dir=$(dirname "$md")
  # [text](target) with a relative target; anchors and URLs are not checked
  for t in $(grep -o '\]([^)#]*' "$md" | sed 's/^](//' | grep -v -e '^[a-z]*:' -e '^$'); do
    n=$((n + 1))
    if [ ! -e "$dir/$t" ]; then
      echo "FAIL: ${md#"$s"/}: link to $t: no such file"
      fails=$((fails + 1))
    fi
  done
done
echo "docs_links: $n links, $fails broken"
[ "$fails" -eq 0 ] && [ "$n" -gt 0 ]
