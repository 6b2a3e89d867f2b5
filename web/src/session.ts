/**
 * Who is signed in, and the access token, in memory only.
 *
 * The refresh token never reaches script: the API sets it as an httpOnly, Secure,
 * SameSite=Strict cookie scoped to /v1/auth, and `renew()` asks /v1/auth/refresh to read it.
 * A reload of the page therefore starts with `start()`: one refresh through the cookie.
 * Rotation makes a refresh token single-use, so refreshes are serialised across tabs
 * (Web Locks) and within a tab (one promise in flight): a second tab never presents a
 * token the first has just rotated, which the API would treat as theft.
 */
import { api, must, useTokenSource, type Schemas } from "./api/client";
import { ACCESS, type Operation } from "./api/generated/access";

export type Me = Schemas["MeOut"];
export type Role = "viewer" | "editor" | "admin" | "owner";
export type SessionState =
  | { status: "starting" }
  | { status: "signedOut"; reason?: string }
  | { status: "signedIn"; me: Me };

type Tokens = { access_token: string; expires_in: number };

let state: SessionState = { status: "starting" };
let accessToken: string | null = null;
let renewTimer: ReturnType<typeof setTimeout> | undefined;
let inflight: Promise<boolean> | null = null;
const listeners = new Set<() => void>();

function set(next: SessionState): void {
  state = next;
  for (const listener of listeners) listener();
}

export function session(): SessionState {
  return state;
}

export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function accept(tokens: Tokens): void {
  accessToken = tokens.access_token;
  clearTimeout(renewTimer);
  // Renew a minute before the access token expires, so a screen never waits on a 401 first.
  const seconds = Math.max(10, tokens.expires_in - 60);
  renewTimer = setTimeout(() => void renew().catch(() => undefined), seconds * 1000);
}

function forget(reason?: string): void {
  accessToken = null;
  clearTimeout(renewTimer);
  set({ status: "signedOut", reason });
}

async function serialised<T>(work: () => Promise<T>): Promise<T> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  return locks ? locks.request("seo-console-refresh", work) : work();
}

/** A new access token through the refresh cookie; false (and signed out) when the session is over. */
export function renew(): Promise<boolean> {
  inflight ??= serialised(async () => {
    const { data, response } = await api.POST("/v1/auth/refresh", { body: {} });
    if (!response.ok || !data) {
      if (state.status === "signedIn") forget("Your session has ended. Sign in again to carry on.");
      else accessToken = null;
      return false;
    }
    accept(data);
    return true;
  }).finally(() => {
    inflight = null;
  });
  return inflight;
}

useTokenSource({ token: () => accessToken, renew });

async function loadMe(): Promise<void> {
  const me = await must(api.GET("/v1/me"));
  set({ status: "signedIn", me });
}

/** On page load: a session is resumed if the browser still holds a live refresh cookie. */
export async function start(): Promise<void> {
  try {
    if (await renew()) return await loadMe();
  } catch {
    // No API or no session: the sign-in screen says what to do.
  }
  forget();
}

export async function signIn(email: string, password: string): Promise<void> {
  accept(await must(api.POST("/v1/auth/login", { body: { email, password } })));
  await loadMe();
}

export async function signUp(body: Schemas["RegisterBody"]): Promise<void> {
  const out = await must(api.POST("/v1/auth/register", { body }));
  accept(out.tokens);
  await loadMe();
}

/** Signed in with tokens another route answered (an accepted invitation, a changed password). */
export async function adopt(tokens: Tokens): Promise<void> {
  accept(tokens);
  await loadMe();
}

/** Ends the session on the server (its tokens stop working, the cookie is cleared), then here. */
export async function signOut(): Promise<void> {
  await must(api.POST("/v1/auth/logout"));
  forget("You are signed out.");
}

export async function reloadMe(): Promise<void> {
  if (state.status === "signedIn") await loadMe();
}

const RANK: Record<Role, number> = { viewer: 1, editor: 2, admin: 3, owner: 4 };

/** May the signed-in user call this operation? The same rule as the API's (from its route table). */
export function can(operation: Operation): boolean {
  if (state.status !== "signedIn") return false;
  const need = ACCESS[operation] as string;
  if (need === "none") return true;
  if (need === "staff") return state.me.user.is_staff;
  return (RANK[state.me.user.role as Role] ?? 0) >= (RANK[need as Role] ?? 99);
}
