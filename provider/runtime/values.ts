/**
 * Write-only secret values. `check` replaces the plaintext with a keyed fingerprint
 * (HMAC-SHA-256 under a random per-resource salt kept in the state), so a changed value still
 * shows as a diff while the plaintext is never persisted, not even encrypted. The plaintext stays
 * in this provider process's memory, where `create`/`update` of the same deployment find it: the
 * engine sends a step's Check and its Create/Update to the same provider process.
 */
import * as crypto from "node:crypto";

const FINGERPRINT_PREFIX = "hmac-sha256:";
const plaintexts = new Map<string, string>();

export const newSalt = (): string => crypto.randomBytes(16).toString("hex");

/** The fingerprint stored under `value`: `hmac-sha256:<hex>`. */
export function fingerprint(salt: string, value: string): string {
  return FINGERPRINT_PREFIX + crypto.createHmac("sha256", Buffer.from(salt, "hex")).update(value, "utf8").digest("hex");
}

export const isFingerprint = (v: unknown): v is string => typeof v === "string" && v.startsWith(FINGERPRINT_PREFIX);

/** Fingerprints `value` and keeps the plaintext in process memory for this deployment's writes. */
export function remember(salt: string, value: string): string {
  const fp = fingerprint(salt, value);
  plaintexts.set(`${salt}/${fp}`, value);
  return fp;
}

/** The plaintext behind a fingerprint, if `check` saw it in this process. */
export function recall(salt: string, fp: string): string | undefined {
  return plaintexts.get(`${salt}/${fp}`);
}
