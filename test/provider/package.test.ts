import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmulator, type RunningEmulator } from "../../emulator";
import { sha256 } from "../rig/bytes";
import { ProviderHost } from "../rig/host";
import { packedPackage, REPO_ROOT } from "../../tools/packed-package";
import { serializedProviders } from "../rig";
import { emulatorFetch } from "../../tools/emulator-client";
import { must } from "../must";

const VALUE = "fresh-install-value-31337";

describe("the packed package in a fresh Pulumi program directory", () => {
  let dir: string;
  let emu: RunningEmulator;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "cfss-fresh-"));
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "fresh-program", private: true }));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: fresh\nruntime: nodejs\n");
    const pulumiVersion = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "node_modules/@pulumi/pulumi/package.json"), "utf8")).version;
    execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", `@pulumi/pulumi@${pulumiVersion}`, packedPackage()], {
      cwd: dir,
      stdio: "ignore",
    });
    emu = await startEmulator({ port: 0, seed: { stores: [{ name: "default_secrets_store" }] } });
  }, 240_000);
  afterAll(async () => {
    await emu.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("installs with its types and exports map, from dist only", () => {
    const pkgDir = path.join(dir, "node_modules/pulumi-cloudflare-secrets-store");
    const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
    expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining([".", "./runtime", "./emulator"]));
    expect(fs.existsSync(path.join(pkgDir, "dist/provider/index.d.ts"))).toBe(true);
    expect(fs.existsSync(path.join(pkgDir, "provider"))).toBe(false);
    expect(fs.existsSync(path.join(pkgDir, "test"))).toBe(false);
  });

  it("serializes small shims and runs create/delete through the real host there", async () => {
    const providers = serializedProviders(dir);
    for (const text of Object.values(providers)) expect(text.length).toBeLessThan(4096);

    const host = await ProviderHost.start({ cwd: dir, project: "fresh" });
    try {
      await host.configure(
        { "cloudflare:apiToken": emu.token, "cloudflare-secrets-store:accountId": emu.accountId, "cloudflare-secrets-store:apiBaseUrl": emu.url },
        ["cloudflare:apiToken"],
      );
      const stores = await (
        await fetch(`${emu.url}/accounts/${emu.accountId}/secrets_store/stores`, { headers: { authorization: `Bearer ${emu.token}` } })
      ).json();
      const storeId = must((stores as { result: Array<{ id: string }> }).result[0], "a store").id;
      const urn = "urn:pulumi:dev::fresh::pulumi-nodejs:dynamic/cloudflare-secrets-store:StoreSecret::s";
      const news = { storeId, name: "fresh_secret", value: VALUE, scopes: ["workers"], __provider: providers.StoreSecret };
      const checked = await host.check(urn, {}, news);
      expect(checked.failures).toEqual([]);
      const created = await host.create(urn, checked.inputs);
      const sum = await emulatorFetch(emu, `/__emulator/secrets/${created.id}/sha256`);
      expect(sum).toEqual({ sha256: sha256(VALUE) });
      await host.delete(created.id, urn, created.properties);
      expect(host.logs).not.toContain(VALUE);
    } finally {
      await host.close();
    }
  });
});
