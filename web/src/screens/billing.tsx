/** The plan, its limits and payment state; plans and credit packs to buy through Stripe Checkout. */
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import type { ScreenProps } from "../router";
import { can } from "../session";
import { Badge, Can, day, money } from "../ui/bits";
import { Async, Empty, ErrorBox, useLoad } from "../ui/data";

type Checkout = Schemas["CheckoutBody"];

export default function Billing(_: ScreenProps) {
  const billing = useLoad(() => must(api.GET("/v1/billing")), []);
  const plans = useLoad(() => must(api.GET("/v1/plans")), []);
  const packs = useLoad(() => must(api.GET("/v1/credit-packs")), []);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const go = async (work: () => Promise<{ url: string }>) => {
    setBusy(true);
    setError(null);
    try {
      location.assign((await work()).url); // Stripe's own pages; they come back to the console
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const checkout = (body: Checkout) => go(() => must(api.POST("/v1/billing/checkout", { body })));
  return (
    <>
      <Async value={billing} what="your plan">
        {(b) => (
          <>
            <dl class="facts">
              <dt>Plan</dt><dd>{b.plan_name} {b.past_due && <Badge status="past_due" label="payment overdue" />}</dd>
              {b.subscription && <><dt>Subscription</dt><dd><Badge status={b.subscription.status} /> {b.subscription.interval}ly, renews {day(b.subscription.current_period_end)}{b.subscription.cancel_at_period_end && " (ends then)"}</dd></>}
              <dt>Period</dt><dd>{day(b.period_start)} – {day(b.period_end)}</dd>
              <dt>Limits</dt><dd>{Object.entries(b.limits).map(([k, v]) => `${k.replace(/_/g, " ")}: ${v}`).join(", ")}</dd>
              {b.over_limit.length > 0 && <><dt>Over the limit</dt><dd class="field-error">{b.over_limit.join(", ")}</dd></>}
            </dl>
            {b.past_due && <p class="notice">A payment failed: generation is paused until it is paid. Update the card in the billing portal.</p>}
            {b.has_billing_account && (
              <Can op="POST /v1/billing/portal">
                <button type="button" class="button secondary" disabled={busy} onClick={() => go(() => must(api.POST("/v1/billing/portal")))}>
                  Open the billing portal (invoices, card, cancel)
                </button>
              </Can>
            )}
          </>
        )}
      </Async>
      {error ? <ErrorBox error={error} action="Stripe could not be opened" /> : null}
      <h2>Plans</h2>
      <Async value={plans} what="plans">
        {({ items }) =>
          items.length === 0 ? <Empty title="No plans on offer" /> : (
            <div class="cards">
              {items.map((p) => (
                <div class="card" key={p.plan_id}>
                  <h3>{p.name} {billing.data?.plan_id === p.plan_id && <Badge status="active" label="your plan" />}</h3>
                  <p>{p.price_monthly_cents ? `${money(p.price_monthly_cents, p.currency)} a month` : "Free"}
                    {p.price_yearly_cents > 0 && ` or ${money(p.price_yearly_cents, p.currency)} a year`}</p>
                  <p class="small">{p.idea_credits} idea, {p.content_credits} content, {p.image_credits} image credits a period;
                    {" "}{p.max_sites} sites, {p.max_users} users{p.rollover ? "; unused credits roll over" : ""}</p>
                  {can("POST /v1/billing/checkout") && billing.data?.plan_id !== p.plan_id && (
                    <div class="toolbar">
                      {p.buyable_monthly && <button type="button" class="button small" disabled={busy}
                        onClick={() => checkout({ kind: "plan", plan_id: p.plan_id, interval: "month" })}>Choose monthly</button>}
                      {p.buyable_yearly && <button type="button" class="button small secondary" disabled={busy}
                        onClick={() => checkout({ kind: "plan", plan_id: p.plan_id, interval: "year" })}>Choose yearly</button>}
                    </div>
                  )}
                </div>
              ))}
            </div>
          )
        }
      </Async>
      <h2>Credit packs</h2>
      <p class="small muted">Pack credits never expire; plan credits are spent first.</p>
      <Async value={packs} what="credit packs">
        {({ items }) =>
          items.length === 0 ? <Empty title="No packs on sale" /> : (
            <div class="cards">
              {items.map((p) => (
                <div class="card" key={p.pack_id}>
                  <h3>{p.name}</h3>
                  <p>{money(p.price_cents, p.currency)}</p>
                  <p class="small">{[["idea", p.idea_credits], ["content", p.content_credits], ["image", p.image_credits]]
                    .filter(([, n]) => n).map(([t, n]) => `${n} ${t}`).join(", ")} credits</p>
                  {can("POST /v1/billing/checkout") && p.buyable && (
                    <button type="button" class="button small" disabled={busy}
                      onClick={() => checkout({ kind: "pack", pack_id: p.pack_id })}>Buy</button>
                  )}
                </div>
              ))}
            </div>
          )
        }
      </Async>
    </>
  );
}
