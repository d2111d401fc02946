#!/usr/bin/env bash
# Installs what Palisade needs on a Debian/Ubuntu machine, then builds it. Safe to run again: it only installs
# what is missing. System packages need root (CI and these machines run as root).
#
# Runtime: Palisade runs on Node.js 24 LTS. When the system `node` is older (Debian 12 ships 18, these machines 20),
# the Node.js 24 binary comes from the npm registry as the package that ships it (runtime/package-lock.json pins
# the version and its integrity) and is installed into runtime/node_modules of this checkout, never over the
# system Node. npm scripts (`npm test`, `npm run bench`) and bin/palisade then run on it.
set -euo pipefail
cd "$(dirname "$0")"

need_node_major=24
say() { printf 'setup: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# System packages: the BPF toolchain and runtime, iproute2 for namespaces, git, the OCI registry, Prometheus and
# openssl for tests; npm only to fetch Node.js 24 when no Node.js 24 is on PATH.
pkgs=(git clang llvm libbpf-dev libbpf1 bpftool iproute2 docker-registry prometheus openssl ca-certificates)
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
system_major=0
command -v node >/dev/null 2>&1 && system_major=$(node_major node)
[ "$system_major" -ge "$need_node_major" ] || command -v npm >/dev/null 2>&1 || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  is_root || die "missing system packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed: this machine cannot reach its Debian package mirror; install ${missing[*]} by other means and run ./setup.sh again"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed (see above); install them by other means and run ./setup.sh again"
fi

# Node.js 24: the system one when it is new enough (no second copy), else the pinned package in runtime/.
# The package is installed into a staging directory, checked, and only then renamed into place, so an interrupted
# or failed install never leaves a runtime that a second run (or bin/palisade) would trust.
runtime_bin=runtime/node_modules/.bin
runtime_stamp=runtime/node_modules/.palisade-runtime.sha256
if [ "$system_major" -ge "$need_node_major" ]; then
  rm -rf runtime/node_modules
else
  want_rt=$(sha256sum runtime/package-lock.json | cut -d' ' -f1)
  if [ ! -f "$runtime_stamp" ] || [ "$(cat "$runtime_stamp")" != "$want_rt" ] || [ "$(node_major "$runtime_bin/node")" -lt "$need_node_major" ]; then
    rm -rf runtime/.staging.*
    staging=$(mktemp -d runtime/.staging.XXXXXX)
    trap 'rm -rf "$staging"' EXIT
    cp runtime/package.json runtime/package-lock.json "$staging/"
    say "system Node.js is $(node --version 2>/dev/null || echo 'absent'); installing Node.js 24 into runtime/ (about 190 MB)"
    # The binary packages are optional dependencies (npm installs only the one for this CPU), so npm reports a
    # failed download as success: the binary itself is the check.
    log=$(cd "$staging" && npm ci --no-audit --no-fund --loglevel=warn 2>&1) || true
    if [ ! -e "$staging/node_modules/.bin/node" ]; then
      printf '%s\n' "$log" | grep -v '^\s*$' | tail -4 >&2
      case "$(uname -m)" in x86_64|aarch64) ;; *) die "no Node.js 24 package for this CPU ($(uname -m)) in runtime/package.json: put Node.js >= ${need_node_major} first on PATH and run ./setup.sh again" ;; esac
      die "could not fetch Node.js 24 from the npm registry (runtime/package-lock.json pins it). Give this machine access to the npm registry, or put Node.js >= ${need_node_major} first on PATH, and run ./setup.sh again"
    fi
    got=$(node_major "$staging/node_modules/.bin/node")
    [ "$got" -ge "$need_node_major" ] || die "the downloaded Node.js does not run on this machine ($("$staging/node_modules/.bin/node" --version 2>&1 | head -1)); put Node.js >= ${need_node_major} first on PATH and run ./setup.sh again"
    echo "$want_rt" > "$staging/node_modules/.palisade-runtime.sha256"
    rm -rf runtime/node_modules
    mv "$staging/node_modules" runtime/node_modules
    rm -rf "$staging"
    trap - EXIT
  fi
  # npm (a `#!/usr/bin/env node` script) and every npm script below run on the runtime from here on.
  PATH="$PWD/$runtime_bin:$PATH"
  export PATH
fi

# bpffs is not mounted at boot on these machines; the agent and the kernel tests pin there.
if is_root && [ -d /sys/fs/bpf ] && ! mountpoint -q /sys/fs/bpf; then
  mount -t bpf bpf /sys/fs/bpf || say "could not mount bpffs at /sys/fs/bpf (kernel tests will say why)"
fi

# Node packages from the lock file, only when the lock changed since the last install.
stamp=node_modules/.palisade-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  npm ci --no-audit --no-fund --loglevel=error || die "npm ci failed (see above): the npm registry must be reachable"
  echo "$want" > "$stamp"
fi
# `npm run`, `npm test` and `npx` put node_modules/.bin first on PATH: this link makes them run on the runtime.
if [ -x "$runtime_bin/node" ]; then
  ln -sfn ../../runtime/node_modules/.bin/node node_modules/.bin/node
else
  rm -f node_modules/.bin/node
fi

npm run --silent build
