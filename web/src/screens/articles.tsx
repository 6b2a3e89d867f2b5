/** Articles: write them from tasks, follow their review and publishing state, open one in the editor. */
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { href, type ScreenProps } from "../router";
import { can } from "../session";
import { Badge, day, plural, when } from "../ui/bits";
import { Async, Empty, PageFooter, useLoad, usePaged } from "../ui/data";
import { SelectField } from "../ui/form";
import { StartJob, sitePath, useSelection } from "./shared";

type ContentStatus = NonNullable<Schemas["ContentUpdate"]["status"]>;
type SiteStatus = "not_published" | "scheduled" | "publishing" | "published" | "failed";

export default function Articles({ params, query }: ScreenProps) {
  const siteId = params.site!;
  const [status, setStatus] = useState(query.get("status") ?? "");
  const [siteStatus, setSiteStatus] = useState(query.get("site_status") ?? "");
  const articles = usePaged(
    (cursor) => must(api.GET("/v1/sites/{site_id}/content", {
      params: { path: { site_id: siteId }, query: {
        limit: 50, cursor, status: (status || undefined) as ContentStatus | undefined,
        site_status: (siteStatus || undefined) as SiteStatus | undefined,
      } },
    })),
    [siteId, status, siteStatus],
  );
  return (
    <>
      {can("POST /v1/sites/{site_id}/jobs") && <Tasks siteId={siteId} onWritten={articles.reload} />}
      <h2>Articles</h2>
      <div class="toolbar">
        <SelectField label="Review status" value={status} onValue={setStatus}
          options={[{ value: "", label: "Any" }, ...["draft", "review", "approved", "published"].map((s) => ({ value: s, label: s }))]} />
        <SelectField label="Publishing" value={siteStatus} onValue={setSiteStatus}
          options={[{ value: "", label: "Any" }, ...["not_published", "scheduled", "publishing", "published", "failed"]
            .map((s) => ({ value: s, label: s.replace("_", " ") }))]} />
      </div>
      {articles.state === "ok" && articles.items.length === 0 && (
        <Empty title="No articles here">
          Articles are written from writing tasks, which come from approved <a href={href(sitePath(siteId, "/ideas"))}>ideas</a>.
        </Empty>
      )}
      {articles.items.length > 0 && (
        <table>
          <caption class="visually-hidden">Articles</caption>
          <thead>
            <tr>
              <th scope="col">Title</th>
              <th scope="col">Review</th>
              <th scope="col">Publishing</th>
              <th scope="col" class="num">Words</th>
              <th scope="col" class="num">Credits</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {articles.items.map((a) => (
              <tr key={a.content_id}>
                <td><a href={href(sitePath(siteId, `/content/${a.content_id}`))}>{a.title || "(untitled)"}</a></td>
                <td><Badge status={a.status} /></td>
                <td>
                  <Badge status={a.site_status} />
                  {a.site_status === "scheduled" && <span class="small"> {when(a.scheduled_publish_at)}</span>}
                  {a.external_url && <> <a href={a.external_url} target="_blank" rel="noreferrer noopener">View post</a></>}
                  {a.publish_error && <p class="small field-error">{a.publish_error}</p>}
                </td>
                <td class="num">{a.word_count}</td>
                <td class="num">{(a.cost as { credits?: number } | undefined)?.credits ?? "—"}</td>
                <td>{day(a.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <PageFooter list={articles} what="articles" />
    </>
  );
}

/** Writing tasks waiting for an article: pick some and write them. */
function Tasks({ siteId, onWritten }: { siteId: string; onWritten: () => void }) {
  const tasks = useLoad(() => must(api.GET("/v1/sites/{site_id}/tasks", {
    params: { path: { site_id: siteId }, query: { status: "pending", limit: 50 } },
  })), [siteId]);
  const selection = useSelection();
  const ids = [...selection.selected];
  const [wrote, setWrote] = useState(false);
  return (
    <section aria-labelledby="tasks">
      <h2 id="tasks">Writing tasks</h2>
      <Async value={tasks} what="writing tasks">
        {({ items }) =>
          items.length === 0 ? (
            <Empty title="No writing tasks waiting">
              Approve <a href={href(sitePath(siteId, "/ideas"))}>ideas</a> and create tasks from them.
            </Empty>
          ) : (
            <table>
              <caption class="visually-hidden">Writing tasks waiting for an article</caption>
              <thead><tr><th scope="col"><span class="visually-hidden">Select</span></th><th scope="col">Task</th><th scope="col">Primary keyword</th></tr></thead>
              <tbody>
                {items.map((t) => (
                  <tr key={t.task_id}>
                    <td>
                      <input type="checkbox" aria-label={`Select task ${t.title}`} checked={selection.has(t.task_id)}
                        onChange={(e) => selection.toggle(t.task_id, (e.target as HTMLInputElement).checked)} />
                    </td>
                    <td>{t.title}</td>
                    <td>{t.primary_keyword}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Async>
      {/* Outside the list: writing the last tasks empties it, and the finished job stays in view. */}
      {(tasks.data?.items.length || wrote) ? (
        <StartJob siteId={siteId} stage="generate_content" disabled={ids.length === 0}
          label={ids.length ? `Write ${plural(ids.length, "article")}` : "Select tasks to write"}
          body={{ item_ids: ids }} hint="Each article costs content credits."
          onFinished={() => { selection.clear(); setWrote(true); tasks.reload(); onWritten(); }} />
      ) : null}
    </section>
  );
}
