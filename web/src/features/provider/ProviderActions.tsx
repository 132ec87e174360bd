import { useState } from "react";
import { ErrorLine } from "../../components/ErrorLine";
import { Field } from "../../components/Field";
import type { Eip1193Provider } from "../../lib/eip1193";
import { formatDuration, formatTime, formatTokens, shortId, toBaseUnits } from "../../lib/format";
import { sendPrepared, type Prepared } from "../../lib/transact";
import { useWrite } from "../../lib/useWrite";
import type { Session } from "../auth";
import type { Gpu } from "../marketplace/types";
import { checkPrice, prepareAvailability, preparePrice, prepareUnstake, prepareWithdraw, unstakeState, type ProviderChain } from "./api";

export interface ProviderActing {
  session: Session;
  wallet: Eip1193Provider;
  /** After a write: the block it landed in (the dashboard reads again until the index has it). */
  onDone(block: number): void;
}

const gpuName = (gpu: Gpu) => `${gpu.gpuModel} ${shortId(gpu.id)}`;

/** A write's state, and `send`: prepare with the session's token, the wallet sends, the
 * dashboard reads again once the write's block is indexed. */
function useProviderWrite(what: string, { session, wallet, onDone }: ProviderActing) {
  const write = useWrite(what);
  const send = (prepare: (token: string) => Promise<Prepared>) =>
    write.run(async () => {
      const outcome = await sendPrepared(wallet, session.token, await prepare(session.token));
      onDone(outcome.block);
    });
  return { write, send };
}

/** Whether new jobs may be created on the GPU: a switch, one transaction in the wallet. */
export function AvailabilityToggle({ gpu, ...acting }: ProviderActing & { gpu: Gpu }) {
  const { write, send } = useProviderWrite("changed", acting);
  const toggle = () => send((token) => prepareAvailability(token, gpu.id, !gpu.available));
  return (
    <div className="action">
      <label className="switch">
        <input type="checkbox" role="switch" checked={gpu.available} disabled={write.busy}
               aria-label={`Available for new jobs: ${gpuName(gpu)}`} onChange={() => void toggle()} />
        {write.busy ? "Check your wallet…" : gpu.available ? "Taking new jobs" : "Not taking new jobs"}
      </label>
      <ErrorLine error={write.error} />
    </div>
  );
}

/** The GPU's price in tokens per hour, checked here as the registry will; open jobs keep theirs. */
export function PriceForm({ gpu, max, symbol, ...acting }: ProviderActing & { gpu: Gpu; max?: string; symbol: string }) {
  const [text, setText] = useState(gpu.pricePerHour);
  const { write, send } = useProviderWrite("repriced", acting);
  const checked = checkPrice(text, max);
  const problem = "problem" in checked ? checked.problem : null;
  const same = "price" in checked && checked.price === gpu.pricePerHour;
  const save = (price: string) => send((token) => preparePrice(token, gpu.id, price));
  return (
    <form className="action price" onSubmit={(e) => { e.preventDefault(); if ("price" in checked && !same) void save(checked.price); }}>
      <Field label={`Price per hour (${symbol}) for ${gpuName(gpu)}`}>
        {(id) => <input id={id} inputMode="decimal" value={text} autoComplete="off" spellCheck={false}
                        onChange={(e) => setText(e.target.value)} />}
      </Field>
      <button type="submit" disabled={write.busy || problem !== null || same}>{write.busy ? "Check your wallet…" : "Set the price"}</button>
      <ErrorLine error={problem ?? write.error} />
    </form>
  );
}

/** What the marketplace holds for the provider, paid out (less nothing: the fee was set aside)
 * in one transaction. */
export function WithdrawEarnings({ chain, symbol, ...acting }: ProviderActing & { chain: ProviderChain; symbol: string }) {
  const { write, send } = useProviderWrite("withdrawn", acting);
  const empty = !toBaseUnits(chain.withdrawable); // exact: 0, or not a plain amount
  const withdraw = () => send(prepareWithdraw);
  return (
    <div className="action">
      <p data-testid="withdrawable">
        Withdrawable now: <strong>{formatTokens(chain.withdrawable, symbol)}</strong>
        {!empty && ` (the platform fee of ${formatTokens(chain.feeHeld, symbol)} on it goes to the treasury)`}
      </p>
      <button type="button" onClick={() => void withdraw()} disabled={write.busy || empty}>
        {write.busy ? "Check your wallet…" : "Withdraw the earnings"}
      </button>
      {empty && <small>Nothing to withdraw: settled jobs' pay is held here until you withdraw it.</small>}
      <ErrorLine error={write.error} />
    </div>
  );
}

/** Taking the stake out: request (every GPU retired), wait the cooldown, withdraw; or cancel. */
export function UnstakeControl({ chain, symbol, ...acting }: ProviderActing & { chain: ProviderChain; symbol: string }) {
  const { write, send } = useProviderWrite("changed", acting);
  const state = unstakeState(chain);
  const step = (which: "request" | "cancel" | "withdraw") => send((token) => prepareUnstake(token, which));
  const staked = Boolean(toBaseUnits(chain.stake));
  const cooldown = formatDuration(chain.unstakeCooldownS);
  return (
    <div className="action">
      <p data-testid="unstake-state">
        {state === "none" && (staked ? `Staked: ${formatTokens(chain.stake, symbol)}. An unstake waits ${cooldown} before the withdrawal.` : "Nothing is staked.")}
        {state === "cooling" && `Unstake requested: the stake unlocks at ${formatTime(chain.unlockAt)} (in ${formatDuration(chain.unlockAt - chain.chainTime)}).`}
        {state === "unlocked" && `The stake of ${formatTokens(chain.stake, symbol)} is unlocked: withdraw it (once no job of yours is open).`}
      </p>
      <div className="actions-row">
        {state === "none" && staked && (
          <button type="button" className="danger" onClick={() => void step("request")} disabled={write.busy || chain.activeGpus > 0}>
            Request an unstake
          </button>
        )}
        {state === "unlocked" && <button type="button" onClick={() => void step("withdraw")} disabled={write.busy}>Withdraw the stake</button>}
        {state !== "none" && <button type="button" onClick={() => void step("cancel")} disabled={write.busy}>Cancel the unstake</button>}
      </div>
      {state === "none" && staked && chain.activeGpus > 0 && (
        <small>Retire all your GPUs first ({chain.activeGpus} active): the stake backs them while they take jobs.</small>
      )}
      {write.busy && <small>Check your wallet…</small>}
      <ErrorLine error={write.error} />
    </div>
  );
}
