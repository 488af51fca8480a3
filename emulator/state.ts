/**
 * The emulator's in-memory model: one account's stores, secrets and Workers (the record types),
 * and `EmulatorState`, the container the routes and the seed loader change. Writing it to disk is
 * persistence.ts's job: `commit()` hands a snapshot to whatever `SnapshotWriter` the state was
 * made with (none: memory only).
 */
import { randomBytes } from "node:crypto";

export type SecretStatus = "pending" | "active";

/** A secret's status at `now`: `pending` inside its window, `active` after it (or without one). */
export function secretStatus(secret: SecretRecord, now: number = Date.now()): SecretStatus {
  return secret.pendingUntil !== undefined && now < secret.pendingUntil ? "pending" : "active";
}

export interface StoreRecord {
  id: string;
  name: string;
  created: string;
  modified: string;
}

export interface SecretRecord {
  id: string;
  storeId: string;
  name: string;
  /** Plaintext, in memory only. Never returned by the API, never written unencrypted. */
  value: string;
  scopes: string[];
  comment: string;
  created: string;
  modified: string;
  /**
   * When the secret's pending window ends (epoch ms): it is `pending` until then, `active` after.
   * Set by a create, a duplicate and a value change; absent (state written by older emulators,
   * seeded secrets) means active.
   */
  pendingUntil?: number;
  /**
   * The value before a value change whose window has not ended: what existing Worker bindings
   * still read until `pendingUntil` (Cloudflare propagates a new value to the edge during the
   * window). Absent when the secret is not pending, or pending since its creation.
   */
  previousValue?: string;
}

/** A Worker binding as stored: `{name, type, ...fields}`; secret_text keeps its `text`. */
export interface BindingRecord {
  name: string;
  type: string;
  [field: string]: unknown;
}

export type UsageModel = "standard" | "bundled" | "unbound";

/** What a Worker version fixes: code (part names only), bindings and version-level settings. */
export interface VersionFields {
  main_module: string | null;
  /** Names of the uploaded module parts (their contents are not kept). */
  modules: string[];
  bindings: BindingRecord[];
  /** null only in state written by older emulators; answered as the upload day. */
  compatibility_date: string | null;
  compatibility_flags: string[];
  placement: Record<string, unknown> | null;
  usage_model: UsageModel;
  limits: Record<string, unknown> | null;
}

/** A version uploaded with `POST …/versions` that no deployment serves yet. */
export interface VersionRecord extends VersionFields {
  id: string;
  created_on: string;
  /** "wrangler" or "api" (see WorkerRecord.last_deployed_from). */
  source: string;
  annotations: Record<string, unknown>;
}

/** The deployment serving a Worker's current version to 100% of its traffic. */
export interface DeploymentRecord {
  id: string;
  created_on: string;
  source: string;
  annotations: Record<string, unknown>;
}

export interface WorkerRecord extends VersionFields {
  name: string;
  tag: string;
  etag: string;
  created_on: string;
  modified_on: string;
  logpush: boolean;
  observability: Record<string, unknown> | null;
  tags: string[];
  tail_consumers: Array<Record<string, unknown>> | null;
  /** The deployed version: a new UUID for every change that makes a version. */
  version_id: string;
  /** Who made the deployed version: "wrangler" (User-Agent `wrangler/…`) or "api". */
  last_deployed_from: string;
  deployment: DeploymentRecord;
  /** The script's workers.dev route (`POST …/subdomain`). */
  subdomain: { enabled: boolean; previews_enabled: boolean };
  /** Versions uploaded and not deployed yet, oldest first (at most MAX_PENDING_VERSIONS). */
  pending_versions: VersionRecord[];
  /**
   * True for a Worker that exists but has no version (a deploy interrupted before any content
   * upload): its settings, script settings and deployments answer 404, code 10222, until an
   * upload gives it one. Absent: false.
   */
  no_versions?: boolean;
}

/** Undeployed versions kept per Worker; older ones are dropped. */
export const MAX_PENDING_VERSIONS = 10;

export interface Snapshot {
  accountId: string;
  stores: StoreRecord[];
  secrets: SecretRecord[];
  workers: WorkerRecord[];
}

/** 32 lowercase hex characters, the shape of Cloudflare account, store and secret ids. */
export const HEX32 = /^[0-9a-f]{32}$/;

export function newId(): string {
  return randomBytes(16).toString("hex");
}

let lastMs = 0;
let micro = 0;
/**
 * An RFC 3339 timestamp with microseconds like Cloudflare's (`2023-09-21T18:56:32.624632Z`).
 * Successive calls within one millisecond get increasing microseconds, so `created` orders
 * records the way they were made.
 */
export function timestamp(): string {
  const ms = Date.now();
  if (ms <= lastMs) {
    micro = Math.min(micro + 1, 999);
  } else {
    lastMs = ms;
    micro = 0;
  }
  return new Date(lastMs).toISOString().replace(/Z$/, `${String(micro).padStart(3, "0")}Z`);
}

/** Where `EmulatorState.commit()` writes every change: a `Persistence` (persistence.ts), or none. */
export interface SnapshotWriter {
  save(snapshot: Snapshot): void;
}

export interface StateOptions {
  accountId: string;
  quota: number;
  maxStores: number;
  /** Base length of a secret's pending window in ms (0: none); each window is jittered up to +50%. */
  pendingMs?: number;
}

export class EmulatorState {
  accountId: string;
  readonly quota: number;
  readonly maxStores: number;
  readonly pendingMs: number;
  readonly stores = new Map<string, StoreRecord>();
  readonly secrets = new Map<string, SecretRecord>();
  readonly workers = new Map<string, WorkerRecord>();

  constructor(
    options: StateOptions,
    private readonly writer?: SnapshotWriter,
  ) {
    this.accountId = options.accountId;
    this.quota = options.quota;
    this.maxStores = options.maxStores;
    this.pendingMs = options.pendingMs ?? 0;
  }

  /** Secrets across the account: what the quota counts. */
  usage(): number {
    return this.secrets.size;
  }

  secretsInStore(storeId: string): SecretRecord[] {
    return [...this.secrets.values()].filter((s) => s.storeId === storeId);
  }

  findSecretByName(storeId: string, name: string): SecretRecord | undefined {
    for (const s of this.secrets.values()) if (s.storeId === storeId && s.name === name) return s;
    return undefined;
  }

  snapshot(): Snapshot {
    return structuredClone({
      accountId: this.accountId,
      stores: [...this.stores.values()],
      secrets: [...this.secrets.values()],
      workers: [...this.workers.values()],
    });
  }

  restore(snapshot: Snapshot): void {
    const copy = structuredClone(snapshot);
    this.accountId = copy.accountId;
    this.stores.clear();
    this.secrets.clear();
    this.workers.clear();
    for (const s of copy.stores) this.stores.set(s.id, s);
    for (const s of copy.secrets) this.secrets.set(s.id, s);
    for (const w of copy.workers) this.workers.set(w.name, w);
  }

  /** Call after every change: persists the whole state when a data directory is in use. */
  commit(): void {
    this.writer?.save(this.snapshot());
  }
}

/**
 * Every account one emulator serves, in order (the first is `EmulatorOptions.accountId`), each
 * an `EmulatorState` of its own: its stores, secrets, Workers and quota. One token reaches all of
 * them, as a Cloudflare user token reaches every account its user belongs to.
 */
export class EmulatorAccounts {
  private readonly byId = new Map<string, EmulatorState>();

  constructor(states: EmulatorState[]) {
    if (states.length === 0) throw new Error("an emulator serves at least one account");
    for (const s of states) {
      if (this.byId.has(s.accountId)) throw new Error(`account ${s.accountId} is listed twice`);
      this.byId.set(s.accountId, s);
    }
  }

  /** The first account: the one `RunningEmulator.accountId` names. */
  get first(): EmulatorState {
    const first = this.byId.values().next().value;
    if (!first) throw new Error("an emulator serves at least one account");
    return first;
  }

  /** The account ids, first one first. */
  ids(): string[] {
    return [...this.byId.keys()];
  }

  get(accountId: string): EmulatorState | undefined {
    return this.byId.get(accountId);
  }

  all(): EmulatorState[] {
    return [...this.byId.values()];
  }

  /** A secret by id in whichever account holds it (ids are random 32 hex, unique across accounts). */
  findSecret(secretId: string): SecretRecord | undefined {
    for (const s of this.byId.values()) {
      const secret = s.secrets.get(secretId);
      if (secret) return secret;
    }
    return undefined;
  }

  /** One snapshot per account, in order. */
  snapshots(): Snapshot[] {
    return this.all().map((s) => s.snapshot());
  }

  /** Back to `snapshots` (one per account, matched by id), then one commit for them all. */
  restore(snapshots: Snapshot[]): void {
    for (const snap of snapshots) this.byId.get(snap.accountId)?.restore(snap);
    this.first.commit();
  }
}
