# The shell in a terminal (a tmux pane). Ctrl-C interrupts a receive
# without after, and a call to a server that never answers, and the shell
# goes on with the node intact; at the prompt it drops the line being
# typed. A linked process's crash kills the shell, which says so.
set -e
command -v tmux >/dev/null || { echo "tmux is missing (scripts/deps.sh)"; exit 1; }
sock=ax-e2e-$$
node=e2e-ctrlc-$$
t() { tmux -L $sock "$@"; }
trap 't kill-server 2>/dev/null || true' EXIT
# Waits (5 s at most) until the pane shows a line matching $1.
wait_for() {
    i=0
    until t capture-pane -p -t s | grep -q -- "$1"; do
        i=$((i + 1))
        if [ $i -ge 100 ]; then
            echo "no '$1' in:"; t capture-pane -p -t s; exit 1
        fi
        sleep 0.05
    done
}
t new-session -d -s s -x 100 -y 40 \
    "$AX shell --name $node --path build/examples; sleep 30"
wait_for '^1> *$'
t send-keys -t s 'receive X -> X end.' Enter
wait_for '^1> receive X -> X end\.$'
t send-keys -t s C-c
wait_for '^\*\* exception exit: interrupted$'
wait_for '^2> *$'
t send-keys -t s 'P = spawn(runaway, []).' Enter
wait_for '^3> *$'
t send-keys -t s 'cast(P, loop), call(P, ping).' Enter
wait_for 'call(P, ping)\.$'
t send-keys -t s C-c
wait_for '^4> *$'
[ "$(t capture-pane -p -t s | grep -c 'exception exit: interrupted')" = 2 ] ||
    { echo "second interrupt:"; t capture-pane -p -t s; exit 1; }
t send-keys -t s 'exit(P, kill), 6 * 7.' Enter
wait_for '^42$'
t send-keys -t s 'this line is dropped' C-c
wait_for '^5> *$'
# A linked crash while the shell waits at its prompt is told at once.
t send-keys -t s 'L = spawn_link(counter, [0]), ok.' Enter
wait_for '^ok$'
t send-keys -t s 'exit(L, boom).' Enter
wait_for '^\*\* exception exit: boom$'
t send-keys -t s 'q().' Enter
wait_for '^ok$'
