# Every script of the package parses with Zeek's tree-sitter grammar and is
# formatted as zeek-format formats it (Zeek's own style).
# @TEST-REQUIRES: which zeek-script && which zeek-format
# @TEST-EXEC: bash %INPUT
set -e
for f in "$PACKAGE"/*.zeek; do
    zeek-script parse -q "$f"
    zeek-format "$f" > formatted.zeek
    if ! cmp -s "$f" formatted.zeek; then
        echo "$f is not formatted (run zeek-format -i $f)" >&2
        diff "$f" formatted.zeek >&2 || true
        exit 1
    fi
done
