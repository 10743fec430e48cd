package provider

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/virtual-kubelet/virtual-kubelet/node/api"
)

// initialSizeWait bounds how long input waits for kubectl's first TTY size.
const initialSizeWait = time.Second

// pumpStreams connects kubectl's streams to a hijacked exec or attach
// stream of the engine until the engine's side ends (the command or
// container exits) or ctx ends (the client went away). TTY resizes are
// passed to resize. It returns the error of the output copy, if any.
func pumpStreams(ctx context.Context, hj types.HijackedResponse, attach api.AttachIO, tty bool, resize func(ctx context.Context, height, width uint) error) error {
	// A client that goes away must not leave us reading a stream that only
	// ends with the container: closing the connection ends the copy below.
	var wg sync.WaitGroup
	defer wg.Wait() // after stop: the resize loop ends with ctx
	ctx, stop := closeOnDone(ctx, func() error { hj.Close(); return nil })
	defer stop()
	if tty && attach.Resize() != nil {
		// kubectl sends the terminal's size first thing; a shell that reads
		// its first input before the size is applied answers for 24x80.
		select {
		case size, ok := <-attach.Resize():
			if ok {
				if err := resize(ctx, uint(size.Height), uint(size.Width)); err != nil {
					log.G(ctx).WithError(err).Debug("Cannot resize TTY")
				}
			}
		case <-time.After(initialSizeWait):
		case <-ctx.Done():
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case size, ok := <-attach.Resize():
					if !ok {
						return
					}
					if err := resize(ctx, uint(size.Height), uint(size.Width)); err != nil {
						log.G(ctx).WithError(err).Debug("Cannot resize TTY")
					}
				}
			}
		}()
	}
	if in := attach.Stdin(); in != nil {
		// Not waited for: a read of the client's stdin only returns when the
		// client sends or goes away; the connection close above makes its
		// write fail, so it ends with the client at the latest.
		go func() {
			_, _ = io.Copy(hj.Conn, in)
			_ = hj.CloseWrite()
		}()
	}
	stdout, stderr := writerOrDiscard(attach.Stdout()), writerOrDiscard(attach.Stderr())
	var err error
	if tty {
		_, err = io.Copy(stdout, hj.Reader)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, hj.Reader)
	}
	if err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
		return err
	}
	return nil
}

func writerOrDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// closeOnDone closes c when ctx ends or stop is called, whichever is first;
// stop returns once the closing goroutine has ended. The returned context
// ends with stop.
func closeOnDone(ctx context.Context, c func() error) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		_ = c()
	}()
	return ctx, func() {
		cancel()
		<-done
	}
}
