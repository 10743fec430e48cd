package dockerhost

import (
	"fmt"
	"strconv"
	"strings"
)

// Container names follow dockershim: k8s_<container>_<pod>_<namespace>_<uid>_<attempt>,
// with container "POD" for the sandbox. The name is the idempotency key of
// every create: the same pod, container and attempt always map to the same
// name, so a retried create finds the container it made before. None of the
// parts can contain "_" (Kubernetes names are DNS labels or subdomains and
// UIDs are UUIDs), which makes the name parseable.
const namePrefix = "k8s"

// ContainerName identifies one instance of one container of one pod.
type ContainerName struct {
	Container string // container name, or SandboxContainerName
	Pod       string
	Namespace string
	UID       string
	Attempt   int
}

// String renders the Docker container name.
func (n ContainerName) String() string {
	return strings.Join([]string{namePrefix, n.Container, n.Pod, n.Namespace, n.UID, strconv.Itoa(n.Attempt)}, "_")
}

// ParseContainerName parses a Docker container name, with or without the
// leading "/" the engine reports.
func ParseContainerName(name string) (ContainerName, error) {
	parts := strings.Split(strings.TrimPrefix(name, "/"), "_")
	if len(parts) != 6 || parts[0] != namePrefix {
		return ContainerName{}, fmt.Errorf("container name %q is not k8s_<container>_<pod>_<namespace>_<uid>_<attempt>", name)
	}
	attempt, err := strconv.Atoi(parts[5])
	if err != nil || attempt < 0 {
		return ContainerName{}, fmt.Errorf("container name %q: attempt %q is not a non-negative number", name, parts[5])
	}
	for i, p := range parts[1:5] {
		if p == "" {
			return ContainerName{}, fmt.Errorf("container name %q: part %d is empty", name, i+1)
		}
	}
	return ContainerName{Container: parts[1], Pod: parts[2], Namespace: parts[3], UID: parts[4], Attempt: attempt}, nil
}

// VolumeName is the Docker volume that backs volume vol of pod uid. Volumes
// are per pod UID: a new pod with the same name never sees an old pod's data.
func VolumeName(uid, vol string) string {
	return "k8s_" + vol + "_" + uid
}
