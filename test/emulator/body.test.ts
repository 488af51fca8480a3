import { describe, expect, it } from "vitest";
import { bracketSegments, formObject, type FormObjectRules } from "../../emulator/body";

const lenient: FormObjectRules = { allowBrackets: true, missing: { code: 1, message: "no settings part" }, invalidCode: 2 };
const strict: FormObjectRules = { ...lenient, allowBrackets: false };

function form(entries: Array<[string, string]>): FormData {
  const f = new FormData();
  for (const [k, v] of entries) f.append(k, v);
  return f;
}

describe("bracket-notation multipart fields", () => {
  it("splits field names into segments and refuses unbalanced ones", () => {
    expect(bracketSegments("settings")).toEqual(["settings"]);
    expect(bracketSegments("settings[bindings][][type]")).toEqual(["settings", "bindings", "", "type"]);
    expect(bracketSegments("settings[a")).toBeUndefined();
    expect(bracketSegments("settings[a]x")).toBeUndefined();
  });

  it("rebuilds nested objects and arrays, starting a new element when a key repeats", async () => {
    const value = await formObject(
      form([
        ["settings[bindings][][type]", "kv_namespace"],
        ["settings[bindings][][name]", "KV"],
        ["settings[bindings][][meta][a]", "1"],
        ["settings[bindings][][type]", "plain_text"],
        ["settings[bindings][][name]", "P"],
        ["settings[bindings][][meta][a]", "2"],
        ["settings[bindings][][meta][b]", "3"],
        ["settings[tags][]", "x"],
        ["settings[tags][]", "y"],
        ["settings[tail_consumers][0][service]", "t0"],
        ["settings[tail_consumers][1][service]", "t1"],
        ["settings[observability][enabled]", "true"],
        ["other", "ignored"],
      ]),
      "settings",
      lenient,
    );
    expect(value).toEqual({
      bindings: [
        { type: "kv_namespace", name: "KV", meta: { a: "1" } },
        { type: "plain_text", name: "P", meta: { a: "2", b: "3" } },
      ],
      tags: ["x", "y"],
      tail_consumers: [{ service: "t0" }, { service: "t1" }],
      observability: { enabled: "true" },
    });
  });

  it("reads a single JSON part, as text or as a file", async () => {
    expect(await formObject(form([["settings", '{"a":1}']]), "settings", strict)).toEqual({ a: 1 });
    const f = new FormData();
    f.append("settings", new Blob(['{"b":[2]}'], { type: "application/json" }), "settings");
    expect(await formObject(f, "settings", strict)).toEqual({ b: [2] });
    await expect(formObject(form([["x", "1"]]), "settings", lenient)).rejects.toThrow(/no settings part/);
    await expect(formObject(form([["settings[a", "1"]]), "settings", lenient)).rejects.toThrow(/Malformed form field name/);
    await expect(formObject(form([["settings", "{oops"]]), "settings", strict)).rejects.toThrow(/must hold JSON/);
  });

  it("ignores bracket-notation fields unless allowed, as Cloudflare does", async () => {
    await expect(formObject(form([["settings[a]", "1"]]), "settings", strict)).rejects.toThrow(/no settings part/);
    expect(await formObject(form([["settings[a]", "1"]]), "settings", lenient)).toEqual({ a: "1" });
  });
});
