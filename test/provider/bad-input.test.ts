/**
 * Bad input never reaches the API: generated invalid inputs (fast-check, seeded) and the cases
 * that used to slip through, each checked through the real dynamic provider host (the rig). Every
 * one must fail at check (what `pulumi preview` runs) with a failure that names the property and
 * says how to fix it, repeat no value, and cause no API write.
 *
 * Replay a run with BAD_INPUT_SEED=<seed printed by the run>.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ALLOWED_INPUTS,
  HEX_ID,
  MAX_BINDING_NAME_LENGTH,
  MAX_COMMENT_LENGTH,
  MAX_SECRET_NAME_LENGTH,
  MAX_STORE_NAME_LENGTH,
  SCOPES,
} from "../../provider/runtime/rules";
import { suiteSeed } from "../rig/random";
import { hexId } from "../cli/spec-stack";
import { Rig, type Kind } from "../rig";
import type { CheckFailure } from "../rig/host";
import { Managed } from "../rig/lifecycle";
import { must } from "../must";

const STORE = hexId("bad-input-store");
const SOURCE_NAME = "existing";
const WORKER = "api-worker";
const VALUE = "valid-value-4711-Zq";

/** Inputs that pass check, one per kind; every case changes one of them. */
const BASE: Record<Exclude<Kind, "PreviousSecretCopy" | "WorkerSecretBindings">, Record<string, unknown>> = {
  SecretsStore: { name: "default_secrets_store", adopt: true },
  StoreSecret: { storeId: STORE, name: "fresh_secret", value: VALUE, scopes: ["workers"], comment: "a note" },
  WorkerSecretBinding: { scriptName: WORKER, bindingName: "API_KEY", storeId: STORE, secretName: SOURCE_NAME },
};

/** One invalid input: the kind, the changes to its valid input (undefined removes a key), and the property that must be named. */
export interface BadCase {
  kind: keyof typeof BASE;
  over: Record<string, unknown>;
  property: string;
  label: string;
}

/** "How to fix it": every reason says what to do. */
const FIX = /\b(must be|must name|must differ|use|set|remove|choose|pass|shorten|give|replace|fix|deploy|list|write|create|check|add|store|leave it out)\b/i;

/** A reason names its property as `prop` (or `prop.sub`, `prop[i]`). */
const namesProperty = (reason: string, property: string) => reason.includes(`\`${property}`) || (property === "" && reason.length > 0);

/**
 * The inputs a reason must never repeat: every string of at least 6 characters in a value, a
 * comment, a name or an unknown property (ids, scopes and environment variable names may be shown).
 */
function repeatable(news: Record<string, unknown>): string[] {
  const shown = new Set(["storeId", "accountId", "duplicateOf", "scopes", "valueFrom", "adopt", "allowLargeValue", "forceDestroy"]);
  const base = new Set([WORKER, SOURCE_NAME, "default_secrets_store", "fresh_secret", "API_KEY", "a note"]);
  return stringsIn(
    Object.entries(news)
      .filter(([k]) => !shown.has(k))
      .map(([, v]) => v),
  ).filter((s) => !base.has(s));
}

function stringsIn(v: unknown, out: string[] = []): string[] {
  if (typeof v === "string" && v.length >= 6) out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => stringsIn(x, out));
  else if (v && typeof v === "object") Object.values(v).forEach((x) => stringsIn(x, out));
  return out;
}

// ---- generators --------------------------------------------------------------------------

const NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
const validName = fc.string({ unit: fc.constantFrom(...NAME_CHARS.split("")), minLength: 1, maxLength: 24 });
const PATHY = ["/", "?", "#", "%", ".", "..", "../", "%2F", "\\"];
const hex = (minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdef".split("")), minLength, maxLength });
const nonString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }),
  fc.record({ x: fc.integer() }),
);

/** Names that break the secret-name rule: empty, blank, spaced, unicode, path characters, too long, control characters, lone surrogates. */
const badSecretName = (max: number) =>
  fc.oneof(
    fc.constant(""),
    fc.integer({ min: 1, max: 5 }).map((n) => " ".repeat(n)),
    fc.tuple(validName, validName).map(([a, b]) => `${a} ${b}`),
    fc.tuple(validName, fc.constantFrom("ü", "é", "名", "ß", "🔑", "\u00a0")).map(([a, u]) => `${a}${u}`),
    fc.tuple(validName, fc.constantFrom(...PATHY), validName).map(([a, p, b]) => `${a}${p}${b}`),
    fc.constantFrom(".", "..", "./x", "../secret"),
    fc.integer({ min: max + 1, max: 10_000 }).map((n) => "k".repeat(n)),
    fc.tuple(validName, fc.constantFrom("\u0000", "\n", "\t", "\u007f")).map(([a, c]) => `${a}${c}`),
    validName.map((a) => `${a}\ufffd`),
  );

/** Binding names that are not JavaScript identifiers (or are too long). */
const badBindingName = fc.oneof(
  fc.constant(""),
  fc.tuple(fc.integer({ min: 0, max: 9 }), validName).map(([d, a]) => `${d}${a.replace(/-/g, "_")}`),
  fc.tuple(validName, fc.constantFrom("-", " ", ".", "/", "#", "%", "?", "é", "+")).map(([a, c]) => `K${a.replace(/-/g, "_")}${c}X`),
  fc.integer({ min: MAX_BINDING_NAME_LENGTH + 1, max: 2_000 }).map((n) => "K".repeat(n)),
);

/** Worker names the API does not take. */
const badWorkerName = fc.oneof(
  fc.constant(""),
  fc.constantFrom("API-Worker", "-leading", "_leading", ".", "..", "a/b", "a?b", "a#b", "a%2Fb", "api worker", "wörker"),
  fc.integer({ min: 64, max: 300 }).map((n) => "w".repeat(n)),
);

/** Ids that are not 32 lowercase hex characters. */
const badId = fc.oneof(
  fc.constant(""),
  hex(1, 31),
  hex(33, 40),
  hex(32, 32).map((h) => h.toUpperCase().replace(/^[0-9]/, "A")),
  fc.constantFrom("..", ".", "../" + "0".repeat(29), "0".repeat(16) + "/" + "0".repeat(15), "0".repeat(31) + "?", "0".repeat(31) + "#", "%2e%2e"),
  fc.string({ minLength: 32, maxLength: 32 }).filter((s) => !HEX_ID.test(s)),
);

const unknownScope = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !(SCOPES as readonly string[]).includes(s) && s !== "ai-gateway"),
  fc.constantFrom("WORKERS", "Workers", " workers", "workers ", "kv", "r2", "ai gateway", ""),
);

/** A key no resource kind takes (every kind's allowed inputs are left out). */
const ANY_KIND_TAKES: readonly string[] = Object.values(ALLOWED_INPUTS).flat();
const extraKey = fc.stringMatching(/^[a-z][A-Za-z0-9_]{0,15}$/).filter((k) => !ANY_KIND_TAKES.includes(k));
/**
 * Any string, bracketed so that an echo of it is one: fast-check favours words such as
 * "arguments", and a bare "argume" is found in every unknown-property reason ("not an argument of").
 */
const extraValue = fc.string({ minLength: 6, maxLength: 20 }).map((s) => `«${s}»`);

const c =
  (kind: BadCase["kind"], property: string, label: string) =>
  (over: Record<string, unknown>): BadCase => ({ kind, over, property, label });

const SECRET_CASES: Array<fc.Arbitrary<BadCase>> = [
  badSecretName(MAX_SECRET_NAME_LENGTH).map((name) => c("StoreSecret", "name", "secret name breaks the rule")({ name })),
  nonString.map((name) => c("StoreSecret", "name", "secret name is not a string")({ name })),
  fc.constant(c("StoreSecret", "name", "secret name missing")({ name: undefined })),
  unknownScope.map((s) => c("StoreSecret", "scopes", "unknown scope")({ scopes: ["workers", s] })),
  fc.constant(c("StoreSecret", "scopes", "no scope")({ scopes: [] })),
  fc.constant(c("StoreSecret", "scopes", "scopes missing")({ scopes: undefined })),
  fc.constantFrom(...SCOPES).map((s) => c("StoreSecret", "scopes", "a scope twice")({ scopes: [s, "workers", s] })),
  fc.constant(c("StoreSecret", "scopes", "ai_gateway twice, two spellings")({ scopes: ["ai-gateway", "ai_gateway"] })),
  fc
    .oneof(nonString, fc.array(fc.integer(), { minLength: 1, maxLength: 3 }), fc.constant("workers"))
    .map((scopes) => c("StoreSecret", "scopes", "scopes of the wrong type")({ scopes })),
  fc.constant(c("StoreSecret", "value", "empty value")({ value: "" })),
  fc
    .integer({ min: 1, max: 40 })
    .chain((n) => fc.constantFrom(" ", "\n", "\t", "\r\n").map((w) => c("StoreSecret", "value", "whitespace-only value")({ value: w.repeat(n) }))),
  fc.integer({ min: 1025, max: 4000 }).map((n) => c("StoreSecret", "value", "value over 1,024 bytes")({ value: "v".repeat(n) })),
  fc.integer({ min: 65_537, max: 70_000 }).map((n) => c("StoreSecret", "value", "value over 65,536 bytes")({ value: "v".repeat(n), allowLargeValue: true })),
  fc.integer({ min: 342, max: 500 }).map((n) => c("StoreSecret", "value", "multi-byte value over 1,024 bytes")({ value: "€".repeat(n) })),
  nonString.map((value) => c("StoreSecret", "value", "value is not a string")({ value })),
  fc.string({ minLength: 4, maxLength: 20 }).map((s) => c("StoreSecret", "value", "value with NUL")({ value: `${s}\u0000tail` })),
  // A lone surrogate itself never reaches check: the engine's protobuf encoder drops it (see the
  // CLI test); text that passed through UTF-8 carries U+FFFD in its place.
  fc.string({ minLength: 4, maxLength: 20 }).map((s) => c("StoreSecret", "value", "value with U+FFFD (a lone surrogate encoded)")({ value: `${s}\ufffdtail` })),
  fc.constant(c("StoreSecret", "value", "no value, nothing to adopt or copy")({ value: undefined })),
  fc.integer({ min: MAX_COMMENT_LENGTH + 1, max: 102_400 }).map((n) => c("StoreSecret", "comment", "comment too long")({ comment: "c".repeat(n) })),
  fc
    .constantFrom("\u0000", "\u0007", "\u001b[31m", "\ufffd")
    .map((ch) => c("StoreSecret", "comment", "comment with control characters")({ comment: `note ${ch} here` })),
  nonString.filter((v) => v !== null).map((comment) => c("StoreSecret", "comment", "comment is not a string")({ comment })),
  badId.map((storeId) => c("StoreSecret", "storeId", "malformed store id")({ storeId })),
  fc.constant(c("StoreSecret", "storeId", "store id missing")({ storeId: undefined })),
  badId.filter((s) => s !== "").map((accountId) => c("StoreSecret", "accountId", "malformed account id")({ accountId })),
  badId.map((secretId) => c("StoreSecret", "duplicateOf", "malformed duplicateOf id")({ value: undefined, duplicateOf: { secretId } })),
  hex(32, 32).map((secretId) => c("StoreSecret", "duplicateOf", "adopt and duplicateOf")({ value: undefined, adopt: true, duplicateOf: { secretId } })),
  hex(32, 32).map((secretId) => c("StoreSecret", "value", "value and duplicateOf")({ duplicateOf: { secretId } })),
  nonString.map((duplicateOf) => c("StoreSecret", "duplicateOf", "duplicateOf of the wrong type")({ value: undefined, duplicateOf })),
  fc.constant(c("StoreSecret", "rotation", "previous name equal to the name")({ rotation: { keepPrevious: true, previousName: "fresh_secret" } })),
  badSecretName(MAX_SECRET_NAME_LENGTH)
    .filter((n) => n !== "")
    .map((previousName) => c("StoreSecret", "rotation", "bad previous name")({ rotation: { keepPrevious: true, previousName } })),
  validName.map((previousName) => c("StoreSecret", "rotation", "previousName without keepPrevious")({ rotation: { keepPrevious: false, previousName } })),
  fc
    .constant(c("StoreSecret", "rotation", "default previous name too long")({ name: "n".repeat(MAX_SECRET_NAME_LENGTH - 3) }))
    .map((x) => ({ ...x, property: "rotation", over: { ...x.over, rotation: { keepPrevious: true } } })),
  fc
    .oneof(nonString, fc.constant({ keepPrevious: "yes" }), fc.constant({ keepPrevious: true, extra: 1 }))
    .map((rotation) => c("StoreSecret", "rotation", "rotation of the wrong shape")({ rotation })),
  fc
    .constantFrom("1ABC", "A-B", "A B", "", "$(id)", "a/b")
    .map((env) => c("StoreSecret", "valueFrom", "bad environment variable name")({ value: undefined, valueFrom: { env } })),
  fc.constant(c("StoreSecret", "valueFrom", "value and valueFrom")({ valueFrom: { env: "HOME" } })),
  fc.constant(
    c("StoreSecret", "valueFrom", "valueFrom and duplicateOf")({ value: undefined, valueFrom: { env: "HOME" }, duplicateOf: { secretId: "0".repeat(32) } }),
  ),
  nonString.filter((v) => typeof v !== "boolean").map((adopt) => c("StoreSecret", "adopt", "adopt is not a boolean")({ adopt })),
  nonString
    .filter((v) => typeof v !== "boolean")
    .map((allowLargeValue) => c("StoreSecret", "allowLargeValue", "allowLargeValue is not a boolean")({ allowLargeValue })),
  fc.tuple(extraKey, extraValue).map(([k, v]) => ({ ...c("StoreSecret", k, "unknown extra property")({ [k]: v }) })),
];

const BINDING_CASES: Array<fc.Arbitrary<BadCase>> = [
  badBindingName.map((bindingName) => c("WorkerSecretBinding", "bindingName", "binding name is not an identifier")({ bindingName })),
  badWorkerName.map((scriptName) => c("WorkerSecretBinding", "scriptName", "invalid Worker name")({ scriptName })),
  badSecretName(MAX_SECRET_NAME_LENGTH).map((secretName) => c("WorkerSecretBinding", "secretName", "invalid secret name")({ secretName })),
  badId.map((storeId) => c("WorkerSecretBinding", "storeId", "malformed store id")({ storeId })),
  badId.filter((s) => s !== "").map((accountId) => c("WorkerSecretBinding", "accountId", "malformed account id")({ accountId })),
  fc
    .constantFrom("scriptName", "bindingName", "storeId", "secretName")
    .map((k) => c("WorkerSecretBinding", k, "required argument missing")({ [k]: undefined })),
  fc.tuple(extraKey, extraValue).map(([k, v]) => c("WorkerSecretBinding", k, "unknown extra property")({ [k]: v })),
];

const STORE_CASES: Array<fc.Arbitrary<BadCase>> = [
  badSecretName(MAX_STORE_NAME_LENGTH).map((name) => c("SecretsStore", "name", "invalid store name")({ name })),
  fc.constant(c("SecretsStore", "name", "store name missing")({ name: undefined })),
  badId.filter((s) => s !== "").map((accountId) => c("SecretsStore", "accountId", "malformed account id")({ accountId })),
  nonString.filter((v) => typeof v !== "boolean").map((forceDestroy) => c("SecretsStore", "forceDestroy", "forceDestroy is not a boolean")({ forceDestroy })),
  fc.tuple(extraKey, extraValue).map(([k, v]) => c("SecretsStore", k, "unknown extra property")({ [k]: v })),
];

const badCase: fc.Arbitrary<BadCase> = fc.oneof(
  { weight: 6, arbitrary: fc.oneof(...SECRET_CASES) },
  { weight: 3, arbitrary: fc.oneof(...BINDING_CASES) },
  { weight: 1, arbitrary: fc.oneof(...STORE_CASES) },
);

// ---- the suite ---------------------------------------------------------------------------

/** The outcome of one case through check. */
interface Outcome {
  failures: CheckFailure[];
  problems: string[];
}

describe("bad input fails at check, naming the property and the fix, with no write and no value in the message", () => {
  let rig: Rig;
  let writesBefore = 0;
  const seed = suiteSeed("BAD_INPUT_SEED", "bad-input");

  beforeAll(async () => {
    rig = await Rig.start({
      emulator: {
        seed: {
          stores: [{ name: "default_secrets_store", id: STORE }],
          secrets: [{ store: STORE, name: SOURCE_NAME, value: "source-value-0815", scopes: ["workers"] }],
          workers: [{ name: WORKER, bindings: [{ type: "plain_text", name: "MODE", text: "prod" }] }],
        },
      },
    });
    writesBefore = (await rig.requests()).length;
  });

  afterAll(async () => {
    if (rig) {
      expect((await rig.writesSince(writesBefore)).map((w) => `${w.method} ${w.path}`)).toEqual([]);
      await rig.close();
    }
  });

  let counter = 0;
  /** Checks `news` as a new resource of `kind`; the problems are every way the answer falls short. */
  async function checkCase(kind: Kind, news: Record<string, unknown>, property: string): Promise<Outcome> {
    const managed = new Managed(rig, kind, `case-${++counter}`);
    const { failures } = await managed.check(news);
    const problems: string[] = [];
    if (failures.length === 0) problems.push("check accepted it");
    const named = failures.filter((f) => f.property === property || (property.length > 64 && f.property.startsWith(property.slice(0, 64))));
    if (failures.length && !named.length) problems.push(`no failure on \`${property}\` (got ${failures.map((f) => f.property || "(provider)").join(", ")})`);
    for (const f of named) {
      if (!namesProperty(f.reason, property.length > 64 ? property.slice(0, 64) : property))
        problems.push(`the reason does not name \`${property}\`: ${f.reason.slice(0, 200)}`);
      if (!FIX.test(f.reason)) problems.push(`the reason does not say how to fix it: ${f.reason.slice(0, 200)}`);
    }
    for (const f of failures) {
      for (const s of repeatable(news))
        if (f.reason.includes(s)) problems.push(`a reason repeats an input (${s.length} characters): ${f.reason.slice(0, 120)}`);
      if (f.reason.includes(VALUE)) problems.push("a reason repeats the value");
      if (/Unexpected struct type/.test(f.reason)) problems.push("Unexpected struct type");
    }
    return { failures, problems };
  }

  it("every valid baseline passes check (so each case fails for its own reason)", async () => {
    for (const [kind, news] of Object.entries(BASE)) {
      const { failures } = await new Managed(rig, kind as Kind, `base-${kind}`).check(news);
      expect(failures, kind).toEqual([]);
    }
  });

  it("at least 200 generated invalid inputs", async () => {
    const N = Number(process.env.BAD_INPUT_RUNS ?? 260);
    const cases = fc.sample(badCase, { seed, numRuns: N });
    const rows: string[] = [];
    const byLabel = new Map<string, { tried: number; rejected: number }>();
    for (const k of cases) {
      const news = { ...BASE[k.kind], ...k.over };
      for (const [key, v] of Object.entries(k.over)) if (v === undefined) delete news[key];
      let outcome: Outcome;
      try {
        outcome = await checkCase(k.kind, news, k.property);
      } catch (err) {
        outcome = { failures: [], problems: [`check threw: ${String(err).slice(0, 300)}`] };
      }
      const stats = byLabel.get(`${k.kind}: ${k.label}`) ?? { tried: 0, rejected: 0 };
      stats.tried += 1;
      if (outcome.failures.length) stats.rejected += 1;
      byLabel.set(`${k.kind}: ${k.label}`, stats);
      if (outcome.problems.length) rows.push(`${k.kind} ${k.label} ${JSON.stringify(k.over).slice(0, 160)}: ${outcome.problems.join("; ")}`);
    }
    const writes = await rig.writesSince(writesBefore);
    const rejected = [...byLabel.values()].reduce((a, b) => a + b.rejected, 0);
    console.log(
      `bad-input (seed ${seed}): ${cases.length} generated invalid inputs, ${rejected} rejected at check, ${writes.length} API writes\n` +
        [...byLabel]
          .sort()
          .map(([label, s]) => `  ${label}: ${s.rejected}/${s.tried}`)
          .join("\n"),
    );
    expect(cases.length).toBeGreaterThanOrEqual(200);
    expect(rows, `replay with BAD_INPUT_SEED=${seed}`).toEqual([]);
    expect(writes).toEqual([]);
  });

  describe("the inputs that used to be applied silently or fail without naming a property", () => {
    const hand: Array<[string, keyof typeof BASE, Record<string, unknown>, string, RegExp?]> = [
      ["a 10,000-character secret name", "StoreSecret", { name: "n".repeat(10_000) }, "name", /10000 characters long; at most 255/],
      ["a 300-character binding name", "WorkerSecretBinding", { bindingName: "B".repeat(300) }, "bindingName", /300 characters long; at most 255/],
      ["a 100 KB comment", "StoreSecret", { comment: "c".repeat(100 * 1024) }, "comment", /102400 characters long; at most 1024/],
      ["a whitespace-only value", "StoreSecret", { value: "   \n\t " }, "value", /only whitespace/],
      ["a value with a lone surrogate, as it arrives (U+FFFD)", "StoreSecret", { value: "abc\ufffddef" }, "value", /lone UTF-16 surrogate or U\+FFFD/],
      ["a value with NUL", "StoreSecret", { value: "abc\u0000def" }, "value", /NUL/],
      ["duplicated scopes", "StoreSecret", { scopes: ["workers", "workers"] }, "scopes", /more than once/],
      ["uppercase scopes", "StoreSecret", { scopes: ["WORKERS"] }, "scopes", /unknown scope.*exactly "workers"/],
      ["padded scopes", "StoreSecret", { scopes: [" workers "] }, "scopes", /unknown scope.*exactly "workers"/],
      ["adopt with duplicateOf", "StoreSecret", { value: undefined, adopt: true, duplicateOf: { secretId: "0".repeat(32) } }, "duplicateOf", /contradict/],
      [
        "previousName with keepPrevious: false",
        "StoreSecret",
        { rotation: { keepPrevious: false, previousName: "old_copy" } },
        "rotation",
        /only applies with `keepPrevious: true`/,
      ],
      ["an unknown extra property", "StoreSecret", { scope: ["workers"] }, "scope", /not an argument of StoreSecret.*Remove it/],
      ["an unknown extra property on a binding", "WorkerSecretBinding", { secret: "x" }, "secret", /not an argument of WorkerSecretBinding/],
      ["a missing storeId (was: Unexpected struct type)", "StoreSecret", { storeId: undefined }, "storeId", /`storeId` is required/],
      ["missing scopes (was: Unexpected struct type)", "StoreSecret", { scopes: undefined }, "scopes", /`scopes` is required/],
      ["a store id that names no store (was: a raw 404)", "StoreSecret", { storeId: "f".repeat(32) }, "storeId", /Store f{32} does not exist in account/],
      [
        "a store id that names no store, on a binding (was: a raw 404)",
        "WorkerSecretBinding",
        { storeId: "e".repeat(32) },
        "storeId",
        /Store e{32} does not exist/,
      ],
      [
        "another account's id (was: a raw 403)",
        "StoreSecret",
        { accountId: "a".repeat(32) },
        "accountId",
        /no access to account a{32}.*another account.*`accountId`/,
      ],
      ["another account's id on a store (was: a raw 403)", "SecretsStore", { accountId: "b".repeat(32) }, "accountId", /no access to account b{32}/],
      ["another account's id on a binding (was: a raw 403)", "WorkerSecretBinding", { accountId: "c".repeat(32) }, "accountId", /no access to account c{32}/],
      ["a malformed account id", "StoreSecret", { accountId: "../other" }, "accountId", /32 lowercase hexadecimal/],
      ["a malformed store id that would leave the store's path", "StoreSecret", { storeId: "../../workers/scripts" }, "storeId", /32 lowercase hexadecimal/],
      [
        "a duplicateOf source that does not exist (was: found only at up)",
        "StoreSecret",
        { value: undefined, duplicateOf: { secretId: "d".repeat(32) } },
        "duplicateOf",
        /d{32} is not a secret in store/,
      ],
    ];
    for (const [label, kind, over, property, reason] of hand) {
      it(label, async () => {
        const news: Record<string, unknown> = { ...BASE[kind], ...over };
        for (const [k, v] of Object.entries(over)) if (v === undefined) delete news[k];
        const mark = (await rig.requests()).length;
        const { failures, problems } = await checkCase(kind, news, property);
        expect(problems).toEqual([]);
        if (reason) expect(failures.find((f) => f.property === property)?.reason).toMatch(reason);
        expect(await rig.writesSince(mark)).toEqual([]);
      });
    }

    it("a well-formed duplicateOf source is looked up read-only, and an existing one passes", async () => {
      const source = must(
        (await rig.api<Array<{ id: string; name: string }>>("GET", `/secrets_store/stores/${STORE}/secrets`)).find((s) => s.name === SOURCE_NAME),
        "the duplicateOf source secret",
      );
      const mark = (await rig.requests()).length;
      const { failures } = await new Managed(rig, "StoreSecret", "copy-ok").check({
        ...BASE.StoreSecret,
        value: undefined,
        duplicateOf: { secretId: source.id },
      });
      expect(failures).toEqual([]);
      const requests = (await rig.requests()).slice(mark);
      expect(requests.filter((r) => r.method !== "GET")).toEqual([]);
    });

    it("`ai-gateway` is still accepted as `ai_gateway`, and order never matters", async () => {
      const { inputs, failures } = await new Managed(rig, "StoreSecret", "gateway").check({ ...BASE.StoreSecret, scopes: ["workers", "ai-gateway"] });
      expect(failures).toEqual([]);
      expect(inputs.scopes).toEqual(["ai_gateway", "workers"]);
    });
  });
});
