# shellcheck shell=bash
# Settings shared by the kind demo scripts (sourced, not run). Override any of them from the
# environment, e.g. `KIND_CLUSTER_NAME=demo deploy/kind/cluster-up.sh`.
KIND_CLUSTER_NAME=${KIND_CLUSTER_NAME:-security-agent}
# Every kubectl/helm call names this context, so the scripts never touch another cluster.
KUBE_CONTEXT=${KUBE_CONTEXT:-kind-$KIND_CLUSTER_NAME}
NAMESPACE=${NAMESPACE:-security-agent}
RELEASE=${RELEASE:-security-agent}
IMAGE=${IMAGE:-security-agent:dev}
SECRET_NAME=${SECRET_NAME:-security-agent-secrets}
DEPLOY_COLLECTOR=${DEPLOY_COLLECTOR:-true}

KIND_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$KIND_DIR/../.." && pwd)
export KIND_CLUSTER_NAME KUBE_CONTEXT NAMESPACE RELEASE IMAGE SECRET_NAME DEPLOY_COLLECTOR KIND_DIR REPO_ROOT

# Fails with an install hint when a command is missing.
require() {
  local tool=$1 hint=$2
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: $tool is not installed ($hint)" >&2
    exit 1
  fi
}

# helm from PATH, else the one .ci/run builds into .cache/bin.
helm_bin() {
  if command -v helm >/dev/null 2>&1; then
    command -v helm
  elif [ -x "$REPO_ROOT/.cache/bin/helm" ]; then
    echo "$REPO_ROOT/.cache/bin/helm"
  else
    echo "error: helm is not installed (https://helm.sh/docs/intro/install/, or run .ci/run to build .cache/bin/helm)" >&2
    exit 1
  fi
}

kc() {
  kubectl --context "$KUBE_CONTEXT" "$@"
}
