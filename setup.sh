#!/usr/bin/env bash
# Installs what Palisade needs on a Debian/Ubuntu machine, then builds it. Safe to run again: it only installs
# what is missing. System packages need root (CI and these machines run as root).
set -euo pipefail
cd "$(dirname "$0")"

need_node_major=20
if ! command -v node >/dev/null 2>&1; then
  echo "setup: Node.js >= ${need_node_major} is required (https://nodejs.org or your distribution's nodesource packages)" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt "$need_node_major" ]; then
  echo "setup: Node.js >= ${need_node_major} is required, found $(node --version)" >&2
  exit 1
fi

# System packages: the BPF toolchain and runtime, iproute2 for namespaces, git, the OCI registry and openssl for tests.
pkgs=(git clang llvm libbpf-dev libbpf1 bpftool iproute2 docker-registry openssl ca-certificates)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing system packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# bpffs is not mounted at boot on these machines; the agent and the kernel tests pin there.
if [ "$(id -u)" -eq 0 ] && [ -d /sys/fs/bpf ] && ! mountpoint -q /sys/fs/bpf; then
  mount -t bpf bpf /sys/fs/bpf || echo "setup: could not mount bpffs at /sys/fs/bpf (kernel tests will say why)" >&2
fi

# Node packages from the lock file, only when the lock changed since the last install.
stamp=node_modules/.palisade-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi

npm run --silent build
