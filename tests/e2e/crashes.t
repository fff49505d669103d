# ax crashes: a tree whose child crashes ten times a second writes its
# crash log (ax run --db); ax crashes reads it while the node runs and
# after it is gone (stopped, or killed), as a table, as JSON lines, one
# report in full, filtered; bad options and missing logs are clear errors.
set -e
dir=$(mktemp -d)
node=
trap '[ -n "$node" ] && kill -9 $node 2>/dev/null; rm -rf "$dir"' EXIT
db="$dir/crash.db"
fail() { echo "$*"; exit 1; }
json_rows() { python3 -c 'import json,sys; print(len([json.loads(l) for l in sys.stdin]))'; }
first() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])' "$1"; }

# No log yet.
if err=$($AX crashes --db "$db" 2>&1); then fail "a missing log was read"; fi
echo "$err" | grep -q "^ax crashes: $db: no crash log there" || fail "got: $err"
if err=$(XDG_STATE_HOME=$dir $AX crashes n1 2>&1); then fail "accepted"; fi
echo "$err" | grep -q "^ax crashes: $dir/ax/n1.db: no crash log there" || fail "got: $err"

# A child that crashes on each tick, under a supervisor that never gives up.
printf '{supervisor, s, #{strategy => one_for_one, intensity => 1000, period => 1},\n [#{id => f, name => flaky, start => {flaky, [1.0]}}]}.\n' >"$dir/flaky.tree"
# (TMPDIR: the node's private copies of modules stay in $dir, even when
# it is killed.)
start_node() {
    TMPDIR=$dir $AX run --path build/examples --db "$db" "$dir/flaky.tree" >"$dir/out" 2>&1 &
    node=$!
}
# Waits until the log holds at least $1 reports, read while the node runs.
wait_rows() {
    i=0
    until [ "$($AX crashes --db "$db" --limit 0 --json 2>/dev/null | wc -l)" -ge "$1" ]; do
        i=$((i + 1)); [ $i -lt 200 ] || fail "no reports: $(cat "$dir/out")"
        sleep 0.05
    done
}
start_node
wait_rows 3
kill -TERM $node
wait $node || fail "ax run exit status $?"
node=

# Post mortem: the table, newest first.
out=$(COLUMNS=120 $AX crashes --db "$db")
echo "$out" | head -n 1 | grep -q '^ID  *TIME  *PID  *NAME  *MODULE  *REASON$' || fail "header: $out"
echo "$out" | sed -n 2p | grep -Eq '^[0-9]+ +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} <0\.[0-9]+\.0> +flaky +flaky +\{random_failure, 1\.0\}$' ||
    fail "row: $out"
# The reason is cut to the width.
COLUMNS=80 $AX crashes --db "$db" | sed -n 2p | grep -q ' {random\.\.\.$' || fail "not cut: $($AX crashes --db "$db")"

# JSON lines parse, and every report names its module and supervisor.
n=$($AX crashes --db "$db" --limit 0 --json | json_rows)
[ "$n" -ge 3 ] || fail "$n reports"
$AX crashes --db "$db" --limit 0 --json | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    assert r["module"] == "flaky" and r["version"] == "1", r
    assert r["name"] == "flaky" and r["child_id"] == "f", r
    assert r["reason"] == "{random_failure, 1.0}" and r["state"] == "1.0", r
    assert r["supervisor"].startswith("<0.") and r["restarts"] >= 1, r
    assert isinstance(r["time"], int) and r["dump"] is None, r
    assert r["last_message"].startswith("{\x27$ax_timeout\x27, "), r
' || fail "bad JSON rows"
[ "$($AX crashes --db "$db" --limit 2 --json | json_rows)" -eq 2 ] || fail "--limit"

# One report in full.
id=$($AX crashes --db "$db" --json | first id)
pid=$($AX crashes --db "$db" --json | first pid)
full=$($AX crashes --db "$db" --id "$id")
echo "$full" | head -n 1 | grep -q "^crash report $id$" || fail "full: $full"
echo "$full" | grep -q "^pid  *$pid$" || fail "full: $full"
echo "$full" | grep -q '^supervisor  *<0\.[0-9]*\.0>$' || fail "full: $full"
echo "$full" | grep -q '^child_id  *f$' || fail "full: $full"

# Filters.
[ "$($AX crashes --db "$db" --pid "$pid" --json | json_rows)" -eq 1 ] || fail "--pid"
bare=$(echo "$pid" | tr -d '<>')
[ "$($AX crashes --db "$db" --pid "$bare" --json | json_rows)" -eq 1 ] || fail "--pid $bare"
[ "$($AX crashes --db "$db" --module flaky --name flaky --reason random_fail --since 1h --limit 0 --json | json_rows)" -eq "$n" ] || fail "filters"
[ "$($AX crashes --db "$db" --module nosuch --json | wc -l)" -eq 0 ] || fail "--module"
[ "$($AX crashes --db "$db" --reason nosuch --json | wc -l)" -eq 0 ] || fail "--reason"
[ "$($AX crashes --db "$db" --since 2999-01-01 --json | wc -l)" -eq 0 ] || fail "--since date"
[ "$($AX crashes --db "$db" --since 2000-01-01T00:00Z --limit 0 --json | json_rows)" -eq "$n" ] || fail "--since UTC"
$AX crashes --db "$db" --module nosuch | grep -q '^no crash reports$' || fail "empty table"

# Bad options, an unknown report.
if err=$($AX crashes --db "$db" --since yesterday 2>&1); then fail "accepted --since yesterday"; fi
echo "$err" | grep -q "^ax crashes: --since: expected a date" || fail "got: $err"
if err=$($AX crashes --db "$db" --limit -3 2>&1); then fail "accepted --limit -3"; fi
echo "$err" | grep -q "^ax crashes: --limit: expected a number" || fail "got: $err"
if err=$($AX crashes --db "$db" --pid 1.2 2>&1); then fail "accepted --pid 1.2"; fi
echo "$err" | grep -q "^ax crashes: --pid: expected a pid" || fail "got: $err"
if err=$($AX crashes --db "$db" --id 999999999 2>&1); then fail "found report 999999999"; fi
echo "$err" | grep -q "no crash report 999999999$" || fail "got: $err"
if err=$($AX crashes n2 --db "$db" 2>&1); then fail "accepted NODE and --db"; fi
echo "$err" | grep -q "not both" || fail "got: $err"

# A node killed outright leaves a log that still reads.
start_node
wait_rows $((n + 2))
kill -KILL $node
wait $node 2>/dev/null || true
node=
[ "$($AX crashes --db "$db" --limit 0 --json | json_rows)" -ge $((n + 2)) ] || fail "lost reports"
