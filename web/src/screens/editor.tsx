/** The article editor: rendered preview, HTML, meta, images with alt text, review and publishing. */
import { useEffect, useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import type { ScreenProps } from "../router";
import { can } from "../session";
import { Badge, Can, notify, plural, when } from "../ui/bits";
import { Async, Empty, ErrorBox, useLoad } from "../ui/data";
import { FormError, TextArea, TextField, useSubmit } from "../ui/form";
import { Tabs } from "../ui/tabs";
import { Links, Revisions, Score } from "./editor-optimize";
import { StartJob } from "./shared";

type Article = Schemas["ContentOut"];
type Tab = "preview" | "html" | "meta" | "images" | "publishing" | "score" | "links" | "revisions";

export default function Editor({ params }: ScreenProps) {
  const siteId = params.site!;
  const contentId = params.content!;
  const article = useLoad(() => must(api.GET("/v1/sites/{site_id}/content/{content_id}", {
    params: { path: { site_id: siteId, content_id: contentId } },
  })), [siteId, contentId]);
  // Kept here: a reload after a save remounts the editor, and the person stays on their tab.
  const [tab, setTab] = useState<Tab>("preview");
  // The optimiser's and linker's tabs are shown only while those modules are on (their routes answer "module disabled" otherwise).
  const modules = useLoad(() => must(api.GET("/v1/account/modules")), []);
  const on = modules.data ?? { optimizer: false, linker: false };
  return (
    <Async value={article} what="the article">
      {(a) => <ArticleEditor key={a.updated_at} siteId={siteId} article={a} reload={article.reload} tab={tab} setTab={setTab}
        optimizer={on.optimizer} linker={on.linker} />}
    </Async>
  );
}

function ArticleEditor({ siteId, article, reload, tab, setTab, optimizer, linker }: {
  siteId: string; article: Article; reload: () => void; tab: Tab; setTab: (tab: Tab) => void; optimizer: boolean; linker: boolean;
}) {
  const [draft, setDraft] = useState({
    title: article.title, body_html: article.body_html, meta_title: article.meta_title,
    meta_description: article.meta_description, excerpt: article.excerpt,
  });
  const editable = can("PATCH /v1/sites/{site_id}/content/{content_id}");
  const path = { params: { path: { site_id: siteId, content_id: article.content_id } } };
  const changed = (Object.keys(draft) as (keyof typeof draft)[]).filter((k) => draft[k] !== article[k]);
  const save = useSubmit(async (extra: Partial<Schemas["ContentUpdate"]> = {}) => {
    const body = Object.fromEntries(changed.map((k) => [k, draft[k]]));
    await must(api.PATCH("/v1/sites/{site_id}/content/{content_id}", { ...path, body: { ...body, ...extra } }));
    notify(extra.status ? `Article ${extra.status === "approved" ? "approved" : `moved to ${extra.status}`}` : "Article saved");
    reload();
  });
  const set = (key: keyof typeof draft) => (value: string) => setDraft({ ...draft, [key]: value });
  return (
    <>
      <h2 class="article-title">{article.title || "(untitled)"}</h2>
      <p>
        <Badge status={article.status} /> <Badge status={article.site_status} />{" "}
        <span class="small muted">
          {plural(article.word_count, "word")} · {(article.cost as { credits?: number }).credits ?? 0} credits ·
          updated {when(article.updated_at)}
        </span>
      </p>
      {editable && (
        <div class="toolbar" role="group" aria-label="Save and review">
          <button type="button" class="button" disabled={save.busy || changed.length === 0} onClick={() => save.run()}>
            {changed.length ? `Save ${plural(changed.length, "change")}` : "Saved"}
          </button>
          {article.status === "draft" && (
            <button type="button" class="button secondary" disabled={save.busy} onClick={() => save.run({ status: "review" })}>
              Submit for review
            </button>
          )}
          {(article.status === "draft" || article.status === "review") && (
            <button type="button" class="button secondary" disabled={save.busy} onClick={() => save.run({ status: "approved" })}>
              Approve
            </button>
          )}
          {article.status === "approved" && article.site_status === "not_published" && (
            <button type="button" class="button secondary" disabled={save.busy} onClick={() => save.run({ status: "draft" })}>
              Back to draft
            </button>
          )}
        </div>
      )}
      <FormError error={save.error} action="The article was not saved" />
      <Tabs label="Article" current={tab} onChange={setTab} tabs={[
        ["preview", "Preview"], ["html", "HTML"], ["meta", `Meta${article.warnings.length ? ` (${article.warnings.length} warnings)` : ""}`],
        ["images", "Images"], ["publishing", "Publishing"],
        ...(optimizer ? [["score", "Score"], ["revisions", "Revisions"]] as [Tab, string][] : []),
        ...(linker ? [["links", "Links"]] as [Tab, string][] : []),
      ]}>
        {tab === "preview" && (
          <iframe class="preview" title="Article preview" sandbox="" srcdoc={previewDocument(draft.title, draft.body_html)} />
        )}
        {tab === "html" &&
          (editable ? (
            <TextArea label="Article HTML" rows={24} value={draft.body_html} onValue={set("body_html")}
              hint="Saved HTML is sanitised by the API (scripts and unsafe attributes are removed)." />
          ) : (
            <pre class="small">{article.body_html}</pre>
          ))}
        {tab === "meta" && <Meta article={article} draft={draft} editable={editable} set={set} />}
        {tab === "images" && <Images siteId={siteId} contentId={article.content_id} />}
        {tab === "publishing" && <Publishing siteId={siteId} article={article} reload={reload} />}
        {tab === "score" && optimizer && <Score siteId={siteId} article={article} reload={reload} />}
        {tab === "links" && linker && <Links siteId={siteId} article={article} reload={reload} />}
        {tab === "revisions" && optimizer && <Revisions siteId={siteId} article={article} reload={reload} />}
      </Tabs>
    </>
  );
}

function previewDocument(title: string, body: string): string {
  const escape = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head>` +
    `<body><h1>${escape(title)}</h1>${body}</body></html>`;
}

function Meta({ article, draft, editable, set }: {
  article: Article; draft: Record<"title" | "meta_title" | "meta_description" | "excerpt", string>;
  editable: boolean; set: (key: "title" | "meta_title" | "meta_description" | "excerpt") => (v: string) => void;
}) {
  const warning = (field: string) => article.warnings.filter((w) => w.field === field).map((w) => w.message).join(" ") || undefined;
  if (!editable)
    return (
      <dl class="facts">
        <dt>Title</dt><dd>{article.title}</dd>
        <dt>Meta title</dt><dd>{article.meta_title || "—"}</dd>
        <dt>Meta description</dt><dd>{article.meta_description || "—"}</dd>
        <dt>Excerpt</dt><dd>{article.excerpt || "—"}</dd>
        <dt>Keywords</dt><dd>{(article.keywords ?? []).join(", ") || "—"}</dd>
      </dl>
    );
  return (
    <div class="stack">
      <TextField label="Title" value={draft.title} onValue={set("title")} error={warning("title")} />
      <TextField label="Meta title" value={draft.meta_title} onValue={set("meta_title")}
        hint={`${draft.meta_title.length} characters; search engines show about 60.`} error={warning("meta_title")} />
      <TextArea label="Meta description" rows={3} value={draft.meta_description} onValue={set("meta_description")}
        hint={`${draft.meta_description.length} characters; about 155 are shown.`} error={warning("meta_description")} />
      <TextArea label="Excerpt" rows={3} value={draft.excerpt} onValue={set("excerpt")} />
      <p class="small muted">Keywords: {(article.keywords ?? []).join(", ") || "—"}</p>
    </div>
  );
}

/** An image file of the API: fetched with the access token, shown from memory. */
function AuthedImage({ siteId, image }: { siteId: string; image: Schemas["ImageOut"] }) {
  const [src, setSrc] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (image.status !== "generated") return;
    let url: string | null = null;
    let live = true;
    api.GET("/v1/sites/{site_id}/images/{image_id}/file", {
      params: { path: { site_id: siteId, image_id: image.image_id } }, parseAs: "blob",
    }).then(({ data, response }) => {
      if (!live) return;
      if (!response.ok || !(data instanceof Blob)) return setFailed(true);
      url = URL.createObjectURL(data);
      setSrc(url);
    }, () => live && setFailed(true));
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [image.image_id, image.status]);
  if (src) return <img src={src} alt={image.alt_text} />;
  return <p class="small muted">{failed ? "The file could not be loaded." : image.status === "generated" ? "Loading the image…" : `Image ${image.status}.`}</p>;
}

function Images({ siteId, contentId }: { siteId: string; contentId: string }) {
  const images = useLoad(() => must(api.GET("/v1/sites/{site_id}/images", {
    params: { path: { site_id: siteId }, query: { content_id: contentId, limit: 50 } },
  })), [siteId, contentId]);
  return (
    <>
      <div class="toolbar">
        <StartJob siteId={siteId} stage="generate_image_prompts" label="Write image prompts" body={{ item_ids: [contentId] }}
          onFinished={images.reload} hint="Costs content credits." />
        <StartJob siteId={siteId} stage="generate_images" label="Generate images" body={{ item_ids: [contentId] }}
          onFinished={images.reload} hint="Costs image credits; needs prompts first." />
      </div>
      <Async value={images} what="images">
        {({ items }) =>
          items.length === 0 ? (
            <Empty title="No images yet">Write image prompts, then generate the images.</Empty>
          ) : (
            <div class="images">
              {items.map((image) => <ImageCard key={image.image_id} siteId={siteId} image={image} onSaved={images.reload} />)}
            </div>
          )
        }
      </Async>
    </>
  );
}

function ImageCard({ siteId, image, onSaved }: { siteId: string; image: Schemas["ImageOut"]; onSaved: () => void }) {
  const [alt, setAlt] = useState(image.alt_text);
  const save = useSubmit(async () => {
    await must(api.PATCH("/v1/sites/{site_id}/images/{image_id}", {
      params: { path: { site_id: siteId, image_id: image.image_id } }, body: { alt_text: alt },
    }));
    notify("Alt text saved");
    onSaved();
  });
  const label = `${image.is_featured ? "Featured image" : `Image ${image.position}`}`;
  return (
    <div class="card">
      <h3>{label} <Badge status={image.status} /></h3>
      <AuthedImage siteId={siteId} image={image} />
      {image.prompt && <p class="small muted">Prompt: {image.prompt}</p>}
      {can("PATCH /v1/sites/{site_id}/images/{image_id}") ? (
        <form onSubmit={(e) => { e.preventDefault(); void save.run(); }}>
          <TextField label={`Alt text of ${label.toLowerCase()}`} value={alt} onValue={setAlt}
            hint={alt.trim() ? undefined : "Describe the image for people who cannot see it."} />
          <FormError error={save.error} />
          <button type="submit" class="button small" disabled={save.busy || alt === image.alt_text}>Save alt text</button>
        </form>
      ) : (
        <p class="small">Alt text: {image.alt_text || <span class="muted">(none)</span>}</p>
      )}
    </div>
  );
}

function Publishing({ siteId, article, reload }: { siteId: string; article: Article; reload: () => void }) {
  const path = { params: { path: { site_id: siteId, content_id: article.content_id } } };
  const records = useLoad(() => must(api.GET("/v1/sites/{site_id}/content/{content_id}/publishing-records", path)),
    [article.content_id, article.updated_at]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const act = async (work: () => Promise<unknown>, done: string) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      notify(done);
      reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const approved = article.status === "approved";
  return (
    <>
      <dl class="facts">
        <dt>State</dt><dd><Badge status={article.site_status} /></dd>
        {article.scheduled_publish_at && <><dt>Scheduled for</dt><dd>{when(article.scheduled_publish_at)}</dd></>}
        {article.external_url && <><dt>Post</dt><dd><a href={article.external_url} target="_blank" rel="noreferrer noopener">{article.external_url}</a></dd></>}
        {article.publish_error && <><dt>Last error</dt><dd class="field-error">{article.publish_error}</dd></>}
      </dl>
      {!approved && article.site_status === "not_published" && (
        <p class="notice">Approve the article to schedule or publish it.</p>
      )}
      <Can op="POST /v1/sites/{site_id}/content/{content_id}/schedule">
        <div class="toolbar">
          {approved && ["not_published", "failed"].includes(article.site_status) && (
            <button type="button" class="button" disabled={busy} onClick={() => act(() => must(api.POST(
              "/v1/sites/{site_id}/content/{content_id}/schedule", { ...path, body: {} })), "Scheduled in the next free slot")}>
              Schedule in the next free slot
            </button>
          )}
          {approved && ["not_published", "scheduled"].includes(article.site_status) && (
            <button type="button" class="button secondary" disabled={busy} onClick={() => act(() => must(api.POST(
              "/v1/sites/{site_id}/content/{content_id}/publish", path)), "Publishing now")}>
              Publish now
            </button>
          )}
          {article.site_status === "failed" && (
            <button type="button" class="button" disabled={busy} onClick={() => act(() => must(api.POST(
              "/v1/sites/{site_id}/content/{content_id}/publish/retry", path)), "Publishing again")}>
              Retry publishing
            </button>
          )}
          {article.site_status === "scheduled" && (
            <button type="button" class="button secondary" disabled={busy} onClick={() => act(() => must(api.POST(
              "/v1/sites/{site_id}/content/{content_id}/unschedule", path)), "Taken out of its slot")}>
              Unschedule
            </button>
          )}
          {article.site_status === "publishing" && (
            <button type="button" class="button secondary" onClick={reload}>Check again</button>
          )}
        </div>
      </Can>
      {error ? <ErrorBox error={error} /> : null}
      <h3>Publishing attempts</h3>
      <Async value={records} what="publishing attempts">
        {({ items }) =>
          items.length === 0 ? (
            <p class="muted">Not published yet.</p>
          ) : (
            <table>
              <caption class="visually-hidden">Publishing attempts</caption>
              <thead><tr><th scope="col">When</th><th scope="col">Result</th><th scope="col">Post</th><th scope="col">Error</th></tr></thead>
              <tbody>
                {items.map((r) => (
                  <tr key={r.attempt_id}>
                    <td>{when(r.created_at)}</td>
                    <td><Badge status={r.status} /> {r.action}</td>
                    <td>{r.external_url ? <a href={r.external_url} target="_blank" rel="noreferrer noopener">{r.external_id}</a> : "—"}</td>
                    <td>{r.error ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Async>
    </>
  );
}
