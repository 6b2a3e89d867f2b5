/**
 * Hash routes (#/sites/abc/keywords): the console is static files, so every address works on
 * any host without server rewrites. A route is a pattern and a lazily loaded screen: adding a
 * screen is one file in screens/ and one line in routes.ts.
 */
import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";

export type ScreenProps = { params: Record<string, string>; query: URLSearchParams };
export type ScreenModule = { default: ComponentType<ScreenProps> };

export type RouteDef = {
  pattern: string;
  title: string;
  load: () => Promise<ScreenModule>;
  /** Reachable signed out (sign-in, sign-up). */
  public?: boolean;
  /** Public, and stays open when signed in too (the pages e-mailed links open). */
  anyone?: boolean;
};

export type Location = { path: string; query: URLSearchParams };

export function currentLocation(): Location {
  const raw = decodeURI(location.hash.replace(/^#/, "")) || "/";
  const [path = "/", search = ""] = raw.split("?");
  return { path: path.startsWith("/") ? path : `/${path}`, query: new URLSearchParams(search) };
}

export function useLocation(): Location {
  const [where, setWhere] = useState(currentLocation);
  useEffect(() => {
    const update = () => setWhere(currentLocation());
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return where;
}

export function navigate(path: string, { replace = false } = {}): void {
  const hash = `#${path}`;
  if (replace) history.replaceState(null, "", hash);
  else location.hash = hash;
  if (replace) dispatchEvent(new HashChangeEvent("hashchange"));
}

// Where a signed-out visitor was going: they get there after signing in (memory only).
let returnTo: string | null = null;

export function rememberReturn(path: string): void {
  returnTo = path;
}

export function takeReturn(fallback: string): string {
  const target = returnTo && !returnTo.startsWith("/sign") ? returnTo : fallback;
  returnTo = null;
  return target;
}

export function href(path: string): string {
  return `#${path}`;
}

export function match(routes: RouteDef[], path: string): { route: RouteDef; params: Record<string, string> } | null {
  const parts = path.split("/").filter(Boolean);
  for (const route of routes) {
    const pattern = route.pattern.split("/").filter(Boolean);
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const ok = pattern.every((segment, i) => {
      const part = parts[i] ?? "";
      if (segment.startsWith(":")) {
        params[segment.slice(1)] = decodeURIComponent(part);
        return true;
      }
      return segment === part;
    });
    if (ok) return { route, params };
  }
  return null;
}
