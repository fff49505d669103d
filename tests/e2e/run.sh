#!/bin/sh
# Runs every end-to-end test (tests/e2e/*.t): each is a shell script that
# drives the real ax binary (AX names it) and exits non-zero on failure.
# Prints "ok NAME" or "FAIL NAME" with the script's output, then the plain
# "N passed, N failed" summary.
AX=${AX:-build/ax}
export AX
passed=0
failed=0
for t in tests/e2e/*.t; do
    name=$(basename "$t" .t)
    if out=$(sh "$t" 2>&1); then
        echo "ok $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        echo "$out" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
