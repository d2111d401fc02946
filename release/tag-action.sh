#!/usr/bin/env bash
# Makes a release of the GitHub Action: a commit on top of HEAD (not on any branch) that adds action-dist/ (the
# single-file bundle, the BPF object, the third-party notices), tagged vX.Y.Z, and the major tag vX moved to it.
# A policy repository's `uses: OWNER/palisade@vX` checks that commit out and runs it on the runner's node24 with no
# install step. Nothing is pushed; the script prints the push commands. See release/README.md.
#
# usage: release/tag-action.sh vX.Y.Z   (in a clean checkout with `npm ci` done)
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'tag-action: %s\n' "$*" >&2; exit 1; }
version="${1:-}"
[[ "$version" =~ ^v([0-9]+)\.[0-9]+\.[0-9]+$ ]] || die "usage: release/tag-action.sh vX.Y.Z"
major="v${BASH_REMATCH[1]}"
git rev-parse --verify --quiet "refs/tags/$version" >/dev/null && die "tag $version exists already"
git diff --quiet && git diff --cached --quiet || die "the work tree has uncommitted changes: release from a clean checkout"
[ -d node_modules ] || die "node_modules is missing: run \`npm ci\` first"

source_commit="$(git rev-parse HEAD)"
start="$(git symbolic-ref --quiet --short HEAD || git rev-parse HEAD)"
npm run --silent build:action >&2

# The release commit is never on a branch: main keeps no generated files.
git switch --quiet --detach
restore() { git switch --quiet "$start" 2>/dev/null || git switch --quiet --detach "$start"; }
trap restore EXIT
git add --force action-dist
git commit --quiet -m "Palisade Action $version (action-dist/ built from $source_commit)"
git tag -a "$version" -m "Palisade Action $version, built from $source_commit"
git tag -f -a "$major" -m "Palisade Action $major: $version" >/dev/null
printf 'tag-action: tagged %s and %s at %s (built from %s)\n' "$version" "$major" "$(git rev-parse --short HEAD)" "$source_commit" >&2
printf 'push with: git push origin %s && git push --force origin %s\n' "$version" "$major"
