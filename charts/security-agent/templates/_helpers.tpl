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

{{/* Writable paths: the trace log on the data volume, the audit on the audit volume. */}}
{{- /*
The seed's three observability variables live in values `env` by name (one source of truth);
metricsNamespace and observability.enabled override them only when set.
*/}}
{{- define "security-agent.traceJsonlPath" -}}
{{- $direct := (.Values.env | default dict).AGENT_TRACE_JSONL_PATH | default "" | toString }}
{{- if $direct }}{{ $direct }}{{ else }}{{ printf "%s/logs/agent-traces.jsonl" (trimSuffix "/" .Values.dataVolume.mountPath) }}{{ end }}
{{- end }}
{{- define "security-agent.metricsNamespace" -}}
{{- $fromEnv := (.Values.env | default dict).AGENT_METRICS_NAMESPACE | default "security_agent" | toString }}
{{- .Values.metricsNamespace | default $fromEnv }}
{{- end }}
{{- define "security-agent.observabilityEnabled" -}}
{{- if kindIs "bool" .Values.observability.enabled }}{{ .Values.observability.enabled }}
{{- else if hasKey (.Values.env | default dict) "AGENT_OBSERVABILITY_ENABLED" }}{{ .Values.env.AGENT_OBSERVABILITY_ENABLED | toString }}
{{- else }}true{{ end }}
{{- end }}
{{- /* llm.prices {model: {input, output}} (US dollars per million tokens) as LLM_PRICES. */}}
{{- define "security-agent.llmPrices" -}}
{{- $entries := list }}
{{- range $model, $price := .Values.llm.prices }}
{{- $entries = append $entries (printf "%s=%v:%v" $model $price.input $price.output) }}
{{- end }}
{{- join "," $entries }}
{{- end }}
{{- define "security-agent.auditPath" -}}
{{- printf "%s/guardrails.jsonl" (trimSuffix "/" .Values.auditVolume.mountPath) }}
{{- end }}
{{- define "security-agent.auditChangesPath" -}}
{{- printf "%s/waf-changes.jsonl" (trimSuffix "/" .Values.auditVolume.mountPath) }}
{{- end }}

{{/* Mounted secrets: the tokens file and the confirmation-code key. */}}
{{- define "security-agent.tokensFilePath" -}}
{{- if .Values.auth.tokensFile.existingSecret }}
{{- printf "%s/%s" (trimSuffix "/" .Values.auth.tokensFile.mountPath) .Values.auth.tokensFile.key }}
{{- end }}
{{- end }}
{{- define "security-agent.codeKeySecretName" -}}
{{- default (printf "%s-code-key" (include "security-agent.fullname" .)) .Values.codeKey.existingSecret }}
{{- end }}
{{- define "security-agent.codeKeyPath" -}}
{{- printf "/etc/security-agent/code-key/%s" .Values.codeKey.key }}
{{- end }}

{{/* The audit volume: its claim, whether it is shared by several pods, whether it attaches to one node only. */}}
{{- define "security-agent.auditClaimName" -}}
{{- default (printf "%s-audit" (include "security-agent.fullname" .)) .Values.auditVolume.persistence.existingClaim }}
{{- end }}
{{- define "security-agent.auditReadWriteOnce" -}}
{{- and .Values.auditVolume.persistence.enabled (not (has "ReadWriteMany" .Values.auditVolume.persistence.accessModes)) }}
{{- end }}
{{/* Several writers on one persistent volume: each pod writes into its own subdirectory. */}}
{{- define "security-agent.auditPerPodDir" -}}
{{- and .Values.auditVolume.persistence.enabled (or (has "ReadWriteMany" .Values.auditVolume.persistence.accessModes) (gt (int (include "security-agent.maxReplicas" .)) 1)) }}
{{- end }}
{{- define "security-agent.caBundlePath" -}}
{{- printf "/etc/security-agent/safeline-ca/%s" .Values.safeline.caBundle.key }}
{{- end }}

{{/* Whether the API key of the chosen LLM provider is required (an OpenAI-compatible base URL may need none). */}}
{{- define "security-agent.secretRequired" -}}
{{- $name := .name }}
{{- $v := .root.Values }}
{{- if eq $name "ASSISTANT_API_TOKEN" }}{{ not (or $v.auth.allowUnauthenticated $v.auth.tokensFile.existingSecret) }}
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
{{- if and (not .Values.auth.existingSecret) (not .Values.auth.tokensFile.existingSecret) (not .Values.auth.allowUnauthenticated) }}
{{- fail "auth.existingSecret or auth.tokensFile.existingSecret is required: the API binds 0.0.0.0 and must not serve without a token. Create a Secret holding ASSISTANT_API_TOKEN (kubectl create secret generic sa-secrets --from-literal=ASSISTANT_API_TOKEN=$(openssl rand -hex 32)) and set auth.existingSecret=sa-secrets, or a Secret holding a tokens file (security-agent token <name> <role> prints its lines) and set auth.tokensFile.existingSecret, or set auth.allowUnauthenticated=true explicitly to serve the API without a token (not recommended)" }}
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
{{- if and (eq (include "security-agent.auditReadWriteOnce" .) "true") (gt (int (include "security-agent.maxReplicas" .)) 1) (not .Values.auditVolume.persistence.allowReadWriteOnceWithReplicas) }}
{{- fail (printf "auditVolume.persistence.accessModes is ReadWriteOnce, but up to %s replicas can run: a ReadWriteOnce volume attaches to one node, so pods scheduled elsewhere never start. Use a storage class that offers ReadWriteMany (auditVolume.persistence.accessModes={ReadWriteMany}; each pod writes its own subdirectory), or set auditVolume.persistence.enabled=false and ship the audit off the pods (it is lost with a pod otherwise), or set auditVolume.persistence.allowReadWriteOnceWithReplicas=true if every replica runs on the node that holds the volume" (include "security-agent.maxReplicas" .)) }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- end }}
