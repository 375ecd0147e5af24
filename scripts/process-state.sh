# Sourced by the scripts that supervise processes (procs.sh, kafka.sh).
#
# alive <pid>: whether the process runs. `kill -0` is not enough: it succeeds on a process that has exited but
# is not yet reaped (a zombie), and where PID 1 reaps late (containers, some CI machines) a crashed process stays
# a zombie for a while, so a restart would think it still runs and do nothing. /proc/<pid>/stat's state says.
alive() {
  local pid="$1" stat state
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Without /proc (not Linux), kill -0 is all there is.
  [[ -r "/proc/$pid/stat" ]] || return 0
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  # The state follows the command name, which is in parentheses and may itself hold spaces and parentheses.
  state="${stat##*) }"
  state="${state%% *}"
  [[ "$state" != "Z" && "$state" != "X" ]]
}
