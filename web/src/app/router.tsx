import { useEffect, useState, type MouseEvent, type ReactNode } from "react";

// A router of two pages needs no library: paths through the History API; the gateway answers
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

/** An ordinary link (opens in a new tab with a modifier) that navigates in place otherwise. */
export function Link({ to, children, current }: { to: string; children: ReactNode; current: boolean }) {
  const go = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={go} aria-current={current ? "page" : undefined}>
      {children}
    </a>
  );
}
