/** Typed Workers endpoints: a deployed script's settings, where its bindings live. */
import { z } from "zod";
import { cfRequest, FormData, type ApiSettings } from "./request";

/** A Worker binding as the API returns it; secret bindings come back without their values. */
export const Binding = z.object({ name: z.string(), type: z.string() }).passthrough();
export type Binding = z.infer<typeof Binding>;

export const ScriptSettings = z
  .object({ bindings: z.array(Binding).nullish().transform((b) => b ?? []) })
  .passthrough();
export type ScriptSettings = z.infer<typeof ScriptSettings>;

const settingsPath = (accountId: string, scriptName: string) =>
  `/accounts/${encodeURIComponent(accountId)}/workers/scripts/${encodeURIComponent(scriptName)}/settings`;

export async function getScriptSettings(api: ApiSettings, accountId: string, scriptName: string): Promise<ScriptSettings> {
  return (await cfRequest(api, { method: "GET", path: settingsPath(accountId, scriptName), schema: ScriptSettings })).result;
}

/**
 * Sets a script's binding list (`PATCH …/settings`, multipart with one `settings` JSON part). The
 * list is replaced whole: callers read, merge and write (see `applyBindingChanges` in the runtime).
 */
export async function patchScriptBindings(
  api: ApiSettings,
  accountId: string,
  scriptName: string,
  bindings: Binding[],
): Promise<ScriptSettings> {
  const form = new FormData();
  form.append("settings", new Blob([JSON.stringify({ bindings })], { type: "application/json" }), "settings");
  return (await cfRequest(api, { method: "PATCH", path: settingsPath(accountId, scriptName), form, schema: ScriptSettings })).result;
}
