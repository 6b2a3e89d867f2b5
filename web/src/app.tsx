/** The shell: who is signed in, the navigation, and the current screen (loaded on demand). */
import type { ComponentType } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, must } from "./api/client";
import { describe } from "./api/errors";
import { ACCOUNT_SECTIONS, ROUTES, SITE_SECTIONS } from "./routes";
import { href, match, navigate, rememberReturn, type RouteDef, type ScreenProps, useLocation } from "./router";
import { can, session, signOut, subscribe, type SessionState } from "./session";
import { Announcer, Badge, notify } from "./ui/bits";
import { ErrorBox, Loading } from "./ui/data";

function useSession(): SessionState {
  const [state, setState] = useState(session);
  useEffect(() => subscribe(() => setState(session())), []);
  return state;
}

const loaded = new Map<RouteDef, ComponentType<ScreenProps>>();

function Screen({ route, props }: { route: RouteDef; props: ScreenProps }) {
  const [, setReady] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const Component = loaded.get(route);
  useEffect(() => {
    if (Component) return;
    let live = true;
    setError(null);
    route.load().then(
      (module) => {
        loaded.set(route, module.default);
        if (live) setReady((n) => n + 1);
      },
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [route, Component]);
  if (error)
    return (
      <ErrorBox
        error={new Error("This part of the console did not load. Reload the page (a newer version may be out).")}
        retry={() => location.reload()}
      />
    );
  if (!Component) return <Loading what="the screen" />;
  return <Component {...props} />;
}

function SiteNav({ siteId, path }: { siteId: string; path: string }) {
  const [name, setName] = useState<string>("");
  useEffect(() => {
    let live = true;
    must(api.GET("/v1/sites/{site_id}", { params: { path: { site_id: siteId } } })).then(
      (site) => live && setName(site.name),
      () => live && setName("(site not found)"),
    );
    return () => {
      live = false;
    };
  }, [siteId]);
  const base = `/sites/${encodeURIComponent(siteId)}`;
  return (
    <nav aria-label="Site" class="nav-group">
      <p class="nav-title">Site: {name || "…"}</p>
      <ul>
        {SITE_SECTIONS.map(([suffix, label]) => {
          const target = base + suffix;
          const current = suffix ? path.startsWith(target) : path === target;
          return (
            <li key={suffix}>
              <a href={href(target)} aria-current={current ? "page" : undefined}>
                {label}
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}

function Header({ state }: { state: Extract<SessionState, { status: "signedIn" }> }) {
  const { user, account, plan } = state.me;
  const [busy, setBusy] = useState(false);
  return (
    <header class="topbar">
      <a class="brand" href={href("/sites")}>
        SEO Content Engine
      </a>
      <p class="who">
        <span>{account.name}</span> · <span>{plan.name} plan</span> · <span>{user.email}</span>{" "}
        <Badge status="role" label={user.role} />
      </p>
      <button
        type="button"
        class="button secondary"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await signOut();
            navigate("/signin", { replace: true });
          } catch (e) {
            notify(`Sign-out failed: ${describe(e).message}`);
          } finally {
            setBusy(false);
          }
        }}
      >
        Sign out
      </button>
    </header>
  );
}

export function App() {
  const state = useSession();
  const where = useLocation();
  const heading = useRef<HTMLHeadingElement>(null);
  const found = match(ROUTES, where.path);
  const route = found?.route;

  useEffect(() => {
    document.title = `${route?.title ?? "Not found"} · SEO Content Engine`;
    heading.current?.focus({ preventScroll: true });
  }, [where.path, state.status]);

  useEffect(() => {
    if (state.status === "signedIn" && ((route?.public && !route.anyone) || where.path === "/")) navigate("/sites", { replace: true });
    if (state.status === "signedOut" && !route?.public) {
      if (where.path !== "/") rememberReturn(where.path);
      navigate("/signin", { replace: true });
    }
  }, [state.status, route, where.path]);

  if (state.status === "starting") return <Loading what="your session" />;

  if (state.status === "signedOut" || route?.public) {
    const publicRoute = route?.public ? route : ROUTES[0]!;
    return (
      <>
        <main id="main" class="auth">
          <h1 tabIndex={-1} ref={heading}>
            {publicRoute.title}
          </h1>
          <Screen route={publicRoute} props={{ params: {}, query: where.query }} />
        </main>
        <Announcer />
      </>
    );
  }

  const siteId = found?.params.site;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); heading.current?.focus(); }}>
        Skip to content
      </a>
      <Header state={state} />
      <div class="layout">
        <aside class="sidebar">
          <nav aria-label="Account" class="nav-group">
            <ul>
              {ACCOUNT_SECTIONS.filter(([, , op]) => !op || can(op)).map(([path, label]) => (
                <li key={path}>
                  <a href={href(path)} aria-current={where.path === path ? "page" : undefined}>
                    {label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          {siteId && <SiteNav siteId={siteId} path={where.path} />}
        </aside>
        <main id="main">
          <h1 tabIndex={-1} ref={heading}>
            {route?.title ?? "Not found"}
          </h1>
          {found ? (
            <Screen key={where.path} route={found.route} props={{ params: found.params, query: where.query }} />
          ) : (
            <p>
              There is nothing at this address. Go to <a href={href("/sites")}>your sites</a>.
            </p>
          )}
        </main>
      </div>
      <Announcer />
    </>
  );
}
