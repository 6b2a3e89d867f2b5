/** Content ideas: approve or reject them (one by one or in bulk), then turn approved ones into writing tasks. */
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { href, type ScreenProps } from "../router";
import { can } from "../session";
import { Badge, notify, plural } from "../ui/bits";
import { Empty, ErrorBox, PageFooter, usePaged } from "../ui/data";
import { SelectField } from "../ui/form";
import { BulkResult, StartJob, sitePath, useSelection } from "./shared";

type IdeaStatus = Schemas["BulkIdeaStatus"]["status"];
const FILTERS: { value: string; label: string }[] = [
  { value: "pending", label: "Waiting for review" },
  { value: "approved", label: "Approved" },
  { value: "used", label: "Used (tasks made)" },
  { value: "archived", label: "Rejected" },
  { value: "", label: "All" },
];

export default function Ideas({ params, query }: ScreenProps) {
  const siteId = params.site!;
  const [status, setStatus] = useState(query.get("status") ?? "pending");
  const ideas = usePaged(
    (cursor) => must(api.GET("/v1/sites/{site_id}/ideas", {
      params: { path: { site_id: siteId }, query: { limit: 50, cursor, status: (status || undefined) as IdeaStatus | undefined } },
    })),
    [siteId, status],
  );
  const selection = useSelection();
  const [bulk, setBulk] = useState<Schemas["BulkOut"] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const writable = can("POST /v1/sites/{site_id}/ideas/bulk-status");
  const ids = [...selection.selected];

  const setStatuses = async (targets: string[], to: IdeaStatus) => {
    setError(null);
    try {
      const out = await must(api.POST("/v1/sites/{site_id}/ideas/bulk-status", {
        params: { path: { site_id: siteId } }, body: { ids: targets, status: to },
      }));
      setBulk(out);
      notify(`${plural(out.succeeded.length, "idea")} ${to === "approved" ? "approved" : "rejected"}`);
      selection.clear();
      ideas.reload();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <>
      <div class="toolbar">
        <SelectField label="Show" value={status} onValue={(v) => { selection.clear(); setStatus(v); }} options={FILTERS} />
        <StartJob siteId={siteId} stage="create_tasks" label="Create writing tasks from approved ideas"
          onFinished={() => ideas.reload()} hint="No credits: a task is the brief an article is written from." />
      </div>
      {writable && ids.length > 0 && (
        <div class="toolbar" role="group" aria-label="Review the selected ideas">
          <span>{ids.length} selected</span>
          <button type="button" class="button" onClick={() => setStatuses(ids, "approved")}>Approve selected</button>
          <button type="button" class="button secondary" onClick={() => setStatuses(ids, "archived")}>Reject selected</button>
        </div>
      )}
      <BulkResult result={bulk} what="idea" />
      {error ? <ErrorBox error={error} /> : null}
      {ideas.state === "ok" && ideas.items.length === 0 && (
        <Empty title={status === "pending" ? "No ideas waiting for review" : "No ideas here"}>
          Ideas are generated from <a href={href(sitePath(siteId, "/clusters"))}>clusters</a>.
          {status === "approved" && " Approve pending ideas first."}
        </Empty>
      )}
      {ideas.items.length > 0 && (
        <table>
          <caption class="visually-hidden">Ideas</caption>
          <thead>
            <tr>
              {writable && (
                <th scope="col">
                  <input type="checkbox" aria-label="Select all ideas shown"
                    checked={ideas.items.every((i) => selection.has(i.idea_id))}
                    onChange={(e) => selection.setAll(ideas.items.map((i) => i.idea_id), (e.target as HTMLInputElement).checked)} />
                </th>
              )}
              <th scope="col">Idea</th>
              <th scope="col">Primary keyword</th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              {writable && <th scope="col">Review</th>}
            </tr>
          </thead>
          <tbody>
            {ideas.items.map((idea) => (
              <tr key={idea.idea_id}>
                {writable && (
                  <td>
                    <input type="checkbox" aria-label={`Select ${idea.title}`} checked={selection.has(idea.idea_id)}
                      onChange={(e) => selection.toggle(idea.idea_id, (e.target as HTMLInputElement).checked)} />
                  </td>
                )}
                <td>
                  <strong>{idea.title}</strong>
                  {idea.description && <p class="small muted">{idea.description}</p>}
                </td>
                <td>{idea.primary_keyword}</td>
                <td>{idea.content_type}</td>
                <td><Badge status={idea.status} label={idea.status === "archived" ? "rejected" : idea.status} /></td>
                {writable && (
                  <td>
                    {idea.status !== "approved" && idea.status !== "used" && (
                      <button type="button" class="button small" aria-label={`Approve ${idea.title}`}
                        onClick={() => setStatuses([idea.idea_id], "approved")}>Approve</button>
                    )}{" "}
                    {idea.status !== "archived" && idea.status !== "used" && (
                      <button type="button" class="button small secondary" aria-label={`Reject ${idea.title}`}
                        onClick={() => setStatuses([idea.idea_id], "archived")}>Reject</button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <PageFooter list={ideas} what="ideas" />
    </>
  );
}
