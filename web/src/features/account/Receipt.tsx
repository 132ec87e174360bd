import { useEffect, useState } from "react";
import { Link } from "../../app/router";
import { ErrorLine } from "../../components/ErrorLine";
import { errorText, isAbort } from "../../lib/api";
import { saveBlob } from "../../lib/download";
import { formatAmount, formatDuration, formatTime, fromBaseUnits } from "../../lib/format";
import { useSession } from "../auth";
import { fetchReceipt, type Receipt, type ReceiptTransaction } from "./api";

const DIGITS = /^\d{1,80}$/;

/** Base units (a decimal string) as tokens, exact to the last decimal: no float, no rounding. */
export function exactTokens(units: string, token: Receipt["token"]): string {
  if (!DIGITS.test(units)) return "—";
  return `${formatAmount(fromBaseUnits(BigInt(units), token.decimals), token.decimals)} ${token.symbol}`;
}

/** The split's parts summed, in base units (null if one is not a number of base units). */
export function splitTotal(split: Receipt["split"]): bigint | null {
  const parts = [split.provider, split.fee, split.refund];
  return parts.every((p) => DIGITS.test(p)) ? parts.reduce((sum, p) => sum + BigInt(p), 0n) : null;
}

/** The text of the JSON file "Download (JSON)" saves: the gateway's answer, as it came. */
export function receiptJson(receipt: Receipt): string {
  return `${JSON.stringify(receipt, null, 2)}\n`;
}

function Transaction({ label, tx }: { label: string; tx: ReceiptTransaction }) {
  return (
    <tr>
      <th scope="row">{label}</th>
      <td>{tx.block}</td>
      <td>{formatTime(tx.timestamp)}</td>
      <td className="hash">{tx.hash}</td>
    </tr>
  );
}

/** A settled job's receipt, printable: every value from the gateway rendered as text. */
export function ReceiptView({ receipt }: { receipt: Receipt }) {
  const t = receipt.token;
  const total = splitTotal(receipt.split);
  const addsUp = total !== null && DIGITS.test(receipt.maxCost) && total === BigInt(receipt.maxCost);
  const refundTo = receipt.role === "renter" ? "Refunded to you" : "Refunded to the renter";
  const rows: [string, string][] = [
    ["Job", receipt.jobId],
    ["Status", receipt.status],
    ["GPU", `${receipt.gpu.model ?? "unknown model"} (${receipt.gpu.id})`],
    ["Provider", receipt.provider],
    ["Renter", receipt.renter],
    ["Image", receipt.imageCid],
    ["Created", formatTime(receipt.createdAt)],
    ["Started", formatTime(receipt.startedAt)],
    ...(receipt.disputedAt ? [["Disputed", formatTime(receipt.disputedAt)] as [string, string]] : []),
    ["Ended", formatTime(receipt.endedAt)],
    ["Booked", `${formatDuration(receipt.bookedSeconds)} (${receipt.bookedSeconds} s)`],
    ["Billed", receipt.usedSeconds === null ? "—" : `${formatDuration(receipt.usedSeconds)} (${receipt.usedSeconds} s)`],
    ["Price per hour", exactTokens(receipt.pricePerHour, t)],
    ["Locked in escrow (most it could cost)", exactTokens(receipt.maxCost, t)],
    ["Final cost", exactTokens(receipt.finalCost, t)],
  ];
  return (
    <article className="receipt" aria-labelledby="receipt-title">
      <h1 id="receipt-title">Receipt</h1>
      <dl className="receipt-facts">
        {rows.map(([label, value]) => (
          <div key={label}><dt>{label}</dt><dd>{value}</dd></div>
        ))}
      </dl>
      <h2>Where the escrow went</h2>
      <table className="receipt-split">
        <caption className="visually-hidden">The split, as the chain paid it</caption>
        <tbody>
          <tr><th scope="row">To the provider</th><td data-testid="receipt-provider" title={`${receipt.split.provider} base units`}>{exactTokens(receipt.split.provider, t)}</td></tr>
          <tr><th scope="row">Platform fee</th><td data-testid="receipt-fee" title={`${receipt.split.fee} base units`}>{exactTokens(receipt.split.fee, t)}</td></tr>
          <tr><th scope="row">{refundTo}</th><td data-testid="receipt-refund" title={`${receipt.split.refund} base units`}>{exactTokens(receipt.split.refund, t)}</td></tr>
          <tr><th scope="row">Total</th><td data-testid="receipt-total">{total === null ? "—" : exactTokens(total.toString(), t)}</td></tr>
        </tbody>
      </table>
      {addsUp ? <p>The total is what was locked in escrow, to the base unit.</p>
        : <p role="alert">The parts do not add up to what was locked: the index may be incomplete.</p>}
      {receipt.clawedBack !== "0" && (
        <p>Taken back from the provider's stake for the renter: {exactTokens(receipt.clawedBack, t)}</p>
      )}
      <h2>Transactions</h2>
      <table className="receipt-transactions">
        <thead><tr><th scope="col">What</th><th scope="col">Block</th><th scope="col">Time</th><th scope="col">Transaction</th></tr></thead>
        <tbody>
          <Transaction label="Created" tx={receipt.creation} />
          <Transaction label="Settled" tx={receipt.settlement} />
        </tbody>
      </table>
      <p className="receipt-chain">
        Chain {receipt.chainId}; marketplace {receipt.marketplace ?? "—"}; token {t.symbol} {t.address ?? ""} ({t.decimals} decimals).
      </p>
    </article>
  );
}

/** /wallet/receipts/<jobId>: the receipt, to print or to save as JSON. */
export function ReceiptPage({ jobId }: { jobId: string }) {
  const { session } = useSession();
  const [receipt, setReceipt] = useState<Receipt | null>(null);
  const [error, setError] = useState<string | null>(null);
  const token = session?.token ?? null;
  useEffect(() => {
    setReceipt(null);
    setError(null);
    if (!token) return;
    const abort = new AbortController();
    fetchReceipt(token, jobId, abort.signal).then(setReceipt, (err: unknown) => {
      if (!isAbort(err)) setError(`Could not read the receipt: ${errorText(err)}`);
    });
    return () => abort.abort();
  }, [token, jobId]);
  return (
    <section aria-label="Job receipt">
      <p className="no-print"><Link to="/wallet">← Wallet</Link></p>
      {!token && <p>Sign in to see this receipt.</p>}
      <ErrorLine error={error} />
      {token && !receipt && !error && <p className="status">Reading the receipt…</p>}
      {receipt && (
        <>
          <div className="no-print receipt-actions">
            <button type="button" onClick={() => window.print()}>Print</button>
            <button type="button" onClick={() => saveBlob(new Blob([receiptJson(receipt)], { type: "application/json" }), `receipt-${receipt.jobId.slice(0, 10)}.json`)}>
              Download (JSON)
            </button>
          </div>
          <ReceiptView receipt={receipt} />
        </>
      )}
    </section>
  );
}
