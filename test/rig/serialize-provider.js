// Run with cwd = a staged program directory. Declares one resource of each kind under
// @pulumi/pulumi's mocks, exactly as a program does, and prints each serialized `__provider`
// (StoreSecret's `rotation.keepPrevious` declares the PreviousSecretCopy). Every kind of
// RESOURCE_KINDS (provider/runtime/kinds.ts) must be here: the rig fails naming a missing one.
const pulumi = require("@pulumi/pulumi");
const providers = {};
pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      providers[args.type] = args.inputs.__provider;
      return { id: `${args.name}-id`, state: args.inputs };
    },
    call: () => ({}),
  },
  "rig",
  "rig",
  false,
);
const pkg = require("pulumi-cloudflare-secrets-store");
new pkg.SecretsStore("store", { name: "default_secrets_store", adopt: true });
new pkg.StoreSecret("secret", { storeId: "s", name: "n", value: "v", scopes: ["workers"], rotation: { keepPrevious: true } });
new pkg.WorkerSecretBinding("binding", { scriptName: "w", bindingName: "B", storeId: "s", secretName: "n" });
new pkg.WorkerSecretBindings("bindings", { scriptName: "w", storeId: "s", bindings: { C: "n" } });
setTimeout(() => process.stdout.write(JSON.stringify(providers)), 500);
