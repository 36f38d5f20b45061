#!/usr/bin/env bash
# Shows the release's objects, then checks the running service through a port-forward:
# /healthz, /readyz, a few metrics and one authenticated chat turn.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require kubectl "https://kubernetes.io/docs/tasks/tools/"
require curl "apt-get install curl"
helm=$(helm_bin)
LOCAL_PORT=${LOCAL_PORT:-18081}

"$helm" status "$RELEASE" --kube-context "$KUBE_CONTEXT" --namespace "$NAMESPACE" | head -n 8
kc -n "$NAMESPACE" get deployments,pods,services,networkpolicies,poddisruptionbudgets -o wide

service=$(kc -n "$NAMESPACE" get services -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/name=security-agent" \
  -o jsonpath='{.items[0].metadata.name}')
kc -n "$NAMESPACE" port-forward "service/$service" "$LOCAL_PORT:8081" >/dev/null &
forward=$!
trap 'kill "$forward" 2>/dev/null || true' EXIT

base="http://127.0.0.1:$LOCAL_PORT"
for _ in $(seq 1 50); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

echo "--- GET /healthz"
curl -fsS "$base/healthz"
echo
echo "--- GET /readyz"
curl -sS "$base/readyz"
echo
echo "--- GET /metrics (chat and route counters)"
curl -fsS "$base/metrics" | grep -E '^[a-z_]+_(chat_requests_total|agent_route_total)' | head -n 12 || true

token=$(kc -n "$NAMESPACE" get secret "$SECRET_NAME" -o jsonpath='{.data.ASSISTANT_API_TOKEN}' | base64 -d | cut -d, -f1)
echo "--- POST /v1/chat"
curl -fsS "$base/v1/chat" -H "Authorization: Bearer $token" -d '{"message":"what is my traffic?"}'
echo
