# The observer (ax-observer(1)) in a terminal (a tmux pane) on a real
# node running the demo tree: each view answers its keys; a process
# spawned from a shell appears in Processes, where sort and filter change
# the rows; a killed child comes back in the tree with a new pid and
# "restarted"; a crash shows in Crashes with its reason, and its report
# opens; an action asks first; the mouse picks a tab, a header and a row,
# and the wheel scrolls; the terminal is given back on q and on a crash
# of the observer; a node that goes away is said. Then --batch
# frames, and --db (post-mortem) on the node's crash log.
set -e
command -v tmux >/dev/null || { echo "tmux is missing (scripts/deps.sh)"; exit 1; }
dir=$(mktemp -d)
sock=ax-e2e-obs-$$
node=e2e-observer-$$
t() { tmux -L $sock "$@"; }
trap 't kill-server 2>/dev/null || true; kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
screen() { t capture-pane -p -t s; }
# Waits (5 s at most) until the pane shows a line matching $1.
wait_for() {
    i=0
    until screen | grep -q -- "$1"; do
        i=$((i + 1))
        if [ $i -ge 100 ]; then
            echo "no '$1' in:"; screen; exit 1
        fi
        sleep 0.05
    done
}
# The line number of the first line matching $1 on the screen.
line_of() { screen | grep -n -- "$1" | head -n 1 | cut -d: -f1; }
# Waits (5 s at most) until the command $@ succeeds.
wait_until() {
    i=0
    until "$@"; do
        i=$((i + 1))
        if [ $i -ge 100 ]; then
            echo "never: $*"; screen; exit 1
        fi
        sleep 0.05
    done
}
# Whether the rows show the names $1 and $2 in order $3 (asc or desc):
# the rows of a new order come with the node's next page.
in_order() {
    a=$(line_of " $1 "); b=$(line_of " $2 ")
    [ -n "$a" ] && [ -n "$b" ] || return 1
    if [ "$3" = asc ]; then [ "$a" -lt "$b" ]; else [ "$a" -gt "$b" ]; fi
}
shell() { $AX shell $node -e "$1"; }

$AX run --name $node --path build/examples --db "$dir/crash.db" \
    examples/demo.tree >"$dir/node.out" 2>&1 &
pid=$!
i=0
until grep -q 'demo_sup started' "$dir/node.out" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 200 ] || { echo "not started: $(cat "$dir/node.out")"; exit 1; }
    sleep 0.05
done
[ "$(shell 'P = spawn(counter, [0]), register(obs_probe, P), ok.')" = ok ]

# --- batch frames ------------------------------------------------------
out=$(COLUMNS=120 LINES=30 $AX observer $node --batch -n 2 --interval 200 \
      --view processes)
[ "$(echo "$out" | grep -c '^ ax observer')" = 2 ] || { echo "frames: $out"; exit 1; }
echo "$out" | grep -q 'obs_probe  *counter:1 ' || { echo "no probe: $out"; exit 1; }
echo "$out" | grep -q 'PID .*NAME .*MODULE/INITIAL .*STATUS' || { echo "header: $out"; exit 1; }
out=$($AX observer $node --batch -n 1 --view tree)
for w in demo_sup workers one_for_all counter echo; do
    echo "$out" | grep -q "$w" || { echo "tree: no $w: $out"; exit 1; }
done
out=$($AX observer $node --batch -n 1 --view system)
echo "$out" | grep -q 'Schedulers' || { echo "system: $out"; exit 1; }
echo "$out" | grep -q 'processes [0-9]* / [0-9]*' || { echo "system: $out"; exit 1; }
echo "$out" | grep -q 'memory: total (RSS) [0-9.]*[KMG]  *process heaps [0-9.]*[KMG]* *binaries [0-9.]*[KMGB]* *code [0-9.]*[KMG]' ||
    { echo "system memory: $out"; exit 1; }
echo "$out" | grep -q 'atoms: [0-9]* / [0-9]* ([0-9.]*[KMG])' || { echo "system atoms: $out"; exit 1; }
out=$($AX observer $node --batch -n 1 --view modules)
echo "$out" | grep -q 'counter .*build/examples/counter.so' || { echo "modules: $out"; exit 1; }
# A path too long for the line keeps its end, after an ellipsis.
out=$(LC_ALL=C COLUMNS=72 $AX observer $node --batch -n 1 --view modules)
echo "$out" | grep -q '^ counter .*  \.\.\.ounter\.so$' || { echo "modules, narrow: $out"; exit 1; }
if $AX observer $node --batch -n 1 --view nosuch 2>/dev/null; then
    echo "a view that does not exist"; exit 1
fi

# --- Processes: the probe, filter, sort --------------------------------
t new-session -d -s s -x 120 -y 40 \
    "$AX observer $node; echo EXITED \$?; sleep 30"
wait_for 'Schedulers'
t send-keys -t s 2
wait_for 'PID .*NAME'
wait_for 'obs_probe'
t send-keys -t s / k v
wait_for 'matching "kv"'
wait_for '^ *<[0-9.]*> *kv '
screen | grep -q ' bank ' && { echo "filter kept bank:"; screen; exit 1; }
t send-keys -t s Escape
wait_for ' bank '
# Sort by rate (one column left of REDS): the node computes it.
t send-keys -t s '<'
wait_for 'sorted by reds_per_s desc'
# Sort by name (four columns left of REDS), ascending then descending.
t send-keys -t s '<' '<' '<'
wait_for 'sorted by name asc'
wait_until in_order bank segv asc
t send-keys -t s I
wait_for 'sorted by name desc'
wait_until in_order bank segv desc

# --- Process detail, and an action that asks first -----------------------
t send-keys -t s / obs_probe Enter
wait_for '^ *<[0-9.]*> *obs_probe '
t send-keys -t s Enter
wait_for 'Process <'
wait_for 'Links and monitors'
wait_for 'reductions [0-9]'
wait_for 'Mailbox: the first 0 of 0 messages'
t send-keys -t s k
wait_for 'Kill <.*>? (y/n)'
t send-keys -t s n
t send-keys -t s k
wait_for 'Kill <.*>? (y/n)'
t send-keys -t s y
wait_for '(not running)'
[ "$(shell 'whereis(obs_probe).')" = undefined ] || { echo "probe alive"; exit 1; }
t send-keys -t s Escape

# --- Tree: a killed child comes back with a new pid ------------------------
t send-keys -t s 3
wait_for 'demo_sup .*one_for_one'
old=$(screen | grep ' counter ' | grep -o '<[0-9.]*>')
[ -n "$old" ] || { echo "no counter:"; screen; exit 1; }
shell 'exit(whereis(counter), kill).' >/dev/null
wait_for ' counter .*restarted'
new=$(screen | grep ' counter ' | grep -o '<[0-9.]*>')
[ "$new" != "$old" ] || { echo "same pid $old:"; screen; exit 1; }
wait_for 'demo_sup .*restarts [1-9]'

# --- Crashes: the reason, the whole report ----------------------------------
shell 'exit(whereis(kv), observer_test_boom).' >/dev/null
t send-keys -t s 4
wait_for ' kv .*observer_test_boom'
t send-keys -t s / observer_test Enter
wait_for 'matching "observer_test"'
t send-keys -t s Enter
wait_for 'Crash report [0-9]'
wait_for '^ reason *observer_test_boom'
wait_for '^ last_message'
t send-keys -t s Escape
# kv's detail: its crashes as its supervisor's child kv, across restarts.
t send-keys -t s 2 / C-u k v Enter
wait_for '^ *<[0-9.]*> *kv '
t send-keys -t s Enter
wait_for 'Last crashes of child kv of <[0-9.]*> (across restarts)'
wait_for '^ #[0-9]* <[0-9.]*> observer_test_boom'
t send-keys -t s Escape
t send-keys -t s Escape

# --- Modules, help ------------------------------------------------------------
t send-keys -t s 5
wait_for 'counter .*counter.so'
t send-keys -t s '?'
wait_for 'Everywhere'
wait_for 'reload the selected module'
t send-keys -t s x
wait_for 'modules loaded'
t send-keys -t s Tab
wait_for 'Schedulers'

# --- Mouse: a tab, a header, a row, the wheel ------------------------------
# tmux reports the mouse to the observer in the normal (X10) encoding:
# ESC [ M, then 32 + button, 32 + column, 32 + row (1-based); button 3 is
# a release, 64 and 65 the wheel up and down.
chr() { printf "\\$(printf %o "$1")"; }
mouse() {
    t send-keys -t s -l "$(printf '\033[M')$(chr $((32 + $1)))$(chr $((32 + $2)))$(chr $((32 + $3)))"
}
click() { mouse 0 "$1" "$2"; mouse 3 "$1" "$2"; }
# The column (1-based) where $2 starts on screen line $1.
col_of() { screen | sed -n "${1}p" | awk -v w="$2" '{ print index($0, w) }'; }
click "$(col_of 1 '2 Processes')" 1
wait_for 'PID .*NAME'
t send-keys -t s / Escape # no filter left from kv
wait_for ' bank '
click "$(col_of 3 NAME)" 3
wait_for 'sorted by name'
first=$(screen | sed -n 2p | grep -o 'name [a-z]*')
click "$(col_of 3 NAME)" 3
order=$( [ "$first" = 'name asc' ] && echo desc || echo asc)
wait_for "sorted by name $order"
wait_until in_order bank kv $order
row=$(line_of ' kv ')
kv=$(screen | sed -n "${row}p" | grep -o '<[0-9.]*>')
click 3 "$row"
mouse 65 3 "$row"
mouse 64 3 "$row"
t send-keys -t s Enter
wait_for "Process $kv"
t send-keys -t s Escape
# The selection follows its process into the new order, as in htop.
wait_for 'PID .*NAME'
t send-keys -t s I
wait_until in_order bank kv $( [ "$order" = asc ] && echo desc || echo asc)
t send-keys -t s Enter
wait_for "Process $kv"
t send-keys -t s Escape
click "$(col_of 1 '1 System')" 1
wait_for 'Schedulers'

# --- q gives the terminal back --------------------------------------------
t send-keys -t s q
wait_for 'EXITED 0'
[ "$(t display -p -t s '#{alternate_on}')" = 0 ] || { echo "alternate screen left on"; exit 1; }

# --- A crash of the observer gives it back too --------------------------------
t kill-session -t s
t new-session -d -s s -x 120 -y 40 \
    "$AX observer $node --read-only; echo EXITED \$?; sleep 30"
wait_for 'read-only'
t send-keys -t s k
wait_for 'read-only: actions are disabled'
kill -SEGV "$(pgrep -n -f "observer $node --read-only")"
wait_for 'EXITED [1-9]' # 139; 1 under ASan, which reports it
[ "$(t display -p -t s '#{alternate_on}')" = 0 ] || { echo "alternate screen left on after SEGV"; exit 1; }

# --- The node goes away ------------------------------------------------------
t kill-session -t s
t new-session -d -s s -x 120 -y 40 "$AX observer $node; echo EXITED \$?; sleep 30"
wait_for 'Schedulers'
kill $pid
wait $pid || true
wait_for 'NODE GONE'
wait_for 'went away: r reconnects'
t send-keys -t s q
wait_for 'EXITED 0'

# --- Post-mortem: the crash log with no node ------------------------------------
out=$($AX observer --db "$dir/crash.db" --batch -n 1)
echo "$out" | grep -q ' kv .*observer_test_boom' || { echo "--db: $out"; exit 1; }
echo "$out" | grep -q '2 Processes' && { echo "--db shows Processes: $out"; exit 1; }
true
