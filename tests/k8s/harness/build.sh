#!/usr/bin/env bash
# Builds the Kubernetes test harness's binaries from their Go modules, once, cached by version.
#
# Result: ${ARENAHUB_CACHE:-$HOME/.cache/arenahub}/k8s/<K8S_VERSION>/bin/ holds kube-apiserver,
# kube-controller-manager, kube-scheduler, etcd, kwok and helm. Each binary has a stamp file
# (.<name>.version); a binary whose stamp matches versions.env is not rebuilt, so a second run
# returns at once. Only the Go module proxy is needed (no GitHub release downloads).
#
# The kwok CRDs the harness installs (Logs, ClusterLogs) are copied to <K8S_VERSION>/kwok-crds/.
#
# Usage: build.sh [--print-bin-dir]
#   --print-bin-dir   print the bin folder and exit (builds nothing)
# Environment: ARENAHUB_CACHE (cache root), K8S_VERSION / ETCD_VERSION / KWOK_VERSION /
# HELM_VERSION (override versions.env), ARENAHUB_BUILD_NICE (default 10).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Values already in the environment win over versions.env.
while IFS='=' read -r key value; do
    [[ -z "$key" || "$key" == \#* ]] && continue
    if [[ -z "${!key:-}" ]]; then export "$key=$value"; fi
done <"$here/versions.env"

cache_root="${ARENAHUB_CACHE:-$HOME/.cache/arenahub}/k8s"
version_dir="$cache_root/$K8S_VERSION"
bin_dir="$version_dir/bin"

if [[ "${1:-}" == "--print-bin-dir" ]]; then
    echo "$bin_dir"
    exit 0
fi

if ! command -v go >/dev/null; then
    echo "build.sh: 'go' is not on PATH. Install Go >= 1.26 (https://go.dev/dl/) and run again." >&2
    exit 1
fi

mkdir -p "$bin_dir" "$cache_root/src"
# Module and build caches live beside the binaries, so a rebuild after a version bump reuses
# every unchanged dependency, and nothing is written to the user's own Go caches.
export GOMODCACHE="$cache_root/gomod" GOCACHE="$cache_root/gocache"
export GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local CGO_ENABLED=0 GOWORK=off
nice_level="${ARENAHUB_BUILD_NICE:-10}"
ldflags_base="-s -w"

log() { printf '[build.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

is_current() { # name version -> 0 when bin/name exists and was built at that version
    [[ -x "$bin_dir/$1" && "$(cat "$bin_dir/.$1.version" 2>/dev/null)" == "$2" ]]
}

stamp() { # name version
    echo "$2" >"$bin_dir/.$1.version"
}

gobuild() { # args... ; nice: the machine is shared, the build must not starve the team
    nice -n "$nice_level" go "$@"
}

# A wrapper module that requires $module@$version. With -mod=mod, `go build` of a package in
# it resolves and records the rest of the graph itself.
make_wrapper() { # dir module version [replace-lines]
    local dir="$1"
    mkdir -p "$dir"
    {
        echo "module arenahub.local/k8s-harness-build"
        echo
        echo "go $(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/').0"
        echo
        echo "require $2 $3"
        if [[ -n "${4:-}" ]]; then
            echo
            echo "replace ("
            echo "$4"
            echo ")"
        fi
    } >"$dir/go.mod"
    touch "$dir/go.sum"
}

build_etcd() {
    is_current etcd "$ETCD_VERSION" && return 0
    log "etcd $ETCD_VERSION"
    # go.etcd.io/etcd/server/v3 has local replace directives, so `go install @version` refuses
    # it; a wrapper module requiring it builds the same main package.
    local dir="$cache_root/src/etcd-$ETCD_VERSION"
    make_wrapper "$dir" go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
    (cd "$dir" && gobuild build -trimpath -ldflags="$ldflags_base" -o "$bin_dir/etcd.tmp" go.etcd.io/etcd/server/v3)
    mv "$bin_dir/etcd.tmp" "$bin_dir/etcd"
    stamp etcd "$ETCD_VERSION"
}

build_kwok() {
    is_current kwok "$KWOK_VERSION" && return 0
    log "kwok $KWOK_VERSION"
    local tmp="$bin_dir/.kwok-gobin"
    mkdir -p "$tmp"
    GOBIN="$tmp" gobuild install -trimpath \
        -ldflags="$ldflags_base -X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" \
        "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
    mv "$tmp/kwok" "$bin_dir/kwok"
    rmdir "$tmp"
    stamp kwok "$KWOK_VERSION"
}

# kwok serves pod logs from files named in its Logs / ClusterLogs custom resources; the
# harness installs their CRDs (from the kwok module itself) into each API server.
copy_kwok_crds() {
    local dest="$version_dir/kwok-crds" kind dir
    [[ -f "$dest/kwok.x-k8s.io_logs.yaml" && -f "$dest/kwok.x-k8s.io_clusterlogs.yaml" &&
        "$(cat "$dest/.version" 2>/dev/null)" == "$KWOK_VERSION" ]] && return 0
    dir="$(cd / && GOFLAGS= go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')"
    mkdir -p "$dest"
    for kind in logs clusterlogs; do
        cp "$dir/kustomize/crd/bases/kwok.x-k8s.io_$kind.yaml" "$dest/"
    done
    chmod u+w "$dest"/*.yaml
    echo "$KWOK_VERSION" >"$dest/.version"
}

build_helm() {
    is_current helm "$HELM_VERSION" && return 0
    log "helm $HELM_VERSION"
    local tmp="$bin_dir/.helm-gobin"
    mkdir -p "$tmp"
    GOBIN="$tmp" gobuild install -trimpath \
        -ldflags="$ldflags_base -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
        "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
    mv "$tmp/helm" "$bin_dir/helm"
    rmdir "$tmp"
    stamp helm "$HELM_VERSION"
}

build_kubernetes() {
    local names=(kube-apiserver kube-controller-manager kube-scheduler) name missing=0
    for name in "${names[@]}"; do is_current "$name" "$K8S_VERSION" || missing=1; done
    [[ $missing == 0 ]] && return 0
    log "kubernetes $K8S_VERSION (${names[*]})"
    local dir="$cache_root/src/kubernetes-$K8S_VERSION"
    # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with
    # ./staging/src/k8s.io/<name>, which only works inside its own repository. They are
    # published as k8s.io/<name> v0.<minor>.<patch>; point every one of them there.
    local staging_version="v0.${K8S_VERSION#v1.}"
    make_wrapper "$dir" k8s.io/kubernetes "$K8S_VERSION"
    local modfile replaces
    # Outside any module: the wrapper's graph cannot load before its replaces exist.
    modfile="$(cd / && GOFLAGS= go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
    replaces="$(grep -oE '^[[:space:]]*k8s\.io/[a-z0-9-]+ => \./staging/src/' "$modfile" |
        awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}')"
    if [[ -z "$replaces" ]]; then
        echo "build.sh: found no staging replace directives in $modfile; is K8S_VERSION=$K8S_VERSION a k8s.io/kubernetes release?" >&2
        exit 1
    fi
    make_wrapper "$dir" k8s.io/kubernetes "$K8S_VERSION" "$replaces"
    local major_minor="${K8S_VERSION#v}" pkg=k8s.io/component-base/version
    major_minor="${major_minor%.*}"
    # What the make-based Kubernetes build stamps in; /version and clients (helm's kubeVersion
    # checks) read it.
    local ldflags="$ldflags_base -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=${major_minor%%.*} -X $pkg.gitMinor=${major_minor#*.} -X $pkg.gitTreeState=clean"
    ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
    mkdir -p "$dir/out"
    (cd "$dir" && gobuild build -trimpath -ldflags="$ldflags" -o "$dir/out/" \
        "${names[@]/#/k8s.io/kubernetes/cmd/}")
    for name in "${names[@]}"; do
        mv "$dir/out/$name" "$bin_dir/$name"
        stamp "$name" "$K8S_VERSION"
    done
}

# One build at a time per cache: a second `make test` waits instead of racing on bin/.
exec 9>"$cache_root/.build.lock"
flock 9

start_s=$SECONDS
build_etcd
build_kwok
copy_kwok_crds
build_kubernetes
build_helm
log "done in $((SECONDS - start_s))s: $bin_dir"
