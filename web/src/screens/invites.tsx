/** Invitations on the users screen: invite by e-mail (a seat is held until it ends), resend, revoke. */
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { can } from "../session";
import { Badge, Can, ConfirmButton, notify, when } from "../ui/bits";
import { ErrorBox, PageFooter, usePaged } from "../ui/data";
import { FormError, SelectField, Submit, TextField, useSubmit } from "../ui/form";

type Role = Schemas["Role"];
const ROLES: { value: Role; label: string }[] = [
  { value: "viewer", label: "Viewer: reads everything, changes nothing" },
  { value: "editor", label: "Editor: keywords, ideas, articles, publishing" },
  { value: "admin", label: "Admin: also sites, WordPress, users, billing" },
];

export function Invites() {
  const invites = usePaged((cursor) => must(api.GET("/v1/users/invites", { params: { query: { limit: 50, cursor } } })), []);
  const [error, setError] = useState<unknown>(null);
  const act = async (work: () => Promise<unknown>, done: string) => {
    setError(null);
    try {
      await work();
      notify(done);
      invites.reload();
    } catch (e) {
      setError(e);
    }
  };
  const open = invites.items.filter((i) => i.status === "pending");
  const manage = can("POST /v1/users/invites/{invite_id}/revoke");
  return (
    <section aria-labelledby="invites">
      <h2 id="invites">Invitations</h2>
      {error ? <ErrorBox error={error} /> : null}
      {invites.items.length > 0 ? (
        <table>
          <caption class="visually-hidden">Invitations sent</caption>
          <thead><tr><th scope="col">E-mail</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Until</th>{manage && <th scope="col">Actions</th>}</tr></thead>
          <tbody>
            {invites.items.map((i) => {
              const path = { params: { path: { invite_id: i.invite_id } } };
              return (
                <tr key={i.invite_id}>
                  <td>{i.email}</td>
                  <td>{i.role}</td>
                  <td><Badge status={i.status === "pending" ? "review" : i.status === "accepted" ? "active" : "archived"} label={i.status} /></td>
                  <td>{when(i.expires_at)}{i.sends > 1 && <span class="small muted"> (sent {i.sends} times)</span>}</td>
                  {manage && (
                    <td>{i.status === "pending" && (
                      <div class="toolbar">
                        <button type="button" class="button small secondary" onClick={() => act(() => must(api.POST("/v1/users/invites/{invite_id}/resend", path)), `Sent to ${i.email} again`)}>
                          Resend<span class="visually-hidden"> to {i.email}</span>
                        </button>
                        <ConfirmButton label="Revoke" confirm={`Revoke the invitation of ${i.email}? Its link stops working.`}
                          onConfirm={() => void act(() => must(api.POST("/v1/users/invites/{invite_id}/revoke", path)), `Invitation of ${i.email} revoked`)} />
                      </div>
                    )}</td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : invites.state === "ok" && <p class="muted">No invitations sent{can("POST /v1/users/invites") ? ": invite someone below." : "."}</p>}
      {open.length > 0 && <p class="small muted">{open.length} pending invitation{open.length > 1 ? "s hold seats" : " holds a seat"} of the plan until accepted, revoked or expired.</p>}
      <PageFooter list={invites} what="invitations" />
      <Can op="POST /v1/users/invites">
        <Invite onSent={invites.reload} />
      </Can>
    </section>
  );
}

function Invite({ onSent }: { onSent: () => void }) {
  const empty = { email: "", role: "editor" as Role, first_name: "", last_name: "" };
  const [form, setForm] = useState(empty);
  const submit = useSubmit(async () => {
    await must(api.POST("/v1/users/invites", { body: { ...form, email: form.email.trim() } }));
    notify(`Invitation sent to ${form.email}`);
    setForm(empty);
    onSent();
  });
  return (
    <form class="stack" aria-labelledby="invite-someone" onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
      <h3 id="invite-someone">Invite someone</h3>
      <p class="small muted">They get an e-mail with a link (7 days, once) to choose their password and join.</p>
      <FormError error={submit.error} action="The invitation was not sent" />
      <div class="row">
        <TextField label="Their e-mail" type="email" required value={form.email} onValue={(email) => setForm({ ...form, email })} error={submit.fieldErrors.email} />
        <SelectField label="Their role" value={form.role} onValue={(role) => setForm({ ...form, role: role as Role })} options={ROLES} />
      </div>
      <div><Submit busy={submit.busy}>Send invitation</Submit></div>
    </form>
  );
}
