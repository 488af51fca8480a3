/**
 * Drives the real `pulumi` CLI for the tests, the demo and the benchmark: one {@link PulumiStack} is
 * one program directory and one stack in a local file backend, with a passphrase secrets provider,
 * its own `PULUMI_HOME`, no update check and no plugin download. The CLI is the one on PATH, or
 * the one `tools/install-pulumi-cli.sh` built into `.cache/pulumi-cli/bin`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const REPO_ROOT = path.resolve(__dirname, "..");
const CACHE_BIN = path.join(REPO_ROOT, ".cache", "pulumi-cli", "bin");

/** PATH for the CLI and its plugins: Node 22 first (the language host and the plugin run `node`), then the built CLI. */
export function cliPath(): string {
  const nodeDir = path.dirname(process.execPath);
  return [nodeDir, CACHE_BIN, process.env.PATH ?? ""].join(path.delimiter);
}

/** The `pulumi` executable that will run, or an error that says how to get one. */
export function findPulumi(): string {
  const found = spawnSync("sh", ["-c", "command -v pulumi"], { env: { ...process.env, PATH: cliPath() }, encoding: "utf8" });
  const bin = found.stdout.trim();
  if (found.status !== 0 || !bin) {
    throw new Error(
      "No `pulumi` CLI: run `npm run install-pulumi` (builds it from source with Go 1.26+ into .cache/pulumi-cli), or install the Pulumi CLI so that `pulumi` is on PATH.",
    );
  }
  return bin;
}

/** What one CLI command did. */
export interface CliResult {
  args: string[];
  code: number;
  /** The signal that ended it, if one did (e.g. SIGKILL). */
  signal?: string;
  stdout: string;
  stderr: string;
  /** Wall time in milliseconds. */
  ms: number;
}

/** Options of a {@link PulumiStack}. */
export interface StackOptions {
  programDir: string;
  stack: string;
  passphrase: string;
  /** Directory of the file backend; default: `<programDir>/.pulumi-backend`. */
  backendDir?: string;
  /** Environment for every command (the program and the provider process inherit it). */
  env?: NodeJS.ProcessEnv;
  /** Called with each chunk the CLI prints (stdout and stderr), e.g. to show it live. */
  onOutput?: (chunk: string) => void;
}

/** One stack of one program, driven through the CLI. */
export class PulumiStack {
  readonly backendDir: string;
  readonly home: string;
  /** Called with each `pulumi` process this stack starts (the kill tests find and kill it through it). */
  onSpawn?: (child: ChildProcess, args: string[]) => void;
  private readonly pulumi = findPulumi();

  constructor(readonly options: StackOptions) {
    this.backendDir = options.backendDir ?? path.join(options.programDir, ".pulumi-backend");
    this.home = path.join(this.backendDir, ".pulumi-home");
    fs.mkdirSync(this.home, { recursive: true });
  }

  /** Creates (or selects) the stack in the file backend. */
  async init(): Promise<void> {
    const created = await this.run(["stack", "init", this.options.stack, "--secrets-provider", "passphrase"], { quiet: true });
    if (created.code !== 0 && !/already exists/.test(created.stderr)) throw failure(created);
    await this.cli(["stack", "select", this.options.stack]);
  }

  /** `pulumi config set [--secret] key value` (the value goes through stdin, never argv). */
  async setConfig(key: string, value: string, secret = false): Promise<void> {
    await this.cli(["config", "set", ...(secret ? ["--secret"] : ["--plaintext"]), key], { input: value });
  }

  async removeConfig(key: string): Promise<void> {
    await this.cli(["config", "rm", key]);
  }

  /** Runs `pulumi <args>` in the program directory; never throws on a non-zero exit. */
  run(args: string[], extra: { env?: NodeJS.ProcessEnv; input?: string; signal?: AbortSignal; quiet?: boolean } = {}): Promise<CliResult> {
    const started = Date.now();
    const fullArgs = [...args, "--non-interactive", "--color", "never", "--cwd", this.options.programDir];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...this.options.env,
      ...extra.env,
      PATH: cliPath(),
      PULUMI_HOME: this.home,
      PULUMI_BACKEND_URL: `file://${this.backendDir}`,
      PULUMI_CONFIG_PASSPHRASE: this.options.passphrase,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_SUPPRESS_COPILOT_LINK: "true",
    };
    const show = extra.quiet ? undefined : this.options.onOutput;
    return new Promise((resolve, reject) => {
      const child = spawn(this.pulumi, fullArgs, { cwd: this.options.programDir, env, stdio: ["pipe", "pipe", "pipe"], signal: extra.signal });
      this.onSpawn?.(child, args);
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        show?.(d.toString());
      });
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        show?.(d.toString());
      });
      child.on("error", (err) => (err.name === "AbortError" ? undefined : reject(err)));
      child.on("close", (code, signal) =>
        resolve({ args, code: code ?? (signal ? 128 : 1), ...(signal ? { signal } : {}), stdout, stderr, ms: Date.now() - started }),
      );
      child.stdin.end(extra.input ?? "");
    });
  }

  /** Like {@link run}, but quiet, and throws with the CLI's output when the command fails. */
  async cli(args: string[], extra: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
    const result = await this.run(args, { ...extra, quiet: true });
    if (result.code !== 0) throw failure(result);
    return result;
  }

  /**
   * Runs `pulumi <operation> --json` (with `--yes` but the preview) and reads what it did: the
   * steps, the diagnostics and, for `up`, the preview it ran first. `pulumi up --yes` previews, then
   * updates, as users run it in CI.
   */
  async deploy(operation: Operation, ...args: string[]): Promise<Deployment> {
    const result = await this.run([operation, ...(operation === "preview" ? [] : ["--yes"]), "--json", ...args]);
    return { ...result, ok: result.code === 0, ...parseJsonDisplay(result.stdout) };
  }

  preview(...args: string[]): Promise<Deployment> {
    return this.deploy("preview", ...args);
  }

  up(...args: string[]): Promise<Deployment> {
    return this.deploy("up", ...args);
  }

  refresh(...args: string[]): Promise<Deployment> {
    return this.deploy("refresh", ...args);
  }

  destroy(...args: string[]): Promise<Deployment> {
    return this.deploy("destroy", ...args);
  }

  /** The stack's outputs (`pulumi stack output --json --show-secrets`). */
  async outputs(): Promise<Record<string, unknown>> {
    return JSON.parse((await this.cli(["stack", "output", "--json", "--show-secrets"])).stdout) as Record<string, unknown>;
  }

  /** The deployment (`pulumi stack export`), decrypted with `--show-secrets` when asked. */
  async export(showSecrets = false): Promise<StackExport> {
    const out = await this.cli(["stack", "export", ...(showSecrets ? ["--show-secrets"] : [])]);
    return JSON.parse(out.stdout) as StackExport;
  }

  /** Every file of the backend and the program directory's stack config, as one text (to search for leaks). */
  storedText(): string {
    const files: string[] = [];
    const walk = (p: string) => {
      if (!fs.existsSync(p)) return;
      if (fs.statSync(p).isDirectory()) for (const f of fs.readdirSync(p)) walk(path.join(p, f));
      else files.push(fs.readFileSync(p, "utf8"));
    };
    walk(this.backendDir);
    walk(path.join(this.options.programDir, `Pulumi.${this.options.stack}.yaml`));
    return files.join("\n");
  }
}

export type Operation = "preview" | "up" | "refresh" | "destroy";

/** One resource step of a deployment. */
export interface Step {
  op: string;
  urn: string;
  /** The resource's name (the URN's last part). */
  name: string;
  /** The step failed. */
  failed?: boolean;
}

/** A message the engine showed (debug messages left out). */
export interface Diagnostic {
  severity: string;
  message: string;
  urn?: string;
}

/** What a `--json` run did. */
export interface Deployment extends CliResult {
  ok: boolean;
  /** The steps of the operation (for `up`, of the update; a preview's planned steps for `preview`). */
  steps: Step[];
  /** For `up`: the steps of the preview it ran first. */
  previewSteps: Step[];
  diagnostics: Diagnostic[];
}

interface JsonStep {
  op: string;
  urn: string;
}
interface JsonDiagnostic {
  severity: string;
  message: string;
  urn?: string;
}
interface JsonEvent {
  resOutputsEvent?: { metadata: JsonStep };
  resOpFailedEvent?: { metadata: JsonStep };
  diagnosticEvent?: JsonDiagnostic;
}

const toStep = (s: JsonStep, failed = false): Step => ({ op: s.op, urn: s.urn, name: s.urn.split("::").pop() ?? s.urn, ...(failed ? { failed } : {}) });

/**
 * Reads `--json` output: a preview prints one JSON document (`steps`, `diagnostics`); an update
 * prints its preview's document, then one engine event per line.
 */
export function parseJsonDisplay(stdout: string): Pick<Deployment, "steps" | "previewSteps" | "diagnostics"> {
  const firstEvent = stdout.search(/^\{"sequence"/m);
  const docText = (firstEvent < 0 ? stdout : stdout.slice(0, firstEvent)).trim();
  const doc = docText.startsWith("{") ? (JSON.parse(docText) as { steps?: JsonStep[]; diagnostics?: JsonDiagnostic[] }) : {};
  const planned = (doc.steps ?? []).map((s) => toStep(s));
  const diagnostics: Diagnostic[] = (doc.diagnostics ?? [])
    .filter((d) => d.severity !== "debug")
    .map((d) => ({ severity: d.severity, message: d.message, urn: d.urn }));
  if (firstEvent < 0) return { steps: planned, previewSteps: [], diagnostics };
  const steps: Step[] = [];
  for (const line of stdout.slice(firstEvent).split("\n")) {
    if (!line.startsWith("{")) continue;
    const event = JSON.parse(line) as JsonEvent;
    if (event.resOutputsEvent) steps.push(toStep(event.resOutputsEvent.metadata));
    if (event.resOpFailedEvent) steps.push(toStep(event.resOpFailedEvent.metadata, true));
    const d = event.diagnosticEvent;
    if (d && d.severity !== "debug") diagnostics.push({ severity: d.severity, message: d.message, urn: d.urn });
  }
  return { steps, previewSteps: planned, diagnostics };
}

/** The parts of `pulumi stack export` the tests read. */
export interface StackExport {
  deployment: {
    resources?: ExportedResource[];
    pending_operations?: Array<{ resource: ExportedResource; type: string }>;
  };
}

export interface ExportedResource {
  urn: string;
  type: string;
  id?: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  initErrors?: string[];
}

function failure(result: CliResult): Error {
  return new Error(`pulumi ${result.args.join(" ")} exited with ${result.code}\n${result.stdout}\n${result.stderr}`);
}
