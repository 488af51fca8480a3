/**
 * Where the runtime finds its settings (provider/runtime/config.ts): the stack config the host
 * hands to `configure`, else CLOUDFLARE_API_TOKEN / CLOUDFLARE_ACCOUNT_ID / CLOUDFLARE_API_BASE_URL;
 * what a preview says when one is missing or the token is refused.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { STORE_ID, UnitRig } from "./harness";

let rig: UnitRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

/** Account id and base URL of the emulator, without a token. */
const emuConfig = (emu: { accountId: string; url: string }) => ({
  "cloudflare-secrets-store:accountId": emu.accountId,
  "cloudflare-secrets-store:apiBaseUrl": emu.url,
});
const secretArgs = { storeId: STORE_ID, name: "api_key", value: "config-test-value", scopes: ["workers"] };

describe("settings", () => {
  it("without a token the preview fails, naming both ways to set one", async () => {
    rig = await UnitRig.start({ config: emuConfig });
    const { failures } = await rig.resource("StoreSecret", "s").check(secretArgs);
    expect(failures).toEqual([
      {
        property: "",
        reason:
          "No Cloudflare API token. Set it with `pulumi config set --secret cloudflare:apiToken <token>` or the CLOUDFLARE_API_TOKEN environment variable.",
      },
    ]);
  });

  it("without an account id the preview fails on `accountId`, naming the three ways to set it", async () => {
    rig = await UnitRig.start({ config: (emu) => ({ "cloudflare:apiToken": emu.token, "cloudflare-secrets-store:apiBaseUrl": emu.url }) });
    const { failures } = await rig.resource("StoreSecret", "s").check(secretArgs);
    expect(failures.map((f) => f.property)).toEqual(["accountId"]);
    expect(failures[0]?.reason).toMatch(
      /Set the resource's `accountId`, or `pulumi config set cloudflare-secrets-store:accountId <id>`, or the CLOUDFLARE_ACCOUNT_ID/,
    );
  });

  it("the environment stands in for stack config", async () => {
    rig = await UnitRig.start({ config: () => ({}) });
    vi.stubEnv("CLOUDFLARE_API_TOKEN", rig.emulator.token);
    vi.stubEnv("CLOUDFLARE_ACCOUNT_ID", rig.emulator.accountId);
    vi.stubEnv("CLOUDFLARE_API_BASE_URL", rig.emulator.url);
    const secret = rig.resource("StoreSecret", "s");
    expect(await secret.up(secretArgs)).toBe("create");
    expect(secret.outputs.accountId).toBe(rig.emulator.accountId);
  });

  it("a token Cloudflare refuses fails the preview, saying so and how to set another (never the token)", async () => {
    const wrong = "wrong-token-0123456789abcdef0123456789";
    rig = await UnitRig.start({ config: (emu) => ({ ...emuConfig(emu), "cloudflare:apiToken": wrong }) });
    const { failures } = await rig.resource("StoreSecret", "s").check(secretArgs);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.reason).toMatch(/^Cloudflare refused the API token: it is unknown, revoked or malformed \(Cloudflare answered 401/);
    expect(failures[0]?.reason).toMatch(/pulumi config set --secret cloudflare:apiToken <token>/);
    expect(failures[0]?.reason).not.toContain(wrong);
  });
});
