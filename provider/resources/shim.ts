import type * as pulumi from "@pulumi/pulumi";
import type * as Runtime from "../runtime";
import type { ResourceKind } from "../runtime";

/**
 * The provider object Pulumi serializes into the state (`__provider`): a few lines that
 * `require` the installed package at call time. It captures only the resource kind: no token,
 * account id, client, schema or value. Because it requires the installed package, upgrading the
 * package also upgrades what refresh and destroy run for old state.
 *
 * Typed through the runtime's own module type (a type-only import, erased from the serialized
 * text): each call meets `providers[kind]`, typed per kind from its declaration (../fields).
 */
export function shimFor(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
  // One object per kind: Pulumi serializes a dynamic provider once per object (its cache is keyed by
  // the object), and serializing it again for each resource cost the program ~20 ms a resource.
  const shim = shims.get(kind) ?? newShim(kind);
  shims.set(kind, shim);
  return shim;
}

const shims = new Map<ResourceKind, pulumi.dynamic.ResourceProvider>();

function newShim(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
  const runtime = (): typeof Runtime => require("pulumi-cloudflare-secrets-store/runtime");
  return {
    configure: async (req) => runtime().configure(req),
    check: async (olds, news) => runtime().providers[kind].check(olds, news),
    diff: async (id, olds, news) => runtime().providers[kind].diff(id, olds, news),
    create: async (inputs) => runtime().providers[kind].create(inputs),
    read: async (id, props) => runtime().providers[kind].read(id, props),
    update: async (id, olds, news) => runtime().providers[kind].update(id, olds, news),
    delete: async (id, props) => runtime().providers[kind].delete(id, props),
  };
}
