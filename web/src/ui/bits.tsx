/** Small shared pieces: role gates, status badges, progress, confirmations, announcements, formats. */
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import type { Operation } from "../api/client";
import { can } from "../session";

/** Shown only to roles the API lets call `op`: a viewer sees no write controls. */
export function Can({ op, children }: { op: Operation; children: ComponentChildren }) {
  return can(op) ? <>{children}</> : null;
}

const TONES: Record<string, string> = {
  pending: "neutral", queued: "neutral", draft: "neutral", not_published: "neutral", free: "neutral",
  running: "info", in_progress: "info", publishing: "info", review: "info", scheduled: "info", paused: "warn",
  clustered: "ok", approved: "ok", done: "ok", completed: "ok", published: "ok", generated: "ok", connected: "ok",
  active: "ok", used: "neutral", archived: "neutral", skipped: "neutral", cancelled: "neutral",
  failed: "bad", error: "bad", past_due: "bad", blocked: "warn", taken: "info",
};

export function Badge({ status, label }: { status: string; label?: string }) {
  return <span class={`badge tone-${TONES[status] ?? "neutral"}`}>{label ?? status.replace(/_/g, " ")}</span>;
}

export function Progress({ done, failed = 0, skipped = 0, total, label }: {
  done: number; failed?: number; skipped?: number; total: number; label: string;
}) {
  const finished = done + failed + skipped;
  return (
    <div class="progress">
      <progress max={Math.max(total, 1)} value={finished} aria-label={label} />
      <span class="small">
        {finished}/{total} ({done} done{failed ? `, ${failed} failed` : ""}{skipped ? `, ${skipped} skipped` : ""})
      </span>
    </div>
  );
}

/** A destructive action that asks once more, inline (no modal to trap focus in). */
export function ConfirmButton({ label, confirm, onConfirm, disabled, tone = "danger" }: {
  label: string; confirm: string; onConfirm: () => void; disabled?: boolean; tone?: "danger" | "secondary";
}) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button type="button" class={`button ${tone}`} disabled={disabled} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  return (
    <span class="confirm" role="group" aria-label={confirm}>
      <span>{confirm}</span>
      <button type="button" class={`button ${tone}`} autofocus onClick={() => { setAsking(false); onConfirm(); }}>
        Yes, {label.toLowerCase()}
      </button>
      <button type="button" class="button secondary" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

// One polite live region for the whole console: "Saved", "3 ideas approved", ...
let announce: (text: string) => void = () => undefined;

export function notify(text: string): void {
  announce(text);
}

export function Announcer() {
  const [text, setText] = useState("");
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    announce = (t) => {
      setText("");
      // A fresh node text, so the same message twice is announced twice.
      setTimeout(() => setText(t), 30);
      clearTimeout(timer);
      timer = setTimeout(() => setText(""), 6000);
    };
  }, []);
  return (
    <div class="toast" role="status" aria-live="polite">
      {text}
    </div>
  );
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

export function when(iso: string | null | undefined): string {
  return iso ? dateTime.format(new Date(iso)) : "—";
}

export function day(iso: string | null | undefined): string {
  return iso ? dateOnly.format(new Date(iso)) : "—";
}

export function money(cents: number, currency: string): string {
  return new Intl.NumberFormat(undefined, { style: "currency", currency: currency.toUpperCase() }).format(cents / 100);
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
