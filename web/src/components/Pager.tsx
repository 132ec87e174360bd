/** Previous / next page buttons and where we are. */
export function Pager({ page, hasNext, onPage, label }: { page: number; hasNext: boolean; onPage(page: number): void; label: string }) {
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" onClick={() => onPage(page - 1)} disabled={page === 0}>
        Previous page
      </button>
      <span aria-live="polite">Page {page + 1}</span>
      <button type="button" onClick={() => onPage(page + 1)} disabled={!hasNext}>
        Next page
      </button>
    </nav>
  );
}
