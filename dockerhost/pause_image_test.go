package dockerhost_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
	"github.com/virtual-kubelet/virtual-kubelet/log"
	logruslogger "github.com/virtual-kubelet/virtual-kubelet/log/logrus"
	"github.com/vk-docker/vk-docker/dockerhost"
	"github.com/vk-docker/vk-docker/dockerhost/dockerfake"
)

// A sandbox image from elsewhere is used as given, with a warning when it
// lacks the pause program that volumes, subPaths and sandbox probes need.
func TestEnsurePauseImageWarnsAboutAForeignImage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		label bool
		warns bool
	}{
		{"a foreign pause image", false, true},
		{"a copy of vk-docker's", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logger, hook := logtest.NewNullLogger()
			logger.SetLevel(logrus.DebugLevel)
			ctx := log.WithLogger(context.Background(), logruslogger.FromLogrus(logrus.NewEntry(logger)))
			f := dockerfake.New()
			ref := "registry.example/pause:3.10"
			if tc.label {
				if err := f.ImageImport(ctx, strings.NewReader(""), ref, []string{"LABEL " + dockerhost.LabelPauseSHA256 + "=abc"}); err != nil {
					t.Fatal(err)
				}
			} else {
				f.AddImage(ref, "sha256:foreign", "")
			}
			if err := dockerhost.EnsurePauseImage(ctx, f, ref); err != nil {
				t.Fatal(err)
			}
			warned := false
			for _, e := range hook.AllEntries() {
				warned = warned || (e.Level == logrus.WarnLevel && strings.Contains(e.Message, "lacks vk-docker's pause program"))
			}
			if warned != tc.warns {
				t.Errorf("warned = %v, want %v (log: %v)", warned, tc.warns, hook.AllEntries())
			}
		})
	}
}
