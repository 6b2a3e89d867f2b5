/** The account's own AI keys (OpenAI, Runware): its calls are then made and paid with them. Part of account settings. */
import { useState } from "preact/hooks";
import { api, must } from "../api/client";
import { can } from "../session";
import { Can, ConfirmButton, notify, when } from "../ui/bits";
import { Async, ErrorBox, useLoad } from "../ui/data";
import { FormError, Submit, TextField, useSubmit } from "../ui/form";

const PROVIDERS: [id: string, name: string, what: string][] = [
  ["openai", "OpenAI", "text (and images, when no Runware key is set)"],
  ["runware", "Runware", "images"],
];

export function OwnKeys() {
  const keys = useLoad(() => must(api.GET("/v1/account/ai-keys")), []);
  return (
    <>
      <h2>Your own AI keys</h2>
      <p class="small muted">With a key of your own, this account's AI calls go to your provider account, priced by your plan for own keys. A key is checked with one real call before it is kept, and never shown again.</p>
      <Async value={keys} what="your AI keys">
        {(k) => <>{PROVIDERS.map(([id, name, what]) => (
          <ProviderKey key={id} id={id} name={name} what={what} current={k.items.find((i) => i.provider_id === id)} onChange={keys.reload} />
        ))}</>}
      </Async>
    </>
  );
}

function ProviderKey({ id, name, what, current, onChange }: {
  id: string; name: string; what: string; current?: { api_key_hint: string; models: Record<string, string>; updated_at?: string | null }; onChange: () => void;
}) {
  const [value, setValue] = useState("");
  const [error, setError] = useState<unknown>(null);
  const path = { params: { path: { provider_id: id } } };
  const submit = useSubmit(async () => {
    await must(api.PUT("/v1/account/ai-keys/{provider_id}", { ...path, body: { api_key: value } }));
    setValue("");
    notify(`Your ${name} key is checked and saved`);
    onChange();
  });
  const remove = async () => {
    setError(null);
    try {
      await must(api.DELETE("/v1/account/ai-keys/{provider_id}", path));
      notify(`Your ${name} key is removed; the platform's applies`);
      onChange();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section class="card" aria-labelledby={`key-${id}`}>
      <h3 id={`key-${id}`}>{name}</h3>
      <p class="small muted">For {what}.</p>
      <p>{current ? <>Your key <code>{current.api_key_hint}</code>{current.updated_at && `, set ${when(current.updated_at)}`}.</> : "The platform's key is used."}</p>
      {error ? <ErrorBox error={error} /> : null}
      {can("PUT /v1/account/ai-keys/{provider_id}") && (
        <form class="toolbar" onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
          <FormError error={submit.error} action={`The ${name} key was not saved`} />
          <TextField label={`${current ? "Replace the" : "Your"} ${name} key`} type="password" autocomplete="off" required minLength={8} value={value}
            onValue={setValue} error={submit.fieldErrors.api_key} />
          <Submit busy={submit.busy} busyLabel="Checking…">Check and save</Submit>
        </form>
      )}
      {current && (
        <Can op="DELETE /v1/account/ai-keys/{provider_id}">
          <ConfirmButton label={`Remove the ${name} key`} confirm={`Use the platform's ${name} key again?`} onConfirm={() => void remove()} />
        </Can>
      )}
    </section>
  );
}
