package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/vk-docker/vk-docker/translate"
	v1 "k8s.io/api/core/v1"
)

// Pod admission outcomes, with the kubelet's reasons and words.
const (
	// ReasonAppArmor rejects a pod asking for an AppArmor profile on an
	// engine that does not enforce AppArmor.
	ReasonAppArmor = "AppArmor"
	// ReasonPodOSNotSupported rejects a pod for another OS than Linux.
	ReasonPodOSNotSupported = "PodOSNotSupported"
	// ReasonSupplementalGroupsPolicyNotSupported rejects a pod asking for
	// the Strict policy: the engine always merges the image's groups in.
	ReasonSupplementalGroupsPolicyNotSupported = "SupplementalGroupsPolicyNotSupported"
	// ReasonForbidden holds a pod with a privileged container on a node
	// without --allow-privileged, as the kubelet did while it had that flag:
	// the pod stays Pending and its containers wait, "Blocked".
	ReasonForbidden = "Forbidden"
	ReasonBlocked   = "Blocked"
	// messageRejected prefixes the message of a rejected (Failed) pod.
	messageRejected = "Pod was rejected: "
)

// admission is what the worker decided about running the pod at all.
type admission struct {
	reason, message string // set while the pod is blocked (Pending)
	rejected        bool   // the pod failed admission (its termination says why)
	warned          bool   // the ignored-field events were recorded
	admitted        bool   // the pod may run: the checks need not run again
}

// admit runs the node's admission checks before anything of the pod is
// created. A rejected pod fails (phase Failed, the check's reason, "Pod was
// rejected: ..."), a blocked one stays Pending; admit reports whether the
// pod may run now.
func (w *Worker) admit(ctx context.Context, pod *v1.Pod) (bool, error) {
	if pod.Spec.OS != nil && pod.Spec.OS.Name != v1.Linux {
		w.reject(ctx, pod, ReasonPodOSNotSupported, "Failed to admit pod as the OS field doesn't match node OS")
		return false, nil
	}
	if sc := pod.Spec.SecurityContext; sc != nil && sc.SupplementalGroupsPolicy != nil && *sc.SupplementalGroupsPolicy == v1.SupplementalGroupsPolicyStrict {
		w.reject(ctx, pod, ReasonSupplementalGroupsPolicyNotSupported, "SupplementalGroupsPolicy=Strict is not supported in this node")
		return false, nil
	}
	if msg := w.rt.Security.Sysctls.ForbiddenSysctl(pod); msg != "" {
		w.reject(ctx, pod, ReasonSysctlForbidden, msg)
		return false, nil
	}
	w.mu.Lock()
	verdict := w.nodeVerdict
	w.mu.Unlock()
	if verdict.Reason != "" {
		w.reject(ctx, pod, verdict.Reason, verdict.Message)
		return false, nil
	}
	if appArmorRequired(pod) {
		enforced, err := w.rt.engineEnforces(ctx, "apparmor")
		if err != nil {
			return false, err
		}
		if !enforced {
			w.reject(ctx, pod, ReasonAppArmor, "Cannot enforce AppArmor: AppArmor is not enabled on the host")
			return false, nil
		}
	}
	adm := &w.mem.admission
	if !w.rt.Security.AllowPrivileged && hasPrivileged(pod) {
		if adm.reason == "" {
			adm.reason = ReasonForbidden
			adm.message = fmt.Sprintf("pod with UID %q specified privileged container, but is disallowed", pod.UID)
			w.rt.Recorder.Event(pod, v1.EventTypeWarning, ReasonForbidden, adm.message)
			log.G(ctx).Warn(adm.message)
		}
		for _, sl := range append(initSlots(pod), appSlots(pod)...) {
			w.mem.waiting[sl.c.Name] = waiting{reason: ReasonBlocked}
		}
		return false, nil
	}
	if !adm.warned {
		adm.warned = true
		if err := w.warnIgnored(ctx, pod); err != nil {
			adm.warned = false
			return false, err
		}
	}
	adm.admitted = true
	return true, nil
}

// reject fails the pod as the kubelet's admission does.
func (w *Worker) reject(ctx context.Context, pod *v1.Pod, reason, message string) {
	w.rt.Recorder.Event(pod, v1.EventTypeWarning, reason, message)
	log.G(ctx).WithField("reason", reason).Warn(message)
	w.mem.terminate(false, w.rt.Clock.Now())
	w.mem.termination.reason, w.mem.termination.message = reason, messageRejected+message
	w.mem.admission.rejected = true
}

// rejectedStatus is a rejected pod's status as the kubelet writes it: the
// phase, reason and message alone (no container ever existed), beside the
// conditions others own.
func rejectedStatus(pod *v1.Pod, reason, message string) v1.PodStatus {
	s := v1.PodStatus{Phase: v1.PodFailed, Reason: reason, Message: message, QOSClass: pod.Status.QOSClass}
	for _, c := range pod.Status.Conditions {
		if !kubeletConditions[c.Type] {
			s.Conditions = append(s.Conditions, c)
		}
	}
	return s
}

// warnIgnored records, once, the securityContext settings that have no
// effect on this engine, so that ignoring them is never silent.
func (w *Worker) warnIgnored(ctx context.Context, pod *v1.Pod) error {
	var selinux, windows bool
	for _, sl := range append(initSlots(pod), appSlots(pod)...) {
		sc := translate.EffectiveSecurity(pod, sl.c)
		selinux = selinux || sc.SELinuxOptions != nil
		windows = windows || sc.WindowsOptions != nil
	}
	if selinux {
		enforced, err := w.rt.engineEnforces(ctx, "selinux")
		if err != nil {
			return err
		}
		if !enforced {
			w.rt.Recorder.Event(pod, v1.EventTypeWarning, EventUnsupported, "seLinuxOptions are ignored: the Docker engine does not enforce SELinux")
		}
	}
	if windows {
		w.rt.Recorder.Event(pod, v1.EventTypeNormal, EventUnsupported, "windowsOptions are ignored: the pod runs on Linux")
	}
	return nil
}

// appArmorRequired is the kubelet's test of whether a pod needs AppArmor
// enforced: a profile other than Unconfined on the pod or a container.
func appArmorRequired(pod *v1.Pod) bool {
	if sc := pod.Spec.SecurityContext; sc != nil && sc.AppArmorProfile != nil && sc.AppArmorProfile.Type != v1.AppArmorProfileTypeUnconfined {
		return true
	}
	for _, sl := range append(initSlots(pod), appSlots(pod)...) {
		if sc := sl.c.SecurityContext; sc != nil && sc.AppArmorProfile != nil && sc.AppArmorProfile.Type != v1.AppArmorProfileTypeUnconfined {
			return true
		}
	}
	for k, v := range pod.Annotations {
		if strings.HasPrefix(k, v1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix) && v != v1.DeprecatedAppArmorBetaProfileNameUnconfined {
			return true
		}
	}
	return false
}

func hasPrivileged(pod *v1.Pod) bool {
	for _, sl := range append(initSlots(pod), appSlots(pod)...) {
		if sc := sl.c.SecurityContext; sc != nil && sc.Privileged != nil && *sc.Privileged {
			return true
		}
	}
	return false
}

// engineEnforces reports whether the engine enforces a security module
// ("apparmor", "selinux", "seccomp"). It asks the engine each time: only
// pods that name such a profile need to know.
func (rt *Runtime) engineEnforces(ctx context.Context, module string) (bool, error) {
	info, err := rt.Docker.Info(ctx)
	if err != nil {
		return false, fmt.Errorf("engine info: %w", err)
	}
	return slices.ContainsFunc(info.SecurityOptions, func(o string) bool {
		return o == "name="+module || strings.HasPrefix(o, "name="+module+",")
	}), nil
}
