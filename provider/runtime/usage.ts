/**
 * Where secrets are used: the store bindings of every Worker in the account, from one list of the
 * account's Workers and one settings read per Worker. The reads are the account view's, shared with
 * the binding code, so a Worker a binding already read costs nothing more; the index is built only
 * by the steps that could break a Worker (a delete, a rename, a scope removal) and by refresh (for
 * `boundBy`), never by a no-op `up` or a plain value change.
 */
import { STORE_BINDING } from "../api/workers";
import * as view from "./account-view";
import type { Settings } from "./config";

/** One binding of a Worker to a secret. */
export interface Use {
  /** The Worker. */
  scriptName: string;
  /** The binding's name in the Worker (`env.STRIPE_KEY`). */
  bindingName: string;
  /** The secret it points at. */
  secretName: string;
}

const declared = new Set<string>();
const declaredKey = (accountId: string, scriptName: string, bindingName: string) => `${accountId}/${scriptName}/${bindingName}`;

/** Records that a binding resource of this deployment's program declares this binding. */
export function declare(accountId: string, scriptName: unknown, bindingName: unknown): void {
  if (typeof scriptName === "string" && typeof bindingName === "string") declared.add(declaredKey(accountId, scriptName, bindingName));
}

/**
 * Every store binding, on any Worker of the account, to one of `secretNames` in the store. `fresh`:
 * the Workers are listed now, and each that changed since it was last read is read again (a
 * destructive step relies on it: another writer may have bound the secret since).
 */
export async function usesOf(settings: Settings, storeId: string, secretNames: string[], fresh = false): Promise<Use[]> {
  const scripts = fresh
    ? await view.currentWorkers(settings)
    : await Promise.all((await view.scriptNames(settings)).map(async (scriptName) => ({ scriptName, script: await view.worker(settings, scriptName) })));
  const uses: Use[] = [];
  for (const { scriptName, script } of scripts) {
    for (const b of script?.bindings ?? []) {
      if (b.type === STORE_BINDING && b.store_id === storeId && secretNames.includes(String(b.secret_name))) {
        uses.push({ scriptName, bindingName: b.name, secretName: String(b.secret_name) });
      }
    }
  }
  return uses.sort((a, b) => a.scriptName.localeCompare(b.scriptName) || a.bindingName.localeCompare(b.bindingName));
}

/**
 * Why a step that would leave these Workers without their secret is refused: each Worker and
 * binding, and the two ways on. `afterChecks`: every binding of the program was checked already (a
 * delete runs after them), so each use says whether this program declares it.
 */
export function refusal(settings: Settings, action: string, uses: Use[], howToAccept: string, afterChecks = true): string {
  const list = uses
    .map((u) => {
      const declaredHere = declared.has(declaredKey(settings.accountId, u.scriptName, u.bindingName));
      const origin = afterChecks ? (declaredHere ? " (declared in this program)" : " (not managed by this program)") : "";
      return `Worker "${u.scriptName}" binds "${u.secretName}" as ${u.bindingName}${origin}`;
    })
    .join("; ");
  return `Refusing to ${action}: ${list}. That Worker would fail at its next \`env.<binding>.get()\`. Move the binding first (to another secret, in the Worker's wrangler config or its own program, then deploy it), or accept the break: ${howToAccept}.`;
}

/** How to accept deleting (or unscoping) a secret that Workers still bind. */
export const DELETE_WHEN_BOUND =
  "set `deleteWhenBound: true` on the StoreSecret and run `pulumi up` (before you remove it from the program), or, for a resource already removed, run once with `pulumi config set cloudflare-secrets-store:deleteWhenBound true` (then `pulumi config rm` it)";
