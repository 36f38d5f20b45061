{{/* Names, labels and the render-time checks shared by every template. */}}

{{- define "security-agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "security-agent.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "security-agent.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "security-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "security-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "security-agent.labels" -}}
helm.sh/chart: {{ include "security-agent.chart" . }}
{{ include "security-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: security-agent
{{- end }}

{{- define "security-agent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "security-agent.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "security-agent.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The most replicas that can run at once: replicaCount, or the HPA's maximum. */}}
{{- define "security-agent.maxReplicas" -}}
{{- if .Values.autoscaling.enabled }}
{{- max (int .Values.replicaCount) (int .Values.autoscaling.maxReplicas) }}
{{- else }}
{{- int .Values.replicaCount }}
{{- end }}
{{- end }}

{{/* Writable paths: the trace and audit logs live on the data volume. */}}
{{- define "security-agent.traceJsonlPath" -}}
{{- printf "%s/logs/agent-traces.jsonl" (trimSuffix "/" .Values.dataVolume.mountPath) }}
{{- end }}
{{- define "security-agent.auditPath" -}}
{{- printf "%s/logs/guardrails.jsonl" (trimSuffix "/" .Values.dataVolume.mountPath) }}
{{- end }}
{{- define "security-agent.caBundlePath" -}}
{{- printf "/etc/security-agent/safeline-ca/%s" .Values.safeline.caBundle.key }}
{{- end }}

{{/* Whether the API key of the chosen LLM provider is required (an OpenAI-compatible base URL may need none). */}}
{{- define "security-agent.secretRequired" -}}
{{- $name := .name }}
{{- $v := .root.Values }}
{{- if eq $name "ASSISTANT_API_TOKEN" }}{{ not $v.auth.allowUnauthenticated }}
{{- else if eq $name "REDIS_URL" }}{{ eq $v.sessions.store "redis" }}
{{- else if eq $name "OPENAI_API_KEY" }}{{ and (eq $v.llm.provider "openai") (not $v.llm.openai.baseUrl) }}
{{- else if eq $name "SAFELINE_API_TOKEN" }}{{ ne $v.safeline.url "" }}
{{- else if eq $name "GOOGLE_API_KEY" }}{{ eq $v.llm.provider "google" }}
{{- else if eq $name "ANTHROPIC_API_KEY" }}{{ eq $v.llm.provider "anthropic" }}
{{- else }}false
{{- end }}
{{- end }}

{{/* Refuses configurations that would start an open or inconsistent service. */}}
{{- define "security-agent.validate" -}}
{{- if and (not .Values.auth.existingSecret) (not .Values.auth.allowUnauthenticated) }}
{{- fail "auth.existingSecret is required: create a Secret holding ASSISTANT_API_TOKEN (kubectl create secret generic sa-secrets --from-literal=ASSISTANT_API_TOKEN=$(openssl rand -hex 32)) and set auth.existingSecret=sa-secrets, or set auth.allowUnauthenticated=true explicitly to serve the API without a token (not recommended)" }}
{{- end }}
{{- if and (gt (int (include "security-agent.maxReplicas" .)) 1) (eq .Values.sessions.store "memory") }}
{{- fail (printf "sessions.store=memory keeps sessions inside one pod, but up to %s replicas can run (replicaCount or autoscaling.maxReplicas > 1): set sessions.store=redis and put REDIS_URL into the Secret named by auth.existingSecret, or run a single replica" (include "security-agent.maxReplicas" .)) }}
{{- end }}
{{- if and (eq .Values.sessions.store "redis") (not .Values.auth.existingSecret) }}
{{- fail "sessions.store=redis reads REDIS_URL from the Secret named by auth.existingSecret: set auth.existingSecret" }}
{{- end }}
{{- if and (ne .Values.llm.provider "offline") (not .Values.auth.existingSecret) (not (and (eq .Values.llm.provider "openai") .Values.llm.openai.baseUrl)) }}
{{- fail (printf "llm.provider=%s needs its API key from the Secret named by auth.existingSecret: set auth.existingSecret" .Values.llm.provider) }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- end }}
