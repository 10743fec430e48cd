package lifecycle

import "time"

// exitSIGKILL is the exit code of a process killed by SIGKILL, as the
// kernel's OOM killer does.
const exitSIGKILL = 137

// oomWait is how long a container that exited with SIGKILL under a memory
// limit is given for the engine to say it was OOM-killed. Docker 20.10 on
// cgroup v2 may set OOMKilled, and send its oom event, after the die event;
// a status reported in between would say Error, and a pod that failed for
// good would keep that (the pod controller writes no status after a
// terminal phase).
const oomWait = 2 * time.Second

// oomPending reports whether the status is to be held back because the
// newest instance of a container exited with SIGKILL under a memory limit
// that the node did not send, the engine does not (yet) say it was
// OOM-killed, and oomWait has not passed since the exit was first seen;
// and how long is left. The oom event wakes the worker sooner.
func oomPending(in syncInput) (time.Duration, bool) {
	var left time.Duration
	for _, insts := range in.obs.containers {
		inst := insts[0]
		st, host := inst.inspect.State, inst.inspect.HostConfig
		if !inst.exited() || st.ExitCode != exitSIGKILL || st.OOMKilled || host == nil || host.Memory <= 0 {
			continue
		}
		r := in.mem.instances[inst.id()]
		if r == nil || r.exitSeen.IsZero() || r.stop != nil {
			continue // a SIGKILL of the node's own, not the OOM killer's
		}
		left = max(left, r.exitSeen.Add(oomWait).Sub(in.now))
	}
	return left, left > 0
}
