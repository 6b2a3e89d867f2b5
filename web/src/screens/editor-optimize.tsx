/** The editor's optimisation tabs: the content score with its breakdown, link suggestions to accept, revisions. */
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { can } from "../session";
import { Badge, Can, ConfirmButton, notify, when } from "../ui/bits";
import { Async, Empty, ErrorBox, useLoad } from "../ui/data";

type Article = Schemas["ContentOut"];

export function Score({ siteId, article, reload }: { siteId: string; article: Article; reload: () => void }) {
  const breakdown = article.score_breakdown;
  const [error, setError] = useState<unknown>(null);
  const optimize = async () => {
    setError(null);
    try {
      await must(api.POST("/v1/sites/{site_id}/content/optimize", { params: { path: { site_id: siteId } }, body: { content_ids: [article.content_id] } }));
      notify("Optimisation started: a result is kept only if it scores higher");
      reload();
    } catch (e) {
      setError(e);
    }
  };
  if (!breakdown) return <Empty title="Not scored yet">The score is computed when the article is saved.</Empty>;
  return (
    <>
      <p class="score"><strong>{breakdown.score}</strong>/100 <Badge status={breakdown.band === "high" ? "done" : breakdown.band === "low" ? "failed" : "review"} label={breakdown.band} /></p>
      <table>
        <caption>What the score is made of (higher points first to mend: lowest value)</caption>
        <thead><tr><th scope="col">Factor</th><th scope="col">Points</th><th scope="col">Weight</th><th scope="col">What to do</th></tr></thead>
        <tbody>
          {breakdown.factors.filter((f) => f.applicable).map((f) => (
            <tr key={f.factor}>
              <td>{f.label}</td>
              <td>{Math.round(f.points * 10) / 10}</td>
              <td>{f.weight}</td>
              <td class="small">{f.advice || "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {error ? <ErrorBox error={error} action="Optimisation did not start" /> : null}
      <Can op="POST /v1/sites/{site_id}/content/optimize">
        <button type="button" class="button" onClick={() => void optimize()}>Optimise with AI</button>
        <p class="small muted">The AI mends the weakest factors; the result is kept only if it scores higher (optimisation credits). Its revision is on the Revisions tab.</p>
      </Can>
    </>
  );
}

export function Links({ siteId, article, reload }: { siteId: string; article: Article; reload: () => void }) {
  const path = { params: { path: { site_id: siteId, content_id: article.content_id } } };
  const links = useLoad(() => must(api.GET("/v1/sites/{site_id}/content/{content_id}/links", path)), [article.content_id]);
  const [error, setError] = useState<unknown>(null);
  const act = async (work: () => Promise<unknown>, done: string, changesBody = false) => {
    setError(null);
    try {
      await work();
      notify(done);
      links.reload();
      if (changesBody) reload();
    } catch (e) {
      setError(e);
    }
  };
  const target = (target_id: string) => ({ params: { path: { site_id: siteId, content_id: article.content_id, target_id } } });
  return (
    <>
      {error ? <ErrorBox error={error} /> : null}
      <Can op="POST /v1/sites/{site_id}/content/{content_id}/links/suggest">
        <button type="button" class="button secondary" onClick={() => act(() => must(api.POST("/v1/sites/{site_id}/content/{content_id}/links/suggest", path)), "Suggestions made")}>
          Suggest internal links
        </button>
      </Can>
      <Async value={links} what="link suggestions">
        {(l) => l.items.length === 0 ? (
          <Empty title="No link suggestions">{can("POST /v1/sites/{site_id}/content/{content_id}/links/suggest") ? "“Suggest internal links” finds the site's other articles this one should link to." : "An editor can ask for suggestions."}</Empty>
        ) : (
          <table>
            <caption>Links to the site's other articles, most relevant first</caption>
            <thead><tr><th scope="col">Anchor</th><th scope="col">To</th><th scope="col">Why</th><th scope="col">Status</th>{can("POST /v1/sites/{site_id}/content/{content_id}/links/{target_id}/accept") && <th scope="col">Actions</th>}</tr></thead>
            <tbody>
              {l.items.map((s) => (
                <tr key={s.suggestion_id}>
                  <td>“{s.anchor}”</td>
                  <td>{s.target_title}</td>
                  <td class="small">{s.reason} ({Math.round(s.relevance * 100)}%)</td>
                  <td><Badge status={s.status === "accepted" ? "done" : s.status === "dismissed" ? "archived" : "review"} label={s.status} />{s.removed_reason && <p class="small">{s.removed_reason}</p>}</td>
                  {can("POST /v1/sites/{site_id}/content/{content_id}/links/{target_id}/accept") && (
                    <td>{s.status === "suggested" && (
                      <div class="toolbar">
                        <button type="button" class="button small" onClick={() => act(() => must(api.POST("/v1/sites/{site_id}/content/{content_id}/links/{target_id}/accept", target(s.target_id))), `Link to ${s.target_title} added`, true)}>
                          Accept<span class="visually-hidden"> the link to {s.target_title}</span>
                        </button>
                        <button type="button" class="button small secondary" onClick={() => act(() => must(api.POST("/v1/sites/{site_id}/content/{content_id}/links/{target_id}/dismiss", target(s.target_id))), "Suggestion dismissed")}>
                          Dismiss<span class="visually-hidden"> the link to {s.target_title}</span>
                        </button>
                      </div>
                    )}</td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Async>
    </>
  );
}

export function Revisions({ siteId, article, reload }: { siteId: string; article: Article; reload: () => void }) {
  const path = { params: { path: { site_id: siteId, content_id: article.content_id } } };
  const revisions = useLoad(() => must(api.GET("/v1/sites/{site_id}/content/{content_id}/revisions", path)), [article.content_id, article.updated_at]);
  const [error, setError] = useState<unknown>(null);
  const restore = async (revision_id: string) => {
    setError(null);
    try {
      const out = await must(api.POST("/v1/sites/{site_id}/content/{content_id}/revisions/{revision_id}/restore", {
        params: { path: { site_id: siteId, content_id: article.content_id, revision_id } } }));
      notify(`Revision restored (score ${out.score})`);
      reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <>
      {error ? <ErrorBox error={error} action="The revision was not restored" /> : null}
      <Async value={revisions} what="revisions">
        {(r) => r.items.length === 0 ? <Empty title="No revisions yet">An optimisation or a restore keeps the version it replaced here.</Empty> : (
          <ul class="plain">
            {r.items.map((v) => (
              <li key={v.revision_id} class="card">
                <h3>{when(v.created_at)}: {v.reason} <Badge status={v.status} /></h3>
                <p class="small">Score {v.score_before ?? "—"} → {v.score_after ?? "—"} · {v.title}</p>
                <details><summary>What changed</summary><pre class="prompt" tabIndex={0}>{v.diff}</pre></details>
                <Can op="POST /v1/sites/{site_id}/content/{content_id}/revisions/{revision_id}/restore">
                  <ConfirmButton label="Restore" tone="secondary" confirm="Put this version back? The current one becomes a revision." onConfirm={() => void restore(v.revision_id)} />
                </Can>
              </li>
            ))}
          </ul>
        )}
      </Async>
    </>
  );
}
