# Shell transcripts: each tests/e2e/shell/NAME.ax is fed to `ax shell` on
# standard input (a node of its own, with the examples and its working
# directory on its path, and the options a "%% args:" line gives), and
# what it prints must be NAME.out line by line, once pids and references
# are normalised. It runs in a fresh directory holding the files a
# "%% files: SRC[:NAME]..." line names. The status must be 0 unless a
# "%% status: N" line says otherwise. "%% norm: numbers" replaces every
# number with N (for tables of reductions and sizes).
set -e
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail=0
root=$PWD
case $AX in /*) ax=$AX ;; *) ax=$root/$AX ;; esac
norm() {
    sed -e 's/<[0-9]*\.[0-9]*\.[0-9]*>/<PID>/g' \
        -e 's/#Ref<[0-9.]*>/#Ref<REF>/g' \
        -e 's/^20[0-9][0-9]-[0-9-]* [0-9:]* /TIME /' \
        -e "s|$dir/[a-z_]*|DIR|g" -e "s|$root|ROOT|g"
}
for script in tests/e2e/shell/*.ax; do
    name=$(basename "$script" .ax)
    args=$(sed -n 's/^%% args: //p' "$script" | head -1 | sed "s|ROOT|$root|g")
    want=$(sed -n 's/^%% status: //p' "$script" | head -1)
    files=$(sed -n 's/^%% files: //p' "$script" | head -1)
    work="$dir/$name"
    mkdir "$work"
    for f in $files; do
        cp "${f%%:*}" "$work/$(basename "${f#*:}")"
    done
    status=0
    # shellcheck disable=SC2086
    (cd "$work" && timeout 60 "$ax" shell --name "e2e-$name-$$" \
        --path "$root/build/examples" --path . $args) \
        <"$script" >"$dir/$name.raw" 2>&1 || status=$?
    if grep -q '^%% norm: numbers' "$script"; then
        norm <"$dir/$name.raw" |
            sed -e 's/[0-9][0-9]*/N/g' -e 's/  */ /g' >"$dir/$name.got"
    else
        norm <"$dir/$name.raw" >"$dir/$name.got"
    fi
    if ! diff -u "tests/e2e/shell/$name.out" "$dir/$name.got" \
        >"$dir/$name.diff"; then
        echo "transcript $name differs:"; cat "$dir/$name.diff"; fail=1
    fi
    if [ "$status" != "${want:-0}" ]; then
        echo "transcript $name: status $status, expected ${want:-0}"; fail=1
    fi
done
exit $fail
