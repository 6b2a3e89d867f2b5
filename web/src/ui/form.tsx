/** Labelled controls: every input has a visible label, its hint and its error tied by aria-describedby. */
import type { ComponentChildren, JSX } from "preact";
import { useId, useState } from "preact/hooks";
import { ApiError, describe } from "../api/errors";

type FieldProps = {
  label: string;
  hint?: ComponentChildren;
  error?: string;
  children: (ids: { id: string; describedBy?: string; invalid?: boolean }) => ComponentChildren;
};

export function Field({ label, hint, error, children }: FieldProps) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  return (
    <div class={`field${error ? " field-invalid" : ""}`}>
      <label for={id}>{label}</label>
      {children({ id, describedBy, invalid: !!error })}
      {hint && (
        <p id={hintId} class="hint">
          {hint}
        </p>
      )}
      {error && (
        <p id={errorId} class="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

type InputProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, "onInput" | "value" | "label"> & {
  label: string;
  value: string;
  onValue: (value: string) => void;
  hint?: ComponentChildren;
  error?: string;
};

export function TextField({ label, value, onValue, hint, error, ...rest }: InputProps) {
  return (
    <Field label={label} hint={hint} error={error}>
      {({ id, describedBy, invalid }) => (
        <input
          id={id}
          aria-describedby={describedBy}
          aria-invalid={invalid || undefined}
          value={value}
          onInput={(e) => onValue((e.target as HTMLInputElement).value)}
          {...rest}
        />
      )}
    </Field>
  );
}

export function TextArea({
  label,
  value,
  onValue,
  hint,
  error,
  rows = 6,
  ...rest
}: Omit<JSX.TextareaHTMLAttributes<HTMLTextAreaElement>, "onInput" | "value" | "label"> & {
  label: string;
  value: string;
  onValue: (value: string) => void;
  hint?: ComponentChildren;
  error?: string;
  rows?: number;
}) {
  return (
    <Field label={label} hint={hint} error={error}>
      {({ id, describedBy, invalid }) => (
        <textarea
          id={id}
          rows={rows}
          aria-describedby={describedBy}
          aria-invalid={invalid || undefined}
          value={value}
          onInput={(e) => onValue((e.target as HTMLTextAreaElement).value)}
          {...rest}
        />
      )}
    </Field>
  );
}

export function SelectField({
  label,
  value,
  onValue,
  options,
  hint,
  error,
  disabled,
}: {
  label: string;
  value: string;
  onValue: (value: string) => void;
  options: { value: string; label: string }[];
  hint?: ComponentChildren;
  error?: string;
  disabled?: boolean;
}) {
  return (
    <Field label={label} hint={hint} error={error}>
      {({ id, describedBy, invalid }) => (
        <select
          id={id}
          value={value}
          disabled={disabled}
          aria-describedby={describedBy}
          aria-invalid={invalid || undefined}
          onChange={(e) => onValue((e.target as HTMLSelectElement).value)}
        >
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function Checkbox({
  label,
  checked,
  onChecked,
  hint,
  disabled,
}: {
  label: string;
  checked: boolean;
  onChecked: (checked: boolean) => void;
  hint?: string;
  disabled?: boolean;
}) {
  const id = useId();
  return (
    <div class="checkbox">
      <input
        id={id}
        type="checkbox"
        checked={checked}
        disabled={disabled}
        aria-describedby={hint ? `${id}-hint` : undefined}
        onChange={(e) => onChecked((e.target as HTMLInputElement).checked)}
      />
      <label for={id}>{label}</label>
      {hint && (
        <p id={`${id}-hint`} class="hint">
          {hint}
        </p>
      )}
    </div>
  );
}

/**
 * A form that runs `onSubmit`, shows it busy, and shows the API's answer if it fails: the
 * message at the top, and per-field messages through `fieldErrors`.
 */
export function useSubmit<A extends unknown[]>(action: (...args: A) => Promise<unknown>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (...args: A): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await action(...args);
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(false);
    }
  };
  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  return { busy, error, run, fieldErrors, clear: () => setError(null) };
}

export function FormError({ error, action }: { error: unknown; action?: string }) {
  if (!error) return null;
  const { title, message, requestId } = describe(error);
  const code = error instanceof ApiError ? error.code : null;
  return (
    <div class="state state-error" role="alert" data-code={code ?? undefined}>
      <p class="state-title">{action ? `${action}: ${title}` : title}</p>
      <p>{message}</p>
      {requestId && <p class="muted small">Request id {requestId}</p>}
    </div>
  );
}

export function Submit({ busy, children, busyLabel }: { busy: boolean; children: ComponentChildren; busyLabel?: string }) {
  return (
    <button type="submit" class="button" disabled={busy} aria-busy={busy || undefined}>
      {busy ? busyLabel ?? "Working…" : children}
    </button>
  );
}
