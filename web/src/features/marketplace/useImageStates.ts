import { useEffect, useState } from "react";
import { apiGet, isAbort } from "../../lib/api";
import { cidProblem } from "../rent/duration";
import { parseImageStates, type ImageState } from "./imageStates";

/** For image `cid` (none: ""), the state at each of these providers (lower-case addresses, at
 * most 50: a page's); an empty map until the gateway answers, or when it fails. */
export function useImageStates(cid: string, providerAddresses: string[]): Record<string, ImageState | null> {
  const [states, setStates] = useState<Record<string, ImageState | null>>({});
  const image = cid.trim();
  const providers = [...new Set(providerAddresses.map((a) => a.toLowerCase()))].sort().slice(0, 50);
  const key = cidProblem(image) ? "" : `${image}|${providers.join(",")}`;
  useEffect(() => {
    setStates({});
    if (!key || !providers.length) return undefined;
    const abort = new AbortController();
    const params = new URLSearchParams(providers.map((a) => ["provider", a]));
    apiGet<unknown>(`/images/${encodeURIComponent(image)}/cached`, { params, signal: abort.signal }).then(
      (answer) => setStates(parseImageStates(answer, image)),
      (err: unknown) => {
        if (!isAbort(err)) setStates({});
      },
    );
    return () => abort.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `key` names the image and the providers
  }, [key]);
  return states;
}
