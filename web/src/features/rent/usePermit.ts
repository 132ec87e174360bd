import { useEffect, useState } from "react";
import { errorText, isAbort } from "../../lib/api";
import type { Permit } from "../../lib/transact";
import { useDebounced } from "../../lib/useDebounced";
import { preparePermit, type RentBody } from "./api";

export interface PermitState {
  permit: Permit | null; // the permit for exactly `body`, with the most it can cost
  loading: boolean;
  error: string | null; // the gateway's line: an unknown GPU, a bad CID, a balance too small
}

/** The gateway's permit for the booking as typed (`body` memoized by the caller; asked again
 * when it settles for 300 ms):
 * the most the renter can be charged, checked against their balance before the wallet opens. */
export function usePermit(token: string | null, body: RentBody | null): PermitState {
  const settled = useDebounced(body, 300);
  const [state, setState] = useState<PermitState>({ permit: null, loading: false, error: null });
  useEffect(() => {
    if (!token || !settled) {
      setState({ permit: null, loading: false, error: null });
      return undefined;
    }
    const abort = new AbortController();
    setState({ permit: null, loading: true, error: null });
    preparePermit(token, settled, abort.signal).then(
      (permit) => setState({ permit, loading: false, error: null }),
      (err: unknown) => {
        if (!isAbort(err)) setState({ permit: null, loading: false, error: errorText(err) });
      },
    );
    return () => abort.abort();
  }, [token, settled]);
  return settled === body ? state : { permit: null, loading: true, error: null };
}
