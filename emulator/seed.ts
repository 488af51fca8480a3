/**
 * Seeds: stores, secrets and Workers to start with, given as an object or a JSON file. They go
 * through the same rules as the API (names, scopes, value size, quota, store limit, bindings),
 * and seeded secrets start `active`.
 */
import * as fs from "node:fs";
import { z } from "zod";
import { createSecrets, createStores } from "./domain/secrets-store";
import { BindingInput, CompatibilityDate, SCRIPT_NAME, newWorker, resolveBindings } from "./domain/workers";
import { ApiError } from "./envelope";
import { type EmulatorState, HEX32 } from "./state";

/**
 * A Worker binding in a seed, as the Workers API takes it: `{name, type, ...fields}`, e.g.
 * `{ name: "API_KEY", type: "secrets_store_secret", store_id, secret_name }` (the store and the
 * secret must be seeded, the secret with the `workers` scope) or
 * `{ name: "TOKEN", type: "secret_text", text: "…" }`.
 *
 * @see https://developers.cloudflare.com/workers/configuration/secrets/
 * @see https://developers.cloudflare.com/secrets-store/
 */
export interface SeedBinding {
  /** The binding's name (the `env` property the Worker reads). */
  name: string;
  /** The binding type, e.g. `secrets_store_secret`, `secret_text`, `plain_text`. */
  type: string;
  /** The type's own fields (`store_id` and `secret_name`, `text`, …). */
  [field: string]: unknown;
}

/**
 * What an emulator starts with (`EmulatorOptions.seed`, or the CLI's `--seed FILE` as JSON). It
 * goes through the API's rules (names, scopes, value size, quota, store limit, bindings); seeded
 * secrets start `active`. A seed that breaks a rule makes `startEmulator` reject, naming the
 * problem, and nothing of it is kept.
 *
 * @example
 * ```json
 * {
 *   "stores": [{ "name": "main", "id": "5f3c0a9e1b2d4c6e8f0a1b2c3d4e5f60" }],
 *   "secrets": [{ "store": "main", "name": "API_KEY", "value": "s3cr3t", "scopes": ["workers"] }],
 *   "workers": [{
 *     "name": "my-worker",
 *     "bindings": [{ "name": "API_KEY", "type": "secrets_store_secret", "store_id": "5f3c0a9e1b2d4c6e8f0a1b2c3d4e5f60", "secret_name": "API_KEY" }]
 *   }]
 * }
 * ```
 *
 * @see https://developers.cloudflare.com/secrets-store/
 * @see https://developers.cloudflare.com/workers/configuration/secrets/
 */
export interface EmulatorSeed {
  /** Stores to create, in order; `id` (32 lowercase hex characters) fixes the store's id, else it is random. */
  stores?: Array<{ name: string; id?: string }>;
  /**
   * Secrets to create (`active`); `store` is a seeded store's name or id. `scopes` are Secrets
   * Store scopes such as `workers`.
   */
  secrets?: Array<{ store: string; name: string; value: string; scopes: string[]; comment?: string }>;
  /**
   * Workers to create, each with a placeholder `index.js` module, its bindings, and optional
   * compatibility date (YYYY-MM-DD; default today) and flags.
   */
  workers?: Array<{
    name: string;
    bindings?: SeedBinding[];
    compatibility_date?: string;
    compatibility_flags?: string[];
    /**
     * true: a Worker whose deploy was interrupted before any content upload. It is listed, but
     * its settings, script settings and deployments answer 404, code 10222 ("This Worker has no
     * versions, …") until an upload gives it a version. It cannot have bindings.
     */
    noVersions?: boolean;
  }>;
}

const SeedSchema = z.strictObject({
  stores: z.array(z.strictObject({ name: z.string(), id: z.string().regex(HEX32, "must be 32 lowercase hex characters").optional() })).optional(),
  secrets: z
    .array(z.strictObject({ store: z.string(), name: z.string(), value: z.string(), scopes: z.array(z.string()), comment: z.string().optional() }))
    .optional(),
  workers: z
    .array(
      z.strictObject({
        name: z.string(),
        bindings: z.array(BindingInput).optional(),
        compatibility_date: CompatibilityDate.optional(),
        compatibility_flags: z.array(z.string()).optional(),
        noVersions: z.boolean().optional(),
      }),
    )
    .optional(),
});

export function readSeed(seed: string | EmulatorSeed): EmulatorSeed {
  let raw: unknown = seed;
  let where = "seed";
  if (typeof seed === "string") {
    where = `seed file ${seed}`;
    try {
      raw = JSON.parse(fs.readFileSync(seed, "utf8"));
    } catch (err) {
      throw new Error(`Cannot read ${where}: ${(err as Error).message}`, { cause: err });
    }
  }
  const parsed = SeedSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`Invalid ${where}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "top level"}: ${i.message}`).join("; ")}`);
  }
  return parsed.data;
}

export function applySeed(state: EmulatorState, seed: EmulatorSeed): void {
  try {
    for (const store of seed.stores ?? []) {
      if (store.id !== undefined && state.stores.has(store.id)) throw new Error(`two stores have id ${store.id}`);
      createStores(state, [store.name], [store.id]);
    }
    for (const secret of seed.secrets ?? []) {
      const store = state.stores.get(secret.store) ?? [...state.stores.values()].find((s) => s.name === secret.store);
      if (!store) throw new Error(`secret ${secret.name}: no seeded store named or with id "${secret.store}"`);
      createSecrets(state, store.id, [{ name: secret.name, value: secret.value, scopes: secret.scopes, comment: secret.comment }], "active");
    }
    for (const w of seed.workers ?? []) {
      if (!SCRIPT_NAME.test(w.name)) throw new Error(`invalid Worker name "${w.name}"`);
      if (state.workers.has(w.name)) throw new Error(`two Workers are named ${w.name}`);
      const worker = newWorker(w.name);
      if (w.noVersions) {
        if (w.bindings?.length) throw new Error(`Worker ${w.name}: a Worker with noVersions has no bindings`);
        worker.no_versions = true;
        worker.main_module = null;
        state.workers.set(w.name, worker);
        continue;
      }
      worker.bindings = resolveBindings(state, w.bindings ?? [], []);
      worker.compatibility_date = w.compatibility_date ?? worker.compatibility_date;
      worker.compatibility_flags = w.compatibility_flags ?? [];
      worker.main_module = "index.js";
      worker.modules = ["index.js"];
      state.workers.set(w.name, worker);
    }
    state.commit();
  } catch (err) {
    if (err instanceof ApiError) throw new Error(`Invalid seed: ${err.errors.map((e) => e.message).join("; ")}`, { cause: err });
    if (err instanceof Error && !err.message.startsWith("Invalid seed")) throw new Error(`Invalid seed: ${err.message}`, { cause: err });
    throw err;
  }
}
