/** Typed Workers endpoints: the account's scripts, and a script's settings, where its bindings live. */
import { z } from "zod";
import { cfRequest, FormData, type ApiSettings } from "./request";
import { HEX_ID } from "./secrets-store";

/** The binding type that points at a Secrets Store secret (`store_id`, `secret_name`). */
export const STORE_BINDING = "secrets_store_secret";

/** Cloudflare's rule for Worker names; a name goes into URLs, so an answer that breaks it fails. */
export const WORKER_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/**
 * A Worker binding as the API returns it; secret bindings come back without their values. A
 * Secrets Store binding's `store_id` must be a Cloudflare id: it goes into URLs once read.
 */
export const Binding = z
  .object({ name: z.string(), type: z.string() })
  .passthrough()
  .superRefine((b, ctx) => {
    if (b.type === STORE_BINDING && !(typeof b.store_id === "string" && HEX_ID.test(b.store_id))) {
      ctx.addIssue({ code: "custom", path: ["store_id"], message: "must be 32 lowercase hex characters (a Cloudflare id)" });
    }
  });
export type Binding = z.infer<typeof Binding>;

/** A Worker as the script list returns it: its name is the `id`. */
export const Script = z
  .object({ id: z.string().regex(WORKER_NAME, "must be a Worker name (lowercase letters, digits, '-' and '_', at most 63, starting with a letter or digit)") })
  .passthrough();
export type Script = z.infer<typeof Script>;

export const ScriptSettings = z
  .object({
    bindings: z
      .array(Binding)
      .nullish()
      .transform((b) => b ?? []),
  })
  .passthrough();
export type ScriptSettings = z.infer<typeof ScriptSettings>;

const settingsPath = (accountId: string, scriptName: string) =>
  `/accounts/${encodeURIComponent(accountId)}/workers/scripts/${encodeURIComponent(scriptName)}/settings`;

/**
 * Every Worker in the account (`GET …/workers/scripts`, one request: the endpoint is not paged).
 * @see https://developers.cloudflare.com/api/resources/workers/subresources/scripts/methods/list/
 */
export async function listScripts(api: ApiSettings, accountId: string): Promise<Script[]> {
  return (await cfRequest(api, { method: "GET", path: `/accounts/${encodeURIComponent(accountId)}/workers/scripts`, schema: z.array(Script) })).result;
}

export async function getScriptSettings(api: ApiSettings, accountId: string, scriptName: string): Promise<ScriptSettings> {
  return (await cfRequest(api, { method: "GET", path: settingsPath(accountId, scriptName), schema: ScriptSettings })).result;
}

/**
 * Sets a script's binding list (`PATCH …/settings`, multipart with one `settings` JSON part). The
 * list is replaced whole: callers read, merge and write (see `applyBindingChanges` in the runtime).
 */
export async function patchScriptBindings(api: ApiSettings, accountId: string, scriptName: string, bindings: Binding[]): Promise<ScriptSettings> {
  const form = new FormData();
  form.append("settings", new Blob([JSON.stringify({ bindings })], { type: "application/json" }), "settings");
  return (await cfRequest(api, { method: "PATCH", path: settingsPath(accountId, scriptName), form, schema: ScriptSettings })).result;
}
