#!/usr/bin/env bash
# Builds the BPF objects into bpf/build/: palisade.bpf.o (the datapath), empty.bpf.o (the benchmark floor) and
# policy-structures.bpf.o (benchmark only: the policy lookup on an LPM trie vs a hash, see bpf/README.md).
# Without clang: skips with a notice off CI, fails when CI=true (CI must build what it tests).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/build"
CLANG="${CLANG:-clang}"

if ! command -v "$CLANG" >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then
    echo "bpf/build.sh: $CLANG not found; CI must build the BPF objects (apt-get install clang libbpf-dev)" >&2
    exit 1
  fi
  echo "bpf/build.sh: $CLANG not found: skipping the BPF build (kernel tests and the kernel engine need it)" >&2
  exit 0
fi

mkdir -p "$out"
# clang 14 on Debian needs the multiarch include dir for asm/types.h.
flags=(-O2 -g -Wall -Werror -target bpf -I/usr/include/x86_64-linux-gnu -I"$here")
for src in palisade empty policy-structures; do
  "$CLANG" "${flags[@]}" -c "$here/$src.bpf.c" -o "$out/$src.bpf.o.tmp"
  mv "$out/$src.bpf.o.tmp" "$out/$src.bpf.o" # never leave a half-written object behind
done
echo "bpf/build.sh: built palisade.bpf.o, empty.bpf.o and policy-structures.bpf.o in $out"
