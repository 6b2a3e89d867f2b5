/**
 * Loading, empty and error states, and the hooks that feed them. Every screen shows each
 * state the same way, and each says what to do next.
 */
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { describe } from "../api/errors";

export type Loaded<T> =
  | { state: "loading"; data?: T; error?: undefined; reload: () => void }
  | { state: "ok"; data: T; error?: undefined; reload: () => void }
  | { state: "error"; data?: T; error: unknown; reload: () => void };

/** Run `load` when `deps` change; `reload()` runs it again (keeping the old data on screen). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [result, setResult] = useState<{ state: "loading" | "ok" | "error"; data?: T; error?: unknown }>({
    state: "loading",
  });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  useEffect(() => {
    let live = true;
    setResult((r) => ({ state: "loading", data: tick ? r.data : undefined }));
    load().then(
      (data) => live && setResult({ state: "ok", data }),
      (error) => live && setResult((r) => ({ state: "error", data: r.data, error })),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { ...result, reload } as Loaded<T>;
}

export type Paged<T> = {
  items: T[];
  state: "loading" | "ok" | "error";
  error?: unknown;
  more: (() => void) | null;
  reload: () => void;
};

/** A cursor-paginated list: the first page on load, `more()` appends the next. */
export function usePaged<T>(
  page: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor?: string | null }>,
  deps: unknown[],
): Paged<T> {
  const [items, setItems] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [status, setStatus] = useState<{ state: "loading" | "ok" | "error"; error?: unknown }>({ state: "loading" });
  const [tick, setTick] = useState(0);
  const generation = useRef(0);
  const fetchPage = (from: string | undefined, append: boolean) => {
    const mine = ++generation.current;
    setStatus({ state: "loading" });
    page(from).then(
      (p) => {
        if (mine !== generation.current) return;
        setItems((old) => (append ? [...old, ...p.items] : p.items));
        setCursor(p.next_cursor ?? null);
        setStatus({ state: "ok" });
      },
      (error) => mine === generation.current && setStatus({ state: "error", error }),
    );
  };
  useEffect(() => fetchPage(undefined, false), [...deps, tick]);
  return {
    items,
    ...status,
    more: cursor && status.state !== "loading" ? () => fetchPage(cursor, true) : null,
    reload: () => setTick((n) => n + 1),
  };
}

/** Call `tick` every `ms` while `active` (live progress), and once more when it stops. */
export function usePoll(tick: () => void, ms: number, active: boolean): void {
  const saved = useRef(tick);
  saved.current = tick;
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => saved.current(), ms);
    return () => clearInterval(timer);
  }, [ms, active]);
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="state state-loading" role="status" aria-live="polite">
      <span class="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="state state-empty">
      <p class="state-title">{title}</p>
      {children && <div class="state-hint">{children}</div>}
    </div>
  );
}

export function ErrorBox({ error, retry, action }: { error: unknown; retry?: () => void; action?: string }) {
  const { title, message, requestId } = describe(error);
  return (
    <div class="state state-error" role="alert">
      <p class="state-title">{action ? `${action}: ${title}` : title}</p>
      <p>{message}</p>
      {requestId && <p class="muted small">Request id {requestId} (quote it if you contact support).</p>}
      {retry && (
        <button type="button" class="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** The three states of a loaded value; `children` renders the data. */
export function Async<T>({
  value,
  what,
  children,
}: {
  value: { state: string; data?: T; error?: unknown; reload: () => void };
  what: string;
  children: (data: T) => ComponentChildren;
}) {
  if (value.state === "error" && value.data === undefined) return <ErrorBox error={value.error} retry={value.reload} />;
  if (value.data === undefined) return <Loading what={what} />;
  return (
    <>
      {value.state === "error" && <ErrorBox error={value.error} retry={value.reload} />}
      {children(value.data)}
    </>
  );
}

/** A list's footer: loading, error with retry, or "Load more". */
export function PageFooter({ list, what }: { list: Paged<unknown>; what: string }) {
  if (list.state === "error") return <ErrorBox error={list.error} retry={list.more ?? list.reload} />;
  if (list.state === "loading") return <Loading what={what} />;
  if (list.more)
    return (
      <button type="button" class="button secondary" onClick={list.more}>
        Load more {what}
      </button>
    );
  return null;
}
