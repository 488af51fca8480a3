/**
 * Request economy inside one provider process (one deployment), through the real dynamic provider
 * host: reads shared by every resource, creates batched, writes seen by later checks, and one
 * rate limiter for every request.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Rig } from "../rig";
import type { RequestLogEntry } from "../../tools/emulator-client";
import { must } from "../must";

const count = (log: RequestLogEntry[], method: string, pattern: RegExp) => log.filter((r) => r.method === method && pattern.test(r.path)).length;

describe("one deployment's requests grow with pages, not resources", () => {
  let rig: Rig;
  afterEach(() => rig?.close());

  const storeId = async () => must((await rig.api<Array<{ id: string }>>("GET", "/secrets_store/stores"))[0], "a store").id;
  const secretProps = (store: string, i: number, extra: Record<string, unknown> = {}) =>
    rig.props("StoreSecret", { storeId: store, name: `bulk_${i}`, value: `bulk-value-${i}`, scopes: ["workers"], ...extra });

  it("1,000 secrets: checked with one list, created in batches of up to 100, refreshed with one list per 100 and one usage index", async () => {
    rig = await Rig.start({ emulator: { quota: 2000, seed: { stores: [{ name: "default_secrets_store" }] } } });
    const store = await storeId();
    const before = (await rig.requests()).length;
    const ids = Array.from({ length: 1000 }, (_, i) => i);

    const checked = await Promise.all(ids.map((i) => rig.host.check(rig.urn("StoreSecret", `s${i}`), {}, secretProps(store, i))));
    expect(checked.flatMap((c) => c.failures)).toEqual([]);
    const created = await Promise.all(checked.map((c, i) => rig.host.create(rig.urn("StoreSecret", `s${i}`), c.inputs)));
    let log = (await rig.requests()).slice(before);
    expect(count(log, "GET", /\/secrets$/)).toBe(1); // the checks share one list of the (empty) store
    // Batches of up to 100: 10 when all 1,000 arrive together; a few more when the machine is slow to deliver them.
    expect(count(log, "POST", /\/secrets$/)).toBeGreaterThanOrEqual(10);
    expect(count(log, "POST", /\/secrets$/)).toBeLessThanOrEqual(20);
    expect(count(log, "GET", /\/quota$/)).toBe(1);
    expect(log.length).toBeLessThanOrEqual(22);
    expect((await rig.api<unknown[]>("GET", `/secrets_store/stores/${store}/secrets?per_page=100&page=10`)).length).toBe(100);

    // Refresh is a new deployment (a new provider process): one paged list for all 1,000 reads.
    await rig.restartHost();
    const mark = (await rig.requests()).length;
    const read = await Promise.all(created.map((c, i) => rig.host.read(c.id, rig.urn("StoreSecret", `s${i}`), c.properties)));
    expect(read.every((r, i) => r.id === created[i]?.id)).toBe(true);
    log = (await rig.requests()).slice(mark);
    // Plus the usage index for `boundBy`: one list of the account's Workers (it has none).
    expect(log.map((r) => `${r.method} ${r.path.replace(/[0-9a-f]{32}/g, ":id")}`)).toEqual([
      ...Array.from({ length: 10 }, () => "GET /client/v4/accounts/:id/secrets_store/stores/:id/secrets"),
      "GET /client/v4/accounts/:id/workers/scripts",
    ]);
  }, 180_000);

  it("a write by one resource is seen by another resource's later check in the same deployment", async () => {
    rig = await Rig.start({ emulator: { seed: { stores: [{ name: "default_secrets_store" }] } } });
    const store = await storeId();
    const first = await rig.host.check(rig.urn("StoreSecret", "first"), {}, secretProps(store, 1));
    await rig.host.create(rig.urn("StoreSecret", "first"), first.inputs);
    // Adopting the secret the first resource just created: the check finds it without listing again.
    const before = (await rig.requests()).length;
    const second = await rig.host.check(
      rig.urn("StoreSecret", "second"),
      {},
      rig.props("StoreSecret", { storeId: store, name: "bulk_1", adopt: true, scopes: ["workers"] }),
    );
    expect(second.failures).toEqual([]);
    expect((await rig.requests()).slice(before)).toEqual([]);
  });

  it("every request shares one budget: a burst above the API's rate limit gets no 429", async () => {
    // The emulator allows 30 requests per 3 s; the provider is told to stay under 20 per 3 s. The
    // margin is for arrival, not sending: on a loaded machine a request paced into one window can
    // reach the emulator in the next, and the emulator counts arrivals.
    rig = await Rig.start({
      emulator: { rateLimit: 30, rateLimitWindowMs: 3000, seed: { stores: [{ name: "default_secrets_store" }] } },
      config: (emu) => ({
        "cloudflare:apiToken": emu.token,
        "cloudflare-secrets-store:accountId": emu.accountId,
        "cloudflare-secrets-store:apiBaseUrl": emu.url,
        "cloudflare-secrets-store:rateLimit": "20/3",
      }),
    });
    const store = await storeId();
    const ids = Array.from({ length: 40 }, (_, i) => i);
    const checked = await Promise.all(ids.map((i) => rig.host.check(rig.urn("StoreSecret", `r${i}`), {}, secretProps(store, i))));
    const created = await Promise.all(checked.map((c, i) => rig.host.create(rig.urn("StoreSecret", `r${i}`), c.inputs)));
    const before = (await rig.requests()).length;
    // 80 PATCHes at once (a value and scope write, then a comment write, per secret): nearly three windows' worth.
    const rechecked = await Promise.all(
      created.map((c, i) =>
        rig.host.check(
          rig.urn("StoreSecret", `r${i}`),
          must(checked[i], `check ${i}`).inputs,
          secretProps(store, i, { value: `rotated-${i}`, scopes: ["workers", "ai_gateway"] }),
        ),
      ),
    );
    await Promise.all(created.map((c, i) => rig.host.update(c.id, rig.urn("StoreSecret", `r${i}`), c.properties, must(rechecked[i], `recheck ${i}`).inputs)));
    await Promise.all(
      created.map((c, i) =>
        rig.host.update(c.id, rig.urn("StoreSecret", `r${i}`), c.properties, { ...must(rechecked[i], `recheck ${i}`).inputs, comment: "again" }),
      ),
    );
    const log = await rig.requests();
    expect(log.slice(before).length).toBe(80);
    expect(log.filter((r) => r.status === 429)).toEqual([]);
  }, 60_000);
});
