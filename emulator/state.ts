/**
 * The emulator's in-memory model (one account: stores, secrets, Workers), and its optional
 * persistence: a JSON file written atomically after every change, with every secret value and
 * every secret binding encrypted (AES-256-GCM) under a 32-byte key kept beside it (mode 0600).
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export type SecretStatus = "pending" | "active";

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
  status: SecretStatus;
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
}

/** Undeployed versions kept per Worker; older ones are dropped. */
export const MAX_PENDING_VERSIONS = 10;

/** Fields a Worker record written by an older emulator lacks get these values on load. */
export function withWorkerDefaults(w: Partial<WorkerRecord> & Pick<WorkerRecord, "name" | "modified_on">): WorkerRecord {
  return {
    version_id: randomUUID(),
    last_deployed_from: "api",
    deployment: { id: randomUUID(), created_on: w.modified_on, source: "api", annotations: {} },
    subdomain: { enabled: false, previews_enabled: false },
    pending_versions: [],
    ...w,
  } as WorkerRecord;
}

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

export interface StateOptions {
  accountId: string;
  quota: number;
  maxStores: number;
}

export class EmulatorState {
  accountId: string;
  readonly quota: number;
  readonly maxStores: number;
  readonly stores = new Map<string, StoreRecord>();
  readonly secrets = new Map<string, SecretRecord>();
  readonly workers = new Map<string, WorkerRecord>();

  constructor(
    options: StateOptions,
    private readonly persistence?: Persistence,
  ) {
    this.accountId = options.accountId;
    this.quota = options.quota;
    this.maxStores = options.maxStores;
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
    this.persistence?.save(this.snapshot());
  }
}

// ---------------------------------------------------------------------------------------------
// Persistence with encryption at rest

const STATE_FILE = "state.json";
const KEY_FILE = "key";
const FORMAT = "cloudflare-api-emulator-state";
const SECRET_BINDING_TYPES = new Set(["secret_text", "secret_key"]);

interface Sealed {
  iv: string;
  tag: string;
  data: string;
}

interface PersistedSecret extends Omit<SecretRecord, "value"> {
  value: Sealed;
}

type PersistedBinding = BindingRecord | { name: string; type: string; sealed: Sealed };

interface PersistedVersion extends Omit<VersionRecord, "bindings"> {
  bindings: PersistedBinding[];
}

interface PersistedWorker extends Omit<WorkerRecord, "bindings" | "pending_versions"> {
  bindings: PersistedBinding[];
  /** Absent in files written by older emulators. */
  pending_versions?: PersistedVersion[];
}

interface PersistedFile {
  format: typeof FORMAT;
  version: 1;
  accountId: string;
  stores: StoreRecord[];
  secrets: PersistedSecret[];
  workers: PersistedWorker[];
}

export class Persistence {
  readonly statePath: string;
  readonly keyPath: string;
  private readonly key: Buffer;

  constructor(readonly dir: string) {
    if (!fs.existsSync(dir)) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fs.chmodSync(dir, 0o700);
    }
    this.statePath = path.join(dir, STATE_FILE);
    this.keyPath = path.join(dir, KEY_FILE);
    // Nothing in a directory someone else could write is trusted (or deleted).
    const problem = dataDirProblem(dir) ?? dataFileProblem(this.keyPath) ?? dataFileProblem(this.statePath);
    if (problem) throw new Error(problem);
    // Leftovers of a write interrupted before its rename: never the live file.
    for (const name of fs.readdirSync(dir)) {
      if (name.startsWith(`${STATE_FILE}.`) && name.endsWith(".tmp")) fs.rmSync(path.join(dir, name), { force: true });
      if (name.startsWith(`${KEY_FILE}.`) && name.endsWith(".tmp")) fs.rmSync(path.join(dir, name), { force: true });
    }
    this.key = this.loadOrCreateKey();
  }

  private loadOrCreateKey(): Buffer {
    if (!fs.existsSync(this.keyPath)) {
      if (fs.existsSync(this.statePath)) {
        throw new Error(`${this.statePath} exists but its key ${this.keyPath} is missing: the stored secrets cannot be decrypted`);
      }
      // Write the key under a temporary name, then link it into place: a crash never leaves a
      // short key file, and two emulators starting together cannot overwrite each other's key.
      const tmp = `${this.keyPath}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
      writeDurably(tmp, randomBytes(32));
      try {
        fs.linkSync(tmp, this.keyPath);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      } finally {
        fs.rmSync(tmp, { force: true });
      }
      fsyncDir(this.dir);
    }
    const stat = fs.statSync(this.keyPath);
    if ((stat.mode & 0o077) !== 0) fs.chmodSync(this.keyPath, 0o600);
    const key = fs.readFileSync(this.keyPath);
    if (key.length !== 32) throw new Error(`${this.keyPath} must hold exactly 32 bytes (it holds ${key.length})`);
    return key;
  }

  load(): Snapshot | undefined {
    if (!fs.existsSync(this.statePath)) return undefined;
    let file: PersistedFile;
    try {
      file = JSON.parse(fs.readFileSync(this.statePath, "utf8")) as PersistedFile;
    } catch (err) {
      throw new Error(`${this.statePath} is not valid JSON: ${(err as Error).message}`);
    }
    if (file.format !== FORMAT || file.version !== 1) {
      throw new Error(`${this.statePath} is not a state file written by this emulator`);
    }
    return {
      accountId: file.accountId,
      stores: file.stores,
      secrets: file.secrets.map((s) => ({ ...s, value: this.open(s.value, `secret:${s.id}`).toString("utf8") })),
      workers: file.workers.map((w) =>
        withWorkerDefaults({
          ...w,
          bindings: this.openBindings(w.bindings, `binding:${w.name}`),
          pending_versions: (w.pending_versions ?? []).map((v) => ({ ...v, bindings: this.openBindings(v.bindings, `binding:${w.name}:v:${v.id}`) })),
        }),
      ),
    };
  }

  private openBindings(bindings: PersistedBinding[], aadPrefix: string): BindingRecord[] {
    return bindings.map((b) =>
      "sealed" in b && SECRET_BINDING_TYPES.has(b.type)
        ? (JSON.parse(this.open(b.sealed as Sealed, `${aadPrefix}:${b.name}`).toString("utf8")) as BindingRecord)
        : (b as BindingRecord),
    );
  }

  private sealBindings(bindings: BindingRecord[], aadPrefix: string): PersistedBinding[] {
    return bindings.map((b) =>
      SECRET_BINDING_TYPES.has(b.type) ? { name: b.name, type: b.type, sealed: this.seal(Buffer.from(JSON.stringify(b), "utf8"), `${aadPrefix}:${b.name}`) } : b,
    );
  }

  save(snapshot: Snapshot): void {
    const file: PersistedFile = {
      format: FORMAT,
      version: 1,
      accountId: snapshot.accountId,
      stores: snapshot.stores,
      secrets: snapshot.secrets.map((s) => ({ ...s, value: this.seal(Buffer.from(s.value, "utf8"), `secret:${s.id}`) })),
      workers: snapshot.workers.map((w) => ({
        ...w,
        bindings: this.sealBindings(w.bindings, `binding:${w.name}`),
        pending_versions: w.pending_versions.map((v) => ({ ...v, bindings: this.sealBindings(v.bindings, `binding:${w.name}:v:${v.id}`) })),
      })),
    };
    const tmp = `${this.statePath}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    writeDurably(tmp, Buffer.from(JSON.stringify(file, null, 2), "utf8"));
    fs.renameSync(tmp, this.statePath);
    fsyncDir(this.dir);
  }

  private seal(plain: Buffer, aad: string): Sealed {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    cipher.setAAD(Buffer.from(aad, "utf8"));
    const data = Buffer.concat([cipher.update(plain), cipher.final()]);
    return { iv: iv.toString("base64"), tag: cipher.getAuthTag().toString("base64"), data: data.toString("base64") };
  }

  private open(sealed: Sealed, aad: string): Buffer {
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(sealed.iv, "base64"));
      decipher.setAAD(Buffer.from(aad, "utf8"));
      decipher.setAuthTag(Buffer.from(sealed.tag, "base64"));
      return Buffer.concat([decipher.update(Buffer.from(sealed.data, "base64")), decipher.final()]);
    } catch {
      throw new Error(`cannot decrypt ${aad.split(":")[0]} in ${this.statePath}: wrong key file or tampered state`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Who may have written the data directory

const currentUid = (): number | undefined => process.getuid?.();
const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/**
 * Why the data directory `dir` cannot be trusted, or undefined: it must be a directory owned by
 * `uid` (default: the user running the emulator) that neither its group nor others can write.
 * Where there are no POSIX owners (Windows) nothing is checked.
 */
export function dataDirProblem(dir: string, uid: number | undefined = currentUid()): string | undefined {
  if (uid === undefined) return undefined;
  const stat = fs.statSync(dir);
  const refuse = (why: string) => `Refusing data directory ${dir}: ${why}`;
  if (!stat.isDirectory()) return refuse("it is not a directory");
  if (stat.uid !== uid) return refuse(`it is owned by uid ${stat.uid}, not by the user running the emulator (uid ${uid})`);
  if ((stat.mode & 0o022) !== 0) return refuse(`its group or others can write it (mode ${octal(stat.mode)}); run: chmod 700 ${dir}`);
  return undefined;
}

/**
 * Why the key or state file `file` cannot be trusted, or undefined (also when it does not exist):
 * it must be a regular file (not a symlink) owned by `uid` that neither its group nor others can write.
 */
export function dataFileProblem(file: string, uid: number | undefined = currentUid()): string | undefined {
  if (uid === undefined) return undefined;
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const refuse = (why: string) => `Refusing ${file}: ${why}`;
  if (!stat.isFile()) return refuse("it is not a regular file (symlinks are not followed)");
  if (stat.uid !== uid) return refuse(`it is owned by uid ${stat.uid}, not by the user running the emulator (uid ${uid})`);
  if ((stat.mode & 0o022) !== 0) return refuse(`its group or others can write it (mode ${octal(stat.mode)}); run: chmod 600 ${file}`);
  return undefined;
}

/** Create `file` (mode 0600) with `data`, and fsync it before returning. */
function writeDurably(file: string, data: Buffer): void {
  const fd = fs.openSync(file, "wx", 0o600);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse to fsync a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
