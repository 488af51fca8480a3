/**
 * An example program staged with the packed package, an emulator behind it, and the engine
 * harness to run preview/up/refresh/destroy on it, as a user would with the Pulumi CLI.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { startEmulator, type EmulatorSeed, type RunningEmulator } from "../../emulator";
import { runEngine, type EngineResult, type Operation } from "../engine";
import { emulatorFetch, requestLog, type RequestLogEntry } from "../rig/emulator-client";
import { REPO_ROOT, stageProgram } from "../rig/package";

export const PASSPHRASE = "examples-test-passphrase";

export interface RunOptions {
  secrets?: Record<string, string>;
  config?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}

export class ExampleStack {
  private constructor(
    readonly emu: RunningEmulator,
    readonly programDir: string,
    private readonly base: Required<Pick<RunOptions, "secrets" | "config">> & { env: NodeJS.ProcessEnv },
  ) {}

  /** Stages `examples/<name>` and starts an emulator with the seed; config points the program at it. */
  static async start(example: string, seed: EmulatorSeed, base: RunOptions = {}): Promise<ExampleStack> {
    const emu = await startEmulator({ port: 0, seed });
    const programDir = stageProgram(path.join(REPO_ROOT, "examples", example));
    const viaEnv = base.env !== undefined;
    return new ExampleStack(emu, programDir, {
      secrets: { ...(viaEnv ? {} : { "cloudflare:apiToken": emu.token }), ...base.secrets },
      config: {
        ...(viaEnv ? {} : { "cloudflare-secrets-store:accountId": emu.accountId, "cloudflare-secrets-store:apiBaseUrl": emu.url }),
        ...base.config,
      },
      env: { ...base.env },
    });
  }

  run(operation: Operation, options: RunOptions = {}): Promise<EngineResult> {
    return runEngine({
      operation,
      programDir: this.programDir,
      stack: "test",
      passphrase: PASSPHRASE,
      secrets: { ...this.base.secrets, ...options.secrets },
      config: { ...this.base.config, ...options.config },
      env: { ...this.base.env, ...options.env },
    });
  }

  hook<T = any>(urlPath: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
    return emulatorFetch<T>(this.emu, urlPath, init);
  }

  requests(): Promise<RequestLogEntry[]> {
    return requestLog(this.emu);
  }

  async bindingSha256(script: string, binding: string): Promise<string | undefined> {
    const res = await fetch(`${this.emu.origin}/__emulator/accounts/${this.emu.accountId}/workers/scripts/${script}/bindings/${binding}/sha256`);
    return res.ok ? ((await res.json()) as { sha256: string }).sha256 : undefined;
  }

  async bindings(script: string): Promise<Array<Record<string, unknown>>> {
    return (await this.hook(`/client/v4/accounts/${this.emu.accountId}/workers/scripts/${script}/settings`)).result.bindings;
  }

  async secrets(): Promise<Array<{ id: string; name: string; comment: string; scopes: string[] }>> {
    const stores = (await this.hook(`/client/v4/accounts/${this.emu.accountId}/secrets_store/stores`)).result;
    if (!stores.length) return [];
    return (await this.hook(`/client/v4/accounts/${this.emu.accountId}/secrets_store/stores/${stores[0].id}/secrets?per_page=100`)).result;
  }

  /** Every file the engine wrote for the stack (checkpoint and stack config), as text. */
  stateBytes(): string {
    const files = [path.join(this.programDir, ".pulumi"), path.join(this.programDir, "Pulumi.test.yaml")];
    const out: string[] = [];
    const walk = (p: string) => {
      if (!fs.existsSync(p)) return;
      if (fs.statSync(p).isDirectory()) for (const f of fs.readdirSync(p)) walk(path.join(p, f));
      else out.push(fs.readFileSync(p, "utf8"));
    };
    files.forEach(walk);
    return out.join("\n");
  }

  async close(): Promise<void> {
    await this.emu.close();
    fs.rmSync(this.programDir, { recursive: true, force: true });
  }
}

/** The ops of an engine result's steps, without unchanged ones, as "op name". */
export const changes = (r: EngineResult): string[] => r.steps.filter((s) => s.op !== "same" && !s.hidden).map((s) => `${s.op} ${s.name}`);
