/**
 * Concurrent clients: 50 writers at once, several of them on one Worker, lose no write. Every
 * write that got a 2xx is in the final state, in memory and after a restart from the data
 * directory.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { harness, settingsForm, sha256, uploadForm, type Harness } from "./helpers";
import { must } from "../must";

const tmpDirs: string[] = [];
const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const CLIENTS = ["client-a", "client-b", "client-c", "client-d", "client-e"];
const options = (dataDir: string) => ({ dataDir, quota: 1000, tokens: CLIENTS.map((token) => ({ token, permission: "edit" as const })) });

async function start(dataDir: string): Promise<Harness> {
  const h = await harness(options(dataDir));
  open.push(h);
  return h;
}

/** One settings field per writer, and the value it must end with. */
const SETTINGS_WRITES: Array<[string, unknown]> = [
  ["tags", ["from-writer"]],
  ["logpush", true],
  ["compatibility_date", "2026-01-02"],
  ["compatibility_flags", ["nodejs_compat"]],
  ["usage_model", "unbound"],
  ["limits", { cpu_ms: 50 }],
  ["placement", { mode: "smart" }],
  ["observability", { enabled: true }],
  ["tail_consumers", [{ service: "tail-worker" }]],
];

interface Write {
  kind: string;
  ok: boolean;
  check(h: Harness, store: string): Promise<void>;
}

describe("concurrent clients", () => {
  it("50 parallel writers (secret creates and patches, settings PATCHes and secret PUTs on one Worker) lose no write", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cf-emu-concurrency-"));
    tmpDirs.push(dir);
    let h = await start(dir);
    const store = await h.store();
    const existing = await h.secrets(
      store,
      Array.from({ length: 10 }, (_, i) => ({ name: `P_${i}`, value: `original-${i}` })),
    );
    expect(
      (
        await h.api("PUT", "/workers/scripts/w", {
          rawBody: uploadForm({ main_module: "index.js", bindings: [{ type: "plain_text", name: "KEEP", text: "k" }] }),
        })
      ).status,
    ).toBe(200);

    const client = (i: number) => must(CLIENTS[i % CLIENTS.length], `client ${i % CLIENTS.length}`);
    const secretsPath = `/secrets_store/stores/${store}/secrets`;
    const writes: Array<() => Promise<Write>> = [
      ...Array.from({ length: 25 }, (_, i) => async (): Promise<Write> => {
        const r = await h.api("POST", secretsPath, { token: client(i), body: [{ name: `C_${i}`, value: `created-${i}`, scopes: ["workers"] }] });
        return {
          kind: `create C_${i}`,
          ok: r.status === 200,
          check: async (hh) => {
            const found = (await hh.api("GET", `${secretsPath}?search=C_${i}&per_page=100`)).body.result.filter((s: { name: string }) => s.name === `C_${i}`);
            expect(found, `C_${i}`).toHaveLength(1);
            expect((await hh.hook("GET", `/secrets/${found[0].id}/sha256`)).body.sha256).toBe(sha256(`created-${i}`));
          },
        };
      }),
      ...existing.map((s, i) => async (): Promise<Write> => {
        const r = await h.api("PATCH", `${secretsPath}/${s.id}`, { token: client(i), body: { value: `patched-${i}`, comment: `patched by ${client(i)}` } });
        return {
          kind: `patch P_${i}`,
          ok: r.status === 200,
          check: async (hh) => {
            expect((await hh.api("GET", `${secretsPath}/${s.id}`)).body.result.comment).toBe(`patched by ${client(i)}`);
            expect((await hh.hook("GET", `/secrets/${s.id}/sha256`)).body.sha256).toBe(sha256(`patched-${i}`));
          },
        };
      }),
      ...SETTINGS_WRITES.map(([field, value], i) => async (): Promise<Write> => {
        const r = await h.api("PATCH", "/workers/scripts/w/settings", { token: client(i), rawBody: settingsForm({ [field]: value }) });
        return {
          kind: `settings ${field}`,
          ok: r.status === 200,
          check: async (hh) => expect((await hh.api("GET", "/workers/scripts/w/settings")).body.result[field], field).toEqual(value),
        };
      }),
      ...Array.from({ length: 6 }, (_, i) => async (): Promise<Write> => {
        const r = await h.api("PUT", "/workers/scripts/w/secrets", {
          token: client(i),
          body: { name: `W_${i}`, text: `worker-secret-${i}`, type: "secret_text" },
        });
        return {
          kind: `secret put W_${i}`,
          ok: r.status === 200,
          check: async (hh) => {
            const hash = await hh.hook("GET", `/accounts/${hh.emu.accountId}/workers/scripts/w/bindings/W_${i}/sha256`);
            expect(hash.body.sha256, `W_${i}`).toBe(sha256(`worker-secret-${i}`));
          },
        };
      }),
    ];
    expect(writes).toHaveLength(50);

    const results = await Promise.all(writes.map((w) => w()));
    const acknowledged = results.filter((r) => r.ok);
    console.log(`concurrent writers: ${results.length} in parallel, ${acknowledged.length} answered 2xx`);
    expect(acknowledged.map((r) => r.kind)).toEqual(results.map((r) => r.kind));
    for (const w of acknowledged) await w.check(h, store);
    const bindings = (await h.api("GET", "/workers/scripts/w/settings")).body.result.bindings.map((b: { name: string }) => b.name).sort();
    expect(bindings).toEqual(["KEEP", ...Array.from({ length: 6 }, (_, i) => `W_${i}`)].sort());

    await h.close();
    h = await start(dir);
    for (const w of acknowledged) await w.check(h, store);
  });

  it("50 clients adding a secret to one Worker at once: all 50 bindings are there", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cf-emu-concurrency-"));
    tmpDirs.push(dir);
    const h = await start(dir);
    await h.api("PUT", "/workers/scripts/w", { rawBody: uploadForm({ main_module: "index.js" }) });
    const statuses = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const body = { secrets: { [`BULK_${i}`]: { name: `BULK_${i}`, text: `v${i}`, type: "secret_text" } } };
        const r =
          i % 2 === 0
            ? await h.api("PATCH", "/workers/scripts/w/secrets-bulk", {
                token: CLIENTS[i % 5],
                body,
                headers: { "content-type": "application/merge-patch+json" },
              })
            : await h.api("PUT", "/workers/scripts/w/secrets", { token: CLIENTS[i % 5], body: body.secrets[`BULK_${i}`] });
        return r.status;
      }),
    );
    expect(statuses).toEqual(Array(50).fill(200));
    const names = (await h.api("GET", "/workers/scripts/w/secrets")).body.result.map((s: { name: string }) => s.name);
    expect(names.sort()).toEqual(Array.from({ length: 50 }, (_, i) => `BULK_${i}`).sort());
  });
});
