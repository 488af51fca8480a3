import { afterEach, describe, expect, it } from "vitest";
import { codes, harness, messages, sha256, type Harness } from "./helpers";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const HEX32 = /^[0-9a-f]{32}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

describe("stores", () => {
  it("creates a store from an object and answers with an object", async () => {
    h = await harness();
    const r = await h.api("POST", "/secrets_store/stores", { body: { name: "main" } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ success: true, errors: [], messages: [] });
    const store = r.body.result;
    expect(store).toEqual({
      id: expect.stringMatching(HEX32),
      name: "main",
      created: expect.stringMatching(TIMESTAMP),
      modified: store.created,
      account_id: h.emu.accountId,
    });
    const got = await h.api("GET", `/secrets_store/stores/${store.id}`);
    expect(got.status).toBe(200);
    expect(got.body.result).toEqual(store);
  });

  it("creates stores from an array (as SDK 5.x sends) and answers with an array", async () => {
    h = await harness({ maxStores: 2 });
    const r = await h.api("POST", "/secrets_store/stores", { body: [{ name: "a" }, { name: "b" }] });
    expect(r.status).toBe(200);
    expect(r.body.result.map((s: { name: string }) => s.name)).toEqual(["a", "b"]);
  });

  it("allows one store per account by default: the second gets 400 maximum_stores_exceeded (1003)", async () => {
    h = await harness();
    await h.store("first");
    const r = await h.api("POST", "/secrets_store/stores", { body: { name: "second" } });
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual([1003]);
    expect(messages(r)).toMatch(/^maximum_stores_exceeded/);
    const list = await h.api("GET", "/secrets_store/stores");
    expect(list.body.result.map((s: { name: string }) => s.name)).toEqual(["first"]);
  });

  it("creates nothing when an array of stores would pass the limit or repeats a name", async () => {
    h = await harness({ maxStores: 2 });
    expect((await h.api("POST", "/secrets_store/stores", { body: [{ name: "a" }, { name: "b" }, { name: "c" }] })).status).toBe(400);
    const dup = await h.api("POST", "/secrets_store/stores", { body: [{ name: "a" }, { name: "a" }] });
    expect(dup.status).toBe(409);
    expect(messages(dup)).toMatch(/store_name_already_exists: a/);
    expect((await h.api("GET", "/secrets_store/stores")).body.result).toEqual([]);
  });

  it("rejects bad store bodies", async () => {
    h = await harness();
    for (const body of [{ name: "" }, { title: "x" }, { name: 5 }, [], "main"]) {
      const r = await h.api("POST", "/secrets_store/stores", { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(codes(r)[0]).toBe(1001);
    }
    const none = await h.api("POST", "/secrets_store/stores");
    expect(none.status).toBe(400);
    expect(messages(none)).toMatch(/JSON request body is required/);
  });

  it("answers 404 store_not_found for an unknown store on every store route", async () => {
    h = await harness();
    const id = "f".repeat(32);
    for (const [method, path] of [
      ["GET", `/secrets_store/stores/${id}`],
      ["DELETE", `/secrets_store/stores/${id}`],
      ["GET", `/secrets_store/stores/${id}/secrets`],
      ["POST", `/secrets_store/stores/${id}/secrets`],
      ["DELETE", `/secrets_store/stores/${id}/secrets`],
      ["GET", `/secrets_store/stores/${id}/secrets/${id}`],
    ] as const) {
      const r = await h.api(method, path, method === "POST" ? { body: [{ name: "A", value: "v", scopes: ["workers"] }] } : {});
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(codes(r)).toEqual([1001]);
      expect(messages(r)).toMatch(/^store_not_found/);
    }
  });

  it("lists stores with paging, order and direction", async () => {
    h = await harness({ maxStores: 5 });
    for (const name of ["charlie", "alpha", "bravo"]) await h.store(name);
    const names = (r: { body: { result: Array<{ name: string }> } }) => r.body.result.map((s) => s.name);

    const all = await h.api("GET", "/secrets_store/stores");
    expect(names(all)).toEqual(["charlie", "alpha", "bravo"]);
    expect(all.body.result_info).toEqual({ page: 1, per_page: 20, count: 3, total_count: 3, total_pages: 1 });
    expect(names(await h.api("GET", "/secrets_store/stores?order=name&direction=asc"))).toEqual(["alpha", "bravo", "charlie"]);
    expect(names(await h.api("GET", "/secrets_store/stores?direction=desc&order=name"))).toEqual(["charlie", "bravo", "alpha"]);
    expect(names(await h.api("GET", "/secrets_store/stores?order=created&direction=desc"))).toEqual(["bravo", "alpha", "charlie"]);

    const page2 = await h.api("GET", "/secrets_store/stores?per_page=1&page=2&order=name");
    expect(names(page2)).toEqual(["bravo"]);
    expect(page2.body.result_info).toEqual({ page: 2, per_page: 1, count: 1, total_count: 3, total_pages: 3 });
    const past = await h.api("GET", "/secrets_store/stores?page=4&per_page=1");
    expect(past.status).toBe(200);
    expect(past.body.result).toEqual([]);
    expect(past.body.result_info).toMatchObject({ page: 4, count: 0, total_count: 3 });
  });

  it("rejects bad list parameters with 400", async () => {
    h = await harness();
    for (const q of ["page=0", "page=abc", "per_page=0", "per_page=101", "order=status", "direction=up"]) {
      const r = await h.api("GET", `/secrets_store/stores?${q}`);
      expect(r.status, q).toBe(400);
      expect(codes(r)).toEqual([1001]);
    }
  });

  it("deletes an empty store; a non-empty one only with ?force=true, which deletes its secrets", async () => {
    h = await harness();
    const empty = await h.store("empty");
    const del = await h.api("DELETE", `/secrets_store/stores/${empty}`);
    expect(del.status).toBe(200);
    expect(del.body).toEqual({ success: true, errors: [], messages: [], result: null });
    expect((await h.api("GET", `/secrets_store/stores/${empty}`)).status).toBe(404);

    const full = await h.store("full");
    await h.secrets(full, [
      { name: "A", value: "1" },
      { name: "B", value: "2" },
    ]);
    const refused = await h.api("DELETE", `/secrets_store/stores/${full}`);
    expect(refused.status).toBe(409);
    expect(codes(refused)).toEqual([1003]);
    expect(messages(refused)).toMatch(/^store_not_empty/);
    expect((await h.api("DELETE", `/secrets_store/stores/${full}?force=false`)).status).toBe(409);
    expect((await h.api("DELETE", `/secrets_store/stores/${full}?force=yes`)).status).toBe(400);
    expect((await h.api("GET", `/secrets_store/stores/${full}`)).status).toBe(200);

    expect((await h.api("DELETE", `/secrets_store/stores/${full}?force=true`)).status).toBe(200);
    expect((await h.api("GET", `/secrets_store/stores/${full}`)).status).toBe(404);
    expect((await h.api("GET", "/secrets_store/quota")).body.result).toEqual({ secrets: { quota: 100, usage: 0 } });
  });
});

describe("secrets", () => {
  it("creates an array of secrets and answers with an array; the value never comes back", async () => {
    h = await harness();
    const store = await h.store();
    const r = await h.api("POST", `/secrets_store/stores/${store}/secrets`, {
      body: [
        { name: "API_KEY", value: "value-one-XYZ", scopes: ["workers", "ai_gateway"], comment: "first" },
        { name: "other-key_2", value: "value-two-XYZ", scopes: ["workers", "dex", "workers"] },
      ],
    });
    expect(r.status).toBe(200);
    const [a, b] = r.body.result;
    expect(a).toEqual({
      id: expect.stringMatching(HEX32),
      name: "API_KEY",
      store_id: store,
      status: "pending",
      scopes: ["ai_gateway", "workers"],
      comment: "first",
      created: expect.stringMatching(TIMESTAMP),
      modified: a.created,
    });
    expect(b).toMatchObject({ name: "other-key_2", scopes: ["dex", "workers"], comment: "" });
    expect(a.id).not.toBe(b.id);
    const get = await h.api("GET", `/secrets_store/stores/${store}/secrets/${a.id}`);
    const list = await h.api("GET", `/secrets_store/stores/${store}/secrets`);
    for (const reply of [r, get, list]) expect(JSON.stringify(reply.body)).not.toContain("-XYZ");
    expect((await h.hook("GET", `/secrets/${a.id}/sha256`)).body).toEqual({ sha256: sha256("value-one-XYZ") });
  });

  it("is pending in every answer during its window (reads change nothing), then active", async () => {
    h = await harness({ pendingMs: 300 });
    const store = await h.store();
    const [s] = await h.secrets(store, [{ name: "A", value: "v" }]);
    expect(s.status).toBe("pending");
    for (let i = 0; i < 3; i++) expect((await h.api("GET", `/secrets_store/stores/${store}/secrets/${s.id}`)).body.result.status).toBe("pending");
    const list = await h.api("GET", `/secrets_store/stores/${store}/secrets`);
    expect(list.body.result.map((x: { status: string }) => x.status)).toEqual(["pending"]);
    const waited = await h.waitActive(store);
    expect(waited).toBeGreaterThanOrEqual(200);
    expect((await h.api("GET", `/secrets_store/stores/${store}/secrets/${s.id}`)).body.result.status).toBe("active");
  });

  it("with pendingMs 0 is active right after the answer that created it, which still says pending", async () => {
    // The window off is what this test is about.
    h = await harness({ pendingMs: 0 });
    const store = await h.store();
    const [s] = await h.secrets(store, [{ name: "A", value: "v" }]);
    expect(s.status).toBe("pending");
    expect((await h.api("GET", `/secrets_store/stores/${store}/secrets/${s.id}`)).body.result.status).toBe("active");
  });

  it("accepts values up to 65,536 bytes of UTF-8 and rejects longer ones (secret_value_too_long, 1001)", async () => {
    h = await harness();
    const store = await h.store();
    const atLimit = "é".repeat(32_768); // 65,536 bytes
    expect((await h.api("POST", `/secrets_store/stores/${store}/secrets`, { body: [{ name: "BIG", value: atLimit, scopes: ["workers"] }] })).status).toBe(200);
    const r = await h.api("POST", `/secrets_store/stores/${store}/secrets`, { body: [{ name: "TOO_BIG", value: `${atLimit}x`, scopes: ["workers"] }] });
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual([1001]);
    expect(messages(r)).toMatch(/^secret_value_too_long: the value is 65537 bytes/);
  });

  it("validates every item and creates nothing when any item is bad", async () => {
    h = await harness();
    const store = await h.store();
    const cases: Array<[unknown, RegExp]> = [
      [
        [
          { name: "GOOD", value: "v", scopes: ["workers"] },
          { name: "has space", value: "v", scopes: ["workers"] },
        ],
        /invalid_secret_name/,
      ],
      [[{ name: "A.B", value: "v", scopes: ["workers"] }], /invalid_secret_name/],
      [[{ name: "A", value: "v", scopes: ["ai-gateway"] }], /"ai-gateway" is not a scope.*did you mean "ai_gateway"/],
      [[{ name: "A", value: "v", scopes: [] }], /at least one scope/],
      [[{ name: "A", value: "", scopes: ["workers"] }], /must not be empty/],
      [[{ name: "A", scopes: ["workers"] }], /at 0\.value/],
      [[{ name: "A", value: "v", scopes: ["workers"], extra: 1 }], /Unrecognized key/],
      [{ name: "A", value: "v", scopes: ["workers"] }, /JSON array/],
      [[], /JSON array/],
    ];
    for (const [body, message] of cases) {
      const r = await h.api("POST", `/secrets_store/stores/${store}/secrets`, { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(codes(r)[0]).toBe(1001);
      expect(messages(r)).toMatch(message);
    }
    const twoBad = await h.api("POST", `/secrets_store/stores/${store}/secrets`, {
      body: [
        { name: "x y", value: "v", scopes: ["workers"] },
        { name: "OK", value: "", scopes: ["nope"] },
      ],
    });
    expect(twoBad.body.errors.map((e: { source?: { pointer: string } }) => e.source?.pointer)).toEqual(["/0/name", "/1/value", "/1/scopes"]);
    expect((await h.api("GET", "/secrets_store/quota")).body.result.secrets.usage).toBe(0);
  });

  it("refuses a name already in the store, or twice in one request: 409 secret_name_already_exists (1003)", async () => {
    h = await harness();
    const store = await h.store();
    await h.secrets(store, [{ name: "TAKEN", value: "v" }]);
    const r = await h.api("POST", `/secrets_store/stores/${store}/secrets`, {
      body: [
        { name: "NEW", value: "v", scopes: ["workers"] },
        { name: "TAKEN", value: "v", scopes: ["workers"] },
      ],
    });
    expect(r.status).toBe(409);
    expect(codes(r)).toEqual([1003]);
    expect(messages(r)).toBe("secret_name_already_exists: TAKEN");
    const twice = await h.api("POST", `/secrets_store/stores/${store}/secrets`, {
      body: [
        { name: "SAME", value: "v", scopes: ["workers"] },
        { name: "SAME", value: "w", scopes: ["workers"] },
      ],
    });
    expect(twice.status).toBe(409);
    expect((await h.api("GET", "/secrets_store/quota")).body.result.secrets.usage).toBe(1);
  });

  it("answers 404 secret_not_found for an unknown id, or an id from another store", async () => {
    h = await harness({ maxStores: 2 });
    const one = await h.store("one");
    const two = await h.store("two");
    const [s] = await h.secrets(one, [{ name: "A", value: "v" }]);
    for (const [method, path] of [
      ["GET", `/secrets_store/stores/${two}/secrets/${s.id}`],
      ["PATCH", `/secrets_store/stores/${two}/secrets/${s.id}`],
      ["DELETE", `/secrets_store/stores/${two}/secrets/${s.id}`],
      ["POST", `/secrets_store/stores/${two}/secrets/${s.id}/duplicate`],
      ["GET", `/secrets_store/stores/${one}/secrets/${"0".repeat(32)}`],
    ] as const) {
      const r = await h.api(method, path, method === "GET" || method === "DELETE" ? {} : { body: { name: "B", scopes: ["workers"] } });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(codes(r)).toEqual([1001]);
      expect(messages(r)).toMatch(/^secret_not_found/);
    }
    expect((await h.api("GET", `/secrets_store/stores/${one}/secrets/${s.id}`)).status).toBe(200);
  });

  it("patches any of value, scopes and comment", async () => {
    // The window off (pendingMs 0): this test checks the fields, and reads the status right after a value change.
    h = await harness({ pendingMs: 0 });
    const store = await h.store();
    const [s] = await h.secrets(store, [{ name: "A", value: "old", scopes: ["workers"], comment: "c1" }]);
    const path = `/secrets_store/stores/${store}/secrets/${s.id}`;
    await new Promise((r) => setTimeout(r, 5));

    const scopes = await h.api("PATCH", path, { body: { scopes: ["workers", "access"] } });
    expect(scopes.status).toBe(200);
    expect(scopes.body.result).toMatchObject({ name: "A", scopes: ["access", "workers"], comment: "c1", created: s.created });
    expect(scopes.body.result.modified > s.modified).toBe(true);

    expect((await h.api("PATCH", path, { body: { comment: "" } })).body.result.comment).toBe("");

    await h.api("GET", path);
    const value = await h.api("PATCH", path, { body: { value: "new value" } });
    expect(value.body.result.status).toBe("pending");
    expect(JSON.stringify(value.body)).not.toContain("new value");
    expect((await h.hook("GET", `/secrets/${s.id}/sha256`)).body.sha256).toBe(sha256("new value"));
    expect((await h.api("GET", path)).body.result.status).toBe("active");

    const before = (await h.api("GET", path)).body.result;
    const empty = await h.api("PATCH", path, { body: {} });
    expect(empty.status).toBe(200);
    expect(empty.body.result).toEqual(before);
  });

  it("rejects bad patches and changes nothing", async () => {
    h = await harness();
    const store = await h.store();
    const [s] = await h.secrets(store, [{ name: "A", value: "keep", scopes: ["workers"] }]);
    const path = `/secrets_store/stores/${store}/secrets/${s.id}`;
    const cases: Array<[unknown, RegExp]> = [
      [{ name: "B" }, /cannot be renamed/],
      [{ scopes: [] }, /at least one scope/],
      [{ scopes: ["bogus"] }, /"bogus" is not a scope/],
      [{ value: "x".repeat(65_537) }, /secret_value_too_long/],
      [{ value: 5 }, /at value/],
      [{ colour: "red" }, /Unrecognized key/],
      [[], /expected an object/i],
    ];
    for (const [body, message] of cases) {
      const r = await h.api("PATCH", path, { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(messages(r)).toMatch(message);
    }
    expect((await h.hook("GET", `/secrets/${s.id}/sha256`)).body.sha256).toBe(sha256("keep"));
    expect((await h.api("GET", path)).body.result).toMatchObject({ name: "A", scopes: ["workers"], modified: s.modified });
  });

  it("deletes one secret (202, result null)", async () => {
    h = await harness();
    const store = await h.store();
    const [s] = await h.secrets(store, [{ name: "A", value: "v" }]);
    const r = await h.api("DELETE", `/secrets_store/stores/${store}/secrets/${s.id}`);
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ success: true, errors: [], messages: [], result: null });
    expect((await h.api("GET", `/secrets_store/stores/${store}/secrets/${s.id}`)).status).toBe(404);
    expect((await h.hook("GET", `/secrets/${s.id}/sha256`)).status).toBe(404);
  });

  it("bulk-deletes by {ids} or a bare array of ids, all or nothing", async () => {
    h = await harness();
    const store = await h.store();
    const [a, b, c, d] = await h.secrets(
      store,
      ["A", "B", "C", "D"].map((name) => ({ name, value: name })),
    );
    const path = `/secrets_store/stores/${store}/secrets`;

    const unknown = await h.api("DELETE", path, { body: { ids: [a.id, "0".repeat(32)] } });
    expect(unknown.status).toBe(404);
    expect(messages(unknown)).toMatch(/secret_not_found.*nothing was deleted/);
    expect((await h.api("GET", "/secrets_store/quota")).body.result.secrets.usage).toBe(4);

    expect((await h.api("DELETE", path, { body: { ids: [a.id, b.id, a.id] } })).status).toBe(202);
    expect((await h.api("DELETE", path, { body: [c.id] })).status).toBe(202);
    const left = await h.api("GET", path);
    expect(left.body.result.map((s: { id: string }) => s.id)).toEqual([d.id]);
  });

  it("rejects a bulk delete without ids (the SDK's typed call sends no body)", async () => {
    h = await harness();
    const store = await h.store();
    await h.secrets(store, [{ name: "A", value: "v" }]);
    const path = `/secrets_store/stores/${store}/secrets`;
    for (const options of [{}, { headers: { "content-type": "application/json" } }, { body: { ids: [] } }, { body: { secret_ids: ["x"] } }, { body: [] }]) {
      const r = await h.api("DELETE", path, options);
      expect(r.status, JSON.stringify(options)).toBe(400);
      expect(messages(r)).toMatch(/ids/);
    }
    expect((await h.api("GET", "/secrets_store/quota")).body.result.secrets.usage).toBe(1);
  });

  it("duplicates a secret: same value, new name, scopes and comment; the value is not returned", async () => {
    h = await harness();
    const store = await h.store();
    const [s] = await h.secrets(store, [{ name: "ORIG", value: "dup-me-VALUE", scopes: ["workers"], comment: "orig" }]);
    const r = await h.api("POST", `/secrets_store/stores/${store}/secrets/${s.id}/duplicate`, {
      body: { name: "COPY", scopes: ["ai_gateway", "workers"], comment: "" },
    });
    expect(r.status).toBe(200);
    const copy = r.body.result;
    expect(copy).toMatchObject({ name: "COPY", store_id: store, scopes: ["ai_gateway", "workers"], comment: "", status: "pending" });
    expect(copy.id).toMatch(HEX32);
    expect(copy.id).not.toBe(s.id);
    expect(JSON.stringify(r.body)).not.toContain("dup-me-VALUE");
    expect((await h.hook("GET", `/secrets/${copy.id}/sha256`)).body.sha256).toBe(sha256("dup-me-VALUE"));
    expect((await h.api("GET", `/secrets_store/stores/${store}/secrets/${s.id}`)).body.result).toMatchObject({ name: "ORIG", comment: "orig" });
    expect((await h.api("GET", "/secrets_store/quota")).body.result.secrets.usage).toBe(2);
  });

  it("applies the name, scope and quota rules to duplicates", async () => {
    h = await harness({ quota: 2 });
    const store = await h.store();
    const [s] = await h.secrets(store, [{ name: "ORIG", value: "v" }]);
    const dup = (body: unknown) => h.api("POST", `/secrets_store/stores/${store}/secrets/${s.id}/duplicate`, { body });
    expect((await dup({ name: "ORIG", scopes: ["workers"] })).status).toBe(409);
    expect((await dup({ name: "bad name", scopes: ["workers"] })).status).toBe(400);
    expect((await dup({ name: "X", scopes: ["nope"] })).status).toBe(400);
    expect((await dup({ name: "X" })).status).toBe(400);
    expect((await dup({ name: "X", scopes: ["workers"], value: "v" })).status).toBe(400);
    expect((await dup({ name: "ONE", scopes: ["workers"] })).status).toBe(200);
    const full = await dup({ name: "TWO", scopes: ["workers"] });
    expect(full.status).toBe(400);
    expect(codes(full)).toEqual([1003]);
    expect(messages(full)).toMatch(/^quota_exceeded/);
  });

  it("lists secrets with paging, search, scopes filters, order and direction", async () => {
    h = await harness();
    const store = await h.store();
    await h.secrets(store, [
      { name: "stripe_key", value: "v", scopes: ["workers"], comment: "Payments" },
      { name: "OPENAI", value: "v", scopes: ["ai_gateway", "workers"], comment: "llm" },
      { name: "gateway_only", value: "v", scopes: ["ai_gateway"], comment: "" },
      { name: "dex_thing", value: "v", scopes: ["dex"], comment: "stripe backup" },
      { name: "access_thing", value: "v", scopes: ["access", "workers"] },
    ]);
    const path = `/secrets_store/stores/${store}/secrets`;
    const names = async (query: string) => {
      const r = await h.api("GET", `${path}?${query}`);
      expect(r.status, query).toBe(200);
      return r.body.result.map((s: { name: string }) => s.name);
    };
    expect(await names("")).toEqual(["stripe_key", "OPENAI", "gateway_only", "dex_thing", "access_thing"]);
    expect(await names("search=STRIPE")).toEqual(["stripe_key", "dex_thing"]);
    expect(await names("search=llm")).toEqual(["OPENAI"]);
    expect(await names("scopes=workers")).toEqual(["stripe_key", "OPENAI", "access_thing"]);
    expect(await names("scopes=workers&scopes=ai_gateway")).toEqual(["OPENAI"]);
    expect(await names("scopes=ai_gateway,workers")).toEqual(["OPENAI"]);
    expect(await names("order=name")).toEqual(["OPENAI", "access_thing", "dex_thing", "gateway_only", "stripe_key"]);
    expect(await names("order=name&direction=desc")).toEqual(["stripe_key", "gateway_only", "dex_thing", "access_thing", "OPENAI"]);
    expect(await names("order=comment&per_page=2")).toEqual(["gateway_only", "access_thing"]);
    expect(await names("order=created&direction=desc&per_page=1")).toEqual(["access_thing"]);
    expect(await names("order=modified")).toHaveLength(5);
    expect(await names("order=status")).toHaveLength(5);

    const page3 = await h.api("GET", `${path}?per_page=2&page=3`);
    expect(page3.body.result.map((s: { name: string }) => s.name)).toEqual(["access_thing"]);
    expect(page3.body.result_info).toEqual({ page: 3, per_page: 2, count: 1, total_count: 5, total_pages: 3 });
    const past = await h.api("GET", `${path}?page=4&per_page=2`);
    expect(past.body.result).toEqual([]);
    expect(past.body.result_info).toEqual({ page: 4, per_page: 2, count: 0, total_count: 5, total_pages: 3 });
    const filtered = await h.api("GET", `${path}?scopes=dex&page=2`);
    expect(filtered.body.result).toEqual([]);
    expect(filtered.body.result_info.total_count).toBe(1);

    for (const q of ["scopes=ai-gateway", "order=size", "direction=sideways", "per_page=500"]) {
      expect((await h.api("GET", `${path}?${q}`)).status, q).toBe(400);
    }
  });
});

describe("quota", () => {
  it("holds 100 secrets per account by default: the 101st gets 400 quota_exceeded (1003)", async () => {
    h = await harness();
    const store = await h.store();
    const batch = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ name: `S${from + i}`, value: "v", scopes: ["workers"] }));
    expect((await h.api("POST", `/secrets_store/stores/${store}/secrets`, { body: batch(0, 60) })).status).toBe(200);
    expect((await h.api("POST", `/secrets_store/stores/${store}/secrets`, { body: batch(60, 40) })).status).toBe(200);
    expect((await h.api("GET", "/secrets_store/quota")).body.result).toEqual({ secrets: { quota: 100, usage: 100 } });
    const r = await h.api("POST", `/secrets_store/stores/${store}/secrets`, { body: batch(100, 1) });
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual([1003]);
    expect(messages(r)).toMatch(/^quota_exceeded: the account uses 100 of its 100 secrets/);
  });

  it("reports quota and usage across all stores of the account", async () => {
    h = await harness({ maxStores: 2, quota: 7 });
    expect((await h.api("GET", "/secrets_store/quota")).body).toEqual({ success: true, errors: [], messages: [], result: { secrets: { quota: 7, usage: 0 } } });
    await h.secrets(await h.store("a"), [
      { name: "A", value: "v" },
      { name: "B", value: "v" },
    ]);
    await h.secrets(await h.store("b"), [{ name: "A", value: "v" }]);
    expect((await h.api("GET", "/secrets_store/quota")).body.result).toEqual({ secrets: { quota: 7, usage: 3 } });
  });

  it("fails a create that would pass the quota as a whole, with a clear error", async () => {
    h = await harness({ quota: 3 });
    const store = await h.store();
    await h.secrets(store, [
      { name: "A", value: "v" },
      { name: "B", value: "v" },
    ]);
    const r = await h.api("POST", `/secrets_store/stores/${store}/secrets`, {
      body: [
        { name: "C", value: "v", scopes: ["workers"] },
        { name: "D", value: "v", scopes: ["workers"] },
      ],
    });
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual([1003]);
    expect(messages(r)).toBe("quota_exceeded: the account uses 2 of its 3 secrets; creating 2 more would exceed the quota (nothing was created)");
    expect((await h.api("GET", "/secrets_store/quota")).body.result.secrets.usage).toBe(2);
    expect((await h.api("POST", `/secrets_store/stores/${store}/secrets`, { body: [{ name: "C", value: "v", scopes: ["workers"] }] })).status).toBe(200);
  });
});
