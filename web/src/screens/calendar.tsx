/**
 * The publishing calendar: a month or a week of slots in the site's time zone, what is in them,
 * each period's usage against its limit. Drag an article onto a free slot to (re)schedule it; the
 * same works from the keyboard with "Move" then a free slot. Publish now, retry failures, and the
 * publishing settings (limits, days, time slots).
 */
import { useState } from "preact/hooks";
import { api, must, type Returns, type Schemas } from "../api/client";
import { href, type ScreenProps } from "../router";
import { can } from "../session";
import { Badge, Can, notify } from "../ui/bits";
import { Async, Empty, ErrorBox, Loading, useLoad } from "../ui/data";
import { Checkbox, FormError, Submit, TextField, useSubmit } from "../ui/form";
import { siteParams, sitePath } from "./shared";

type Calendar = Schemas["CalendarOut"];
type Settings = Returns<"/v1/sites/{site_id}/publishing/settings", "get">;
type Moving = { contentId: string; title: string };
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
const DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

// Calendar dates as "YYYY-MM-DD" strings; arithmetic in UTC so no local time zone shifts them.
const toDate = (s: string) => new Date(`${s}T00:00:00Z`);
const fromDate = (d: Date) => d.toISOString().slice(0, 10);
const addDays = (s: string, n: number) => fromDate(new Date(toDate(s).getTime() + n * 86400000));
const weekday = (s: string) => (toDate(s).getUTCDay() + 6) % 7; // Monday = 0
const todayIn = (timeZone: string) => new Intl.DateTimeFormat("en-CA", { timeZone }).format(new Date());
const monthLabel = (s: string) => toDate(s).toLocaleDateString(undefined, { month: "long", year: "numeric", timeZone: "UTC" });
const dayLabel = (s: string) => toDate(s).toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });

function range(view: "month" | "week", anchor: string): [string, string] {
  if (view === "week") {
    const start = addDays(anchor, -weekday(anchor));
    return [start, addDays(start, 6)];
  }
  const first = `${anchor.slice(0, 8)}01`;
  const nextMonth = new Date(toDate(first));
  nextMonth.setUTCMonth(nextMonth.getUTCMonth() + 1);
  const last = addDays(fromDate(nextMonth), -1);
  return [addDays(first, -weekday(first)), addDays(last, 6 - weekday(last))];
}

export default function CalendarScreen({ params }: ScreenProps) {
  const siteId = params.site!;
  const settings = useLoad(() => must(api.GET("/v1/sites/{site_id}/publishing/settings", siteParams(siteId))), [siteId]);
  return (
    <Async value={settings} what="the publishing settings">
      {(s) => (
        <>
          <Board siteId={siteId} settings={s} />
          <SettingsForm siteId={siteId} settings={s} onSaved={settings.reload} />
        </>
      )}
    </Async>
  );
}

function Board({ siteId, settings }: { siteId: string; settings: Settings }) {
  const [view, setView] = useState<"month" | "week">("month");
  const [anchor, setAnchor] = useState(() => todayIn(settings.time_zone));
  const [from, to] = range(view, anchor);
  const calendar = useLoad(() => must(api.GET("/v1/sites/{site_id}/calendar", {
    params: { path: { site_id: siteId }, query: { from, to } },
  })), [siteId, from, to, settings.updated_at]);
  const ready = useLoad(() => must(api.GET("/v1/sites/{site_id}/content", {
    params: { path: { site_id: siteId }, query: { status: "approved", site_status: "not_published", limit: 50 } },
  })), [siteId]);
  const failed = useLoad(() => must(api.GET("/v1/sites/{site_id}/content", {
    params: { path: { site_id: siteId }, query: { site_status: "failed", limit: 50 } },
  })), [siteId]);
  // A keyboard move (announced, then a slot chosen) and a drag (nothing shifts under the pointer).
  const [moving, setMoving] = useState<Moving | null>(null);
  const [dragging, setDragging] = useState<Moving | null>(null);
  const [error, setError] = useState<unknown>(null);
  const writable = can("POST /v1/sites/{site_id}/content/{content_id}/schedule");

  const refresh = () => {
    calendar.reload();
    ready.reload();
    failed.reload();
  };
  const act = async (work: () => Promise<unknown>, done: string) => {
    setError(null);
    try {
      await work();
      notify(done);
      setMoving(null);
      setDragging(null);
      refresh();
    } catch (e) {
      setError(e);
    }
  };
  const content = (contentId: string) => ({ params: { path: { site_id: siteId, content_id: contentId } } });
  const place = (contentId: string, slot: Schemas["CalendarSlot"], title: string) =>
    act(() => must(api.POST("/v1/sites/{site_id}/content/{content_id}/schedule", { ...content(contentId), body: { at: slot.at } })),
      `${title} scheduled for ${slot.local_time.slice(0, 16).replace("T", " ")}`);
  const publishNow = (contentId: string, title: string) =>
    act(() => must(api.POST("/v1/sites/{site_id}/content/{content_id}/publish", content(contentId))), `Publishing ${title} now`);
  const retry = (contentId: string, title: string) =>
    act(() => must(api.POST("/v1/sites/{site_id}/content/{content_id}/publish/retry", content(contentId))), `Publishing ${title} again`);
  const step = (n: number) => {
    if (view === "week") return setAnchor(addDays(anchor, 7 * n));
    const d = toDate(`${anchor.slice(0, 8)}01`);
    d.setUTCMonth(d.getUTCMonth() + n);
    setAnchor(fromDate(d));
  };

  return (
    <>
      <div class="toolbar" role="group" aria-label="Calendar view">
        <button type="button" class="button secondary" aria-pressed={view === "month"} onClick={() => setView("month")}>Month</button>
        <button type="button" class="button secondary" aria-pressed={view === "week"} onClick={() => setView("week")}>Week</button>
        <button type="button" class="button secondary" onClick={() => step(-1)}>Previous {view}</button>
        <button type="button" class="button secondary" onClick={() => setAnchor(todayIn(settings.time_zone))}>Today</button>
        <button type="button" class="button secondary" onClick={() => step(1)}>Next {view}</button>
        <button type="button" class="button secondary" onClick={refresh}>Refresh</button>
      </div>
      <h2 aria-live="polite">
        {view === "month" ? monthLabel(anchor) : `Week of ${dayLabel(from)}`} <span class="small muted">(times in {settings.time_zone})</span>
      </h2>
      {moving && (
        <p class="notice" role="status">
          Choose a free slot for “{moving.title}”.{" "}
          <button type="button" class="linkish" onClick={() => setMoving(null)}>Cancel the move</button>
        </p>
      )}
      {error ? <ErrorBox error={error} /> : null}
      {calendar.data ? (
        <>
          <Usage calendar={calendar.data} />
          <Grid from={from} to={to} anchor={anchor} view={view} calendar={calendar.data} siteId={siteId}
            writable={writable} moving={moving} setMoving={setMoving} dragging={dragging} setDragging={setDragging}
            place={place} publishNow={publishNow} retry={retry} />
        </>
      ) : calendar.state === "error" ? (
        <ErrorBox error={calendar.error} retry={calendar.reload} />
      ) : (
        <Loading what="the calendar" />
      )}
      <section aria-labelledby="ready">
        <h2 id="ready">Ready to schedule</h2>
        <Async value={ready} what="approved articles">
          {({ items }) =>
            items.length === 0 ? (
              <Empty title="Nothing waiting">Approved articles that have no slot yet appear here.</Empty>
            ) : (
              <ul class="ready-list">
                {items.map((a) => (
                  <li key={a.content_id} draggable={writable} onDragEnd={() => setDragging(null)}
                    onDragStart={(e) => { e.dataTransfer?.setData("text/plain", a.content_id); setDragging({ contentId: a.content_id, title: a.title }); }}>
                    <a href={href(sitePath(siteId, `/content/${a.content_id}`))}>{a.title}</a>{" "}
                    {writable && (
                      <>
                        <button type="button" class="button small" onClick={() => act(() => must(api.POST(
                          "/v1/sites/{site_id}/content/{content_id}/schedule", { ...content(a.content_id), body: {} })),
                          `${a.title} scheduled in the next free slot`)}>Next free slot</button>{" "}
                        <button type="button" class="button small secondary" onClick={() => setMoving({ contentId: a.content_id, title: a.title })}>
                          Choose a slot
                        </button>{" "}
                        <button type="button" class="button small secondary" onClick={() => publishNow(a.content_id, a.title)}>Publish now</button>
                      </>
                    )}
                  </li>
                ))}
              </ul>
            )
          }
        </Async>
      </section>
      <section aria-labelledby="failures">
        <h2 id="failures">Failed publishes</h2>
        <Async value={failed} what="failed publishes">
          {({ items }) =>
            items.length === 0 ? (
              <p class="muted">None.</p>
            ) : (
              <table>
                <caption class="visually-hidden">Articles whose publishing failed</caption>
                <thead><tr><th scope="col">Article</th><th scope="col">Why</th><th scope="col">Action</th></tr></thead>
                <tbody>
                  {items.map((a) => (
                    <tr key={a.content_id}>
                      <td><a href={href(sitePath(siteId, `/content/${a.content_id}`))}>{a.title}</a></td>
                      <td>{a.publish_error ?? "—"}</td>
                      <td>
                        <Can op="POST /v1/sites/{site_id}/content/{content_id}/publish/retry">
                          <button type="button" class="button small" onClick={() => retry(a.content_id, a.title)}>Retry</button>
                        </Can>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )
          }
        </Async>
      </section>
    </>
  );
}

function Usage({ calendar }: { calendar: Calendar }) {
  const wide = calendar.usage.filter((u) => u.kind !== "day");
  if (wide.length === 0) return null;
  return (
    <p class="usage small">
      {wide.map((u) => (
        <span key={u.period} class={`badge ${u.remaining === 0 ? "tone-warn" : "tone-neutral"}`}>
          {u.kind} {u.period.slice(2)}: {u.used}/{u.limit} published or scheduled
        </span>
      ))}
    </p>
  );
}

type GridProps = {
  from: string; to: string; anchor: string; view: "month" | "week"; calendar: Calendar; siteId: string; writable: boolean;
  moving: Moving | null; setMoving: (m: Moving | null) => void;
  dragging: Moving | null; setDragging: (m: Moving | null) => void;
  place: (contentId: string, slot: Schemas["CalendarSlot"], title: string) => void;
  publishNow: (contentId: string, title: string) => void; retry: (contentId: string, title: string) => void;
};

function Grid(props: GridProps) {
  const { from, to, anchor, view, calendar } = props;
  const days: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) days.push(d);
  const byDay = (list: { local_time: string }[]) => (d: string) => list.filter((x) => x.local_time.slice(0, 10) === d);
  const slotsOf = byDay(calendar.slots);
  const entriesOf = byDay(calendar.entries);
  const dayUsage = new Map(calendar.usage.filter((u) => u.kind === "day").map((u) => [u.period.slice(2), u]));
  const soon = Date.now() + 2 * 60_000;
  return (
    <div class="calendar" role="list" aria-label={`${view === "month" ? "Month" : "Week"} calendar`}>
      {DAY_NAMES.map((name) => <div key={name} class="dow" aria-hidden="true">{name.slice(0, 3)}</div>)}
      {days.map((d) => {
        const usage = dayUsage.get(d);
        const entries = entriesOf(d) as Calendar["entries"];
        // Slots already passed (or within the API's two-minute lead time) cannot take anything.
        const slots = (slotsOf(d) as Calendar["slots"]).filter((s) => s.state === "free" && Date.parse(s.at) > soon);
        const items = [
          ...entries.map((e) => ({ time: e.local_time.slice(11, 16), entry: e })),
          ...slots.map((s) => ({ time: s.local_time.slice(11, 16), slot: s })),
        ].sort((a, b) => a.time.localeCompare(b.time));
        return (
          <div key={d} role="listitem" class={`day${view === "month" && d.slice(0, 7) !== anchor.slice(0, 7) ? " outside" : ""}`}>
            <h3>
              {dayLabel(d)}
              {usage && usage.limit > 0 && <span class="muted"> · {usage.used}/{usage.limit}</span>}
            </h3>
            {items.map((item) =>
              "slot" in item && item.slot ? (
                <FreeSlot key={item.slot.at} slot={item.slot} time={item.time} {...props} />
              ) : "entry" in item && item.entry ? (
                <Entry key={`${item.entry.content_id}-${item.entry.at}`} entry={item.entry} time={item.time} {...props} />
              ) : null,
            )}
          </div>
        );
      })}
    </div>
  );
}

function FreeSlot({ slot, time, writable, moving, dragging, place }: GridProps & { slot: Schemas["CalendarSlot"]; time: string }) {
  const [over, setOver] = useState(false);
  // The accessible name starts with the visible text (WCAG 2.5.3), then says where and what.
  const label = `${time} free on ${dayLabel(slot.local_time.slice(0, 10))}`;
  if (!writable) return <span class="slot free">{time} free</span>;
  return (
    <button type="button" class={`slot free${over ? " drop" : ""}`} data-slot={slot.at}
      disabled={!moving && !dragging} aria-label={moving ? `${label}: place “${moving.title}” here` : label}
      onClick={() => moving && place(moving.contentId, slot, moving.title)}
      onDragOver={(e) => { e.preventDefault(); setOver(true); }} onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const contentId = e.dataTransfer?.getData("text/plain");
        if (contentId) place(contentId, slot, dragging?.title ?? moving?.title ?? "The article");
      }}>
      {time} free
    </button>
  );
}

function Entry({ entry, time, siteId, writable, setMoving, setDragging, publishNow, retry }: GridProps & { entry: Calendar["entries"][number]; time: string }) {
  const movable = writable && entry.state === "scheduled";
  return (
    <div class={`slot entry ${entry.state}`} draggable={movable} data-content={entry.content_id}
      onDragEnd={() => setDragging(null)}
      onDragStart={(e) => { e.dataTransfer?.setData("text/plain", entry.content_id); setDragging({ contentId: entry.content_id, title: entry.title }); }}>
      <span>{time} </span>
      <a href={href(sitePath(siteId, `/content/${entry.content_id}`))}>{entry.title}</a> <Badge status={entry.state} />
      {writable && entry.state === "scheduled" && (
        <span class="entry-actions">
          <button type="button" class="linkish" onClick={() => setMoving({ contentId: entry.content_id, title: entry.title })}
            aria-label={`Move ${entry.title}`}>Move</button>{" "}
          <button type="button" class="linkish" onClick={() => publishNow(entry.content_id, entry.title)}
            aria-label={`Publish now: ${entry.title}`}>Publish now</button>
        </span>
      )}
      {writable && entry.state === "failed" && (
        <button type="button" class="linkish" onClick={() => retry(entry.content_id, entry.title)} aria-label={`Retry ${entry.title}`}>Retry</button>
      )}
    </div>
  );
}

function SettingsForm({ siteId, settings, onSaved }: { siteId: string; settings: Settings; onSaved: () => void }) {
  const editable = can("PUT /v1/sites/{site_id}/publishing/settings");
  const [form, setForm] = useState({
    daily: String(settings.daily_publish_limit), weekly: String(settings.weekly_publish_limit),
    monthly: String(settings.monthly_publish_limit), days: new Set(settings.publish_days),
    slots: settings.publish_time_slots.join(", "), autoPublish: settings.auto_publish_enabled,
    autoApproval: settings.auto_approval_enabled,
  });
  const [replan, setReplan] = useState<Settings["replan"]>(null);
  const submit = useSubmit(async () => {
    const out = await must(api.PUT("/v1/sites/{site_id}/publishing/settings", {
      ...siteParams(siteId),
      body: {
        daily_publish_limit: Number(form.daily), weekly_publish_limit: Number(form.weekly),
        monthly_publish_limit: Number(form.monthly), publish_days: DAYS.filter((d) => form.days.has(d)),
        publish_time_slots: form.slots.split(/[,\s]+/).filter(Boolean),
        auto_publish_enabled: form.autoPublish, auto_approval_enabled: form.autoApproval,
      },
    }));
    setReplan(out.replan ?? null);
    notify("Publishing settings saved");
    onSaved();
  });
  const errors = submit.fieldErrors;
  return (
    <section aria-labelledby="settings">
      <h2 id="settings">Publishing settings</h2>
      {!editable ? (
        <dl class="facts">
          <dt>Limits</dt><dd>{settings.daily_publish_limit}/day, {settings.weekly_publish_limit}/week, {settings.monthly_publish_limit}/month</dd>
          <dt>Days</dt><dd>{settings.publish_days.join(", ")}</dd>
          <dt>Time slots</dt><dd>{settings.publish_time_slots.join(", ")}</dd>
          <dt>Auto publish</dt><dd>{settings.auto_publish_enabled ? "on" : "off"}</dd>
        </dl>
      ) : (
        <form class="stack" onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
          <FormError error={submit.error} action="The settings were not saved" />
          <div class="row">
            <TextField label="Per day" type="number" min={0} max={1000} value={form.daily} onValue={(daily) => setForm({ ...form, daily })} error={errors.daily_publish_limit} />
            <TextField label="Per week" type="number" min={0} max={1000} value={form.weekly} onValue={(weekly) => setForm({ ...form, weekly })} error={errors.weekly_publish_limit} />
            <TextField label="Per month" type="number" min={0} max={1000} value={form.monthly} onValue={(monthly) => setForm({ ...form, monthly })} error={errors.monthly_publish_limit} />
          </div>
          <fieldset>
            <legend>Publish days</legend>
            <div class="row">
              {DAYS.map((d, i) => (
                <Checkbox key={d} label={DAY_NAMES[i]!} checked={form.days.has(d)} onChecked={(on) => {
                  const days = new Set(form.days);
                  if (on) days.add(d);
                  else days.delete(d);
                  setForm({ ...form, days });
                }} />
              ))}
            </div>
          </fieldset>
          <TextField label="Time slots" value={form.slots} onValue={(slots) => setForm({ ...form, slots })}
            hint={`HH:MM in ${settings.time_zone}, separated by commas.`} error={errors.publish_time_slots} />
          <Checkbox label="Auto publish: approved articles get the next free slot" checked={form.autoPublish}
            hint="Needs a WordPress connection." onChecked={(autoPublish) => setForm({ ...form, autoPublish })} />
          <Checkbox label="Auto approval of generated articles" checked={form.autoApproval}
            onChecked={(autoApproval) => setForm({ ...form, autoApproval })} />
          <div><Submit busy={submit.busy}>Save settings</Submit></div>
          {replan && (
            <p class="notice" role="status">
              Re-planned: {replan.rescheduled} moved, {replan.released} released, {replan.unslotted} without a slot now.
            </p>
          )}
        </form>
      )}
    </section>
  );
}
