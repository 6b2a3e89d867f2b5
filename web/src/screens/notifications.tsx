/** The signed-in person's notifications (newest first, unread marked), their channels per event, the account's threshold. */
import { useState } from "preact/hooks";
import { api, must, type Returns, type Schemas } from "../api/client";
import { href, navigate, type ScreenProps } from "../router";
import { can } from "../session";
import { Badge, notify, when } from "../ui/bits";
import { Async, Empty, ErrorBox, PageFooter, useLoad, usePaged } from "../ui/data";
import { Checkbox, FormError, SelectField, Submit, TextField, useSubmit } from "../ui/form";
import { Tabs } from "../ui/tabs";

type Tab = "inbox" | "channels";
const TABS: [Tab, string][] = [["inbox", "Inbox"], ["channels", "How you are told"]];

export default function Notifications({ query }: ScreenProps) {
  const asked = query.get("tab");
  const tab: Tab = TABS.some(([id]) => id === asked) ? (asked as Tab) : "inbox";
  return (
    <Tabs label="Notifications" current={tab} onChange={(next) => navigate(`/notifications?tab=${next}`, { replace: true })} tabs={TABS}>
      {tab === "inbox" ? <Inbox unreadOnly={query.get("unread") === "1"} /> : <Channels />}
    </Tabs>
  );
}

function Inbox({ unreadOnly }: { unreadOnly: boolean }) {
  const list = usePaged((cursor) => must(api.GET("/v1/notifications", { params: { query: { limit: 25, cursor, unread: unreadOnly } } })), [unreadOnly]);
  const unread = useLoad(() => must(api.GET("/v1/notifications/unread-count")), []);
  const [error, setError] = useState<unknown>(null);
  const act = async (work: () => Promise<unknown>, done: string) => {
    setError(null);
    try {
      await work();
      notify(done);
      list.reload();
      unread.reload();
    } catch (e) {
      setError(e);
    }
  };
  const count = unread.data?.unread ?? 0;
  return (
    <>
      <div class="toolbar">
        <p>{count === 0 ? "Nothing unread." : `${count} unread.`}</p>
        <a class="button secondary small" href={href(unreadOnly ? "/notifications" : "/notifications?unread=1")}>
          {unreadOnly ? "Show all" : "Show unread only"}
        </a>
        {count > 0 && (
          <button type="button" class="button small" onClick={() => act(() => must(api.POST("/v1/notifications/read-all")), "All marked read")}>
            Mark all read
          </button>
        )}
      </div>
      {error ? <ErrorBox error={error} /> : null}
      {list.items.length > 0 && (
        <ul class="plain notifications">
          {list.items.map((n) => <Item key={n.notification_id} item={n} onRead={() => act(() => must(api.POST(
            "/v1/notifications/{notification_id}/read", { params: { path: { notification_id: n.notification_id } } })), "Marked read")} />)}
        </ul>
      )}
      {list.state === "ok" && list.items.length === 0 && (
        <Empty title={unreadOnly ? "Nothing unread" : "No notifications yet"}>
          Runs that finish, articles waiting for review, posts published or failed and credits running low show up here.
        </Empty>
      )}
      <PageFooter list={list} what="notifications" />
    </>
  );
}

function Item({ item, onRead }: { item: Schemas["NotificationOut"]; onRead: () => void }) {
  return (
    <li class={`card${item.read ? "" : " unread"}`}>
      <h2 class="h3">{item.title}{item.count > 1 && <span class="small muted"> ({item.count} times)</span>}</h2>
      <p>{item.message}</p>
      <p class="small muted">
        {when(item.created_at)} · {item.read ? "read" : <Badge status="review" label="unread" />}
        {item.site_id && <> · <a href={href(`/sites/${item.site_id}`)}>the site</a></>}
      </p>
      {!item.read && <button type="button" class="button small secondary" onClick={onRead}>Mark read<span class="visually-hidden">: {item.title}</span></button>}
    </li>
  );
}

const CHANNELS = [
  { value: "in_app", label: "In the console" },
  { value: "email", label: "By e-mail" },
  { value: "both", label: "Both" },
  { value: "none", label: "Not at all" },
];

function Channels() {
  const prefs = useLoad(() => must(api.GET("/v1/notifications/preferences")), []);
  const settings = useLoad(() => must(api.GET("/v1/notifications/settings")), []);
  return (
    <>
      <Async value={prefs} what="your notification choices">
        {(p) => <ChannelForm key={JSON.stringify(p)} prefs={p} onSaved={prefs.reload} />}
      </Async>
      <h2>For the whole account</h2>
      <Async value={settings} what="the account's notification settings">
        {(s) => <Threshold key={s.credits_low_threshold} settings={s} onSaved={settings.reload} />}
      </Async>
    </>
  );
}

function ChannelForm({ prefs, onSaved }: { prefs: Schemas["PrefsOut"]; onSaved: () => void }) {
  const [channels, setChannels] = useState<Record<string, string>>(prefs.channels);
  const [digest, setDigest] = useState(prefs.weekly_digest);
  const submit = useSubmit(async () => {
    await must(api.PATCH("/v1/notifications/preferences", {
      body: { channels: channels as Schemas["PrefsBody"]["channels"], weekly_digest: digest } }));
    notify("Your choices are saved");
    onSaved();
  });
  return (
    <form class="stack" onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
      <h2>How you are told</h2>
      <p class="small muted">Your own choice, per kind of event; other people of the account choose for themselves.</p>
      <FormError error={submit.error} action="Your choices were not saved" />
      <div class="row">
        {Object.keys(channels).sort().map((event) => (
          <SelectField key={event} label={event.replace(/[._]/g, " ")} value={channels[event] ?? "in_app"}
            onValue={(value) => setChannels({ ...channels, [event]: value })} options={CHANNELS} />
        ))}
      </div>
      <Checkbox label="A weekly digest by e-mail" checked={digest} onChecked={setDigest} />
      <div><Submit busy={submit.busy}>Save choices</Submit></div>
    </form>
  );
}

function Threshold({ settings, onSaved }: { settings: Returns<"/v1/notifications/settings", "get">; onSaved: () => void }) {
  const [value, setValue] = useState(String(settings.credits_low_threshold));
  const submit = useSubmit(async () => {
    await must(api.PATCH("/v1/notifications/settings", { body: { credits_low_threshold: value === "" ? null : Number(value) } }));
    notify("The threshold is saved");
    onSaved();
  });
  if (!can("PATCH /v1/notifications/settings"))
    return <p>"Credits low" is sent below {settings.credits_low_threshold} available credits of a kind.</p>;
  return (
    <form class="stack" onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
      <FormError error={submit.error} action="The threshold was not saved" />
      <TextField label="Credits low below" type="number" min={0} max={1000000} value={value} onValue={setValue}
        error={submit.fieldErrors.credits_low_threshold}
        hint={`Available credits of a kind; empty for the default (${settings.default_credits_low_threshold}).`} />
      <div><Submit busy={submit.busy}>Save threshold</Submit></div>
    </form>
  );
}
