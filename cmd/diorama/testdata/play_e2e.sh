#!/usr/bin/env bash
# End-to-end check of `diorama play` in a real terminal: tmux runs the shell
# on a bundled pack with the offline renderer, send-keys types a line, and
# capture-pane must show the reply and the status bar. Usage:
#   play_e2e.sh BIN PACK WORKDIR
set -euo pipefail
bin=$1 pack=$2 work=$3
sock="$work/tmux.sock"
session=diorama-e2e
export XDG_DATA_HOME="$work/data"
tm() { tmux -S "$sock" "$@"; }
cleanup() { tm kill-server 2>/dev/null || true; }
trap cleanup EXIT

tm new-session -d -s "$session" -x 150 -y 30 "$bin play $pack --backend offline 2>$work/stderr"
# wait for the status bar
wait_for() {
	for _ in $(seq 1 100); do
		if tm capture-pane -t "$session" -p | grep -q "$1"; then return 0; fi
		sleep 0.1
	done
	echo "timed out waiting for: $1" >&2
	tm capture-pane -t "$session" -p >&2
	cat "$work/stderr" >&2 || true
	return 1
}
wait_for "OFFLINE"
tm send-keys -t "$session" "Mara, how far is the lake?" Enter
wait_for "Mara: "
screen=$(tm capture-pane -t "$session" -p)
grep -q "Sam: Mara, how far is the lake?" <<<"$screen" || { echo "the player's line is missing" >&2; echo "$screen" >&2; exit 1; }
grep -q "Highway 9" <<<"$screen" || { echo "the status bar shows no location" >&2; echo "$screen" >&2; exit 1; }
grep -q "branch main" <<<"$screen" || { echo "the status bar shows no branch" >&2; echo "$screen" >&2; exit 1; }
tm send-keys -t "$session" "/quit" Enter
for _ in $(seq 1 50); do
	tm has-session -t "$session" 2>/dev/null || { echo "ok"; exit 0; }
	sleep 0.1
done
echo "the shell did not quit on /quit" >&2
exit 1
