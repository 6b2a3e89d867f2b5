/** Your own profile: your names, your password (other sessions end), your address's confirmation. */
import { useState } from "preact/hooks";
import { api, must } from "../api/client";
import type { ScreenProps } from "../router";
import { adopt, reloadMe, session } from "../session";
import { Badge, notify } from "../ui/bits";
import { ErrorBox } from "../ui/data";
import { FormError, Submit, TextField, useSubmit } from "../ui/form";

export default function Profile(_: ScreenProps) {
  const state = session();
  if (state.status !== "signedIn") return null;
  const user = state.me.user;
  return (
    <>
      <dl class="facts">
        <dt>E-mail</dt>
        <dd>{user.email} {user.email_verified ? <Badge status="active" label="confirmed" /> : <><Badge status="review" label="not confirmed" /> <ResendLink /></>}</dd>
        <dt>Role</dt><dd>{user.role}</dd>
      </dl>
      <Names first={user.first_name} last={user.last_name} />
      <Password />
    </>
  );
}

function ResendLink() {
  const [error, setError] = useState<unknown>(null);
  const send = async () => {
    setError(null);
    try {
      notify((await must(api.POST("/v1/me/verify-email"))).message);
    } catch (e) {
      setError(e);
    }
  };
  return <><button type="button" class="button small secondary" onClick={() => void send()}>Mail me a confirmation link</button>{error ? <ErrorBox error={error} /> : null}</>;
}

function Names({ first, last }: { first: string; last: string }) {
  const [form, setForm] = useState({ first_name: first, last_name: last });
  const submit = useSubmit(async () => {
    await must(api.PATCH("/v1/me", { body: form }));
    await reloadMe();
    notify("Your name is saved");
  });
  return (
    <section aria-labelledby="names">
      <h2 id="names">Your name</h2>
      <form class="stack" onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
        <FormError error={submit.error} action="Your name was not saved" />
        <div class="row">
          <TextField label="First name" autocomplete="given-name" value={form.first_name} onValue={(first_name) => setForm({ ...form, first_name })} error={submit.fieldErrors.first_name} />
          <TextField label="Last name" autocomplete="family-name" value={form.last_name} onValue={(last_name) => setForm({ ...form, last_name })} error={submit.fieldErrors.last_name} />
        </div>
        <div><Submit busy={submit.busy}>Save name</Submit></div>
      </form>
    </section>
  );
}

function Password() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const submit = useSubmit(async () => {
    await adopt(await must(api.POST("/v1/me/password", { body: { current_password: current, new_password: next } })));
    setCurrent("");
    setNext("");
    notify("Password changed; your other sessions have ended");
  });
  return (
    <section aria-labelledby="password">
      <h2 id="password">Your password</h2>
      <form class="stack" onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
        <FormError error={submit.error} action="The password was not changed" />
        <TextField label="Current password" type="password" required autocomplete="current-password" value={current} onValue={setCurrent} error={submit.fieldErrors.current_password} />
        <TextField label="New password" type="password" required minLength={10} autocomplete="new-password" value={next} onValue={setNext}
          hint="At least 10 characters. Every other session of yours ends." error={submit.fieldErrors.new_password} />
        <div><Submit busy={submit.busy}>Change password</Submit></div>
      </form>
    </section>
  );
}
