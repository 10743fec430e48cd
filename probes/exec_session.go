package probes

// Exec probes through one long-lived shell per container: a docker exec
// costs the engine a runc exec and three API calls (tens of milliseconds of
// CPU), and 1 s exec probes on a few hundred pods saturate a small engine
// host. A session starts one shell in the container with docker exec and
// sends it each probe's command on its stdin; the shell runs the command as
// a child (exec'd from a subshell, so that no shell builtin stands in for
// it) and reports its exit code on the same stream. The command runs as a
// docker exec would run it: in the container's namespaces and cgroup, as
// its user, with its environment and working directory, no stdin.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/dockerhost"
)

// Execer runs the command of an exec probe in one container and judges it
// as ProbeExec does.
type Execer interface {
	Exec(ctx context.Context, cmd []string, timeout time.Duration) (Result, string, error)
}

// ContainerExec runs each command with its own docker exec (ProbeExec).
type ContainerExec struct {
	Docker dockerhost.Client
	ID     string
}

func (c ContainerExec) Exec(ctx context.Context, cmd []string, timeout time.Duration) (Result, string, error) {
	return ProbeExec(ctx, c.Docker, c.ID, cmd, timeout)
}

// sessionScript is the session's shell program. Each request is a line
// "<marker> <n>" followed by n lines holding the command's arguments, each
// single-quoted. It answers "\n<marker> <exit code>\n" on stdout and
// "\n<marker>\n" on stderr once the command has ended, "-" for the exit code
// when no executable file of that name is on the PATH, as the engine looks
// it up (the caller then lets the engine try, for the engine's own error; a
// shell builtin of that name does not count). The first word names it in
// `ps`.
const sessionScript = `: vk-docker exec probes
while read -r m n; do
	c=
	while [ "$n" -gt 0 ] && IFS= read -r l; do c="$c$l
"; n=$((n-1)); done
	eval "set -- $c"
	f=
	case $1 in
	*/*) [ -f "$1" ] && [ -x "$1" ] && f=1 ;;
	*) o=$IFS; IFS=:; for p in $PATH; do [ -f "${p:-.}/$1" ] && [ -x "${p:-.}/$1" ] && { f=1; break; }; done; IFS=$o ;;
	esac
	if [ "$f" ]; then (exec "$@") </dev/null; r=$?; else r=-; fi
	printf '\n%s %s\n' "$m" "$r"
	printf '\n%s\n' "$m" >&2
done`

// ExecSession runs the exec probes of one container instance through one
// long-lived shell in it (see sessionScript); a container without a shell
// gets one docker exec per probe instead. It is used by one goroutine at a
// time (a probe worker), which calls Close when done.
type ExecSession struct {
	docker      dockerhost.Client
	containerID string
	shell       *sessionShell // nil before the first probe and after one broke it
	// plain is set when the container cannot run the shell.
	plain bool
}

// NewExecSession returns a session for the container containerID; its shell
// starts with the first probe.
func NewExecSession(d dockerhost.Client, containerID string) *ExecSession {
	return &ExecSession{docker: d, containerID: containerID}
}

// Exec runs cmd in the container and returns what ProbeExec would: the same
// results, output (stdout then stderr, cut at 10 KiB) and timeout message.
// The timeout counts from when the shell has the command, not from the
// shell's start. A command the shell cannot find is run with a docker exec,
// whose error output is the engine's.
//
// A command that outlives its timeout keeps the shell: the next attempt
// first waits, within its own timeout, for that answer, and only a command
// still running then costs the session its shell (it runs on, as after a
// docker exec, and the next attempt starts another shell). On a loaded
// engine a late answer is the common case, and a new shell is a docker exec.
func (s *ExecSession) Exec(ctx context.Context, cmd []string, timeout time.Duration) (Result, string, error) {
	if s.plain || len(cmd) == 0 {
		return ProbeExec(ctx, s.docker, s.containerID, cmd, timeout)
	}
	if s.shell == nil {
		// The shell's start is the session's cost, not the command's: it
		// does not count against the probe's timeout.
		sctx, cancel := context.WithTimeout(ctx, shellStartTimeout)
		shell, err := startShell(sctx, s.docker, s.containerID)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return Unknown, "", ctx.Err()
			}
			return Unknown, "", err
		}
		s.shell = shell
	}
	sh := s.shell
	ectx, cancel := withTimeout(ctx, timeout)
	defer cancel()
	deadline, _ := ectx.Deadline()
	// The worker stopping ends the stream; a timeout only stops the read.
	stop := context.AfterFunc(ctx, func() { sh.hj.Close() })
	defer stop()

	var err error
	if sh.pending() {
		// The command of an earlier attempt outlived its timeout: its
		// answer comes first. Still running now, it costs the shell.
		if err = sh.readAnswer(deadline); errors.Is(err, os.ErrDeadlineExceeded) {
			s.Close()
		}
	}
	if err == nil {
		if err = sh.send(cmd); err == nil {
			err = sh.readAnswer(deadline)
		}
	}
	switch {
	case err == nil:
	case ctx.Err() != nil:
		s.Close()
		return Unknown, "", ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return Failure, timedOut(cmd, timeout), nil
	case !sh.answered:
		// The shell ended before its first answer: the container has none
		// (or is going away, and a docker exec will say so).
		log.G(ctx).WithField("containerID", s.containerID).WithError(err).
			Debug("The container cannot run the exec probe shell: one docker exec per probe")
		s.Close()
		s.plain = true
		return ProbeExec(ctx, s.docker, s.containerID, cmd, timeout)
	default:
		s.Close()
		return Unknown, "", err
	}
	output, exitCode, found, err := sh.result()
	if err == nil && !found {
		output, exitCode, err = runExec(ectx, s.docker, s.containerID, cmd)
	}
	return judgeExec(ctx, ectx, cmd, timeout, output, exitCode, err)
}

// Close ends the session's shell, if any: its stdin closes and it exits. A
// command it is still running (one that timed out) runs on, as with a
// docker exec.
func (s *ExecSession) Close() {
	if s.shell != nil {
		s.shell.hj.Close()
		s.shell = nil
	}
}

// shellStartTimeout bounds the start of a session's shell.
const shellStartTimeout = 30 * time.Second

// sessionShell is a running sessionScript, its attached stream, and the
// answer being read: reads stop at a deadline and resume where they were,
// frame by frame.
type sessionShell struct {
	hj       types.HijackedResponse
	answered bool // it answered once

	marker         string // of the request in flight; "" when none
	stdout, stderr streamTail
	status         string
	errDone        bool

	header    [8]byte // of the frame being read
	headerLen int
	left      int // payload bytes of that frame still to read
	buf       []byte
}

func startShell(ctx context.Context, d dockerhost.Client, containerID string) (*sessionShell, error) {
	_, hj, err := startExec(ctx, d, containerID, container.ExecOptions{
		Cmd:         []string{"sh", "-c", sessionScript},
		AttachStdin: true, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return nil, err
	}
	return &sessionShell{hj: hj, buf: make([]byte, 4<<10)}, nil
}

// errShellEnded is the session shell's stream ending before its answer.
var errShellEnded = errors.New("the exec probe shell ended")

// pending reports whether a request's answer has not been read in full.
func (sh *sessionShell) pending() bool { return sh.marker != "" }

// send writes cmd to the shell as a new request.
func (sh *sessionShell) send(cmd []string) error {
	sh.marker = newMarker()
	sh.stdout, sh.stderr, sh.status, sh.errDone = streamTail{}, streamTail{}, "", false
	quoted := shellQuote(cmd)
	req := fmt.Sprintf("%s %d\n%s\n", sh.marker, strings.Count(quoted, "\n")+1, quoted)
	if _, err := io.WriteString(sh.hj.Conn, req); err != nil {
		return fmt.Errorf("%w: %w", errShellEnded, err)
	}
	return nil
}

// readAnswer reads the stream until the request in flight is answered on
// both stdout and stderr, or until deadline (zero: none), when it returns
// an error wrapping os.ErrDeadlineExceeded and may be called again.
func (sh *sessionShell) readAnswer(deadline time.Time) error {
	if err := sh.hj.Conn.SetReadDeadline(deadline); err != nil {
		return fmt.Errorf("%w: %w", errShellEnded, err)
	}
	endOut, endErr := "\n"+sh.marker+" ", "\n"+sh.marker+"\n"
	for sh.status == "" || !sh.errDone {
		if sh.left == 0 {
			n, err := sh.hj.Reader.Read(sh.header[sh.headerLen:])
			sh.headerLen += n
			if sh.headerLen == len(sh.header) {
				sh.headerLen, sh.left = 0, int(binary.BigEndian.Uint32(sh.header[4:]))
			}
			if err != nil {
				return sh.readErr(err)
			}
			continue
		}
		n, err := sh.hj.Reader.Read(sh.buf[:min(len(sh.buf), sh.left)])
		sh.left -= n
		switch p := sh.buf[:n]; sh.header[0] {
		case 1:
			sh.stdout.write(p)
			if sh.status == "" {
				sh.status = sh.stdout.status(endOut)
			}
		case 2:
			sh.stderr.write(p)
			sh.errDone = sh.stderr.endsWith(endErr)
		default:
			return fmt.Errorf("%w: %s", errShellEnded, bytes.TrimSpace(p))
		}
		if err != nil {
			return sh.readErr(err)
		}
	}
	sh.marker = ""
	sh.answered = true
	return nil
}

func (sh *sessionShell) readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errShellEnded
	}
	return err
}

// result is the answer readAnswer read: the command's output (stdout then
// stderr, at most maxExecOutput bytes), its exit code, and whether the
// shell found the command.
func (sh *sessionShell) result() (string, int, bool, error) {
	if sh.status == "-" {
		return "", 0, false, nil
	}
	code, err := strconv.Atoi(sh.status)
	if err != nil {
		return "", 0, false, fmt.Errorf("exec probe shell: exit code %q", sh.status)
	}
	// The answers: "\n<marker> <status>\n" and "\n<marker>\n".
	out := append(sh.stdout.output(markerSize+len(sh.status)+3), sh.stderr.output(markerSize+2)...)
	return string(out[:min(len(out), maxExecOutput)]), code, true, nil
}

// streamTail keeps the first maxExecOutput bytes of a stream, its length,
// and its last bytes, where the shell's answer is.
type streamTail struct {
	head  []byte
	tail  []byte
	total int
}

const tailSize = 64

func (t *streamTail) write(p []byte) {
	t.total += len(p)
	if room := maxExecOutput - len(t.head); room > 0 {
		t.head = append(t.head, p[:min(room, len(p))]...)
	}
	t.tail = append(t.tail, p...)
	if len(t.tail) > tailSize {
		t.tail = append(t.tail[:0], t.tail[len(t.tail)-tailSize:]...)
	}
}

func (t *streamTail) endsWith(s string) bool { return bytes.HasSuffix(t.tail, []byte(s)) }

// status is the exit code that follows prefix on the stream's last line,
// "" while that line has not come.
func (t *streamTail) status(prefix string) string {
	if !bytes.HasSuffix(t.tail, []byte("\n")) {
		return ""
	}
	i := bytes.LastIndex(t.tail, []byte(prefix))
	if i < 0 {
		return ""
	}
	return string(t.tail[i+len(prefix) : len(t.tail)-1])
}

// output is what the command wrote, the answer of suffixLen bytes removed.
func (t *streamTail) output(suffixLen int) []byte {
	return t.head[:min(len(t.head), max(t.total-suffixLen, 0))]
}

// markerSize is the length of newMarker's markers.
const markerSize = len("vk") + 16

// newMarker is a fresh marker for one request, which no command can know.
func newMarker() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "vk" + hex.EncodeToString(b)
}

// shellQuote quotes each argument in single quotes for sessionScript's
// eval, which gives them back exactly, newlines included.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
