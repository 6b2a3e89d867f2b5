/** A site's jobs, newest first, with live progress while any of them runs. */
import { api, must } from "../api/client";
import { href, type ScreenProps } from "../router";
import { Badge, Progress, when } from "../ui/bits";
import { Empty, PageFooter, usePaged, usePoll } from "../ui/data";
import { STAGE_LABELS, sitePath } from "./shared";

export default function Jobs({ params }: ScreenProps) {
  const siteId = params.site!;
  const jobs = usePaged((cursor) => must(api.GET("/v1/sites/{site_id}/jobs", {
    params: { path: { site_id: siteId }, query: { limit: 25, cursor } },
  })), [siteId]);
  const running = jobs.items.some((j) => j.status === "running" || j.status === "paused");
  usePoll(jobs.reload, 2000, running && jobs.state !== "loading");
  return (
    <>
      {jobs.state === "ok" && jobs.items.length === 0 && (
        <Empty title="No jobs yet">
          A job runs one stage (clustering, ideas, writing, images) on chosen items. Start one from the{" "}
          <a href={href(sitePath(siteId, "/keywords"))}>keywords</a>, <a href={href(sitePath(siteId, "/clusters"))}>clusters</a> or{" "}
          <a href={href(sitePath(siteId, "/content"))}>articles</a> pages.
        </Empty>
      )}
      {jobs.items.length > 0 && (
        <table>
          <caption class="visually-hidden">Jobs</caption>
          <thead>
            <tr>
              <th scope="col">Stage</th><th scope="col">Status</th><th scope="col">Progress</th>
              <th scope="col" class="num">Credits</th><th scope="col">Started</th>
            </tr>
          </thead>
          <tbody>
            {jobs.items.map((j) => (
              <tr key={j.job_id}>
                <td><a href={href(sitePath(siteId, `/jobs/${j.job_id}`))}>{STAGE_LABELS[j.stage] ?? j.stage}</a></td>
                <td><Badge status={j.status} /></td>
                <td><Progress done={j.done} failed={j.failed} skipped={j.skipped} total={j.total} label={`Progress of ${STAGE_LABELS[j.stage] ?? j.stage} job`} /></td>
                <td class="num">{j.credits_spent}</td>
                <td>{when(j.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <PageFooter list={jobs} what="jobs" />
    </>
  );
}
