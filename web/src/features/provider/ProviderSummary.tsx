import { formatTokens } from "../../lib/format";
import type { ProviderBoard } from "./api";

const percent = (bps: number | null) => (bps === null ? "—" : `${bps / 100}%`);

/** Stake, reputation and its parts, jobs run. */
export function ProviderSummary({ board, symbol }: { board: ProviderBoard; symbol: string }) {
  const facts: [string, string][] = [
    ["Stake", formatTokens(board.stake, symbol)],
    ["Reputation", board.score === null ? "not rated yet" : `${board.score} / 1000`],
    ["Uptime", percent(board.uptimeBps)],
    ["Response", percent(board.responseBps)],
    ["Penalty points", String(board.penaltyPoints)],
    ["Validation reports", String(board.reports)],
    ["Jobs run", `${board.jobs.ended} ended of ${board.jobs.total}`],
    ["Endpoint", board.endpoint],
  ];
  return (
    <dl className="balances provider-summary">
      {facts.map(([name, value]) => (
        <div key={name}>
          <dt>{name}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
