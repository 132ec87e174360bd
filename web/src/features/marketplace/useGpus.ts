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
  useEffect(() => {
    const problems = filterProblems(filters);
    if (problems.length) {
      setResult({ rows: [], hasNext: false, loading: false, error: problems[0] ?? null });
      return undefined;
    }
    const abort = new AbortController();
    setResult((old) => ({ ...old, loading: true, error: null }));
    apiGet<GpuPage>("/gpus", { params: gpuQuery(filters, page, pageSize), signal: abort.signal }).then(
      (answer) => setResult({ rows: answer.items.slice(0, pageSize), hasNext: answer.items.length > pageSize, loading: false, error: null }),
      (err: unknown) => {
        if (!isAbort(err)) setResult({ rows: [], hasNext: false, loading: false, error: `Could not load GPUs: ${errorText(err)}` });
      },
    );
    return () => abort.abort();
  }, [filters, page, pageSize]);
  return result;
}
