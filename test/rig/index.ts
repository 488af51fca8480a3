/**
 * The provider test rig: the packed package installed in a staged Pulumi program directory, its
 * serialized providers captured exactly as a program produces them, one real dynamic provider
 * host process driven over gRPC, and the Cloudflare API emulator behind it.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../emulator";
import { ProviderHost, type Props } from "./host";
import { deployWorker, emulatorFetch, requestLog, stackConfigFor, type Json, type RequestLogEntry } from "../../tools/emulator-client";
import { REPO_ROOT, stageProgram } from "../../tools/packed-package";
import { RESOURCE_KINDS, type ResourceKind } from "../../provider/fields";
import { must } from "../must";

/** A resource kind (the one list is `RESOURCE_KINDS` in provider/fields). */
export type Kind = ResourceKind;
const TYPE_PREFIX = "pulumi-nodejs:dynamic/cloudflare-secrets-store:";
export const PROJECT = "rig";

/**
 * Serialized `__provider` text of each resource kind, as a program running the packed package makes
 * it. Throws, naming the kind, when the program declared no resource of a kind (add one to
 * serialize-provider.js) or a kind the runtime does not list.
 */
export function serializedProviders(programDir: string): Record<Kind, string> {
  const out = execFileSync(process.execPath, [path.join(REPO_ROOT, "test/rig/serialize-provider.js")], {
    cwd: programDir,
    encoding: "utf8",
  });
  const byType = JSON.parse(out) as Record<string, string>;
  const unknown = Object.keys(byType).filter((t) => !RESOURCE_KINDS.some((k) => TYPE_PREFIX + k === t));
  if (unknown.length) throw new Error(`serialize-provider.js declared ${unknown.join(", ")}, not in RESOURCE_KINDS (provider/fields)`);
  return Object.fromEntries(
    RESOURCE_KINDS.map((k) => {
      const provider = byType[TYPE_PREFIX + k];
      if (typeof provider !== "string" || provider === "") {
        throw new Error(
          `No serialized provider for ${k}: test/rig/serialize-provider.js must declare a resource of every kind in RESOURCE_KINDS (it made ${Object.keys(byType).join(", ") || "none"})`,
        );
      }
      return [k, provider];
    }),
  ) as Record<Kind, string>;
}

let staged: { dir: string; providers: Record<Kind, string> } | undefined;

/** One staged program per test process (the package is the same for every test). */
export function stagedProgram(): { dir: string; providers: Record<Kind, string> } {
  if (!staged) {
    fs.mkdirSync(path.join(REPO_ROOT, ".rig"), { recursive: true });
    const src = fs.mkdtempSync(path.join(REPO_ROOT, ".rig", "src-"));
    fs.writeFileSync(path.join(src, "Pulumi.yaml"), `name: ${PROJECT}\nruntime: nodejs\n`);
    const dir = stageProgram(src);
    fs.rmSync(src, { recursive: true, force: true });
    staged = { dir, providers: serializedProviders(dir) };
  }
  return staged;
}

export interface RigOptions {
  emulator?: EmulatorOptions;
  /** Stack config for Configure; default: token (secret), account id and base URL of the emulator. */
  config?: (emulator: RunningEmulator) => Record<string, string>;
  /** Environment of the host process. */
  env?: NodeJS.ProcessEnv;
}

export class Rig {
  private current: ProviderHost | undefined;
  private currentConfig: Record<string, string> | undefined;
  private earlierLogs = "";

  private constructor(
    readonly emulator: RunningEmulator,
    readonly programDir: string,
    readonly providers: Record<Kind, string>,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  static async start(options: RigOptions = {}): Promise<Rig> {
    const { dir, providers } = stagedProgram();
    const emulator = await startEmulator({ port: 0, ...options.emulator });
    const rig = new Rig(emulator, dir, providers, options.env ?? {});
    await rig.startHost(options.config?.(emulator));
    return rig;
  }

  /** The config a program pointed at the emulator has: token (secret), account id, base URL. */
  defaultConfig(): Record<string, string> {
    return stackConfigFor(this.emulator);
  }

  private async startHost(config = this.defaultConfig()): Promise<void> {
    this.currentConfig = config;
    // The host must not see the developer's own Cloudflare credentials.
    const env = { CLOUDFLARE_API_TOKEN: "", CLOUDFLARE_ACCOUNT_ID: "", CLOUDFLARE_API_BASE_URL: "", ...this.env };
    this.current = await ProviderHost.start({ cwd: this.programDir, project: PROJECT, env });
    await this.current.configure(config, ["cloudflare:apiToken"]);
  }

  /** The provider host process of the current "deployment". */
  get host(): ProviderHost {
    return must(this.current, "a provider host (the rig has started one)");
  }

  /** Transcripts of every resource driven on this rig (see lifecycle.ts): what leak checks search. */
  readonly transcripts: string[][] = [];

  /** Every response and error of every resource, and everything every host process printed. */
  transcript(): string {
    return this.transcripts.flat().join("\n") + this.earlierLogs + this.host.logs;
  }

  /**
   * A new host process on the same emulator: a later `pulumi up` has a fresh provider process, with
   * nothing remembered from the last one (what it read of the account included).
   */
  async restartHost(config?: Record<string, string>): Promise<void> {
    this.earlierLogs += this.host.logs;
    await this.host.close();
    await this.startHost(config);
  }

  urn(kind: Kind, name: string): string {
    return `urn:pulumi:rig::${PROJECT}::${TYPE_PREFIX}${kind}::${name}`;
  }

  /** Inputs as a program sends them: with the serialized provider. */
  props(kind: Kind, inputs: Props): Props {
    // The engine never sends undefined: an unset input is absent.
    const defined = Object.entries(inputs).filter(([, v]) => v !== undefined);
    return { ...Object.fromEntries(defined), __provider: this.providers[kind] };
  }

  /** A test hook or API call on the emulator. */
  hook<T = unknown>(method: string, urlPath: string, body?: unknown): Promise<T> {
    return emulatorFetch<T>(this.emulator, urlPath, { method, body });
  }

  /**
   * A Cloudflare API call on the emulator (envelope unwrapped). A write is a change made outside
   * Pulumi, between deployments: the provider process is restarted after it, as the next
   * `pulumi` run would start a fresh one.
   */
  async api<T = Json>(method: string, apiPath: string, body?: unknown): Promise<T> {
    const envelope = await this.hook<{ result: T }>(method, `/client/v4/accounts/${this.emulator.accountId}${apiPath}`, body);
    if (method !== "GET") await this.restartHost(this.currentConfig);
    return envelope.result;
  }

  /** Deploys a Worker the way the API does (multipart upload: metadata JSON plus one module); a change outside Pulumi (see {@link api}). */
  async deployWorker(name: string, bindings: Array<Record<string, unknown>>): Promise<void> {
    await deployWorker(this.emulator, name, bindings);
    await this.restartHost(this.currentConfig);
  }

  /** A Worker's bindings as the API returns them. */
  async workerBindings(name: string): Promise<Array<Record<string, unknown>>> {
    return (await this.api<{ bindings: Array<Record<string, unknown>> }>("GET", `/workers/scripts/${name}/settings`)).bindings;
  }

  requests(): Promise<RequestLogEntry[]> {
    return requestLog(this.emulator);
  }

  /** Write requests since `before` (a length of an earlier `requests()`). */
  async writesSince(before: number): Promise<RequestLogEntry[]> {
    return (await this.requests()).slice(before).filter((r) => r.method !== "GET");
  }

  async secretSha256(secretId: string): Promise<string> {
    return (await this.hook<{ sha256: string }>("GET", `/__emulator/secrets/${secretId}/sha256`)).sha256;
  }

  async bindingSha256(script: string, binding: string): Promise<string> {
    return (await this.hook<{ sha256: string }>("GET", `/__emulator/accounts/${this.emulator.accountId}/workers/scripts/${script}/bindings/${binding}/sha256`))
      .sha256;
  }

  async close(): Promise<void> {
    await this.host.close();
    await this.emulator.close();
  }
}

export { leaks, sha256 } from "./bytes";
export type { RequestLogEntry };
