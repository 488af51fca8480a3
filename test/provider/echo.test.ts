/**
 * Errors never carry a value: the emulator's `echo` fault answers with an error whose message
 * repeats the request body (the value included, as some APIs do in validation errors). Through the
 * real dynamic provider host, the error the engine receives, every response and everything the
 * host process printed are searched for the value.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hexId } from "../cli/spec-stack";
import { leaks, Rig } from "../rig";
import { HostCallError } from "../rig/host";
import { Managed } from "../rig/lifecycle";

const STORE = hexId("echo-store");
const VALUE_1 = "echo-first-value-sk_live_4711";
const VALUE_2 = "echo-second-value-sk_live_0815";
const FROM_ENV = "echo-value-from-env-sk_live_1234";
const REDACTED = "[secret value redacted]";

describe("an API error that echoes the request body never carries the value", () => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await Rig.start({ emulator: { seed: { stores: [{ name: "default_secrets_store", id: STORE }] } }, env: { ECHO_SECRET_FROM_ENV: FROM_ENV } });
  });
  afterAll(async () => {
    // Nothing any response, error or host log line carried may contain a value or the token.
    expect(leaks(rig.transcript(), [VALUE_1, VALUE_2, FROM_ENV, rig.emulator.token])).toEqual([]);
    await rig.close();
  });

  const echo = (method: string, path: string) => rig.hook("POST", "/__emulator/faults", { method, path, mode: "echo", times: 5 });
  const clear = () => rig.hook("DELETE", "/__emulator/faults");

  async function failure(p: Promise<unknown>): Promise<HostCallError> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HostCallError);
    return err as HostCallError;
  }

  it("a create whose body is echoed: the error names the call, and the value is redacted", async () => {
    await echo("POST", `/stores/${STORE}/secrets$`);
    const s = new Managed(rig, "StoreSecret", "created");
    const err = await failure(s.up({ storeId: STORE, name: "echoed_create", value: VALUE_1, scopes: ["workers"] }));
    await clear();
    expect(err.message).toMatch(/Cloudflare API 400: Invalid request body \(injected fault: nothing was applied\)/);
    expect(err.message).toContain(REDACTED);
    expect(err.message).toMatch(/POST \/client\/v4\/accounts\/[0-9a-f]{32}\/secrets_store\/stores\/[0-9a-f]{32}\/secrets/);
    expect(leaks(err.message + JSON.stringify(err.initFailed ?? {}), [VALUE_1])).toEqual([]);
  });

  it("a value PATCH whose body is echoed: neither the old nor the new value is in the error", async () => {
    const s = new Managed(rig, "StoreSecret", "patched");
    expect(await s.up({ storeId: STORE, name: "echoed_patch", value: VALUE_1, scopes: ["workers"] })).toBe("create");
    await echo("PATCH", `/stores/${STORE}/secrets/${s.id}$`);
    const err = await failure(s.up({ storeId: STORE, name: "echoed_patch", value: VALUE_2, scopes: ["workers"], comment: "rotated" }));
    await clear();
    expect(err.message).toContain(REDACTED);
    expect(leaks(err.message + JSON.stringify(err.initFailed ?? {}), [VALUE_1, VALUE_2])).toEqual([]);
  });

  it("a value from the environment (valueFrom) is redacted the same way", async () => {
    await echo("POST", `/stores/${STORE}/secrets$`);
    const s = new Managed(rig, "StoreSecret", "from-env");
    const err = await failure(s.up({ storeId: STORE, name: "echoed_env", valueFrom: { env: "ECHO_SECRET_FROM_ENV" }, scopes: ["workers"] }));
    await clear();
    expect(err.message).toContain(REDACTED);
    expect(leaks(err.message, [FROM_ENV])).toEqual([]);
  });
});
