#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and etcd from the Go module proxy into a machine-wide cache
# keyed by version, and reuses them when present. Prints the directory holding both.
#
#   hack/control-plane-binaries.sh            # build if missing, print the bin dir
#
# Env: KUBE_VERSION, ETCD_VERSION, TOKEN_RENEWER_CACHE (default ~/.cache/token-renewer).
set -euo pipefail

KUBE_VERSION=${KUBE_VERSION:-v1.36.3}
ETCD_VERSION=${ETCD_VERSION:-v3.6.17}
CACHE=${TOKEN_RENEWER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/token-renewer}
BIN="$CACHE/control-plane/kube-$KUBE_VERSION-etcd-$ETCD_VERSION"

log() { echo "[control-plane-binaries] $*" >&2; }

if [[ -x "$BIN/kube-apiserver" && -x "$BIN/kubectl" && -x "$BIN/etcd" ]]; then
  log "reusing cached binaries in $BIN"
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { log "go is not installed"; exit 1; }
mkdir -p "$BIN"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CGO_ENABLED=0 GOFLAGS=-mod=mod

build_kube() {
  local dir="$work/kube" gomod minor staging
  mkdir -p "$dir"
  cd "$dir"
  go mod init token-renewer.local/kube-apiserver >/dev/null 2>&1
  # The release requires its staging modules at v0.0.0 (replaced by ./staging in its own
  # go.mod, which a dependent ignores); point each one at its published v0.<minor>.<patch>.
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  minor="v0.${KUBE_VERSION#v1.}"
  staging=$(sed -n 's#^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/.*#\1#p' "$gomod")
  [[ -n "$staging" ]] || { log "no staging modules found in $gomod"; exit 1; }
  log "kube-apiserver $KUBE_VERSION: $(wc -w <<<"$staging") staging modules at $minor"
  for m in $staging; do go mod edit -replace "$m=$m@$minor"; done
  go mod edit -require "k8s.io/kubernetes@$KUBE_VERSION"
  cat > tools.go <<GO
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  go mod tidy >/dev/null 2>&1
  local pkg=k8s.io/component-base/version cmd
  for cmd in kube-apiserver kubectl; do
    go build -trimpath -o "$BIN/$cmd" \
      -ldflags "-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(cut -d. -f2 <<<"$KUBE_VERSION")" \
      "k8s.io/kubernetes/cmd/$cmd"
  done
}

build_etcd() {
  local dir="$work/etcd"
  mkdir -p "$dir"
  cd "$dir"
  go mod init token-renewer.local/etcd >/dev/null 2>&1
  # `go install ...@version` refuses modules with replace directives; a wrapper module works.
  go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>&1
  log "etcd $ETCD_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3
}

start=$(date +%s)
log "building into $BIN (go $(go env GOVERSION), caches: $(go env GOMODCACHE), $(go env GOCACHE))"
[[ -x "$BIN/etcd" ]] || build_etcd
build_kube
log "built in $(( $(date +%s) - start ))s"
"$BIN/kube-apiserver" --version >&2
"$BIN/etcd" --version | head -1 >&2
echo "$BIN"
