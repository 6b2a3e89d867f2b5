/** The account's API keys for server-to-server clients: create one (shown once), see when each was used, revoke. */
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import type { ScreenProps } from "../router";
import { Badge, Can, ConfirmButton, notify, when } from "../ui/bits";
import { Empty, ErrorBox, PageFooter, useLoad, usePaged } from "../ui/data";
import { Checkbox, FormError, SelectField, Submit, TextField, useSubmit } from "../ui/form";

type Scope = Schemas["ApiKeyIn"]["scopes"][number];
const SCOPES: [Scope, string][] = [
  ["read", "read: every GET"],
  ["write", "write: other changes"],
  ["jobs", "jobs: start and control jobs and automation runs"],
  ["publish", "publish: the publishing routes"],
];

export default function ApiKeys(_: ScreenProps) {
  const keys = usePaged((cursor) => must(api.GET("/v1/api-keys", { params: { query: { limit: 50, cursor } } })), []);
  const [created, setCreated] = useState<Schemas["CreatedApiKeyOut"] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const revoke = async (key: Schemas["ApiKeyOut"]) => {
    setError(null);
    try {
      await must(api.DELETE("/v1/api-keys/{key_id}", { params: { path: { key_id: key.key_id } } }));
      notify(`${key.name} revoked`);
      keys.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <>
      <p class="small muted">A key calls the API as your account, within its scopes (and its site, if it has one): send it as
        <code> Authorization: Bearer sk_…</code> or <code>X-Api-Key</code>. People, roles and keys are never managed with a key.</p>
      {created && (
        <div class="notice" role="status">
          <p><strong>{created.name}</strong>: copy the key now, it is not shown again.</p>
          <p><code class="secret" data-testid="new-api-key">{created.key}</code></p>
          <button type="button" class="button small secondary" onClick={() => setCreated(null)}>I have copied it</button>
        </div>
      )}
      {error ? <ErrorBox error={error} action="The key was not revoked" /> : null}
      {keys.items.length > 0 && (
        <table>
          <caption class="visually-hidden">API keys of the account</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Scopes</th><th scope="col">Site</th><th scope="col">Last used</th><th scope="col">Status</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {keys.items.map((k) => {
              const expired = !!k.expires_at && new Date(k.expires_at) < new Date();
              const status = k.revoked_at ? "revoked" : expired ? "expired" : "active";
              return (
                <tr key={k.key_id}>
                  <td>{k.name}<p class="small muted">made {when(k.created_at)}{k.expires_at && `, until ${when(k.expires_at)}`}</p></td>
                  <td><code>sk_{k.prefix}_…</code></td>
                  <td>{k.scopes.join(", ")}</td>
                  <td>{k.site_id ?? "every site"}</td>
                  <td>{k.last_used_at ? when(k.last_used_at) : "never"}</td>
                  <td><Badge status={status === "active" ? "active" : "archived"} label={status} /></td>
                  <td>{status !== "revoked" && <ConfirmButton label="Revoke" confirm={`Revoke ${k.name}? Its next request is refused.`} onConfirm={() => void revoke(k)} />}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {keys.state === "ok" && keys.items.length === 0 && <Empty title="No API keys yet">Create one below for a server of yours that calls the API.</Empty>}
      <PageFooter list={keys} what="API keys" />
      <Can op="POST /v1/api-keys">
        <CreateKey onCreated={(key) => { setCreated(key); keys.reload(); }} />
      </Can>
    </>
  );
}

function CreateKey({ onCreated }: { onCreated: (key: Schemas["CreatedApiKeyOut"]) => void }) {
  const sites = useLoad(() => must(api.GET("/v1/sites", { params: { query: { limit: 100 } } })), []);
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Scope[]>(["read"]);
  const [site, setSite] = useState("");
  const [expires, setExpires] = useState("");
  const submit = useSubmit(async () => {
    const key = await must(api.POST("/v1/api-keys", { body: {
      name, scopes, site_id: site || null, expires_at: expires ? new Date(`${expires}T23:59:59`).toISOString() : null } }));
    notify(`${key.name} created`);
    setName("");
    onCreated(key);
  });
  return (
    <section aria-labelledby="new-key">
      <h2 id="new-key">Create an API key</h2>
      <form class="stack" onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
        <FormError error={submit.error} action="The key was not created" />
        <TextField label="Name" required maxLength={100} value={name} onValue={setName} error={submit.fieldErrors.name} hint="Where it is used, e.g. “reporting server”." />
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map(([scope, label]) => (
            <Checkbox key={scope} label={label} checked={scopes.includes(scope)}
              onChecked={(on) => setScopes(on ? [...scopes, scope] : scopes.filter((s) => s !== scope))} />
          ))}
          {submit.fieldErrors.scopes && <p class="field-error">{submit.fieldErrors.scopes}</p>}
        </fieldset>
        <div class="row">
          <SelectField label="Site" value={site} onValue={setSite}
            options={[{ value: "", label: "Every site" }, ...(sites.data?.items ?? []).map((s) => ({ value: s.site_id, label: s.name }))]} />
          <TextField label="Expires after" type="date" value={expires} onValue={setExpires} hint="Empty: never." error={submit.fieldErrors.expires_at} />
        </div>
        <div><Submit busy={submit.busy}>Create key</Submit></div>
      </form>
    </section>
  );
}
