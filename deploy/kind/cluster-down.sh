#!/usr/bin/env bash
# Deletes the demo's kind cluster (and everything deployed into it).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"

if kind get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER_NAME"; then
  kind delete cluster --name "$KIND_CLUSTER_NAME"
else
  echo "kind cluster $KIND_CLUSTER_NAME does not exist"
fi
