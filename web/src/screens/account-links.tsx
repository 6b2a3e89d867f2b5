/**
 * The pages e-mailed links open (the token in the address): accept an invitation, choose a new
 * password, confirm an address; and asking for a reset link. The token is read once and taken out
 * of the address, so it is not left in the history.
 */
import { useEffect, useState } from "preact/hooks";
import { api, must } from "../api/client";
import { href, navigate, type ScreenProps } from "../router";
import { adopt } from "../session";
import { Async, ErrorBox, useLoad } from "../ui/data";
import { FormError, Submit, TextField, useSubmit } from "../ui/form";

function useToken(query: URLSearchParams, page: string): string {
  const [token] = useState(() => query.get("token") ?? "");
  useEffect(() => {
    if (query.has("token")) navigate(page, { replace: true });
  }, []);
  return token;
}

export function AcceptInvite({ query }: ScreenProps) {
  const token = useToken(query, "/accept-invite");
  const preview = useLoad(() => must(api.POST("/v1/auth/invites/preview", { body: { token } })), [token]);
  const [password, setPassword] = useState("");
  const [names, setNames] = useState<{ first_name: string; last_name: string } | null>(null);
  const submit = useSubmit(async () => {
    const out = await must(api.POST("/v1/auth/invites/accept", { body: { token, password, ...(names ?? {}) } }));
    await adopt(out.tokens);
    navigate("/sites", { replace: true });
  });
  if (!token) return <div class="auth-card"><p>This page needs the link from your invitation e-mail. Open the link again, or ask whoever invited you to resend it.</p></div>;
  return (
    <div class="auth-card">
      <Async value={preview} what="your invitation">
        {(p) => {
          const form = names ?? { first_name: p.first_name, last_name: p.last_name };
          return (
            <form onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
              <p>{p.invited_by} invites <strong>{p.email}</strong> to <strong>{p.account_name}</strong> as {p.role}.</p>
              <FormError error={submit.error} action="The invitation was not accepted" />
              <div class="row">
                <TextField label="First name" autocomplete="given-name" value={form.first_name} onValue={(first_name) => setNames({ ...form, first_name })} />
                <TextField label="Last name" autocomplete="family-name" value={form.last_name} onValue={(last_name) => setNames({ ...form, last_name })} />
              </div>
              <TextField label="Choose a password" type="password" required minLength={10} autocomplete="new-password" value={password}
                onValue={setPassword} hint="At least 10 characters." error={submit.fieldErrors.password} />
              <Submit busy={submit.busy} busyLabel="Joining…">Join {p.account_name}</Submit>
            </form>
          );
        }}
      </Async>
      {preview.state === "error" && <p>An invitation link works once, for 7 days. Ask whoever invited you to send it again.</p>}
    </div>
  );
}

export function ResetPassword({ query }: ScreenProps) {
  const token = useToken(query, "/reset-password");
  return token ? <ChooseNew token={token} /> : <AskForLink />;
}

function AskForLink() {
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState<string | null>(null);
  const submit = useSubmit(async () => setSent((await must(api.POST("/v1/auth/password-reset", { body: { email: email.trim() } }))).message));
  return (
    <div class="auth-card">
      {sent ? <p class="notice" role="status">{sent}</p> : (
        <form onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
          <p class="muted">We mail a link to choose a new password; it works once, for 30 minutes.</p>
          <FormError error={submit.error} action="No link was sent" />
          <TextField label="E-mail" type="email" required autocomplete="username" value={email} onValue={setEmail} error={submit.fieldErrors.email} />
          <Submit busy={submit.busy}>Mail me a link</Submit>
        </form>
      )}
      <p><a href={href("/signin")}>Back to sign in</a></p>
    </div>
  );
}

function ChooseNew({ token }: { token: string }) {
  const [password, setPassword] = useState("");
  const [done, setDone] = useState(false);
  const submit = useSubmit(async () => {
    await must(api.POST("/v1/auth/password-reset/confirm", { body: { token, new_password: password } }));
    setDone(true);
  });
  return (
    <div class="auth-card">
      {done ? <p class="notice" role="status">Your password is changed and every session of yours has ended. <a href={href("/signin")}>Sign in</a> with the new one.</p> : (
        <form onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
          <FormError error={submit.error} action="The password was not changed" />
          <TextField label="New password" type="password" required minLength={10} autocomplete="new-password" value={password}
            onValue={setPassword} hint="At least 10 characters." error={submit.fieldErrors.new_password} />
          <Submit busy={submit.busy}>Change password</Submit>
          {submit.error ? <p>A link works once, for 30 minutes. <a href={href("/reset-password")}>Ask for a new one</a>.</p> : null}
        </form>
      )}
    </div>
  );
}

export function VerifyEmail({ query }: ScreenProps) {
  const token = useToken(query, "/verify-email");
  const verified = useLoad(() => must(api.POST("/v1/auth/verify-email", { body: { token } })), [token]);
  return (
    <div class="auth-card">
      {!token ? <p>This page needs the link from the e-mail we sent you.</p> : (
        <Async value={verified} what="your address">
          {(v) => <p class="notice" role="status">{v.email} is confirmed. <a href={href("/sites")}>Carry on</a>.</p>}
        </Async>
      )}
      {verified.state === "error" && <ErrorBox error={verified.error} action="Signed in, you can ask for a new link on “Your profile”" />}
    </div>
  );
}
