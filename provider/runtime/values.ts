/**
 * Write-only secret values. `check` replaces the plaintext with a fingerprint, so a changed value
 * still shows as a diff while the plaintext is never persisted, not even encrypted. The plaintext
 * stays in this provider process's memory, where `create`/`update` of the same deployment find it:
 * the engine sends a step's Check and its Create/Update to the same provider process.
 *
 * The fingerprint is scrypt (N = 2^12, r = 8, p = 1: about 10 ms and 4 MiB per value) under a salt
 * derived from the account and the secret's name. Deliberately slow, so a decrypted state does not
 * give a short value away (a million guesses take hours on one core); deterministic, so a preview
 * and its update check to the same inputs (Pulumi update plans compare them).
 */
import * as crypto from "node:crypto";

const FINGERPRINT_PREFIX = "scrypt:";
const SCRYPT = { N: 1 << 12, r: 8, p: 1 } as const;
const plaintexts = new Map<string, string>();

/** The salt for a secret's value: public and stable, unique per account and name. */
export const saltFor = (accountId: string, name: string): string =>
  crypto.createHash("sha256").update(`pulumi-cloudflare-secrets-store/value/${accountId}/${name}`).digest("hex").slice(0, 32);

/** The fingerprint stored under `value`: `scrypt:<hex>`. */
export async function fingerprint(salt: string, value: string): Promise<string> {
  const key = await new Promise<Buffer>((resolve, reject) =>
    crypto.scrypt(value, Buffer.from(salt, "hex"), 32, SCRYPT, (err, derived) => (err ? reject(err) : resolve(derived))),
  );
  return FINGERPRINT_PREFIX + key.toString("hex");
}

/** True for what {@link fingerprint} returns. */
export const isFingerprint = (v: unknown): v is string => typeof v === "string" && /^scrypt:[0-9a-f]{64}$/.test(v);

/** Fingerprints `value` and keeps the plaintext in process memory for this deployment's writes. */
export async function remember(salt: string, value: string): Promise<string> {
  const fp = await fingerprint(salt, value);
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
