/**
 * The StoreSecret provider: the lifecycle (check/diff/create/read/update/delete) of one Secrets
 * Store secret, with a write-only value (see ./values, ./secret-value-check) and rotation that
 * keeps the previous value as a copy (see ./secret-rotation-plan). The checks that read the
 * account at preview are in ./secret-account-checks.
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import * as api from "../api/secrets-store";
import { accountReplaces, GONE, partialFailure } from "./failures";
import { claim, isBreakAccepted, isRecreated, rememberRecreate } from "./deployment-memory";
import {
  accountIdOf,
  apiCheckFailure,
  checkContext,
  commentProblem,
  definedOnly,
  field,
  isUnknown,
  normalizeScopes,
  sameSet,
  secretNameProblem,
  storeIdOf,
  UNKNOWN,
  unknownInputs,
  validId,
  type CheckFailure,
} from "./rules";
import { accountIdFor, deleteWhenBoundByConfig, resolveSettings, type Settings } from "./config";
import { isWritten, recall, VALUE_WRITTEN } from "./values";
import * as view from "./account-view";
import * as batches from "./secret-batches";
import { copyComment } from "./previous-secret-copy";
import * as usage from "./usage";
import type { StoreSecretInputs, StoreSecretState } from "../fields/store-secret";
import { checkAgainstAccount, storeAndSourceExist } from "./secret-account-checks";
import { currentCopy, planRotation, versionOf } from "./secret-rotation-plan";
import { checkValue } from "./secret-value-check";

/** What a program passes, unchecked: at preview any value may be the engine's unknown sentinel. */
type ProgramInputs = Record<string, unknown>;

/** A StoreSecret's checked inputs: what {@link check} answers and the state keeps as its inputs. */
type SecretInputs = StoreSecretInputs;

/** The state after create, read or update: the inputs, and the secret as Cloudflare answered. */
type SecretState = StoreSecretState;

const Rotation = z.object({ keepPrevious: z.boolean(), previousName: z.string().optional() }).strict();
const DuplicateOf = z.object({ secretId: z.string().min(1) }).strict();
const ValueFrom = z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/) }).strict();

/** The checked inputs of a StoreSecret: what the state keeps as its inputs. */
export async function check(olds: Partial<SecretState>, news: ProgramInputs): Promise<{ inputs: ProgramInputs; failures: CheckFailure[] }> {
  const failures: CheckFailure[] = [];
  unknownInputs("StoreSecret", news, failures);
  const storeId = storeIdOf(news, failures);
  const name = field(news, "name", z.string(), failures, 'the secret\'s name, for example "stripe_api_key"');
  const rawScopes = field(news, "scopes", z.array(z.string()), failures, 'a list of scopes, for example ["workers"]');
  const comment = field(news, "comment", z.string().optional(), failures, "a string");
  const adopt = field(news, "adopt", z.boolean().optional(), failures, "true or false") ?? false;
  const allowLargeValue = field(news, "allowLargeValue", z.boolean().optional(), failures, "true or false") ?? false;
  const deleteWhenBound = field(news, "deleteWhenBound", z.boolean().optional(), failures, "true or false");
  const accountId = accountIdOf(news, failures);
  const rotation = field(news, "rotation", Rotation.optional(), failures, "`{ keepPrevious: boolean, previousName?: string }`");
  const duplicateOf = field(news, "duplicateOf", DuplicateOf.optional(), failures, "`{ secretId: string }`, for example `{ secretId: other.id }`");
  const valueFrom = field(news, "valueFrom", ValueFrom.optional(), failures, '`{ env: "NAME" }`, the name of an environment variable such as "STRIPE_KEY"');

  if (name !== undefined) {
    const problem = secretNameProblem("name", name);
    if (problem) failures.push({ property: "name", reason: problem });
  }
  const scopes = rawScopes && normalizeScopes("scopes", rawScopes, failures);
  const commentIssue = comment === undefined ? undefined : commentProblem(comment);
  if (commentIssue) failures.push({ property: "comment", reason: commentIssue });
  if (duplicateOf && !isUnknown(duplicateOf.secretId)) {
    validId(duplicateOf.secretId, "duplicateOf", "a secret id", "`{ secretId: other.id }`, the id of a StoreSecret in the same store", failures);
  }
  if (adopt && (duplicateOf || isUnknown(news.duplicateOf))) {
    failures.push({
      property: "duplicateOf",
      reason:
        "`adopt` and `duplicateOf` contradict each other: `adopt` takes over an existing secret and keeps it, `duplicateOf` creates a new secret as a copy of another. Remove one of them.",
    });
  }
  if (rotation && !rotation.keepPrevious && rotation.previousName !== undefined) {
    failures.push({
      property: "rotation",
      reason:
        "`rotation.previousName` only applies with `keepPrevious: true` (it names the copy of the previous value); with `keepPrevious: false` there is no copy. Remove `previousName`, or set `keepPrevious: true`.",
    });
  }

  const inputs: ProgramInputs = {
    storeId: news.storeId,
    name: news.name,
    scopes: scopes ?? news.scopes,
    // Unknown at preview stays unknown: a guess would show a false diff.
    comment: isUnknown(news.comment) ? UNKNOWN : (comment ?? ""),
    adopt,
    allowLargeValue: isUnknown(news.allowLargeValue) ? UNKNOWN : allowLargeValue,
  };
  if (accountId !== undefined || isUnknown(news.accountId)) inputs.accountId = news.accountId;
  if (duplicateOf || isUnknown(news.duplicateOf)) inputs.duplicateOf = news.duplicateOf;
  if (deleteWhenBound !== undefined) inputs.deleteWhenBound = deleteWhenBound;
  if (valueFrom) inputs.valueFrom = valueFrom;

  const { value, changed } = await checkValue(olds, news, inputs, { name, accountId, duplicateOf, valueFrom, allowLargeValue }, failures);
  if (value !== undefined) inputs.value = value;

  // A non-secret version that moves when the value does, so a reviewer sees a rotation in the preview.
  const oldVersion = versionOf(olds);
  const valueChanged = olds.name !== undefined && changed;
  inputs.valueVersion = inputs.value === UNKNOWN && olds.name !== undefined ? UNKNOWN : valueChanged ? oldVersion + 1 : oldVersion;

  planRotation(olds, inputs, rotation, name, news.storeId, valueChanged, failures);

  if (failures.length === 0 && name !== undefined && !isUnknown(news.accountId)) {
    try {
      if (await storeAndSourceExist(olds, inputs, storeId, duplicateOf, accountId, failures)) {
        await checkAgainstAccount(olds, inputs, storeId, name, scopes, accountId, failures);
      }
    } catch (err) {
      failures.push(apiCheckFailure(err, checkContext(accountId, storeId)));
    }
  }
  return { inputs: definedOnly(inputs), failures };
}

export async function diff(_id: string, olds: SecretState, news: SecretInputs): Promise<pulumi.dynamic.DiffResult> {
  const replaces = accountReplaces(olds, news);
  if (news.storeId !== olds.storeId) replaces.push("storeId");
  if (news.name !== olds.name) replaces.push("name");
  // A duplicate changes value only through another duplicate; the name stays, so the old one goes first.
  const resourced = JSON.stringify(news.duplicateOf ?? null) !== JSON.stringify(olds.duplicateOf ?? null) && news.duplicateOf !== undefined;
  if (resourced && news.name === olds.name) {
    replaces.push("duplicateOf");
    // The same name comes back at once, so a Worker's binding to it resolves again: not a break.
    const accountId = accountIdFor(olds.accountId);
    if (accountId && news.storeId === olds.storeId) rememberRecreate(accountId, olds.storeId, olds.name);
  }
  const changed =
    replaces.length > 0 ||
    news.value === UNKNOWN ||
    // The version moves with the value; a fingerprint moved to the current format is no change.
    (news.value !== undefined && !isWritten(olds.value)) ||
    !sameSet(news.scopes, olds.scopes) ||
    (news.comment ?? "") !== (olds.comment ?? "") ||
    news.previousName !== olds.previousName ||
    news.copyName !== (olds.copyName ?? olds.previousName) ||
    news.valueVersion !== olds.valueVersion ||
    (news.previousName !== undefined && !olds.previousId) ||
    (news.deleteWhenBound ?? false) !== (olds.deleteWhenBound ?? false);
  return { changes: changed, replaces, deleteBeforeReplace: replaces.includes("duplicateOf") && !replaces.includes("name") };
}

/** The plaintext for `inputs.value`, or a clear error: an empty or wrong value is never written. */
function plaintextOf(inputs: SecretInputs, secretName: string): string {
  const value = inputs.value === undefined ? undefined : recall(inputs.value);
  if (value === undefined) {
    throw new Error(
      `The value of secret "${secretName}" is not in this provider process's memory: Pulumi state never holds it, and it reaches create/update only from the check of the same deployment. Run \`pulumi up\` again (a plain \`pulumi up\`, which checks every resource) so the value from your program is written.`,
    );
  }
  return value;
}

/** PATCHes a secret and records the answer in this deployment's view. */
async function patchSecret(settings: Settings, storeId: string, id: string, patch: api.SecretPatch): Promise<api.Secret> {
  const secret = await api.patchSecret(settings.api, settings.accountId, storeId, id, patch);
  view.noteSecret(settings, secret);
  return secret;
}

/** Duplicates a secret and records the copy in this deployment's view. */
async function duplicateSecret(settings: Settings, storeId: string, sourceId: string, copy: api.DuplicateSecret): Promise<api.Secret> {
  const secret = await api.duplicateSecret(settings.api, settings.accountId, storeId, sourceId, copy);
  view.noteSecret(settings, secret);
  return secret;
}

function outputsOf(
  inputs: SecretInputs & Partial<SecretState>,
  settings: Settings,
  secret: api.Secret,
  previousId: string | undefined,
  boundBy: usage.Use[] | undefined,
): SecretState {
  const { renameFrom: _, previousId: __, drift: ___, rotationPlan: ____, ...rest } = inputs;
  return {
    ...rest,
    // The fingerprint stays in the inputs; the outputs say only that the value is written (or why it may not be).
    ...(rest.value !== undefined ? { value: isWritten(rest.value) ? VALUE_WRITTEN : rest.value } : {}),
    accountId: settings.accountId,
    storeId: secret.store_id,
    name: secret.name,
    scopes: [...secret.scopes].sort(),
    comment: secret.comment,
    status: secret.status,
    created: secret.created,
    modified: secret.modified,
    boundBy: boundBy ?? [],
    ...(previousId ? { previousId } : {}),
  };
}

/**
 * Makes the copy `copyName` of the live secret, which holds value version `version`. A copy this
 * rotation already made (a retried `up`) is kept, so there is never a second one; a secret under
 * that name that is not that copy is never touched. Older copies are deleted by the
 * PreviousSecretCopy, after the fallback bindings moved to this one.
 */
async function copyPrevious(
  settings: Settings,
  storeId: string,
  sourceId: string,
  name: string,
  copyName: string,
  scopes: string[],
  version: number,
): Promise<string> {
  const existing = await view.findSecret(settings, storeId, copyName);
  const comment = copyComment(name, version);
  if (existing?.comment === comment) return existing.id;
  if (existing) {
    throw new Error(
      `Secret "${copyName}" (id ${existing.id}) is not the copy of version ${version} of "${name}"; rotation left it alone. Choose another \`rotation.previousName\`.`,
    );
  }
  const copy = await duplicateSecret(settings, storeId, sourceId, { name: copyName, scopes, comment });
  return copy.id;
}

/** Who binds the secret and its copy, from the usage index (built by the first caller in a deployment). */
async function bindingsOf(settings: Settings, storeId: string, names: unknown[]): Promise<usage.Use[]> {
  return usage.usesOf(
    settings,
    storeId,
    names.filter((n): n is string => typeof n === "string"),
  );
}

export async function create(inputs: SecretInputs): Promise<pulumi.dynamic.CreateResult<SecretState>> {
  const settings = resolveSettings(inputs.accountId);
  const { storeId, name, scopes, comment } = inputs as { storeId: string; name: string; scopes: string[]; comment: string };
  const value = inputs.value !== undefined ? plaintextOf(inputs, name) : undefined;
  // A rename copies the old secret, which may differ from the one it was first duplicated from.
  const source = inputs.renameFrom?.secretId ?? inputs.duplicateOf?.secretId;

  let secret: api.Secret | undefined;
  if (inputs.adopt) {
    const existing = await view.findSecret(settings, storeId, name);
    if (existing) {
      claim("StoreSecret", existing.id);
      secret = await patchSecret(settings, storeId, existing.id, { ...(value !== undefined ? { value } : {}), scopes, comment });
    }
  }
  if (!secret && source) {
    secret = await duplicateSecret(settings, storeId, source, { name, scopes, comment });
  }
  if (!secret) {
    if (value === undefined) {
      throw new Error(
        `Secret "${name}" does not exist in store ${storeId}, so there is nothing to adopt; give it a \`value\` (or \`duplicateOf\`) to create it.`,
      );
    }
    secret = await batches.createSecret(settings, storeId, { name, value, scopes, comment });
  }

  try {
    // A new secret may come back `pending`; its status is reported as Cloudflare gives it (refresh
    // updates it), never waited for: a wait would cost a read per secret.
    let previousId: string | undefined;
    if (inputs.copyName) {
      previousId = await copyPrevious(settings, storeId, secret.id, name, inputs.copyName, scopes, inputs.valueVersion);
    }
    // A new secret has no Worker yet; one taken over may have some.
    const boundBy = inputs.adopt ? await bindingsOf(settings, storeId, [name, inputs.copyName]) : [];
    return { id: secret.id, outs: outputsOf(inputs, settings, secret, previousId, boundBy) };
  } catch (err) {
    throw partialFailure(err, secret.id, outputsOf(inputs, settings, secret, undefined, []));
  }
}

export async function read(id: string, props: SecretState): Promise<pulumi.dynamic.ReadResult<SecretState> | typeof GONE> {
  const settings = resolveSettings(props.accountId);
  // Every secret of a store is read with one list per deployment, not one request each.
  const secret = await view.secretById(settings, props.storeId, id);
  if (!secret) return GONE;
  const copyName = currentCopy(props);
  const outs = outputsOf(
    props,
    settings,
    secret,
    props.previousId,
    await bindingsOf(settings, props.storeId, [secret.name, copyName]).catch(() => props.boundBy),
  );
  if (props.modified && secret.modified !== props.modified && isWritten(props.value)) {
    // Changed outside Pulumi: we cannot read the value, so assume it changed and write ours again.
    outs.value = `changed-outside-pulumi:${secret.modified}`;
    outs.drift = `Secret "${secret.name}" was modified outside Pulumi at ${secret.modified}; its value may differ from the program's, so the next \`pulumi up\` writes the value from code again.`;
  }
  if (copyName) {
    const copy = await view.findSecret(settings, props.storeId, copyName);
    if (copy) outs.previousId = copy.id;
    else delete outs.previousId;
  }
  return { id, props: outs };
}

export async function update(id: string, olds: SecretState, news: SecretInputs): Promise<pulumi.dynamic.UpdateResult<SecretState>> {
  const settings = resolveSettings(news.accountId ?? olds.accountId);
  const { storeId, name, scopes, comment } = news as { storeId: string; name: string; scopes: string[]; comment: string };
  const patch: api.SecretPatch = {};
  // Written when the program's value changed, or when the live value is not known to be ours (a
  // failed write, or a change outside Pulumi that refresh found).
  if (news.value !== undefined && (news.valueVersion !== olds.valueVersion || !isWritten(olds.value))) patch.value = plaintextOf(news, name);
  if (!sameSet(scopes, olds.scopes)) patch.scopes = scopes;
  if (comment !== (olds.comment ?? "")) patch.comment = comment;

  // The old copy is deleted by the PreviousSecretCopy, after the bindings that use it have moved
  // to the new one: never here.
  let previousId: string | undefined = news.copyName === currentCopy(olds) ? olds.previousId : undefined;
  if (news.copyName && (patch.value !== undefined || !previousId)) {
    // Keep what is live now as the previous value before the new one is written.
    previousId = await copyPrevious(settings, storeId, id, name, news.copyName, scopes, olds.valueVersion ?? 1);
  } else if (news.copyName && previousId && patch.scopes) {
    await patchSecret(settings, storeId, previousId, { scopes });
  }
  let secret: api.Secret;
  try {
    secret = Object.keys(patch).length
      ? await patchSecret(settings, storeId, id, patch)
      : ((await view.secretById(settings, storeId, id)) ?? (await api.getSecret(settings.api, settings.accountId, storeId, id)));
  } catch (err) {
    // The write may have landed: record the value as unknown so the next `up` writes it again,
    // whatever the program says by then (a revert included).
    const unknownValue = patch.value !== undefined ? { value: "unknown-after-failed-write" } : {};
    throw partialFailure(err, id, { ...olds, ...unknownValue, ...(previousId ? { previousId } : {}), __provider: news.__provider });
  }
  return { outs: outputsOf(news, settings, secret, previousId, olds.boundBy) };
}

/**
 * Deletes the secret, unless a Worker still binds it: then nothing is deleted and the error names
 * each Worker and binding (a delete runs after every binding of the program moved or went), unless
 * `deleteWhenBound` or the secret comes back under the same name in this deployment. Its
 * previous-value copies are deleted by its own PreviousSecretCopy.
 */
export async function remove(id: string, props: SecretState): Promise<void> {
  const settings = resolveSettings(props.accountId);
  const accepted =
    props.deleteWhenBound === true ||
    deleteWhenBoundByConfig() ||
    isBreakAccepted(settings.accountId, props.storeId, props.name) ||
    isRecreated(settings.accountId, props.storeId, props.name);
  const guard: batches.DeleteGuard = {
    name: props.name,
    refuse: (uses) => new Error(usage.refusal(settings, `delete secret "${props.name}" (id ${id}) from store ${props.storeId}`, uses, usage.DELETE_WHEN_BOUND)),
  };
  await batches.deleteSecret(settings, props.storeId, id, accepted ? undefined : guard);
}
