package lifecycle

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podMemory is what a pod's worker remembers between syncs beyond what the
// engine holds: the decisions and the status are computed from it and from
// one observation of the engine. Owned by the worker's Run goroutine.
type podMemory struct {
	// startTime is the pod's status.startTime: the API's, or when the worker
	// first saw the pod's spec.
	startTime metav1.Time
	// podIP is the sandbox's last address: a stopped sandbox keeps its pod's
	// IP in the status, as on a kubelet. sandboxID is the newest sandbox's.
	podIP, sandboxID string
	// adoptedSandbox is the sandbox a pod rebuilt from labels ran in when
	// this worker first saw it: a previous run of the provider set it up.
	adoptedSandbox string
	// waiting says why a container has no running instance (image pulls,
	// config errors, back-off), by container name.
	waiting map[string]waiting
	// instances are the records of the pod's container instances (sandboxes
	// included), by instance ID; a record goes with its instance.
	instances map[string]*instanceRecord
	// termination is set once the pod stops for good (see termination).
	termination *termination
	// crashLoop is the restart back-off of the pod's containers.
	crashLoop crashBackOff
	// admission is what the node decided about running the pod at all.
	admission admission
	// reportedUnsupported and reportedVolumes: the events saying what the
	// pod asks for that the node cannot do were recorded.
	reportedUnsupported bool
	reportedVolumes     bool
	// volumesCreated: the pod's Docker volumes exist.
	volumesCreated bool
	// createRetry holds back, by container name, a container whose create
	// failed (CreateContainerConfigError, CreateContainerError), and
	// sandboxRetry a sandbox that could not be made, as the kubelet's pod
	// workers back off after a failed sync.
	createRetry  map[string]retryGate
	sandboxRetry retryGate
	// observed: the engine answered for this pod at least once.
	observed bool
}

func newPodMemory() *podMemory {
	return &podMemory{
		waiting:     map[string]waiting{},
		instances:   map[string]*instanceRecord{},
		crashLoop:   crashBackOff{},
		createRetry: map[string]retryGate{},
	}
}

// instanceRecord is what the worker remembers about one container instance.
type instanceRecord struct {
	// stop is set once the instance is being stopped.
	stop *stopRecord
	// postStartFailed: its postStart hook failed; it is killed and comes
	// back per restart policy.
	postStartFailed bool
	// message is its termination message, read once it finished.
	message    string
	messageSet bool
	// backOffReported: the BackOff event for a restart held back after this
	// instance exited was recorded.
	backOffReported bool
	// exitSeen is when the worker first saw the instance finished; see
	// oomPending.
	exitSeen time.Time
}

// stopRecord is one instance's stop, as the kubelet's killContainer does
// it: the Killing event and the preStop hook, then the stop signal, then
// SIGKILL at the deadline.
type stopRecord struct {
	// deadline is when the instance gets SIGKILL.
	deadline time.Time
	// preStop is the instance's preStop hook run; done at once without one.
	preStop *preStopRun
	// signalledAt is when the stop signal was sent (zero: not yet).
	signalledAt time.Time
	// killed: SIGKILL was sent.
	killed bool
}

// termination is why and by when the pod's containers stop for good: the
// pod was deleted, it failed as a whole (activeDeadlineSeconds, admission),
// or all its app containers finished (its sidecars then stop). The deadline
// only ever moves earlier.
type termination struct {
	// deleted: the API object is being deleted; once everything stopped,
	// the terminal status is reported and the containers and volumes go.
	deleted bool
	// deadline is when whatever still runs gets SIGKILL.
	deadline time.Time
	// reason and message are set when the pod failed as a whole.
	reason, message string
}

// record returns the record of an instance, creating it.
func (m *podMemory) record(id string) *instanceRecord {
	r := m.instances[id]
	if r == nil {
		r = &instanceRecord{}
		m.instances[id] = r
	}
	return r
}

// stopOf returns an instance's stop record, nil when it is not stopping.
func (m *podMemory) stopOf(id string) *stopRecord {
	if r := m.instances[id]; r != nil {
		return r.stop
	}
	return nil
}

// terminate records that the pod stops for good by deadline; a later
// deadline never replaces an earlier one.
func (m *podMemory) terminate(deleted bool, deadline time.Time) {
	t := m.termination
	if t == nil {
		m.termination = &termination{deleted: deleted, deadline: deadline}
		return
	}
	t.deleted = t.deleted || deleted
	if deadline.Before(t.deadline) {
		t.deadline = deadline
	}
}

// failed reports whether the pod failed as a whole, and why.
func (m *podMemory) failed() (reason, message string, ok bool) {
	if t := m.termination; t != nil && t.reason != "" {
		return t.reason, t.message, true
	}
	return "", "", false
}

// prune forgets the instances the engine no longer holds, abandoning their
// preStop hooks.
func (m *podMemory) prune(obs *observation) {
	seen := make(map[string]bool, len(obs.all))
	for _, inst := range obs.all {
		seen[inst.id()] = true
	}
	for id, r := range m.instances {
		if seen[id] {
			continue
		}
		if r.stop != nil && r.stop.preStop != nil {
			r.stop.preStop.cancel()
		}
		delete(m.instances, id)
	}
}
