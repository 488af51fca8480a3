/**
 * The provider's runtime driven in process, from TypeScript source: each resource kind's
 * check/diff/create/read/update/delete called directly (as `providers[kind]`, what the serialized
 * shims call), against an emulator started in this process. No `pulumi` CLI, no packed package, no
 * `dist/`, no provider host: test/rig does the same through the real host and the packed package.
 *
 * One {@link UnitRig} is one account with one emulator; its `runtime` is one provider process
 * (one deployment). The runtime keeps what a deployment learns in module state (the account view,
 * the deployment memory, the write batchers, the checked values), so {@link UnitRig.restart}
 * evaluates its modules again (`vi.resetModules`), as the next `pulumi up` starts a fresh provider
 * process. Vitest runs each test file in its own process, so files never share that state.
 */
import { vi } from "vitest";
import { startEmulator, type EmulatorOptions, type RunningEmulator } from "../../emulator";
import type * as Runtime from "../../provider/runtime";
import type { ResourceKind as ResourceKindName } from "../../provider/fields";
import { deployWorker, emulatorFetch, stackConfigFor, type Json } from "../../tools/emulator-client";

export type Props = Record<string, unknown>;
export interface CheckFailure {
  property: string;
  reason: string;
}

/** What crosses the engine's wire: JSON values only (undefined keys dropped). */
const wire = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));

/** A fixed store id, seeded into every emulator (`default_secrets_store`). */
export const STORE_ID = "5f3c0a9e1b2d4c6e8f0a1b2c3d4e5f60";

export interface UnitRigOptions {
  /** Emulator options; `pendingMs` defaults to 0 (new secrets active at once), and one store is seeded unless `seed` says otherwise. */
  emulator?: EmulatorOptions;
  /** Stack config; default: token, account id and base URL of the emulator (see {@link UnitRig.defaultConfig}). */
  config?: (emulator: RunningEmulator) => Record<string, string>;
}

export class UnitRig {
  runtime!: typeof Runtime;
  private config: Record<string, string> = {};

  private constructor(readonly emulator: RunningEmulator) {}

  static async start(options: UnitRigOptions = {}): Promise<UnitRig> {
    // Only the stack config set here counts: not the developer's own Cloudflare credentials.
    for (const name of ["CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_BASE_URL"]) vi.stubEnv(name, "");
    const emulator = await startEmulator({
      port: 0,
      pendingMs: 0,
      seed: { stores: [{ name: "default_secrets_store", id: STORE_ID }] },
      ...options.emulator,
    });
    const rig = new UnitRig(emulator);
    await rig.restart(options.config?.(emulator) ?? rig.defaultConfig());
    return rig;
  }

  /** The config a program pointed at the emulator has: token, account id, base URL. */
  defaultConfig(): Record<string, string> {
    return stackConfigFor(this.emulator);
  }

  /**
   * A fresh provider process: the runtime's modules evaluated again, then `configure` with the
   * stack config (the same as before unless given), as the host calls it first.
   */
  async restart(config: Record<string, string> = this.config): Promise<void> {
    this.config = config;
    vi.resetModules();
    this.runtime = await import("../../provider/runtime");
    this.runtime.configure({ config: { get: (key: string) => config[key] } });
  }

  resource(kind: ResourceKindName, name: string): Resource {
    return new Resource(this, kind, name);
  }

  /** Deploys a Worker through the API (a change outside Pulumi: the provider process is restarted after it). */
  async deployWorker(name: string, bindings: Array<Record<string, unknown>>): Promise<void> {
    await deployWorker(this.emulator, name, bindings);
    await this.restart();
  }

  /** A Cloudflare API call on the emulator (envelope unwrapped); a write restarts the provider process, as the next `pulumi up` would. */
  async api<T = Json>(method: string, apiPath: string, body?: unknown): Promise<T> {
    const envelope = await emulatorFetch<{ result: T }>(this.emulator, `/client/v4/accounts/${this.emulator.accountId}${apiPath}`, { method, body });
    if (method !== "GET") await this.restart();
    return envelope.result;
  }

  /** A Worker's bindings as the API returns them. */
  async workerBindings(script: string): Promise<Array<Record<string, unknown>>> {
    return (await this.api<{ bindings: Array<Record<string, unknown>> }>("GET", `/workers/scripts/${script}/settings`)).bindings;
  }

  /** SHA-256 of a secret's stored value (the emulator's test hook; the API never returns values). */
  async secretSha256(secretId: string): Promise<string> {
    return (await emulatorFetch<{ sha256: string }>(this.emulator, `/__emulator/secrets/${secretId}/sha256`)).sha256;
  }

  /** SHA-256 of the value a Worker's binding yields. */
  async bindingSha256(script: string, binding: string): Promise<string> {
    return (
      await emulatorFetch<{ sha256: string }>(
        this.emulator,
        `/__emulator/accounts/${this.emulator.accountId}/workers/scripts/${script}/bindings/${binding}/sha256`,
      )
    ).sha256;
  }

  async close(): Promise<void> {
    await this.emulator.close();
    vi.unstubAllEnvs();
  }
}

export class CheckFailed extends Error {
  constructor(readonly failures: CheckFailure[]) {
    super(failures.map((f) => `${f.property}: ${f.reason}`).join("\n"));
  }
}

/** The text a serialized shim stands for in `__provider`: any string; the runtime only ignores it. */
const PROVIDER = "in-process";

/**
 * One resource, driven the way the engine drives it (see test/rig/lifecycle.ts): check against the
 * old inputs, diff against the old outputs, then create, update or replace; read for refresh;
 * delete for destroy. It keeps its state (id, inputs, outputs) across provider restarts, as the
 * Pulumi state does.
 */
export class Resource {
  id = "";
  inputs: Props = {};
  outputs: Props = {};

  constructor(
    readonly rig: UnitRig,
    readonly kind: ResourceKindName,
    readonly name: string,
  ) {}

  /** The kind's provider in the current provider process, typed loosely as the shims call it. */
  private get provider() {
    return this.rig.runtime.providers[this.kind] as unknown as {
      check(olds: Props, news: Props): Promise<{ inputs: Props; failures: CheckFailure[] }>;
      diff(id: string, olds: Props, news: Props): Promise<{ changes?: boolean; replaces?: string[]; deleteBeforeReplace?: boolean }>;
      create(inputs: Props): Promise<{ id: string; outs: Props }>;
      read(id: string, props: Props): Promise<{ id: string; props: Props }>;
      update(id: string, olds: Props, news: Props): Promise<{ outs: Props }>;
      delete(id: string, props: Props): Promise<void>;
    };
  }

  /** Check only, as `pulumi preview` starts: the checked inputs and the failures. */
  async check(news: Props, olds: Props = this.inputs): Promise<{ inputs: Props; failures: CheckFailure[] }> {
    return wire(await this.provider.check(wire(olds), wire({ ...news, __provider: PROVIDER })));
  }

  /** Check, then (for a resource that exists) diff, as `pulumi preview` does. */
  async preview(news: Props): Promise<{ inputs: Props; failures: CheckFailure[]; diff?: { changes: boolean; replaces: string[] } }> {
    const checked = await this.check(news);
    if (checked.failures.length || !this.id) return checked;
    const diff = await this.provider.diff(this.id, wire(this.outputs), checked.inputs);
    return { ...checked, diff: { changes: diff.changes !== false, replaces: diff.replaces ?? [] } };
  }

  /** Check, diff and apply, as `pulumi up` does for this resource. */
  async up(news: Props): Promise<"create" | "update" | "replace" | "same"> {
    const { inputs, failures } = await this.check(news);
    if (failures.length) throw new CheckFailed(failures);
    if (!this.id) {
      const created = wire(await this.provider.create(inputs));
      Object.assign(this, { id: created.id, inputs, outputs: created.outs });
      return "create";
    }
    const diff = await this.provider.diff(this.id, wire(this.outputs), inputs);
    if (diff.changes === false) {
      this.inputs = inputs;
      return "same";
    }
    if (diff.replaces?.length) {
      // The engine checks a replacement afresh, without olds, before any delete.
      const fresh = await this.check(news, {});
      if (fresh.failures.length) throw new CheckFailed(fresh.failures);
      if (diff.deleteBeforeReplace) await this.provider.delete(this.id, wire(this.outputs));
      const created = wire(await this.provider.create(fresh.inputs));
      if (!diff.deleteBeforeReplace) await this.provider.delete(this.id, wire(this.outputs));
      Object.assign(this, { id: created.id, inputs: fresh.inputs, outputs: created.outs });
      return "replace";
    }
    const updated = wire(await this.provider.update(this.id, wire(this.outputs), inputs));
    Object.assign(this, { inputs, outputs: updated.outs });
    return "update";
  }

  /** Refresh: read; false when the object is gone (and the state forgets it). */
  async refresh(): Promise<boolean> {
    const read = wire(await this.provider.read(this.id, wire(this.outputs)));
    if (!read.id) {
      Object.assign(this, { id: "", inputs: {}, outputs: {} });
      return false;
    }
    this.outputs = read.props;
    return true;
  }

  async destroy(): Promise<void> {
    await this.provider.delete(this.id, wire(this.outputs));
    Object.assign(this, { id: "", inputs: {}, outputs: {} });
  }
}
