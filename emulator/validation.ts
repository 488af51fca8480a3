/** Path parameters, body validation (zod → 400 envelopes naming each bad field) and list query parsing. */
import type { z } from "zod";
import { parseJson } from "./body";
import type { RequestContext } from "./context";
import { ApiError, apiError, routeNotFound } from "./envelope";

/** A path parameter that the route's pattern names (`:store_id`); Cloudflare's 404 if it has none. */
export function pathParam(ctx: RequestContext, name: string): string {
  const value = ctx.params[name];
  if (value === undefined) throw routeNotFound(ctx.apiPath);
  return value;
}

/** Parse the request's JSON body with `schema` (see {@link parseWith}). */
export function parseJsonBody<S extends z.ZodType>(ctx: RequestContext, schema: S, code: number, expected: string): z.output<S> {
  return parseWith(schema, parseJson(ctx.body, ctx.contentType), code, expected);
}

/** Parse `value` with `schema`, or throw a 400 whose errors name each bad field and what was expected. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, code: number, expected: string): z.output<S> {
  if (value === undefined) throw apiError(400, code, `A JSON request body is required: ${expected}`);
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ApiError(
    400,
    result.error.issues.map((issue) => {
      const where = issue.path.length ? issue.path.map(String).join(".") : "the top level";
      return {
        code,
        message: `Invalid request body at ${where}: ${issue.message} (expected ${expected})`,
        source: { pointer: `/${issue.path.map(String).join("/")}` },
      };
    }),
  );
}

export interface ListQuery {
  page: number;
  perPage: number;
  order: string | undefined;
  direction: "asc" | "desc";
}

export interface ListQueryRules {
  orders: readonly string[];
  code: number;
  defaultPerPage?: number;
  maxPerPage?: number;
}

/** `page`, `per_page`, `order`, `direction`, in any order or absent. */
export function parseListQuery(query: URLSearchParams, rules: ListQueryRules): ListQuery {
  const { code, defaultPerPage = 20, maxPerPage = 100 } = rules;
  const int = (name: string, fallback: number, max: number): number => {
    const raw = query.get(name);
    if (raw === null) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
      throw apiError(400, code, `Invalid ${name} "${raw}": must be a whole number from 1 to ${max}`);
    }
    return Number(raw);
  };
  const page = int("page", 1, Number.MAX_SAFE_INTEGER);
  const perPage = int("per_page", defaultPerPage, maxPerPage);
  const order = query.get("order") ?? undefined;
  if (order !== undefined && !rules.orders.includes(order)) {
    throw apiError(400, code, `Invalid order "${order}": must be one of ${rules.orders.join(", ")}`);
  }
  const direction = query.get("direction") ?? "asc";
  if (direction !== "asc" && direction !== "desc") {
    throw apiError(400, code, `Invalid direction "${direction}": must be asc or desc`);
  }
  return { page, perPage, order, direction };
}

/** A stable sort by `key` (ties keep their order), reversed for `desc`. */
export function sortBy<T>(items: T[], key: ((item: T) => string) | undefined, direction: "asc" | "desc"): T[] {
  const sorted = key ? [...items].sort((a, b) => compare(key(a), key(b))) : [...items];
  return direction === "desc" ? sorted.reverse() : sorted;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
