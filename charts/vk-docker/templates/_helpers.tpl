{{/* The release's resource name: the release name, with the chart's name unless it holds it. */}}
{{- define "vk-docker.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Cluster-scoped objects (ClusterRoles and their bindings) name the namespace too. */}}
{{- define "vk-docker.clusterName" -}}
{{- printf "%s-%s" .Release.Namespace (include "vk-docker.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "vk-docker.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vk-docker.labels" -}}
{{ include "vk-docker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
vk-docker.io/node: {{ .Values.nodeName | trunc 63 | trimSuffix "-" | quote }}
{{- end -}}

{{- define "vk-docker.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The node's state directory on the Docker socket's machine, mounted at the same path. */}}
{{- define "vk-docker.stateDir" -}}
{{- if .Values.docker.socket.hostPath -}}
{{ trimSuffix "/" .Values.docker.socket.stateHostPath }}/{{ .Values.nodeName }}
{{- else -}}
/var/lib/vk-docker/{{ .Values.nodeName }}
{{- end -}}
{{- end -}}

{{/* Where the node keeps its own kubeconfig and certificates in bootstrapToken mode. */}}
{{- define "vk-docker.identityDir" -}}
{{- if .Values.credentials.bootstrapToken.identityClaim -}}
/var/lib/vk-docker-identity
{{- else -}}
{{ include "vk-docker.stateDir" . }}
{{- end -}}
{{- end -}}

{{/* The bootstrap token's Secret and key, when the chart renders the bootstrap kubeconfig. */}}
{{- define "vk-docker.bootstrapTokenSecret" -}}
{{- .Values.credentials.bootstrapToken.tokenSecret | default (printf "%s-bootstrap-token" (include "vk-docker.fullname" .)) -}}
{{- end -}}
{{- define "vk-docker.bootstrapTokenKey" -}}
{{- if .Values.credentials.bootstrapToken.tokenSecret -}}
{{ .Values.credentials.bootstrapToken.tokenKey }}
{{- else -}}
token
{{- end -}}
{{- end -}}

{{/* Checks across values that the schema cannot express. */}}
{{- define "vk-docker.validate" -}}
{{- if and (not .Values.docker.socket.hostPath) (not .Values.docker.hosts) -}}
{{- fail "docker: set docker.socket.hostPath or at least one of docker.hosts: the node needs a Docker engine" -}}
{{- end -}}
{{- if eq .Values.credentials.mode "bootstrapToken" -}}
{{- $b := .Values.credentials.bootstrapToken -}}
{{- $sources := compact (list $b.token $b.tokenSecret $b.kubeconfigSecret) -}}
{{- if ne (len $sources) 1 -}}
{{- fail "credentials.mode=bootstrapToken needs exactly one of credentials.bootstrapToken.token (the token), .tokenSecret (a Secret holding it) or .kubeconfigSecret (a Secret holding a bootstrap kubeconfig)" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The API server's address for the pod's in-cluster config, split into env vars. */}}
{{- define "vk-docker.apiServerEnv" -}}
{{- if .Values.apiServer }}
{{- $port := regexFind "[0-9]+$" .Values.apiServer }}
- name: KUBERNETES_SERVICE_HOST
  value: {{ trimSuffix (printf ":%s" $port) .Values.apiServer | trimPrefix "[" | trimSuffix "]" | quote }}
- name: KUBERNETES_SERVICE_PORT
  value: {{ $port | quote }}
{{- end }}
{{- end -}}

{{/* Where the hook Job and the Deployment place their pods. */}}
{{- define "vk-docker.placement" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
