/** Tabs with the ARIA pattern: arrow keys move between tabs, the panel is labelled by its tab. */
import type { ComponentChildren } from "preact";
import { useId } from "preact/hooks";

export function Tabs<T extends string>({ tabs, current, onChange, label, children }: {
  tabs: [id: T, label: string][]; current: T; onChange: (id: T) => void; label: string; children: ComponentChildren;
}) {
  const base = useId();
  const move = (e: KeyboardEvent) => {
    const index = tabs.findIndex(([id]) => id === current);
    const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    e.preventDefault();
    const next = tabs[(index + step + tabs.length) % tabs.length]![0];
    onChange(next);
    requestAnimationFrame(() => document.getElementById(`${base}-${next}`)?.focus());
  };
  return (
    <>
      <div class="tabs" role="tablist" aria-label={label} onKeyDown={move}>
        {tabs.map(([id, text]) => (
          <button key={id} id={`${base}-${id}`} type="button" role="tab" aria-selected={id === current}
            aria-controls={`${base}-panel`} tabIndex={id === current ? 0 : -1} onClick={() => onChange(id)}>
            {text}
          </button>
        ))}
      </div>
      <div id={`${base}-panel`} role="tabpanel" aria-labelledby={`${base}-${current}`} tabIndex={0}>
        {children}
      </div>
    </>
  );
}
