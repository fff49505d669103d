# Attaching: two shells on one running node see the same processes; a
# wrong cookie is refused; q() detaches and leaves the node running;
# halt() from an attached shell stops it.
set -e
dir=$(mktemp -d)
node=e2e-attach-$$
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
$AX run --name $node --path build/examples examples/demo.tree \
    >"$dir/node.out" 2>&1 &
pid=$!
i=0
until grep -q 'demo_sup started' "$dir/node.out" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 200 ] || { echo "not started: $(cat "$dir/node.out")"; exit 1; }
    sleep 0.05
done
$AX nodes | grep -q "^$node " || { echo "ax nodes: $($AX nodes)"; exit 1; }
# One shell makes a process and names it; another finds it.
out=$($AX shell $node -e 'P = spawn(counter, [7]), register(shared, P), ok.')
[ "$out" = "ok" ] || { echo "shell 1: $out"; exit 1; }
out=$($AX shell $node -e 'call(shared, {add, 1}).')
[ "$out" = "8" ] || { echo "shell 2: $out"; exit 1; }
# A wrong cookie.
if out=$($AX shell --cookie wrong $node -e '1.' 2>&1); then
    echo "wrong cookie accepted: $out"; exit 1
fi
echo "$out" | grep -q "refused" || { echo "wrong cookie: $out"; exit 1; }
grep -q "wrong cookie" "$dir/node.out" || { echo "not logged: $(cat "$dir/node.out")"; exit 1; }
# The node's crash log is NAME.db: ax crashes NAME reads it.
$AX shell $node -e 'exit(whereis(shared), kill).' >/dev/null
i=0 # the report is committed soon after the crash: wait for it
until out=$($AX crashes $node --limit 1 2>&1) &&
      echo "$out" | grep -q 'shared *counter *killed'; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "ax crashes: $out"; exit 1; }
    sleep 0.05
done
out=$($AX shell $node -e 'P = spawn(counter, [8]), register(shared, P), ok.')
# q() detaches: the node runs on.
out=$($AX shell $node -e 'q().')
kill -0 $pid || { echo "q() stopped the node"; exit 1; }
out=$($AX shell $node -e 'call(shared, get).')
[ "$out" = "8" ] || { echo "after q(): $out"; exit 1; }
# halt() stops it.
$AX shell $node -e 'halt().' >"$dir/halt.out" 2>&1 || true
grep -q "Node $node stopped" "$dir/halt.out" || { echo "halt: $(cat "$dir/halt.out")"; exit 1; }
wait $pid || { echo "the node exited with $?"; exit 1; }
if $AX shell $node -e '1.' 2>/dev/null; then echo "attached to a halted node"; exit 1; fi
