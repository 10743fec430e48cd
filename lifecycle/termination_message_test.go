package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/vk-docker/vk-docker/dockerhost/dockerfake"
	v1 "k8s.io/api/core/v1"
)

// logWrite is one write to a fake container's log.
type logWrite struct {
	stderr bool
	text   string
}

func stdout(text string) logWrite { return logWrite{false, text} }
func stderr(text string) logWrite { return logWrite{true, text} }

// exitedFakeContainer creates a container on a fake engine with the given
// files, symlinks and log, and ends it with exitCode.
func exitedFakeContainer(t *testing.T, tty bool, files, links map[string]string, log []logWrite, exitCode int) (*dockerfake.Client, string) {
	t.Helper()
	ctx := context.Background()
	d := dockerfake.New()
	d.AddImage("busybox:1", "", "")
	resp, err := d.ContainerCreate(ctx, &container.Config{Image: "busybox:1", Tty: tty}, nil, nil, "app")
	if err != nil {
		t.Fatal(err)
	}
	id := resp.ID
	if err := d.ContainerStart(ctx, id); err != nil {
		t.Fatal(err)
	}
	for p, content := range files {
		if err := d.SetFile(id, p, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	for p, target := range links {
		if err := d.SetSymlink(id, p, target); err != nil {
			t.Fatal(err)
		}
	}
	for _, w := range log {
		if err := d.AppendLog(id, w.stderr, w.text); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.SetExited(id, exitCode, false); err != nil {
		t.Fatal(err)
	}
	d.ResetCalls()
	return d, id
}

func numberedLines(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

func TestTerminationMessage(t *testing.T) {
	const (
		file     = v1.TerminationMessageReadFile
		fallback = v1.TerminationMessageFallbackToLogsOnError
		def      = "/dev/termination-log"
	)
	big := strings.Repeat("a", 1000) + strings.Repeat("b", 4000) + "END"
	longLine := strings.Repeat("x", 1500) + "\n"
	crash := []logWrite{stdout("starting\n"), stderr("panic: boom\n"), stdout("goroutine 1\n")}
	cases := []struct {
		name   string
		tty    bool
		files  map[string]string
		links  map[string]string
		log    []logWrite
		exit   int
		path   string
		policy v1.TerminationMessagePolicy
		want   string
	}{
		{name: "the file at the default path", files: map[string]string{def: "bye\n"}, exit: 3, path: def, policy: file, want: "bye\n"},
		{name: "an empty path means the default", files: map[string]string{def: "bye\n"}, exit: 0, policy: file, want: "bye\n"},
		{name: "a custom path", files: map[string]string{"/tmp/msg": "custom", def: "not this"}, exit: 1, path: "/tmp/msg", policy: file, want: "custom"},
		{name: "a file of exactly 4096 bytes is whole", files: map[string]string{def: big[len(big)-4096:]}, path: def, policy: file, want: big[len(big)-4096:]},
		{name: "a larger file keeps its last 4096 bytes", files: map[string]string{def: big}, path: def, policy: file, want: big[len(big)-4096:]},
		{name: "a missing file is no message", log: crash, exit: 1, path: def, policy: file, want: ""},
		{name: "an empty file is no message", files: map[string]string{def: ""}, log: crash, exit: 1, path: def, policy: file, want: ""},
		{name: "fallback: a missing file and exit 0 is no message", log: crash, exit: 0, path: def, policy: fallback, want: ""},
		{name: "fallback: a missing file and exit 1 is the log, both streams in order", log: crash, exit: 1, path: def, policy: fallback,
			want: "starting\npanic: boom\ngoroutine 1\n"},
		{name: "fallback: an empty file and exit 2 is the log", files: map[string]string{def: ""}, log: crash, exit: 2, path: def, policy: fallback,
			want: "starting\npanic: boom\ngoroutine 1\n"},
		{name: "fallback: the file wins over the log", files: map[string]string{def: "from file"}, log: crash, exit: 1, path: def, policy: fallback, want: "from file"},
		{name: "fallback: the last 80 lines of a longer log", log: []logWrite{stdout(numberedLines(1, 60)), stderr(numberedLines(61, 100))}, exit: 1, path: def, policy: fallback,
			want: numberedLines(21, 100)},
		{name: "fallback: the last 2048 bytes of long lines", log: []logWrite{stdout(longLine), stdout(longLine), stderr("tail\n")}, exit: 1, path: def, policy: fallback,
			want: (longLine + longLine + "tail\n")[len(longLine)*2+5-2048:]},
		{name: "fallback: a last line without newline", log: []logWrite{stdout("a\n"), stderr("no newline")}, exit: 1, policy: fallback, want: "a\nno newline"},
		{name: "fallback: a TTY's raw log", tty: true, log: []logWrite{stdout("$ crash\r\n"), stdout("oops\r\n")}, exit: 1, path: def, policy: fallback, want: "$ crash\r\noops\r\n"},
		{name: "fallback: a TTY's log longer than 2048 bytes", tty: true, log: []logWrite{stdout(longLine), stdout(longLine)}, exit: 1, policy: fallback,
			want: (longLine + longLine)[len(longLine)*2-2048:]},
		{name: "fallback: no log at all", exit: 1, path: def, policy: fallback, want: ""},
		{name: "fallback: a custom path that is missing", files: map[string]string{def: "not this"}, log: crash, exit: 1, path: "/tmp/msg", policy: fallback,
			want: "starting\npanic: boom\ngoroutine 1\n"},
		{name: "a relative symlink is followed", files: map[string]string{"/dev/real": "linked"}, links: map[string]string{def: "real"}, path: def, policy: file, want: "linked"},
		{name: "an absolute symlink is followed", files: map[string]string{"/var/log/msg": "linked"}, links: map[string]string{def: "/var/log/msg"}, path: def, policy: file, want: "linked"},
		{name: "a dangling symlink is no file", links: map[string]string{def: "/nowhere"}, log: crash, exit: 1, path: def, policy: fallback,
			want: "starting\npanic: boom\ngoroutine 1\n"},
		{name: "a symlink loop is no file", links: map[string]string{def: "/dev/loop", "/dev/loop": def}, log: crash, exit: 1, path: def, policy: fallback,
			want: "starting\npanic: boom\ngoroutine 1\n"},
		{name: "a directory is no file", files: map[string]string{"/tmp/msg/inner": "not this"}, log: crash, exit: 1, path: "/tmp/msg", policy: fallback,
			want: "starting\npanic: boom\ngoroutine 1\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, id := exitedFakeContainer(t, c.tty, c.files, c.links, c.log, c.exit)
			got, err := terminationMessage(context.Background(), d, id, c.exit, c.path, c.policy)
			if err != nil {
				t.Fatalf("terminationMessage: %v", err)
			}
			if got != c.want {
				t.Errorf("message = %q (%d bytes), want %q (%d bytes)", got, len(got), c.want, len(c.want))
			}
			if len(got) > 4096 {
				t.Errorf("message of %d bytes exceeds the kubelet's limit", len(got))
			}
		})
	}
}

// The common case, no file and the default policy, costs one engine call.
func TestTerminationMessageMissingFileIsOneCall(t *testing.T) {
	d, id := exitedFakeContainer(t, false, nil, nil, []logWrite{stdout("x\n")}, 1)
	got, err := terminationMessage(context.Background(), d, id, 1, "", v1.TerminationMessageReadFile)
	if err != nil || got != "" {
		t.Fatalf("terminationMessage = %q, %v; want no message", got, err)
	}
	if calls, want := d.Calls(), []string{"CopyFromContainer " + id + " /dev/termination-log"}; !slices.Equal(calls, want) {
		t.Errorf("calls = %q, want %q", calls, want)
	}
}

func TestTerminationMessageErrors(t *testing.T) {
	unavailable := fmt.Errorf("engine restarting: %w", cerrdefs.ErrUnavailable)
	crash := []logWrite{stderr("panic\n")}

	t.Run("a failed copy is an error, and the log is not read", func(t *testing.T) {
		d, id := exitedFakeContainer(t, false, nil, nil, crash, 1)
		d.InjectError("CopyFromContainer", unavailable)
		got, err := terminationMessage(context.Background(), d, id, 1, "", v1.TerminationMessageFallbackToLogsOnError)
		if !cerrdefs.IsUnavailable(err) || got != "" || !strings.Contains(err.Error(), "/dev/termination-log") {
			t.Errorf("terminationMessage = %q, %v; want the engine's error with the path", got, err)
		}
		if slices.ContainsFunc(d.Calls(), func(c string) bool { return strings.HasPrefix(c, "ContainerLogs") }) {
			t.Errorf("the log was read after a failed copy: %q", d.Calls())
		}
	})
	t.Run("a failed log read is an error", func(t *testing.T) {
		d, id := exitedFakeContainer(t, false, nil, nil, crash, 1)
		d.InjectError("ContainerLogs", unavailable)
		got, err := terminationMessage(context.Background(), d, id, 1, "", v1.TerminationMessageFallbackToLogsOnError)
		if !errors.Is(err, cerrdefs.ErrUnavailable) || got != "" {
			t.Errorf("terminationMessage = %q, %v; want the engine's error", got, err)
		}
	})
	t.Run("an error the engine sends in the log stream is an error", func(t *testing.T) {
		d, id := exitedFakeContainer(t, false, nil, nil, nil, 1)
		// A stdout frame, then a stdcopy.Systemerr frame.
		if err := d.SetLogs(id, []byte{1, 0, 0, 0, 0, 0, 0, 2, 'o', 'k', 3, 0, 0, 0, 0, 0, 0, 4, 'o', 'o', 'p', 's'}); err != nil {
			t.Fatal(err)
		}
		if got, err := terminationMessage(context.Background(), d, id, 1, "", v1.TerminationMessageFallbackToLogsOnError); err == nil || !strings.Contains(err.Error(), "oops") {
			t.Errorf("terminationMessage = %q, %v; want the engine's error", got, err)
		}
	})
	t.Run("a removed container: no file, and the log is NotFound", func(t *testing.T) {
		d, id := exitedFakeContainer(t, false, nil, nil, crash, 1)
		if err := d.ContainerRemove(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		if got, err := terminationMessage(context.Background(), d, id, 1, "", v1.TerminationMessageReadFile); got != "" || err != nil {
			t.Errorf("with policy File: %q, %v; want no message", got, err)
		}
		if _, err := terminationMessage(context.Background(), d, id, 1, "", v1.TerminationMessageFallbackToLogsOnError); !cerrdefs.IsNotFound(err) {
			t.Errorf("with the fallback: %v, want NotFound", err)
		}
	})
}

func TestTailBuffer(t *testing.T) {
	cases := []struct {
		writes []string
		want   string
	}{
		{nil, ""},
		{[]string{"abc"}, "abc"},
		{[]string{"abcde"}, "abcde"},
		{[]string{"abcdefg"}, "cdefg"},
		{[]string{"ab", "cd", "ef"}, "bcdef"},
		{[]string{"abcd", "", "efghijkl", "m"}, "ijklm"},
	}
	for _, c := range cases {
		b := newTailBuffer(5)
		for _, w := range c.writes {
			if n, err := b.Write([]byte(w)); n != len(w) || err != nil {
				t.Fatalf("Write(%q) = %d, %v", w, n, err)
			}
		}
		if got := b.String(); got != c.want {
			t.Errorf("writes %q kept %q, want %q", c.writes, got, c.want)
		}
	}
}
