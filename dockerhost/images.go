package dockerhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/docker/docker/api/types/image"
)

// The engine calls on images: inspect, pull, import (the pause image),
// remove and list (the node's image list).

func (e *engine) ImageInspect(ctx context.Context, ref string) (image.InspectResponse, error) {
	ctx, cancel := short(ctx)
	defer cancel()
	return e.c.ImageInspect(ctx, ref)
}

func (e *engine) ImagePull(ctx context.Context, ref string, options image.PullOptions) error {
	rc, err := e.c.ImagePull(ctx, ref, options)
	if err != nil {
		return err
	}
	defer rc.Close()
	return drainJSONMessages(rc)
}

func (e *engine) ImageImport(ctx context.Context, rootfs io.Reader, ref string, changes []string) error {
	rc, err := e.c.ImageImport(ctx, image.ImportSource{Source: rootfs, SourceName: "-"}, ref, image.ImportOptions{Changes: changes})
	if err != nil {
		return err
	}
	defer rc.Close()
	return drainJSONMessages(rc)
}

func (e *engine) ImageRemove(ctx context.Context, id string) error {
	ctx, cancel := short(ctx)
	defer cancel()
	_, err := e.c.ImageRemove(ctx, id, image.RemoveOptions{PruneChildren: true})
	return err
}

func (e *engine) ImageList(ctx context.Context) ([]image.Summary, error) {
	ctx, cancel := short(ctx)
	defer cancel()
	return e.c.ImageList(ctx, image.ListOptions{})
}

// drainJSONMessages reads a pull/import progress stream to its end and
// returns the first error the engine reported in it: the HTTP call of a pull
// succeeds even when the pull itself fails.
func drainJSONMessages(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read engine progress: %w", err)
		}
		if msg.ErrorDetail != nil && msg.ErrorDetail.Message != "" {
			return errors.New(msg.ErrorDetail.Message)
		}
		if msg.Error != "" {
			return errors.New(msg.Error)
		}
	}
}
