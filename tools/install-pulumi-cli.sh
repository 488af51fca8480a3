#!/usr/bin/env bash
# Installs the Pulumi CLI for this project's tests, demo and benchmark, into .cache/pulumi-cli/bin:
#   pulumi                         built from source (github.com/pulumi/pulumi/pkg/v3, see tools/pulumi-cli/go.mod)
#   pulumi-language-nodejs         the Node.js language host (tools/pulumi-cli/language-nodejs)
#   pulumi-resource-pulumi-nodejs  the dynamic provider plugin: node on @pulumi/pulumi/cmd/dynamic-provider
# Does nothing when they are installed and up to date. A `pulumi` already on PATH (installed the
# usual way) is used instead, unless PULUMI_CLI_FROM_SOURCE=1.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SRC="$ROOT/tools/pulumi-cli"
DEST="$ROOT/.cache/pulumi-cli"
VERSION="v3.274.1"

if [ "${PULUMI_CLI_FROM_SOURCE:-}" != "1" ] && command -v pulumi >/dev/null 2>&1; then
  echo "pulumi CLI: using $(command -v pulumi) ($(pulumi version 2>/dev/null || echo 'unknown version'))"
  exit 0
fi

stamp="$( (cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/language-nodejs/main.go" "$0"; go version 2>/dev/null || true) | sha256sum | cut -c1-16)"
if [ -x "$DEST/bin/pulumi" ] && [ -x "$DEST/bin/pulumi-language-nodejs" ] && [ "$(cat "$DEST/stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "pulumi CLI: $DEST/bin/pulumi ($VERSION) is installed"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  cat >&2 <<MSG
pulumi CLI: not found. The tests, the demo and the benchmark run Pulumi programs through the real
pulumi CLI. Either install the Pulumi CLI so that \`pulumi\` is on PATH, or install Go 1.26 or newer
and run \`npm run install-pulumi\` again to build it from source into .cache/pulumi-cli.
MSG
  exit 1
fi

echo "pulumi CLI: building $VERSION from source with $(go version | cut -d' ' -f3) (a few minutes the first time)..."
started=$SECONDS
mkdir -p "$DEST/bin"
cd "$SRC"
export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -modcacherw -mod=readonly"
go build -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$VERSION" \
  -o "$DEST/bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
go build -trimpath -ldflags "-s -w" -o "$DEST/bin/pulumi-language-nodejs" ./language-nodejs
cat > "$DEST/bin/pulumi-resource-pulumi-nodejs" <<'SH'
#!/bin/sh
# The dynamic provider plugin: the @pulumi/pulumi SDK's provider host, from the program's node_modules.
exec node "$(node -p 'require.resolve("@pulumi/pulumi/cmd/dynamic-provider")')" "$@"
SH
chmod +x "$DEST/bin/pulumi-resource-pulumi-nodejs"
echo "$stamp" > "$DEST/stamp"
echo "pulumi CLI: installed $("$DEST/bin/pulumi" version) in $DEST/bin ($((SECONDS - started)) s)"
