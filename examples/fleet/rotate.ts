/**
 * Rotate one shared credential across a fleet of Cloudflare accounts: one stack of this example's
 * program per account, each `pulumi up` run through the Automation API (`LocalWorkspace`, so on
 * Pulumi's own engine, with its state, locking and secrets), several at a time.
 *
 *   npx tsx rotate.ts --accounts <id>,<id>,… [--concurrency N] [--results FILE]
 *   npx tsx rotate.ts --fleet fleet.json     [--concurrency N] [--results FILE]
 *   npx tsx rotate.ts --retry-failed         [--results FILE]
 *
 * The new value comes from FLEET_SECRET, which the provider reads itself (`valueFrom: { env }`),
 * so it never enters Pulumi. See README.md.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, type EngineEvent } from "@pulumi/pulumi/automation";

/** The environment variable the program's StoreSecret reads its value from. */
export const VALUE_ENV = "FLEET_SECRET";
export const DEFAULT_CONCURRENCY = 4;
export const DEFAULT_RESULTS_FILE = "fleet-results.json";
export const DEFAULT_STACK_PREFIX = "fleet-";
export const DEFAULT_LOG_DIR = "fleet-logs";

/** One member of the fleet: a stack of this program working in one account. */
export interface FleetTarget {
  /** The stack's name (default: `fleet-<accountId>`). */
  stack: string;
  /** The Cloudflare account id (32 hex characters), set as `cloudflare-secrets-store:accountId`. */
  accountId: string;
  /** More stack config for this member, e.g. `{ "workerName": "api" }` (a key without `:` is the project's). */
  config?: Record<string, string>;
}

export type Outcome = "changed" | "unchanged" | "failed";

/** What one stack's `up` did. */
export interface StackResult extends FleetTarget {
  result: Outcome;
  /** Resources created, updated, replaced or deleted (the stack and providers not counted). */
  changes: number;
  /** The first line of the error, when failed. */
  error?: string;
  /** Wall time in milliseconds. */
  ms: number;
}

/** `fleet-results.json`: the last result of every stack, what `--retry-failed` reads. */
export interface ResultsFile {
  version: 1;
  updatedAt: string;
  results: StackResult[];
}

interface Options {
  targets: FleetTarget[];
  concurrency: number;
  resultsFile: string;
  retryFailed: boolean;
  programDir: string;
  pulumiRoot?: string;
  logDir: string;
}

const USAGE = `Usage: npx tsx rotate.ts (--accounts LIST | --fleet FILE | --retry-failed) [options]

  --accounts LIST       comma-separated account ids, or STACK=ACCOUNT_ID pairs
                        (a bare id gets the stack ${DEFAULT_STACK_PREFIX}<id>)
  --fleet FILE          JSON array of {"stack", "accountId", "config"?} (stack defaults as above)
  --retry-failed        rerun only the stacks the results file lists as failed
  --concurrency N       stacks updated at once (default ${DEFAULT_CONCURRENCY})
  --results FILE        where results are written and --retry-failed reads them
                        (default ./${DEFAULT_RESULTS_FILE})
  --logs DIR            each stack's full pulumi output goes to DIR/<stack>.log
                        (default ./${DEFAULT_LOG_DIR})
  --program DIR         the Pulumi program (default: this example's directory)
  --pulumi-root DIR     use the pulumi CLI in DIR/bin (default: pulumi on PATH)
  --help                show this help

Environment: ${VALUE_ENV} (the new value, required), CLOUDFLARE_API_TOKEN (a token that reaches
every account), CLOUDFLARE_API_BASE_URL (optional: the emulator), PULUMI_BACKEND_URL and
PULUMI_CONFIG_PASSPHRASE (the state backend and the passphrase of the stacks' secrets).
Exit code: 0 when no stack failed, 1 when one did, 2 on bad usage.
`;

class UsageError extends Error {}

const HEX32 = /^[0-9a-f]{32}$/;
const STACK_NAME = /^[A-Za-z0-9_.-]+$/;

function target(stack: string | undefined, accountId: string, config?: Record<string, string>): FleetTarget {
  if (!HEX32.test(accountId)) throw new UsageError(`account id must be 32 lowercase hex characters, got "${accountId}"`);
  const name = stack ?? `${DEFAULT_STACK_PREFIX}${accountId}`;
  if (!STACK_NAME.test(name)) throw new UsageError(`stack name "${name}" may only hold letters, digits, "_", "." and "-"`);
  return { stack: name, accountId, ...(config && Object.keys(config).length ? { config } : {}) };
}

function readFleetFile(file: string): FleetTarget[] {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new UsageError(`--fleet: cannot read ${file}: ${(err as Error).message}`);
  }
  if (!Array.isArray(raw)) throw new UsageError(`--fleet: ${file} must hold a JSON array of {"stack", "accountId", "config"?}`);
  return raw.map((entry: unknown, i) => {
    const e = entry as Partial<FleetTarget> | null;
    if (typeof e?.accountId !== "string") throw new UsageError(`--fleet: entry ${i} has no "accountId"`);
    if (e.stack !== undefined && typeof e.stack !== "string") throw new UsageError(`--fleet: entry ${i}: "stack" must be a string`);
    const config = e.config ?? {};
    if (typeof config !== "object" || Object.values(config).some((v) => typeof v !== "string")) {
      throw new UsageError(`--fleet: entry ${i}: "config" must map keys to strings`);
    }
    return target(e.stack, e.accountId, config);
  });
}

export function readResults(file: string): ResultsFile | undefined {
  if (!fs.existsSync(file)) return undefined;
  const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as ResultsFile;
  if (parsed.version !== 1 || !Array.isArray(parsed.results)) throw new Error(`${file} is not a results file written by rotate.ts`);
  return parsed;
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    targets: [],
    concurrency: DEFAULT_CONCURRENCY,
    resultsFile: path.resolve(DEFAULT_RESULTS_FILE),
    retryFailed: false,
    programDir: __dirname,
    logDir: path.resolve(DEFAULT_LOG_DIR),
  };
  let sources = 0;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === undefined) break;
    if (arg === "--help" || arg === "-h") {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    if (arg === "--retry-failed") {
      options.retryFailed = true;
      sources++;
      continue;
    }
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    switch (flag) {
      case "--accounts":
        sources++;
        options.targets = value
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== "")
          .map((entry) => {
            const eq = entry.indexOf("=");
            return eq === -1 ? target(undefined, entry) : target(entry.slice(0, eq), entry.slice(eq + 1));
          });
        if (options.targets.length === 0) throw new UsageError("--accounts names no account");
        break;
      case "--fleet":
        sources++;
        options.targets = readFleetFile(value);
        break;
      case "--concurrency":
        if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`--concurrency takes a whole number of at least 1, got "${value}"`);
        options.concurrency = Number(value);
        break;
      case "--results":
        options.resultsFile = path.resolve(value);
        break;
      case "--logs":
        options.logDir = path.resolve(value);
        break;
      case "--program":
        options.programDir = path.resolve(value);
        break;
      case "--pulumi-root":
        options.pulumiRoot = path.resolve(value);
        break;
      default:
        throw new UsageError(`unknown option "${arg}"`);
    }
  }
  if (sources !== 1) throw new UsageError("give exactly one of --accounts, --fleet and --retry-failed");
  const seen = new Set<string>();
  for (const t of options.targets) {
    if (seen.has(t.stack)) throw new UsageError(`stack ${t.stack} is listed twice`);
    seen.add(t.stack);
  }
  return options;
}

/** Stack steps that are not changes, and resources that are not the program's. */
const NOT_CHANGES = new Set(["same", "read", "refresh", "discard", "import"]);
const isOwnResource = (type: string) => type !== "pulumi:pulumi:Stack" && !type.startsWith("pulumi:providers:");

/**
 * The first line of a message that says something, without Pulumi's `error: ` prefix: a heading
 * that ends in ":" (`Running program '…' failed with an unhandled exception:`) is skipped for the
 * line after it.
 */
export function firstLine(message: string): string {
  const lines = message
    .split("\n")
    .map((l) => l.trim().replace(/^error:\s*/, ""))
    .filter((l) => l !== "");
  return lines.find((l) => !l.endsWith(":")) ?? lines[0] ?? "";
}

/** Only one stack at a time creates or selects its stack and sets its config (they share the workspace's files). */
let setupLock: Promise<unknown> = Promise.resolve();
function serialized<T>(fn: () => Promise<T>): Promise<T> {
  const run = setupLock.then(fn, fn);
  setupLock = run.catch(() => undefined);
  return run;
}

async function upOne(t: FleetTarget, programDir: string, pulumiCommand: PulumiCommand, logFile: string): Promise<StackResult> {
  const started = Date.now();
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.createWriteStream(logFile);
  const onOutput = (out: string) => log.write(out);
  let changes = 0;
  const errors: string[] = [];
  const onEvent = (event: EngineEvent) => {
    const step = event.resOutputsEvent?.metadata;
    if (step && !NOT_CHANGES.has(step.op) && isOwnResource(step.type)) changes++;
    const diag = event.diagnosticEvent;
    if (diag?.severity === "error") errors.push(diag.message);
  };
  try {
    const stack = await serialized(async () => {
      const s = await LocalWorkspace.createOrSelectStack(
        { stackName: t.stack, workDir: programDir },
        { pulumiCommand, secretsProvider: "passphrase", envVars: { PULUMI_SKIP_UPDATE_CHECK: "true" } },
      );
      await s.setAllConfig({
        "cloudflare-secrets-store:accountId": { value: t.accountId },
        ...Object.fromEntries(Object.entries(t.config ?? {}).map(([k, v]) => [k, { value: v }])),
      });
      return s;
    });
    await stack.up({ color: "never", onEvent, onOutput });
    return { ...t, result: changes > 0 ? "changed" : "unchanged", changes, ms: Date.now() - started };
  } catch (err) {
    log.write(`\n${(err as Error).message}\n`);
    // The engine's first error diagnostic names the resource and the cause; the CLI's output is the fallback.
    const message = errors.find((m) => !/^update failed/.test(firstLine(m))) ?? errors[0] ?? (err as Error).message;
    return { ...t, result: "failed", changes, error: firstLine(message), ms: Date.now() - started };
  } finally {
    await new Promise((resolve) => log.end(resolve));
  }
}

/** Runs `work` over `items`, at most `limit` at a time, keeping the items' order in the results. */
async function pool<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  // One iterator shared by every worker: each takes the next item that no other worker took.
  const queue = items.entries();
  const worker = async () => {
    for (const [i, item] of queue) results[i] = await work(item, i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** The summary table: one row per stack. */
export function summaryTable(results: StackResult[]): string {
  const header = ["STACK", "ACCOUNT", "RESULT", "CHANGES", "TIME", "ERROR"];
  const rows = [header, ...results.map((r) => [r.stack, r.accountId, r.result, String(r.changes), seconds(r.ms), r.error ?? ""])];
  const widths = header.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? "").length)));
  return rows
    .map((row) =>
      row
        .map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`rotate: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  const previous = readResults(options.resultsFile);
  let targets = options.targets;
  if (options.retryFailed) {
    if (!previous) {
      process.stderr.write(`rotate: --retry-failed: no results file at ${options.resultsFile}\n`);
      return 2;
    }
    targets = previous.results
      .filter((r) => r.result === "failed")
      .map(({ stack, accountId, config }) => ({ stack, accountId, ...(config ? { config } : {}) }));
    if (targets.length === 0) {
      process.stdout.write(`Nothing to retry: no stack failed in ${options.resultsFile}\n`);
      return 0;
    }
  }
  if (!process.env[VALUE_ENV]) {
    process.stderr.write(`rotate: ${VALUE_ENV} is not set: it holds the new value (the provider reads it; it never enters Pulumi)\n`);
    return 2;
  }

  const pulumiCommand = options.pulumiRoot ? await PulumiCommand.get({ root: options.pulumiRoot }) : await PulumiCommand.get();
  const total = targets.length;
  const width = String(total).length;
  let finished = 0;
  process.stdout.write(`Rotating ${VALUE_ENV} in ${total} stack${total === 1 ? "" : "s"}, ${Math.min(options.concurrency, total)} at a time\n`);
  const results = await pool(targets, options.concurrency, async (t, i) => {
    const tag = `[${String(i + 1).padStart(width)}/${total}]`;
    process.stdout.write(`${tag} start   ${t.stack} (account ${t.accountId})\n`);
    const r = await upOne(t, options.programDir, pulumiCommand, path.join(options.logDir, `${t.stack}.log`));
    finished++;
    const what = r.result === "failed" ? `failed: ${r.error}` : `${r.result} (${r.changes} change${r.changes === 1 ? "" : "s"})`;
    process.stdout.write(`${tag} ${r.result === "failed" ? "FAILED " : "done   "} ${t.stack} ${what} in ${seconds(r.ms)} [${finished}/${total} finished]\n`);
    return r;
  });

  // Keep the last result of stacks this run did not touch (a retry runs only the failed ones).
  const merged = [...(options.retryFailed ? (previous?.results ?? []).filter((p) => !results.some((r) => r.stack === p.stack)) : []), ...results];
  const file: ResultsFile = { version: 1, updatedAt: new Date().toISOString(), results: merged };
  fs.writeFileSync(options.resultsFile, `${JSON.stringify(file, null, 2)}\n`);

  const count = (o: Outcome) => results.filter((r) => r.result === o).length;
  const failed = count("failed");
  process.stdout.write(`\n${summaryTable(results)}\n\n`);
  process.stdout.write(`${total} stack${total === 1 ? "" : "s"}: ${count("changed")} changed, ${count("unchanged")} unchanged, ${failed} failed\n`);
  process.stdout.write(
    failed > 0
      ? `Results in ${options.resultsFile}, full output in ${options.logDir}; rerun only the failed ones with: npx tsx rotate.ts --retry-failed${options.resultsFile === path.resolve(DEFAULT_RESULTS_FILE) ? "" : ` --results ${options.resultsFile}`}\n`
      : `Results in ${options.resultsFile}\n`,
  );
  return failed > 0 ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`rotate: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
