/**
 * A stack of `programs/spec` (stores, secrets and bindings described by stack config) and the
 * checks that decide whether a deployment converged, read through the emulator rather than from
 * what Pulumi reports: live objects equal the program, every value's sha256 is right, no secret
 * exists that the state doesn't own, the Workers kept every binding they had, and a further
 * `pulumi up` makes no write.
 */
import * as crypto from "node:crypto";
import * as path from "node:path";
import type { EmulatorSeed } from "../../emulator";
import type { Deployment } from "../../tools/pulumi-cli";
import { sha256 } from "../rig/bytes";
import type { RequestLogEntry } from "../../tools/emulator-client";
import { CliStack, type StartOptions } from "./stack";

export const SPEC_PROGRAM = path.join(__dirname, "programs", "spec");

export interface SpecStore {
  key: string;
  name: string;
  adopt?: boolean;
  forceDestroy?: boolean;
}
export interface SpecSecret {
  key: string;
  name: string;
  storeId?: string;
  storeKey?: string;
  /** Key into the secret config `values`. */
  valueKey?: string;
  /** `valueFrom: { env }` instead. */
  valueFromEnv?: string;
  scopes: string[];
  comment?: string;
  adopt?: boolean;
  keepPrevious?: boolean;
  previousName?: string;
  duplicateOfKey?: string;
}
export interface SpecBinding {
  key: string;
  scriptName: string;
  bindingName: string;
  storeId?: string;
  storeKey?: string;
  secretKey?: string;
  secretName?: string;
  /** Bind the secret's previous-value copy instead of the secret. */
  previous?: boolean;
}
/** A resource whose arguments the program passes exactly as given (for bad-input runs). */
export interface SpecRaw {
  kind: "SecretsStore" | "StoreSecret" | "WorkerSecretBinding";
  key: string;
  args: Record<string, unknown>;
  /** Sets `value` from the secret config `values`. */
  valueKey?: string;
  /** Arguments the program marks secret (`pulumi.secret`). */
  secret?: string[];
}
export interface Spec {
  stores: SpecStore[];
  secrets: SpecSecret[];
  bindings: SpecBinding[];
  raw?: SpecRaw[];
}

export const emptySpec = (): Spec => ({ stores: [], secrets: [], bindings: [] });

/** Merges spec fragments in order. */
export function mergeSpecs(parts: Array<Partial<Spec>>): Spec {
  const out = emptySpec();
  for (const p of parts) {
    out.stores.push(...(p.stores ?? []));
    out.secrets.push(...(p.secrets ?? []));
    out.bindings.push(...(p.bindings ?? []));
  }
  return out;
}

/** A fixed 32-hex store id derived from a label (seeded stores get it, programs pass it as `storeId`). */
export const hexId = (label: string): string => crypto.createHash("md5").update(label).digest("hex");

export interface ExpectedSecret {
  /** sha256 of the value it must hold, or of each value it may hold. */
  sha: string | string[];
  scopes: string[];
  /** The exact comment ("" when none), or a pattern. */
  comment: string | RegExp;
}

export interface ExpectedBinding {
  type: string;
  /** sha256 of what the binding yields in the Worker now (or of each thing it may yield). */
  sha: string | string[];
  /** For a store binding: the secret it names. */
  secretName?: string;
}

/** What the account must hold: exactly these stores (by name) with exactly these secrets, and these Worker bindings. */
export interface Expected {
  stores: Record<string, Record<string, ExpectedSecret>>;
  workers: Record<string, Record<string, ExpectedBinding>>;
}

export interface LiveSecret {
  id: string;
  name: string;
  scopes: string[];
  comment: string;
  store_id: string;
}

export interface Live {
  stores: Array<{ id: string; name: string; secrets: LiveSecret[] }>;
  workers: Record<string, Array<Record<string, unknown>>>;
}

/** A problem found by {@link SpecStack.verify}; `where` is a store name, a Worker name or "state". */
export interface Problem {
  where: string;
  what: string;
}

export class SpecStack {
  private constructor(readonly cli: CliStack) {}

  static async start(seed: EmulatorSeed, options: StartOptions = {}): Promise<SpecStack> {
    const cli = await CliStack.start(SPEC_PROGRAM, seed, {
      ...options,
      emulator: { rateLimit: 1_000_000, quota: 1000, maxStores: 100, ...options.emulator },
      config: { "cloudflare-secrets-store:maxStores": "100", ...options.config },
    });
    return new SpecStack(cli);
  }

  get emu() {
    return this.cli.emu;
  }

  /** Writes the program's spec (plain config) and values (one secret config value). */
  async apply(spec: Spec, values: Record<string, string>): Promise<void> {
    await this.cli.configure({ spec: JSON.stringify(spec) }, { values: JSON.stringify(values) });
  }

  async live(): Promise<Live> {
    const api = `/client/v4/accounts/${this.emu.accountId}`;
    const stores = (await this.cli.hook<{ result: Array<{ id: string; name: string }> }>(`${api}/secrets_store/stores?per_page=100`)).result;
    const out: Live = { stores: [], workers: {} };
    for (const s of stores) {
      const secrets: LiveSecret[] = [];
      for (let page = 1; ; page++) {
        const got = (await this.cli.hook<{ result: LiveSecret[] }>(`${api}/secrets_store/stores/${s.id}/secrets?per_page=100&page=${page}`)).result;
        secrets.push(...got);
        if (got.length < 100) break;
      }
      out.stores.push({ id: s.id, name: s.name, secrets });
    }
    const scripts = (await this.cli.hook<{ result: Array<{ id: string }> }>(`${api}/workers/scripts`)).result;
    for (const w of scripts) out.workers[w.id] = await this.cli.bindings(w.id);
    return out;
  }

  /** The ids of every store, secret and previous-value copy in the Pulumi state. */
  async stateIds(): Promise<{ ids: Set<string>; resources: Array<{ type: string; urn: string; id?: string }> }> {
    const { deployment } = await this.cli.export();
    const ids = new Set<string>();
    const resources = (deployment.resources ?? []).filter((r) => r.type.includes("cloudflare-secrets-store"));
    for (const r of resources) {
      if (r.type.endsWith(":PreviousSecretCopy")) {
        const copy = r.outputs?.previousId;
        if (typeof copy === "string") ids.add(copy);
      } else if (r.id) {
        ids.add(r.id);
      }
    }
    return { ids, resources };
  }

  /** Every way the account differs from `expected`, or the state from the account. Empty: converged. */
  async verify(expected: Expected): Promise<Problem[]> {
    const problems: Problem[] = [];
    const live = await this.live();
    const { ids, resources } = await this.stateIds();
    const liveNames = live.stores.map((s) => s.name).sort();
    const wantNames = Object.keys(expected.stores).sort();
    for (const n of wantNames.filter((n) => !liveNames.includes(n))) problems.push({ where: n, what: `store "${n}" is missing` });
    for (const n of liveNames.filter((n) => !wantNames.includes(n))) problems.push({ where: n, what: `store "${n}" exists but the program has none` });
    const liveIds = new Set<string>();
    for (const store of live.stores) {
      liveIds.add(store.id);
      const want = expected.stores[store.name];
      if (!want) continue;
      for (const [name, w] of Object.entries(want)) {
        const s = store.secrets.find((x) => secretNameMatches(name, x.name));
        if (!s) {
          problems.push({ where: store.name, what: `secret "${name}" is missing` });
          continue;
        }
        const sha = await this.cli.secretSha256(s.id);
        const want = Array.isArray(w.sha) ? w.sha : [w.sha];
        if (!want.includes(sha))
          problems.push({
            where: store.name,
            what: `secret "${name}" holds the wrong value (sha256 ${sha.slice(0, 12)}…, want ${want.map((x) => `${x.slice(0, 12)}…`).join(" or ")})`,
          });
        if ([...s.scopes].sort().join(",") !== [...w.scopes].sort().join(","))
          problems.push({ where: store.name, what: `secret "${name}" has scopes [${s.scopes}], want [${w.scopes}]` });
        const commentOk = typeof w.comment === "string" ? s.comment === w.comment : w.comment.test(s.comment);
        if (!commentOk)
          problems.push({ where: store.name, what: `secret "${name}" has comment ${JSON.stringify(s.comment.slice(0, 80))}, want ${String(w.comment)}` });
      }
      for (const s of store.secrets) {
        liveIds.add(s.id);
        if (!Object.keys(want).some((n) => secretNameMatches(n, s.name)))
          problems.push({ where: store.name, what: `secret "${s.name}" (${s.id}) exists but the program has none` });
        if (!ids.has(s.id)) problems.push({ where: store.name, what: `secret "${s.name}" (${s.id}) is not owned by the Pulumi state` });
      }
    }
    for (const r of resources) {
      if (r.type.endsWith(":WorkerSecretBinding") || r.type.endsWith(":PreviousSecretCopy") || !r.id) continue;
      if (!liveIds.has(r.id)) problems.push({ where: "state", what: `${r.urn.split("::").pop()} points at ${r.id}, which does not exist` });
    }
    for (const [worker, want] of Object.entries(expected.workers)) {
      const bindings = live.workers[worker];
      if (!bindings) {
        problems.push({ where: worker, what: `Worker "${worker}" is gone` });
        continue;
      }
      const byName = new Map(bindings.map((b) => [String(b.name), b]));
      for (const [name, w] of Object.entries(want)) {
        const b = byName.get(name);
        if (!b) {
          problems.push({ where: worker, what: `binding ${name} is missing` });
          continue;
        }
        if (b.type !== w.type) problems.push({ where: worker, what: `binding ${name} is a ${String(b.type)}, want ${w.type}` });
        if (w.secretName !== undefined && !secretNameMatches(w.secretName, String(b.secret_name)))
          problems.push({ where: worker, what: `binding ${name} names secret ${String(b.secret_name)}, want ${w.secretName}` });
        const sha = await this.cli.bindingSha256(worker, name);
        const want = Array.isArray(w.sha) ? w.sha : [w.sha];
        if (sha === undefined || !want.includes(sha))
          problems.push({
            where: worker,
            what: `binding ${name} yields ${sha ? `sha256 ${sha.slice(0, 12)}…` : "nothing"}, want ${want.map((x) => `${x.slice(0, 12)}…`).join(" or ")}`,
          });
      }
      for (const b of bindings) if (!(String(b.name) in want)) problems.push({ where: worker, what: `binding ${String(b.name)} exists but should not` });
    }
    return problems;
  }

  close(): Promise<void> {
    return this.cli.close();
  }
}

/** An expected secret holding `value`. */
export const holds = (value: string, scopes: string[] = ["workers"], comment: string | RegExp = ""): ExpectedSecret => ({
  sha: sha256(value),
  scopes,
  comment,
});

/** The comment a previous-value copy of `name` carries. */
export const copyOf = (name: string): RegExp => new RegExp(`^previous value of ${name} \\(version \\d+\\)$`);

/**
 * Whether a live secret's name is the expected one: a name ending in `_v*` stands for a
 * previous-value copy of any version (`<base>_v<n>`; n depends on how many writes a fault repeated).
 */
export const secretNameMatches = (expected: string, name: string): boolean =>
  expected.endsWith("_v*") ? name.startsWith(expected.slice(0, -1)) && /^\d+$/.test(name.slice(expected.length - 1)) : name === expected;

/** Non-GET requests. */
export const writesOf = (requests: RequestLogEntry[]): RequestLogEntry[] => requests.filter((r) => r.method !== "GET");

/** Error diagnostics of a deployment, with the resource name (URN's last part) each is about. */
export function failuresOf(d: Deployment): Array<{ name: string; message: string }> {
  return d.diagnostics.filter((x) => x.severity === "error").map((x) => ({ name: x.urn?.split("::").pop() ?? "", message: x.message }));
}

/** Kept here too for the suites that import them from this module. */
export { prng, suiteSeed } from "../rig/random";
