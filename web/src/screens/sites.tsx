/** The account's sites: the list, and a new site (admin and above; counts against the plan). */
import { useState } from "preact/hooks";
import { api, must } from "../api/client";
import { href, navigate, type ScreenProps } from "../router";
import { can, reloadMe } from "../session";
import { Badge, Can, day } from "../ui/bits";
import { Empty, PageFooter, usePaged } from "../ui/data";
import { FormError, Submit, TextField, useSubmit } from "../ui/form";
import { sitePath } from "./shared";

export default function Sites(_: ScreenProps) {
  const sites = usePaged((cursor) => must(api.GET("/v1/sites", { params: { query: { limit: 50, cursor } } })), []);
  return (
    <>
      {sites.state === "ok" && sites.items.length === 0 && (
        <Empty title="No sites yet">
          A site is one WordPress blog.{" "}
          {can("POST /v1/sites") ? "Add your first one below." : "Ask an admin of your account to add one."}
        </Empty>
      )}
      {sites.items.length > 0 && (
        <table>
          <caption>Your sites</caption>
          <thead>
            <tr>
              <th scope="col">Site</th>
              <th scope="col">Domain</th>
              <th scope="col">Time zone</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {sites.items.map((s) => (
              <tr key={s.site_id}>
                <td>
                  <a href={href(sitePath(s.site_id))}>{s.name}</a>
                </td>
                <td>{s.domain || "—"}</td>
                <td>{s.time_zone}</td>
                <td>
                  <Badge status={s.is_active ? "active" : "archived"} label={s.is_active ? "active" : "inactive"} />
                </td>
                <td>{day(s.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <PageFooter list={sites} what="sites" />
      <Can op="POST /v1/sites">
        <NewSite />
      </Can>
    </>
  );
}

function NewSite() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const [form, setForm] = useState({ name: "", domain: "", time_zone: zone });
  const submit = useSubmit(async () => {
    const site = await must(api.POST("/v1/sites", { body: form }));
    await reloadMe();
    navigate(sitePath(site.site_id));
  });
  const errors = submit.fieldErrors;
  return (
    <section aria-labelledby="new-site">
      <h2 id="new-site">Add a site</h2>
      <form class="stack" onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
        <FormError error={submit.error} action="The site was not created" />
        <TextField label="Name" required value={form.name} onValue={(name) => setForm({ ...form, name })} error={errors.name} />
        <TextField label="Domain" placeholder="blog.example.com" value={form.domain}
          onValue={(domain) => setForm({ ...form, domain })} error={errors.domain} />
        <TextField label="Time zone" value={form.time_zone} onValue={(time_zone) => setForm({ ...form, time_zone })}
          hint="An IANA name such as Europe/Berlin: publishing slots and limits follow it." error={errors.time_zone} />
        <div>
          <Submit busy={submit.busy}>Add site</Submit>
        </div>
      </form>
    </section>
  );
}
