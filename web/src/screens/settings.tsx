/** Account settings: author profiles (the voice articles are written in), the account's own prompts, modules. */
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { navigate, type ScreenProps } from "../router";
import { can } from "../session";
import { Badge, Can, ConfirmButton, notify, when } from "../ui/bits";
import { Async, Empty, ErrorBox, PageFooter, useLoad, usePaged } from "../ui/data";
import { Checkbox, FormError, Submit, TextArea, TextField, useSubmit } from "../ui/form";
import { Tabs } from "../ui/tabs";
import { OwnKeys } from "./own-keys";

type Tab = "profiles" | "prompts" | "keys" | "modules";

const TABS: [Tab, string][] = [["profiles", "Author profiles"], ["prompts", "Prompts"], ["keys", "Own AI keys"], ["modules", "Modules"]];

export default function Settings({ query }: ScreenProps) {
  // The tab is part of the address (#/settings?tab=prompts): a link or a reload opens it.
  const asked = query.get("tab");
  // Own keys are the admins' (the API shows them to no one else).
  const tabs = TABS.filter(([id]) => id !== "keys" || can("GET /v1/account/ai-keys"));
  const tab: Tab = tabs.some(([id]) => id === asked) ? (asked as Tab) : "profiles";
  const setTab = (next: Tab) => navigate(`/settings?tab=${next}`, { replace: true });
  return (
    <Tabs label="Account settings" current={tab} onChange={setTab}
      tabs={tabs}>
      {tab === "profiles" && <Profiles />}
      {tab === "prompts" && <Prompts />}
      {tab === "keys" && <OwnKeys />}
      {tab === "modules" && <Modules />}
    </Tabs>
  );
}

// -- author profiles ----------------------------------------------------------------------

type Profile = Schemas["ProfileOut"];
type ProfileForm = { name: string; description: string; tone: string; language: string; instructions: string; is_active: boolean };
const NEW_PROFILE: ProfileForm = { name: "", description: "", tone: "professional", language: "en", instructions: "", is_active: true };

function Profiles() {
  const own = usePaged((cursor) => must(api.GET("/v1/account/author-profiles", { params: { query: { limit: 50, cursor } } })), []);
  const platform = useLoad(() => must(api.GET("/v1/account/author-profiles", { params: { query: { scope: "global", limit: 50 } } })), []);
  const [editing, setEditing] = useState<Profile | null>(null);
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <h2>Your author profiles</h2>
      {error ? <ErrorBox error={error} action="The profile was not deleted" /> : null}
      <p class="small muted">A profile is the voice of an article: its tone, language and standing instructions to the writer.</p>
      {own.items.length > 0 && (
        <table>
          <caption class="visually-hidden">The account's author profiles</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Tone</th><th scope="col">Language</th><th scope="col">Status</th><th scope="col">Changed</th>{can("PATCH /v1/account/author-profiles/{profile_id}") && <th scope="col">Actions</th>}</tr></thead>
          <tbody>
            {own.items.map((p) => (
              <tr key={p.profile_id}>
                <td>{p.name}{p.description && <p class="small muted">{p.description}</p>}</td>
                <td>{p.tone}</td>
                <td>{p.language}</td>
                <td><Badge status={p.is_active ? "active" : "archived"} label={p.is_active ? "active" : "off"} /></td>
                <td>{when(p.updated_at)}</td>
                {can("PATCH /v1/account/author-profiles/{profile_id}") && (
                  <td>
                    <div class="toolbar">
                      <button type="button" class="button small secondary" onClick={() => setEditing(p)} aria-label={`Edit ${p.name}`}>Edit</button>
                      <Can op="DELETE /v1/account/author-profiles/{profile_id}">
                        <ConfirmButton label="Delete" confirm={`Delete the profile ${p.name}?`} onConfirm={async () => {
                          setError(null);
                          try {
                            await must(api.DELETE("/v1/account/author-profiles/{profile_id}", { params: { path: { profile_id: p.profile_id } } }));
                            notify(`${p.name} deleted`);
                            own.reload();
                          } catch (e) {
                            setError(e);
                          }
                        }} />
                      </Can>
                    </div>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {own.state === "ok" && own.items.length === 0 && (
        <Empty title="No author profiles of your own yet">
          {can("POST /v1/account/author-profiles") ? "Add one below; until then the platform's profiles apply." : "An admin of your account can add them; the platform's profiles apply meanwhile."}
        </Empty>
      )}
      <PageFooter list={own} what="author profiles" />
      <Can op="POST /v1/account/author-profiles">
        <ProfileEditor key={editing?.profile_id ?? "new"} profile={editing} onDone={() => { setEditing(null); own.reload(); }} onCancel={() => setEditing(null)} />
      </Can>
      <h2>The platform's profiles</h2>
      <Async value={platform} what="the platform's profiles">
        {(page) => page.items.length === 0 ? <Empty title="The platform offers no profiles" /> : (
          <ul class="plain">
            {page.items.map((p) => <li key={p.profile_id}><strong>{p.name}</strong> ({p.tone}, {p.language}){p.description && `: ${p.description}`}</li>)}
          </ul>
        )}
      </Async>
    </>
  );
}

function ProfileEditor({ profile, onDone, onCancel }: { profile: Profile | null; onDone: () => void; onCancel: () => void }) {
  const [form, setForm] = useState<ProfileForm>(profile ? {
    name: profile.name, description: profile.description, tone: profile.tone, language: profile.language,
    instructions: profile.instructions, is_active: profile.is_active,
  } : NEW_PROFILE);
  const submit = useSubmit(async () => {
    if (profile) {
      await must(api.PATCH("/v1/account/author-profiles/{profile_id}", { params: { path: { profile_id: profile.profile_id } }, body: form }));
      notify(`${form.name} saved`);
    } else {
      await must(api.POST("/v1/account/author-profiles", { body: form }));
      notify(`${form.name} added`);
      setForm(NEW_PROFILE);
    }
    onDone();
  });
  const errors = submit.fieldErrors;
  const heading = profile ? `Edit ${profile.name}` : "Add an author profile";
  return (
    <section aria-labelledby="profile-editor">
      <h2 id="profile-editor">{heading}</h2>
      <form class="stack" onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
        <FormError error={submit.error} action="The profile was not saved" />
        <div class="row">
          <TextField label="Name" required maxLength={255} value={form.name} onValue={(name) => setForm({ ...form, name })} error={errors.name} />
          <TextField label="Tone" required maxLength={50} value={form.tone} onValue={(tone) => setForm({ ...form, tone })} error={errors.tone}
            hint="For example professional, casual, technical." />
          <TextField label="Language" required value={form.language} onValue={(language) => setForm({ ...form, language })}
            error={errors.language} hint="A language code: en, de, pt-BR." />
        </div>
        <TextField label="Description" maxLength={2000} value={form.description} onValue={(description) => setForm({ ...form, description })} error={errors.description} />
        <TextArea label="Instructions to the writer" maxLength={5000} value={form.instructions} onValue={(instructions) => setForm({ ...form, instructions })}
          error={errors.instructions} hint="Standing instructions for every article in this voice (up to 5,000 characters)." />
        <Checkbox label="Active" checked={form.is_active} onChecked={(is_active) => setForm({ ...form, is_active })} hint="An inactive profile is kept but not offered." />
        <div class="toolbar">
          <Submit busy={submit.busy}>{profile ? "Save profile" : "Add profile"}</Submit>
          {profile && <button type="button" class="button secondary" onClick={onCancel}>Cancel</button>}
        </div>
      </form>
    </section>
  );
}

// -- prompts ------------------------------------------------------------------------------

/** The stages' prompt types (chalicelib/services/system_defaults.py), and any the account has set. */
const PROMPT_TYPES: [type: string, what: string][] = [
  ["clustering", "Names a cluster of related keywords."],
  ["ideas", "Turns a cluster into article ideas with outlines."],
  ["content_generation", "Writes an article in HTML from an idea's brief and outline."],
  ["image_prompts", "Writes image-generator prompts for an article."],
];

function Prompts() {
  const own = useLoad(() => must(api.GET("/v1/account/prompts", { params: { query: { limit: 100 } } })), []);
  const types = [...PROMPT_TYPES];
  for (const p of own.data?.items ?? []) if (!types.some(([t]) => t === p.prompt_type)) types.push([p.prompt_type, p.description ?? ""]);
  return (
    <>
      <h2>Prompts</h2>
      <p class="small muted">Each stage calls the AI with a prompt: your account's own if you set one, else the platform's, else the built-in one.</p>
      <Async value={own} what="your prompts">
        {() => <>{types.map(([type, what]) => <PromptCard key={type} type={type} what={what} onChange={own.reload} />)}</>}
      </Async>
    </>
  );
}

function PromptCard({ type, what, onChange }: { type: string; what: string; onChange: () => void }) {
  const path = { params: { path: { prompt_type: type } } };
  const effective = useLoad(() => must(api.GET("/v1/account/prompts/{prompt_type}", path)), [type]);
  const [text, setText] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const save = useSubmit(async () => {
    await must(api.PUT("/v1/account/prompts/{prompt_type}", { ...path, body: { prompt_value: text ?? "", is_active: true } }));
    notify(`Your ${type} prompt is saved`);
    setText(null);
    effective.reload();
    onChange();
  });
  const reset = async () => {
    setError(null);
    try {
      await must(api.DELETE("/v1/account/prompts/{prompt_type}", path));
      notify(`The ${type} prompt is the platform's again`);
      effective.reload();
      onChange();
    } catch (e) {
      setError(e);
    }
  };
  const source = { account: "your account's", global: "the platform's", builtin: "built in" } as const;
  return (
    <section class="card" aria-labelledby={`prompt-${type}`}>
      <h3 id={`prompt-${type}`}>{type.replace(/_/g, " ")}</h3>
      <p class="small muted">{what}</p>
      <Async value={effective} what={`the ${type} prompt`}>
        {(p) => text === null ? (
          <>
            <p class="small">In use: {source[p.source]}{p.variables.length > 0 && <> · placeholders {p.variables.map((v) => <code key={v}>{`{{ ${v} }}`} </code>)}</>}</p>
            <pre class="prompt" tabIndex={0} aria-label={`The ${type} prompt in use`}>{p.prompt_value}</pre>
            <div class="toolbar">
              <Can op="PUT /v1/account/prompts/{prompt_type}">
                <button type="button" class="button small" onClick={() => setText(p.prompt_value)}>
                  {p.source === "account" ? "Edit" : "Write your own"}<span class="visually-hidden"> {type} prompt</span>
                </button>
              </Can>
              {p.source === "account" && (
                <Can op="DELETE /v1/account/prompts/{prompt_type}">
                  <ConfirmButton label="Use the platform's" tone="secondary" confirm={`Drop your ${type} prompt?`} onConfirm={() => void reset()} />
                </Can>
              )}
            </div>
            {error ? <ErrorBox error={error} /> : null}
          </>
        ) : (
          <form class="stack" onSubmit={(e) => { e.preventDefault(); void save.run(); }}>
            <FormError error={save.error} action="The prompt was not saved" />
            <TextArea label={`Your ${type.replace(/_/g, " ")} prompt`} rows={10} required maxLength={50000} value={text} onValue={setText}
              error={save.fieldErrors.prompt_value} hint="Instructions first, {{ placeholders }} last: the shared beginning is cached by the AI provider." />
            <div class="toolbar">
              <Submit busy={save.busy}>Save prompt</Submit>
              <button type="button" class="button secondary" onClick={() => { setText(null); save.clear(); }}>Cancel</button>
            </div>
          </form>
        )}
      </Async>
    </section>
  );
}

// -- modules ------------------------------------------------------------------------------

const MODULES: [key: keyof Schemas["ModulesOut"], label: string, what: string][] = [
  ["planner", "Planner", "keywords, clusters and ideas"],
  ["writer", "Writer", "writing tasks, articles and images"],
  ["linker", "Linker", "internal link suggestions"],
  ["optimizer", "Optimizer", "content scores and optimisation"],
  ["automation", "Automation", "scheduled runs of the whole pipeline"],
  ["integration", "Integration", "WordPress connections"],
  ["publisher", "Publisher", "the publishing calendar"],
];

function Modules() {
  const modules = useLoad(() => must(api.GET("/v1/account/modules")), []);
  // The PATCH answers with every switch: shown at once, and no switch moves while one is saved.
  const [saved, setSaved] = useState<Schemas["ModulesOut"] | null>(null);
  const [pending, setPending] = useState<{ key: string; on: boolean } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const writable = can("PATCH /v1/account/modules");
  const busy = pending !== null;
  const toggle = async (key: keyof Schemas["ModulesOut"], on: boolean) => {
    setError(null);
    setPending({ key, on });
    try {
      setSaved(await must(api.PATCH("/v1/account/modules", { body: { [key]: on } })));
      notify(`${key} switched ${on ? "on" : "off"}`);
    } catch (e) {
      setError(e);
      modules.reload();
    } finally {
      setPending(null);
    }
  };
  return (
    <>
      <h2>Modules</h2>
      <p class="small muted">A module switched off answers its routes with "module disabled"; its data stays.</p>
      {error ? <ErrorBox error={error} action="The module was not switched" /> : null}
      <Async value={modules} what="modules">
        {(loaded) => {
          const m = saved ?? loaded;
          return (
            <ul class="plain stack">
              {MODULES.map(([key, label, what]) => (
                <li key={key}>
                  {writable
                    ? <Checkbox label={`${label}: ${what}`} checked={pending?.key === key ? pending.on : m[key]} disabled={busy} onChecked={(on) => void toggle(key, on)} />
                    : <p>{label} ({what}): <Badge status={m[key] ? "active" : "archived"} label={m[key] ? "on" : "off"} /></p>}
                </li>
              ))}
            </ul>
          );
        }}
      </Async>
    </>
  );
}
