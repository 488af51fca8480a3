/**
 * Errors and check failures never repeat an input the program marked secret (a `comment` or a
 * `name` passed as `pulumi.secret(...)`), through the real dynamic provider host.
 *
 * The host cannot see which inputs were secret: it answers Configure with `acceptSecrets: false`,
 * so the engine strips every secret marker before Check, Diff, Create, Update, Read and Delete.
 * The provider therefore takes the names of the secret inputs from the input `__secretInputs`
 * (`SECRET_INPUTS_KEY` in provider/runtime/failures.ts), which only the program can fill in; these
 * tests send it as the engine forwards a program's inputs. Each case also runs without it, to show
 * that the error does carry the text otherwise (the test would notice a leak).
 *
 * The emulator's `echo` fault answers with an error whose message repeats the request body, as
 * some APIs do in validation errors.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hexId } from "../cli/spec-stack";
import { leaks, Rig } from "../rig";
import { HostCallError } from "../rig/host";
import { CheckFailed, Managed } from "../rig/lifecycle";

const STORE = hexId("secret-inputs-store");
const REDACTED = "[secret value redacted]";
const KEY = "__secretInputs";

describe("inputs marked secret by the program are never repeated by an error", () => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await Rig.start({ emulator: { seed: { stores: [{ name: "default_secrets_store", id: STORE }] } } });
  });
  afterAll(() => rig.close());

  const echo = (method: string, path: string) => rig.hook("POST", "/__emulator/faults", { method, path, mode: "echo", times: 5 });
  const clear = () => rig.hook("DELETE", "/__emulator/faults");
  async function failure(p: Promise<unknown>): Promise<Error> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    return err as Error;
  }
  /**
   * The text an error hands the engine: its message and, for a partial failure, its reasons. (A
   * partial failure's properties are the resource's outputs, which the engine keeps secret where
   * the input of the same name was.)
   */
  const errorText = (err: Error) => err.message + (err instanceof HostCallError ? (err.initFailed?.reasons ?? []).join("\n") : "");
  const args = (name: string, comment: string, marked: string[] | undefined) => ({
    storeId: STORE,
    name,
    value: `value of ${name} sk_live_${name.length}`,
    scopes: ["workers"],
    comment,
    ...(marked ? { [KEY]: marked } : {}),
  });

  it("a create whose body the API echoes: neither a secret comment nor a secret name is in the error", async () => {
    const name = "pasted_secret_name_4711";
    const comment = "comment marked secret sk_live_c0mment_4711";
    await echo("POST", `/stores/${STORE}/secrets$`);
    const err = await failure(new Managed(rig, "StoreSecret", "marked").up(args(name, comment, ["name", "comment"])));
    await clear();
    expect(err.message).toMatch(/Invalid request body \(injected fault: nothing was applied\)/);
    expect(err.message).toContain(REDACTED);
    expect(leaks(errorText(err), [name, comment])).toEqual([]);

    // The same echo without the names: the error repeats the comment (so the check above would see a leak).
    const plainComment = "comment left plain by the program 0815";
    await echo("POST", `/stores/${STORE}/secrets$`);
    const shown = await failure(new Managed(rig, "StoreSecret", "unmarked").up(args("plain_name_0815", plainComment, undefined)));
    await clear();
    expect(shown.message).toContain(plainComment);
  });

  it("a name taken outside Pulumi: the check failure does not repeat a secret name", async () => {
    const name = "taken_secret_name_9d2e";
    await rig.api("POST", `/secrets_store/stores/${STORE}/secrets`, [{ name, value: "made outside pulumi", scopes: ["workers"] }]);
    // Unmarked, the reason names the secret (in a process that never saw it marked).
    const plain = await failure(new Managed(rig, "StoreSecret", "taken-plain").up(args(name, "a plain comment", undefined)));
    expect((plain as CheckFailed).failures.map((f) => f.reason).join("\n")).toContain(name);

    const err = await failure(new Managed(rig, "StoreSecret", "taken").up(args(name, "a plain comment", ["name"])));
    expect(err).toBeInstanceOf(CheckFailed);
    const reasons = (err as CheckFailed).failures.map((f) => `${f.property}: ${f.reason}`).join("\n");
    expect(reasons).toMatch(/already exists.*adopt: true/s);
    expect(leaks(reasons, [name])).toEqual([]);
  });

  it("the names stay with the resource: checked inputs and outputs keep them, and a later update (a fresh provider process) whose body is echoed does not repeat the secret comment", async () => {
    const name = "rotated_comment_name";
    const [first, second] = ["first secret comment sk_live_aaaa1111", "second secret comment sk_live_bbbb2222"];
    const s = new Managed(rig, "StoreSecret", "commented");
    expect(await s.up(args(name, first, ["comment"]))).toBe("create");
    // Not refused as an unknown argument, and kept for later runs (names only, never a value).
    expect(s.inputs[KEY]).toEqual(["comment"]);
    expect(s.outputs[KEY]).toEqual(["comment"]);

    // A later `pulumi up`: a fresh provider process, which remembers nothing of the first.
    await rig.restartHost();
    await echo("PATCH", `/stores/${STORE}/secrets/${s.id}$`);
    const err = await failure(s.up(args(name, second, ["comment"])));
    await clear();
    expect(err.message).toContain(REDACTED);
    expect(leaks(errorText(err), [first, second])).toEqual([]);
  });
});
