package main

import (
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/record"
)

// providerSuccessEvents are the events virtual-kubelet's pod controller
// records after each call into the provider. A kubelet writes no such
// events: `kubectl describe pod` should read as it does on a kubelet.
var providerSuccessEvents = map[string]bool{
	"ProviderCreateSuccess": true,
	"ProviderUpdateSuccess": true,
	"ProviderDeleteSuccess": true,
}

// podControllerEvents is the pod controller's event recorder: the node's
// own ("kubelet" as the source), without the provider-call successes. Its
// failures (ProviderCreateFailed...) are kept: they say what went wrong.
type podControllerEvents struct{ record.EventRecorder }

func (r podControllerEvents) Event(obj runtime.Object, eventtype, reason, message string) {
	if !providerSuccessEvents[reason] {
		r.EventRecorder.Event(obj, eventtype, reason, message)
	}
}

func (r podControllerEvents) Eventf(obj runtime.Object, eventtype, reason, messageFmt string, args ...any) {
	if !providerSuccessEvents[reason] {
		r.EventRecorder.Eventf(obj, eventtype, reason, messageFmt, args...)
	}
}

func (r podControllerEvents) AnnotatedEventf(obj runtime.Object, annotations map[string]string, eventtype, reason, messageFmt string, args ...any) {
	if !providerSuccessEvents[reason] {
		r.EventRecorder.AnnotatedEventf(obj, annotations, eventtype, reason, messageFmt, args...)
	}
}

// quietDefaultClient points $KUBECONFIG at the node's kubeconfig when it
// is unset: nodeutil builds a default client from $KUBECONFIG before it
// applies our options (which replace that client) and, on a machine that
// is not a cluster's pod, warns at every start that it could not.
func quietDefaultClient(kubeconfig string) {
	if kubeconfig != "" && os.Getenv("KUBECONFIG") == "" {
		_ = os.Setenv("KUBECONFIG", kubeconfig)
	}
}
