package expansion

import (
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestSubPath(t *testing.T) {
	env := []v1.EnvVar{{Name: "POD", Value: "web-1"}, {Name: "NS", Value: "prod"}}
	for expr, want := range map[string]string{
		"logs/$(POD)":    "logs/web-1",
		"$(NS)/$(POD).d": "prod/web-1.d",
		"cost$$":         "cost$",
		"plain":          "plain",
		"open$(NS":       "open$(NS",
	} {
		if got, err := SubPath(expr, env); err != nil || got != want {
			t.Errorf("SubPath(%q) = %q, %v; want %q", expr, got, err, want)
		}
	}
	if got, err := SubPath("$(A)/$(NS)/$(B)", env); err == nil || err.Error() != "missing value for A, B" {
		t.Errorf("unset variables: %q, %v; want the kubelet's error", got, err)
	}
}
