/** The SecretsStore provider: adopt or create the account's store; release an adopted one on delete; refuse to delete a non-empty one. */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import * as api from "../api/secrets-store";
import { ignoreNotFound } from "../api/error";
import { maxStoresPerAccount, resolveSettings } from "./config";
import { accountReplaces, GONE } from "./failures";
import { claim, isOwnedStore, rememberOwnedStore, rememberStoreId } from "./deployment-memory";
import * as view from "./account-view";
import {
  accountIdOf,
  apiCheckFailure,
  checkContext,
  checkedSettings,
  definedOnly,
  field,
  isUnknown,
  storeNameProblem,
  unknownInputs,
  type CheckFailure,
} from "./rules";
import type { SecretsStoreInputs, SecretsStoreState } from "../fields/secrets-store";

/** What a program passes, unchecked (during preview, any value may be the unknown sentinel). */
type ProgramInputs = Record<string, unknown>;

/** The checked inputs (what {@link check} returns). */
type StoreInputs = SecretsStoreInputs;

/** The state after create, read or update: the inputs, and the store as Cloudflare answered. */
type StoreState = SecretsStoreState;

export async function check(olds: Partial<StoreState>, news: ProgramInputs): Promise<{ inputs: ProgramInputs; failures: CheckFailure[] }> {
  const failures: CheckFailure[] = [];
  unknownInputs("SecretsStore", news, failures);
  const name = field(news, "name", z.string(), failures, 'the store\'s name, for example "default_secrets_store"');
  const nameProblem = name === undefined ? undefined : storeNameProblem(name);
  if (nameProblem) failures.push({ property: "name", reason: nameProblem });
  const adopt = field(news, "adopt", z.boolean().optional(), failures, "true or false") ?? false;
  const forceDestroy = field(news, "forceDestroy", z.boolean().optional(), failures, "true or false") ?? false;
  const accountId = accountIdOf(news, failures);
  const inputs: ProgramInputs = { name: news.name, adopt, forceDestroy };
  if (news.accountId !== undefined) inputs.accountId = news.accountId;

  const isNew = olds.name === undefined || olds.name !== name;
  if (failures.length === 0 && name !== undefined && !isUnknown(news.accountId)) {
    try {
      const settings = checkedSettings(accountId);
      // The engine checks a replacement again without olds: remember which store is ours.
      if (olds.name !== undefined) rememberOwnedStore(settings.accountId, olds.name);
      if (isNew) {
        const stores = await view.listStores(settings);
        const same = stores.find((s) => s.name === name);
        const others = stores.filter((s) => s.name !== name && !isOwnedStore(settings.accountId, s.name));
        if (same && !adopt) {
          failures.push({
            property: "name",
            reason: `A store named "${name}" already exists in account ${settings.accountId} (id ${same.id}). Set \`adopt: true\` to manage it with this resource. If this resource already manages it and you asked for a replacement (\`pulumi up --replace\`, \`pulumi state taint\`): Pulumi checks a replacement as a new resource, so set \`adopt: true\` for that run; the replacement then takes over the same store, and nothing is deleted.`,
          });
        } else if (same) {
          rememberStoreId(settings.accountId, same.id);
        } else if (others[0] && others.length >= maxStoresPerAccount()) {
          const list = others.map((s) => `"${s.name}" (id ${s.id})`).join(", ");
          failures.push({
            property: "name",
            reason: `Creating store "${name}" would exceed the account's limit of ${maxStoresPerAccount()} store(s): it already has ${list}. Manage that store instead with \`name: "${others[0].name}", adopt: true\`.`,
          });
        }
      }
    } catch (err) {
      failures.push(apiCheckFailure(err, checkContext(accountId)));
    }
  }
  return { inputs: definedOnly(inputs), failures };
}

export async function diff(_id: string, olds: StoreState, news: StoreInputs): Promise<pulumi.dynamic.DiffResult> {
  const replaces = accountReplaces(olds, news);
  if (news.name !== olds.name) replaces.push("name");
  const changes = replaces.length > 0 || news.adopt !== olds.adopt || news.forceDestroy !== olds.forceDestroy;
  // Accounts hold one store: the old one must go before its replacement can exist.
  return { changes, replaces, deleteBeforeReplace: replaces.length > 0 };
}

function outputsOf(inputs: StoreInputs, accountId: string, store: api.Store): StoreState {
  return { ...inputs, accountId, name: store.name, created: store.created, modified: store.modified };
}

export async function create(inputs: StoreInputs): Promise<pulumi.dynamic.CreateResult<StoreState>> {
  const settings = resolveSettings(inputs.accountId);
  let store: api.Store | undefined;
  if (inputs.adopt) store = (await view.listStores(settings)).find((s) => s.name === inputs.name);
  if (store) claim("SecretsStore", store.id);
  if (!store) {
    store = await api.createStore(settings.api, settings.accountId, inputs.name);
    view.noteStore(settings, store);
  }
  return { id: store.id, outs: outputsOf(inputs, settings.accountId, store) };
}

export async function read(id: string, props: StoreState): Promise<pulumi.dynamic.ReadResult<StoreState> | typeof GONE> {
  const settings = resolveSettings(props.accountId);
  const store = await ignoreNotFound(api.getStore(settings.api, settings.accountId, id));
  return store ? { id, props: outputsOf(props, settings.accountId, store) } : GONE;
}

export async function update(_id: string, olds: StoreState, news: StoreInputs): Promise<pulumi.dynamic.UpdateResult<StoreState>> {
  return { outs: { ...olds, adopt: news.adopt, forceDestroy: news.forceDestroy } };
}

/**
 * Deletes the store, or, when this resource adopted it (`adopt: true`, the account's one store that
 * other stacks share), releases it: the store and its secrets stay, only the state forgets it.
 * `forceDestroy` asks to delete it all the same, with the secrets it holds.
 */
export async function remove(id: string, props: StoreState): Promise<void> {
  if (props.adopt && !props.forceDestroy) return;
  const settings = resolveSettings(props.accountId);
  const secrets = await view.storeSecrets(settings, id);
  if (!secrets) return;
  if (secrets.length > 0 && !props.forceDestroy) {
    const names =
      secrets
        .slice(0, 5)
        .map((s) => s.name)
        .join(", ") + (secrets.length > 5 ? ", …" : "");
    throw new Error(
      `Store "${props.name}" (${id}) still holds ${secrets.length} secret(s) (${names}); it was not deleted. Delete those secrets first, or set \`forceDestroy: true\` on the store (and run \`pulumi up\`) to delete them with it.`,
    );
  }
  await ignoreNotFound(api.deleteStore(settings.api, settings.accountId, id, secrets.length > 0));
}
