/**
 * A Pulumi program staged with the packed package, an emulator behind it, and one stack driven
 * through the real `pulumi` CLI (local file backend, passphrase secrets), as users run it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { startEmulator, type EmulatorOptions, type EmulatorSeed, type RunningEmulator } from "../../emulator";
import { PulumiStack, type Deployment, type StackExport } from "../../tools/pulumi-cli";
import { leaks } from "../rig/bytes";
import { emulatorFetch, requestLog, type Json, type RequestLogEntry } from "../../tools/emulator-client";
import { REPO_ROOT, stageProgram } from "../../tools/packed-package";

export const PASSPHRASE = "cli-test-passphrase";

export interface StartOptions {
  /** Secret stack config (`pulumi config set --secret`). */
  secrets?: Record<string, string>;
  /** Plain stack config. */
  config?: Record<string, string>;
  /**
   * Pass the token, account and API URL as environment variables (CLOUDFLARE_API_TOKEN, …) instead
   * of stack config, plus these variables.
   */
  env?: NodeJS.ProcessEnv;
  /** The stack's name (default "test"). */
  stack?: string;
  /** More emulator options (quota, maxStores, rateLimit, latencyMs, tokens, …); the seed and port are set by `start`. */
  emulator?: Omit<EmulatorOptions, "seed" | "port">;
}

export class CliStack {
  private constructor(
    readonly emu: RunningEmulator,
    readonly programDir: string,
    readonly pulumi: PulumiStack,
  ) {}

  /** Stages `examples/<example>` (or a program directory), starts an emulator with the seed, creates the stack. */
  static async start(example: string, seed: EmulatorSeed, options: StartOptions = {}): Promise<CliStack> {
    const emu = await startEmulator({ ...options.emulator, port: 0, seed });
    const source = path.isAbsolute(example) ? example : path.join(REPO_ROOT, "examples", example);
    const programDir = stageProgram(source);
    const viaEnv = options.env !== undefined;
    const env = viaEnv ? { CLOUDFLARE_API_TOKEN: emu.token, CLOUDFLARE_ACCOUNT_ID: emu.accountId, CLOUDFLARE_API_BASE_URL: emu.url, ...options.env } : {};
    const pulumi = new PulumiStack({ programDir, stack: options.stack ?? "test", passphrase: PASSPHRASE, env });
    await pulumi.init();
    const stack = new CliStack(emu, programDir, pulumi);
    if (!viaEnv) {
      await pulumi.setConfig("cloudflare:apiToken", emu.token, true);
      await stack.configure({ "cloudflare-secrets-store:accountId": emu.accountId, "cloudflare-secrets-store:apiBaseUrl": emu.url });
    }
    await stack.configure(options.config ?? {}, options.secrets ?? {});
    return stack;
  }

  /** Sets plain and secret stack config (persisted in `Pulumi.<stack>.yaml`, as `pulumi config set` does). */
  async configure(config: Record<string, string>, secrets: Record<string, string> = {}): Promise<void> {
    for (const [k, v] of Object.entries(config)) await this.pulumi.setConfig(k, v);
    for (const [k, v] of Object.entries(secrets)) await this.pulumi.setConfig(k, v, true);
  }

  preview(...args: string[]): Promise<Deployment> {
    return this.pulumi.preview(...args);
  }

  up(...args: string[]): Promise<Deployment> {
    return this.pulumi.up(...args);
  }

  refresh(...args: string[]): Promise<Deployment> {
    return this.pulumi.refresh(...args);
  }

  destroy(...args: string[]): Promise<Deployment> {
    return this.pulumi.destroy(...args);
  }

  hook<T = Json>(urlPath: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
    return emulatorFetch<T>(this.emu, urlPath, init);
  }

  /** Adds an emulator fault rule (`{method?, path, mode, times?, status?}`). */
  fault(rule: Record<string, unknown>): Promise<unknown> {
    return this.hook("/__emulator/faults", { method: "POST", body: rule });
  }

  requests(): Promise<RequestLogEntry[]> {
    return requestLog(this.emu);
  }

  /** The API requests `fn` caused. */
  async requestsDuring<T>(fn: () => Promise<T>): Promise<{ result: T; requests: RequestLogEntry[]; writes: RequestLogEntry[] }> {
    const before = (await this.requests()).length;
    const result = await fn();
    const requests = (await this.requests()).slice(before);
    return { result, requests, writes: requests.filter((r) => r.method !== "GET") };
  }

  /** sha256 of what the Worker's binding yields right now, or undefined when it yields nothing. */
  async bindingSha256(script: string, binding: string): Promise<string | undefined> {
    try {
      const res = await this.hook<{ sha256: string }>(`/__emulator/accounts/${this.emu.accountId}/workers/scripts/${script}/bindings/${binding}/sha256`);
      return res.sha256;
    } catch {
      return undefined;
    }
  }

  async secretSha256(secretId: string): Promise<string> {
    return (await this.hook<{ sha256: string }>(`/__emulator/secrets/${secretId}/sha256`)).sha256;
  }

  async bindings(script: string): Promise<Array<Record<string, unknown>>> {
    return (await this.hook(`/client/v4/accounts/${this.emu.accountId}/workers/scripts/${script}/settings`)).result.bindings;
  }

  async stores(): Promise<Array<{ id: string; name: string }>> {
    return (await this.hook(`/client/v4/accounts/${this.emu.accountId}/secrets_store/stores`)).result;
  }

  /** The secrets of the account's first store. */
  async secrets(): Promise<Array<{ id: string; name: string; comment: string; scopes: string[]; status: string }>> {
    const [store] = await this.stores();
    if (!store) return [];
    return (await this.hook(`/client/v4/accounts/${this.emu.accountId}/secrets_store/stores/${store.id}/secrets?per_page=100`)).result;
  }

  /**
   * Waits until no secret of the account's first store is `pending` (the emulator, like Cloudflare,
   * keeps a new or changed secret pending for a while, and a Worker reads a changed value only once
   * it is active).
   */
  async settled(): Promise<void> {
    for (let i = 0; i < 300 && (await this.secrets()).some((s) => s.status !== "active"); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  outputs(): Promise<Record<string, unknown>> {
    return this.pulumi.outputs();
  }

  export(showSecrets = false): Promise<StackExport> {
    return this.pulumi.export(showSecrets);
  }

  /** The state resource of `type` named `name` (`pulumi stack export`). */
  async resource(type: string, name: string) {
    const { deployment } = await this.export();
    return deployment.resources?.find((r) => r.type.endsWith(`:${type}`) && r.urn.endsWith(`::${name}`));
  }

  /** `pulumi state taint` of the resource of `type` named `name`. */
  async taint(type: string, name: string): Promise<void> {
    await this.pulumi.cli(["state", "taint", await this.urn(type, name), "--yes"]);
  }

  async urn(type: string, name: string): Promise<string> {
    const r = await this.resource(type, name);
    if (!r) throw new Error(`no ${type} named ${name} in the state`);
    return r.urn;
  }

  /**
   * Which of `values` occur anywhere Pulumi keeps or shows something: the backend's files, the stack
   * config file, `pulumi stack export --show-secrets` (decrypted) and the given CLI output.
   */
  async leaked(values: string[], ...outputs: Array<{ stdout: string; stderr: string }>): Promise<string[]> {
    const decrypted = JSON.stringify(await this.export(true));
    const printed = outputs.map((o) => o.stdout + o.stderr).join("\n");
    return leaks([this.pulumi.storedText(), decrypted, printed].join("\n"), values);
  }

  async close(): Promise<void> {
    await this.emu.close();
    fs.rmSync(this.programDir, { recursive: true, force: true });
  }
}

/** The changes of a deployment as "op name", without unchanged resources, the stack and providers. */
export const changes = (d: Deployment): string[] =>
  d.steps
    .filter((s) => s.op !== "same" && !s.urn.includes("::pulumi:pulumi:Stack::") && !s.urn.includes("::pulumi:providers:"))
    .map((s) => `${s.op} ${s.name}`);

/** The error messages of a deployment, one text. */
export const errors = (d: Deployment): string =>
  d.diagnostics
    .filter((x) => x.severity === "error")
    .map((x) => `${x.urn ?? ""} ${x.message}`)
    .join("\n") + d.stderr;
