#!/usr/bin/env bash
# Builds the image from deploy/Dockerfile and loads it into the kind cluster's node(s), so the
# chart can use it with imagePullPolicy: Never.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

require docker "https://docs.docker.com/engine/install/"
require kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"

DOCKER_BUILDKIT=1 docker build -f "$REPO_ROOT/deploy/Dockerfile" -t "$IMAGE" "$REPO_ROOT"
kind load docker-image "$IMAGE" --name "$KIND_CLUSTER_NAME"
echo "loaded $IMAGE into kind cluster $KIND_CLUSTER_NAME"
