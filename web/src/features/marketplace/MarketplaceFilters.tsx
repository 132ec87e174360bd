import { Field } from "../../components/Field";
import { DEFAULT_FILTERS } from "./query";
import { AVAILABILITY, SORTS, type Availability, type Filters, type Sort } from "./types";

const VRAM = ["", "8", "16", "24", "40", "48", "80"];

/** The marketplace's filters and sort; every control labelled, all reachable by keyboard. */
export function MarketplaceFilters({ filters, onChange }: { filters: Filters; onChange(next: Filters): void }) {
  const set = <K extends keyof Filters>(key: K, value: Filters[K]) => onChange({ ...filters, [key]: value });
  return (
    <form className="filters" role="search" aria-label="Filter GPUs" onSubmit={(e) => e.preventDefault()}>
      <Field label="Model">
        {(id) => (
          <input id={id} type="search" value={filters.model} maxLength={64} placeholder="e.g. A100"
            onChange={(e) => set("model", e.target.value)} />
        )}
      </Field>
      <Field label="Minimum VRAM">
        {(id) => (
          <select id={id} value={filters.minVram} onChange={(e) => set("minVram", e.target.value)}>
            {VRAM.map((gb) => (
              <option key={gb} value={gb}>{gb ? `${gb} GB or more` : "Any"}</option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Minimum vCPUs">
        {(id) => (
          <input id={id} type="number" inputMode="numeric" min={0} step={1} value={filters.minVcpu}
            onChange={(e) => set("minVcpu", e.target.value)} />
        )}
      </Field>
      <Field label="Maximum price (GPU/hour)">
        {(id) => (
          <input id={id} type="number" inputMode="decimal" min={0} step="any" value={filters.maxPrice}
            onChange={(e) => set("maxPrice", e.target.value)} />
        )}
      </Field>
      <Field label="Minimum reputation (0-1000)">
        {(id) => (
          <input id={id} type="number" inputMode="numeric" min={0} max={1000} step={1} value={filters.minReputation}
            onChange={(e) => set("minReputation", e.target.value)} />
        )}
      </Field>
      <Field label="Minimum uptime (%)" hint="Not measured yet: 50%.">
        {(id) => (
          <input id={id} type="number" inputMode="decimal" min={0} max={100} step={0.01} value={filters.minUptime}
            onChange={(e) => set("minUptime", e.target.value)} />
        )}
      </Field>
      <Field label="Minimum response (%)" hint="Not measured yet: 50%.">
        {(id) => (
          <input id={id} type="number" inputMode="decimal" min={0} max={100} step={0.01} value={filters.minResponse}
            onChange={(e) => set("minResponse", e.target.value)} />
        )}
      </Field>
      <Field label="Availability">
        {(id) => (
          <select id={id} value={filters.available} onChange={(e) => set("available", e.target.value as Availability)}>
            {(Object.keys(AVAILABILITY) as Availability[]).map((key) => (
              <option key={key} value={key}>{AVAILABILITY[key]}</option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Sort by">
        {(id) => (
          <select id={id} value={filters.sort} onChange={(e) => set("sort", e.target.value as Sort)}>
            {(Object.keys(SORTS) as Sort[]).map((key) => (
              <option key={key} value={key}>{SORTS[key]}</option>
            ))}
          </select>
        )}
      </Field>
      <Field label="Image you will run (CID)" hint="Shows where it is cached already, so the job starts without a download.">
        {(id) => (
          <input id={id} type="text" className="mono" value={filters.image} maxLength={128} spellCheck={false}
            autoComplete="off" placeholder="bafy…" onChange={(e) => set("image", e.target.value)} />
        )}
      </Field>
      <div className="field actions">
        <button type="button" onClick={() => onChange(DEFAULT_FILTERS)}>Clear filters</button>
      </div>
    </form>
  );
}
