import { afterEach, describe, expect, it } from "vitest";
import type { Deployment, StackExport } from "../../tools/pulumi-cli";
import { leaks, sha256 } from "../rig/bytes";
import { changes, CliStack, errors } from "./stack";
import { must } from "../must";

const STORE = { stores: [{ name: "default_secrets_store" }] };

/** Where in a decrypted export each value occurs, as "<type>::<name> inputs|outputs". */
function whereInState(exported: StackExport, values: string[]): string[] {
  const found: string[] = [];
  for (const r of exported.deployment.resources ?? []) {
    for (const part of ["inputs", "outputs"] as const) {
      if (leaks(JSON.stringify(r[part] ?? {}), values).length) found.push(`${r.type}::${r.urn.split("::").pop()} ${part}`);
    }
  }
  return found;
}

describe("every example through the real pulumi CLI against the emulator", () => {
  let stack: CliStack;
  afterEach(() => stack?.close());

  /** preview, up, a no-op up and a refresh with no write; returns the up. */
  async function lifecycle(): Promise<Deployment[]> {
    const preview = await stack.requestsDuring(() => stack.preview());
    expect(errors(preview.result)).toBe("");
    expect(preview.result.ok).toBe(true);
    expect(preview.writes).toEqual([]);

    const up = await stack.up();
    expect(errors(up)).toBe("");
    expect(up.ok).toBe(true);

    const again = await stack.requestsDuring(() => stack.up());
    expect(again.result.ok).toBe(true);
    expect(changes(again.result)).toEqual([]);
    expect(again.writes).toEqual([]);

    const refresh = await stack.requestsDuring(() => stack.refresh());
    expect(refresh.result.ok).toBe(true);
    expect(refresh.writes).toEqual([]);
    expect(changes(refresh.result)).toEqual([]);
    return [preview.result, up, again.result, refresh.result];
  }

  it("basic: adopts the store, creates two secrets, binds one; values only in the default provider's encrypted config", async () => {
    const secrets = { stripeKey: "sk_basic_stripe_1", openaiKey: "sk_basic_openai_1" };
    stack = await CliStack.start(
      "basic",
      { ...STORE, workers: [{ name: "api-worker", bindings: [{ type: "plain_text", name: "MODE", text: "prod" }] }] },
      { secrets },
    );
    const runs = await lifecycle();
    expect(changes(must(runs[1], "the second run")).sort()).toEqual(["create api-stripe", "create main", "create openai", "create stripe"]);
    expect(await stack.bindingSha256("api-worker", "STRIPE_KEY")).toBe(sha256(secrets.stripeKey));
    expect(await stack.bindingSha256("api-worker", "MODE")).toBe(sha256("prod"));
    const outputs = await stack.outputs();
    expect(outputs.wranglerSecretsStoreSecrets).toEqual([{ binding: "STRIPE_KEY", store_id: outputs.storeId, secret_name: "stripe_api_key" }]);

    // What the README says the state holds, measured: no resource of ours holds a value or the
    // token; the engine passes the whole stack config (secure values included) to the default
    // dynamic provider and keeps it there, encrypted; nothing is in plaintext at rest or printed.
    const values = [...Object.values(secrets), stack.emu.token];
    const decrypted = await stack.export(true);
    expect(whereInState(decrypted, values)).toEqual(["pulumi:providers:pulumi-nodejs::default inputs", "pulumi:providers:pulumi-nodejs::default outputs"]);
    expect(leaks(stack.pulumi.storedText() + runs.map((r) => r.stdout + r.stderr).join(""), values)).toEqual([]);

    const destroyed = await stack.destroy();
    expect(destroyed.ok).toBe(true);
    expect(await stack.secrets()).toEqual([]);
    expect((await stack.bindings("api-worker")).map((b) => b.name)).toEqual(["MODE"]);
  });

  it("shared-credential: one secret bound into three Workers; a change is one write", async () => {
    const workers = ["api-worker", "billing-worker", "cron-worker"].map((name) => ({ name, bindings: [] }));
    stack = await CliStack.start("shared-credential", { ...STORE, workers }, { secrets: { dbPassword: "pg-shared-password-1" } });
    await lifecycle();
    const bound = [
      ["api-worker", "DB_PASSWORD"],
      ["billing-worker", "DATABASE_PASSWORD"],
      ["cron-worker", "PG_PASSWORD"],
    ] as const;
    for (const [w, b] of bound) expect(await stack.bindingSha256(w, b)).toBe(sha256("pg-shared-password-1"));

    await stack.configure({}, { dbPassword: "pg-shared-password-2" });
    const rotated = await stack.requestsDuring(() => stack.up());
    expect(changes(rotated.result)).toEqual(["update db-password"]);
    expect(rotated.writes.map((r) => r.method)).toEqual(["PATCH"]);
    await stack.settled();
    for (const [w, b] of bound) expect(await stack.bindingSha256(w, b)).toBe(sha256("pg-shared-password-2"));
    expect((await stack.destroy()).ok).toBe(true);
    expect(await stack.secrets()).toEqual([]);
  });

  it("ci: token, account and value from the environment; neither value nor token anywhere in Pulumi", async () => {
    const first = "whsec_ci_example_1";
    stack = await CliStack.start("ci", { ...STORE, workers: [{ name: "webhooks", bindings: [] }] }, { env: { WEBHOOK_SECRET: first } });
    const runs = await lifecycle();
    expect((await stack.outputs()).webhookSecretVersion).toBe(1);
    expect(await stack.bindingSha256("webhooks", "WEBHOOK_SECRET")).toBe(sha256(first));

    // Rotation from the CI secret store: preview shows the version move, never the value.
    const second = "whsec_ci_example_2";
    const env = { WEBHOOK_SECRET: second };
    const preview = await stack.pulumi.run(["preview", "--diff"], { env });
    expect(preview.code).toBe(0);
    expect(preview.stdout).toMatch(/valueVersion\s*:\s*1 => 2/);
    const up = await stack.pulumi.run(["up", "--yes", "--diff"], { env });
    expect(up.code).toBe(0);
    await stack.settled();
    expect(await stack.bindingSha256("webhooks", "WEBHOOK_SECRET")).toBe(sha256(second));

    expect(await stack.leaked([first, second, stack.emu.token], ...runs, preview, up)).toEqual([]);

    // Without the variable, preview fails naming it, and nothing is written.
    const missing = await stack.requestsDuring(() => stack.pulumi.run(["preview"], { env: { WEBHOOK_SECRET: "" } }));
    expect(missing.result.code).not.toBe(0);
    expect(missing.result.stdout + missing.result.stderr).toMatch(/valueFrom.*WEBHOOK_SECRET is not set/s);
    expect(missing.writes).toEqual([]);
    expect((await stack.pulumi.run(["destroy", "--yes"], { env })).code).toBe(0);
  });
});
