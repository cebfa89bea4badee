#!/usr/bin/env bash
# Debian packages the tests use (not tsk itself): busybox-static to build test images,
# iproute2 for test network namespaces, util-linux's script for pseudo-terminals,
# skopeo/zstd/openssl for image interop and registry tests.
set -euo pipefail
need=()
for p in busybox-static iproute2 util-linux curl skopeo zstd openssl; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
