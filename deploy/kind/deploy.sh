#!/usr/bin/env bash
# Installs (or upgrades) the chart into the kind cluster with deploy/kind/values-kind.yaml:
# creates the namespace, a Secret with a random ASSISTANT_API_TOKEN (kept across runs), the
# OpenTelemetry Collector of deploy/k8s/observability (DEPLOY_COLLECTOR=false skips it), then
# `helm upgrade --install --wait`.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require kubectl "https://kubernetes.io/docs/tasks/tools/"
helm=$(helm_bin)

kc create namespace "$NAMESPACE" --dry-run=client -o yaml | kc apply -f -

if kc -n "$NAMESPACE" get secret "$SECRET_NAME" >/dev/null 2>&1; then
  echo "secret $SECRET_NAME exists: keeping its token"
else
  token=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
  kc -n "$NAMESPACE" create secret generic "$SECRET_NAME" --from-literal=ASSISTANT_API_TOKEN="$token"
  echo "created secret $SECRET_NAME with a random ASSISTANT_API_TOKEN"
fi

otel_args=()
if [ "$DEPLOY_COLLECTOR" = "true" ]; then
  kc -n "$NAMESPACE" create configmap otel-collector-config \
    --from-file=otel-collector.yaml="$REPO_ROOT/deploy/k8s/observability/otel-collector.yaml" \
    --dry-run=client -o yaml | kc apply -f -
  kc -n "$NAMESPACE" apply -f "$REPO_ROOT/deploy/k8s/observability/otel-collector-k8s.yaml"
  # A changed config needs a restart: the collector reads it once.
  kc -n "$NAMESPACE" rollout restart deployment/otel-collector
else
  otel_args=(--set otel.endpoint=)
fi

"$helm" upgrade --install "$RELEASE" "$REPO_ROOT/charts/security-agent" \
  --kube-context "$KUBE_CONTEXT" \
  --namespace "$NAMESPACE" \
  --values "$KIND_DIR/values-kind.yaml" \
  --set auth.existingSecret="$SECRET_NAME" \
  --set image.repository="${IMAGE%:*}" \
  --set image.tag="${IMAGE##*:}" \
  ${otel_args[@]+"${otel_args[@]}"} \
  --wait --timeout 5m

echo "deployed; check it with deploy/kind/status.sh"
