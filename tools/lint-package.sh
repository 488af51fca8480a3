#!/usr/bin/env bash
# `npm run lint:package`: checks the package as npm would publish it, the way
# cloudflare/cloudflare-typescript's scripts/lint does: build (done before, by `npm test`), pack,
# then publint (package.json's fields and `exports` against the packed files; warnings fail) and
# Are the Types Wrong? (every entry point's types under node10, node16 from CJS and ESM, bundler).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f dist/provider/index.js ] || [ ! -f dist/emulator/index.js ]; then
  echo "lint:package checks the built package, and dist/ is missing: run \`npm run build\` first." >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npm pack --silent --pack-destination "$tmp" >/dev/null
tarball=$(echo "$tmp"/*.tgz)
bin=node_modules/.bin
"$bin/publint" run --strict "$tarball"
"$bin/attw" --no-emoji "$tarball"
