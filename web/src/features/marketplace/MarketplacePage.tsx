import { useEffect, useState } from "react";
import { ErrorLine } from "../../components/ErrorLine";
import { Pager } from "../../components/Pager";
import { useDebounced } from "../../lib/useDebounced";
import { useWallet } from "../wallet";
import { GpuTable } from "./GpuTable";
import { MarketplaceFilters } from "./MarketplaceFilters";
import { fromSearch, toSearch } from "./query";
import type { Filters } from "./types";
import { useGpus } from "./useGpus";
import { useImageStates } from "./useImageStates";
import { useReliability } from "./useReliability";
import { cidProblem } from "../rent/duration";

/** GPUs for rent: filters, sorts and pages, kept in the URL so a view can be shared. */
export function MarketplacePage() {
  const [filters, setFilters] = useState<Filters>(() => fromSearch(window.location.search).filters);
  const [page, setPage] = useState(() => fromSearch(window.location.search).page);
  const settled = useDebounced(filters, 250);
  const { rows, hasNext, loading, error } = useGpus(settled, page);
  const { chain } = useWallet();
  const records = useReliability(rows);
  const image = settled.image.trim();
  const imageProblem = image ? cidProblem(image) : null;
  const images = useImageStates(imageProblem ? "" : image, rows.map((g) => g.providerAddress));

  useEffect(() => {
    const search = toSearch(settled, page);
    if (search !== window.location.search) window.history.replaceState(null, "", `${window.location.pathname}${search}`);
  }, [settled, page]);

  const change = (next: Filters) => {
    setFilters(next);
    setPage(0);
  };

  return (
    <section aria-labelledby="marketplace-title">
      <h1 id="marketplace-title">Marketplace</h1>
      <MarketplaceFilters filters={filters} onChange={change} />
      <ErrorLine error={error} />
      <ErrorLine error={imageProblem && `Image: ${imageProblem}`} />
      <p className="status" aria-live="polite">
        {loading ? "Loading GPUs…" : error ? "" : rows.length ? `${rows.length} GPUs on this page` : "No GPU matches these filters."}
      </p>
      {rows.length > 0 && <GpuTable rows={rows} symbol={chain?.token.symbol ?? "GPU"} records={records}
        image={imageProblem ? "" : image} images={images} />}
      <Pager page={page} hasNext={hasNext} onPage={setPage} label="GPU pages" />
    </section>
  );
}
