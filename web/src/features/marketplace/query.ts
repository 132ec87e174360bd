// Filters ⇄ the gateway's query string and the page's own URL (so a filtered view can be shared).
import { AVAILABILITY, SORTS, type Availability, type Filters, type Sort } from "./types";

export const PAGE_SIZE = 25;

export const DEFAULT_FILTERS: Filters = {
  model: "",
  minVram: "",
  minVcpu: "",
  maxPrice: "",
  minReputation: "",
  minUptime: "",
  minResponse: "",
  available: "yes",
  sort: "price_asc",
  image: "",
};

type NumberKey = "minVram" | "minVcpu" | "maxPrice" | "minReputation" | "minUptime" | "minResponse";

// places: most decimals (a percentage's hundredths are the chain's basis points)
const NUMBERS: Record<NumberKey, { param: string; label: string; max: number; whole: boolean; places?: number }> = {
  minVram: { param: "min_memory_gb", label: "Minimum VRAM", max: 2 ** 32, whole: true },
  minVcpu: { param: "min_vcpu", label: "Minimum vCPUs", max: 2 ** 16, whole: true },
  maxPrice: { param: "max_price", label: "Maximum price", max: 1e12, whole: false },
  minReputation: { param: "min_reputation", label: "Minimum reputation", max: 1000, whole: true },
  minUptime: { param: "min_uptime_pct", label: "Minimum uptime", max: 100, whole: false, places: 2 },
  minResponse: { param: "min_response_pct", label: "Minimum response", max: 100, whole: false, places: 2 },
};

const numberSpecs = () => Object.entries(NUMBERS) as [NumberKey, (typeof NUMBERS)[NumberKey]][];

/** What is wrong with the filters, in one line per field; empty when they are fine. */
export function filterProblems(filters: Filters): string[] {
  const problems: string[] = [];
  for (const [key, spec] of numberSpecs()) {
    const raw = filters[key].trim();
    if (raw === "") continue;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) problems.push(`${spec.label} must be a number, 0 or more.`);
    else if (spec.whole && !Number.isInteger(value)) problems.push(`${spec.label} must be a whole number.`);
    else if (value > spec.max) problems.push(`${spec.label} is at most ${spec.max.toLocaleString("en-US")}.`);
    else if (spec.places !== undefined && !new RegExp(`^\\d*(\\.\\d{0,${spec.places}})?$`).test(raw))
      problems.push(`${spec.label} is a plain number with at most ${spec.places} decimals.`);
  }
  if (filters.model.length > 64) problems.push("Model is at most 64 characters.");
  return problems;
}

/** The GET /api/v1/gpus parameters for one page; one row more than shown, to know if a next
 * page exists (the API gives no total). */
export function gpuQuery(filters: Filters, page: number, pageSize = PAGE_SIZE): URLSearchParams {
  const params = new URLSearchParams();
  const model = filters.model.trim();
  if (model) params.set("model", model);
  for (const [key, spec] of numberSpecs()) {
    const raw = filters[key].trim();
    if (raw !== "") params.set(spec.param, String(Number(raw)));
  }
  params.set("available", { yes: "true", no: "false", any: "any" }[filters.available]);
  params.set("sort", filters.sort);
  params.set("limit", String(pageSize + 1));
  params.set("offset", String(Math.max(0, page) * pageSize));
  return params;
}

/** The page's URL search for these filters: only what differs from the defaults. */
export function toSearch(filters: Filters, page: number): string {
  const params = new URLSearchParams();
  for (const key of Object.keys(DEFAULT_FILTERS) as (keyof Filters)[]) {
    if (filters[key] !== DEFAULT_FILTERS[key]) params.set(key, filters[key]);
  }
  if (page > 0) params.set("page", String(page + 1));
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** Filters and page from the page's URL search; unknown or bad values fall back to defaults. */
export function fromSearch(search: string): { filters: Filters; page: number } {
  const params = new URLSearchParams(search);
  const text = (key: keyof Filters) => params.get(key) ?? DEFAULT_FILTERS[key];
  const sort = params.get("sort");
  const available = params.get("available");
  const filters: Filters = {
    model: text("model").slice(0, 64),
    minVram: text("minVram"),
    minVcpu: text("minVcpu"),
    maxPrice: text("maxPrice"),
    minReputation: text("minReputation"),
    minUptime: text("minUptime"),
    minResponse: text("minResponse"),
    available: available && available in AVAILABILITY ? (available as Availability) : DEFAULT_FILTERS.available,
    sort: sort && sort in SORTS ? (sort as Sort) : DEFAULT_FILTERS.sort,
    image: text("image").slice(0, 128),
  };
  const page = Number.parseInt(params.get("page") ?? "1", 10);
  return { filters, page: Number.isFinite(page) && page > 1 ? page - 1 : 0 };
}
