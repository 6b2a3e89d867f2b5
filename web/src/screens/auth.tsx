/** Sign in and sign up: part of the first chunk, since a new visitor sees one of them first. */
import { useState } from "preact/hooks";
import { href, navigate, takeReturn } from "../router";
import { FormError, Submit, TextField, useSubmit } from "../ui/form";
import { signIn, signUp, session } from "../session";

function afterSignIn(): void {
  navigate(takeReturn("/sites"), { replace: true });
}

export function SignIn() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const submit = useSubmit(() => signIn(email.trim(), password));
  const state = session();
  const reason = state.status === "signedOut" ? state.reason : undefined;
  return (
    <div class="auth-card">
      {reason && (
        <p class="notice" role="status">
          {reason}
        </p>
      )}
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if (await submit.run()) afterSignIn();
        }}
      >
        <FormError error={submit.error} action="Sign-in failed" />
        <TextField label="E-mail" type="email" autocomplete="username" required value={email} onValue={setEmail} />
        <TextField label="Password" type="password" autocomplete="current-password" required value={password}
          onValue={setPassword} />
        <Submit busy={submit.busy} busyLabel="Signing in…">Sign in</Submit>
      </form>
      <p>
        <a href={href("/reset-password")}>Forgot your password?</a>
      </p>
      <p>
        New here? <a href={href("/signup")}>Create an account</a>
      </p>
    </div>
  );
}

export function SignUp() {
  const [form, setForm] = useState({ account_name: "", first_name: "", last_name: "", email: "", password: "" });
  const field = (name: keyof typeof form) => ({ value: form[name], onValue: (v: string) => setForm({ ...form, [name]: v }) });
  const submit = useSubmit(() => signUp({ ...form, email: form.email.trim() }));
  const errors = submit.fieldErrors;
  return (
    <div class="auth-card">
      <p class="muted">An account holds your sites, your team and your credits. You start on the free plan.</p>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if (await submit.run()) afterSignIn();
        }}
      >
        <FormError error={submit.error} action="Sign-up failed" />
        <TextField label="Company or account name" required autocomplete="organization" error={errors.account_name}
          {...field("account_name")} />
        <div class="row">
          <TextField label="First name" autocomplete="given-name" error={errors.first_name} {...field("first_name")} />
          <TextField label="Last name" autocomplete="family-name" error={errors.last_name} {...field("last_name")} />
        </div>
        <TextField label="E-mail" type="email" required autocomplete="email" error={errors.email} {...field("email")} />
        <TextField label="Password" type="password" required minLength={10} autocomplete="new-password"
          hint="At least 10 characters." error={errors.password} {...field("password")} />
        <Submit busy={submit.busy} busyLabel="Creating your account…">Create account</Submit>
      </form>
      <p>
        Already have an account? <a href={href("/signin")}>Sign in</a>
      </p>
    </div>
  );
}
