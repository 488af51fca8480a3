/**
 * The checks of a StoreSecret that read the account, at preview: the store and a `duplicateOf`
 * source exist, the name (and the copy's name) is free, a rename's source, the quota, and a
 * `workers` scope removal while Workers bind the secret. Reads only, never writes.
 */
import * as view from "./account-view";
import * as usage from "./usage";
import { deleteWhenBoundByConfig, type Settings } from "./config";
import {
  acceptBreak,
  isOwned,
  rememberCopy,
  rememberOwned,
  rememberRename,
  rememberedRename,
  rememberSecret,
  rememberedStoreId,
  reserveQuota,
} from "./deployment-memory";
import { isCopyOf } from "./previous-secret-copy";
import { checkedSettings, HEX_ID, isUnknown, missingStore, UNKNOWN, type CheckFailure } from "./rules";
import { currentCopy } from "./secret-rotation-plan";
import type { StoreSecretState } from "../fields/store-secret";

type SecretState = StoreSecretState;
type ProgramInputs = Record<string, unknown>;

/**
 * Read-only lookups before anything else reads the store: the store exists (a missing one would
 * otherwise look empty), and a `duplicateOf` source exists in it when this check creates the copy.
 */
export async function storeAndSourceExist(
  olds: Partial<SecretState>,
  inputs: ProgramInputs,
  storeId: string | undefined,
  duplicateOf: { secretId: string } | undefined,
  accountId: string | undefined,
  failures: CheckFailure[],
): Promise<boolean> {
  const creates =
    olds.name === undefined || olds.storeId !== storeId || JSON.stringify(olds.duplicateOf ?? null) !== JSON.stringify(inputs.duplicateOf ?? null);
  // A secret that stays where it is needs no lookup (a store deleted since shows at refresh).
  if (!creates) return true;
  const settings = checkedSettings(accountId);
  if (storeId !== undefined && (await view.storeSecrets(settings, storeId)) === undefined) {
    failures.push(missingStore(storeId, settings.accountId));
    return false;
  }
  // At a new stack's preview the store's id is unknown: the store a SecretsStore here adopts stands in.
  const store = storeId ?? rememberedStoreId(settings.accountId);
  if (store === undefined) return true;
  if (duplicateOf && HEX_ID.test(duplicateOf.secretId) && !(await view.secretById(settings, store, duplicateOf.secretId))) {
    failures.push({
      property: "duplicateOf",
      reason: `\`duplicateOf.secretId\` ${duplicateOf.secretId} is not a secret in store ${store}, so there is nothing to copy. Pass the \`id\` of a secret in the same store (\`duplicateOf: { secretId: other.id }\`, which also makes sure it is created first).`,
    });
    return false;
  }
  return true;
}

/**
 * The checks that read the account: name taken, previous-copy name taken, rename source, quota.
 * Reads only, never writes. A store created in this deployment has no id yet: the store a
 * SecretsStore in this deployment adopts is used instead, and the quota is counted either way.
 *
 * The engine checks a replacement a second time without olds, so what the first check learns
 * (this resource owns the name; a rename's source) is remembered in the process for the second.
 */
export async function checkAgainstAccount(
  olds: Partial<SecretState>,
  inputs: ProgramInputs,
  knownStoreId: string | undefined,
  name: string,
  scopes: string[] | undefined,
  accountId: string | undefined,
  failures: CheckFailure[],
): Promise<void> {
  const settings = checkedSettings(accountId);
  const storeId = knownStoreId ?? rememberedStoreId(settings.accountId);
  const find = (n: string) => (storeId === undefined ? undefined : view.findSecret(settings, storeId, n));
  const isNew = olds.name === undefined;
  const moved = !isNew && (olds.name !== name || olds.storeId !== knownStoreId);
  if (!isNew && !moved) rememberOwned(settings.accountId, storeId, name);
  const owned = isNew && isOwned(settings.accountId, storeId, name);
  let creates = 0;
  if (isNew || moved) {
    const existing = await find(name);
    if (existing && !inputs.adopt && !owned) {
      failures.push({
        property: "name",
        reason: `A secret named "${name}" already exists in store ${storeId} (id ${existing.id}) and this resource does not manage it. Set \`adopt: true\` to take it over (its value, scopes and comment are then set from this program), or choose another name. If this resource already manages it and you asked for a replacement (\`pulumi up --replace\`, \`pulumi state taint\`): Pulumi checks a replacement as a new resource, and a secret keeps its name, so set \`adopt: true\` for that run; the replacement then takes over the same secret and writes it from the program, and nothing is deleted. If a \`pulumi up\` that was interrupted (killed, or its provider process died) was creating this secret, it is that secret: set \`adopt: true\` for one run, then remove it (see docs/troubleshooting.md).`,
      });
      return;
    }
    if (!existing) creates += 1;
    if (knownStoreId !== undefined && inputs.value === undefined) {
      // A rename without the value in the program copies the old secret under the new name.
      const source = moved && olds.storeId === knownStoreId && olds.name !== undefined ? await find(olds.name) : undefined;
      if (source) rememberRename(settings.accountId, knownStoreId, name, source.id);
      const from = rememberedRename(settings.accountId, knownStoreId, name);
      if (from) inputs.renameFrom = { secretId: from };
      else if (!existing && !inputs.duplicateOf) {
        failures.push({
          property: "adopt",
          reason: `Secret "${name}" does not exist in store ${knownStoreId}, so there is nothing to adopt. Give it a \`value\` (or \`duplicateOf\`) to create it, or fix the name.`,
        });
      }
    }
  }
  const copyName: unknown = inputs.copyName;
  if (typeof copyName === "string" && copyName !== UNKNOWN && (isNew || moved || copyName !== currentCopy(olds))) {
    const copy = await find(copyName);
    if (!copy) creates += 1;
    else if (
      !isCopyOf(
        copy.comment,
        [name, olds.name].filter((n): n is string => n !== undefined),
      )
    ) {
      failures.push({
        property: "rotation",
        reason: `The previous-value copy's name "${copyName}" is taken by another secret (id ${copy.id}) that is not a copy of "${name}"; rotation would overwrite it. Choose another \`rotation.previousName\`.`,
      });
    }
  }
  if (storeId !== undefined && !isUnknown(copyName)) rememberCopy(settings.accountId, storeId, name, typeof copyName === "string" ? copyName : undefined);
  if (moved && inputs.deleteWhenBound === true && olds.storeId !== undefined) {
    for (const n of [olds.name, currentCopy(olds)]) if (typeof n === "string") acceptBreak(settings.accountId, olds.storeId, n);
  }
  if (!isNew && !moved && storeId !== undefined && scopes && !inputs.deleteWhenBound && !deleteWhenBoundByConfig()) {
    await checkScopeRemoval(settings, storeId, olds, name, scopes, failures);
  }
  if (creates > 0 && !owned) {
    const problem = await reserveQuota(settings, `${storeId ?? "(new store)"}/${name}`, creates);
    if (problem) failures.push({ property: "name", reason: problem });
  }
  rememberSecret(settings.accountId, storeId, name, scopes, name);
  if (typeof copyName === "string") rememberSecret(settings.accountId, storeId, copyName, scopes, name);
}

/**
 * Removing the `workers` scope from a secret that Workers bind (the secret or its copy) fails the
 * preview, naming them: Cloudflare checks the scope on every use, so each would fail. The check
 * runs before the program's bindings are checked, so a binding this program removes in the same
 * deployment counts too (remove it in one `up`, the scope in the next).
 */
async function checkScopeRemoval(
  settings: Settings,
  storeId: string,
  olds: Partial<SecretState>,
  name: string,
  scopes: string[],
  failures: CheckFailure[],
): Promise<void> {
  if (!Array.isArray(olds.scopes) || !olds.scopes.includes("workers") || scopes.includes("workers")) return;
  const uses = await usage.usesOf(
    settings,
    storeId,
    [name, currentCopy(olds)].filter((n): n is string => typeof n === "string"),
  );
  if (uses.length === 0) return;
  failures.push({
    property: "scopes",
    reason: usage.refusal(
      settings,
      `remove the \`workers\` scope from secret "${name}"`,
      uses,
      'keep "workers" in `scopes` until those bindings are gone (for a binding this program declares: remove it in one `pulumi up`, the scope in the next), or set `deleteWhenBound: true` on this StoreSecret',
      false,
    ),
  });
}
