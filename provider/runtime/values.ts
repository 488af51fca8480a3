/**
 * Write-only secret values. `check` replaces the plaintext with a fingerprint, so a changed value
 * still shows as a diff while the plaintext is never persisted, not even encrypted. The plaintext
 * stays in this provider process's memory, where `create`/`update` of the same deployment find it:
 * the engine sends a step's Check and its Create/Update to the same provider process.
 *
 * The fingerprint is always a Pulumi secret in the state (the program marks `value` secret, also
 * with `valueFrom`), so a state file read without the stack's passphrase or KMS key gives nothing to
 * guess against. For whoever can decrypt the state it is costly to guess: scrypt with N = 2^14,
 * r = 8, p = 1 (16 MiB and tens of milliseconds per guess), under a salt unique to the account, the
 * secret's name and the value's version, so equal values in two secrets, or the same value in two
 * versions of one secret, have different fingerprints. Deterministic, so a preview and its update
 * check to the same inputs (Pulumi update plans compare them).
 *
 * Fingerprints of the first format (`scrypt:`, N = 2^12, salted by account and name only) are
 * still recognised, so an existing stack moves to the current one without a value write.
 */
import * as crypto from "node:crypto";

/** Where a value's fingerprint belongs: the salt's inputs. */
export interface ValueSlot {
  accountId: string;
  name: string;
  /** The secret's `valueVersion` that this value is (or would be). */
  version: number;
}

interface Format {
  prefix: string;
  cost: crypto.ScryptOptions;
  salt(slot: ValueSlot): string;
}

const sha256hex = (text: string) => crypto.createHash("sha256").update(text).digest("hex").slice(0, 32);

/** The format every new fingerprint has. */
const CURRENT: Format = {
  prefix: "scrypt2:",
  cost: { N: 1 << 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 },
  salt: (s) => sha256hex(`pulumi-cloudflare-secrets-store/value/v2/${s.accountId}/${s.name}/${s.version}`),
};
/** The first format (before `scrypt2:`), only ever compared against. */
const FIRST: Format = {
  prefix: "scrypt:",
  cost: { N: 1 << 12, r: 8, p: 1 },
  salt: (s) => sha256hex(`pulumi-cloudflare-secrets-store/value/${s.accountId}/${s.name}`),
};

const plaintexts = new Map<string, string>();

export { VALUE_FROM_MARKER } from "../fields/wire";

/**
 * On the calling thread, not the libuv pool: each pool thread that ran a scrypt keeps its 16 MiB
 * in its own malloc arena, so async scrypt raised the provider's peak memory by 4 × 16 MiB where
 * this raises it by 16 (measured: 100 fingerprints, +65 MiB against +16 MiB). The engine checks
 * resources one at a time, so there is nothing for a pool thread to overlap with.
 */
function derive(format: Format, slot: ValueSlot, value: string): string {
  return format.prefix + crypto.scryptSync(value, Buffer.from(format.salt(slot), "hex"), 32, format.cost).toString("hex");
}

/** The fingerprint stored under `value`: `scrypt2:<hex>`. */
const fingerprint = (slot: ValueSlot, value: string): string => derive(CURRENT, slot, value);

/** True for a fingerprint of either format. */
export const isFingerprint = (v: unknown): v is string => typeof v === "string" && /^scrypt2?:[0-9a-f]{64}$/.test(v);

/**
 * What the state's outputs hold under `value` once the program's value is written: a fixed word,
 * nothing derived from the value (the fingerprint is in the inputs only; the SDK logs every
 * resource's outputs, secrets decrypted, in the debug events `pulumi up --json` prints).
 */
export const VALUE_WRITTEN = "written";

/** Whether outputs' `value` says the live value is the program's: written, or a fingerprint (states before {@link VALUE_WRITTEN}). */
export const isWritten = (v: unknown): boolean => v === VALUE_WRITTEN || isFingerprint(v);

/** Whether `fp` (either format) is the fingerprint of `value` in `slot`. */
export function matches(fp: string, slot: ValueSlot, value: string): boolean {
  return derive(fp.startsWith(CURRENT.prefix) ? CURRENT : FIRST, slot, value) === fp;
}

/**
 * The current fingerprint of `value` in `slot`, keeping the plaintext in process memory for this
 * deployment's writes. `known`: a fingerprint that {@link matches} just confirmed for this slot and
 * value; when it has the current format it is the fingerprint, and scrypt does not run twice.
 */
export function remember(slot: ValueSlot, value: string, known?: string): string {
  const fp = known?.startsWith(CURRENT.prefix) ? known : fingerprint(slot, value);
  plaintexts.set(fp, value);
  return fp;
}

/** The plaintext behind a fingerprint, if `check` saw it in this process. */
export function recall(fp: string): string | undefined {
  return plaintexts.get(fp);
}

/** Every plaintext this process holds, so an error message can be scrubbed of them. */
export function knownPlaintexts(): Iterable<string> {
  return plaintexts.values();
}
