import { afterEach, describe, expect, it } from "vitest";
import { leaks, sha256 } from "../rig/bytes";
import { changes, ExampleStack } from "./stack";

const STORE = { stores: [{ name: "default_secrets_store" }] };

describe("every example runs as a Pulumi program against the emulator", () => {
  let stack: ExampleStack;
  afterEach(() => stack?.close());

  /** preview, up, a no-op up with no write, destroy; returns the up result for example-specific checks. */
  async function lifecycle(secrets: Record<string, string>, extra: { config?: Record<string, string>; env?: NodeJS.ProcessEnv } = {}) {
    const preview = await stack.run("preview", { secrets, ...extra });
    expect(preview.failures).toEqual([]);
    expect(preview.ok).toBe(true);
    expect((await stack.requests()).filter((r) => r.method !== "GET")).toEqual([]);

    const up = await stack.run("up", { secrets, ...extra });
    expect(up.failures).toEqual([]);
    expect(up.ok).toBe(true);

    const before = (await stack.requests()).length;
    const again = await stack.run("up", { secrets, ...extra });
    expect(again.ok).toBe(true);
    expect(changes(again)).toEqual([]);
    expect((await stack.requests()).slice(before).filter((r) => r.method !== "GET")).toEqual([]);

    const values = [...Object.values(secrets), stack.emu.token];
    expect(leaks(stack.stateBytes() + up.text + again.text + preview.text, values)).toEqual([]);
    return up;
  }

  it("basic: adopts the store, creates two secrets, binds one", async () => {
    stack = await ExampleStack.start("basic", { ...STORE, workers: [{ name: "api-worker", bindings: [{ type: "plain_text", name: "MODE", text: "prod" }] }] });
    const secrets = { stripeKey: "sk_basic_stripe_1", openaiKey: "sk_basic_openai_1" };
    const up = await lifecycle(secrets);
    expect(changes(up).sort()).toEqual(["create api-stripe", "create main", "create openai", "create secrets-store-basic-test", "create stripe"].sort());
    expect(await stack.bindingSha256("api-worker", "STRIPE_KEY")).toBe(sha256(secrets.stripeKey));
    expect(await stack.bindingSha256("api-worker", "MODE")).toBe(sha256("prod"));
    expect(up.outputs.wranglerSecretsStoreSecrets).toEqual([{ binding: "STRIPE_KEY", store_id: up.outputs.storeId, secret_name: "stripe_api_key" }]);

    const destroyed = await stack.run("destroy", { secrets });
    expect(destroyed.ok).toBe(true);
    expect(await stack.secrets()).toEqual([]);
    expect((await stack.bindings("api-worker")).map((b) => b.name)).toEqual(["MODE"]);
  });

  it("shared-credential: one secret bound into three Workers under their own names", async () => {
    const workers = ["api-worker", "billing-worker", "cron-worker"].map((name) => ({ name, bindings: [] }));
    stack = await ExampleStack.start("shared-credential", { ...STORE, workers });
    const secrets = { dbPassword: "pg-shared-password-1" };
    await lifecycle(secrets);
    const expected = sha256(secrets.dbPassword);
    expect(await stack.bindingSha256("api-worker", "DB_PASSWORD")).toBe(expected);
    expect(await stack.bindingSha256("billing-worker", "DATABASE_PASSWORD")).toBe(expected);
    expect(await stack.bindingSha256("cron-worker", "PG_PASSWORD")).toBe(expected);

    // One change of the credential changes it for all three, with one write.
    const before = (await stack.requests()).length;
    const rotated = await stack.run("up", { secrets: { dbPassword: "pg-shared-password-2" } });
    expect(changes(rotated)).toEqual(["update db-password"]);
    expect((await stack.requests()).slice(before).filter((r) => r.method !== "GET").map((r) => r.method)).toEqual(["PATCH"]);
    for (const [w, b] of [["api-worker", "DB_PASSWORD"], ["billing-worker", "DATABASE_PASSWORD"], ["cron-worker", "PG_PASSWORD"]]) {
      expect(await stack.bindingSha256(w!, b!)).toBe(sha256("pg-shared-password-2"));
    }
  });

  it("ci: token and account from the environment, as the workflow sets them", async () => {
    stack = await ExampleStack.start("ci", { ...STORE, workers: [{ name: "webhooks", bindings: [] }] }, { env: {} });
    const env = { CLOUDFLARE_API_TOKEN: stack.emu.token, CLOUDFLARE_ACCOUNT_ID: stack.emu.accountId, CLOUDFLARE_API_BASE_URL: stack.emu.url };
    const secrets = { webhookSecret: "whsec_ci_example_1" };
    const up = await lifecycle(secrets, { env });
    expect(up.outputs.webhookSecretVersion).toBe(1);
    expect(await stack.bindingSha256("webhooks", "WEBHOOK_SECRET")).toBe(sha256(secrets.webhookSecret));

    // A pull request that rotates the secret: the preview shows the version move, never the value.
    const preview = await stack.run("preview", { secrets: { webhookSecret: "whsec_ci_example_2" }, env });
    expect(preview.text).toMatch(/valueVersion: 1 => 2/);
    expect(leaks(preview.text, ["whsec_ci_example_1", "whsec_ci_example_2"])).toEqual([]);
  });
});
