/**
 * The console's one way to the API: a typed client generated from /v1/openapi.json.
 *
 * `api.GET("/v1/sites/{site_id}", ...)` is checked against the API's own document at build time;
 * `must(...)` turns an error answer into an ApiError that screens show as it is.
 * The access token is held by session.ts in memory; a 401 triggers one refresh (through the
 * httpOnly cookie) and one retry.
 */
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema";
import { ApiError, networkError } from "./errors";

export type Schemas = components["schemas"];

type JsonOf<T> = T extends { content: { "application/json": infer J } } ? J : never;
/**
 * What an operation answers on success, named by its path and method rather than by its schema's
 * name: two API models of one name get renamed in the document (module-qualified), a path does not.
 */
export type Returns<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { responses: infer R }
  ? R extends { 200: infer Ok } ? JsonOf<Ok> : R extends { 201: infer Made } ? JsonOf<Made> : never
  : never;
export type { Operation } from "./generated/access";

type TokenSource = {
  token(): string | null;
  /** Get a new access token through the refresh cookie; false when the session is over. */
  renew(): Promise<boolean>;
};

let tokens: TokenSource = { token: () => null, renew: async () => false };

/** session.ts plugs itself in here (it imports this module, not the other way round). */
export function useTokenSource(source: TokenSource): void {
  tokens = source;
}

const AUTH_PATHS = ["/v1/auth/login", "/v1/auth/register", "/v1/auth/refresh"];

function withBearer(request: Request): Request {
  const token = tokens.token();
  if (token) request.headers.set("Authorization", `Bearer ${token}`);
  return request;
}

async function authedFetch(request: Request): Promise<Response> {
  const spare = request.clone();
  let response: Response;
  try {
    response = await fetch(withBearer(request));
    if (response.status === 401 && !AUTH_PATHS.some((p) => request.url.endsWith(p))) {
      if (await tokens.renew()) response = await fetch(withBearer(spare));
    }
  } catch (cause) {
    throw networkError(cause);
  }
  return response;
}

export const api = createClient<paths>({ baseUrl: "", fetch: authedFetch, credentials: "same-origin" });

type Answer<T> = { data?: T; error?: unknown; response: Response };

/** The data of a successful answer; an ApiError (with the API's code and message) otherwise. */
export async function must<T>(call: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok) throw ApiError.from(response, error);
  return data as T;
}

/** Every page of a list (cursor pagination), up to `max` items. */
export async function allPages<T>(
  page: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor?: string | null }>,
  max = 1000,
): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const next = await page(cursor);
    items.push(...next.items);
    cursor = next.next_cursor ?? undefined;
  } while (cursor && items.length < max);
  return items;
}
