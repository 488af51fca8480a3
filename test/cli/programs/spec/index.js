// A program whose resources come from the stack config `spec` (plain JSON) and whose secret
// values come from the secret stack config `values` (a JSON object, name → value), so one
// staged program serves every case of the fault-matrix and kill tests (plain JS: no compile).
//
// spec = {
//   stores:   [{ key, name, adopt?, forceDestroy? }],
//   secrets:  [{ key, name, storeId? | storeKey?, valueKey? | valueFromEnv?, scopes, comment?, adopt?,
//                keepPrevious?, previousName?, duplicateOfKey? }],
//   bindings: [{ key, scriptName, bindingName, storeId? | storeKey?, secretKey? | secretName?, previous? }],
// }
"use strict";
const pulumi = require("@pulumi/pulumi");
const { SecretsStore, StoreSecret, WorkerSecretBinding } = require("pulumi-cloudflare-secrets-store");

const cfg = new pulumi.Config();
const spec = cfg.getObject("spec") || {};
const values = cfg.getSecretObject("values") || pulumi.secret({});

const stores = {};
for (const s of spec.stores || []) {
  stores[s.key] = new SecretsStore(s.key, { name: s.name, adopt: !!s.adopt, forceDestroy: !!s.forceDestroy });
}
const storeOf = (x) => (x.storeKey ? stores[x.storeKey].id : x.storeId);

const secrets = {};
for (const s of spec.secrets || []) {
  secrets[s.key] = new StoreSecret(s.key, {
    storeId: storeOf(s),
    name: s.name,
    value: s.valueKey ? values.apply((v) => v[s.valueKey]) : undefined,
    valueFrom: s.valueFromEnv ? { env: s.valueFromEnv } : undefined,
    scopes: s.scopes,
    comment: s.comment,
    adopt: s.adopt,
    duplicateOf: s.duplicateOfKey ? { secretId: secrets[s.duplicateOfKey].id } : undefined,
    rotation: s.keepPrevious ? { keepPrevious: true, previousName: s.previousName } : undefined,
  });
}

// `raw`: resources whose arguments are passed exactly as given (the bad-input tests), with the
// value from the secret config `values` under `valueKey` when given.
for (const r of spec.raw || []) {
  const Kind = { SecretsStore, StoreSecret, WorkerSecretBinding }[r.kind];
  const args = { ...r.args };
  if (r.valueKey) args.value = values.apply((v) => v[r.valueKey]);
  for (const k of r.secret || []) args[k] = pulumi.secret(args[k]);
  new Kind(r.key, args);
}

for (const b of spec.bindings || []) {
  const secret = b.secretKey ? secrets[b.secretKey] : undefined;
  new WorkerSecretBinding(b.key, {
    scriptName: b.scriptName,
    bindingName: b.bindingName,
    storeId: storeOf(b),
    secretName: secret ? (b.previous ? secret.previousName : secret.name) : b.secretName,
  });
}

exports.ids = Object.fromEntries(Object.entries(secrets).map(([k, s]) => [k, s.id]));
