package dockerhost

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/docker/docker/api/types/filters"
)

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

func labelFilter(labels []string) filters.Args {
	f := filters.NewArgs()
	for _, l := range labels {
		f.Add("label", l)
	}
	return f
}
