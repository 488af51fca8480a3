/**
 * What the state, the preview and the output give away, searched for the actual values and for
 * anything shaped like a fingerprint, through the real pulumi CLI: secrets from config, from the
 * environment (`valueFrom`) and copies (`duplicateOf`), with 6-digit values.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { CliResult } from "../../tools/pulumi-cli";
import { changes, CliStack, errors } from "./stack";

const PROGRAM = path.join(__dirname, "programs", "secrecy");
const SEED = { stores: [{ name: "default_secrets_store" }], workers: [{ name: "api-worker" }] };
const [PIN_CONFIG, PIN_ENV, PIN_CONFIG_2, PIN_ENV_2] = ["482913", "730561", "194827", "605318"];
const FINGERPRINT = /scrypt2?:[0-9a-f]{64}/;

/** The text of every fingerprint or listed value in `text` (none expected). */
const exposed = (text: string, values: string[]) => [...(text.match(new RegExp(FINGERPRINT, "g")) ?? []), ...values.filter((v) => text.includes(v))];

describe("no fingerprint or value outside ciphertext", () => {
  let stack: CliStack;
  afterEach(() => stack?.close());

  const start = async () => {
    stack = await CliStack.start(PROGRAM, SEED, { env: { PIN_FROM_ENV: PIN_ENV } });
    await stack.configure({}, { pin: PIN_CONFIG });
  };
  const setEnvPin = (pin: string) => {
    stack.pulumi.options.env = { ...stack.pulumi.options.env, PIN_FROM_ENV: pin };
  };

  it("config, valueFrom and duplicateOf secrets: the state without --show-secrets, every backend file, preview --diff and up", async () => {
    await start();
    const printed: CliResult[] = [];
    const first = await stack.up();
    expect(errors(first)).toBe("");
    printed.push(first);

    // Both values change: the preview shows the rotation, never the fingerprint.
    await stack.configure({}, { pin: PIN_CONFIG_2 });
    setEnvPin(PIN_ENV_2);
    const diff = await stack.pulumi.run(["preview", "--diff"]);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toMatch(/valueVersion\s*:\s*1 => 2/);
    expect(diff.stdout.match(/^\s+value\s+: \[secret\]$/gm)).toHaveLength(2);
    printed.push(diff);
    const second = await stack.up();
    expect(errors(second)).toBe("");
    printed.push(second);
    expect(await stack.outputs()).toMatchObject({ versions: { config: 2, env: 2, copy: 1 } });

    // What the README says the state holds: the input `value` a secret (ciphertext) whatever the
    // source, none for a copy; the output `value` the word "written" (kept secret too: its input is).
    const shapeOf = async (showSecrets: boolean, side: "inputs" | "outputs") =>
      Object.fromEntries(
        ((await stack.export(showSecrets)).deployment.resources ?? [])
          .filter((r) => r.type.endsWith(":StoreSecret"))
          .map((r) => {
            const v = (r[side] as Record<string, unknown>).value as unknown;
            // A secret shows as its ciphertext, or decrypted (`--show-secrets`) as its plaintext.
            const secret = typeof v === "object" && v !== null ? (v as { ciphertext?: string; plaintext?: string }) : undefined;
            const shown =
              v === undefined ? "none" : secret?.ciphertext !== undefined ? "ciphertext" : secret?.plaintext !== undefined ? `secret ${secret.plaintext}` : v;
            return [(r.outputs as Record<string, unknown>).name, shown];
          }),
      );
    expect(await shapeOf(false, "inputs")).toEqual({ pin_config: "ciphertext", pin_env: "ciphertext", pin_copy: "none" });
    expect(await shapeOf(true, "outputs")).toEqual({ pin_config: 'secret "written"', pin_env: 'secret "written"', pin_copy: "none" });

    const all = [PIN_CONFIG, PIN_ENV, PIN_CONFIG_2, PIN_ENV_2];
    expect(exposed(JSON.stringify(await stack.export(false)), all)).toEqual([]);
    expect(exposed(stack.pulumi.storedText(), all)).toEqual([]);
    expect(exposed(printed.map((p) => p.stdout + p.stderr).join("\n"), all)).toEqual([]);
    // Decrypted, our resources hold fingerprints (that is how a change shows) but never a value; the values
    // from the environment are nowhere. (The stack config, and so the default provider's entry, hold the others.)
    const decrypted = await stack.export(true);
    const ours = JSON.stringify((decrypted.deployment.resources ?? []).filter((r) => r.type.includes("cloudflare-secrets-store")));
    expect(ours).toMatch(FINGERPRINT);
    expect(all.filter((v) => ours.includes(v))).toEqual([]);
    expect([PIN_ENV, PIN_ENV_2].filter((v) => JSON.stringify(decrypted).includes(v))).toEqual([]);
  });

  it("a stack written by the first release (a plaintext scrypt: fingerprint for valueFrom) moves to the current one with no write and no diff", async () => {
    await start();
    expect(errors(await stack.up())).toBe("");

    // The first release's state: fingerprints `scrypt:` (N = 2^12, salted by account and name), and
    // for `valueFrom` the input one in plaintext (the engine kept secret only inputs the program marked).
    const first = (name: string, value: string) =>
      "scrypt:" +
      crypto
        .scryptSync(
          value,
          Buffer.from(
            crypto.createHash("sha256").update(`pulumi-cloudflare-secrets-store/value/${stack.emu.accountId}/${name}`).digest("hex").slice(0, 32),
            "hex",
          ),
          32,
          { N: 1 << 12, r: 8, p: 1 },
        )
        .toString("hex");
    const exported = await stack.export(true);
    const secret = (v: string) => ({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", plaintext: JSON.stringify(v) });
    for (const r of exported.deployment.resources ?? []) {
      const inputs = r.inputs as Record<string, unknown> | undefined;
      const outputs = r.outputs as Record<string, unknown> | undefined;
      if (!r.type.endsWith(":StoreSecret") || !inputs || !outputs) continue;
      const name = outputs.name as string;
      if (name === "pin_env") {
        inputs.value = first(name, PIN_ENV);
        outputs.value = secret(first(name, PIN_ENV));
      } else if (name === "pin_config") {
        inputs.value = secret(first(name, PIN_CONFIG));
        outputs.value = secret(first(name, PIN_CONFIG));
      }
    }
    const file = path.join(stack.programDir, "old-release.json");
    fs.writeFileSync(file, JSON.stringify(exported));
    await stack.pulumi.cli(["stack", "import", "--file", file]);
    fs.rmSync(file);
    expect(JSON.stringify(await stack.export(false))).toMatch(/"value":"scrypt:[0-9a-f]{64}"/);

    const moved = await stack.requestsDuring(() => stack.up());
    expect(errors(moved.result)).toBe("");
    expect(moved.writes).toEqual([]);
    expect(changes(moved.result)).toEqual([]);
    expect(exposed(JSON.stringify(await stack.export(false)), [PIN_CONFIG, PIN_ENV])).toEqual([]);
    // From then on it is the current format, and still no write.
    expect(JSON.stringify(await stack.export(true))).toMatch(/scrypt2:[0-9a-f]{64}/);
    const again = await stack.requestsDuring(() => stack.up());
    expect(again.writes).toEqual([]);
    expect((await stack.outputs()).versions).toEqual({ config: 1, env: 1, copy: 1 });
  });
});
