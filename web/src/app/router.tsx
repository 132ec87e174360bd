import { useEffect, useState, type MouseEvent, type ReactNode } from "react";

// A router of a few pages needs no library: paths through the History API; the gateway answers
// every non-API path with index.html, so a reload or a shared link lands on the same page.

const EVENT = "gpurent:navigate";

export function navigate(path: string): void {
  if (path === window.location.pathname) return;
  window.history.pushState(null, "", path);
  window.dispatchEvent(new Event(EVENT));
}

export function usePath(): string {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const update = () => setPath(window.location.pathname);
    window.addEventListener("popstate", update);
    window.addEventListener(EVENT, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(EVENT, update);
    };
  }, []);
  return path;
}

/** The parameters of `path` if it matches `pattern` ("/rent/:gpuId"), else null. A parameter
 * matches one segment of a 0x-hex id: nothing else reaches a page. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/");
  const got = path.replace(/\/+$/, "").split("/");
  if (path === "/" && pattern === "/") return {};
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i += 1) {
    const part = want[i] ?? "";
    const value = got[i] ?? "";
    if (part.startsWith(":")) {
      if (!/^0x[0-9a-fA-F]{1,64}$/.test(value)) return null;
      params[part.slice(1)] = value.toLowerCase();
    } else if (part !== value) {
      return null;
    }
  }
  return params;
}

/** An ordinary link (opens in a new tab with a modifier) that navigates in place otherwise. */
export function Link({ to, children, current = false, label }: { to: string; children: ReactNode; current?: boolean; label?: string }) {
  const go = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={go} aria-current={current ? "page" : undefined} aria-label={label}>
      {children}
    </a>
  );
}
