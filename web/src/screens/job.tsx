/** One job: live progress, failed items with their reasons, retry and cancel. */
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import type { ScreenProps } from "../router";
import { Badge, Can, ConfirmButton, Progress, notify, when } from "../ui/bits";
import { Async, ErrorBox, PageFooter, usePaged, usePoll, useLoad } from "../ui/data";
import { SelectField } from "../ui/form";
import { STAGE_LABELS } from "./shared";

type ItemStatus = "queued" | "running" | "done" | "failed" | "skipped";

export default function JobScreen({ params }: ScreenProps) {
  const siteId = params.site!;
  const jobId = params.job!;
  const path = { params: { path: { site_id: siteId, job_id: jobId } } };
  const job = useLoad(() => must(api.GET("/v1/sites/{site_id}/jobs/{job_id}", path)), [siteId, jobId]);
  const live = job.data?.status === "running" || job.data?.status === "paused";
  usePoll(job.reload, 1000, live && job.state !== "loading");
  const [error, setError] = useState<unknown>(null);
  const act = async (work: () => Promise<unknown>, done: string) => {
    setError(null);
    try {
      await work();
      notify(done);
      job.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Async value={job} what="the job">
      {(j) => (
        <>
          <h2>{STAGE_LABELS[j.stage] ?? j.stage} <Badge status={j.status} /></h2>
          <div role="status" aria-live="polite">
            <Progress done={j.done} failed={j.failed} skipped={j.skipped} total={j.total} label="Job progress" />
          </div>
          <dl class="facts">
            <dt>Credits</dt><dd>{j.credits_spent} spent (estimated {Object.entries(j.estimate).map(([k, v]) => `${v} ${k}`).join(", ") || "—"})</dd>
            <dt>Started</dt><dd>{when(j.created_at)}</dd>
            <dt>Finished</dt><dd>{when(j.finished_at)}</dd>
          </dl>
          <div class="toolbar">
            {j.failed > 0 && j.status !== "cancelled" && (
              <Can op="POST /v1/sites/{site_id}/jobs/{job_id}/retry">
                <button type="button" class="button" onClick={() => act(() => must(api.POST(
                  "/v1/sites/{site_id}/jobs/{job_id}/retry", { ...path, body: {} })), "Failed items queued again")}>
                  Retry {j.failed} failed
                </button>
              </Can>
            )}
            {live && (
              <Can op="POST /v1/sites/{site_id}/jobs/{job_id}/cancel">
                <ConfirmButton label="Cancel job" confirm="Cancel the job? Items not started are skipped." onConfirm={() => act(
                  () => must(api.POST("/v1/sites/{site_id}/jobs/{job_id}/cancel", path)), "Job cancelled")} />
              </Can>
            )}
          </div>
          {error ? <ErrorBox error={error} /> : null}
          {j.failed_items.length > 0 && <FailedItems items={j.failed_items} />}
          <Items siteId={siteId} jobId={jobId} version={`${j.done}-${j.failed}-${j.skipped}`} />
        </>
      )}
    </Async>
  );
}

function FailedItems({ items }: { items: Schemas["JobItemOut"][] }) {
  return (
    <table>
      <caption>Failed items and why</caption>
      <thead><tr><th scope="col">Item</th><th scope="col">Reason</th><th scope="col" class="num">Attempts</th></tr></thead>
      <tbody>
        {items.map((i) => (
          <tr key={i.item_id}>
            <td>{i.item_id}</td>
            <td>{i.error_code && <code>{i.error_code}</code>} {i.error}</td>
            <td class="num">{i.attempts}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Items({ siteId, jobId, version }: { siteId: string; jobId: string; version: string }) {
  const [status, setStatus] = useState("");
  const items = usePaged((cursor) => must(api.GET("/v1/sites/{site_id}/jobs/{job_id}/items", {
    params: { path: { site_id: siteId, job_id: jobId }, query: { limit: 50, cursor, status: (status || undefined) as ItemStatus | undefined } },
  })), [siteId, jobId, status, version]);
  return (
    <section aria-labelledby="items">
      <h2 id="items">Items</h2>
      <SelectField label="Item status" value={status} onValue={setStatus}
        options={[{ value: "", label: "All" }, ...["queued", "running", "done", "failed", "skipped"].map((s) => ({ value: s, label: s }))]} />
      <table>
        <caption class="visually-hidden">Items of the job</caption>
        <thead><tr><th scope="col">Item</th><th scope="col">Status</th><th scope="col" class="num">Credits</th><th scope="col">Result or error</th></tr></thead>
        <tbody>
          {items.items.map((i) => (
            <tr key={i.item_id}>
              <td>{i.item_id}</td>
              <td><Badge status={i.status} /></td>
              <td class="num">{i.credits}</td>
              <td class="small">{i.error ?? (Object.keys(i.result).length ? summarise(i.result) : "—")}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <PageFooter list={items} what="items" />
    </section>
  );
}

function summarise(result: Record<string, unknown>): string {
  return Object.entries(result)
    .filter(([, v]) => typeof v === "number" || typeof v === "string")
    .slice(0, 4)
    .map(([k, v]) => `${k.replace(/_/g, " ")}: ${v}`)
    .join(", ");
}
