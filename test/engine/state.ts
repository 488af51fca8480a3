/**
 * The stack checkpoint: one JSON file per stack at `<programDir>/.pulumi/stacks/<stack>.json`, shaped
 * like Pulumi's deployment (resources with urn, type, id, inputs, outputs, dependencies, parent,
 * provider; stack outputs are the `pulumi:pulumi:Stack` resource's outputs). Secret values are stored
 * as `{sig, ciphertext}` encrypted with the passphrase provider; the salt state is in the file. Every
 * save is atomic (temp file, fsync, rename, fsync of the directory) and saves are serialized.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Crypter } from "./crypto";
import { CIPHERTEXT_KEY, mapSecrets, SECRET_SIG, SECRET_SIG_KEY, type Props } from "./values";

/** One resource in the checkpoint. Values hold secrets as wire wrappers `{sig, value}` in memory. */
export interface ResourceState {
  urn: string;
  custom: boolean;
  type: string;
  id?: string;
  parent?: string;
  /** Provider reference `<provider urn>::<provider id>` (custom resources). */
  provider?: string;
  inputs: Props;
  outputs: Props;
  dependencies: string[];
  propertyDependencies?: Record<string, string[]>;
  protect?: boolean;
  retainOnDelete?: boolean;
  additionalSecretOutputs?: string[];
  /** An old copy awaiting deletion (a create-before-delete replacement in progress). */
  delete?: boolean;
  /** Set by a partial create/update: the next `up` updates the resource to finish it. */
  initErrors?: string[];
}

/** The decrypted checkpoint. */
export interface Checkpoint {
  version: 1;
  project: string;
  stack: string;
  resources: ResourceState[];
}

interface StoredCheckpoint extends Checkpoint {
  secretsProviders: { type: "passphrase"; state: { salt: string } };
}

/** Where the checkpoint of a stack lives. */
export function statePath(programDir: string, stack: string): string {
  return path.join(programDir, ".pulumi", "stacks", `${stack}.json`);
}

/** An open checkpoint file: its decrypted resources and a serialized, atomic writer. */
export class StateFile {
  private writes: Promise<void> = Promise.resolve();
  private crypter?: Promise<Crypter>;

  private constructor(
    readonly path: string,
    readonly checkpoint: Checkpoint,
    private readonly passphrase: string,
    crypter?: Crypter,
  ) {
    if (crypter) this.crypter = Promise.resolve(crypter);
  }

  /** Opens (or starts) the checkpoint of a stack; verifies the passphrase against an existing file. */
  static async open(file: string, passphrase: string, names: { project: string; stack: string }): Promise<StateFile> {
    if (!fs.existsSync(file)) {
      return new StateFile(file, { version: 1, ...names, resources: [] }, passphrase);
    }
    const { checkpoint, crypter } = await decryptCheckpoint(file, passphrase);
    return new StateFile(file, checkpoint, passphrase, crypter);
  }

  /** Queues an atomic write of these resources; resolves when it is on disk. */
  save(resources: readonly ResourceState[]): Promise<void> {
    const snapshot: Checkpoint = { ...this.checkpoint, resources: structuredClone([...resources]) };
    const write = this.writes.then(async () => {
      this.crypter ??= Crypter.create(this.passphrase);
      const crypter = await this.crypter;
      const stored: StoredCheckpoint = {
        ...snapshot,
        secretsProviders: { type: "passphrase", state: { salt: crypter.saltState } },
        resources: snapshot.resources.map((r) => encryptResource(r, crypter)),
      };
      writeAtomically(this.path, `${JSON.stringify(stored, null, 2)}\n`);
    });
    this.writes = write.catch(() => undefined);
    return write;
  }

  /** Resolves when every queued write has finished. */
  flush(): Promise<void> {
    return this.writes;
  }
}

/** Reads a checkpoint file with its secrets decrypted (for assertions); `undefined` if there is none. */
export async function readCheckpoint(file: string, passphrase: string): Promise<Checkpoint | undefined> {
  if (!fs.existsSync(file)) return undefined;
  return (await decryptCheckpoint(file, passphrase)).checkpoint;
}

async function decryptCheckpoint(file: string, passphrase: string): Promise<{ checkpoint: Checkpoint; crypter: Crypter }> {
  const stored = JSON.parse(fs.readFileSync(file, "utf8")) as StoredCheckpoint;
  if (stored.version !== 1) throw new Error(`${file}: unsupported checkpoint version ${String(stored.version)}`);
  const crypter = await Crypter.fromSaltState(passphrase, stored.secretsProviders.state.salt);
  const resources = stored.resources.map((r) => mapResourceValues(r, (v) => decryptValues(v, crypter)));
  return { checkpoint: { version: 1, project: stored.project, stack: stored.stack, resources }, crypter };
}

function encryptResource(r: ResourceState, crypter: Crypter): ResourceState {
  return mapResourceValues(r, (v) =>
    mapSecrets(v, (w) => ({ [SECRET_SIG_KEY]: SECRET_SIG, [CIPHERTEXT_KEY]: crypter.encrypt(JSON.stringify(w.value)) })),
  );
}

function decryptValues(v: unknown, crypter: Crypter): unknown {
  return mapSecrets(v, (w) => {
    const ciphertext = w[CIPHERTEXT_KEY];
    if (typeof ciphertext !== "string") return w;
    return { [SECRET_SIG_KEY]: SECRET_SIG, value: JSON.parse(crypter.decrypt(ciphertext)) };
  });
}

function mapResourceValues(r: ResourceState, fn: (v: unknown) => unknown): ResourceState {
  return { ...r, inputs: fn(r.inputs) as Props, outputs: fn(r.outputs) as Props };
}

function writeAtomically(file: string, text: string): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString("hex")}.tmp`);
  const fd = fs.openSync(temp, "w", 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  const dirFd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(dirFd);
  } finally {
    fs.closeSync(dirFd);
  }
}
