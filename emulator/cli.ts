#!/usr/bin/env node
/**
 * cloudflare-api-emulator --port 8787 [--host H] [--data DIR] [--account ID [--seed FILE]]…
 *   [--token TOKEN[:read|:edit|:workers]]… [--token-file FILE] [--quota N] [--max-stores N]
 *   [--pending-ms N] [--latency-ms N] [--rate-limit N] [--seed FILE]
 *   [--hook-token TOKEN | --hook-token-file FILE | --no-hooks] [--hooks-allow-remote]
 *
 * Tokens can be kept out of argv (which `ps` shows every user): `--token-file` / `--hook-token-file`,
 * or the environment variables CLOUDFLARE_EMULATOR_TOKENS / CLOUDFLARE_EMULATOR_HOOK_TOKEN.
 *
 * `--account` is repeatable: the first names the first account, each later one adds an account
 * (its own stores, secrets, Workers and quota; every token reaches all of them). A `--seed` seeds
 * the account named by the `--account` before it (the first account when none is).
 *
 * Serves until SIGINT/SIGTERM. Prints the API base URL, the account ids, the tokens to use and
 * the hook token. Exits 2 on a bad flag and 1 when the emulator cannot start (for example a data
 * directory others can write, or a corrupt state file).
 */
import * as fs from "node:fs";
import { DEFAULT_PENDING_MS, startEmulator, type EmulatorOptions } from "./index";

/** Environment variable holding API tokens, `TOKEN[:read|:edit|:workers]` separated by commas, spaces or newlines. */
const TOKENS_ENV = "CLOUDFLARE_EMULATOR_TOKENS";
/** Environment variable holding the hook token. */
const HOOK_TOKEN_ENV = "CLOUDFLARE_EMULATOR_HOOK_TOKEN";

const USAGE = `Usage: cloudflare-api-emulator [options]

  --port N                    port to listen on (default 8787; 0 = any free port)
  --host HOST                 address to listen on (default 127.0.0.1)
  --data DIR                  keep state in DIR (values encrypted at rest with DIR/key);
                              default: in memory
  --account ID                account id, 32 hex characters (default 0123456789abcdef0123456789abcdef).
                              Repeatable: each later --account adds an account with its own
                              stores, secrets, Workers and quota; every token reaches them all
  --token TOKEN[:PERM]        accept this API token (repeatable). PERM: edit (default), read
                              (GET only) or workers (edit Workers, read Secrets Store).
                              Default: one random edit token
  --token-file FILE           accept the tokens in FILE, one TOKEN[:PERM] per line (blank lines
                              and lines starting with # are skipped); keeps them out of argv
  --quota N                   secrets per account (default 100)
  --max-stores N              stores per account (default 1)
  --pending-ms N              a new or changed secret stays pending N to 1.5*N ms, during which
                              bindings to it are refused (10182); 0 = off (default ${DEFAULT_PENDING_MS})
  --latency-ms N              add N ms to every API response (default 0)
  --rate-limit N              requests per 5 minutes per token (default 1200)
  --seed FILE                 JSON file with stores, secrets and Workers to start with, for the
                              account named by the --account before it (else the first account)
  --hook-token TOKEN          the token the test hooks (/__emulator/…) require
                              (default: a random one, printed at start-up)
  --hook-token-file FILE      read the hook token from FILE (its first line)
  --no-hooks                  serve no test hooks (every /__emulator path answers 404)
  --hooks-allow-remote        let non-loopback clients use the hooks (default: loopback only)
  --help                      show this help

Environment (used only when the matching flags are absent):
  ${TOKENS_ENV}   API tokens, TOKEN[:PERM] separated by commas, spaces or newlines
  ${HOOK_TOKEN_ENV}   the hook token
Tokens from a file or the environment are not printed at start-up.
`;

/** Flags that take no value. */
const SWITCHES = ["--no-hooks", "--hooks-allow-remote"];
const VALUED = [
  "--port",
  "--host",
  "--data",
  "--account",
  "--token",
  "--token-file",
  "--quota",
  "--max-stores",
  "--pending-ms",
  "--latency-ms",
  "--rate-limit",
  "--seed",
  "--hook-token",
  "--hook-token-file",
];

class UsageError extends Error {}

type TokenList = NonNullable<EmulatorOptions["tokens"]>;

/** One `TOKEN[:read|:edit|:workers]`; `where` names its source in errors. */
function parseToken(raw: string, where: string): TokenList[number] {
  const m = /^(.*?)(?::(read|edit|workers))?$/.exec(raw);
  const token = m?.[1] ?? "";
  if (!m || token === "" || /\s/.test(token)) throw new UsageError(`${where} takes TOKEN[:read|:edit|:workers] with a non-empty token without spaces`);
  // Never repeat the token in the message: it is a secret.
  if (token.includes(":")) throw new UsageError(`${where} takes TOKEN[:read|:edit|:workers]: the permission after ":" must be read, edit or workers`);
  return { token, permission: (m[2] as "read" | "edit" | "workers" | undefined) ?? "edit" };
}

function readSecretFile(flag: string, file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Where the tokens came from: printed ones (argv, generated) or hidden ones (a file, the environment). */
interface TokenSources {
  hidden: Set<string>;
  hookHidden: boolean;
}

function parseArgs(argv: string[], env: NodeJS.ProcessEnv, sources: TokenSources): EmulatorOptions {
  const options: EmulatorOptions = { port: 8787 };
  /** Accounts after the first (`--account` given more than once). */
  const extra: NonNullable<EmulatorOptions["accounts"]> = [];
  const tokens: TokenList = [];
  const addToken = (t: TokenList[number], where: string, hidden: boolean) => {
    if (tokens.some((x) => x.token === t.token)) throw new UsageError(`${where}: the same token is given twice`);
    tokens.push(t);
    if (hidden) sources.hidden.add(t.token);
  };
  let hookFromFile = false;
  const int = (flag: string, raw: string): number => {
    if (!/^\d+$/.test(raw)) throw new UsageError(`${flag} takes a whole number, got "${raw}"`);
    return Number(raw);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === undefined) break;
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
        if (value === options.accountId || extra.some((a) => a.accountId === value)) throw new UsageError(`--account ${value} is given twice`);
        if (options.accountId === undefined) options.accountId = value;
        else extra.push({ accountId: value });
        break;
      case "--token":
        addToken(parseToken(value, "--token"), "--token", false);
        break;
      case "--token-file": {
        const lines = readSecretFile(flag, value)
          .split(/\r?\n/)
          .map((l) => l.trim())
          .filter((l) => l !== "" && !l.startsWith("#"));
        if (lines.length === 0) throw new UsageError(`--token-file: ${value} holds no token`);
        lines.forEach((line, i) => addToken(parseToken(line, `--token-file ${value} line ${i + 1}`), "--token-file", true));
        break;
      }
      case "--pending-ms":
        options.pendingMs = int(flag, value);
        break;
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
      case "--seed": {
        // The account named last so far; the first account when none is named yet.
        const last = extra[extra.length - 1];
        const target = last ?? options;
        if (target.seed !== undefined) throw new UsageError(`--seed is given twice for account ${last?.accountId ?? options.accountId ?? "(the first)"}`);
        target.seed = value;
        break;
      }
      case "--hook-token":
        if (/\s/.test(value) || value === "") throw new UsageError("--hook-token takes a non-empty token without spaces");
        if (options.hookToken !== undefined) throw new UsageError("give the hook token once (--hook-token or --hook-token-file)");
        options.hookToken = value;
        break;
      case "--hook-token-file": {
        const token = (readSecretFile(flag, value).split(/\r?\n/)[0] ?? "").trim();
        if (token === "" || /\s/.test(token)) throw new UsageError(`--hook-token-file: the first line of ${value} must be a non-empty token without spaces`);
        if (options.hookToken !== undefined) throw new UsageError("give the hook token once (--hook-token or --hook-token-file)");
        options.hookToken = token;
        hookFromFile = true;
        break;
      }
    }
  }
  if (tokens.length === 0 && env[TOKENS_ENV] !== undefined && env[TOKENS_ENV].trim() !== "") {
    for (const raw of env[TOKENS_ENV].split(/[\s,]+/).filter((t) => t !== "")) addToken(parseToken(raw, TOKENS_ENV), TOKENS_ENV, true);
  }
  if (tokens.length) options.tokens = tokens;
  if (extra.length) options.accounts = extra;
  if (options.hooks === false && options.hookToken !== undefined) throw new UsageError("--hook-token and --no-hooks cannot be used together");
  const envHook = env[HOOK_TOKEN_ENV]?.trim();
  if (options.hookToken === undefined && options.hooks !== false && envHook) {
    if (/\s/.test(envHook)) throw new UsageError(`${HOOK_TOKEN_ENV} must be a token without spaces`);
    options.hookToken = envHook;
    hookFromFile = true;
  }
  sources.hookHidden = hookFromFile;
  return options;
}

async function main(): Promise<void> {
  let options: EmulatorOptions;
  const sources: TokenSources = { hidden: new Set(), hookHidden: false };
  try {
    options = parseArgs(process.argv.slice(2), process.env, sources);
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
  // Tokens that came from a file or the environment were kept out of argv on purpose: not printed either.
  const shown = (t: { token: string; permission: string }) =>
    sources.hidden.has(t.token) ? `token: (${t.permission}, from a file or ${TOKENS_ENV}; not printed)` : `token: ${t.token}`;
  const lines = [`Cloudflare API emulator listening on ${emulator.url}`, ...emulator.accountIds.map((id) => `account: ${id}`), ...emulator.tokens.map(shown)];
  if (emulator.hookToken === undefined) lines.push("hooks: off");
  else lines.push(sources.hookHidden ? "hook token: (from a file or the environment; not printed)" : `hook token: ${emulator.hookToken}`);
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
