/** Automation: the site's config and schedule, its next run and estimate, runs with live progress and control. */
import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import type { ScreenProps } from "../router";
import { can } from "../session";
import { Badge, Can, ConfirmButton, Progress, notify, when } from "../ui/bits";
import { Async, Empty, ErrorBox, PageFooter, useLoad, usePaged, usePoll } from "../ui/data";
import { Checkbox, FormError, SelectField, Submit, TextField, useSubmit } from "../ui/form";
import { siteParams } from "./shared";

type Config = Schemas["ConfigOut"];
type Run = Schemas["RunOut"];
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
const LIMITS: [keyof Config & keyof Schemas["ConfigUpdate"], string][] = [
  ["clustering_limit", "Keywords to cluster"], ["ideas_limit", "Clusters to turn into ideas"],
  ["content_limit", "Articles to write"], ["image_limit", "Articles to illustrate"], ["publish_limit", "Articles to schedule"],
];

const credits = (estimate: Record<string, unknown>) =>
  Object.entries(estimate).filter(([, v]) => typeof v === "number").map(([k, v]) => `${v} ${k}`).join(", ") || "—";

export default function Automation({ params }: ScreenProps) {
  const siteId = params.site!;
  const config = useLoad(() => must(api.GET("/v1/sites/{site_id}/automation/config", siteParams(siteId))), [siteId]);
  const [activeRun, setActiveRun] = useState<string | null>(null);
  return (
    <Async value={config} what="the automation settings">
      {(c) => (
        <>
          <Summary siteId={siteId} config={c} onStarted={(id) => { setActiveRun(id); config.reload(); }} />
          {(activeRun ?? c.active_run_id) && (
            <RunPanel key={activeRun ?? c.active_run_id!} siteId={siteId} runId={(activeRun ?? c.active_run_id)!}
              onFinished={config.reload} />
          )}
          <ConfigForm key={c.next_run_at ?? ""} siteId={siteId} config={c} onSaved={config.reload} />
          <Runs siteId={siteId} version={c.last_run_id ?? ""} onOpen={setActiveRun} />
        </>
      )}
    </Async>
  );
}

function Summary({ siteId, config, onStarted }: { siteId: string; config: Config; onStarted: (runId: string) => void }) {
  const start = useSubmit(async () => {
    const run = await must(api.POST("/v1/sites/{site_id}/automation/runs", siteParams(siteId)));
    notify("Automation run started");
    onStarted(run.run_id);
  });
  return (
    <>
      <dl class="facts">
        <dt>Schedule</dt>
        <dd>{config.is_active ? <Badge status="active" label="on" /> : <Badge status="paused" label="off" />} {config.frequency} at {config.run_time}
          {config.frequency === "weekly" && ` on ${config.days_of_week.join(", ")}`}
          {config.frequency === "monthly" && ` on day ${config.day_of_month}`}</dd>
        <dt>Next run</dt><dd>{config.is_active ? when(config.next_run_at) : "— (the schedule is off)"}</dd>
        <dt>Estimated cost of a run</dt><dd>{credits(config.estimate)} credits</dd>
        <dt>Last run</dt><dd>{when(config.last_run_at)}</dd>
        {config.last_skip_reason && <><dt>Last skipped</dt><dd>{when(config.last_skipped_at)}: {config.last_skip_reason}</dd></>}
      </dl>
      <Can op="POST /v1/sites/{site_id}/automation/runs">
        <div class="toolbar">
          <button type="button" class="button" disabled={start.busy || !!config.active_run_id} onClick={() => start.run()}>
            {config.active_run_id ? "A run is active" : "Run now"}
          </button>
        </div>
        <FormError error={start.error} action="The run did not start" />
      </Can>
    </>
  );
}

function RunPanel({ siteId, runId, onFinished }: { siteId: string; runId: string; onFinished: () => void }) {
  const path = { params: { path: { site_id: siteId, run_id: runId } } };
  const run = useLoad(() => must(api.GET("/v1/sites/{site_id}/automation/runs/{run_id}", path)), [runId]);
  const live = run.data ? ["pending", "running", "paused"].includes(run.data.status) : true;
  usePoll(run.reload, 1000, live && run.state !== "loading");
  const finished = !!run.data && !live;
  useEffect(() => {
    if (finished) onFinished();
  }, [finished]);
  const [error, setError] = useState<unknown>(null);
  const control = async (action: "pause" | "resume" | "cancel") => {
    setError(null);
    try {
      const route = `/v1/sites/{site_id}/automation/runs/{run_id}/${action}` as const;
      await must(api.POST(route, path));
      notify(`Run ${action === "cancel" ? "cancelled" : action === "pause" ? "paused" : "resumed"}`);
      run.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="run" class="card">
      <h2 id="run">Run {run.data && <Badge status={run.data.status} />}</h2>
      <Async value={run} what="the run">
        {(r) => <RunDetail run={r} />}
      </Async>
      {run.data && ["running", "paused", "pending"].includes(run.data.status) && can("POST /v1/sites/{site_id}/automation/runs/{run_id}/pause") && (
        <div class="toolbar">
          {run.data.status === "running" && <button type="button" class="button secondary" onClick={() => control("pause")}>Pause</button>}
          {run.data.status === "paused" && <button type="button" class="button" onClick={() => control("resume")}>Resume</button>}
          <ConfirmButton label="Cancel run" confirm="Cancel the run? Queued items are skipped." onConfirm={() => control("cancel")} />
        </div>
      )}
      {error ? <ErrorBox error={error} /> : null}
    </section>
  );
}

function RunDetail({ run }: { run: Run }) {
  return (
    <>
      <p class="small">
        {run.trigger} run · stage {run.current_stage ?? "—"} · {run.credits_spent} credits spent (estimated {credits(run.estimate)}) ·
        started {when(run.started_at)}{run.finished_at && `, finished ${when(run.finished_at)}`}
      </p>
      {run.error && <p class="field-error">{run.error_code}: {run.error}</p>}
      <table>
        <caption class="visually-hidden">Stages of the run</caption>
        <thead><tr><th scope="col">Stage</th><th scope="col">Status</th><th scope="col">Progress</th><th scope="col" class="num">Credits</th><th scope="col">Note</th></tr></thead>
        <tbody>
          {run.stages.map((s) => (
            <tr key={s.name}>
              <td>{s.description || s.name}</td>
              <td><Badge status={s.status} /></td>
              <td>{s.total > 0 ? <Progress done={s.done} failed={s.failed} skipped={s.skipped} total={s.total} label={`${s.name} progress`} /> : "—"}</td>
              <td class="num">{s.credits}</td>
              <td class="small">{s.note ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function ConfigForm({ siteId, config, onSaved }: { siteId: string; config: Config; onSaved: () => void }) {
  const editable = can("PATCH /v1/sites/{site_id}/automation/config");
  const [form, setForm] = useState({
    ...Object.fromEntries(LIMITS.map(([k]) => [k, String(config[k])])) as Record<(typeof LIMITS)[number][0], string>,
    delay: String(config.delay_between_operations), maxRuntime: String(config.max_runtime),
    autoApprove: config.auto_approve, autoPublish: config.auto_publish, stopOnError: config.stop_on_error,
    active: config.is_active, frequency: config.frequency, days: new Set(config.days_of_week),
    dayOfMonth: String(config.day_of_month), runTime: config.run_time,
  });
  const submit = useSubmit(async () => {
    await must(api.PATCH("/v1/sites/{site_id}/automation/config", {
      ...siteParams(siteId),
      body: {
        ...Object.fromEntries(LIMITS.map(([k]) => [k, Number(form[k])])),
        delay_between_operations: Number(form.delay), max_runtime: Number(form.maxRuntime),
        auto_approve: form.autoApprove, auto_publish: form.autoPublish, stop_on_error: form.stopOnError,
        is_active: form.active, frequency: form.frequency as "daily" | "weekly" | "monthly",
        days_of_week: DAYS.filter((d) => form.days.has(d)), day_of_month: Number(form.dayOfMonth), run_time: form.runTime,
      },
    }));
    notify("Automation settings saved");
    onSaved();
  });
  const errors = submit.fieldErrors;
  if (!editable)
    return (
      <section aria-labelledby="config"><h2 id="config">Settings</h2>
        <dl class="facts">
          {LIMITS.map(([k, label]) => <Fragment key={k}><dt>{label}</dt><dd>{config[k]}</dd></Fragment>)}
          <dt>Auto approve</dt><dd>{config.auto_approve ? "on" : "off"}</dd>
          <dt>Auto publish</dt><dd>{config.auto_publish ? "on" : "off"}</dd>
        </dl>
      </section>
    );
  return (
    <section aria-labelledby="config">
      <h2 id="config">Settings</h2>
      <form class="stack" onSubmit={(e) => { e.preventDefault(); void submit.run(); }}>
        <FormError error={submit.error} action="The settings were not saved" />
        <fieldset>
          <legend>Per run</legend>
          <div class="row">
            {LIMITS.map(([k, label]) => (
              <TextField key={k} label={label} type="number" min={0} value={form[k]} error={errors[k]}
                onValue={(v) => setForm({ ...form, [k]: v })} />
            ))}
          </div>
        </fieldset>
        <div class="row">
          <TextField label="Seconds between stages" type="number" min={0} max={900} value={form.delay}
            onValue={(delay) => setForm({ ...form, delay })} error={errors.delay_between_operations} />
          <TextField label="Longest run (seconds)" type="number" min={60} value={form.maxRuntime}
            onValue={(maxRuntime) => setForm({ ...form, maxRuntime })} error={errors.max_runtime} />
        </div>
        <Checkbox label="Approve the articles it writes" checked={form.autoApprove} onChecked={(autoApprove) => setForm({ ...form, autoApprove })} />
        <Checkbox label="Give approved articles publishing slots" checked={form.autoPublish} onChecked={(autoPublish) => setForm({ ...form, autoPublish })} />
        <Checkbox label="Stop at the first failed item" checked={form.stopOnError} onChecked={(stopOnError) => setForm({ ...form, stopOnError })} />
        <fieldset>
          <legend>Schedule</legend>
          <Checkbox label="Run on this schedule" checked={form.active} onChecked={(active) => setForm({ ...form, active })} />
          <div class="row">
            <SelectField label="How often" value={form.frequency} onValue={(frequency) => setForm({ ...form, frequency })}
              options={[{ value: "daily", label: "Daily" }, { value: "weekly", label: "Weekly" }, { value: "monthly", label: "Monthly" }]} />
            <TextField label="At (HH:MM, site time)" value={form.runTime} onValue={(runTime) => setForm({ ...form, runTime })} error={errors.run_time} />
            {form.frequency === "monthly" && (
              <TextField label="Day of the month" type="number" min={1} max={31} value={form.dayOfMonth}
                onValue={(dayOfMonth) => setForm({ ...form, dayOfMonth })} error={errors.day_of_month} />
            )}
          </div>
          {form.frequency === "weekly" && (
            <div class="row">
              {DAYS.map((d) => (
                <Checkbox key={d} label={d} checked={form.days.has(d)} onChecked={(on) => {
                  const days = new Set(form.days);
                  if (on) days.add(d);
                  else days.delete(d);
                  setForm({ ...form, days });
                }} />
              ))}
            </div>
          )}
        </fieldset>
        <div><Submit busy={submit.busy}>Save automation settings</Submit></div>
      </form>
    </section>
  );
}

function Runs({ siteId, version, onOpen }: { siteId: string; version: string; onOpen: (runId: string) => void }) {
  const runs = usePaged((cursor) => must(api.GET("/v1/sites/{site_id}/automation/runs", {
    params: { path: { site_id: siteId }, query: { limit: 10, cursor } },
  })), [siteId, version]);
  return (
    <section aria-labelledby="runs">
      <h2 id="runs">Runs</h2>
      {runs.state === "ok" && runs.items.length === 0 && <Empty title="No runs yet">Start one with “Run now”, or switch the schedule on.</Empty>}
      {runs.items.length > 0 && (
        <table>
          <caption class="visually-hidden">Automation runs</caption>
          <thead><tr><th scope="col">Started</th><th scope="col">Trigger</th><th scope="col">Status</th><th scope="col" class="num">Credits</th><th scope="col">Error</th></tr></thead>
          <tbody>
            {runs.items.map((r) => (
              <tr key={r.run_id}>
                <td><button type="button" class="linkish" onClick={() => onOpen(r.run_id)}>{when(r.started_at)}</button></td>
                <td>{r.trigger}</td>
                <td><Badge status={r.status} /></td>
                <td class="num">{r.credits_spent}</td>
                <td>{r.error ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <PageFooter list={runs} what="runs" />
    </section>
  );
}
