package dockerfake

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/events"
	"k8s.io/utils/clock"
)

// What tests use to steer the fake and to see what happened: injected
// errors, hooks, the call log, images, exits, logs and files.

// SetClock sets the time source of timestamps (StartedAt, FinishedAt, event
// times); tests pass the fake clock their code under test uses.
func (f *Client) SetClock(c clock.PassiveClock) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = c
}

// SetInfo sets the CPUs and memory Info reports.
func (f *Client) SetInfo(ncpu int, memTotal int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.info.NCPU, f.info.MemTotal = ncpu, memTotal
}

// InjectError makes every later call of op (a Client method name such as
// "ContainerStart") fail with err, until InjectError(op, nil). The failed
// calls still appear in Calls.
func (f *Client) InjectError(op string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.errs, op)
		return
	}
	f.errs[op] = err
}

// SetHook installs a function called at the start of every call with the
// operation and its arguments, as logged by Calls. A non-nil error is returned
// as the call's result. The hook runs without the fake's lock held, so it may
// call the fake (those calls reach the hook too); nil removes it.
func (f *Client) SetHook(hook func(op string, args []string) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = hook
}

// Calls returns every call made so far, in order, as "<Method> <args...>":
// "ContainerCreate <name>", "ContainerStart <id>", "ContainerKill <id> <signal>",
// "ContainerRemove <id>", "VolumeCreate <name>", "ImagePull <ref>", ...
func (f *Client) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// ResetCalls forgets the calls made so far.
func (f *Client) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// AddImage makes image ref present with the given ID (generated when empty)
// and STOPSIGNAL (none when empty).
func (f *Client) AddImage(ref, id, stopSignal string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addImageLocked(&Image{Ref: ref, ID: id, StopSignal: stopSignal})
}

// Image returns the image ref (a reference or an ID) as the fake holds it.
func (f *Client) Image(ref string) (Image, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img := f.imageLocked(ref)
	if img == nil {
		return Image{}, false
	}
	out := *img
	out.Labels = maps.Clone(img.Labels)
	out.Changes = slices.Clone(img.Changes)
	return out, true
}

// IgnoreSignal makes the container ref (an ID, or a name that may not exist
// yet) survive signal. SIGKILL cannot be ignored. It panics on a signal name
// it does not know: that is a mistake in the test.
func (f *Client) IgnoreSignal(ref, signal string) {
	sig, _, err := parseSignal(signal)
	if err != nil {
		panic(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ref = strings.TrimPrefix(ref, "/")
	if f.ignored[ref] == nil {
		f.ignored[ref] = map[string]bool{}
	}
	f.ignored[ref][sig] = true
}

// SetSignalHandler replaces the default reaction to every signal but SIGKILL:
// handler says whether the container exits, and with which code. nil restores
// the default (see Client).
func (f *Client) SetSignalHandler(handler func(id, name, signal string) (exits bool, exitCode int)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onSignal = handler
}

// Signals returns the signals the container ref (ID or name) received, in
// order, by name ("SIGTERM"). Stops and forced removals count.
func (f *Client) Signals(ref string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(ref)
	if c == nil {
		return nil
	}
	return slices.Clone(c.signals)
}

// SetExited ends a running container as a crash would: exit code exitCode,
// OOMKilled when oom, with oom (if so) and die events.
func (f *Client) SetExited(ref string, exitCode int, oom bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(ref)
	if c == nil {
		return notFound("container", ref)
	}
	if !c.state.Running {
		return fmt.Errorf("container %s is not running: %w", ref, cerrdefs.ErrConflict)
	}
	f.exitLocked(c, exitCode, oom)
	return nil
}

// SetOOMKilledLate marks an exited container OOM-killed, with an oom event,
// as Docker 20.10 on cgroup v2 may do some time after the die event.
func (f *Client) SetOOMKilledLate(ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(ref)
	if c == nil {
		return notFound("container", ref)
	}
	if c.state.Running {
		return fmt.Errorf("container %s is running: %w", ref, cerrdefs.ErrConflict)
	}
	c.state.OOMKilled = true
	f.publishLocked(c, events.ActionOOM, nil)
	return nil
}

// SetLogs sets what ContainerLogs returns for the container ref (as is:
// multiplexed or raw, as the test needs), whatever the options. It overrides
// the lines AppendLog wrote.
func (f *Client) SetLogs(ref string, log []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(ref)
	if c == nil {
		return notFound("container", ref)
	}
	f.logs[c.id] = slices.Clone(log)
	return nil
}

// AppendLog adds text to the log of the container ref, on stderr or stdout,
// as the engine's log driver records it: one entry per line, a last line
// without "\n" making an entry of its own. ContainerLogs then returns the
// entries (those of the streams asked for, the last Tail of them) multiplexed
// in stdcopy frames, or raw when the container has a TTY.
func (f *Client) AppendLog(ref string, stderr bool, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(ref)
	if c == nil {
		return notFound("container", ref)
	}
	for text != "" {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line = text[:i+1]
		}
		text = text[len(line):]
		f.logLines[c.id] = append(f.logLines[c.id], fakeLogLine{stderr: stderr, text: line})
	}
	return nil
}

// SetFile puts a regular file with content at the absolute path p inside the
// container ref (replacing what was there), for CopyFromContainer. Files
// survive the container's exit, as its writable layer does, and go with it.
func (f *Client) SetFile(ref, p string, content []byte) error {
	return f.setFile(ref, p, fakeFile{content: slices.Clone(content)})
}

// SetSymlink puts a symbolic link to target at the absolute path p inside the
// container ref; CopyFromContainer returns the link itself, as the engine does.
func (f *Client) SetSymlink(ref, p, target string) error {
	return f.setFile(ref, p, fakeFile{link: target})
}

func (f *Client) setFile(ref, p string, file fakeFile) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.lookupLocked(ref)
	if c == nil {
		return notFound("container", ref)
	}
	if f.files[c.id] == nil {
		f.files[c.id] = map[string]fakeFile{}
	}
	file.modTime = f.clock.Now()
	f.files[c.id][containerPath(p)] = file
	return nil
}

// FailEvents ends every open event stream with err, as when the engine
// connection breaks.
func (f *Client) FailEvents(err error) {
	f.mu.Lock()
	subs := slices.Collect(maps.Keys(f.subs))
	clear(f.subs)
	f.mu.Unlock()
	for _, s := range subs {
		s.fail(err)
	}
}
