# Shell transcripts: each tests/e2e/shell/NAME.ax is fed to `ax shell` on
# standard input (a node of its own, with the examples on its path, and
# the options its first line gives after "%% args:"), and what it prints
# must be NAME.out line by line, once pids, references and the working
# directory are normalised. The status must be 0 unless the first line
# says "%% status: N".
set -e
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
norm() {
    sed -e 's/<[0-9]*\.[0-9]*\.[0-9]*>/<PID>/g' \
        -e 's/#Ref<[0-9.]*>/#Ref<REF>/g' \
        -e "s|$PWD|.|g" -e "s|$dir|DIR|g"
}
for ax in tests/e2e/shell/*.ax; do
    name=$(basename "$ax" .ax)
    args=$(sed -n 's/^%% args: //p' "$ax" | head -1)
    want=$(sed -n 's/^%% status: //p' "$ax" | head -1)
    status=0
    # shellcheck disable=SC2086
    E2E_DIR=$dir timeout 60 $AX shell --name "e2e-$name-$$" \
        --path build/examples $args <"$ax" >"$dir/$name.raw" 2>&1 ||
        status=$?
    norm <"$dir/$name.raw" >"$dir/$name.got"
    if ! diff -u "tests/e2e/shell/$name.out" "$dir/$name.got" \
        >"$dir/$name.diff"; then
        echo "transcript $name differs:"; cat "$dir/$name.diff"; fail=1
    fi
    if [ "$status" != "${want:-0}" ]; then
        echo "transcript $name: status $status, expected ${want:-0}"; fail=1
    fi
done
exit $fail
