/**
 * The fault matrix, through the real `pulumi` CLI: every write the provider makes (a row of
 * `ROWS`) crossed with every fault the emulator injects (a column of `MODES`).
 *
 * Each case: the fault is set on that row's write; `pulumi up` either succeeds or fails with a
 * message naming the resource and the failed call; the faults are cleared; at most one more
 * `pulumi up` converges; then, checked through the emulator: live objects equal the program, every
 * value's sha256 is right, no secret exists that the state doesn't own, every binding a Worker had
 * is still there, and a further `pulumi up` makes no write.
 *
 * To fit the time budget, every row has its own store (or Worker) in ONE stack, so one round of
 * `up`s runs one fault mode on every row at once: the rows' resources are independent and each
 * row's fault matches only its own store's (or Worker's) paths, so each row sees exactly the run it
 * would see alone. The fault-injected `up` runs with `--skip-preview` (the preview makes no write,
 * so it would only cost time), `--continue-on-error` (a failing row must not stop the other rows'
 * writes from being attempted in that run) and a high `--parallel` (the delay mode holds every
 * row's write for longer than the client's timeout at the same time). The convergence `up` and the
 * no-write `up` are plain `pulumi up --yes`, as users run them.
 *
 * A new write path gets its five cases by adding a row.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorSeed } from "../../emulator";
import type { Deployment } from "../../tools/pulumi-cli";
import { sha256 } from "../rig/bytes";
import type { RequestLogEntry } from "../../tools/emulator-client";
import { REPO_ROOT } from "../../tools/packed-package";
import {
  copyOf,
  failuresOf,
  hexId,
  holds,
  mergeSpecs,
  secretNameMatches,
  SpecStack,
  writesOf,
  type Expected,
  type ExpectedSecret,
  type Live,
  type Problem,
  type Spec,
} from "./spec-stack";
import { must } from "../must";

/** The client's per-attempt timeout, read from the source so the delay always exceeds it. */
function clientTimeoutMs(): number {
  const source = fs.readFileSync(path.join(REPO_ROOT, "provider/api/request.ts"), "utf8");
  const m = /timeoutMs\s*\?\?\s*([\d_]+)/.exec(source) ?? /TIMEOUT_MS\s*=\s*([\d_]+)/.exec(source);
  if (!m)
    throw new Error(
      "provider/api/request.ts: cannot find the per-request timeout (`settings.timeoutMs ?? N`); update clientTimeoutMs() in test/cli/faults.test.ts",
    );
  return Number(must(m[1], "the timeout's digits").replace(/_/g, ""));
}
const TIMEOUT_MS = clientTimeoutMs();
/** Longer than one attempt's timeout: the client gives up on the attempt while the emulator still holds it. */
const DELAY_MS = TIMEOUT_MS + 2_000;

interface Mode {
  name: string;
  rule: { mode: string; times?: number };
}
const MODES: Mode[] = [
  { name: "error-before", rule: { mode: "error-before" } },
  { name: "error-after", rule: { mode: "error-after" } },
  { name: "reset", rule: { mode: "reset" } },
  { name: "429 x3", rule: { mode: "429", times: 3 } },
  { name: `delay ${DELAY_MS / 1000}s`, rule: { mode: `delay:${DELAY_MS}` } },
];

/** Live ids the rows need to aim their faults: store ids by name, secret ids by store and name. */
interface Ctx {
  accountId: string;
  storeId(name: string): string;
  secretId(storeName: string, secretName: string): string;
}

interface Row {
  id: string;
  name: string;
  /** The method of the faulted write. */
  method: "POST" | "PATCH" | "DELETE";
  /** The regex (source) of the faulted write's path in round `r` (1-based). */
  path(ctx: Ctx, r: number): string;
  /** The program's resources of this row in round `r` (0 = before the first round). */
  spec(r: number): Partial<Spec>;
  values(r: number): Record<string, string>;
  /** What the account must hold for this row after round `r`. */
  expected(r: number): Partial<Expected>;
  /** Names of the stores and Workers of this row: problems and writes are attributed by them. */
  stores: string[];
  workers: string[];
  /** Values of an extra `up` before round 0's (a rotation row starts with one rotation done, so each round makes a new copy). */
  setupValues?: Record<string, string>;
  /** Done through the API before round `r`'s deployment (things made outside Pulumi). */
  prepare?(stack: SpecStack, ctx: Ctx, r: number): Promise<void>;
  /**
   * "deletes": the row's write happens when the engine deletes a resource. The engine deletes
   * nothing in a run where an earlier step failed (`--continue-on-error` included), so these rows
   * run in a stack of their own, beside the main one, in every round.
   */
  group?: "deletes";
}

const ROUNDS = MODES.length;
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const S = (row: string) => `row_${row}`;
const SID = (row: string) => hexId(S(row));
const ANY_ID = "[0-9a-f]{32}";
const secretsUnder = (storeId: string) => `/secrets_store/stores/${storeId}/secrets`;
const valueOf = (row: string, what: string, r: number | string) => `fault-matrix ${row} ${what} ${r} value`;

/** One secret in a row's own store. */
function secret(row: string, key: string, name: string, extra: Record<string, unknown> = {}) {
  return { key: `${row}-${key}`, name, storeId: SID(row), scopes: ["workers"], ...extra };
}

/** A secret with a value that may change per round. */
const valued = (row: string, key: string, name: string, valueKey: string, extra: Record<string, unknown> = {}) =>
  secret(row, key, name, { valueKey: `${row}-${valueKey}`, ...extra });

const storeOf = (row: string, secrets: Record<string, ExpectedSecret>): Partial<Expected> => ({ stores: { [S(row)]: secrets } });

const SEEDED_BINDINGS = [
  { type: "plain_text", name: "MODE", text: "prod" },
  { type: "secret_text", name: "LEGACY_TOKEN", text: "legacy-token-kept-by-the-worker" },
];
const seededExpected = {
  MODE: { type: "plain_text", sha: sha256("prod") },
  LEGACY_TOKEN: { type: "secret_text", sha: sha256("legacy-token-kept-by-the-worker") },
};

const ROWS: Row[] = [
  {
    id: "r01",
    name: "store create",
    method: "POST",
    path: () => `/secrets_store/stores$`,
    spec: (r) => ({ stores: range(1, r).map((k) => ({ key: `r01-s${k}`, name: `created_${k}`, forceDestroy: true })) }),
    values: () => ({}),
    expected: (r) => ({ stores: Object.fromEntries(range(1, r).map((k) => [`created_${k}`, {}])) }),
    stores: range(1, ROUNDS).map((k) => `created_${k}`),
    workers: [],
  },
  {
    id: "r02",
    name: "store delete",
    method: "DELETE",
    path: (ctx, r) => `/secrets_store/stores/${ctx.storeId(`doomed_${r}`)}$`,
    spec: (r) => ({ stores: range(r + 1, ROUNDS).map((k) => ({ key: `r02-s${k}`, name: `doomed_${k}` })) }),
    values: () => ({}),
    expected: (r) => ({ stores: Object.fromEntries(range(r + 1, ROUNDS).map((k) => [`doomed_${k}`, {}])) }),
    stores: range(1, ROUNDS).map((k) => `doomed_${k}`),
    workers: [],
    group: "deletes",
  },
  {
    id: "r03",
    name: "secret create",
    method: "POST",
    path: () => `${secretsUnder(SID("r03"))}$`,
    spec: (r) => ({ secrets: range(1, r).map((k) => valued("r03", `c${k}`, `created_${k}`, `c${k}`)) }),
    values: (r) => Object.fromEntries(range(1, r).map((k) => [`r03-c${k}`, valueOf("r03", "created", k)])),
    expected: (r) => storeOf("r03", Object.fromEntries(range(1, r).map((k) => [`created_${k}`, holds(valueOf("r03", "created", k))]))),
    stores: [S("r03")],
    workers: [],
  },
  {
    id: "r04",
    name: "secret value PATCH",
    method: "PATCH",
    path: () => `${secretsUnder(SID("r04"))}/${ANY_ID}$`,
    spec: () => ({ secrets: [valued("r04", "s", "api_key", "v")] }),
    values: (r) => ({ "r04-v": valueOf("r04", "round", r) }),
    expected: (r) => storeOf("r04", { api_key: holds(valueOf("r04", "round", r)) }),
    stores: [S("r04")],
    workers: [],
  },
  {
    id: "r05",
    name: "secret scopes PATCH",
    method: "PATCH",
    path: () => `${secretsUnder(SID("r05"))}/${ANY_ID}$`,
    spec: (r) => ({ secrets: [valued("r05", "s", "api_key", "v", { scopes: r % 2 ? ["access", "workers"] : ["workers"] })] }),
    values: () => ({ "r05-v": valueOf("r05", "fixed", 0) }),
    expected: (r) => storeOf("r05", { api_key: holds(valueOf("r05", "fixed", 0), r % 2 ? ["access", "workers"] : ["workers"]) }),
    stores: [S("r05")],
    workers: [],
  },
  {
    id: "r06",
    name: "secret comment PATCH",
    method: "PATCH",
    path: () => `${secretsUnder(SID("r06"))}/${ANY_ID}$`,
    spec: (r) => ({ secrets: [valued("r06", "s", "api_key", "v", { comment: `comment of round ${r}` })] }),
    values: () => ({ "r06-v": valueOf("r06", "fixed", 0) }),
    expected: (r) => storeOf("r06", { api_key: holds(valueOf("r06", "fixed", 0), ["workers"], `comment of round ${r}`) }),
    stores: [S("r06")],
    workers: [],
  },
  {
    id: "r07",
    name: "secret delete",
    method: "DELETE",
    path: () => `${secretsUnder(SID("r07"))}(/${ANY_ID})?$`,
    spec: (r) => ({ secrets: range(r + 1, ROUNDS).map((k) => valued("r07", `d${k}`, `doomed_${k}`, `d${k}`)) }),
    values: (r) => Object.fromEntries(range(r + 1, ROUNDS).map((k) => [`r07-d${k}`, valueOf("r07", "doomed", k)])),
    expected: (r) => storeOf("r07", Object.fromEntries(range(r + 1, ROUNDS).map((k) => [`doomed_${k}`, holds(valueOf("r07", "doomed", k))]))),
    stores: [S("r07")],
    workers: [],
    group: "deletes",
  },
  ...(
    [
      ["r08", "rotation: delete the older copy", "DELETE", () => `(/${ANY_ID})?$`],
      ["r09", "rotation: duplicate the live value (copy)", "POST", () => `/${ANY_ID}/duplicate$`],
      ["r10", "rotation: write the new value (PATCH)", "PATCH", (ctx: Ctx, row: string) => `/${ctx.secretId(S(row), "rotated")}$`],
    ] as const
  ).map(([id, name, method, suffix]): Row => ({
    id,
    name,
    method,
    path: (ctx) => `${secretsUnder(SID(id))}${suffix(ctx, id)}`,
    spec: () => ({ secrets: [valued(id, "s", "rotated", "v", { keepPrevious: true })] }),
    setupValues: { [`${id}-v`]: valueOf(id, "setup", 0) },
    values: (r) => ({ [`${id}-v`]: valueOf(id, "round", r) }),
    expected: (r) =>
      storeOf(id, {
        rotated: holds(valueOf(id, "round", r)),
        "rotated_previous_v*": holds(r === 0 ? valueOf(id, "setup", 0) : valueOf(id, "round", r - 1), ["workers"], copyOf("rotated")),
      }),
    stores: [S(id)],
    workers: [],
    // The older copy goes when the engine deletes the copy's replaced resource, at the run's end.
    ...(method === "DELETE" ? { group: "deletes" as const } : {}),
  })),
  {
    id: "r11",
    name: "duplicateOf: create a copy",
    method: "POST",
    path: (ctx) => `${secretsUnder(SID("r11"))}/${ctx.secretId(S("r11"), "source")}/duplicate$`,
    spec: (r) => ({
      secrets: [
        valued("r11", "src", "source", "src"),
        ...range(1, r).map((k) => secret("r11", `dup${k}`, `copy_${k}`, { duplicateOfKey: "r11-src", scopes: ["access"] })),
      ],
    }),
    values: () => ({ "r11-src": valueOf("r11", "source", 0) }),
    expected: (r) =>
      storeOf("r11", {
        source: holds(valueOf("r11", "source", 0)),
        ...Object.fromEntries(range(1, r).map((k) => [`copy_${k}`, holds(valueOf("r11", "source", 0), ["access"])])),
      }),
    stores: [S("r11")],
    workers: [],
  },
  ...(
    [
      ["r12", "rename: copy under the new name (duplicate)", "POST", `/${ANY_ID}/duplicate$`],
      ["r13", "rename: delete the old name", "DELETE", `(/${ANY_ID})?$`],
    ] as const
  ).map(([id, name, method, suffix]): Row => ({
    id,
    name,
    method,
    path: () => `${secretsUnder(SID(id))}${suffix}`,
    spec: (r) => ({ secrets: [valued(id, "src", "source", "src"), secret(id, "ren", `renamed_${r}`, { duplicateOfKey: `${id}-src` })] }),
    values: () => ({ [`${id}-src`]: valueOf(id, "source", 0) }),
    expected: (r) => storeOf(id, { source: holds(valueOf(id, "source", 0)), [`renamed_${r}`]: holds(valueOf(id, "source", 0)) }),
    stores: [S(id)],
    workers: [],
    ...(method === "DELETE" ? { group: "deletes" as const } : {}),
  })),
  ...(
    [
      // Two secrets in two stores toggle keepPrevious in opposite rounds, so that every round one
      // of them turns it on (r14: the copy is made) or off (r15: the copy is deleted).
      ["r14", "keepPrevious turned on: copy made (duplicate)", "POST", `/${ANY_ID}/duplicate$`],
      ["r15", "keepPrevious turned off: copy deleted", "DELETE", `(/${ANY_ID})?$`],
    ] as const
  ).map(([id, name, method, suffix]): Row => {
    const onIn = (half: "a" | "b", r: number) => (half === "a") === (r % 2 === 1);
    const halves = ["a", "b"] as const;
    return {
      id,
      name,
      method,
      // The faulted store: half "a" changes the way this row tests in odd rounds, "b" in even ones.
      path: (_ctx, r) => `${secretsUnder(SID(`${id}${r % 2 === 1 ? "a" : "b"}`))}${suffix}`,
      spec: (r) => ({
        secrets: halves.map((h) => ({
          key: `${id}-${h}`,
          name: "toggled",
          storeId: SID(`${id}${h}`),
          valueKey: `${id}-${h}`,
          scopes: ["workers"],
          // r14 turns "a" on in odd rounds; r15 turns "a" off in odd rounds.
          keepPrevious: id === "r14" ? onIn(h, r) : !onIn(h, r),
        })),
      }),
      values: () => Object.fromEntries(halves.map((h) => [`${id}-${h}`, valueOf(id, h, 0)])),
      expected: (r) => ({
        stores: Object.fromEntries(
          halves.map((h) => {
            const on = id === "r14" ? onIn(h, r) : !onIn(h, r);
            const v = valueOf(id, h, 0);
            return [S(`${id}${h}`), { toggled: holds(v), ...(on ? { "toggled_previous_v*": holds(v, ["workers"], copyOf("toggled")) } : {}) }];
          }),
        ),
      }),
      stores: halves.map((h) => S(`${id}${h}`)),
      workers: [],
      ...(method === "DELETE" ? { group: "deletes" as const } : {}),
    };
  }),
  {
    id: "r16",
    name: "rotation: a scope change patches the copy",
    method: "PATCH",
    path: (ctx) => `${secretsUnder(SID("r16"))}/${ctx.secretId(S("r16"), "scoped_previous_v*")}$`,
    spec: (r) => ({ secrets: [valued("r16", "s", "scoped", "v", { keepPrevious: true, scopes: r % 2 ? ["dex", "workers"] : ["workers"] })] }),
    values: () => ({ "r16-v": valueOf("r16", "fixed", 0) }),
    expected: (r) => {
      const scopes = r % 2 ? ["dex", "workers"] : ["workers"];
      const v = valueOf("r16", "fixed", 0);
      return storeOf("r16", { scoped: holds(v, scopes), "scoped_previous_v*": holds(v, scopes, copyOf("scoped")) });
    },
    stores: [S("r16")],
    workers: [],
  },
  {
    id: "r17",
    name: "adopt: take over an existing secret (PATCH)",
    method: "PATCH",
    path: (ctx, r) => `${secretsUnder(SID("r17"))}/${ctx.secretId(S("r17"), `outside_${r}`)}$`,
    prepare: async (stack, _ctx, r) => {
      await stack.cli.hook(`/client/v4/accounts/${stack.emu.accountId}${secretsUnder(SID("r17"))}`, {
        method: "POST",
        body: [{ name: `outside_${r}`, value: `made outside pulumi ${r}`, scopes: ["dex"] }],
      });
    },
    spec: (r) => ({ secrets: range(1, r).map((k) => valued("r17", `a${k}`, `outside_${k}`, `a${k}`, { adopt: true, comment: "adopted" })) }),
    values: (r) => Object.fromEntries(range(1, r).map((k) => [`r17-a${k}`, valueOf("r17", "adopted", k)])),
    expected: (r) => storeOf("r17", Object.fromEntries(range(1, r).map((k) => [`outside_${k}`, holds(valueOf("r17", "adopted", k), ["workers"], "adopted")]))),
    stores: [S("r17")],
    workers: [],
  },
  {
    id: "r18",
    name: "binding create (settings PATCH)",
    method: "PATCH",
    path: () => `/workers/scripts/w-r18/settings$`,
    spec: (r) => ({
      secrets: [valued("r18", "src", "bound", "src")],
      bindings: range(1, r).map((k) => ({ key: `r18-b${k}`, scriptName: "w-r18", bindingName: `BOUND_${k}`, storeId: SID("r18"), secretKey: "r18-src" })),
    }),
    values: () => ({ "r18-src": valueOf("r18", "bound", 0) }),
    expected: (r) => ({
      ...storeOf("r18", { bound: holds(valueOf("r18", "bound", 0)) }),
      workers: {
        "w-r18": {
          ...seededExpected,
          ...Object.fromEntries(
            range(1, r).map((k) => [`BOUND_${k}`, { type: "secrets_store_secret", sha: sha256(valueOf("r18", "bound", 0)), secretName: "bound" }]),
          ),
        },
      },
    }),
    stores: [S("r18")],
    workers: ["w-r18"],
  },
  {
    id: "r19",
    name: "binding update: another secret (settings PATCH)",
    method: "PATCH",
    path: () => `/workers/scripts/w-r19/settings$`,
    spec: (r) => ({
      secrets: [valued("r19", "x", "first", "x"), valued("r19", "y", "second", "y")],
      bindings: [{ key: "r19-b", scriptName: "w-r19", bindingName: "SWAPPED", storeId: SID("r19"), secretKey: r % 2 ? "r19-y" : "r19-x" }],
    }),
    values: () => ({ "r19-x": valueOf("r19", "x", 0), "r19-y": valueOf("r19", "y", 0) }),
    expected: (r) => ({
      ...storeOf("r19", { first: holds(valueOf("r19", "x", 0)), second: holds(valueOf("r19", "y", 0)) }),
      workers: {
        "w-r19": {
          ...seededExpected,
          SWAPPED: { type: "secrets_store_secret", sha: sha256(valueOf("r19", r % 2 ? "y" : "x", 0)), secretName: r % 2 ? "second" : "first" },
        },
      },
    }),
    stores: [S("r19")],
    workers: ["w-r19"],
  },
  {
    id: "r20",
    name: "binding delete (settings PATCH)",
    method: "PATCH",
    path: () => `/workers/scripts/w-r20/settings$`,
    spec: (r) => ({
      secrets: [valued("r20", "src", "bound", "src")],
      bindings: range(r + 1, ROUNDS).map((k) => ({
        key: `r20-b${k}`,
        scriptName: "w-r20",
        bindingName: `BOUND_${k}`,
        storeId: SID("r20"),
        secretKey: "r20-src",
      })),
    }),
    values: () => ({ "r20-src": valueOf("r20", "bound", 0) }),
    expected: (r) => ({
      ...storeOf("r20", { bound: holds(valueOf("r20", "bound", 0)) }),
      workers: {
        "w-r20": {
          ...seededExpected,
          ...Object.fromEntries(
            range(r + 1, ROUNDS).map((k) => [`BOUND_${k}`, { type: "secrets_store_secret", sha: sha256(valueOf("r20", "bound", 0)), secretName: "bound" }]),
          ),
        },
      },
    }),
    stores: [S("r20")],
    workers: ["w-r20"],
    group: "deletes",
  },
];

/** The rows of one stack: the main one, and the one whose writes are engine deletes. */
const GROUPS = (["main", "deletes"] as const).map((group) => {
  const rows = ROWS.filter((row) => (row.group ?? "main") === group);
  /** Stores the rows keep for themselves (seeded with fixed ids, passed to the program as `storeId`). */
  const rowStores = rows.flatMap((row) => row.stores.filter((n) => n.startsWith("row_")));
  const seed: EmulatorSeed = {
    stores: rowStores.map((name) => ({ name, id: hexId(name) })),
    workers: rows.flatMap((row) => row.workers).map((name) => ({ name, bindings: SEEDED_BINDINGS })),
  };
  return {
    name: group,
    rows,
    seed,
    specAt: (r: number) => mergeSpecs(rows.map((row) => row.spec(r))),
    valuesAt: (r: number) => Object.assign({}, ...rows.map((row) => row.values(r))) as Record<string, string>,
    expectedAt(r: number): Expected {
      const out: Expected = { stores: Object.fromEntries(rowStores.map((n) => [n, {}])), workers: {} };
      for (const row of rows) {
        const e = row.expected(r);
        Object.assign(out.stores, e.stores ?? {});
        Object.assign(out.workers, e.workers ?? {});
      }
      return out;
    },
  };
});
type Group = (typeof GROUPS)[number];

function ctxOf(accountId: string, live: Live): Ctx {
  return {
    accountId,
    storeId: (name) => {
      const s = live.stores.find((x) => x.name === name);
      if (!s) throw new Error(`no live store named ${name}`);
      return s.id;
    },
    secretId: (storeName, secretName) => {
      const s = live.stores.find((x) => x.name === storeName)?.secrets.find((x) => secretNameMatches(secretName, x.name));
      if (!s) throw new Error(`no live secret ${secretName} in store ${storeName}`);
      return s.id;
    },
  };
}

/** Whether a request, a resource or a problem belongs to `row`. */
const ownsPath = (row: Row, storeIds: Set<string>, p: RequestLogEntry) =>
  [...storeIds].some((id) => p.path.includes(`/stores/${id}`)) ||
  row.workers.some((w) => p.path.includes(`/scripts/${w}/`)) ||
  (row.id === "r01" && p.method === "POST" && /\/secrets_store\/stores$/.test(p.path));
const ownsResource = (row: Row, name: string) => name.startsWith(`${row.id}-`);
const ownsProblem = (row: Row, p: Problem) =>
  row.stores.includes(p.where) || row.workers.includes(p.where) || (p.where === "state" && p.what.startsWith(`${row.id}-`));
const storeIdsOf = (row: Row, live: Live) => live.stores.filter((s) => row.stores.includes(s.name)).map((s) => s.id);

interface Case {
  row: Row;
  mode: Mode;
  first: string;
  second: string;
  converged: boolean;
  writes: string;
  problems: string[];
}

/**
 * One mode on every row of one stack: faults on, `up` (skip-preview, continue-on-error), faults
 * off, at most one plain `up`, the checks through the emulator, and a plain `up` that must not
 * write. Returns the cases and every way they fell short.
 */
async function runRound(stack: SpecStack, group: Group, mode: Mode, r: number): Promise<{ cases: Case[]; failures: string[] }> {
  const liveBefore = await stack.live();
  for (const row of group.rows) await row.prepare?.(stack, ctxOf(stack.emu.accountId, liveBefore), r);
  const ctx = ctxOf(stack.emu.accountId, await stack.live());
  await stack.apply(group.specAt(r), group.valuesAt(r));
  const rules = group.rows.map((row) => ({ method: row.method, path: row.path(ctx, r), ...mode.rule }));
  await stack.cli.hook("/__emulator/faults", { method: "POST", body: rules });

  const first = await stack.cli.requestsDuring(() => stack.cli.up("--skip-preview", "--continue-on-error", "--parallel", "64"));
  // A delayed request is still held by the emulator after the client gave up on it: let it land.
  if (mode.rule.mode.startsWith("delay")) await new Promise((res) => setTimeout(res, DELAY_MS - TIMEOUT_MS + 1_500));
  const unused = await stack.cli.hook<Array<{ method?: string; path: string }>>("/__emulator/faults");
  await stack.cli.hook("/__emulator/faults", { method: "DELETE" });

  const second = first.result.ok ? undefined : await stack.cli.requestsDuring(() => stack.cli.up());
  const problems = await stack.verify(group.expectedAt(r));
  const third = await stack.cli.requestsDuring(() => stack.cli.up());
  const liveAfter = await stack.live();

  const cases: Case[] = [];
  const failures: string[] = [];
  for (const row of group.rows) {
    const storeIds = new Set([...storeIdsOf(row, liveBefore), ...storeIdsOf(row, liveAfter)]);
    const count = (d?: { requests: RequestLogEntry[] }) => (d ? String(writesOf(d.requests).filter((w) => ownsPath(row, storeIds, w)).length) : "-");
    const rowFailures = failuresOf(first.result).filter((f) => ownsResource(row, f.name));
    const failedSteps = first.result.steps.filter((s) => s.failed && ownsResource(row, s.name));
    const rowProblems = problems.filter((p) => ownsProblem(row, p)).map((p) => `${p.where}: ${p.what}`);
    const secondFailures = second ? failuresOf(second.result).filter((f) => ownsResource(row, f.name)) : [];
    const thirdWrites = writesOf(third.requests).filter((w) => ownsPath(row, storeIds, w));
    const notHit = unused.some((u) => u.path === row.path(ctx, r) && u.method === row.method);
    const c: Case = {
      row,
      mode,
      first: rowFailures.length || failedSteps.length ? `failed: ${short(rowFailures[0]?.message ?? "step failed without a message")}` : "ok",
      second: second ? (secondFailures.length ? `failed: ${short(must(secondFailures[0], "a second-run failure").message)}` : "ok") : "-",
      converged: rowProblems.length === 0 && secondFailures.length === 0 && thirdWrites.length === 0 && !notHit,
      writes: `${count(first)}/${count(second)}/${count(third)}`,
      problems: [
        ...rowProblems,
        ...secondFailures.map((f) => `second up failed: ${short(f.message)}`),
        ...thirdWrites.map((w) => `the further up wrote ${w.method} ${w.path}`),
        ...(notHit ? ["the fault was never hit (the write did not happen in the faulted run)"] : []),
      ],
    };
    cases.push(c);
    const label = `${row.id} ${row.name} × ${mode.name}`;
    // A failure names the resource (the diagnostic's URN) and the failed call (method and path).
    const call = new RegExp(`${row.method} (/client/v4)?/accounts/${stack.emu.accountId}/`);
    for (const f of rowFailures) if (!call.test(f.message)) failures.push(`${label}: the error does not name the failed call: ${f.message}`);
    if (failedSteps.length && !rowFailures.length) failures.push(`${label}: a step failed without a diagnostic on its resource`);
    if (!c.converged) failures.push(`${label}: did not converge within one further up: ${c.problems.join("; ")}`);
  }
  // Nothing failed that no row owns (an error without a resource, or on a resource of no row).
  const stray = [...failuresOf(first.result), ...(second ? failuresOf(second.result) : [])].filter(
    (f) => f.name && !group.rows.some((row) => ownsResource(row, f.name)) && !f.name.startsWith("secrets-store-spec-"),
  );
  for (const f of stray) failures.push(`${group.name}: unexpected failure on ${f.name}: ${f.message}`);
  if (second && !second.result.ok && !cases.some((c) => !c.converged)) failures.push(`${group.name}: the second up failed: ${errorsOf(second.result)}`);
  return { cases, failures };
}

describe("fault matrix: every write × every fault, through the real pulumi CLI", () => {
  const stacks = new Map<Group, SpecStack>();
  const cases: Case[] = [];

  beforeAll(async () => {
    await Promise.all(
      GROUPS.map(async (group) => {
        const stack = await SpecStack.start(group.seed);
        stacks.set(group, stack);
        const setupValues = Object.assign({}, ...group.rows.map((row) => row.setupValues ?? {})) as Record<string, string>;
        if (Object.keys(setupValues).length) {
          await stack.apply(group.specAt(0), { ...group.valuesAt(0), ...setupValues });
          const before = await stack.cli.up();
          expect(before.ok, before.stdout + before.stderr).toBe(true);
        }
        await stack.apply(group.specAt(0), group.valuesAt(0));
        const setup = await stack.cli.up();
        expect(setup.ok, setup.stdout + setup.stderr).toBe(true);
        expect(await stack.verify(group.expectedAt(0))).toEqual([]);
      }),
    );
  }, 300_000);

  afterAll(async () => {
    const line = (c: string[]) => `| ${c.join(" | ")} |`;
    const order = (c: Case) => ROWS.indexOf(c.row) * MODES.length + MODES.indexOf(c.mode);
    const table = [
      line(["case", "first up", "second up", "converged", "writes (1st/2nd/3rd up)"]),
      line(["---", "---", "---", "---", "---"]),
      ...[...cases]
        .sort((a, b) => order(a) - order(b))
        .map((c) => line([`${c.row.id} ${c.row.name} × ${c.mode.name}`, c.first, c.second, c.converged ? "yes" : `NO: ${c.problems.join("; ")}`, c.writes])),
    ].join("\n");
    const converged = cases.filter((c) => c.converged).length;
    console.log(
      `\nFault matrix (${ROWS.length} writes × ${MODES.length} faults; client timeout ${TIMEOUT_MS} ms, delay ${DELAY_MS} ms): ${converged}/${cases.length} cases converged within one further up\n${table}\n`,
    );
    await Promise.all([...stacks.values()].map((s) => s.close()));
  });

  MODES.forEach((mode, index) => {
    it(`${mode.name} on every write`, async () => {
      const results = await Promise.all(GROUPS.map((group) => runRound(must(stacks.get(group), `the stack of ${group}`), group, mode, index + 1)));
      for (const res of results) cases.push(...res.cases);
      expect(results.flatMap((res) => res.failures)).toEqual([]);
    }, 600_000);
  });
});

const short = (message: string) => message.replace(/\s+/g, " ").slice(0, 140);
const errorsOf = (d: Deployment) =>
  failuresOf(d)
    .map((f) => `${f.name}: ${f.message}`)
    .join("\n");
