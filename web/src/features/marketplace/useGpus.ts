import { useEffect, useState } from "react";
import { apiGet, errorText, isAbort } from "../../lib/api";
import { filterProblems, gpuQuery, PAGE_SIZE } from "./query";
import type { Filters, Gpu, GpuPage } from "./types";

export interface GpusResult {
  rows: Gpu[];
  hasNext: boolean;
  loading: boolean;
  error: string | null;
}

/** One page of GPUs for these filters; the previous request is aborted when they change. */
export function useGpus(filters: Filters, page: number, pageSize = PAGE_SIZE): GpusResult {
  const [result, setResult] = useState<GpusResult>({ rows: [], hasNext: false, loading: true, error: null });
  const problem = filterProblems(filters)[0] ?? null;
  const query = problem ? "" : gpuQuery(filters, page, pageSize).toString(); // the image, say, changes no page
  useEffect(() => {
    if (problem) {
      setResult({ rows: [], hasNext: false, loading: false, error: problem });
      return undefined;
    }
    const abort = new AbortController();
    setResult((old) => ({ ...old, loading: true, error: null }));
    apiGet<GpuPage>("/gpus", { params: new URLSearchParams(query), signal: abort.signal }).then(
      (answer) => setResult({ rows: answer.items.slice(0, pageSize), hasNext: answer.items.length > pageSize, loading: false, error: null }),
      (err: unknown) => {
        if (!isAbort(err)) setResult({ rows: [], hasNext: false, loading: false, error: `Could not load GPUs: ${errorText(err)}` });
      },
    );
    return () => abort.abort();
  }, [problem, query, pageSize]);
  return result;
}
