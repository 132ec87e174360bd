import { formatTokens } from "../../lib/format";
import type { Settlement } from "../../lib/transact";

/** Where the escrow went: the provider's share, the platform's fee, the renter's refund. */
export function SettlementView({ settlement, symbol }: { settlement: Settlement; symbol: string }) {
  return (
    <section aria-labelledby="settlement-title">
      <h2 id="settlement-title">Settlement</h2>
      <dl className="balances settlement">
        <div><dt>To the provider</dt><dd data-testid="paid-provider">{formatTokens(settlement.provider, symbol)}</dd></div>
        <div><dt>Platform fee</dt><dd data-testid="paid-fee">{formatTokens(settlement.fee, symbol)}</dd></div>
        <div><dt>Refunded to you</dt><dd data-testid="refund">{formatTokens(settlement.refund, symbol)}</dd></div>
      </dl>
    </section>
  );
}
