// Command vk-docker runs a virtual-kubelet node whose pods are Docker
// container groups on a Docker host.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	logruslogger "github.com/virtual-kubelet/virtual-kubelet/log/logrus"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "0.1.0"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "vk-docker:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	o := defaultOptions()
	cmd := &cobra.Command{
		Use:           "vk-docker",
		Short:         "A virtual-kubelet node that runs Pods as Docker container groups",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return setupLogging(cmd.Context(), o.logLevel)
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.standalone() {
				return runStandalone(cmd.Context(), o)
			}
			return runNode(cmd.Context(), o)
		},
	}
	o.addFlags(cmd)
	cmd.AddCommand(newPauseImageCommand(o), newPodsCommand(o), &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), version) },
	})
	return cmd
}

func setupLogging(ctx context.Context, level string) error {
	lvl, err := logrus.ParseLevel(level)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	l := logrus.New()
	l.SetLevel(lvl)
	l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	log.L = logruslogger.FromLogrus(logrus.NewEntry(l))
	return nil
}
