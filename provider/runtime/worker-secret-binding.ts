/**
 * The WorkerSecretBinding provider: one `secrets_store_secret` binding on a deployed Worker,
 * written through the script's settings with read-merge-write so every other binding survives.
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import * as workersApi from "../api/workers";
import { STORE_BINDING } from "../api/workers";
import { resolveSettings, type Settings } from "./config";
import { accountReplaces, GONE } from "./failures";
import { claim, plannedSecret, plannedStoreId } from "./deployment-memory";
import * as view from "./account-view";
import * as usage from "./usage";
import { engineBusy } from "./activity";
import { creatingSecrets } from "./secret-batches";
import { Batcher, type NonEmpty, type Outcome } from "./batch";
import * as pending from "./pending";
import {
  apiCheckFailure,
  bindingNameProblem,
  bindingTargetOf,
  checkContext,
  checkedSettings,
  definedOnly,
  field,
  isUnknown,
  missingStore,
  secretNameProblem,
  unknownInputs,
  type CheckFailure,
} from "./rules";
import type { WorkerSecretBindingInputs, WorkerSecretBindingState } from "../fields/worker-secret-binding";

/** What a program passes, unchecked: at preview any value may be the engine's unknown sentinel. */
type ProgramInputs = Record<string, unknown>;

/** A WorkerSecretBinding's checked inputs, and its state (declared in ../fields). */
type BindingInputs = WorkerSecretBindingInputs;
type BindingState = WorkerSecretBindingState;

/** What a binding check and write need of one binding (either resource kind). */
export type BindingRef = Pick<BindingInputs, "scriptName" | "bindingName"> & Partial<Pick<BindingInputs, "storeId" | "secretName">>;
type Binding = workersApi.Binding;

/** Another binding sent back so the API keeps it exactly: secret bindings as `{name, type}` (their values stay), the rest as read. */
const keep = (b: Binding): Binding => (b.type === "secret_text" || b.type === "secret_key" ? { name: b.name, type: b.type } : b);

const ourBinding = (p: BindingInputs): Binding => ({ type: STORE_BINDING, name: p.bindingName, store_id: p.storeId, secret_name: p.secretName });

/** Whether `b` is a store binding to secret `p.secretName` in store `p.storeId`. */
export const isSame = (b: Binding | undefined, p: Partial<BindingInputs>): boolean =>
  !!b && b.type === STORE_BINDING && b.store_id === p.storeId && b.secret_name === p.secretName;

export function describe(b: Binding): string {
  return b.type === STORE_BINDING ? `${b.type} → ${String(b.secret_name)} in store ${String(b.store_id)}` : b.type;
}

/** A Worker's settings, read once per deployment for every check and refresh read. */
const readScript = (settings: Settings, scriptName: string) => view.worker(settings, scriptName);

export async function check(olds: Partial<BindingState>, news: ProgramInputs): Promise<{ inputs: ProgramInputs; failures: CheckFailure[] }> {
  const failures: CheckFailure[] = [];
  unknownInputs("WorkerSecretBinding", news, failures);
  const { scriptName, storeId, accountId } = bindingTargetOf(news, failures);
  const bindingName = field(news, "bindingName", z.string(), failures, 'a JavaScript identifier, for example "STRIPE_KEY"');
  const secretName = field(news, "secretName", z.string(), failures, "the name of a secret in the store, for example `secret.name`");
  const bindingProblem = bindingName === undefined ? undefined : bindingNameProblem(bindingName);
  if (bindingProblem) failures.push({ property: "bindingName", reason: bindingProblem });
  if (secretName !== undefined) {
    const problem = secretNameProblem("secretName", secretName);
    if (problem) failures.push({ property: "secretName", reason: problem });
  }
  const inputs: ProgramInputs = { scriptName: news.scriptName, bindingName: news.bindingName, storeId: news.storeId, secretName: news.secretName };
  if (news.accountId !== undefined) inputs.accountId = news.accountId;

  // Parts not known yet at preview (a store or secret created in this deployment) are checked
  // against what this deployment plans for them, or on the next check.
  if (failures.length === 0 && !isUnknown(news.accountId)) {
    try {
      const settings = checkedSettings(accountId);
      usage.declare(settings.accountId, scriptName, bindingName);
      if (scriptName !== undefined && bindingName !== undefined) await checkWorker(settings, olds, { scriptName, bindingName, storeId, secretName }, failures);
      const missing = storeId !== undefined && olds.storeId !== storeId && (await view.storeSecrets(settings, storeId)) === undefined;
      if (missing) failures.push(missingStore(storeId, settings.accountId));
      else if (secretName !== undefined) {
        const binding = { scriptName: scriptName ?? "(not known yet)", bindingName: bindingName ?? "(not known yet)", secretName };
        await checkSecret(settings, binding, storeId ?? plannedStoreId(settings.accountId), failures);
      }
    } catch (err) {
      failures.push(apiCheckFailure(err, checkContext(accountId, storeId)));
    }
  }
  return { inputs: definedOnly(inputs), failures };
}

async function checkWorker(settings: Settings, olds: Partial<BindingState>, p: BindingRef, failures: CheckFailure[]): Promise<void> {
  const script = await readScript(settings, p.scriptName);
  if (!script) {
    failures.push({
      property: "scriptName",
      reason: `Worker "${p.scriptName}" does not exist in account ${settings.accountId}. Deploy it first (for example with \`wrangler deploy\`); if this program deploys it, pass its name as that resource's output (\`scriptName: script.scriptName\`) so the binding waits for it.`,
    });
    return;
  }
  const existing = script.bindings.find((b) => b.name === p.bindingName);
  const ours = olds.scriptName === p.scriptName && olds.bindingName === p.bindingName;
  if (existing && !ours && !isSame(existing, p)) {
    failures.push({
      property: "bindingName",
      reason: `Worker "${p.scriptName}" already has a binding named "${p.bindingName}" (${describe(existing)}) that this resource does not manage. Choose another \`bindingName\`, or remove that binding from the Worker first.`,
    });
  }
}

/** Adds a failure unless the secret `p.secretName` exists (or is created in this deployment) with the `workers` scope. */
export async function checkSecret(
  settings: Settings,
  p: BindingRef & { secretName: string },
  storeId: string | undefined,
  failures: CheckFailure[],
): Promise<void> {
  const planned = plannedSecret(settings.accountId, storeId, p.secretName);
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

export async function diff(_id: string, olds: BindingState, news: BindingInputs): Promise<pulumi.dynamic.DiffResult> {
  const replaces = accountReplaces(olds, news);
  if (news.scriptName !== olds.scriptName) replaces.push("scriptName");
  if (news.bindingName !== olds.bindingName) replaces.push("bindingName");
  const changes = replaces.length > 0 || news.storeId !== olds.storeId || news.secretName !== olds.secretName || (await drifted(news));
  return { changes, replaces, deleteBeforeReplace: false };
}

/**
 * Whether the Worker no longer has this binding as the program wants it (dropped by a deploy, or
 * by an interrupted `pulumi destroy`): then `up` writes it again, without a refresh first. The
 * Worker was read by this deployment's check already, so this costs no request.
 */
async function drifted(p: BindingInputs): Promise<boolean> {
  if (isUnknown(p.scriptName) || isUnknown(p.storeId) || isUnknown(p.secretName) || isUnknown(p.accountId)) return false;
  const script = await view.worker(resolveSettings(p.accountId), p.scriptName).catch(() => undefined);
  return (
    script !== undefined &&
    !isSame(
      script.bindings.find((b) => b.name === p.bindingName),
      p,
    )
  );
}

function outputsOf(p: BindingInputs, accountId: string): BindingState {
  return {
    ...p,
    accountId,
    wranglerConfig: { binding: p.bindingName, store_id: p.storeId, secret_name: p.secretName },
    workersScriptBinding: { type: STORE_BINDING, name: p.bindingName, storeId: p.storeId, secretName: p.secretName },
  };
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

export async function create(inputs: BindingInputs): Promise<pulumi.dynamic.CreateResult<BindingState>> {
  const settings = resolveSettings(inputs.accountId);
  const id = `${settings.accountId}/${inputs.scriptName}/${inputs.bindingName}`;
  const existed = await writeBinding(settings, inputs, ourBinding(inputs));
  if (existed) claim("WorkerSecretBinding", id); // the id is fixed: a replacement takes over the binding
  return { id, outs: outputsOf(inputs, settings.accountId) };
}

export async function read(id: string, props: BindingState): Promise<pulumi.dynamic.ReadResult<BindingState> | typeof GONE> {
  const settings = resolveSettings(props.accountId);
  const script = await readScript(settings, props.scriptName);
  const live = script?.bindings.find((b) => b.name === props.bindingName);
  if (!live || live.type !== STORE_BINDING) return GONE;
  return { id, props: outputsOf({ ...props, storeId: String(live.store_id), secretName: String(live.secret_name) }, settings.accountId) };
}

export async function update(_id: string, olds: BindingState, news: BindingInputs): Promise<pulumi.dynamic.UpdateResult<BindingState>> {
  const settings = resolveSettings(news.accountId ?? olds.accountId);
  await writeBinding(settings, news, ourBinding(news));
  return { outs: outputsOf(news, settings.accountId) };
}

export async function remove(_id: string, props: BindingState): Promise<void> {
  const settings = resolveSettings(props.accountId);
  await writeBinding(settings, props, undefined);
}
