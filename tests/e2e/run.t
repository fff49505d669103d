# ax run: a tree file starts a headless node; errors name the place;
# SIGTERM stops it cleanly; a tree that gives up ends the run.
set -e
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '{supervisor, s, #{strategy => one_for_one},\n [#{id => a start => {counter, []}}]}.\n' >"$dir/bad.tree"
if err=$($AX run "$dir/bad.tree" 2>&1); then echo "bad file accepted"; exit 1; fi
[ "$err" = "ax run: $dir/bad.tree:2:13: expected ',' or '}'" ] || { echo "got: $err"; exit 1; }
printf '{worker, x}.\n' >"$dir/notsup.tree"
if err=$($AX run "$dir/notsup.tree" 2>&1); then echo "accepted"; exit 1; fi
[ "$err" = "ax run: $dir/notsup.tree: expected {supervisor, Name, Flags, Children}" ] || { echo "got: $err"; exit 1; }
# A tree that gives up (intensity 0, a child that crashes at once).
printf '{supervisor, s, #{strategy => one_for_one, intensity => 0},\n [#{id => f, start => {flaky, [1.0]}}]}.\n' >"$dir/gives_up.tree"
if out=$(timeout 20 $AX run --path build/examples "$dir/gives_up.tree" 2>&1); then
    echo "a tree that gave up exited 0"; exit 1
fi
echo "$out" | grep -q '^ax run: the tree exited: shutdown$' || { echo "got: $out"; exit 1; }
# The demo tree: started, then stopped by SIGTERM with status 0.
$AX run --path build/examples examples/demo.tree >"$dir/out" 2>&1 &
pid=$!
i=0
until grep -q 'demo_sup started as <0\.[0-9]*\.0>' "$dir/out"; do
    i=$((i + 1)); [ $i -lt 200 ] || { echo "not started: $(cat "$dir/out")"; exit 1; }
    sleep 0.05
done
kill -TERM $pid
wait $pid || { echo "exit status $?"; exit 1; }
