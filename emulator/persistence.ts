/**
 * Persistence of the emulator's state (state.ts) in a data directory: a JSON file written
 * atomically after every change (temp file, fsync, rename, fsync of the directory), with every
 * secret value and every secret binding encrypted (AES-256-GCM) under a 32-byte key kept beside
 * it (mode 0600), and the checks that refuse a directory or file someone else could write.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  type BindingRecord,
  type SecretRecord,
  type Snapshot,
  type SnapshotWriter,
  type StoreRecord,
  type VersionRecord,
  type WorkerRecord,
  secretStatus,
} from "./state";

const STATE_FILE = "state.json";
const KEY_FILE = "key";
const FORMAT = "cloudflare-api-emulator-state";
const SECRET_BINDING_TYPES = new Set(["secret_text", "secret_key"]);

/** Fields a Worker record written by an older emulator lacks get these values on load. */
function withWorkerDefaults(w: Partial<WorkerRecord> & Pick<WorkerRecord, "name" | "modified_on">): WorkerRecord {
  return {
    version_id: randomUUID(),
    last_deployed_from: "api",
    deployment: { id: randomUUID(), created_on: w.modified_on, source: "api", annotations: {} },
    subdomain: { enabled: false, previews_enabled: false },
    pending_versions: [],
    ...w,
  } as WorkerRecord;
}

interface Sealed {
  iv: string;
  tag: string;
  data: string;
}

interface PersistedSecret extends Omit<SecretRecord, "value" | "previousValue"> {
  value: Sealed;
  /** The value existing bindings read while a value change is pending; written only during the window. */
  previousValue?: Sealed;
  /** Written by older emulators (the status is now derived from `pendingUntil`); ignored on load. */
  status?: string;
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

/** One account's part of the state file. */
interface PersistedAccount {
  accountId: string;
  stores: StoreRecord[];
  secrets: PersistedSecret[];
  workers: PersistedWorker[];
}

/** Version 1: one account (what an emulator serving one account still writes, so older emulators read it). */
interface PersistedFileV1 extends PersistedAccount {
  format: typeof FORMAT;
  version: 1;
}

/**
 * Version 2: several accounts, first one first. Each account's sealed values are bound (AES-GCM
 * additional data) to its account id too, since Worker names repeat across accounts.
 */
interface PersistedFileV2 {
  format: typeof FORMAT;
  version: 2;
  accounts: PersistedAccount[];
}

type PersistedFile = PersistedFileV1 | PersistedFileV2;

/** A data directory's state file and key: `load()` once at start-up, `save()` after every change. */
export class Persistence implements SnapshotWriter {
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

  /** The stored accounts (first one first), or undefined when the directory holds no state yet. */
  load(): Snapshot[] | undefined {
    if (!fs.existsSync(this.statePath)) return undefined;
    let file: PersistedFile;
    try {
      file = JSON.parse(fs.readFileSync(this.statePath, "utf8")) as PersistedFile;
    } catch (err) {
      throw new Error(`${this.statePath} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    if (file?.format === FORMAT && file.version === 1) return [this.openAccount(file, "")];
    if (file?.format === FORMAT && file.version === 2 && Array.isArray(file.accounts) && file.accounts.length > 0) {
      return file.accounts.map((a) => this.openAccount(a, accountAad(a.accountId)));
    }
    throw new Error(`${this.statePath} is not a state file written by this emulator`);
  }

  private openAccount(file: PersistedAccount, aad: string): Snapshot {
    return {
      accountId: file.accountId,
      stores: file.stores,
      secrets: file.secrets.map(({ status: _legacy, previousValue, ...s }) => ({
        ...s,
        value: this.open(s.value, `${aad}secret:${s.id}`).toString("utf8"),
        ...(previousValue !== undefined ? { previousValue: this.open(previousValue, `${aad}secret:${s.id}:previous`).toString("utf8") } : {}),
      })),
      workers: file.workers.map((w) =>
        withWorkerDefaults({
          ...w,
          bindings: this.openBindings(w.bindings, `${aad}binding:${w.name}`),
          pending_versions: (w.pending_versions ?? []).map((v) => ({ ...v, bindings: this.openBindings(v.bindings, `${aad}binding:${w.name}:v:${v.id}`) })),
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
      SECRET_BINDING_TYPES.has(b.type)
        ? { name: b.name, type: b.type, sealed: this.seal(Buffer.from(JSON.stringify(b), "utf8"), `${aadPrefix}:${b.name}`) }
        : b,
    );
  }

  /** One account: the whole state when it is the only one (written as version 1). */
  save(snapshot: Snapshot): void {
    this.saveAll([snapshot]);
  }

  /** Every account, first one first: version 1 for one account, version 2 for more. */
  saveAll(snapshots: Snapshot[]): void {
    const now = Date.now();
    const [only] = snapshots;
    const file: PersistedFile =
      snapshots.length === 1 && only
        ? { format: FORMAT, version: 1, ...this.sealAccount(only, "", now) }
        : { format: FORMAT, version: 2, accounts: snapshots.map((s) => this.sealAccount(s, accountAad(s.accountId), now)) };
    const tmp = `${this.statePath}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    writeDurably(tmp, Buffer.from(JSON.stringify(file, null, 2), "utf8"));
    fs.renameSync(tmp, this.statePath);
    fsyncDir(this.dir);
  }

  private sealAccount(snapshot: Snapshot, aad: string, now: number): PersistedAccount {
    return {
      accountId: snapshot.accountId,
      stores: snapshot.stores,
      secrets: snapshot.secrets.map(({ previousValue, ...s }) => ({
        ...s,
        value: this.seal(Buffer.from(s.value, "utf8"), `${aad}secret:${s.id}`),
        // Kept (encrypted like the value) only while the window that needs it lasts.
        ...(previousValue !== undefined && secretStatus(s as SecretRecord, now) === "pending"
          ? { previousValue: this.seal(Buffer.from(previousValue, "utf8"), `${aad}secret:${s.id}:previous`) }
          : {}),
      })),
      workers: snapshot.workers.map((w) => ({
        ...w,
        bindings: this.sealBindings(w.bindings, `${aad}binding:${w.name}`),
        pending_versions: w.pending_versions.map((v) => ({ ...v, bindings: this.sealBindings(v.bindings, `${aad}binding:${w.name}:v:${v.id}`) })),
      })),
    };
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
      throw new Error(`cannot decrypt ${aad.replace(/^account:[^:]*:/, "").split(":")[0]} in ${this.statePath}: wrong key file or tampered state`);
    }
  }
}

/** The additional-data prefix of an account's sealed values in a version 2 file. */
function accountAad(accountId: string): string {
  return `account:${accountId}:`;
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
