package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// One setup writes the hosts file, sets up the emptyDirs and fills the
// API-data volumes; a volume that cannot be written fails alone, while a
// broken hosts file, emptyDir or input fails the whole set-up.
func TestSetup(t *testing.T) {
	dir := t.TempDir()
	hosts := filepath.Join(dir, "hosts")
	if err := os.WriteFile(hosts, []byte("engine's\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	scratch, config, broken := filepath.Join(dir, "scratch"), filepath.Join(dir, "config"), filepath.Join(dir, "broken")
	for _, d := range []string{scratch, config, broken} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	input := `{"head":"# Kubernetes-managed hosts file.\n"}` +
		`{"files":{"k":{"data":"djE=","mode":420}}}` +
		`{"files":{"../out":{"data":"","mode":420}}}`
	var out bytes.Buffer
	err := setup([]string{"--hosts", "--emptydir", scratch, "--volume", config, "--volume", broken}, strings.NewReader(input), &out, hosts)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(hosts); string(got) != "# Kubernetes-managed hosts file.\n" {
		t.Errorf("hosts = %q", got)
	}
	if st, err := os.Stat(scratch); err != nil || st.Mode().Perm() != 0o777 {
		t.Errorf("emptyDir root: %v, %v; want mode 0777", st, err)
	}
	if got, err := os.ReadFile(filepath.Join(config, "k")); err != nil || string(got) != "v1" {
		t.Errorf("config/k = %q, %v; want v1", got, err)
	}
	var failed map[string]string
	if err := json.Unmarshal(out.Bytes(), &failed); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	if !strings.Contains(failed[broken], "must not") || len(failed) != 1 {
		t.Errorf("failed = %q, want %s refused and nothing else", failed, broken)
	}
	out.Reset()
	if err := setup([]string{"--volume", config}, strings.NewReader(`{"files":{"k":{"data":"djI=","mode":420}}}`), &out, hosts); err != nil || out.Len() != 0 {
		t.Errorf("a set-up that wrote everything: %v, output %q; want no output", err, out.String())
	}

	for _, c := range []struct {
		name  string
		args  []string
		input string
	}{
		{"input not JSON", []string{"--hosts"}, "not json"},
		{"payload missing", []string{"--volume", config}, ""},
		{"emptyDir missing", []string{"--emptydir", filepath.Join(dir, "absent")}, ""},
		{"unknown argument", []string{"--bogus"}, ""},
		{"flag without a value", []string{"--volume"}, ""},
		{"more input than asked for", []string{"--volume", config}, `{"files":{}}{"files":{}}`},
	} {
		if err := setup(c.args, strings.NewReader(c.input), &out, hosts); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}
