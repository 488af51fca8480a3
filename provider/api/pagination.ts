/**
 * Page-number pagination of Cloudflare's v4 list endpoints: `?page=&per_page=` in the request,
 * counts in the envelope's `result_info`. It sits beside the request function, as
 * cloudflare-typescript's `core/pagination.ts` sits beside its client: `request.ts` sends one
 * request and hands back `result_info` unread; this module reads it and asks for the next page.
 */
import { z } from "zod";
import { cfRequest, type ApiSettings, type RequestOptions } from "./request";

/**
 * `result_info` as a list answer may carry it: every count may be missing (cloudflare-typescript's
 * `V4PagePaginationArrayResponse.ResultInfo`, plus the totals Cloudflare sends with them).
 */
export const PageInfo = z.object({
  page: z.number().optional(),
  per_page: z.number().optional(),
  count: z.number().optional(),
  total_count: z.number().optional(),
  total_pages: z.number().optional(),
});
export type PageInfo = z.infer<typeof PageInfo>;

/** The query of one page (cloudflare-typescript's `V4PagePaginationArrayParams`). */
export interface PageParams {
  page: number;
  per_page: number;
}

/** Cloudflare's largest `per_page` for the list endpoints this package reads. */
export const DEFAULT_PER_PAGE = 100;

/** Pages read at most by {@link cfListAll} (a guard against an endpoint that ignores `page`). */
export const MAX_PAGES = 1000;

/** What one page said: its number, the `per_page` asked for, how many items it held, and its `result_info`. */
export interface PageSeen {
  params: PageParams;
  /** Items on this page. */
  items: number;
  /** Items on this page and every earlier one. */
  itemsSoFar: number;
  /** The answer's `result_info` as received (anything; an unreadable one counts as absent). */
  resultInfo: unknown;
}

/**
 * Whether another page follows. With `result_info` the counts decide (so a server that caps
 * `per_page` lower is still read whole): `total_pages` first, else `total_count`. Without them, a
 * short page is the last. An empty page is always the last, and so is page {@link MAX_PAGES}.
 */
export function hasNextPage(seen: PageSeen): boolean {
  if (seen.items === 0 || seen.params.page >= MAX_PAGES) return false;
  const parsed = PageInfo.safeParse(seen.resultInfo ?? {});
  const info = parsed.success ? parsed.data : {};
  if (info.total_pages !== undefined) return seen.params.page < info.total_pages;
  if (info.total_count !== undefined) return seen.itemsSoFar < info.total_count;
  return seen.items >= seen.params.per_page;
}

/** Reads every page of a list endpoint (see {@link hasNextPage} for where it stops). */
export async function cfListAll<T>(
  settings: ApiSettings,
  options: Omit<RequestOptions<T[]>, "method" | "schema"> & { schema: z.ZodType<T[]>; perPage?: number },
): Promise<T[]> {
  const { perPage = DEFAULT_PER_PAGE, ...request } = options;
  const all: T[] = [];
  for (let params: PageParams = { page: 1, per_page: perPage }; ; params = { ...params, page: params.page + 1 }) {
    const { result, resultInfo } = await cfRequest(settings, { ...request, method: "GET", query: { ...request.query, ...params } });
    all.push(...result);
    if (!hasNextPage({ params, items: result.length, itemsSoFar: all.length, resultInfo })) return all;
  }
}
