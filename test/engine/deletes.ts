/**
 * Deleting resources the way the Go engine's `ScheduleDeletes` does: the condemned set is split into
 * antichains (resources that do not depend on each other) so that every resource is deleted only
 * after everything that depends on it (through its parent, dependencies, property dependencies or
 * provider); each antichain may run in parallel.
 */
import type { DynamicProvider } from "./provider";
import type { ResourceState } from "./state";
import { isDynamicType, providerRefUrn } from "./urn";

/** Everything a resource depends on, by URN (its parent too, unless `parent: false`). */
export function dependenciesOf(r: ResourceState, options: { parent: boolean } = { parent: true }): Set<string> {
  const deps = new Set<string>(r.dependencies);
  if (r.parent && options.parent) deps.add(r.parent);
  if (r.provider) deps.add(providerRefUrn(r.provider));
  for (const urns of Object.values(r.propertyDependencies ?? {})) for (const u of urns) deps.add(u);
  deps.delete(r.urn);
  return deps;
}

/** The condemned resources in deletion order: a list of antichains, dependents first. */
export function scheduleDeletes(condemned: readonly ResourceState[]): ResourceState[][] {
  const remaining = new Set(condemned);
  const layers: ResourceState[][] = [];
  while (remaining.size > 0) {
    const urns = new Set([...remaining].map((r) => r.urn));
    const layer = [...remaining].filter((r) => ![...dependenciesOf(r)].some((u) => urns.has(u)));
    if (layer.length === 0) throw new Error("dependency cycle among the resources to delete");
    for (const r of layer) remaining.delete(r);
    layers.push(layer);
  }
  return layers.reverse();
}

/**
 * Deletes one resource: custom dynamic resources through the provider (unless `retainOnDelete`);
 * components, the stack and the default provider only leave the state. Protected resources fail.
 */
export async function deleteResource(provider: DynamicProvider, r: ResourceState): Promise<void> {
  if (r.protect) {
    throw new Error(
      `unable to delete resource "${r.urn}"\nas it is currently marked for protection. To unprotect the resource, ` +
        "remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`",
    );
  }
  if (r.custom && isDynamicType(r.type) && !r.retainOnDelete && r.id) await provider.delete(r.urn, r.id, r.outputs);
}
