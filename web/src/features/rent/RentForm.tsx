import { useEffect, useMemo, useState } from "react";
import { ErrorLine } from "../../components/ErrorLine";
import { Field } from "../../components/Field";
import { navigate } from "../../app/router";
import { formatDuration, formatTokens, fromBaseUnits } from "../../lib/format";
import { checkPermit, permitAndSend, type Permit } from "../../lib/transact";
import { useDebounced } from "../../lib/useDebounced";
import { useWrite } from "../../lib/useWrite";
import { useSession } from "../auth";
import { imageStateText } from "../marketplace/imageStates";
import type { Gpu } from "../marketplace/types";
import { useImageStates } from "../marketplace/useImageStates";
import { useWallet } from "../wallet";
import { fetchImages, RENT_ROUTES, type RentBody } from "./api";
import { bookedSeconds, cidProblem, costOf } from "./duration";
import { usePermit } from "./usePermit";

const FRESH_S = 120; // a permit this close to its deadline is asked for again before signing

/** The image the marketplace link names (`?image=`), if it has the shape of a CID. */
function imageFromUrl(): string {
  const image = new URLSearchParams(window.location.search).get("image") ?? "";
  return /^[A-Za-z0-9]{1,128}$/.test(image) ? image : "";
}

/** The images jobs ran most, offered as the CID field's suggestions. */
function useImageSuggestions(): string[] {
  const [cids, setCids] = useState<string[]>([]);
  useEffect(() => {
    const abort = new AbortController();
    fetchImages(abort.signal).then((answer) => setCids(answer.items.map((i) => i.cid)), () => undefined);
    return () => abort.abort();
  }, []);
  return cids;
}

/** The booking: image, duration, the cost preview and the most it can cost, one signature. */
export function RentForm({ gpu, symbol }: { gpu: Gpu; symbol: string }) {
  const { wallet, chain, address } = useWallet();
  const { session } = useSession();
  const [cid, setCid] = useState(imageFromUrl);
  const [hours, setHours] = useState("1");
  const [minutes, setMinutes] = useState("0");
  const suggestions = useImageSuggestions();
  const typed = useDebounced(cid, 300);
  const here = useImageStates(cidProblem(typed) ? "" : typed, [gpu.providerAddress])[gpu.providerAddress.toLowerCase()];
  const write = useWrite("rented");

  const booking = bookedSeconds(hours, minutes);
  const seconds = "seconds" in booking ? booking.seconds : null;
  const problem = "problem" in booking ? booking.problem : cidProblem(cid);
  const body = useMemo<RentBody | null>(
    () => (seconds !== null && !cidProblem(cid) ? { gpuId: gpu.id, imageCid: cid.trim(), durationSeconds: seconds } : null),
    [gpu.id, cid, seconds],
  );
  const { permit, loading, error } = usePermit(session?.token ?? null, body);
  const preview = seconds === null ? null : costOf(gpu.pricePerHour, seconds);

  const rent = (signed: Permit) =>
    write.run(async () => {
      if (!wallet || !session || !chain || !body) return;
      const fresh = signed.deadline - Date.now() / 1000 > FRESH_S ? signed : undefined;
      const check = (p: Permit) =>
        checkPermit(p, { owner: session.address, spender: chain.marketplace, token: chain.token.address, chainId: chain.chainId });
      const outcome = await permitAndSend(wallet, session.token, session.address, RENT_ROUTES, body, check, fresh);
      if (!outcome.jobId) throw new Error("The transaction went through but created no job: look at your jobs.");
      navigate(`/instances/${outcome.jobId}`);
    });

  const ready = !!session && !!permit && !problem && !loading && !write.busy;
  return (
    <form className="rent" aria-label="Book this GPU" onSubmit={(e) => { e.preventDefault(); if (ready && permit) void rent(permit); }}>
      <Field label="Image or job definition CID" hint="What the GPU runs: an image you pushed (gpurent images push) or a job definition.">
        {(id) => (
          <>
            <input id={id} type="text" value={cid} maxLength={128} spellCheck={false} autoComplete="off" list={`${id}-known`}
              placeholder="bafy…" onChange={(e) => setCid(e.target.value)} />
            <datalist id={`${id}-known`}>
              {suggestions.map((c) => <option key={c} value={c} />)}
            </datalist>
          </>
        )}
      </Field>
      {here !== undefined && <p className={`status image-here ${here ?? "unknown"}`} data-testid="image-here">At this provider: {imageStateText(here)}.</p>}
      <div className="duration">
        <Field label="Hours">
          {(id) => <input id={id} type="number" inputMode="numeric" min={0} step={1} value={hours} onChange={(e) => setHours(e.target.value)} />}
        </Field>
        <Field label="Minutes">
          {(id) => <input id={id} type="number" inputMode="numeric" min={0} max={59} step={1} value={minutes} onChange={(e) => setMinutes(e.target.value)} />}
        </Field>
      </div>
      <dl className="balances quote" aria-live="polite">
        <div>
          <dt>Cost preview</dt>
          <dd data-testid="cost-preview">{preview === null ? "—" : `${formatTokens(preview, symbol)} for ${formatDuration(seconds ?? 0)}`}</dd>
        </div>
        <div>
          <dt>The most you can be charged</dt>
          <dd data-testid="max-charge">{permit ? formatTokens(fromBaseUnits(BigInt(permit.maxCost)), symbol) : loading && session && !problem ? "asking the gateway…" : "—"}</dd>
        </div>
      </dl>
      <p className="status">
        The most it can cost is locked in escrow when the job is created; you pay for the seconds it runs and the
        rest comes back. Your wallet asks twice: to sign the permit for that amount, then to send the transaction.
      </p>
      {!address ? <p>Connect your wallet to rent.</p> : !session ? <p>Sign in to rent.</p> : null}
      <ErrorLine error={cid || seconds === null ? problem : null} />
      <ErrorLine error={error} />
      <ErrorLine error={write.error} />
      <button type="submit" className="primary" disabled={!ready}>
        {write.busy ? "Check your wallet…" : permit ? `Rent for at most ${formatTokens(fromBaseUnits(BigInt(permit.maxCost)), symbol)}` : "Rent"}
      </button>
    </form>
  );
}
