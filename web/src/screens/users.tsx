/** The account's users and their roles: add a user, change a role, deactivate (admin and above). */
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import type { ScreenProps } from "../router";
import { can, reloadMe, session } from "../session";
import { Badge, Can, ConfirmButton, notify, when } from "../ui/bits";
import { Empty, ErrorBox, PageFooter, usePaged } from "../ui/data";
import { FormError, SelectField, Submit, TextField, useSubmit } from "../ui/form";
import { Invites } from "./invites";

type Role = Schemas["Role"];
const ROLES: { value: Role; label: string }[] = [
  { value: "viewer", label: "Viewer: reads everything, changes nothing" },
  { value: "editor", label: "Editor: keywords, ideas, articles, publishing" },
  { value: "admin", label: "Admin: also sites, WordPress, users, billing" },
  { value: "owner", label: "Owner" },
];

export default function Users(_: ScreenProps) {
  const users = usePaged((cursor) => must(api.GET("/v1/users", { params: { query: { limit: 50, cursor } } })), []);
  const me = session();
  const myId = me.status === "signedIn" ? me.me.user.user_id : "";
  return (
    <>
      {users.items.length > 0 && (
        <table>
          <caption class="visually-hidden">Users of the account</caption>
          <thead><tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Since</th>{can("PATCH /v1/users/{user_id}") && <th scope="col">Actions</th>}</tr></thead>
          <tbody>
            {users.items.map((u) => <UserRow key={u.user_id} user={u} self={u.user_id === myId} onChange={users.reload} />)}
          </tbody>
        </table>
      )}
      {users.state === "ok" && users.items.length === 0 && <Empty title="No users" />}
      <PageFooter list={users} what="users" />
      <Invites />
      <Can op="POST /v1/users">
        <AddUser onAdded={() => { users.reload(); void reloadMe(); }} />
      </Can>
    </>
  );
}

function UserRow({ user, self, onChange }: { user: Schemas["UserOut"]; self: boolean; onChange: () => void }) {
  const [role, setRole] = useState(user.role);
  const [error, setError] = useState<unknown>(null);
  const path = { params: { path: { user_id: user.user_id } } };
  const act = async (work: () => Promise<unknown>, done: string) => {
    setError(null);
    try {
      await work();
      notify(done);
      onChange();
    } catch (e) {
      setError(e);
    }
  };
  const name = `${user.first_name} ${user.last_name}`.trim() || user.email;
  return (
    <tr>
      <td>{name}{name !== user.email && <p class="small muted">{user.email}</p>}{self && <span class="small"> (you)</span>}</td>
      <td><Badge status="role" label={user.role} /></td>
      <td><Badge status={user.is_active ? "active" : "archived"} label={user.is_active ? "active" : "deactivated"} /></td>
      <td>{when(user.created_at)}</td>
      {can("PATCH /v1/users/{user_id}") && (
        <td>
          {!self && user.is_active && (
            <div class="toolbar">
              <SelectField label={`Role of ${name}`} value={role} onValue={setRole} options={ROLES.map((r) => ({ value: r.value, label: r.value }))} />
              <button type="button" class="button small" disabled={role === user.role} onClick={() => act(() => must(api.PATCH(
                "/v1/users/{user_id}", { ...path, body: { role: role as Role } })), `${name} is now ${role}`)}>Change role</button>
              <Can op="POST /v1/users/{user_id}/deactivate">
                <ConfirmButton label="Deactivate" confirm={`Deactivate ${name}? Their sessions end at once.`} onConfirm={() => act(
                  () => must(api.POST("/v1/users/{user_id}/deactivate", path)), `${name} deactivated`)} />
              </Can>
            </div>
          )}
          {error ? <ErrorBox error={error} /> : null}
        </td>
      )}
    </tr>
  );
}

function AddUser({ onAdded }: { onAdded: () => void }) {
  const empty = { email: "", password: "", first_name: "", last_name: "", role: "editor" as Role };
  const [form, setForm] = useState(empty);
  const submit = useSubmit(async () => {
    await must(api.POST("/v1/users", { body: form }));
    notify(`${form.email} added as ${form.role}`);
    setForm(empty);
    onAdded();
  });
  const errors = submit.fieldErrors;
  return (
    <section aria-labelledby="add-user">
      <h2 id="add-user">Add a user</h2>
      <p class="small muted">They sign in with this e-mail and password; share the password with them safely. Users count against the plan.</p>
      <form class="stack" onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
        <FormError error={submit.error} action="The user was not added" />
        <div class="row">
          <TextField label="First name" value={form.first_name} onValue={(first_name) => setForm({ ...form, first_name })} />
          <TextField label="Last name" value={form.last_name} onValue={(last_name) => setForm({ ...form, last_name })} />
        </div>
        <TextField label="E-mail" type="email" required autocomplete="off" value={form.email} onValue={(email) => setForm({ ...form, email })} error={errors.email} />
        <TextField label="First password" type="password" required minLength={10} autocomplete="new-password" value={form.password}
          onValue={(password) => setForm({ ...form, password })} error={errors.password} hint="At least 10 characters." />
        <SelectField label="Role" value={form.role} onValue={(role) => setForm({ ...form, role: role as Role })} options={ROLES.filter((r) => r.value !== "owner")} />
        <div><Submit busy={submit.busy}>Add user</Submit></div>
      </form>
    </section>
  );
}
