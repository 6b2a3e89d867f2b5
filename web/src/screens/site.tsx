/** One site: its settings and its sectors (the topics its keywords and articles belong to). */
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { href, navigate, type ScreenProps } from "../router";
import { can, reloadMe } from "../session";
import { Badge, Can, ConfirmButton, notify } from "../ui/bits";
import { Async, Empty, ErrorBox, useLoad } from "../ui/data";
import { FormError, Submit, TextField, useSubmit } from "../ui/form";
import { siteParams, sitePath, useSectors } from "./shared";

export default function Site({ params }: ScreenProps) {
  const siteId = params.site!;
  const site = useLoad(() => must(api.GET("/v1/sites/{site_id}", siteParams(siteId))), [siteId]);
  const sectors = useSectors(siteId);
  return (
    <Async value={site} what="the site">
      {(s) => (
        <>
          {can("PATCH /v1/sites/{site_id}") ? <SiteForm site={s} onSaved={site.reload} /> : <SiteFacts site={s} />}
          <Sectors siteId={siteId} sectors={sectors} />
          <section aria-labelledby="next">
            <h2 id="next">Next steps</h2>
            <ol>
              <li><a href={href(sitePath(siteId, "/wordpress"))}>Connect the site's WordPress</a></li>
              <li><a href={href(sitePath(siteId, "/keywords/import"))}>Import keywords</a> into a sector</li>
              <li>Cluster them, turn clusters into <a href={href(sitePath(siteId, "/ideas"))}>ideas</a>, write <a href={href(sitePath(siteId, "/content"))}>articles</a></li>
              <li>Schedule them on the <a href={href(sitePath(siteId, "/calendar"))}>publishing calendar</a></li>
            </ol>
          </section>
          <Can op="DELETE /v1/sites/{site_id}">
            <h2>Delete the site</h2>
            <p class="muted">Deletes the site and its sectors. This cannot be undone.</p>
            <DeleteSite siteId={siteId} />
          </Can>
        </>
      )}
    </Async>
  );
}

function SiteFacts({ site }: { site: Schemas["SiteOut"] }) {
  return (
    <dl class="facts">
      <dt>Name</dt><dd>{site.name}</dd>
      <dt>Domain</dt><dd>{site.domain || "—"}</dd>
      <dt>Time zone</dt><dd>{site.time_zone}</dd>
      <dt>Status</dt><dd><Badge status={site.is_active ? "active" : "archived"} label={site.is_active ? "active" : "inactive"} /></dd>
    </dl>
  );
}

function SiteForm({ site, onSaved }: { site: Schemas["SiteOut"]; onSaved: () => void }) {
  const [form, setForm] = useState({ name: site.name, domain: site.domain, time_zone: site.time_zone });
  const submit = useSubmit(async () => {
    await must(api.PATCH("/v1/sites/{site_id}", { ...siteParams(site.site_id), body: form }));
    notify("Site saved");
    onSaved();
  });
  const errors = submit.fieldErrors;
  return (
    <form class="stack" aria-label="Site settings" onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
      <FormError error={submit.error} action="The site was not saved" />
      <div class="row">
        <TextField label="Name" required value={form.name} onValue={(name) => setForm({ ...form, name })} error={errors.name} />
        <TextField label="Domain" value={form.domain} onValue={(domain) => setForm({ ...form, domain })} error={errors.domain} />
        <TextField label="Time zone" value={form.time_zone} onValue={(time_zone) => setForm({ ...form, time_zone })}
          error={errors.time_zone} />
      </div>
      <div>
        <Submit busy={submit.busy}>Save site</Submit>
      </div>
    </form>
  );
}

function Sectors({ siteId, sectors }: { siteId: string; sectors: ReturnType<typeof useSectors> }) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const add = useSubmit(async () => {
    await must(api.POST("/v1/sites/{site_id}/sectors", { ...siteParams(siteId), body: { name, description } }));
    setName("");
    setDescription("");
    notify(`Sector ${name} added`);
    sectors.reload();
  });
  return (
    <section aria-labelledby="sectors">
      <h2 id="sectors">Sectors</h2>
      <Async value={sectors} what="sectors">
        {(list) =>
          list.length === 0 ? (
            <Empty title="No sectors yet">
              Keywords and articles belong to a sector (a topic of the site).{" "}
              {can("POST /v1/sites/{site_id}/sectors") ? "Add one below." : "Ask an admin to add one."}
            </Empty>
          ) : (
            <table>
              <caption className="visually-hidden">Sectors of the site</caption>
              <thead>
                <tr><th scope="col">Sector</th><th scope="col">Description</th><th scope="col">Actions</th></tr>
              </thead>
              <tbody>
                {list.map((s) => <SectorRow key={s.sector_id} siteId={siteId} sector={s} onChange={sectors.reload} />)}
              </tbody>
            </table>
          )
        }
      </Async>
      <Can op="POST /v1/sites/{site_id}/sectors">
        <form class="stack" aria-label="Add a sector" onSubmit={(e) => { e.preventDefault(); void add.run(); }}>
          <FormError error={add.error} action="The sector was not added" />
          <div class="row">
            <TextField label="New sector name" required value={name} onValue={setName} error={add.fieldErrors.name} />
            <TextField label="Description" value={description} onValue={setDescription} />
          </div>
          <div>
            <Submit busy={add.busy}>Add sector</Submit>
          </div>
        </form>
      </Can>
    </section>
  );
}

function SectorRow({ siteId, sector, onChange }: { siteId: string; sector: Schemas["SectorOut"]; onChange: () => void }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(sector.name);
  const [error, setError] = useState<unknown>(null);
  const path = { params: { path: { site_id: siteId, sector_id: sector.sector_id } } };
  const save = async () => {
    try {
      await must(api.PATCH("/v1/sites/{site_id}/sectors/{sector_id}", { ...path, body: { name } }));
      setEditing(false);
      onChange();
    } catch (e) {
      setError(e);
    }
  };
  const remove = async () => {
    try {
      await must(api.DELETE("/v1/sites/{site_id}/sectors/{sector_id}", path));
      notify(`Sector ${sector.name} deleted`);
      onChange();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <tr>
      <td>
        {editing ? (
          <TextField label={`New name for ${sector.name}`} value={name} onValue={setName} />
        ) : (
          sector.name
        )}
      </td>
      <td>{sector.description || "—"}</td>
      <td>
        <Can op="PATCH /v1/sites/{site_id}/sectors/{sector_id}">
          {editing ? (
            <>
              <button type="button" class="button small" onClick={save}>Save</button>{" "}
              <button type="button" class="button small secondary" onClick={() => setEditing(false)}>Cancel</button>
            </>
          ) : (
            <button type="button" class="button small secondary" onClick={() => setEditing(true)}
              aria-label={`Rename ${sector.name}`}>Rename</button>
          )}
        </Can>{" "}
        <Can op="DELETE /v1/sites/{site_id}/sectors/{sector_id}">
          <ConfirmButton label="Delete" confirm={`Delete sector ${sector.name}?`} onConfirm={remove} />
        </Can>
        {error ? <ErrorBox error={error} /> : null}
      </td>
    </tr>
  );
}

function DeleteSite({ siteId }: { siteId: string }) {
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <ConfirmButton label="Delete site" confirm="Delete this site and its sectors?" onConfirm={async () => {
        try {
          await must(api.DELETE("/v1/sites/{site_id}", siteParams(siteId)));
          await reloadMe();
          notify("Site deleted");
          navigate("/sites");
        } catch (e) {
          setError(e);
        }
      }} />
      {error ? <ErrorBox error={error} /> : null}
    </>
  );
}
