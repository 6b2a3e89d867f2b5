/** The site's WordPress connection: connect with an Application Password, sync, disconnect. */
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { ApiError } from "../api/errors";
import type { ScreenProps } from "../router";
import { can } from "../session";
import { Badge, Can, ConfirmButton, notify, plural, when } from "../ui/bits";
import { Async, Empty, ErrorBox, useLoad } from "../ui/data";
import { FormError, Submit, TextField, useSubmit } from "../ui/form";
import { siteParams } from "./shared";

/** What to do about each cause the API names when a connection fails. */
const FIXES: Record<string, string> = {
  wordpress_url_invalid: "Enter the site's full address, for example https://blog.example.com.",
  wordpress_url_not_allowed: "The address leads to a private or local network, which the product may not call. Use the site's public address.",
  wordpress_not_found: "Nothing answered at that address. Check the spelling and that the site is online.",
  wordpress_not_detected: "The address answers, but not as WordPress. Check it is the WordPress site itself, not a landing page.",
  wordpress_rest_disabled: "WordPress's REST API (/wp-json/) is blocked, often by a security plugin or the host. Allow it for this user.",
  wordpress_auth_failed: "WordPress refused the user name or the Application Password. Create one under Users → Profile → Application Passwords and paste it (not the login password).",
  wordpress_auth_header_stripped: "The web server drops the Authorization header before WordPress sees it. The message above says how to fix the host.",
  wordpress_forbidden: "This WordPress user may not publish posts. Use an Editor or Administrator account.",
  wordpress_unavailable: "WordPress is down or too slow right now. Try again in a few minutes.",
};

export default function WordPress({ params }: ScreenProps) {
  const siteId = params.site!;
  const integrations = useLoad(() => must(api.GET("/v1/sites/{site_id}/integrations", siteParams(siteId))), [siteId]);
  return (
    <Async value={integrations} what="the WordPress connection">
      {({ items }) => {
        const connection = items.find((i) => i.platform === "wordpress") ?? items[0];
        return connection ? (
          <Connected siteId={siteId} connection={connection} onChange={integrations.reload} />
        ) : (
          <>
            <Empty title="WordPress is not connected">
              Articles are published to WordPress through its REST API with an Application Password: no plugin is needed.
              {!can("POST /v1/sites/{site_id}/integrations") && " Ask an admin of your account to connect it."}
            </Empty>
            <Can op="POST /v1/sites/{site_id}/integrations">
              <Connect siteId={siteId} onConnected={integrations.reload} />
            </Can>
          </>
        );
      }}
    </Async>
  );
}

function Connect({ siteId, onConnected }: { siteId: string; onConnected: () => void }) {
  const [form, setForm] = useState({ url: "", username: "", app_password: "" });
  const submit = useSubmit(async () => {
    await must(api.POST("/v1/sites/{site_id}/integrations", { ...siteParams(siteId), body: form }));
    notify("WordPress connected");
    onConnected();
  });
  const code = submit.error instanceof ApiError ? submit.error.code : null;
  const errors = submit.fieldErrors;
  return (
    <form class="stack" aria-labelledby="connect" onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
      <h2 id="connect">Connect WordPress</h2>
      <FormError error={submit.error} action="WordPress was not connected" />
      {code && FIXES[code] && (
        <p class="notice" data-fix={code}>
          <strong>What to do:</strong> {FIXES[code]}
        </p>
      )}
      <TextField label="WordPress address" type="url" required placeholder="https://blog.example.com" value={form.url}
        onValue={(url) => setForm({ ...form, url })} error={errors.url} />
      <TextField label="WordPress user name" required autocomplete="off" value={form.username}
        onValue={(username) => setForm({ ...form, username })} error={errors.username} />
      <TextField label="Application Password" type="password" required autocomplete="new-password" value={form.app_password}
        onValue={(app_password) => setForm({ ...form, app_password })} error={errors.app_password}
        hint="WordPress → Users → Profile → Application Passwords. Stored encrypted; never shown again." />
      <div>
        <Submit busy={submit.busy} busyLabel="Testing the connection…">Connect</Submit>
      </div>
    </form>
  );
}

function Connected({ siteId, connection, onChange }: {
  siteId: string; connection: Schemas["IntegrationOut"]; onChange: () => void;
}) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const act = async (work: () => Promise<unknown>, done: string) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      notify(done);
      onChange();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <dl class="facts">
        <dt>Address</dt>
        <dd><a href={connection.url} rel="noreferrer noopener" target="_blank">{connection.url}</a></dd>
        <dt>User</dt><dd>{connection.username} (password {connection.app_password_hint})</dd>
        <dt>Connection</dt><dd><Badge status={connection.connection_status} /></dd>
        <dt>Structure sync</dt>
        <dd>
          <Badge status={connection.sync_status} /> {connection.last_sync_at && `last ${when(connection.last_sync_at)}`}
          {connection.sync_error && <span class="field-error"> {connection.sync_error}</span>}
        </dd>
        <dt>Companion plugin</dt>
        <dd>{connection.plugin_active ? `active${connection.webhooks_enabled ? ", sends changes back" : ""}` : "not installed (optional: it reports posts edited or deleted in WordPress)"}</dd>
        <dt>Synced</dt>
        <dd>
          {plural(connection.categories.length, "category", "categories")}, {plural(connection.tags.length, "tag")},{" "}
          {plural(connection.authors.length, "author")}, {plural(connection.post_types.length, "post type")}
        </dd>
      </dl>
      {error ? <ErrorBox error={error} /> : null}
      <div class="toolbar">
        <Can op="POST /v1/sites/{site_id}/integrations/sync">
          <button type="button" class="button secondary" disabled={busy}
            onClick={() => act(() => must(api.POST("/v1/sites/{site_id}/integrations/sync", siteParams(siteId))), "Structure synced")}>
            Sync categories, tags and authors
          </button>
        </Can>
        <Can op="DELETE /v1/sites/{site_id}/integrations">
          <ConfirmButton label="Disconnect" confirm="Disconnect WordPress and forget its password?" disabled={busy}
            onConfirm={() => act(() => must(api.DELETE("/v1/sites/{site_id}/integrations", siteParams(siteId))), "WordPress disconnected")} />
        </Can>
      </div>
    </>
  );
}
