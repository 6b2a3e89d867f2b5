/** The account's outbound webhooks: endpoints with their events, the secret shown once, test sends, the delivery log. */
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import type { ScreenProps } from "../router";
import { Badge, Can, ConfirmButton, notify, when } from "../ui/bits";
import { Empty, ErrorBox, PageFooter, usePaged } from "../ui/data";
import { Checkbox, FormError, Submit, TextField, useSubmit } from "../ui/form";

/** The events an endpoint may subscribe to (chalicelib/services/event_names.py, webhook=True). */
const EVENTS: [name: string, title: string][] = [
  ["run.completed", "Automation run completed"],
  ["run.failed", "Automation run failed"],
  ["content.generated", "Article generated"],
  ["content.approved", "Article approved"],
  ["content.published", "Article published"],
  ["content.failed", "Article failed"],
  ["publish.failed", "Publishing failed"],
  ["integration.broken", "WordPress connection broken"],
  ["credits.low", "Credits running low"],
];

type Endpoint = Schemas["EndpointOut"];

export default function Webhooks(_: ScreenProps) {
  const list = usePaged((cursor) => must(api.GET("/v1/webhooks", { params: { query: { limit: 50, cursor } } })), []);
  const [secret, setSecret] = useState<{ url: string; secret: string } | null>(null);
  return (
    <>
      <p class="small muted">Each delivery is a signed POST (Standard Webhooks: <code>webhook-id</code>, <code>webhook-timestamp</code>,
        <code> webhook-signature</code>), retried with backoff; an endpoint that keeps failing is switched off and you are told.</p>
      {secret && (
        <div class="notice" role="status">
          <p>The signing secret of <strong>{secret.url}</strong>: copy it now, it is not shown again.</p>
          <p><code class="secret" data-testid="webhook-secret">{secret.secret}</code></p>
          <button type="button" class="button small secondary" onClick={() => setSecret(null)}>I have copied it</button>
        </div>
      )}
      {list.items.map((e) => <EndpointCard key={e.endpoint_id} endpoint={e} onChange={list.reload} onSecret={setSecret} />)}
      {list.state === "ok" && list.items.length === 0 && <Empty title="No webhook endpoints yet">Add one below to have events sent to your server.</Empty>}
      <PageFooter list={list} what="endpoints" />
      <Can op="POST /v1/webhooks">
        <AddEndpoint onAdded={(made) => { setSecret({ url: made.url, secret: made.secret }); list.reload(); }} />
      </Can>
    </>
  );
}

function EndpointCard({ endpoint: e, onChange, onSecret }: {
  endpoint: Endpoint; onChange: () => void; onSecret: (s: { url: string; secret: string }) => void;
}) {
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState(false);
  const path = { params: { path: { endpoint_id: e.endpoint_id } } };
  const act = async (work: () => Promise<unknown>, done: string) => {
    setError(null);
    try {
      await work();
      notify(done);
      onChange();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section class="card" aria-label={`Endpoint ${e.url}`}>
      <h2 class="h3"><code>{e.url}</code> <Badge status={e.enabled ? "active" : "failed"} label={e.enabled ? "on" : "off"} /></h2>
      {e.description && <p>{e.description}</p>}
      <p class="small">Events: {e.events.join(", ")} · secret …{e.secret_hint}
        {e.last_delivery_at && <> · last delivery {when(e.last_delivery_at)} ({e.last_status_code ?? "no answer"})</>}
        {e.consecutive_failures > 0 && <> · {e.consecutive_failures} failures in a row</>}</p>
      {e.disabled_reason && <p class="field-error">Switched off {when(e.disabled_at)}: {e.disabled_reason}. Fix the server, then switch it on again.</p>}
      {error ? <ErrorBox error={error} /> : null}
      <div class="toolbar">
        <button type="button" class="button small" onClick={() => act(() => must(api.POST("/v1/webhooks/{endpoint_id}/test", path)), "A test delivery is on its way")}>Send a test</button>
        <button type="button" class="button small secondary" onClick={() => act(() => must(api.PATCH("/v1/webhooks/{endpoint_id}", { ...path, body: { enabled: !e.enabled } })),
          e.enabled ? "Switched off" : "Switched on")}>{e.enabled ? "Switch off" : "Switch on"}</button>
        <ConfirmButton label="Rotate secret" tone="secondary" confirm="A new secret? The old one stops verifying at once." onConfirm={() => void act(async () => {
          const made = await must(api.POST("/v1/webhooks/{endpoint_id}/rotate-secret", path));
          onSecret({ url: made.url, secret: made.secret });
        }, "New secret made")} />
        <ConfirmButton label="Delete" confirm={`Delete the endpoint ${e.url}?`} onConfirm={() => void act(() => must(api.DELETE("/v1/webhooks/{endpoint_id}", path)), "Endpoint deleted")} />
        <button type="button" class="button small secondary" aria-expanded={open} onClick={() => setOpen(!open)}>{open ? "Hide deliveries" : "Deliveries"}</button>
      </div>
      {open && <Deliveries endpointId={e.endpoint_id} />}
    </section>
  );
}

function Deliveries({ endpointId }: { endpointId: string }) {
  const list = usePaged((cursor) => must(api.GET("/v1/webhooks/{endpoint_id}/deliveries", {
    params: { path: { endpoint_id: endpointId }, query: { limit: 20, cursor } } })), [endpointId]);
  return (
    <>
      {list.items.length > 0 && (
        <table>
          <caption>Deliveries, newest first</caption>
          <thead><tr><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Answer</th><th scope="col">When</th></tr></thead>
          <tbody>
            {list.items.map((d) => (
              <tr key={d.delivery_id}>
                <td><code>{d.event}</code></td>
                <td><Badge status={d.status === "delivered" ? "done" : d.status} label={d.status} /></td>
                <td>{d.attempts_made}{d.next_attempt_at && <span class="small muted"> (next {when(d.next_attempt_at)})</span>}</td>
                <td>{d.response_code ?? "—"}{d.error && <p class="small field-error">{d.error}</p>}</td>
                <td>{when(d.delivered_at ?? d.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.state === "ok" && list.items.length === 0 && <Empty title="Nothing delivered yet">“Send a test” sends a webhook.test delivery.</Empty>}
      <PageFooter list={list} what="deliveries" />
    </>
  );
}

function AddEndpoint({ onAdded }: { onAdded: (made: Schemas["EndpointWithSecret"]) => void }) {
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [events, setEvents] = useState<string[]>(["content.published", "publish.failed"]);
  const submit = useSubmit(async () => {
    const made = await must(api.POST("/v1/webhooks", { body: { url, events, description } }));
    notify("Endpoint added");
    setUrl("");
    setDescription("");
    onAdded(made);
  });
  return (
    <section aria-labelledby="add-endpoint">
      <h2 id="add-endpoint">Add an endpoint</h2>
      <form class="stack" onSubmit={(ev) => { ev.preventDefault(); void submit.run(); }}>
        <FormError error={submit.error} action="The endpoint was not added" />
        <TextField label="URL" type="url" required value={url} onValue={setUrl} error={submit.fieldErrors.url} hint="https://…, reachable from the internet (private addresses are refused)." />
        <TextField label="Description" maxLength={300} value={description} onValue={setDescription} />
        <fieldset>
          <legend>Events</legend>
          {EVENTS.map(([name, title]) => (
            <Checkbox key={name} label={`${title} (${name})`} checked={events.includes(name)}
              onChecked={(on) => setEvents(on ? [...events, name] : events.filter((x) => x !== name))} />
          ))}
          {submit.fieldErrors.events && <p class="field-error">{submit.fieldErrors.events}</p>}
        </fieldset>
        <div><Submit busy={submit.busy}>Add endpoint</Submit></div>
      </form>
    </section>
  );
}
