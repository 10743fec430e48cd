package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"github.com/vk-docker/vk-docker/dockerhost"
)

// newPauseImageCommand builds the pause image exactly as the node does at
// start-up; `make images` uses it so there is one way to build it.
func newPauseImageCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "pause-image",
		Short: "Build the pause image (--pause-image) from the embedded pause program if the engine lacks it",
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := o.firstDocker()
			if err != nil {
				return err
			}
			defer d.Close()
			if err := dockerhost.EnsurePauseImage(cmd.Context(), d, o.pauseImage); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), o.pauseImage)
			return nil
		},
	}
}
