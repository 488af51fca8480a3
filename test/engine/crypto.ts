/**
 * The passphrase secrets provider, byte-compatible with Pulumi's: the key is PBKDF2-SHA256
 * (1,000,000 iterations) of the passphrase and an 8-byte salt; values are AES-256-GCM with a 12-byte
 * nonce, written `v1:<nonce b64>:<ciphertext+tag b64>`. The salt is kept as a "salt state"
 * `v1:<salt b64>:<encryption of "pulumi">`, which also verifies the passphrase.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";

const ITERATIONS = 1_000_000;
const VERIFIER = "pulumi";
const keyCache = new Map<string, Promise<Buffer>>();

/** Reads the passphrase the way Pulumi does (`PULUMI_CONFIG_PASSPHRASE`, then `…_FILE`); throws a clear error if unset. */
export function passphraseFromEnv(env: NodeJS.ProcessEnv): string {
  if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) return env.PULUMI_CONFIG_PASSPHRASE;
  const file = env.PULUMI_CONFIG_PASSPHRASE_FILE;
  if (file) {
    return fs.readFileSync(file, "utf8").replace(/\r?\n$/, "");
  }
  throw new Error(
    "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables",
  );
}

/** Encrypts and decrypts strings with a key derived from a passphrase and a salt. */
export class Crypter {
  private constructor(
    private readonly key: Buffer,
    /** `v1:<salt>:<verifier>`: store it next to what this crypter encrypts. */
    readonly saltState: string,
  ) {}

  /** A crypter with a fresh random salt. */
  static async create(passphrase: string): Promise<Crypter> {
    const salt = crypto.randomBytes(8);
    const key = await deriveKey(passphrase, salt);
    const verifier = encryptWith(key, VERIFIER);
    return new Crypter(key, `v1:${salt.toString("base64")}:${verifier}`);
  }

  /** The crypter for a stored salt state; throws `incorrect passphrase` when the verifier does not decrypt. */
  static async fromSaltState(passphrase: string, saltState: string): Promise<Crypter> {
    const match = /^v1:([^:]+):(v1:.+)$/.exec(saltState);
    if (!match) throw new Error(`malformed encryption salt: ${saltState}`);
    const key = await deriveKey(passphrase, Buffer.from(match[1], "base64"));
    let verified = false;
    try {
      verified = decryptWith(key, match[2]) === VERIFIER;
    } catch {
      verified = false;
    }
    if (!verified) throw new Error('constructing secrets manager of type "passphrase": incorrect passphrase');
    return new Crypter(key, saltState);
  }

  /** `v1:<nonce>:<ciphertext>` of a string. */
  encrypt(plaintext: string): string {
    return encryptWith(this.key, plaintext);
  }

  /** Inverse of {@link Crypter.encrypt}. */
  decrypt(ciphertext: string): string {
    return decryptWith(this.key, ciphertext);
  }
}

function deriveKey(passphrase: string, salt: Buffer): Promise<Buffer> {
  const cacheKey = crypto.createHash("sha256").update(passphrase).update(salt).digest("hex");
  let key = keyCache.get(cacheKey);
  if (!key) {
    key = new Promise((resolve, reject) =>
      crypto.pbkdf2(passphrase, salt, ITERATIONS, 32, "sha256", (err, k) => (err ? reject(err) : resolve(k))),
    );
    keyCache.set(cacheKey, key);
  }
  return key;
}

function encryptWith(key: Buffer, plaintext: string): string {
  const nonce = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv("aes-256-gcm", key, nonce);
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `v1:${nonce.toString("base64")}:${body.toString("base64")}`;
}

function decryptWith(key: Buffer, ciphertext: string): string {
  const match = /^v1:([^:]+):([^:]+)$/.exec(ciphertext);
  if (!match) throw new Error("malformed ciphertext");
  const nonce = Buffer.from(match[1], "base64");
  const body = Buffer.from(match[2], "base64");
  const decipher = crypto.createDecipheriv("aes-256-gcm", key, nonce);
  decipher.setAuthTag(body.subarray(body.length - 16));
  return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString("utf8");
}
