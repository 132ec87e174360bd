import { useEffect, useState } from "react";
import { errorText, isAbort } from "../../lib/api";
import { fetchProvider, type ProviderBoard } from "./api";

/** The provider dashboard of `address` (null: no wallet connected), asked again when it changes. */
export function useProvider(address: string | null): { board: ProviderBoard | null; error: string | null } {
  const [state, setState] = useState<{ board: ProviderBoard | null; error: string | null }>({ board: null, error: null });
  useEffect(() => {
    setState({ board: null, error: null });
    if (!address) return undefined;
    const abort = new AbortController();
    fetchProvider(address.toLowerCase(), abort.signal).then(
      (board) => setState({ board, error: null }),
      (err: unknown) => !isAbort(err) && setState({ board: null, error: errorText(err) }),
    );
    return () => abort.abort();
  }, [address]);
  return state;
}
