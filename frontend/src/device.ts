// hello.device (PROTOCOL.md §4): an id this browser keeps across meetings,
// so that a host's removal holds — that browser comes back only if a host
// admits it. No account: a random id in localStorage, which a private
// window or cleared storage does not have (the host can still lock the
// meeting).

const deviceKey = "parley.device";
const deviceRE = /^[A-Za-z0-9_-]{16,64}$/;

type KeyStore = Pick<Storage, "getItem" | "setItem">;

// The kept id, or a new one, kept if storage allows.
export function deviceId(storage: KeyStore | null): string {
  let kept: string | null = null;
  try {
    kept = storage?.getItem(deviceKey) ?? null;
  } catch {
    // storage blocked: a new id for this page
  }
  if (kept !== null && deviceRE.test(kept)) return kept;
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const id = btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
  try {
    storage?.setItem(deviceKey, id);
  } catch {
    // not kept: the next page gets another
  }
  return id;
}
