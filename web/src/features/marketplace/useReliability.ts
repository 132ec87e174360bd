import { useEffect, useState } from "react";
import { apiGet, isAbort } from "../../lib/api";
import type { Gpu, Reliability } from "./types";

/** The records of the providers of these rows (one request per page); an empty map until it
 * answers, or when it fails (the table then says it does not know). */
export function useReliability(rows: Gpu[]): Record<string, Reliability> {
  const [records, setRecords] = useState<Record<string, Reliability>>({});
  const providers = [...new Set(rows.map((g) => g.providerAddress.toLowerCase()))].sort().slice(0, 50);
  const key = providers.join(",");
  useEffect(() => {
    if (!key) return undefined;
    const abort = new AbortController();
    const params = new URLSearchParams(key.split(",").map((a) => ["provider", a]));
    apiGet<{ providers: Record<string, Reliability> }>("/reliability", { params, signal: abort.signal }).then(
      (answer) => setRecords(answer.providers),
      (err: unknown) => {
        if (!isAbort(err)) setRecords({});
      },
    );
    return () => abort.abort();
  }, [key]);
  return records;
}
