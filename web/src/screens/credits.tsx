/** Credits: balances per type, what was spent day by day (a chart), and the ledger of every grant and debit. */
import { api, allPages, must, type Schemas } from "../api/client";
import type { ScreenProps } from "../router";
import { Badge, day, when } from "../ui/bits";
import { Async, Empty, PageFooter, useLoad, usePaged } from "../ui/data";

const TYPES = ["idea", "content", "image", "optimization"] as const;
const DAYS = 30;

export default function Credits(_: ScreenProps) {
  const balance = useLoad(() => must(api.GET("/v1/credits")), []);
  return (
    <>
      <Async value={balance} what="your balances">
        {(b) => (
          <>
            <h2>Balances</h2>
            <div class="cards">
              {TYPES.map((type) => {
                const line = (b.balances as Record<string, Schemas["CreditTypeBalance"]>)[type];
                return (
                  <div class="card" key={type} data-credit-type={type}>
                    <h3>{type[0]!.toUpperCase() + type.slice(1)} credits</h3>
                    <p class="figure">{line?.available ?? 0}</p>
                    <p class="small muted">{line?.plan ?? 0} from the plan, {line?.pack ?? 0} from packs</p>
                  </div>
                );
              })}
            </div>
            <p class="small muted">Plan period {day(b.period_start)} – {day(b.period_end)}.</p>
          </>
        )}
      </Async>
      <UsageChart />
      <Ledger />
    </>
  );
}

function UsageChart() {
  const since = new Date(Date.now() - (DAYS - 1) * 86400000);
  since.setHours(0, 0, 0, 0);
  const usage = useLoad(() => allPages((cursor) => must(api.GET("/v1/credits/usage", {
    params: { query: { limit: 100, cursor, from: since.toISOString() } },
  })), 2000), []);
  return (
    <section aria-labelledby="usage">
      <h2 id="usage">Spent over the last {DAYS} days</h2>
      <Async value={usage} what="usage">
        {(entries) => {
          if (entries.length === 0) return <Empty title="Nothing spent yet">Credits are spent when jobs cluster, write or make images.</Empty>;
          // Days of the person's own calendar, oldest first, ending today.
          const key = (d: Date) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
          const local = Array.from({ length: DAYS }, (_, i) => {
            const d = new Date();
            d.setDate(d.getDate() - (DAYS - 1 - i));
            return key(d);
          });
          const perDay = new Map<string, Record<string, number>>();
          for (const e of entries) {
            const k = key(new Date(e.created_at));
            const row = perDay.get(k) ?? {};
            row[e.credit_type] = (row[e.credit_type] ?? 0) + Math.abs(e.delta);
            perDay.set(k, row);
          }
          const totals = local.map((d) => Object.values(perDay.get(d) ?? {}).reduce((s, n) => s + n, 0));
          const max = Math.max(1, ...totals);
          const spent = totals.reduce((s, n) => s + n, 0);
          const width = 600, height = 160, bar = width / DAYS;
          return (
            <figure class="chart">
              <svg viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-labelledby="usage-title">
                <title id="usage-title">{`${spent} credits spent in the last ${DAYS} days, at most ${max} on one day`}</title>
                {totals.map((t, i) => {
                  const h = (t / max) * height;
                  return (
                    <rect key={i} class="bar" x={i * bar + 2} y={height - h} width={bar - 4} height={h}>
                      <title>{`${local[i]}: ${t} credits`}</title>
                    </rect>
                  );
                })}
                <line class="axis" x1="0" y1={height} x2={width} y2={height} />
                <text x="0" y={height + 14}>{day(`${local[0]}T12:00:00`)}</text>
                <text x={width} y={height + 14} text-anchor="end">{day(`${local[DAYS - 1]}T12:00:00`)}</text>
              </svg>
              <figcaption>
                <details>
                  <summary>The numbers by day</summary>
                  <table>
                    <caption class="visually-hidden">Credits spent by day and type</caption>
                    <thead><tr><th scope="col">Day</th>{TYPES.map((t) => <th scope="col" class="num" key={t}>{t}</th>)}</tr></thead>
                    <tbody>
                      {local.filter((d) => perDay.has(d)).map((d) => (
                        <tr key={d}>
                          <td>{day(`${d}T12:00:00`)}</td>
                          {TYPES.map((t) => <td class="num" key={t}>{perDay.get(d)?.[t] ?? 0}</td>)}
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </details>
              </figcaption>
            </figure>
          );
        }}
      </Async>
    </section>
  );
}

function Ledger() {
  const ledger = usePaged((cursor) => must(api.GET("/v1/credits/ledger", { params: { query: { limit: 25, cursor } } })), []);
  return (
    <section aria-labelledby="ledger">
      <h2 id="ledger">Ledger</h2>
      <p class="small muted">Every grant, debit, expiry and refund, newest first. The balance is their sum.</p>
      {ledger.items.length > 0 && (
        <table>
          <caption class="visually-hidden">Ledger entries</caption>
          <thead>
            <tr><th scope="col">When</th><th scope="col">Kind</th><th scope="col">Type</th><th scope="col" class="num">Credits</th><th scope="col">Operation</th><th scope="col">Usage</th></tr>
          </thead>
          <tbody>
            {ledger.items.map((e) => (
              <tr key={e.entry_key}>
                <td>{when(e.created_at)}</td>
                <td><Badge status={e.kind} /></td>
                <td>{e.credit_type}</td>
                <td class="num">{e.delta > 0 ? `+${e.delta}` : e.delta}</td>
                <td>{e.operation}{e.note ? ` (${e.note})` : ""}</td>
                <td class="small">
                  {e.input_tokens + e.output_tokens > 0 && `${e.input_tokens + e.output_tokens} tokens`}
                  {e.images > 0 && `${e.images} images`}
                  {e.model && ` · ${e.model}`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {ledger.state === "ok" && ledger.items.length === 0 && <Empty title="No entries yet" />}
      <PageFooter list={ledger} what="entries" />
    </section>
  );
}
