/**
 * What both binding resources (`WorkerSecretBinding`, one binding; `WorkerSecretBindings`, a map of
 * them) share: checking a Worker and the secrets its bindings name, and the one write path for a
 * Worker's bindings. Every change to one Worker in a deployment goes through one batcher: a fresh
 * read of its settings, one `PATCH` with every other binding sent back as it is, then a check that
 * no other writer dropped the change.
 */
import * as workersApi from "../api/workers";
import { STORE_BINDING } from "../api/workers";
import type { Settings } from "./config";
import { rememberedSecret } from "./deployment-memory";
import * as view from "./account-view";
import { engineBusy } from "./activity";
import { creatingSecrets } from "./secret-batches";
import { Batcher, type NonEmpty, type Outcome } from "./batch";
import * as pending from "./pending";
import type { CheckFailure } from "./rules";

/** What a binding check and write need of one binding (either resource kind). */
interface BindingRef {
  scriptName: string;
  bindingName: string;
  storeId?: string;
  secretName?: string;
}
type Binding = workersApi.Binding;

/** A store binding to secret `secretName` of store `storeId`, named `bindingName`. */
export const storeBinding = (bindingName: string, storeId: string, secretName: string): Binding => ({
  type: STORE_BINDING,
  name: bindingName,
  store_id: storeId,
  secret_name: secretName,
});

/** Another binding sent back so the API keeps it exactly: secret bindings as `{name, type}` (their values stay), the rest as read. */
const keep = (b: Binding): Binding => (b.type === "secret_text" || b.type === "secret_key" ? { name: b.name, type: b.type } : b);

/** Whether `b` is a store binding to secret `p.secretName` in store `p.storeId`. */
const isSame = (b: Binding | undefined, p: { storeId?: string; secretName?: string }): boolean =>
  !!b && b.type === STORE_BINDING && b.store_id === p.storeId && b.secret_name === p.secretName;

function describe(b: Binding): string {
  return b.type === STORE_BINDING ? `${b.type} → ${String(b.secret_name)} in store ${String(b.store_id)}` : b.type;
}

/** Adds a failure unless the secret `p.secretName` exists (or is created in this deployment) with the `workers` scope. */
export async function checkSecret(
  settings: Settings,
  p: BindingRef & { secretName: string },
  storeId: string | undefined,
  failures: CheckFailure[],
): Promise<void> {
  const planned = rememberedSecret(settings.accountId, storeId, p.secretName);
  let scopes = planned?.scopes;
  if (!planned) {
    if (storeId === undefined) return;
    const live = await view.findSecret(settings, storeId, p.secretName);
    if (!live) {
      failures.push({
        property: "secretName",
        reason: `Secret "${p.secretName}" does not exist in store ${storeId}, and no StoreSecret in this deployment creates it. Create it (a StoreSecret with \`name: "${p.secretName}"\`, passing \`secretName: secret.name\` so it is created first) or fix the name.`,
      });
      return;
    }
    scopes = live.scopes;
  }
  if (scopes && !scopes.includes("workers")) {
    const owner = planned ? ` (set by StoreSecret "${planned.secretLabel}" in this deployment)` : "";
    failures.push({
      property: "secretName",
      reason: `Binding "${p.bindingName}" on Worker "${p.scriptName}" needs secret "${p.secretName}" to have the \`workers\` scope, but its scopes are [${scopes.join(", ")}]${owner}; Cloudflare refuses the binding. Add "workers" to the secret's \`scopes\`.`,
    });
  }
}

/**
 * Adds a failure when Worker `scriptName` does not exist, or already has a binding named as one of
 * `wanted` (binding name → secret name) that is not this resource's (`ours`) and not the same
 * store binding (which the resource adopts).
 */
export async function checkWorker(
  settings: Settings,
  scriptName: string,
  storeId: string | undefined,
  wanted: Record<string, string | undefined>,
  ours: (bindingName: string) => boolean,
  property: "bindingName" | "bindings",
  failures: CheckFailure[],
): Promise<void> {
  const script = await view.worker(settings, scriptName);
  if (!script) {
    failures.push({
      property: "scriptName",
      reason: `Worker "${scriptName}" does not exist in account ${settings.accountId}. Deploy it first (for example with \`wrangler deploy\`); if this program deploys it, pass its name as that resource's output (\`scriptName: script.scriptName\`) so this resource waits for it.`,
    });
    return;
  }
  for (const [bindingName, secretName] of Object.entries(wanted)) {
    const existing = script.bindings.find((b) => b.name === bindingName);
    const identical = existing?.type === STORE_BINDING && existing.secret_name === secretName && (storeId === undefined || existing.store_id === storeId);
    if (existing && !ours(bindingName) && !identical) {
      failures.push({
        property,
        reason: `Worker "${scriptName}" already has a binding named "${bindingName}" (${describe(existing)}) that this resource does not manage. Choose another ${property === "bindingName" ? "`bindingName`" : "name"}, or remove that binding from the Worker first.`,
      });
    }
  }
}

/**
 * Whether Worker `scriptName` lacks one of `wanted` (binding name → secret name of store
 * `storeId`) as the program wants it (dropped by a deploy, or by an interrupted `pulumi destroy`):
 * then `up` writes it again, without a refresh first. The Worker was read by this deployment's
 * check already, so this costs no request.
 */
export async function drifted(settings: Settings, scriptName: string, storeId: string, wanted: Array<[string, string]>): Promise<boolean> {
  const script = await view.worker(settings, scriptName).catch(() => undefined);
  if (!script) return false;
  return wanted.some(
    ([name, secretName]) =>
      !isSame(
        script.bindings.find((b) => b.name === name),
        { storeId, secretName },
      ),
  );
}

/** One binding to set (`next`) or remove (`next` undefined) on a Worker. */
interface BindingChange {
  settings: Settings;
  scriptName: string;
  bindingName: string;
  next?: Binding;
}

/**
 * The binding changes for one Worker are applied together: one fresh read of its settings, then one
 * `PATCH` with all of them (the list is replaced whole, so every other binding is sent back as it
 * is). A Worker's batch is held while more binding steps may be on their way: while the engine
 * keeps calling this provider (see {@link engineBusy}), and while secrets are being created (their
 * bindings follow); at most 10 s. Batches for one Worker run one after another.
 */
const bindingChanges = new Batcher<BindingChange, boolean>((_key, changes) => applyBindingChanges(changes), {
  maxItems: 1000,
  windowMs: 150,
  maxWaitMs: 10_000,
  serial: true,
  holdWhile: () => engineBusy() || creatingSecrets(),
});

/**
 * Sets or removes one binding, merged with every other change to the same Worker at this moment.
 * Only a `secrets_store_secret` binding of that name is replaced or removed; any other kind is left
 * alone. Resolves to whether such a binding was there before.
 */
export function writeBinding(settings: Settings, p: BindingRef, next: Binding | undefined): Promise<boolean> {
  return bindingChanges.add(`${settings.accountId}/${p.scriptName}`, { settings, scriptName: p.scriptName, bindingName: p.bindingName, next });
}

/** The secrets the store bindings among `bindings` name. */
function secretsNamedBy(bindings: Binding[]): pending.SecretRef[] {
  return bindings.flatMap((b) =>
    b.type === STORE_BINDING && typeof b.store_id === "string" && typeof b.secret_name === "string" ? [{ storeId: b.store_id, name: b.secret_name }] : [],
  );
}

/** Re-reads and re-writes of one batch when Cloudflare refuses it (10182: a secret pending, or named by a stale list). */
const REFUSED_RETRIES = 2;
/** Times one batch re-applies what another writer's stale list dropped. */
const REAPPLY_ROUNDS = 3;
/** How recent a read of the Worker a batch takes as its fresh read: the previous batch's check read, not older. */
const REUSE_READ_MS = 100;
/** How long after its write a batch reads the Worker again: longer than another writer's read-to-write gap. */
const verifyDelayMs = () => 300 + Math.random() * 300;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What one change left on the Worker: its binding, or (a removal) nothing where the removed binding was. */
const applied = (c: BindingChange, removed: Binding | undefined, live: Binding[]): boolean => {
  const now = live.find((b) => b.name === c.bindingName);
  if (c.next) return isSame(now, { storeId: String(c.next.store_id), secretName: String(c.next.secret_name) });
  return !(removed && now && isSame(now, { storeId: String(removed.store_id), secretName: String(removed.secret_name) }));
};

/**
 * Applies one Worker's batch: read the binding list fresh, merge, write it back whole. Then, since
 * Cloudflare offers no precondition on settings, it checks its own work: it reads the Worker again a
 * moment later, and when another writer (another stack, a CI job) wrote back a list it had read
 * before this write, it merges and writes again what that dropped (bounded). Bindings it did not
 * touch are sent back as read, so it never drops another writer's.
 */
async function applyBindingChanges(changes: NonEmpty<BindingChange>): Promise<Array<Outcome<boolean>>> {
  const { settings, scriptName } = changes[0];
  const what = `the binding change on Worker "${scriptName}" (${changes.map((c) => c.bindingName).join(", ")})`;
  try {
    // Cloudflare refuses a binding to a pending secret: wait before the read, so read and write stay close.
    await pending.waitActive(settings, secretsNamedBy(changes.flatMap((c) => (c.next ? [c.next] : []))), what);
  } catch (error) {
    return changes.map(() => ({ ok: false, error }));
  }
  let reported: Array<Outcome<boolean>> | undefined;
  const removed = new Map<string, Binding>();
  let refused = 0;
  let reapplied = 0;
  for (let round = 0; ; round++) {
    // The first read may be the previous batch's check read of this Worker, if it is that recent.
    const script = await view.freshWorker(settings, scriptName, round === 0 ? REUSE_READ_MS : 0);
    if (!script) {
      // A Worker already gone has no binding to remove.
      return changes.map((c) =>
        c.next
          ? { ok: false, error: new Error(`Worker "${scriptName}" does not exist in account ${settings.accountId}; deploy it before binding secrets to it.`) }
          : { ok: true, value: false },
      );
    }
    let bindings = script.bindings;
    let changed = false;
    const outcomes: Array<Outcome<boolean>> = changes.map((c) => {
      const existing = bindings.find((b) => b.name === c.bindingName);
      const replaceable = existing?.type === STORE_BINDING;
      if (!c.next && !replaceable) return { ok: true, value: false };
      if (c.next && existing && !replaceable) {
        return {
          ok: false,
          error: new Error(
            `Worker "${scriptName}" already has a binding named "${c.bindingName}" (${describe(existing)}) that this resource does not manage; nothing was changed.`,
          ),
        };
      }
      if (!c.next && existing && !removed.has(c.bindingName)) removed.set(c.bindingName, existing);
      bindings = [...bindings.filter((b) => b.name !== c.bindingName), ...(c.next ? [c.next] : [])];
      changed = true;
      return { ok: true, value: replaceable };
    });
    // What a resource learns (was the binding there before?) is what the first read showed.
    reported ??= outcomes;
    if (!changed) return reported;
    const named = secretsNamedBy(bindings);
    try {
      // The whole list is sent back: another binding may name a secret this deployment just changed.
      if (await pending.waitActive(settings, named, what)) continue;
      const written = await workersApi.patchScriptBindings(settings.api, settings.accountId, scriptName, bindings.map(keep));
      view.noteWorker(settings, scriptName, written);
    } catch (error) {
      // Refused for a secret that is pending (changed by another writer, adopted while pending), or
      // named by a binding another writer has removed since the read: wait, read again, write again.
      // A secret that is really missing fails with Cloudflare's error.
      let failure = error;
      if (pending.isPendingRefusal(error) && refused++ < REFUSED_RETRIES) {
        try {
          await pending.waitActive(settings, named, what, true);
          continue;
        } catch (timedOut) {
          failure = timedOut;
        }
      }
      return reported.map((o) => (o.ok ? { ok: false, error: failure } : o));
    }
    await sleep(verifyDelayMs());
    const after = await view.freshWorker(settings, scriptName).catch(() => undefined);
    const isLost = changes.map((c, i) => !!(reported?.[i]?.ok && after && !applied(c, removed.get(c.bindingName), after.bindings)));
    const lost = changes.filter((_, i) => isLost[i]);
    if (lost.length === 0) return reported;
    if (reapplied++ >= REAPPLY_ROUNDS) {
      const error = new Error(
        `Worker "${scriptName}": another writer wrote back a binding list without this deployment's change to ${lost.map((c) => `"${c.bindingName}"`).join(", ")} ${REAPPLY_ROUNDS + 1} times in a row (for example a deploy or another stack writing the same Worker), so it is not on the Worker now. Run \`pulumi up\` again once the other writer is done; nothing else was changed.`,
      );
      return reported.map((o, i) => (isLost[i] ? { ok: false, error } : o));
    }
  }
}
