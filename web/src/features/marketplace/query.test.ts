import { DEFAULT_FILTERS, filterProblems, fromSearch, gpuQuery, toSearch } from "./query";

describe("filters to the gateway's query", () => {
  it("sends only the filters set, one row more than a page, the offset of the page", () => {
    const params = gpuQuery({ ...DEFAULT_FILTERS, model: " A100 ", minVram: "40", maxPrice: "2.5" }, 2, 25);
    expect(Object.fromEntries(params)).toEqual({
      model: "A100",
      min_memory_gb: "40",
      max_price: "2.5",
      available: "true",
      sort: "price_asc",
      limit: "26",
      offset: "50",
    });
  });
  it("maps every numeric filter and availability", () => {
    const params = gpuQuery({ ...DEFAULT_FILTERS, minVcpu: "8", minReputation: "700", available: "no", sort: "reputation_desc" }, 0);
    expect(params.get("min_vcpu")).toBe("8");
    expect(params.get("min_reputation")).toBe("700");
    expect(params.get("available")).toBe("false");
    expect(params.get("sort")).toBe("reputation_desc");
    expect(params.has("model")).toBe(false);
    expect(gpuQuery({ ...DEFAULT_FILTERS, available: "any" }, 0).get("available")).toBe("any");
  });
  it("sends the reputation's components as the gateway's percentages", () => {
    const params = gpuQuery({ ...DEFAULT_FILTERS, minUptime: " 99.25 ", minResponse: "90" }, 0);
    expect(params.get("min_uptime_pct")).toBe("99.25");
    expect(params.get("min_response_pct")).toBe("90");
    expect(gpuQuery(DEFAULT_FILTERS, 0).has("min_uptime_pct")).toBe(false);
  });
});

describe("filter problems", () => {
  it("says which field is wrong in plain words", () => {
    expect(filterProblems(DEFAULT_FILTERS)).toEqual([]);
    expect(filterProblems({ ...DEFAULT_FILTERS, maxPrice: "-1" })).toEqual(["Maximum price must be a number, 0 or more."]);
    expect(filterProblems({ ...DEFAULT_FILTERS, minVcpu: "2.5" })).toEqual(["Minimum vCPUs must be a whole number."]);
    expect(filterProblems({ ...DEFAULT_FILTERS, minReputation: "1001" })).toEqual(["Minimum reputation is at most 1,000."]);
    expect(filterProblems({ ...DEFAULT_FILTERS, minVram: "lots" })).toEqual(["Minimum VRAM must be a number, 0 or more."]);
    expect(filterProblems({ ...DEFAULT_FILTERS, minUptime: "100.5" })).toEqual(["Minimum uptime is at most 100."]);
    expect(filterProblems({ ...DEFAULT_FILTERS, minResponse: "-1" })).toEqual(["Minimum response must be a number, 0 or more."]);
    expect(filterProblems({ ...DEFAULT_FILTERS, minUptime: "99.255" })).toEqual(
      ["Minimum uptime is a plain number with at most 2 decimals."]);
    expect(filterProblems({ ...DEFAULT_FILTERS, minUptime: "99.25", minResponse: ".5" })).toEqual([]);
  });
});

describe("the page's URL", () => {
  it("round-trips filters and page, writing only what differs from the defaults", () => {
    const filters = { ...DEFAULT_FILTERS, model: "rtx 4090", sort: "memory_desc" as const };
    const search = toSearch(filters, 3);
    expect(search).toBe("?model=rtx+4090&sort=memory_desc&page=4");
    expect(fromSearch(search)).toEqual({ filters, page: 3 });
    expect(toSearch(DEFAULT_FILTERS, 0)).toBe("");
  });
  it("keeps the components' filters in the URL", () => {
    const filters = { ...DEFAULT_FILTERS, minUptime: "99.5", minResponse: "80" };
    expect(toSearch(filters, 0)).toBe("?minUptime=99.5&minResponse=80");
    expect(fromSearch(toSearch(filters, 0)).filters).toEqual(filters);
  });
  it("keeps any availability in the URL", () => {
    expect(fromSearch(toSearch({ ...DEFAULT_FILTERS, available: "any" }, 0)).filters.available).toBe("any");
  });
  it("falls back to defaults for values it does not know", () => {
    expect(fromSearch("?sort=cheapest&available=maybe&page=-3")).toEqual({ filters: DEFAULT_FILTERS, page: 0 });
  });
});
