/**
 * Pulumi URNs: `urn:pulumi:<stack>::<project>::<qualified type>::<name>`, where the qualified type
 * is the parent's qualified type, `$`, then the type (the root stack's type is left out), as the Go
 * engine's `generateURN` builds them.
 */

/** The type of the root stack resource. */
export const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";
/** The package of dynamic resources; they are served by the dynamic provider host. */
export const DYNAMIC_PACKAGE = "pulumi-nodejs";
/** The type of the default provider resource that serves dynamic resources. */
export const DYNAMIC_PROVIDER_TYPE = `pulumi:providers:${DYNAMIC_PACKAGE}`;

/** Builds a resource URN. */
export function createUrn(stack: string, project: string, parent: string | undefined, type: string, name: string): string {
  const parentType = parent ? qualifiedType(parent) : "";
  const qualified = parentType && parentType !== ROOT_STACK_TYPE ? `${parentType}$${type}` : type;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/** The qualified type of a URN (`parent$type`). */
export function qualifiedType(urn: string): string {
  return urn.split("::")[2] ?? "";
}

/** The resource name of a URN (it may itself contain `::`). */
export function urnName(urn: string): string {
  return urn.split("::").slice(3).join("::");
}

/** The resource type of a URN (the last segment of its qualified type). */
export function urnType(urn: string): string {
  return qualifiedType(urn).split("$").pop() ?? "";
}

/** True for any provider resource type (`pulumi:providers:<pkg>`). */
export function isProviderType(type: string): boolean {
  return type.startsWith("pulumi:providers:");
}

/** True for a dynamic resource type (`pulumi-nodejs:dynamic[/module]:<Type>`). */
export function isDynamicType(type: string): boolean {
  return type.split(":")[0] === DYNAMIC_PACKAGE;
}

/** The provider URN of a provider reference (`<urn>::<id>`). */
export function providerRefUrn(ref: string): string {
  return ref.slice(0, ref.lastIndexOf("::"));
}
