#!/usr/bin/env bash
# Creates the kind cluster of the demo (idempotent) and waits until its node is ready.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
require kubectl "https://kubernetes.io/docs/tasks/tools/"

if kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER_NAME"; then
  echo "kind cluster $KIND_CLUSTER_NAME already exists"
else
  kind create cluster --name "$KIND_CLUSTER_NAME" --wait 180s
fi
kc wait --for=condition=Ready nodes --all --timeout=180s
kc cluster-info
echo "next: deploy/kind/build-load-image.sh, then deploy/kind/deploy.sh"
