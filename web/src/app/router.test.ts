import { matchPath } from "./router";

describe("matchPath", () => {
  it("matches fixed paths and 0x-hex parameters only", () => {
    expect(matchPath("/", "/")).toEqual({});
    expect(matchPath("/wallet", "/wallet")).toEqual({});
    expect(matchPath("/wallet", "/wallet/")).toEqual({});
    expect(matchPath("/instances/:jobId", `/instances/0x${"AB".repeat(32)}`)).toEqual({ jobId: `0x${"ab".repeat(32)}` });
    expect(matchPath("/rent/:gpuId", "/rent/0x12")).toEqual({ gpuId: "0x12" });
  });
  it("refuses anything else", () => {
    expect(matchPath("/rent/:gpuId", "/rent/<script>")).toBeNull();
    expect(matchPath("/rent/:gpuId", "/rent/0x12/more")).toBeNull();
    expect(matchPath("/rent/:gpuId", "/rent")).toBeNull();
    expect(matchPath("/instances", "/instance")).toBeNull();
    expect(matchPath("/", "/wallet")).toBeNull();
  });
});
