/** What several site screens share: sectors, starting a pipeline stage and following it live. */
import { useRef, useState } from "preact/hooks";
import { allPages, api, must, type Schemas } from "../api/client";
import { href } from "../router";
import { Badge, Can, Progress, notify, plural } from "../ui/bits";
import { useLoad, usePoll } from "../ui/data";
import { FormError, SelectField } from "../ui/form";

export type Job = Schemas["JobDetail"];
export type Stage = Schemas["JobCreate"]["stage"];

export const STAGE_LABELS: Record<string, string> = {
  cluster_keywords: "Clustering",
  generate_ideas: "Ideas",
  create_tasks: "Writing tasks",
  generate_content: "Writing articles",
  generate_image_prompts: "Image prompts",
  generate_images: "Images",
};

export function sitePath(siteId: string, suffix = ""): string {
  return `/sites/${encodeURIComponent(siteId)}${suffix}`;
}

export function siteParams(siteId: string) {
  return { params: { path: { site_id: siteId } } };
}

export function useSectors(siteId: string) {
  return useLoad(
    () => allPages((cursor) => must(api.GET("/v1/sites/{site_id}/sectors", {
      params: { path: { site_id: siteId }, query: { limit: 100, cursor } },
    }))),
    [siteId],
  );
}

export function SectorSelect({ sectors, value, onValue, allowAll, label = "Sector" }: {
  sectors: Schemas["SectorOut"][]; value: string; onValue: (v: string) => void; allowAll?: boolean; label?: string;
}) {
  const options = sectors.map((s) => ({ value: s.sector_id, label: s.name }));
  return (
    <SelectField label={label} value={value} onValue={onValue}
      options={allowAll ? [{ value: "", label: "All sectors" }, ...options] : options} />
  );
}

const RUNNING = new Set(["running", "paused", "queued"]);

/** A job's live progress: polled every second while it runs. */
export function JobProgress({ siteId, jobId, onFinished }: { siteId: string; jobId: string; onFinished?: (job: Job) => void }) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [finished, setFinished] = useState(false);
  const reported = useRef(false);
  const poll = () =>
    must(api.GET("/v1/sites/{site_id}/jobs/{job_id}", { params: { path: { site_id: siteId, job_id: jobId } } })).then(
      (j) => {
        setJob(j);
        setError(null);
        if (!RUNNING.has(j.status) && !reported.current) {
          reported.current = true;
          setFinished(true);
          notify(`${STAGE_LABELS[j.stage] ?? j.stage}: ${j.status}, ${j.done} done, ${j.failed} failed`);
          onFinished?.(j);
        }
      },
      setError,
    );
  useLoad(poll, [jobId]);
  usePoll(() => void poll(), 1000, !finished);
  if (!job) return error ? <FormError error={error} /> : <p role="status">Starting…</p>;
  return (
    <div class="card job-progress" data-status={job.status}>
      <p>
        <strong>{STAGE_LABELS[job.stage] ?? job.stage}</strong> <Badge status={job.status} />{" "}
        <span class="small muted">{plural(job.credits_spent, "credit")} spent</span>{" "}
        <a href={href(sitePath(siteId, `/jobs/${job.job_id}`))}>Details</a>
      </p>
      <Progress done={job.done} failed={job.failed} skipped={job.skipped} total={job.total}
        label={`${STAGE_LABELS[job.stage] ?? job.stage} progress`} />
      {job.failed_items.length > 0 && (
        <p class="small">
          {plural(job.failed_items.length, "item")} failed, e.g. “{job.failed_items[0]?.error}”. Open the details to retry.
        </p>
      )}
      {error && <FormError error={error} action="Updating the progress failed" />}
    </div>
  );
}

/** A button that starts a stage (editor and above), then shows its live progress. */
export function StartJob({ siteId, stage, label, body, disabled, onFinished, hint }: {
  siteId: string;
  stage: Stage;
  label: string;
  body?: Omit<Schemas["JobCreate"], "stage">;
  disabled?: boolean;
  hint?: string;
  onFinished?: (job: Job) => void;
}) {
  const [jobId, setJobId] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      const job = await must(api.POST("/v1/sites/{site_id}/jobs", { ...siteParams(siteId), body: { stage, ...body } }));
      setJobId(job.job_id);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Can op="POST /v1/sites/{site_id}/jobs">
      <div class="start-job">
        <button type="button" class="button" disabled={busy || disabled} onClick={start}>
          {busy ? "Starting…" : label}
        </button>
        {hint && <span class="hint"> {hint}</span>}
        <FormError error={error} action={`${label} did not start`} />
        {jobId && <JobProgress key={jobId} siteId={siteId} jobId={jobId} onFinished={onFinished} />}
      </div>
    </Can>
  );
}

/** Selection of rows by id, for bulk actions. */
export function useSelection() {
  const [selected, setSelected] = useState<Set<string>>(new Set());
  return {
    selected,
    has: (id: string) => selected.has(id),
    toggle: (id: string, on: boolean) => {
      const next = new Set(selected);
      if (on) next.add(id);
      else next.delete(id);
      setSelected(next);
    },
    setAll: (ids: string[], on: boolean) => setSelected(on ? new Set(ids) : new Set()),
    clear: () => setSelected(new Set()),
  };
}

export function BulkResult({ result, what }: { result: Schemas["BulkOut"] | null; what: string }) {
  if (!result) return null;
  return (
    <div class="notice" role="status">
      {plural(result.succeeded.length, what)} changed.
      {result.failed.length > 0 && (
        <ul>
          {result.failed.map((f) => (
            <li key={f.id}>
              {f.id}: {f.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
