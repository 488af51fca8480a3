#!/usr/bin/env node
/**
 * cloudflare-api-emulator --port 8787 [--host H] [--data DIR] [--account ID] [--token TOKEN[:read|:edit]]…
 *   [--quota N] [--max-stores N] [--latency-ms N] [--rate-limit N] [--seed FILE]
 *   [--hook-token TOKEN | --no-hooks] [--hooks-allow-remote]
 *
 * Serves until SIGINT/SIGTERM. Prints the API base URL, the account id, the tokens to use and
 * the hook token. Exits 2 on a bad flag and 1 when the emulator cannot start (for example a data
 * directory others can write, or a corrupt state file).
 */
import { startEmulator, type EmulatorOptions } from "./index";

const USAGE = `Usage: cloudflare-api-emulator [options]

  --port N                    port to listen on (default 8787; 0 = any free port)
  --host HOST                 address to listen on (default 127.0.0.1)
  --data DIR                  keep state in DIR (values encrypted at rest); default: in memory
  --account ID                account id, 32 hex characters (default 0123456789abcdef0123456789abcdef)
  --token TOKEN[:read|:edit]  accept this API token (repeatable; default permission edit;
                              default: one random edit token)
  --quota N                   secrets per account (default 100)
  --max-stores N              stores per account (default 1)
  --latency-ms N              add N ms to every API response (default 0)
  --rate-limit N              requests per 5 minutes per token (default 1200)
  --seed FILE                 JSON file with stores, secrets and Workers to start with
  --hook-token TOKEN          the token the test hooks (/__emulator/…) require
                              (default: a random one, printed at start-up)
  --no-hooks                  serve no test hooks (every /__emulator path answers 404)
  --hooks-allow-remote        let non-loopback clients use the hooks (default: loopback only)
  --help                      show this help
`;

/** Flags that take no value. */
const SWITCHES = ["--no-hooks", "--hooks-allow-remote"];
const VALUED = ["--port", "--host", "--data", "--account", "--token", "--quota", "--max-stores", "--latency-ms", "--rate-limit", "--seed", "--hook-token"];

class UsageError extends Error {}

function parseArgs(argv: string[]): EmulatorOptions {
  const options: EmulatorOptions = { port: 8787 };
  const tokens: NonNullable<EmulatorOptions["tokens"]> = [];
  const int = (flag: string, raw: string): number => {
    if (!/^\d+$/.test(raw)) throw new UsageError(`${flag} takes a whole number, got "${raw}"`);
    return Number(raw);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    if (SWITCHES.includes(arg)) {
      if (arg === "--no-hooks") options.hooks = false;
      else options.hooksAllowRemote = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq !== -1 ? arg.slice(0, eq) : arg;
    if (SWITCHES.includes(flag)) throw new UsageError(`${flag} takes no value`);
    if (!VALUED.includes(flag)) throw new UsageError(`Unknown option "${arg}"`);
    let value: string;
    if (eq !== -1 && arg.startsWith("--")) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) throw new UsageError(`${flag} needs a value`);
      value = next;
      i++;
    }
    switch (flag) {
      case "--port":
        options.port = int(flag, value);
        if (options.port > 65_535) throw new UsageError(`--port must be at most 65535, got ${value}`);
        break;
      case "--host":
        options.host = value;
        break;
      case "--data":
        options.dataDir = value;
        break;
      case "--account":
        if (!/^[0-9a-f]{32}$/.test(value)) throw new UsageError(`--account takes 32 lowercase hex characters, got "${value}"`);
        options.accountId = value;
        break;
      case "--token": {
        const m = /^(.*?)(?::(read|edit))?$/.exec(value)!;
        const token = m[1]!;
        if (token === "" || /\s/.test(token)) throw new UsageError("--token takes TOKEN[:read|:edit] with a non-empty token without spaces");
        if (tokens.some((t) => t.token === token)) throw new UsageError("--token: the same token is given twice");
        tokens.push({ token, permission: (m[2] as "read" | "edit" | undefined) ?? "edit" });
        break;
      }
      case "--quota":
        options.quota = int(flag, value);
        break;
      case "--max-stores":
        options.maxStores = int(flag, value);
        break;
      case "--latency-ms":
        options.latencyMs = int(flag, value);
        break;
      case "--rate-limit":
        options.rateLimit = int(flag, value);
        if (options.rateLimit < 1) throw new UsageError("--rate-limit must be at least 1");
        break;
      case "--seed":
        options.seed = value;
        break;
      case "--hook-token":
        if (/\s/.test(value) || value === "") throw new UsageError("--hook-token takes a non-empty token without spaces");
        options.hookToken = value;
        break;
    }
  }
  if (tokens.length) options.tokens = tokens;
  if (options.hooks === false && options.hookToken !== undefined) throw new UsageError("--hook-token and --no-hooks cannot be used together");
  return options;
}

async function main(): Promise<void> {
  let options: EmulatorOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`cloudflare-api-emulator: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  let emulator;
  try {
    emulator = await startEmulator(options);
  } catch (err) {
    process.stderr.write(`cloudflare-api-emulator: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const lines = [`Cloudflare API emulator listening on ${emulator.url}`, `account: ${emulator.accountId}`, ...emulator.tokens.map((t) => `token: ${t.token}`)];
  lines.push(emulator.hookToken !== undefined ? `hook token: ${emulator.hookToken}` : "hooks: off");
  lines.push(options.dataDir ? `state: ${options.dataDir} (secret values encrypted at rest)` : "state: in memory (lost on exit; use --data DIR to keep it)");
  process.stdout.write(`${lines.join("\n")}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    emulator.close().then(
      () => process.exit(0),
      (err: Error) => {
        process.stderr.write(`cloudflare-api-emulator: error while stopping on ${signal}: ${err.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

void main();
