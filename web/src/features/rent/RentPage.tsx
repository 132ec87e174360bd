import { useEffect, useState } from "react";
import { ErrorLine } from "../../components/ErrorLine";
import { errorText, isAbort } from "../../lib/api";
import { formatTokens, shortAddress } from "../../lib/format";
import { useWallet } from "../wallet";
import type { Gpu } from "../marketplace/types";
import { fetchGpu } from "./api";
import { RentForm } from "./RentForm";

/** Rent one GPU: what it is, then the booking (image, duration), its cost and one signature. */
export function RentPage({ gpuId }: { gpuId: string }) {
  const [gpu, setGpu] = useState<Gpu | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { chain } = useWallet();
  useEffect(() => {
    const abort = new AbortController();
    fetchGpu(gpuId, abort.signal).then(setGpu, (err: unknown) => {
      if (!isAbort(err)) setError(`Could not read this GPU: ${errorText(err)}`);
    });
    return () => abort.abort();
  }, [gpuId]);
  const symbol = chain?.token.symbol ?? "GPU";
  return (
    <section aria-labelledby="rent-title">
      <h1 id="rent-title">Rent {gpu ? gpu.gpuModel : "a GPU"}</h1>
      <ErrorLine error={error} />
      {gpu && (
        <>
          <p className="gpu-summary">
            {gpu.memoryGb} GB VRAM · {gpu.vcpu} vCPUs · {gpu.storageGb} GB storage ·{" "}
            <strong>{formatTokens(gpu.pricePerHour, symbol)} an hour</strong> · provider{" "}
            <span className="mono" title={gpu.providerAddress}>{shortAddress(gpu.providerAddress)}</span>
            {!gpu.available && <strong> · not available now</strong>}
          </p>
          <RentForm gpu={gpu} symbol={symbol} />
        </>
      )}
    </section>
  );
}
