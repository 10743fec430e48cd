package dockerfake

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
)

// Signals end containers as a process with default handlers would.

// signalLocked delivers signal to a running container and ends it when the
// signal is fatal to it.
func (f *Client) signalLocked(c *fakeContainer, signal string) error {
	sig, num, err := parseSignal(signal)
	if err != nil {
		return err
	}
	c.signals = append(c.signals, sig)
	f.publishLocked(c, events.ActionKill, map[string]string{"signal": strconv.Itoa(num)})
	var exits bool
	var code int
	switch {
	case sig == "SIGKILL":
		exits, code = true, 128+9
	case f.ignored[c.id][sig] || f.ignored[c.name][sig]:
	case f.onSignal != nil:
		exits, code = f.onSignal(c.id, c.name, sig)
	default:
		exits, code = !ignoredByDefault[sig], 128+num
	}
	if exits {
		f.exitLocked(c, code, false)
	}
	return nil
}

func (f *Client) exitLocked(c *fakeContainer, code int, oom bool) {
	if oom {
		f.publishLocked(c, events.ActionOOM, nil)
	}
	c.state.Running = false
	c.state.Status = container.StateExited
	c.state.ExitCode = code
	c.state.OOMKilled = oom
	c.state.Pid = 0
	c.state.FinishedAt = f.clock.Now().UTC().Format(time.RFC3339Nano)
	c.ip = ""
	f.publishLocked(c, events.ActionDie, map[string]string{"exitCode": strconv.Itoa(code)})
}

// Linux signal numbers, and the signals whose default action is not to end
// the process.
var signalNumbers = map[string]int{
	"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6, "SIGBUS": 7,
	"SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12, "SIGPIPE": 13,
	"SIGALRM": 14, "SIGTERM": 15, "SIGSTKFLT": 16, "SIGCHLD": 17, "SIGCONT": 18, "SIGSTOP": 19,
	"SIGTSTP": 20, "SIGTTIN": 21, "SIGTTOU": 22, "SIGURG": 23, "SIGXCPU": 24, "SIGXFSZ": 25,
	"SIGVTALRM": 26, "SIGPROF": 27, "SIGWINCH": 28, "SIGIO": 29, "SIGPWR": 30, "SIGSYS": 31,
}

var ignoredByDefault = map[string]bool{
	"SIGCHLD": true, "SIGCONT": true, "SIGURG": true, "SIGWINCH": true,
	"SIGSTOP": true, "SIGTSTP": true, "SIGTTIN": true, "SIGTTOU": true,
}

// parseSignal accepts "SIGTERM", "TERM", "term" or "15".
func parseSignal(s string) (name string, num int, err error) {
	if n, convErr := strconv.Atoi(s); convErr == nil {
		for name, num := range signalNumbers {
			if num == n {
				return name, num, nil
			}
		}
		return "", 0, fmt.Errorf("invalid signal: %s: %w", s, cerrdefs.ErrInvalidArgument)
	}
	name = strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	num, ok := signalNumbers[name]
	if !ok {
		return "", 0, fmt.Errorf("invalid signal: %s: %w", s, cerrdefs.ErrInvalidArgument)
	}
	return name, num, nil
}
