/**
 * The Cloudflare v4 JSON envelope and the one error type every route throws.
 *
 * Success: `{success:true, errors:[], messages:[], result, result_info?}`.
 * Failure: `{success:false, errors:[{code, message, error_chain?, source?}], messages:[], result:null}`.
 */

export interface ApiMessage {
  code: number;
  message: string;
  error_chain?: ApiMessage[];
  source?: { pointer: string };
}

export interface ResultInfo {
  page: number;
  per_page: number;
  count: number;
  total_count: number;
  total_pages: number;
}

/** What a handler hands back to the server: an HTTP status, a JSON body, extra headers. */
export interface HandlerResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Thrown by handlers; the server turns it into a failure envelope. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: ApiMessage[],
    readonly headers: Record<string, string> = {},
  ) {
    super(errors.map((e) => `${e.message} [code: ${e.code}]`).join("; "));
    this.name = "ApiError";
  }
}

export function apiError(status: number, code: number, message: string, headers?: Record<string, string>): ApiError {
  return new ApiError(status, [{ code, message }], headers);
}

export function ok(result: unknown, status = 200, resultInfo?: ResultInfo): HandlerResponse {
  const body: Record<string, unknown> = { success: true, errors: [], messages: [], result };
  if (resultInfo) body.result_info = resultInfo;
  return { status, body };
}

export function failure(error: ApiError): HandlerResponse {
  return {
    status: error.status,
    body: { success: false, errors: error.errors, messages: [], result: null },
    headers: error.headers,
  };
}

/** Cloudflare's answer for a path (or account id) that no route serves. */
export function routeNotFound(apiPath: string): ApiError {
  return new ApiError(404, [
    { code: 7003, message: `Could not route to ${apiPath}, perhaps your object identifier is invalid?` },
    { code: 7000, message: "No route for that URI" },
  ]);
}

/** Slice `items` into one page and describe it the way Cloudflare's `result_info` does. */
export function paginate<T>(items: T[], page: number, perPage: number): { pageItems: T[]; info: ResultInfo } {
  const start = (page - 1) * perPage;
  const pageItems = items.slice(start, start + perPage);
  return {
    pageItems,
    info: {
      page,
      per_page: perPage,
      count: pageItems.length,
      total_count: items.length,
      total_pages: Math.ceil(items.length / perPage),
    },
  };
}
