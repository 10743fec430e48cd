package lifecycle

import (
	"encoding/json"
	"testing"

	v1 "k8s.io/api/core/v1"
)

// Whatever a pod holds, admitting it never panics (translate's
// FuzzSecurityTranslation covers turning it into Docker terms).
func FuzzSecurityAdmission(f *testing.F) {
	f.Add([]byte(`{"spec":{"securityContext":{"appArmorProfile":{"type":"Localhost"}},"initContainers":[{"name":"i","securityContext":{"privileged":true}}],
		"containers":[{"name":"a","securityContext":{"appArmorProfile":{"type":"RuntimeDefault"},"privileged":false}}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var pod v1.Pod
		if json.Unmarshal(b, &pod) != nil {
			return
		}
		_ = appArmorRequired(&pod)
		_ = hasPrivileged(&pod)
	})
}
